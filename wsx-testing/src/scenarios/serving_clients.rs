//! A wsx server against clients that misbehave, written byte by byte with `std::net`
//! ([`RawClient`]): bad requests, slow and oversized ones, unmasked frames, torn writes, a
//! client that never reads, one that floods, too many clients, and a graceful shutdown. The
//! server answers each with the right status or close code and carries on serving the others.

use std::sync::mpsc::Receiver;
use std::time::Instant;

use wsx_proto::error::ProtocolError;
use wsx_proto::protocol::OpCode;
use wsx_proto::server::ServeOptions;
use wsx_proto::{Config, Frame, SendError};

use super::*;
use crate::harness::settings;
use crate::raw_client::{client_frame, upgrade_request, RawClient};
use crate::serving::{probes, TestListener, TestServing};

fn serve<S: TestServing>(options: ServeOptions) -> (S::Listener<Probe<S>>, Receiver<Events>) {
    let (decide, connections) = probes::<S>(true);
    (S::serve(options, None, decide).expect("serve"), connections)
}

/// A wsx client of the same adapter still gets its messages echoed.
fn still_serves<S: TestServing>(server: &S::Listener<Probe<S>>) {
    let (probe, mut events) = Probe::<S>::new();
    let client = S::start(server.url().as_str(), probe, TestOptions::default()).expect("connect");
    client.send(Frame::text("still here")).expect("send");
    assert_eq!(events.frame(T), Frame::text("still here"));
    client.close().expect("close");
    finish::<S>(&client, &mut events);
}

/// Requests that are not upgrades get their HTTP status (and `Sec-WebSocket-Version: 13`
/// with the 426 for another version); the connection is closed; the server serves on.
pub fn serve_answers_bad_requests_with_their_status<S: TestServing>() {
    let (server, _connections) = serve::<S>(ServeOptions::default());
    let valid = upgrade_request("/", "");
    let cases = [
        (valid.replace("GET", "POST"), 405),
        (
            valid.replace("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8"),
            426,
        ),
        (valid.replace("Upgrade: websocket", "Upgrade: h2c"), 426),
        (valid.replace("Connection: Upgrade", "Connection: keep-alive"), 400),
        (valid.replace(crate::raw_client::KEY, "dG9vIHNob3J0"), 400),
        (valid.replace("HTTP/1.1", "HTTP/1.0"), 400),
        ("GET / HTTP/1.1\r\nHost: \u{1}\r\n\r\n".to_owned(), 400),
        ("garbage\r\n\r\n".to_owned(), 400),
    ];
    for (request, status) in cases {
        let mut client = RawClient::connect(server.addr());
        client.write(request.as_bytes());
        let answer = client.read_answer().expect("an answer");
        assert_eq!(answer.status, status, "for {request:?}: {answer:?}");
        if status == 426 && request.contains("Version: 8") {
            assert_eq!(answer.header("Sec-WebSocket-Version"), Some("13"));
        }
        assert!(client.closed_by_server(), "closed after answering {request:?}");
    }
    still_serves::<S>(&server);
}

/// A client that never finishes its request is answered 408 at the handshake timeout and
/// closed; one whose request is too large gets 431. Neither holds a connection after.
pub fn serve_limits_slow_and_large_requests<S: TestServing>() {
    let config = Config::default().handshake_timeout(SHORT).max_handshake_size(4096);
    let (server, _connections) = serve::<S>(ServeOptions::default().config(config));
    let mut slow = RawClient::connect(server.addr());
    let request = upgrade_request("/", "");
    slow.write(&request.as_bytes()[..request.len() / 2]);
    let started = Instant::now();
    let mut large = RawClient::connect(server.addr());
    large.write(upgrade_request("/", &format!("X-Filler: {}\r\n", "x".repeat(8192))).as_bytes());
    assert_eq!(large.read_answer().expect("an answer").status, 431);
    assert_eq!(slow.read_answer().expect("an answer").status, 408);
    assert!(started.elapsed() >= SHORT.mul_f32(0.9), "not before the timeout");
    assert!(slow.closed_by_server());
    still_serves::<S>(&server);
    let deadline = Instant::now() + T;
    while server.connection_count() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(server.connection_count(), 0);
}

/// An unmasked frame from a client fails its connection with 1002 and a typed error in
/// `terminate`.
pub fn serve_fails_an_unmasked_frame<S: TestServing>() {
    let (server, connections) = serve::<S>(ServeOptions::default());
    let mut client = RawClient::upgrade(server.addr());
    let mut served = connections.recv_timeout(T).expect("accepted");
    client.write(&client_frame(OpCode::Text, b"unmasked", false));
    assert_eq!(client.read_close(), Some(1002));
    assert!(client.closed_by_server());
    let reason = served.wait_for("terminate", T, |ev| match ev {
        Ev::Terminate(reason) => Some(reason.clone()),
        _ => None,
    });
    assert!(
        matches!(
            reason,
            CloseReason::Error(Error::Protocol(ProtocolError::UnmaskedFrame))
        ),
        "{reason:?}"
    );
    still_serves::<S>(&server);
}

