//! The front driven by h2's own client over tokio, against the crate's HTTP/1.1 test servers.

use std::future::poll_fn;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use h2::client::SendRequest;
use h2::{Reason, RecvStream, SendStream};
use http::response::Parts;
use http::{Method, Request, StatusCode};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::{FrontOptions, H2Front};
use crate::server::{encode, Gate, Handshake, Script, Step, TestServer};
use crate::tls::TestPki;
use wsx_proto::protocol::OpCode;

const WAIT: Duration = Duration::from_secs(10);

/// A masked client text frame, written by hand (payload under 126 bytes).
fn masked_text(text: &str) -> Bytes {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut frame = vec![0x81, 0x80 | text.len() as u8];
    frame.extend_from_slice(&key);
    frame.extend(text.bytes().enumerate().map(|(i, b)| b ^ key[i % 4]));
    Bytes::from(frame)
}

/// The unmasked text frame the echo server sends back.
fn echoed_text(text: &str) -> Vec<u8> {
    let mut frame = vec![0x81, text.len() as u8];
    frame.extend_from_slice(text.as_bytes());
    frame
}

/// An h2 client on `io`, once the server's SETTINGS are in: they precede its first PONG.
async fn h2_client<T>(io: T) -> SendRequest<Bytes>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (send_request, mut connection) = h2::client::handshake(io).await.expect("h2 handshake");
    let mut ping_pong = connection.ping_pong().expect("ping_pong taken once");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    timeout(WAIT, ping_pong.ping(h2::Ping::opaque()))
        .await
        .expect("pong in time")
        .expect("pong");
    send_request
}

async fn h2c_client(front: &H2Front) -> SendRequest<Bytes> {
    h2_client(TcpStream::connect(front.addr()).await.expect("connect to the front")).await
}

async fn tls_connect(front: &H2Front, alpn: &[&[u8]]) -> TlsStream<TcpStream> {
    let pki = front.tls_pki().expect("a TLS front");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(pki.ca_der.clone())).expect("test CA");
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let tcp = TcpStream::connect(front.addr()).await.expect("connect to the front");
    let name = ServerName::try_from("localhost").expect("server name");
    TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("TLS handshake")
}

/// An extended CONNECT for `path` with `headers`; the response head and the stream's halves.
async fn connect_with(
    client: &mut SendRequest<Bytes>,
    path: &str,
    headers: &[(&str, &str)],
) -> (Parts, SendStream<Bytes>, RecvStream) {
    try_connect(client, path, headers).await.expect("response")
}

async fn try_connect(
    client: &mut SendRequest<Bytes>,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<(Parts, SendStream<Bytes>, RecvStream), h2::Error> {
    let mut request = Request::builder()
        .method(Method::CONNECT)
        .uri(format!("https://localhost{path}"))
        .extension(h2::ext::Protocol::from_static("websocket"))
        .header("sec-websocket-version", "13");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(()).expect("request");
    let mut ready = client.clone().ready().await?;
    let (response, send) = ready.send_request(request, false)?;
    let (head, recv) = timeout(WAIT, response).await.expect("response in time")?.into_parts();
    Ok((head, send, recv))
}

async fn connect(client: &mut SendRequest<Bytes>, path: &str) -> (Parts, SendStream<Bytes>, RecvStream) {
    connect_with(client, path, &[]).await
}

/// Reads `n` bytes of DATA, giving the window back as it goes.
async fn read_exactly(recv: &mut RecvStream, n: usize) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < n {
        let chunk = timeout(WAIT, recv.data())
            .await
            .expect("DATA in time")
            .expect("the stream is still open")
            .expect("no stream error");
        let _ = recv.flow_control().release_capacity(chunk.len());
        got.extend_from_slice(&chunk);
    }
    got
}

async fn assert_echoes(send: &mut SendStream<Bytes>, recv: &mut RecvStream, text: &str) {
    send.send_data(masked_text(text), false).expect("send DATA");
    let expected = echoed_text(text);
    assert_eq!(read_exactly(recv, expected.len()).await, expected);
}

/// Reads the rest of the stream's DATA, until END_STREAM.
async fn read_to_end(recv: &mut RecvStream) -> Vec<u8> {
    let mut got = Vec::new();
    while let Some(chunk) = timeout(WAIT, recv.data()).await.expect("END_STREAM in time") {
        let chunk = chunk.expect("no stream error");
        let _ = recv.flow_control().release_capacity(chunk.len());
        got.extend_from_slice(&chunk);
    }
    got
}

