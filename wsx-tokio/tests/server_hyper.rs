//! A wsx connection inside hyper's HTTP/1.1 server: hyper reads the request and routes it,
//! wsx checks it and decides (`server::upgrade`), hyper sends the 101 with wsx's headers, and
//! the upgraded stream runs the connection. Other paths stay hyper's.

use std::convert::Infallible;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use wsx_testing::Echo;
use wsx_tokio::config::Config;
use wsx_tokio::deflate::DeflateConfig;
use wsx_tokio::error::HandshakeError;
use wsx_tokio::server::{Rejection, ServeOptions};
use wsx_tokio::{Client, ConnectSettings, Context, Decision, Error, Frame, Handler, Reply, Response as WsResponse};

fn options() -> ServeOptions {
    ServeOptions::default().config(Config::default().deflate(Some(DeflateConfig::default())))
}

async fn route(mut request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.uri().path() != "/ws" && request.uri().path() != "/private" {
        return Ok(Response::builder()
            .status(404)
            .body(Full::new(Bytes::from("hyper's 404")))
            .unwrap());
    }
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_bytes()));
    let target = request.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let upgrade = wsx_tokio::server::upgrade(request.method().as_str(), &target, headers, &options(), |r| {
        match r.path() {
            "/ws" => Decision::accept(Echo),
            _ => Decision::reject(Rejection::new(403).body("not for you")),
        }
    });
    Ok(match upgrade {
        Ok(upgrade) => {
            let mut response = Response::builder().status(StatusCode::SWITCHING_PROTOCOLS);
            for (name, value) in upgrade.headers() {
                response = response.header(name, value);
            }
            tokio::spawn(async move {
                let upgraded = hyper::upgrade::on(&mut request).await.expect("upgraded");
                upgrade.run(hyper_util::rt::TokioIo::new(upgraded));
            });
            response.body(Full::default()).unwrap()
        }
        Err(rejection) => Response::builder()
            .status(rejection.status)
            .body(Full::new(rejection.body))
            .unwrap(),
    })
}

/// hyper's server on a free port.
async fn hyper_server() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(tcp);
                let service = hyper::service::service_fn(route);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .with_upgrades()
                    .await;
            });
        }
    });
    addr
}

/// Collects what a client receives.
struct Received(tokio::sync::mpsc::UnboundedSender<Frame>);

impl Handler for Received {
    type Cast = ();
    type Info = ();

    fn handle_connect(&mut self, response: &WsResponse, _ctx: &mut Context<'_, Self>) {
        assert!(response.extensions.deflate().is_some(), "deflate agreed through hyper");
    }

    fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        let _ = self.0.send(frame);
        Reply::Continue
    }
}

#[tokio::test]
async fn a_hyper_route_upgrades_to_a_wsx_connection() {
    let addr = hyper_server().await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let settings = ConnectSettings::new(&format!("ws://{addr}/ws"))
        .unwrap()
        .deflate(Some(DeflateConfig::default()));
    let client = Client::start(settings, Received(tx))
        .await
        .expect("upgraded through hyper");
    let large = Frame::text("compressible ".repeat(10_000));
    for frame in [Frame::text("through hyper"), Frame::binary(vec![1, 2, 3]), large] {
        client.send(frame.clone()).await.unwrap();
        let echo = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(echo, frame);
    }
    client.close().unwrap();
    client.wait().await;
}

#[tokio::test]
async fn hyper_answers_what_wsx_refuses_and_what_is_not_a_websocket() {
    let addr = hyper_server().await;
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    match Client::start(format!("ws://{addr}/private"), Received(tx.clone())).await {
        Err(Error::Handshake(HandshakeError::Rejected(rejected))) => {
            assert_eq!(rejected.status, 403);
            assert_eq!(&rejected.body[..], b"not for you");
        }
        other => panic!("expected 403, got {other:?}"),
    }
    match Client::start(format!("ws://{addr}/elsewhere"), Received(tx)).await {
        Err(Error::Handshake(HandshakeError::Rejected(rejected))) => assert_eq!(rejected.status, 404),
        other => panic!("expected 404, got {other:?}"),
    }
}
