//! WebSockets as streams of shared HTTP/2 connections, through the RFC 8441 front
//! ([`H2Front`], h2's server) to the scripted HTTP/1.1 servers: sharing, GOAWAY, stream
//! resets, a dropped connection, a server without extended CONNECT, a stream that stops
//! reading beside one that flows.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use wsx_proto::error::HandshakeError;
use wsx_proto::http2::{Http2, Http2Error, Http2Pool, HttpVersion};
use wsx_proto::{ConnectSettings, Frame, Reconnect};

use super::http2::connected_over;
use super::*;
use crate::h2front::{FrontOptions, H2Front};

/// HTTP/2 required, through `front`, at `path`.
fn over(front: &H2Front, path: &str) -> ConnectSettings {
    ConnectSettings::new(&front.url(path))
        .expect("a valid URL")
        .no_proxy()
        .http2(Http2::Require)
}

fn echoes<A: TestAdapter>(client: &ClientOf<A>, events: &mut Events, text: &str) {
    client.send_frame(Frame::text(text), T).expect("send");
    assert_eq!(events.frame(T), Frame::text(text));
}

/// Clients of one origin share one connection, each its own stream; one client's close
/// leaves the others be; a pool of their own, or none, opens connections of their own; a
/// client that comes before the connection has been idle for long reuses it.
pub fn http2_clients_of_an_origin_share_one_connection<A: TestAdapter>() {
    let backend = TestServer::echo();
    let front = H2Front::start(FrontOptions::to(backend.addr()));
    let mut clients = Vec::new();
    for i in 0..5 {
        let (probe, mut events) = Probe::<A>::new();
        let client = A::start(over(&front, &format!("/c{i}")), probe, TestOptions::default()).expect("connect");
        assert_eq!(connected_over(&mut events), HttpVersion::Http2);
        clients.push((client, events));
    }
    assert_eq!(
        (front.connections(), front.streams()),
        (1, 5),
        "five streams of one connection"
    );
    let (first, mut first_events) = clients.remove(0);
    first.close().expect("close");
    assert_eq!(
        finish::<A>(&first, &mut first_events),
        CloseReason::Local(CloseStatus::Normal)
    );
    for (i, (client, events)) in clients.iter_mut().enumerate() {
        echoes::<A>(client, events, &format!("still here {i}"));
    }
    for pool in [Http2Pool::new(), Http2Pool::UNSHARED] {
        let (probe, mut events) = Probe::<A>::new();
        let client = A::start(over(&front, "/other").http2_pool(pool), probe, TestOptions::default()).expect("connect");
        echoes::<A>(&client, &mut events, "apart");
        client.close().expect("close");
        finish::<A>(&client, &mut events);
    }
    assert_eq!(
        front.connections(),
        3,
        "{:?} and UNSHARED open their own",
        "Http2Pool::new()"
    );
    for (client, mut events) in clients {
        client.close().expect("close");
        finish::<A>(&client, &mut events);
    }
    // No stream left: the connection stays for the next client a while.
    let (probe, mut events) = Probe::<A>::new();
    let client = A::start(over(&front, "/later"), probe, TestOptions::default()).expect("connect");
    echoes::<A>(&client, &mut events, "reused");
    assert_eq!(front.connections(), 3, "the idle connection is reused");
    client.close().expect("close");
    finish::<A>(&client, &mut events);
    // Then, with no stream left for the idle time, every connection closes.
    let last_stream = Instant::now();
    let deadline = last_stream + Duration::from_secs(5) + T;
    while front.open_connections() > 0 {
        assert!(Instant::now() < deadline, "idle connections stay open");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        last_stream.elapsed() >= Duration::from_millis(4_900),
        "closed after the idle time, not at once"
    );
}