fn h2c_front(backend: &TestServer) -> H2Front {
    H2Front::start(FrontOptions::to(backend.addr()))
}

#[tokio::test]
async fn h2c_connect_gets_200_and_echoes() {
    let backend = TestServer::echo();
    let front = h2c_front(&backend);
    let mut client = h2c_client(&front).await;
    let (head, mut send, mut recv) = connect(&mut client, "/chat?room=1").await;
    assert_eq!(head.status, StatusCode::OK);
    assert_echoes(&mut send, &mut recv, "hello over h2c").await;
    let request = &backend.requests()[0];
    assert_eq!(request.request_line, "GET /chat?room=1 HTTP/1.1");
    assert_eq!(request.header("host"), Some("localhost"));
    assert_eq!(request.header("upgrade"), Some("websocket"));
    assert_eq!(request.header("sec-websocket-version"), Some("13"));
    assert!(front.url("/x").starts_with("ws://127.0.0.1:"));
}

#[tokio::test]
async fn tls_connect_gets_200_and_echoes() {
    let backend = TestServer::echo();
    let front = H2Front::start(FrontOptions::to(backend.addr()).tls(TestPki::new()));
    let tls = tls_connect(&front, &[b"h2"]).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let mut client = h2_client(tls).await;
    let (head, mut send, mut recv) = connect(&mut client, "/").await;
    assert_eq!(head.status, StatusCode::OK);
    assert_echoes(&mut send, &mut recv, "hello over TLS").await;
    assert_eq!(front.url("/"), format!("wss://localhost:{}/", front.addr().port()));
}

#[tokio::test]
async fn two_streams_share_one_connection() {
    let backend = TestServer::echo();
    let front = h2c_front(&backend);
    let mut client = h2c_client(&front).await;
    let (_, mut send_a, mut recv_a) = connect(&mut client, "/a").await;
    let (_, mut send_b, mut recv_b) = connect(&mut client, "/b").await;
    assert_echoes(&mut send_b, &mut recv_b, "second").await;
    assert_echoes(&mut send_a, &mut recv_a, "first").await;
    assert_eq!(front.connections(), 1);
    assert_eq!(front.streams(), 2);
    assert_eq!(front.open_streams(), 2);
    assert_eq!(backend.connections(), 2, "one backend connection per stream");
}

#[tokio::test]
async fn headers_pass_both_ways() {
    let backend = TestServer::start(Script::echo().handshake(Handshake::AcceptProtocol("chat".into())));
    let front = h2c_front(&backend);
    let mut client = h2c_client(&front).await;
    let headers = [
        ("sec-websocket-protocol", "chat, superchat"),
        ("origin", "https://example.test"),
        ("x-custom", "42"),
        ("x-wsx-backend", &backend.addr().to_string()),
    ];
    let (head, _send, _recv) = connect_with(&mut client, "/", &headers).await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.headers["sec-websocket-protocol"], "chat");
    assert_eq!(head.headers["x-test-server"], "wsx-testing");
    for dropped in ["upgrade", "connection", "sec-websocket-accept"] {
        assert!(!head.headers.contains_key(dropped), "{dropped} was passed on");
    }
    let request = &backend.requests()[0];
    assert_eq!(request.header("sec-websocket-protocol"), Some("chat, superchat"));
    assert_eq!(request.header("origin"), Some("https://example.test"));
    assert_eq!(request.header("x-custom"), Some("42"));
    assert_eq!(request.header("x-wsx-backend"), None);
    let key = request.header("sec-websocket-key").expect("a key");
    assert_eq!(key.len(), 24, "16 bytes in base64");
}

