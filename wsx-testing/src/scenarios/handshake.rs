//! The opening handshake and start: response and request headers, subprotocols, rejected
//! or broken upgrades, connect failures, and the start options.

use std::io;
use std::time::{Duration, Instant};

use wsx_proto::{
    client::Status, error::HandshakeError, error::RequestError, error::UrlError, CloseReason, Error, Reconnect,
    SendError,
};

use super::{close_normally, connected, disconnects, eventually, finish, is_io, SHORT, T};
use crate::harness::{settings, Ev, Probe, TestAdapter, TestClient, TestOptions};
use crate::server::{refused_url, Gate, Handshake, Script, Step, TestServer};

/// `handle_connect` runs with the response headers and the chosen subprotocol.
pub fn handle_connect_sees_response<A: TestAdapter>() {
    let server = TestServer::start(Script::echo().handshake(Handshake::AcceptProtocol("v2".into())));
    let (probe, mut events) = Probe::<A>::new();
    let s = settings(&server.url()).subprotocol("v1").subprotocol("v2");
    let client = A::start(s, probe, TestOptions::default()).expect("connect");
    assert_eq!(client.status(), Status::Connected);
    let ev = events.wait_for("handle_connect", T, |ev| {
        matches!(ev, Ev::Connected { .. }).then(|| ev.clone())
    });
    // Whichever HTTP the adapter under test spoke (the suite also runs over HTTP/2).
    let Ev::Connected { http_version, .. } = ev else {
        unreachable!()
    };
    assert_eq!(
        ev,
        Ev::Connected {
            count: 1,
            subprotocol: Some("v2".into()),
            server_header: Some("wsx-testing".into()),
            ctx_has_response: true,
            extensions: None,
            http_version,
            request_path: None,
        }
    );
    close_normally::<A>(&client, &server, &mut events);
}

/// Extra headers, the path and query, and the offered subprotocols reach the server.
pub fn request_headers_reach_server<A: TestAdapter>() {
    let server = TestServer::start(Script::echo().handshake(Handshake::AcceptProtocol("v1".into())));
    let (probe, mut events) = Probe::<A>::new();
    let s = settings(&format!("{}chat?room=1", server.url()))
        .header("X-Wsx-Test", "42")
        .header("Authorization", "Bearer secret")
        .subprotocol("v1")
        .subprotocol("v2");
    let client = A::start(s, probe, TestOptions::default()).expect("connect");
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.request_line, "GET /chat?room=1 HTTP/1.1");
    assert_eq!(r.header("X-Wsx-Test"), Some("42"));
    assert_eq!(r.header("Authorization"), Some("Bearer secret"));
    assert_eq!(r.header("Sec-WebSocket-Protocol"), Some("v1, v2"));
    assert_eq!(r.header("Sec-WebSocket-Version"), Some("13"));
    assert_eq!(
        r.header("Upgrade").map(str::to_ascii_lowercase).as_deref(),
        Some("websocket")
    );
    assert_eq!(r.header("Host"), Some(&*server.addr().to_string()));
    assert_eq!(r.header("Sec-WebSocket-Key").map(str::len), Some(24));
    let sub = events.wait_for("handle_connect", T, |ev| match ev {
        Ev::Connected { subprotocol, .. } => Some(subprotocol.clone()),
        _ => None,
    });
    assert_eq!(sub.as_deref(), Some("v1"));
    close_normally::<A>(&client, &server, &mut events);
}

/// A server choosing a subprotocol that was not offered fails the handshake.
pub fn unoffered_subprotocol_fails<A: TestAdapter>() {
    let server = TestServer::start(Script::echo().handshake(Handshake::AcceptProtocol("v9".into())));
    let (probe, _events) = Probe::<A>::new();
    let s = settings(&server.url()).subprotocol("v1");
    match A::start(s, probe, TestOptions::default()) {
        Err(Error::Handshake(HandshakeError::UnofferedSubprotocol(p))) => assert_eq!(p, "v9"),
        other => panic!("expected UnofferedSubprotocol, got {other:?}"),
    }
}