/// GOAWAY: the streams already open go on; the next client opens a fresh connection.
pub fn http2_goaway_moves_new_clients_to_a_fresh_connection<A: TestAdapter>() {
    let backend = TestServer::echo();
    let front = H2Front::start(FrontOptions::to(backend.addr()));
    let (probe, mut events) = Probe::<A>::new();
    let old = A::start(over(&front, "/old"), probe, TestOptions::default()).expect("connect");
    echoes::<A>(&old, &mut events, "before");
    front.goaway();
    // The echo comes after the GOAWAY on the connection: the client has seen it.
    echoes::<A>(&old, &mut events, "after the GOAWAY");
    let (probe, mut new_events) = Probe::<A>::new();
    let new = A::start(over(&front, "/new"), probe, TestOptions::default()).expect("a new client connects");
    echoes::<A>(&new, &mut new_events, "fresh");
    assert_eq!(front.connections(), 2, "GOAWAY sent the new client to a new connection");
    echoes::<A>(&old, &mut events, "the old stream goes on");
    for (client, mut events) in [(old, events), (new, new_events)] {
        client.close().expect("close");
        assert_eq!(
            finish::<A>(&client, &mut events),
            CloseReason::Local(CloseStatus::Normal)
        );
    }
}

/// A stream the server resets (RST_STREAM) ends the client with
/// [`Http2Error::StreamReset`] and its code; `handle_disconnect` reconnects on a new stream of
/// the same connection.
pub fn http2_stream_reset_reconnects_on_a_new_stream<A: TestAdapter>() {
    let backend = TestServer::echo();
    let front = H2Front::start(FrontOptions::to(backend.addr()));
    let (probe, mut events) = Probe::<A>::new();
    let probe = probe.on_disconnect(|s| match s.reason {
        CloseReason::Error(Error::Http2(Http2Error::StreamReset { .. })) => Reconnect::Reconnect,
        _ => Reconnect::Stop,
    });
    let client = A::start(over(&front, "/reset"), probe, TestOptions::default()).expect("connect");
    echoes::<A>(&client, &mut events, "first");
    front.reset_streams(h2::Reason::CANCEL);
    assert_eq!(connected(&mut events), 2, "reconnected");
    eventually("Connected again", || client.status() == Status::Connected);
    echoes::<A>(&client, &mut events, "second");
    assert_eq!(
        (front.connections(), front.streams()),
        (1, 2),
        "a new stream, the same connection"
    );
    client.close().expect("close");
    assert_eq!(
        finish::<A>(&client, &mut events),
        CloseReason::Local(CloseStatus::Normal)
    );
    let d = disconnects(&events);
    assert_eq!(
        d[0].0,
        CloseReason::Error(Error::Http2(Http2Error::StreamReset { code: 8 })),
        "{d:?}"
    );
}

/// The connection dropped (TCP cut, no GOAWAY): the client's stream ends as a dropped
/// connection, and the reconnect opens a new connection.
pub fn http2_dropped_connection_reconnects_on_a_new_one<A: TestAdapter>() {
    let backend = TestServer::echo();
    let front = H2Front::start(FrontOptions::to(backend.addr()));
    let (probe, mut events) = Probe::<A>::new();
    let probe = probe.on_disconnect(|s| match s.attempt {
        1 if s.reason != CloseReason::Local(CloseStatus::Normal) => Reconnect::Reconnect,
        _ => Reconnect::Stop,
    });
    let client = A::start(over(&front, "/drop"), probe, TestOptions::default()).expect("connect");
    echoes::<A>(&client, &mut events, "first");
    front.abort_connections();
    assert_eq!(connected(&mut events), 2, "reconnected");
    eventually("Connected again", || client.status() == Status::Connected);
    echoes::<A>(&client, &mut events, "second");
    assert_eq!(front.connections(), 2, "a new connection");
    client.close().expect("close");
    finish::<A>(&client, &mut events);
    let d = disconnects(&events);
    assert!(
        matches!(
            d[0].0,
            CloseReason::Dropped | CloseReason::Error(Error::Http2(_) | Error::Io(_))
        ),
        "{d:?}"
    );
}

