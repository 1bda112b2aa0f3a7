//! A wsx client against a wsx server: each `pub fn NAME<C: TestAdapter, S: TestServing>()`
//! runs with the client of adapter `C` and the server of adapter `S`, every pair of adapters
//! in turn (`pair_suite!`), the same callbacks on both ends.

use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wsx_proto::deflate::DeflateConfig;
use wsx_proto::error::HandshakeError;
use wsx_proto::server::{Accept, Decision, Rejection, ServeOptions};
use wsx_proto::{Config, ConnectSettings, Frame, Reply};

use super::*;
use crate::harness::{settings, Cmd};
use crate::serving::{probes, Decide, TestListener, TestServing};

/// The next accepted connection's log.
fn accepted(connections: &Receiver<Events>) -> Events {
    connections.recv_timeout(T).expect("the server accepted a connection")
}

/// Waits for `terminate` and gives its reason.
fn terminated(events: &mut Events) -> CloseReason {
    events.wait_for("terminate", T, |ev| match ev {
        Ev::Terminate(reason) => Some(reason.clone()),
        _ => None,
    })
}

fn serve<S: TestServing>(options: ServeOptions, echo: bool) -> (S::Listener<Probe<S>>, Receiver<Events>) {
    let (decide, connections) = probes::<S>(echo);
    (S::serve(options, None, decide).expect("serve"), connections)
}

/// Text and binary, small and large, from client to server and back; the server's
/// `handle_connect` sees the request's path and the response it sent; a normal close ends
/// both ends with 1000.
pub fn serve_echo_both_ways<C: TestAdapter, S: TestServing>() {
    let (server, connections) = serve::<S>(ServeOptions::default(), true);
    let (probe, mut events) = Probe::<C>::new();
    let url = format!("{}chat?room=1", server.url());
    let client = C::start(url.as_str(), probe, TestOptions::default()).expect("connect");
    let mut served = accepted(&connections);
    let path = served.wait_for("handle_connect", T, |ev| match ev {
        Ev::Connected {
            request_path,
            ctx_has_response,
            ..
        } => Some((request_path.clone(), *ctx_has_response)),
        _ => None,
    });
    assert_eq!(path, (Some("/chat?room=1".into()), true));
    let large = Frame::binary(vec![7u8; 1 << 20]);
    for frame in [Frame::text("hello"), Frame::binary(vec![1, 2, 3]), large] {
        client.send(frame.clone()).expect("send");
        assert_eq!(served.frame(T), frame);
        assert_eq!(events.frame(T), frame);
    }
    client.close().expect("close");
    assert_eq!(
        finish::<C>(&client, &mut events),
        CloseReason::Local(CloseStatus::Normal)
    );
    assert_eq!(terminated(&mut served), CloseReason::Remote(CloseStatus::Normal));
}

/// The server closes with its own code through its handle: the client sees the server's
/// close, the server its own.
pub fn serve_close_from_the_server<C: TestAdapter, S: TestServing>() {
    let (server, connections) = serve::<S>(ServeOptions::default(), false);
    let (probe, mut events) = Probe::<C>::new();
    let client = C::start(server.url().as_str(), probe, TestOptions::default()).expect("connect");
    let mut served = accepted(&connections);
    served.wait_for("handle_connect", T, |ev| {
        matches!(ev, Ev::Connected { .. }).then_some(())
    });
    let handles = server.clients();
    assert_eq!(handles.len(), 1);
    handles[0].close_with(CloseCode(4001), "bye").expect("close");
    assert_eq!(
        finish::<C>(&client, &mut events),
        CloseReason::Remote(coded(4001, "bye"))
    );
    assert_eq!(terminated(&mut served), CloseReason::Local(coded(4001, "bye")));
    assert!(handles[0].wait(T).is_some());
}

/// The application chooses a subprotocol among the client's offers: both ends see it.
pub fn serve_subprotocol_chosen_by_the_application<C: TestAdapter, S: TestServing>() {
    let (probes, connections) = probes::<S>(true);
    let decide: Decide<Probe<S>> = Arc::new(move |request| {
        assert_eq!(request.subprotocols(), ["chat.v1", "chat.v2"]);
        match probes(request) {
            Decision::Accept { handler, .. } => Decision::accept_with(handler, Accept::new().subprotocol("chat.v2")),
            rejected => rejected,
        }
    });
    let server = S::serve(ServeOptions::default(), None, decide).expect("serve");
    let (probe, mut events) = Probe::<C>::new();
    let s = settings(&server.url()).subprotocol("chat.v1").subprotocol("chat.v2");
    let client = C::start(s, probe, TestOptions::default()).expect("connect");
    let subprotocol = |ev: &Ev| match ev {
        Ev::Connected { subprotocol, .. } => Some(subprotocol.clone()),
        _ => None,
    };
    assert_eq!(
        events.wait_for("handle_connect", T, subprotocol),
        Some("chat.v2".into())
    );
    let mut served = accepted(&connections);
    assert_eq!(
        served.wait_for("handle_connect", T, subprotocol),
        Some("chat.v2".into())
    );
    client.close().expect("close");
    finish::<C>(&client, &mut events);
}

