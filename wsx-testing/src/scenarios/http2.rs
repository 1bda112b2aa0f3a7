//! WebSockets over HTTP/2 (RFC 8441) with a server nobody here wrote: Python's hypercorn,
//! serving an ASGI echo app over h2c and over TLS with ALPN; and what a client that asks for
//! HTTP/2 does with a server that only speaks HTTP/1.1.

use wsx_proto::error::HandshakeError;
use wsx_proto::http2::{Http2, Http2Error, HttpVersion};
use wsx_proto::{ConnectSettings, Frame};

use super::*;
use crate::interop::Hypercorn;
use crate::server::Script;

fn settings(url: &str) -> ConnectSettings {
    ConnectSettings::new(url).expect("a valid URL").no_proxy()
}

/// Which HTTP opened the connection `handle_connect` saw, and its `x-http-version` header.
pub(super) fn connected_over(events: &mut Events) -> HttpVersion {
    events.wait_for("handle_connect", T, |ev| match ev {
        Ev::Connected { http_version, .. } => Some(*http_version),
        _ => None,
    })
}

/// Echoes a text and a binary message larger than HTTP/2's initial stream window (64 KiB),
/// so both directions wait on flow control, then closes normally.
fn echo_and_close<A: TestAdapter>(client: &ClientOf<A>, events: &mut Events) {
    client.send_frame(Frame::text("over HTTP/2"), T).expect("send");
    assert_eq!(events.frame(T), Frame::text("over HTTP/2"));
    let large: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    client.send_frame(Frame::binary(large.clone()), T).expect("send");
    assert_eq!(events.frame(T), Frame::binary(large));
    client.close().expect("close");
    assert_eq!(finish::<A>(client, events), CloseReason::Local(CloseStatus::Normal));
}

/// h2c with prior knowledge (`Http2::Require` on `ws://`): hypercorn answers the extended
/// CONNECT, messages larger than a stream window echo both ways, the close handshake ends
/// the stream.
pub fn http2_h2c_with_hypercorn<A: TestAdapter>() {
    let server = Hypercorn::start(None);
    let (probe, mut events) = Probe::<A>::new();
    let client = A::start(
        settings(&server.url("/echo")).http2(Http2::Require),
        probe,
        TestOptions::default(),
    )
    .expect("connect over h2c");
    assert_eq!(connected_over(&mut events), HttpVersion::Http2);
    echo_and_close::<A>(&client, &mut events);
}

/// `wss://` with `Http2::Prefer`: hypercorn chooses h2 in ALPN and the WebSocket is an
/// HTTP/2 stream; with HTTP/2 off, the same server upgrades HTTP/1.1.
pub fn http2_tls_prefer_with_hypercorn<A: TestAdapter>() {
    let pki = crate::TestPki::new();
    let server = Hypercorn::start(Some(&pki));
    for (http2, expected) in [(Http2::Prefer, HttpVersion::Http2), (Http2::Off, HttpVersion::Http11)] {
        let (probe, mut events) = Probe::<A>::new();
        let s = settings(&server.url("/echo"))
            .ca_certificate(pki.ca_der.clone())
            .http2(http2);
        let client = A::start(s, probe, TestOptions::default()).expect("connect over TLS");
        assert_eq!(connected_over(&mut events), expected, "{http2:?}");
        echo_and_close::<A>(&client, &mut events);
    }
}

/// An app that refuses the WebSocket: the extended CONNECT's answer (403) is the error, with
/// its status, like a refused HTTP/1.1 upgrade; no callback runs.
pub fn http2_refused_connect_is_a_rejection<A: TestAdapter>() {
    let server = Hypercorn::start(None);
    let (probe, events) = Probe::<A>::new();
    let s = settings(&server.url("/refuse/me")).http2(Http2::Require);
    match A::start(s, probe, TestOptions::default()) {
        Err(Error::Handshake(HandshakeError::Rejected(rejected))) => assert_eq!(rejected.status, 403),
        other => panic!("expected the 403 as a rejection, got {other:?}"),
    }
    assert!(events.all().is_empty(), "no callback runs");
}

/// A TLS server that speaks only HTTP/1.1 (no ALPN): `Http2::Require` fails naming why;
/// `Http2::Prefer` upgrades HTTP/1.1 on the same TLS connection (the server sees one).
pub fn http2_of_an_http11_server_required_or_preferred<A: TestAdapter>() {
    let pki = crate::TestPki::new();
    let server = TestServer::start_tls(Script::echo(), &pki);
    let base = || settings(&server.url()).ca_certificate(pki.ca_der.clone());
    let (probe, events) = Probe::<A>::new();
    match A::start(base().http2(Http2::Require), probe, TestOptions::default()) {
        Err(Error::Http2(Http2Error::NotNegotiated { alpn: None })) => {}
        other => panic!("expected NotNegotiated, got {other:?}"),
    }
    assert!(events.all().is_empty(), "no callback runs");
    let (probe, mut events) = Probe::<A>::new();
    let client = A::start(base().http2(Http2::Prefer), probe, TestOptions::default()).expect("HTTP/1.1 fallback");
    assert_eq!(connected_over(&mut events), HttpVersion::Http11);
    client.send_frame(Frame::text("fallback"), T).expect("send");
    assert_eq!(events.frame(T), Frame::text("fallback"));
    close_normally::<A>(&client, &server, &mut events);
    assert_eq!(
        server.connections(),
        2,
        "the refused attempt, and one for the fallback: no second TLS connection"
    );
}