/// A server that never allows the extended CONNECT: required, the error says so; preferred
/// (over TLS, ALPN offering both), the client upgrades HTTP/1.1 instead.
pub fn http2_without_extended_connect_required_or_preferred<A: TestAdapter>() {
    let backend = TestServer::echo();
    let pki = crate::TestPki::new();
    let front = H2Front::start(
        FrontOptions::to(backend.addr())
            .tls(pki.clone())
            .alpn([&b"h2"[..], b"http/1.1"])
            .connect_protocol(false),
    );
    let settings = |http2| over(&front, "/").ca_certificate(pki.ca_der.clone()).http2(http2);
    // The second time, the origin's answer is remembered: no connection at all.
    for connections in [1, 1] {
        let (probe, events) = Probe::<A>::new();
        match A::start(settings(Http2::Require), probe, TestOptions::default()) {
            Err(Error::Http2(Http2Error::ExtendedConnectDisabled)) => {}
            other => panic!("expected ExtendedConnectDisabled, got {other:?}"),
        }
        assert!(events.all().is_empty(), "no callback runs");
        assert_eq!(front.connections(), connections);
    }
    // The first asks over HTTP/2 and then upgrades HTTP/1.1 on a second connection; the next
    // goes to HTTP/1.1 at once.
    for connections in [3, 4] {
        let (probe, mut events) = Probe::<A>::new();
        let client = A::start(settings(Http2::Prefer), probe, TestOptions::default()).expect("HTTP/1.1 instead");
        assert_eq!(connected_over(&mut events), HttpVersion::Http11);
        echoes::<A>(&client, &mut events, "upgraded");
        client.close().expect("close");
        finish::<A>(&client, &mut events);
        assert_eq!(front.connections(), connections);
    }
    assert_eq!(front.streams(), 0, "no stream was ever opened");
}