/// The application refuses: the client's start fails with the status, headers and body
/// the application chose.
pub fn serve_rejection_reaches_the_client<C: TestAdapter, S: TestServing>() {
    let decide: Decide<Probe<S>> = Arc::new(|request| {
        assert_eq!(request.header("Authorization"), None);
        Decision::reject(
            Rejection::new(401)
                .header("WWW-Authenticate", "Bearer")
                .body("who are you?"),
        )
    });
    let server = S::serve(ServeOptions::default(), None, decide).expect("serve");
    let (probe, _events) = Probe::<C>::new();
    match C::start(server.url().as_str(), probe, TestOptions::default()) {
        Err(Error::Handshake(HandshakeError::Rejected(rejected))) => {
            assert_eq!((rejected.status, rejected.reason.as_str()), (401, "Unauthorized"));
            assert_eq!(&rejected.body[..], b"who are you?");
            let auth = rejected
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("www-authenticate"));
            assert_eq!(auth.map(|(_, v)| &v[..]), Some(&b"Bearer"[..]));
        }
        other => panic!("expected a 401 rejection, got {other:?}"),
    }
    // Its place is given back once the refusal is written (the client may read it first).
    let deadline = Instant::now() + T;
    while server.connection_count() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(server.connection_count(), 0, "a refused connection is not held");
}

/// permessage-deflate on both ends: negotiated, and compressible messages of every size
/// echo intact both ways.
pub fn serve_deflate_both_ends<C: TestAdapter, S: TestServing>() {
    let options = ServeOptions::default().config(Config::default().deflate(Some(DeflateConfig::default())));
    let (server, connections) = serve::<S>(options, true);
    let (probe, mut events) = Probe::<C>::new();
    let s: ConnectSettings =
        settings(&server.url()).deflate(Some(DeflateConfig::default().client_no_context_takeover(true)));
    let client = C::start(s, probe, TestOptions::default()).expect("connect");
    let extensions = |ev: &Ev| match ev {
        Ev::Connected { extensions, .. } => Some(extensions.clone()),
        _ => None,
    };
    let agreed = events
        .wait_for("handle_connect", T, extensions)
        .expect("deflate negotiated");
    assert!(agreed.starts_with("permessage-deflate"), "{agreed}");
    assert!(agreed.contains("client_no_context_takeover"), "{agreed}");
    let mut served = accepted(&connections);
    assert_eq!(served.wait_for("handle_connect", T, extensions), Some(agreed));
    let text = "the quick brown fox jumps over the lazy dog ".repeat(3000);
    for frame in [
        Frame::text("tiny"),
        Frame::text(text.clone()),
        Frame::binary(text.into_bytes()),
    ] {
        client.send(frame.clone()).expect("send");
        assert_eq!(served.frame(T), frame);
        assert_eq!(events.frame(T), frame);
    }
    client.close().expect("close");
    finish::<C>(&client, &mut events);
}

/// Pings from the client are answered by the server's default `handle_ping`; the server's
/// handle casts to its handler, whose reply reaches the client, and sends (alone, in a batch,
/// through its sink) reach it unmasked.
pub fn serve_pings_and_casts<C: TestAdapter, S: TestServing>() {
    let (server, connections) = serve::<S>(ServeOptions::default(), false);
    let (probe, mut events) = Probe::<C>::new();
    let client = C::start(server.url().as_str(), probe, TestOptions::default()).expect("connect");
    let mut served = accepted(&connections);
    served.wait_for("handle_connect", T, |ev| {
        matches!(ev, Ev::Connected { .. }).then_some(())
    });
    client
        .send(Frame::Ping(bytes::Bytes::from_static(b"are you there")))
        .expect("ping");
    let pong = events.wait_for("handle_pong", T, |ev| match ev {
        Ev::Pong(payload) => Some(payload.clone()),
        _ => None,
    });
    assert_eq!(&pong[..], b"are you there");
    let handle = server.clients().pop().expect("one connection");
    handle
        .cast(Cmd::Reply(Reply::Frame(Frame::text("from the server"))))
        .expect("cast");
    assert_eq!(events.frame(T), Frame::text("from the server"));
    // Pipelined sends from the server's handle, which its senders frame themselves.
    handle.send(Frame::text("pushed")).expect("send");
    assert_eq!(events.frame(T), Frame::text("pushed"));
    handle
        .send_all(vec![Frame::binary(vec![1]), Frame::binary(vec![2])])
        .expect("send_all");
    handle.send_via_sink(vec![Frame::text("sunk")]).expect("sink");
    for expected in [Frame::binary(vec![1]), Frame::binary(vec![2]), Frame::text("sunk")] {
        assert_eq!(events.frame(T), expected);
    }
    client.close().expect("close");
    finish::<C>(&client, &mut events);
}
