//! The server role, sans-IO: a client `Connection` and a server `Connection` wired to each
//! other in memory. What one sends the other reads, in both directions, with and without
//! permessage-deflate (every combination of its parameters), and the masking and closing
//! rules of each role.

use std::time::Instant;

use bytes::BytesMut;
use wsx_proto::deflate::DeflateConfig;
use wsx_proto::error::{ConnectionError, ProtocolError};
use wsx_proto::protocol::{encode_frame, CloseReason, CloseStatus, FrameHeader, OpCode, State};
use wsx_proto::server::{Accept, UpgradeRequest};
use wsx_proto::{Config, Connection, Event, Frame, Request, Role, WsUrl};

fn request() -> Request {
    Request::new(WsUrl::parse("ws://localhost/chat").unwrap())
}

/// Moves everything `from` has to send into `to`.
fn pump(from: &mut Connection, to: &mut Connection) -> usize {
    let mut moved = 0;
    while let Some(bytes) = from.poll_transmit(Instant::now()) {
        moved += bytes.len();
        to.receive(&bytes);
    }
    moved
}

fn events(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

/// A client and the server that accepted it, both open.
fn pair(client_config: Config, server_config: Config) -> (Connection, Connection) {
    let mut client = Connection::new(&request(), client_config).unwrap();
    let mut wire = BytesMut::new();
    while let Some(bytes) = client.poll_transmit(Instant::now()) {
        wire.extend_from_slice(&bytes);
    }
    let upgrade = UpgradeRequest::parse(&mut wire, 16 << 10)
        .unwrap()
        .expect("a whole request");
    assert_eq!(upgrade.path(), "/chat");
    let mut server = Connection::accept(&upgrade, &Accept::new(), server_config).unwrap();
    assert_eq!(server.role(), Role::Server);
    assert_eq!(server.state(), State::Open);
    pump(&mut server, &mut client);
    let client_events = events(&mut client);
    let server_events = events(&mut server);
    let (Some(Event::Connected(client_view)), Some(Event::Connected(server_view))) =
        (client_events.first(), server_events.first())
    else {
        panic!("both ends connect: {client_events:?} {server_events:?}");
    };
    assert_eq!(client_view.extensions, server_view.extensions, "both ends agree");
    (client, server)
}

fn frames(conn: &mut Connection) -> Vec<Frame> {
    events(conn)
        .into_iter()
        .filter_map(|event| match event {
            Event::Frame(frame) => Some(frame),
            _ => None,
        })
        .collect()
}

fn messages() -> Vec<Frame> {
    let text = "all work and no play makes jack a dull boy ".repeat(500);
    vec![
        Frame::text("hi"),
        Frame::binary(vec![0u8; 10]),
        Frame::text(text.clone()),
        Frame::binary(text.into_bytes()),
        Frame::text("after the big ones"),
    ]
}

fn exchange(client: &mut Connection, server: &mut Connection) {
    for message in messages() {
        client.send(&message).unwrap();
        pump(client, server);
        assert_eq!(frames(server), vec![message.clone()]);
        server.send(&message).unwrap();
        pump(server, client);
        assert_eq!(frames(client), vec![message]);
    }
}

#[test]
fn messages_both_ways_masked_one_way_only() {
    let (mut client, mut server) = pair(Config::default(), Config::default());
    server.send(Frame::text("unmasked")).unwrap();
    let bytes = server.poll_transmit(Instant::now()).unwrap();
    let (header, _) = FrameHeader::parse(&bytes).unwrap().unwrap();
    assert_eq!(header.mask, None, "a server does not mask");
    client.receive(&bytes);
    assert_eq!(frames(&mut client), vec![Frame::text("unmasked")]);
    client.send(Frame::text("masked")).unwrap();
    let bytes = client.poll_transmit(Instant::now()).unwrap();
    assert!(FrameHeader::parse(&bytes).unwrap().unwrap().0.mask.is_some());
    // Fed one byte at a time, the server unmasks across every split.
    for byte in bytes.iter() {
        server.receive(std::slice::from_ref(byte));
        let got = frames(&mut server);
        if !got.is_empty() {
            assert_eq!(got, vec![Frame::text("masked")]);
        }
    }
    exchange(&mut client, &mut server);
}

#[test]
fn deflate_in_every_combination_of_parameters() {
    for client_nct in [false, true] {
        for server_nct in [false, true] {
            for client_bits in [None, Some(9), Some(12)] {
                for server_bits in [None, Some(8), Some(10), Some(15)] {
                    for (server_side_nct, server_side_bits) in [(false, None), (true, Some(11))] {
                        let offer = DeflateConfig::default()
                            .client_no_context_takeover(client_nct)
                            .server_no_context_takeover(server_nct)
                            .client_max_window_bits(client_bits)
                            .server_max_window_bits(server_bits)
                            .threshold(0);
                        let answer = DeflateConfig::default()
                            .server_no_context_takeover(server_side_nct)
                            .server_max_window_bits(server_side_bits)
                            .threshold(0);
                        let (mut client, mut server) = pair(
                            Config::default().deflate(Some(offer)),
                            Config::default().deflate(Some(answer)),
                        );
                        assert!(client.deflate_state().is_some() && server.deflate_state().is_some());
                        exchange(&mut client, &mut server);
                    }
                }
            }
        }
    }
}

#[test]
fn deflate_compresses_both_ways() {
    let config = Config::default().deflate(Some(DeflateConfig::default()));
    let (mut client, mut server) = pair(config.clone(), config);
    let text = "abcdefgh".repeat(10_000);
    server.send(Frame::text(text.clone())).unwrap();
    let sent = pump(&mut server, &mut client);
    assert!(sent < 2_000, "80 KB of repeats compress: {sent} bytes");
    assert_eq!(frames(&mut client), vec![Frame::text(text.clone())]);
    client.send(Frame::text(text.clone())).unwrap();
    assert!(pump(&mut client, &mut server) < 2_000);
    assert_eq!(frames(&mut server), vec![Frame::text(text)]);
}

#[test]
fn unmasked_client_frames_fail_with_1002() {
    let (_client, mut server) = pair(Config::default(), Config::default());
    let mut frame = BytesMut::new();
    encode_frame(&mut frame, true, OpCode::Text, b"no mask", None);
    server.receive(&frame);
    let events = events(&mut server);
    let Some(Event::Closed(reason)) = events.last() else {
        panic!("the connection fails: {events:?}")
    };
    assert!(
        matches!(
            **reason,
            CloseReason::Error(ConnectionError::Protocol(ProtocolError::UnmaskedFrame))
        ),
        "{reason:?}"
    );
    let close = server.poll_transmit(Instant::now()).expect("a close frame");
    assert_eq!(&close[..], &[0x88, 0x02, 0x03, 0xea], "unmasked close 1002");
}

#[test]
fn the_server_ends_as_soon_as_the_close_handshake_is_done() {
    let (mut client, mut server) = pair(Config::default(), Config::default());
    client.close(None).unwrap();
    pump(&mut client, &mut server);
    let events = events(&mut server);
    let closed = events.iter().find_map(|e| match e {
        Event::Closed(reason) => Some(reason.clone()),
        _ => None,
    });
    let now = Instant::now();
    server.handle_timeout(now);
    let closed = closed.or_else(|| {
        server.poll_transmit(now);
        server.handle_timeout(now);
        std::iter::from_fn(|| server.poll_event()).find_map(|e| match e {
            Event::Closed(reason) => Some(reason),
            _ => None,
        })
    });
    assert_eq!(closed.map(|r| *r), Some(CloseReason::Remote(CloseStatus::Normal)));
    pump(&mut server, &mut client);
    assert_eq!(
        client.state(),
        State::Closing,
        "the client waits for the server's TCP close"
    );
}
