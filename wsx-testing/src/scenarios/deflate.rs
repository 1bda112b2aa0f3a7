//! permessage-deflate (RFC 7692) against real servers that compress (Python `websockets`,
//! Node's `ws`), with context takeover on and off and small windows, and against a scripted
//! server that sends a compression bomb.

use bytes::Bytes;
use wsx_proto::http2::HttpVersion;
use wsx_proto::{close::CloseStatus, deflate::DeflateConfig, CloseCode, CloseReason, ConnectSettings, Error, Frame};

use super::{finish, ClientOf, T};
use crate::harness::{settings, Ev, Events, Probe, TestAdapter, TestClient, TestOptions};
use crate::interop::{Peer, PeerServer};
use crate::server::{compressed_frame, deflate_bomb, Handshake, Script, Step, TestServer};

/// Closes with 1000 against a server of another implementation.
fn close_normally_peer<A: TestAdapter>(client: &ClientOf<A>, events: &mut Events) {
    client.close().expect("close");
    assert_eq!(finish::<A>(client, events), CloseReason::Local(CloseStatus::Normal));
}

/// The messages sent: small and large, text and binary, repetitive and not, one fragmented.
fn messages() -> Vec<Frame> {
    let json = |i: usize| format!("{{\"id\":{i},\"kind\":\"tick\",\"values\":[1,2,3,4],\"note\":\"repeated text\"}}");
    let noise: Vec<u8> = (0..50_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut frames: Vec<Frame> = (0..20).map(|i| Frame::text(json(i).repeat(1 + i % 5))).collect();
    frames.push(Frame::text("x"));
    frames.push(Frame::Binary(Bytes::from(noise)));
    frames.push(Frame::Binary(Bytes::from(json(99).repeat(3000).into_bytes())));
    frames
}

/// Sends every message to the echo server of `to` with compression offered, checks the answer
/// accepted it with `expect_params` and that each echo equals what was sent. Returns which
/// HTTP the WebSocket was opened with.
pub(super) fn echo_compressed<A: TestAdapter>(to: ConnectSettings, expect_params: &[&str]) -> HttpVersion {
    let (probe, mut events) = Probe::<A>::new();
    let s = to.deflate(Some(DeflateConfig::default()));
    let client = A::start(s, probe, TestOptions::default()).expect("connect");
    let (extensions, http_version) = events.wait_for("handle_connect", T, |ev| match ev {
        Ev::Connected {
            extensions,
            http_version,
            ..
        } => Some((extensions.clone(), *http_version)),
        _ => None,
    });
    let extensions = extensions.expect("the server accepted an extension");
    assert!(extensions.starts_with("permessage-deflate"), "{extensions}");
    for param in expect_params {
        assert!(extensions.contains(param), "{param} missing from {extensions:?}");
    }
    let sent = messages();
    for frame in &sent {
        client.send(frame.clone()).expect("send");
    }
    let echoed: Vec<Frame> = (0..sent.len())
        .map(|_| {
            events.wait_for("an echo", T, |ev| match ev {
                Ev::Frame(f @ (Frame::Text(_) | Frame::Binary(_))) => Some(f.clone()),
                _ => None,
            })
        })
        .collect();
    assert_eq!(echoed.len(), sent.len());
    for (i, (got, want)) in echoed.iter().zip(&sent).enumerate() {
        assert!(
            got == want,
            "echo {i} differs: {} bytes, sent {}",
            got.payload_len(),
            want.payload_len()
        );
    }
    close_normally_peer::<A>(&client, &mut events);
    http_version
}

/// Python `websockets` with its default compression (context takeover both ways).
pub fn deflate_python_websockets<A: TestAdapter>() {
    let server = PeerServer::start(Peer::PythonWebsockets, &[]);
    echo_compressed::<A>(settings(&server.url()), &[]);
}

/// Python `websockets` asking for no context takeover both ways and 9-bit windows.
pub fn deflate_python_websockets_no_context_takeover_9_bits<A: TestAdapter>() {
    let server = PeerServer::start(Peer::PythonWebsockets, &["--no-context-takeover", "--window-bits", "9"]);
    echo_compressed::<A>(
        settings(&server.url()),
        &[
            "server_no_context_takeover",
            "client_no_context_takeover",
            "server_max_window_bits=9",
            "client_max_window_bits=9",
        ],
    );
}

/// Node's `ws` with perMessageDeflate (context takeover both ways).
pub fn deflate_node_ws<A: TestAdapter>() {
    let server = PeerServer::start(Peer::NodeWs, &[]);
    echo_compressed::<A>(settings(&server.url()), &[]);
}

/// Node's `ws` asking for no context takeover both ways and 10-bit windows.
pub fn deflate_node_ws_no_context_takeover_10_bits<A: TestAdapter>() {
    let server = PeerServer::start(Peer::NodeWs, &["--no-context-takeover", "--window-bits", "10"]);
    echo_compressed::<A>(
        settings(&server.url()),
        &[
            "server_no_context_takeover",
            "client_no_context_takeover",
            "server_max_window_bits=10",
            "client_max_window_bits=10",
        ],
    );
}

/// A 16 KiB message that inflates to 16 MiB, against a 1 MiB limit: close 1009 at once.
pub fn deflate_bomb_closes_1009<A: TestAdapter>() {
    let bomb = deflate_bomb(16);
    assert!(bomb.len() < 64 << 10, "{} bytes on the wire", bomb.len());
    let server = TestServer::start(
        Script::new(vec![
            Step::SendRaw(compressed_frame(wsx_proto::protocol::OpCode::Binary, &bomb)),
            Step::Listen,
        ])
        .handshake(Handshake::AcceptExtension("permessage-deflate".into())),
    );
    let (probe, mut events) = Probe::<A>::new();
    let config = wsx_proto::Config::default()
        .max_message_size(1 << 20)
        .deflate(Some(DeflateConfig::default()));
    let client = A::start(settings(&server.url()).config(config), probe, TestOptions::default()).expect("connect");
    assert_eq!(server.expect_close(T).close_code(), Some(1009));
    match finish::<A>(&client, &mut events) {
        CloseReason::Error(Error::Protocol(e)) => assert_eq!(e.close_code(), CloseCode::MESSAGE_TOO_BIG, "{e:?}"),
        other => panic!("expected a 1009 protocol error, got {other:?}"),
    }
    assert_eq!(events.count(|e| matches!(e, Ev::Frame(_))), 0);
}

/// With compression negotiated: a message at or above the threshold goes out compressed (RSV1,
/// and it inflates back), a shorter one and one sent with `send_uncompressed` go out plain, and
/// the context carries over between compressed messages (the second copy is smaller).
pub fn deflate_threshold_and_opt_out<A: TestAdapter>() {
    let server = TestServer::start(
        Script::new(vec![Step::Listen]).handshake(Handshake::AcceptExtension("permessage-deflate".into())),
    );
    let (probe, mut events) = Probe::<A>::new();
    let config = wsx_proto::Config::default().deflate(Some(DeflateConfig::default().threshold(100)));
    let client = A::start(settings(&server.url()).config(config), probe, TestOptions::default()).expect("connect");
    let long = "{\"event\":\"update\",\"items\":[1,2,3]} ".repeat(20);
    client.send(Frame::text(long.clone())).expect("send");
    client.send(Frame::text(long.clone())).expect("send");
    client.send(Frame::text("below the threshold")).expect("send");
    client.send_uncompressed(Frame::text(long.clone())).expect("send");
    let frames: Vec<_> = (0..4).map(|_| server.expect_frame(T)).collect();
    assert_eq!(frames.iter().map(|f| f.rsv).collect::<Vec<_>>(), [0b100, 0b100, 0, 0]);
    let mut inflate = flate2::Decompress::new(false);
    for frame in &frames[..2] {
        let mut input = frame.payload.to_vec();
        input.extend_from_slice(&[0, 0, 0xff, 0xff]);
        let mut out = Vec::with_capacity(long.len() + 64);
        inflate
            .decompress_vec(&input, &mut out, flate2::FlushDecompress::Sync)
            .expect("inflate");
        assert_eq!(out, long.as_bytes());
    }
    assert!(
        frames[1].payload.len() < frames[0].payload.len() / 2,
        "context takeover: {} then {} bytes",
        frames[0].payload.len(),
        frames[1].payload.len()
    );
    assert_eq!(frames[2].text(), Some("below the threshold"));
    assert_eq!(frames[3].text(), Some(long.as_str()));
    client.close().expect("close");
    assert_eq!(server.expect_close(T).close_code(), Some(1000));
    assert_eq!(
        finish::<A>(&client, &mut events),
        CloseReason::Local(CloseStatus::Normal)
    );
}