/// A refused extended CONNECT is a rejection with the status and headers it came with.
pub fn http2_refused_connect_has_its_status_and_headers<A: TestAdapter>() {
    let backend = TestServer::echo();
    let front = H2Front::start(FrontOptions::to(backend.addr()).refuse(403));
    let (probe, _events) = Probe::<A>::new();
    match A::start(over(&front, "/"), probe, TestOptions::default()) {
        Err(Error::Handshake(HandshakeError::Rejected(rejected))) => {
            assert_eq!(rejected.status, 403);
            assert!(
                rejected.headers.iter().any(|(n, v)| n == "x-refused" && v == "yes"),
                "{:?}",
                rejected.headers
            );
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// A stream the server stops reading blocks its own client's sends (flow control, then the
/// send budget: memory stays bounded) while another client on the same connection keeps
/// echoing; closing the stalled client still ends it within the close timeout.
pub fn http2_stalled_stream_beside_a_flowing_one<A: TestAdapter>() {
    const BUDGET: usize = 256 * 1024;
    const FRAME: usize = 16 * 1024;
    let backend = TestServer::echo();
    let front = H2Front::start(FrontOptions::to(backend.addr()).initial_connection_window_size(8 << 20));
    let (probe, _stalled_events) = Probe::<A>::new();
    let options = TestOptions::default().send_buffer(BUDGET);
    let stalled = A::start(over(&front, "/stall").close_timeout(SHORT), probe, options).expect("connect");
    let (probe, mut events) = Probe::<A>::new();
    let flowing = A::start(over(&front, "/flow"), probe, TestOptions::default()).expect("connect");
    assert_eq!(front.connections(), 1, "both on one connection");
    let sent = Arc::new(AtomicUsize::new(0));
    let sender = {
        let (client, sent) = (stalled.clone(), sent.clone());
        std::thread::spawn(move || loop {
            match client.send(Frame::binary(vec![7; FRAME])) {
                Ok(()) => sent.fetch_add(1, Ordering::Relaxed),
                Err(e) => return e,
            };
        })
    };
    // The stream's window (64 KiB) and the send budget fill; then sending stalls.
    let mut last = usize::MAX;
    eventually("the stalled client's sends stop", || {
        std::thread::sleep(Duration::from_millis(200));
        let now = sent.load(Ordering::Relaxed);
        std::mem::replace(&mut last, now) == now && now > 0
    });
    // As over HTTP/1.1 (backpressure.rs): the budget bounds both what waits to be encoded and
    // what waits to be written.
    let held = stalled.buffered();
    assert!(held.queued_sends <= BUDGET, "{held:?}");
    assert!(held.unwritten <= BUDGET + FRAME + 16, "{held:?}");
    for i in 0..20 {
        echoes::<A>(&flowing, &mut events, &format!("flowing {i}"));
    }
    stalled.close().expect("close");
    assert!(
        stalled.wait(T).is_some(),
        "the stalled client ends within the close timeout"
    );
    assert!(sender.join().is_ok());
    echoes::<A>(&flowing, &mut events, "still flowing");
    flowing.close().expect("close");
    assert_eq!(
        finish::<A>(&flowing, &mut events),
        CloseReason::Local(CloseStatus::Normal)
    );
}

/// Over TLS to a server that requires a client certificate: the client's certificate opens
/// the HTTP/2 connection; without one, the TLS error; no callback runs.
pub fn http2_client_certificate_over_tls<A: TestAdapter>() {
    let backend = TestServer::echo();
    let (pki, trusted, _stranger) = crate::TestPki::requiring_client_certificates();
    let front = H2Front::start(FrontOptions::to(backend.addr()).tls(pki.clone()));
    let settings = || over(&front, "/mtls").ca_certificate(pki.ca_der.clone());
    let (probe, mut events) = Probe::<A>::new();
    let client = A::start(
        settings().client_certificate_pem(trusted.cert.clone(), trusted.key.clone()),
        probe,
        TestOptions::default(),
    )
    .expect("the client certificate is accepted");
    assert_eq!(connected_over(&mut events), HttpVersion::Http2);
    echoes::<A>(&client, &mut events, "mutual");
    client.close().expect("close");
    finish::<A>(&client, &mut events);
    let (probe, events) = Probe::<A>::new();
    // With TLS 1.3 the server refuses after the client's side of the handshake is done: the
    // client learns it from the alert or, writing HTTP/2's preface first, from the broken
    // connection.
    match A::start(settings(), probe, TestOptions::default()) {
        Err(Error::Io(_)) => {}
        other => panic!("expected an I/O (TLS) error without a client certificate, got {other:?}"),
    }
    assert!(events.all().is_empty(), "no callback runs");
}

/// Through an HTTP CONNECT proxy and a SOCKS5 proxy, the tunnel carries the HTTP/2
/// connection; clients through the same proxy share it.
pub fn http2_through_proxies<A: TestAdapter>() {
    let backend = TestServer::echo();
    let front = H2Front::start(FrontOptions::to(backend.addr()));
    let http = crate::ProxyServer::http(None);
    let socks = crate::ProxyServer::socks5(None);
    for (scheme, proxy) in [("http", &http), ("socks5", &socks)] {
        let proxy =
            wsx_proto::proxy::Proxy::parse(&format!("{scheme}://127.0.0.1:{}", proxy.port())).expect("proxy URL");
        let before = front.connections();
        let mut clients = Vec::new();
        for i in 0..2 {
            let (probe, mut events) = Probe::<A>::new();
            let client = A::start(
                over(&front, "/proxied").proxy(proxy.clone()),
                probe,
                TestOptions::default(),
            )
            .expect("connect");
            assert_eq!(connected_over(&mut events), HttpVersion::Http2, "{scheme}");
            echoes::<A>(&client, &mut events, &format!("via {scheme} {i}"));
            clients.push((client, events));
        }
        assert_eq!(front.connections(), before + 1, "{scheme}: one tunnel, one connection");
        for (client, mut events) in clients {
            client.close().expect("close");
            finish::<A>(&client, &mut events);
        }
    }
}