#[tokio::test]
async fn backend_header_picks_the_backend() {
    let backend = TestServer::echo();
    let front = H2Front::start(FrontOptions::default());
    let mut client = h2c_client(&front).await;
    let (head, _, _) = connect(&mut client, "/").await;
    assert_eq!(head.status, StatusCode::BAD_GATEWAY, "no backend configured nor named");
    let unreachable = format!("127.0.0.1:{}", crate::ports::refused_port());
    let (head, _, _) = connect_with(&mut client, "/", &[("x-wsx-backend", &unreachable)]).await;
    assert_eq!(head.status, StatusCode::BAD_GATEWAY);
    assert!(head.headers.contains_key("x-wsx-front-error"));
    let named = backend.addr().to_string();
    let (head, mut send, mut recv) = connect_with(&mut client, "/", &[("x-wsx-backend", &named)]).await;
    assert_eq!(head.status, StatusCode::OK);
    assert_echoes(&mut send, &mut recv, "named").await;
}

#[tokio::test]
async fn backend_refusal_is_passed_on_with_its_body() {
    let backend = TestServer::start(Script::only(Handshake::Reject {
        status: 404,
        body: "no such room".into(),
    }));
    let front = h2c_front(&backend);
    let mut client = h2c_client(&front).await;
    let (head, _send, mut recv) = connect(&mut client, "/missing").await;
    assert_eq!(head.status, StatusCode::NOT_FOUND);
    assert_eq!(head.headers["content-type"], "text/plain");
    assert_eq!(read_to_end(&mut recv).await, b"no such room");
}

#[tokio::test]
async fn early_bytes_and_backend_eof_reach_the_client() {
    let early = encode(true, OpCode::Text, b"early");
    let script = Script::new(vec![Step::text("later"), Step::CloseTcp]).handshake(Handshake::AcceptWithTrailing(early));
    let backend = TestServer::start(script);
    let front = h2c_front(&backend);
    let mut client = h2c_client(&front).await;
    let (head, _send, mut recv) = connect(&mut client, "/").await;
    assert_eq!(head.status, StatusCode::OK);
    let mut expected = echoed_text("early");
    expected.extend(echoed_text("later"));
    assert_eq!(read_to_end(&mut recv).await, expected, "then END_STREAM");
}

#[tokio::test]
async fn refuse_answers_every_connect_without_a_backend() {
    let backend = TestServer::echo();
    let front = H2Front::start(FrontOptions::to(backend.addr()).refuse(403));
    let mut client = h2c_client(&front).await;
    let (head, _, _) = connect(&mut client, "/").await;
    assert_eq!(head.status, StatusCode::FORBIDDEN);
    assert_eq!(head.headers["x-refused"], "yes");
    assert_eq!(backend.connections(), 0);
}

#[tokio::test]
async fn plain_requests_get_400() {
    let backend = TestServer::echo();
    let front = h2c_front(&backend);
    let mut client = h2c_client(&front).await;
    let request = Request::get("http://localhost/").body(()).expect("request");
    let (response, _) = client.send_request(request, true).expect("send the GET");
    let response = timeout(WAIT, response).await.expect("in time").expect("response");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(backend.connections(), 0);
}

#[tokio::test]
async fn connect_protocol_setting_follows_the_option() {
    let backend = TestServer::echo();
    let enabled = h2c_front(&backend);
    assert!(h2c_client(&enabled).await.is_extended_connect_protocol_enabled());
    let disabled = H2Front::start(FrontOptions::to(backend.addr()).connect_protocol(false));
    assert!(!h2c_client(&disabled).await.is_extended_connect_protocol_enabled());
}

#[tokio::test]
async fn reset_streams_resets_with_the_reason() {
    let backend = TestServer::echo();
    let front = h2c_front(&backend);
    let mut client = h2c_client(&front).await;
    let (_, mut send, mut recv) = connect(&mut client, "/").await;
    assert_echoes(&mut send, &mut recv, "before").await;
    front.reset_streams(Reason::CANCEL);
    let error = timeout(WAIT, recv.data())
        .await
        .expect("reset in time")
        .expect("an error, not END_STREAM")
        .expect_err("an error, not DATA");
    assert_eq!(error.reason(), Some(Reason::CANCEL));
    assert!(front.wait_open_streams(0, WAIT));
    assert_eq!(backend.expect_tcp_end(0, WAIT).conn, 0, "backend socket closed");
}

