//! WebSockets over HTTP/2 through HAProxy: its HTTP/2 frontend answers the extended CONNECT
//! (RFC 8441) and upgrades HTTP/1.1 to the server behind it, so the client's HTTP/2 meets an
//! implementation nobody here wrote, and the server sees an ordinary WebSocket.

use wsx_proto::http2::{Http2, HttpVersion};
use wsx_proto::{ConnectSettings, Frame};

use super::deflate::echo_compressed;
use super::http2::connected_over;
use super::*;
use crate::haproxy::HaProxy;
use crate::interop::{Peer, PeerServer};

fn settings(url: &str) -> ConnectSettings {
    ConnectSettings::new(url).expect("a valid URL").no_proxy()
}

/// Echoes a text message and a binary one larger than HTTP/2's initial stream window (64 KiB),
/// so both directions wait on flow control, then closes normally: the server behind HAProxy
/// gets close 1000.
fn echo_and_close<A: TestAdapter>(client: &ClientOf<A>, server: &TestServer, events: &mut Events) {
    client.send_frame(Frame::text("through haproxy"), T).expect("send");
    assert_eq!(events.frame(T), Frame::text("through haproxy"));
    let large: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    client.send_frame(Frame::binary(large.clone()), T).expect("send");
    assert_eq!(events.frame(T), Frame::binary(large));
    close_normally::<A>(client, server, events);
}

/// h2c with prior knowledge (`Http2::Require` on `ws://`) to HAProxy, which upgrades HTTP/1.1
/// to the echo server with the request's path and query.
pub fn http2_haproxy_h2c_echo_and_close<A: TestAdapter>() {
    let server = TestServer::echo();
    let haproxy = HaProxy::start(server.addr(), None);
    let (probe, mut events) = Probe::<A>::new();
    let client = A::start(
        settings(&haproxy.url("/chat?room=1")).http2(Http2::Require),
        probe,
        TestOptions::default(),
    )
    .expect("connect over h2c through haproxy");
    assert_eq!(connected_over(&mut events), HttpVersion::Http2);
    echo_and_close::<A>(&client, &server, &mut events);
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0].request_line, "GET /chat?room=1 HTTP/1.1");
    assert_eq!(requests[0].header("Upgrade"), Some("websocket"));
}

/// `wss://` with `Http2::Prefer`: HAProxy chooses h2 in ALPN and the WebSocket is an HTTP/2
/// stream; with HTTP/2 off, the same frontend upgrades HTTP/1.1. Both reach the same server.
pub fn http2_haproxy_tls_prefer<A: TestAdapter>() {
    let pki = crate::TestPki::new();
    let server = TestServer::echo();
    let haproxy = HaProxy::start(server.addr(), Some(&pki));
    for (http2, expected) in [(Http2::Prefer, HttpVersion::Http2), (Http2::Off, HttpVersion::Http11)] {
        let (probe, mut events) = Probe::<A>::new();
        let s = settings(&haproxy.url("/"))
            .ca_certificate(pki.ca_der.clone())
            .http2(http2);
        let client = A::start(s, probe, TestOptions::default()).expect("connect over TLS through haproxy");
        assert_eq!(connected_over(&mut events), expected, "{http2:?}");
        echo_and_close::<A>(&client, &server, &mut events);
    }
    assert_eq!(server.connections(), 2);
}

/// permessage-deflate over an HTTP/2 stream: HAProxy passes the offer and the answer between
/// the client and Python `websockets` behind it, and compressed messages echo, with context
/// takeover and without it (9-bit windows).
pub fn http2_haproxy_deflate_with_python_websockets<A: TestAdapter>() {
    let runs: [(&[&str], &[&str]); 2] = [
        (&[], &[]),
        (
            &["--no-context-takeover", "--window-bits", "9"],
            &[
                "server_no_context_takeover",
                "client_no_context_takeover",
                "server_max_window_bits=9",
            ],
        ),
    ];
    for (args, expect_params) in runs {
        let server = PeerServer::start(Peer::PythonWebsockets, args);
        let haproxy = HaProxy::start(server.addr(), None);
        let s = settings(&haproxy.url("/")).http2(Http2::Require);
        assert_eq!(echo_compressed::<A>(s, expect_params), HttpVersion::Http2, "{args:?}");
    }
}