/// The request and the frames after it, one byte per write: parsed the same.
pub fn serve_reads_torn_writes<S: TestServing>() {
    let (server, _connections) = serve::<S>(ServeOptions::default());
    let mut client = RawClient::connect(server.addr());
    let mut bytes = upgrade_request("/", "").into_bytes();
    bytes.extend(client_frame(OpCode::Text, b"torn but whole", true));
    client.write_torn(&bytes);
    let answer = client.read_answer().expect("an answer");
    assert_eq!(answer.status, 101);
    assert_eq!(client.read_frame(), Some((OpCode::Text, b"torn but whole".to_vec())));
    client.write_torn(&client_frame(OpCode::Close, &1000u16.to_be_bytes(), true));
    assert_eq!(client.read_close(), Some(1000));
    assert!(client.closed_by_server());
}

/// A client that sends much faster than it reads: the server's replies wait in its send
/// buffer, then the server stops reading (TCP pushes back) instead of buffering without
/// bound; once the client reads, every message comes back, in order.
pub fn serve_a_flooding_client_in_order<S: TestServing>() {
    let (server, _connections) = serve::<S>(ServeOptions::default().send_buffer(64 << 10));
    let client = RawClient::upgrade(server.addr());
    let mut reader = client;
    let mut writer = reader.tcp().try_clone().expect("clone the socket");
    const COUNT: usize = 20_000;
    let flood = std::thread::spawn(move || {
        use std::io::Write;
        let payload = vec![b'x'; 1000];
        for i in 0..COUNT {
            let mut frame = payload.clone();
            frame[..8].copy_from_slice(&(i as u64).to_be_bytes());
            writer
                .write_all(&client_frame(OpCode::Binary, &frame, true))
                .expect("flood");
        }
    });
    // Let the flood fill both directions before reading anything.
    std::thread::sleep(Duration::from_millis(300));
    for i in 0..COUNT {
        let (opcode, payload) = reader.read_frame().expect("an echo");
        assert_eq!(opcode, OpCode::Binary);
        assert_eq!(u64::from_be_bytes(payload[..8].try_into().unwrap()), i as u64);
    }
    flood.join().expect("the flood finished");
    still_serves::<S>(&server);
}

/// A client that never reads: what the server sends to it waits within the send buffer
/// (a `send_frame` that finds no room times out), and the server's close of it ends within
/// the close timeout; other clients are served meanwhile.
pub fn serve_a_client_that_never_reads<S: TestServing>() {
    let config = Config::default().close_timeout(SHORT);
    let options = ServeOptions::default().config(config).send_buffer(256 << 10);
    let (server, connections) = serve::<S>(options);
    let _stalled = RawClient::upgrade(server.addr());
    let mut served = connections.recv_timeout(T).expect("accepted");
    let handle = server.clients().pop().expect("one connection");
    let chunk = Frame::binary(vec![0u8; 64 << 10]);
    let mut sent = 0usize;
    let refused = loop {
        match handle.send_frame(chunk.clone(), Duration::from_millis(200)) {
            Ok(()) => sent += 1,
            Err(e) => break e,
        }
        assert!(sent < 2000, "128 MiB accepted for a client that never reads");
    };
    assert!(
        matches!(refused, SendError::Timeout | SendError::TimeoutCommitted),
        "{refused:?}"
    );
    let held = handle.buffered();
    assert!(
        held.queued_sends + held.unwritten <= (256 << 10) + (128 << 10),
        "held in memory: {held:?}"
    );
    still_serves::<S>(&server);
    handle.close().expect("close");
    let reason = served.wait_for("terminate", T, |ev| match ev {
        Ev::Terminate(reason) => Some(reason.clone()),
        _ => None,
    });
    assert!(matches!(reason, CloseReason::LocalTimedOut(_)), "{reason:?}");
}

/// At the connection cap the next client is answered 503 with `Retry-After`; when a
/// connection ends its place is free again.
pub fn serve_caps_concurrent_connections<S: TestServing>() {
    let (server, _connections) = serve::<S>(ServeOptions::default().max_connections(1));
    let (probe, mut events) = Probe::<S>::new();
    let first = S::start(server.url().as_str(), probe, TestOptions::default()).expect("connect");
    let mut refused = RawClient::connect(server.addr());
    refused.write(upgrade_request("/", "").as_bytes());
    let answer = refused.read_answer().expect("an answer");
    assert_eq!(answer.status, 503);
    assert!(answer.header("Retry-After").is_some());
    first.close().expect("close");
    finish::<S>(&first, &mut events);
    let deadline = Instant::now() + T;
    while server.connection_count() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    still_serves::<S>(&server);
}