#[tokio::test]
async fn goaway_lets_open_streams_finish() {
    let backend = TestServer::echo();
    let front = h2c_front(&backend);
    let mut client = h2c_client(&front).await;
    let (_, mut send, mut recv) = connect(&mut client, "/").await;
    front.goaway();
    let refused = timeout(WAIT, async {
        loop {
            // A new stream fails once the client has read the GOAWAY.
            let request = Request::get("http://localhost/").body(()).expect("request");
            match client.clone().ready().await {
                Err(_) => return,
                Ok(mut ready) => match ready.send_request(request, true) {
                    Err(_) => return,
                    Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                },
            }
        }
    })
    .await;
    assert!(refused.is_ok(), "new streams still accepted after GOAWAY");
    assert_echoes(&mut send, &mut recv, "after goaway").await;
}

#[tokio::test]
async fn abort_connections_fails_every_stream() {
    let backend = TestServer::echo();
    let front = h2c_front(&backend);
    let mut client = h2c_client(&front).await;
    let (_, mut send, mut recv) = connect(&mut client, "/").await;
    assert_echoes(&mut send, &mut recv, "before").await;
    front.abort_connections();
    let end = timeout(WAIT, recv.data()).await.expect("the stream ends in time");
    assert!(matches!(end, Some(Err(_))), "an error, not {end:?}");
    assert!(front.wait_open_streams(0, WAIT));
}

#[tokio::test]
async fn tls_without_h2_passes_through_to_the_backend() {
    let backend = TestServer::echo();
    let options = FrontOptions::to(backend.addr())
        .tls(TestPki::new())
        .alpn([&b"h2"[..], b"http/1.1"]);
    let front = H2Front::start(options);
    let mut tls = tls_connect(&front, &[b"http/1.1"]).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let upgrade = "GET /raw HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    tls.write_all(upgrade.as_bytes()).await.expect("write the upgrade");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let byte = timeout(WAIT, tls.read_u8()).await.expect("in time").expect("a byte");
        head.push(byte);
    }
    let head = String::from_utf8(head).expect("text head");
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(
        head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "the backend's own accept key: {head}"
    );
    tls.write_all(&masked_text("raw")).await.expect("write a frame");
    let mut echoed = vec![0; echoed_text("raw").len()];
    timeout(WAIT, tls.read_exact(&mut echoed))
        .await
        .expect("in time")
        .expect("echo");
    assert_eq!(echoed, echoed_text("raw"));
    assert_eq!(front.streams(), 0, "no HTTP/2 here");
}

#[tokio::test]
async fn dropping_the_front_ends_its_connections_and_backend_sockets() {
    let backend = TestServer::echo();
    let front = h2c_front(&backend);
    let mut client = h2c_client(&front).await;
    let (_, mut send, mut recv) = connect(&mut client, "/").await;
    assert_echoes(&mut send, &mut recv, "before").await;
    // Never finishes the HTTP/2 preface: its task waits in the handshake.
    let mut silent = TcpStream::connect(front.addr()).await.expect("connect");
    let addr = front.addr();
    drop(front);
    let end = timeout(WAIT, recv.data()).await.expect("the stream ends in time");
    assert!(matches!(end, Some(Err(_))), "an error, not {end:?}");
    // The server's SETTINGS may come first; then the end.
    let mut seen = Vec::new();
    let read = timeout(WAIT, silent.read_to_end(&mut seen)).await;
    assert!(read.is_ok(), "the silent connection is still open");
    backend.expect_tcp_end(0, WAIT);
    assert!(TcpStream::connect(addr).await.is_err(), "still listening");
}

/// Sends filler to `send` as fast as the window allows, until no capacity comes for
/// `quiet`; returns the bytes sent. `frames` is the byte stream it cycles through.
async fn send_until_blocked(send: &mut SendStream<Bytes>, frames: &Bytes, quiet: Duration, limit: usize) -> usize {
    let mut sent = 0;
    while sent < limit {
        send.reserve_capacity(16 * 1024);
        let granted = match send.capacity() {
            0 => match timeout(quiet, poll_fn(|cx| send.poll_capacity(cx))).await {
                Ok(Some(Ok(granted))) => granted,
                Ok(other) => panic!("stream ended: {other:?}"),
                Err(_) => break,
            },
            ready => ready,
        };
        let mut chunk = Vec::with_capacity(granted);
        while chunk.len() < granted {
            let at = (sent + chunk.len()) % frames.len();
            let take = (granted - chunk.len()).min(frames.len() - at);
            chunk.extend_from_slice(&frames[at..at + take]);
        }
        send.send_data(Bytes::from(chunk), false).expect("send DATA");
        sent += granted;
    }
    sent
}