/// A header the handshake sets itself, or a bad header name, is refused before connecting.
pub fn invalid_request_headers_refused<A: TestAdapter>() {
    let server = TestServer::echo();
    let (probe, _e) = Probe::<A>::new();
    let s = settings(&server.url()).header("Sec-WebSocket-Key", "x");
    assert!(matches!(
        A::start(s, probe, TestOptions::default()),
        Err(Error::Request(RequestError::ReservedHeader(_)))
    ));
    let (probe, _e) = Probe::<A>::new();
    let s = settings(&server.url()).header("Bad Name", "x");
    assert!(matches!(
        A::start(s, probe, TestOptions::default()),
        Err(Error::Request(RequestError::InvalidHeaderName(_)))
    ));
    assert_eq!(
        server.connections(),
        0,
        "an invalid request must fail before connecting"
    );
}

// ---------------------------------------------------------------------------------------------
// Handshake and connect failures

fn rejected_case<A: TestAdapter>(status: u16, reason: &str, body: &str) {
    let server = TestServer::start(Script::only(Handshake::Reject {
        status,
        body: body.into(),
    }));
    let (probe, _events) = Probe::<A>::new();
    match A::start(server.url(), probe, TestOptions::default()) {
        Err(Error::Handshake(HandshakeError::Rejected(r))) => {
            assert_eq!(r.status, status);
            assert_eq!(r.reason, reason);
            assert_eq!(&r.body[..], body.as_bytes());
            assert!(r.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-length")));
        }
        other => panic!("expected Rejected({status}), got {other:?}"),
    }
}

/// A 404 instead of an upgrade: `Handshake(Rejected)` with the status and body.
pub fn handshake_rejected_404<A: TestAdapter>() {
    rejected_case::<A>(404, "Not Found", "no such path");
}

/// A 500 instead of an upgrade: `Handshake(Rejected)` with the status and body.
pub fn handshake_rejected_500<A: TestAdapter>() {
    rejected_case::<A>(500, "Internal Server Error", "boom");
}

/// A wrong `Sec-WebSocket-Accept`: `Handshake(InvalidAccept)`.
pub fn handshake_wrong_accept<A: TestAdapter>() {
    let server = TestServer::start(Script::only(Handshake::WrongAccept));
    let (probe, _events) = Probe::<A>::new();
    assert_eq!(
        A::start(server.url(), probe, TestOptions::default()).err(),
        Some(Error::Handshake(HandshakeError::InvalidAccept))
    );
}

/// A response that never finishes: `Handshake(TimedOut)` after the handshake timeout.
pub fn handshake_times_out<A: TestAdapter>() {
    let server = TestServer::start(Script::only(Handshake::SlowHeaders));
    let (probe, _events) = Probe::<A>::new();
    let s = settings(&server.url()).handshake_timeout(SHORT);
    let t0 = Instant::now();
    assert_eq!(
        A::start(s, probe, TestOptions::default()).err(),
        Some(Error::Handshake(HandshakeError::TimedOut))
    );
    let took = t0.elapsed();
    assert!(took >= SHORT - Duration::from_millis(20) && took < T, "took {took:?}");
}

/// The server closes without answering the upgrade: `Handshake(Incomplete)`.
pub fn handshake_hangup_incomplete<A: TestAdapter>() {
    let server = TestServer::start(Script::only(Handshake::Hangup));
    let (probe, _events) = Probe::<A>::new();
    assert_eq!(
        A::start(server.url(), probe, TestOptions::default()).err(),
        Some(Error::Handshake(HandshakeError::Incomplete))
    );
}

/// Nothing listening: an I/O error (connection refused).
pub fn connection_refused<A: TestAdapter>() {
    let (probe, _events) = Probe::<A>::new();
    match A::start(refused_url(), probe, TestOptions::default()) {
        Err(Error::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused),
        other => panic!("expected Io(ConnectionRefused), got {other:?}"),
    }
}

/// Unusable URLs: `Error::Url`.
pub fn bad_url<A: TestAdapter>() {
    for (url, check) in [
        (
            "http://127.0.0.1:1/",
            (|e| matches!(e, UrlError::UnsupportedScheme(_))) as fn(&UrlError) -> bool,
        ),
        ("not a url", |e| matches!(e, UrlError::Parse(_))),
        ("ws://127.0.0.1:1/#fragment", |e| matches!(e, UrlError::Fragment)),
    ] {
        let (probe, _events) = Probe::<A>::new();
        match A::start(url, probe, TestOptions::default()) {
            Err(Error::Url(e)) => assert!(check(&e), "{url}: {e:?}"),
            other => panic!("{url}: expected Error::Url, got {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Start options

/// Async start returns before the handshake completes; the client connects afterwards.
pub fn async_start_returns_at_once<A: TestAdapter>() {
    let gate = Gate::new();
    let server = TestServer::start(Script::new(vec![Step::Echo]).handshake(Handshake::AcceptWhen(gate.clone())));
    let (probe, mut events) = Probe::<A>::new();
    let client = A::start(server.url(), probe, TestOptions::default().async_start(true)).expect("async start");
    // The server has not answered, so start cannot have waited for the connection.
    assert!(!gate.is_open());
    assert_eq!(client.status(), Status::Connecting);
    gate.open();
    assert_eq!(connected(&mut events), 1);
    eventually("status is Connected", || client.status() == Status::Connected);
    close_normally::<A>(&client, &server, &mut events);
}

/// `close()` while connecting is not silently lost: it either fails with `NotConnected`, or
/// it is honoured (the client stops instead of staying open).
pub fn close_while_connecting_not_lost<A: TestAdapter>() {
    let gate = Gate::new();
    let server = TestServer::start(Script::new(vec![Step::Echo]).handshake(Handshake::AcceptWhen(gate.clone())));
    let (probe, mut events) = Probe::<A>::new();
    let client = A::start(server.url(), probe, TestOptions::default().async_start(true)).expect("async start");
    let result = client.close();
    gate.open();
    match result {
        Ok(()) => {
            let reason = client.wait(T);
            assert!(
                reason.is_some(),
                "close() while connecting returned Ok but was dropped: the client connected and stayed open ({:?})",
                client.status()
            );
            finish::<A>(&client, &mut events);
        }
        Err(e) => {
            assert_eq!(e, SendError::NotConnected);
            connected(&mut events);
            eventually("status is Connected", || client.status() == Status::Connected);
            close_normally::<A>(&client, &server, &mut events);
        }
    }
}

/// By default a failed first connect is returned from start; the handler is untouched.
pub fn initial_failure_returned<A: TestAdapter>() {
    let (probe, mut events) = Probe::<A>::new();
    let result = A::start(refused_url(), probe, TestOptions::default());
    assert!(matches!(result, Err(Error::Io(_))), "{result:?}");
    let all = events.drain(Duration::from_millis(500));
    assert!(all.is_empty(), "no callback may run: {all:#?}");
}

/// With async start, a failed first connect terminates the client (no `handle_disconnect`).
pub fn async_start_initial_failure_terminates<A: TestAdapter>() {
    let (probe, mut events) = Probe::<A>::new();
    let client = A::start(refused_url(), probe, TestOptions::default().async_start(true)).expect("async start");
    let reason = finish::<A>(&client, &mut events);
    assert!(is_io(&reason), "{reason:?}");
    assert!(disconnects(&events).is_empty());
}

/// With `handle_initial_conn_failure`, a failed first connect goes to `handle_disconnect`,
/// which can reconnect elsewhere; start then returns the connected client.
pub fn initial_failure_handled_when_asked<A: TestAdapter>() {
    let server = TestServer::echo();
    let refused = refused_url();
    let good = settings(&server.url());
    let (probe, mut events) = Probe::<A>::new();
    let probe = probe.on_disconnect(move |s| match s.reason {
        CloseReason::Error(Error::Io(_)) => Reconnect::ReconnectWith(good.clone()),
        _ => Reconnect::Stop,
    });
    let options = TestOptions::default().handle_initial_conn_failure(true);
    let client = A::start(refused.as_str(), probe, options).expect("start after handled failure");
    assert_eq!(client.status(), Status::Connected);
    assert_eq!(connected(&mut events), 1);
    let d = disconnects(&events);
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(is_io(&d[0].0) && d[0].1 == 1 && d[0].2 == refused, "{d:?}");
    assert_eq!(server.connections(), 1);
    close_normally::<A>(&client, &server, &mut events);
}