/// A graceful shutdown closes every connection with 1001 and reports them closed; then
/// nothing listens.
pub fn serve_shutdown_closes_with_going_away<S: TestServing>() {
    let (server, _connections) = serve::<S>(ServeOptions::default());
    let addr = server.addr();
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let (probe, events) = Probe::<S>::new();
            let client = S::start(server.url().as_str(), probe, TestOptions::default()).expect("connect");
            client.send(Frame::text("hi")).expect("send");
            (client, events)
        })
        .collect();
    let deadline = Instant::now() + T;
    while server.connection_count() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let report = server.shutdown(T);
    assert_eq!((report.open, report.closed, report.aborted), (3, 3, 0), "{report:?}");
    for (client, mut events) in clients {
        assert_eq!(
            finish::<S>(&client, &mut events),
            CloseReason::Remote(coded(1001, "server shutting down"))
        );
    }
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "still listening after shutdown"
    );
}

/// `wss://`: the server's rustls configuration, a client that trusts its CA.
pub fn serve_over_tls<S: TestServing>() {
    let pki = crate::TestPki::new();
    let (decide, _connections) = probes::<S>(true);
    let server = S::serve(ServeOptions::default(), Some(pki.server_config()), decide).expect("serve");
    assert!(server.url().starts_with("wss://localhost:"));
    let (probe, mut events) = Probe::<S>::new();
    let s = settings(&server.url()).ca_certificate(pki.ca_der.clone());
    let client = S::start(s, probe, TestOptions::default()).expect("connect over TLS");
    client.send(Frame::text("secret")).expect("send");
    assert_eq!(events.frame(T), Frame::text("secret"));
    client.close().expect("close");
    assert_eq!(
        finish::<S>(&client, &mut events),
        CloseReason::Local(CloseStatus::Normal)
    );
}

/// `wss://` with client certificates required (the rustls configuration's verifier): a
/// client with one signed by the server's CA is served; one without, or with a stranger's,
/// fails its TLS handshake, and the server reports it and carries on.
pub fn serve_over_tls_requiring_client_certificates<S: TestServing>() {
    let (pki, trusted, stranger) = crate::TestPki::requiring_client_certificates();
    let (decide, _connections) = probes::<S>(true);
    let server = S::serve(ServeOptions::default(), Some(pki.server_config()), decide).expect("serve");
    let base = || settings(&server.url()).ca_certificate(pki.ca_der.clone());
    for (what, s) in [
        ("no client certificate", base()),
        (
            "a client certificate from another CA",
            base().client_certificate_pem(stranger.cert.clone(), stranger.key.clone()),
        ),
    ] {
        let (probe, _events) = Probe::<S>::new();
        match S::start(s, probe, TestOptions::default()) {
            Err(Error::Io(_)) => {}
            other => panic!("{what}: expected a TLS error, got {other:?}"),
        }
    }
    let (probe, mut events) = Probe::<S>::new();
    let s = base().client_certificate_pem(trusted.cert.clone(), trusted.key.clone());
    let client = S::start(s, probe, TestOptions::default()).expect("the trusted certificate is accepted");
    client.send(Frame::text("mutual")).expect("send");
    assert_eq!(events.frame(T), Frame::text("mutual"));
    client.close().expect("close");
    finish::<S>(&client, &mut events);
}

/// A connection the application accepted itself, upgraded with the adapter's
/// `server::accept`: served like a listener's, and closed through its handle.
pub fn serve_a_stream_the_application_accepted<S: TestServing>() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let (decide, connections) = probes::<S>(true);
    let accepting = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().expect("accept");
        S::accept(tcp, &ServeOptions::default(), decide)
    });
    let (probe, mut events) = Probe::<S>::new();
    let url = format!("ws://{addr}/own");
    let client = S::start(url.as_str(), probe, TestOptions::default()).expect("connect");
    let handle = accepting.join().expect("the accepting thread").expect("upgraded");
    let mut served = connections.recv_timeout(T).expect("accepted");
    let path = served.wait_for("handle_connect", T, |ev| match ev {
        Ev::Connected { request_path, .. } => Some(request_path.clone()),
        _ => None,
    });
    assert_eq!(path.as_deref(), Some("/own"));
    client.send(Frame::text("own stream")).expect("send");
    assert_eq!(events.frame(T), Frame::text("own stream"));
    handle.close().expect("close");
    assert_eq!(
        finish::<S>(&client, &mut events),
        CloseReason::Remote(CloseStatus::Normal)
    );
}