#[tokio::test]
async fn stalled_stream_stops_taking_data_while_another_flows() {
    const STREAM_WINDOW: usize = 65_535;
    let backend = TestServer::echo();
    // The stalled stream's unread bytes count against the connection window too.
    let front = H2Front::start(FrontOptions::to(backend.addr()).initial_connection_window_size(1 << 20));
    let mut client = h2c_client(&front).await;
    let (head, mut stalled, _stalled_recv) = connect(&mut client, "/stall").await;
    assert_eq!(head.status, StatusCode::OK);
    let filler = Bytes::from(vec![0; 1000]);
    let sent = send_until_blocked(&mut stalled, &filler, Duration::from_millis(500), 4 * STREAM_WINDOW).await;
    assert_eq!(
        sent, STREAM_WINDOW,
        "the client filled the stream window, then got no more"
    );
    let (_, mut send, mut recv) = connect(&mut client, "/flowing").await;
    assert_echoes(&mut send, &mut recv, "still flowing").await;
}

#[tokio::test]
async fn backend_that_stops_reading_holds_back_only_its_stream() {
    const LIMIT: usize = 64 << 20;
    let gate = Gate::new();
    let slow = TestServer::start_with_receive_buffer(Script::new(vec![Step::WaitFor(gate.clone()), Step::Echo]), 4096);
    let echo = TestServer::echo();
    let front = H2Front::start(FrontOptions::to(slow.addr()).initial_connection_window_size(1 << 20));
    let mut client = h2c_client(&front).await;
    let (_, mut blocked, _blocked_recv) = connect(&mut client, "/").await;
    // Whole masked frames, so the backend reads a valid stream once it reads at all.
    let frames: Vec<u8> = (0..100).flat_map(|_| masked_text(&"x".repeat(120))).collect();
    let frames = Bytes::from(frames);
    let sent = send_until_blocked(&mut blocked, &frames, Duration::from_secs(1), LIMIT).await;
    assert!(sent < LIMIT, "the front kept taking bytes the backend did not read");
    let named = echo.addr().to_string();
    let (_, mut send, mut recv) = connect_with(&mut client, "/", &[("x-wsx-backend", &named)]).await;
    assert_echoes(&mut send, &mut recv, "other stream").await;
    gate.open();
    let more = send_until_blocked(&mut blocked, &frames, WAIT, 1).await;
    assert!(more > 0, "the window reopened once the backend read");
}

#[tokio::test]
async fn small_unread_frames_exhaust_h2s_budget_unless_raised() {
    /// 300 tiny DATA frames to a stalled stream, then an echo on another stream; the
    /// connection's own end when that fails.
    async fn tiny_frames_to_a_stalled_stream(front: &H2Front) -> Result<(), h2::Error> {
        let tcp = TcpStream::connect(front.addr()).await.expect("connect");
        let (mut client, connection) = h2::client::handshake(tcp).await.expect("h2 handshake");
        let connection = tokio::spawn(connection);
        let (_, mut stalled, _stalled_recv) = connect(&mut client, "/stall").await;
        for _ in 0..300 {
            stalled.send_data(masked_text("tiny"), false).expect("send DATA");
        }
        let echoed = async {
            let (_, mut send, mut recv) = try_connect(&mut client, "/", &[]).await?;
            send.send_data(masked_text("after"), false)?;
            timeout(WAIT, recv.data())
                .await
                .expect("an answer in time")
                .expect("DATA")
        };
        match echoed.await {
            Ok(_) => Ok(()),
            Err(_) => Err(connection
                .await
                .expect("connection task")
                .expect_err("a connection error")),
        }
    }
    let backend = TestServer::echo();
    let default_budget = H2Front::start(FrontOptions::to(backend.addr()));
    let error = tiny_frames_to_a_stalled_stream(&default_budget)
        .await
        .expect_err("GOAWAY");
    assert_eq!(error.reason(), Some(Reason::ENHANCE_YOUR_CALM), "{error}");
    let raised = H2Front::start(FrontOptions::to(backend.addr()).data_frame_budget(1 << 20));
    tiny_frames_to_a_stalled_stream(&raised)
        .await
        .expect("the connection survives");
}
