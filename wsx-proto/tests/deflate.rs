//! permessage-deflate (RFC 7692) through the connection, in memory: a scripted server that
//! compresses with flate2 on one side, no sockets.

use std::time::Instant;

use bytes::BytesMut;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use wsx_proto::protocol::CloseReason;
use wsx_proto::protocol::*;
use wsx_proto::*;

mod common;
use common::{response_with, sent_frames};

fn request() -> Request {
    Request::new(WsUrl::parse("ws://localhost:9001/").unwrap())
}

fn config(deflate: DeflateConfig) -> Config {
    Config::default().deflate(Some(deflate))
}

/// A connection whose server answered the offer with `answer` (a full extension value).
fn connect(config: Config, answer: &str) -> Connection {
    let mut conn = Connection::new(&request(), config).unwrap();
    let req = conn.poll_transmit(Instant::now()).unwrap();
    let offer = std::str::from_utf8(&req)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Extensions: "))
        .unwrap()
        .to_owned();
    assert!(offer.starts_with("permessage-deflate"), "{offer}");
    conn.receive(&response_with(&req, &format!("Sec-WebSocket-Extensions: {answer}\r\n")));
    match conn.poll_event() {
        Some(Event::Connected(response)) => assert!(response.extensions.deflate().is_some()),
        other => panic!("{other:?}"),
    }
    conn
}

/// A server frame with RSV bits.
fn frame(fin: bool, rsv: u8, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    FrameHeader {
        fin,
        rsv,
        opcode,
        mask: None,
        payload_len: payload.len() as u64,
    }
    .encode(&mut out);
    out.extend_from_slice(payload);
    out.to_vec()
}

/// The server's compressor: raw deflate, sync flush, tail removed.
fn deflate(compress: &mut Compress, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 1024);
    compress.compress_vec(data, &mut out, FlushCompress::Sync).unwrap();
    out.truncate(out.len() - 4);
    out
}

fn events(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

fn sent(conn: &mut Connection) -> Vec<(FrameHeader, Vec<u8>)> {
    sent_frames(&conn.poll_transmit(Instant::now()).unwrap_or_default())
}

fn json(i: usize) -> String {
    format!(
        "{{\"id\":{i},\"user\":\"someone\",\"tags\":[\"alpha\",\"beta\",\"gamma\"],\"text\":\"hello hello hello\"}}"
    )
}

/// The close code the client failed the connection with, and the error.
fn failed(conn: &mut Connection) -> (ProtocolError, u16) {
    let error = match events(conn).as_slice() {
        [Event::Closed(reason)] => match &**reason {
            CloseReason::Error(ConnectionError::Protocol(e)) => e.clone(),
            other => panic!("expected a protocol error, got {other:?}"),
        },
        other => panic!("expected a protocol error, got {other:?}"),
    };
    let frames = sent(conn);
    let (header, payload) = frames.last().expect("a close frame");
    assert_eq!(header.opcode, OpCode::Close);
    (error, u16::from_be_bytes([payload[0], payload[1]]))
}

#[test]
fn compressed_messages_inflate_with_context_takeover() {
    let mut conn = connect(config(DeflateConfig::default()), "permessage-deflate");
    assert_eq!(
        conn.deflate_state(),
        Some((false, false)),
        "nothing allocated before use"
    );
    let mut server = Compress::new(Compression::default(), false);
    for i in 0..3 {
        let text = json(i);
        conn.receive(&frame(
            true,
            0b100,
            OpCode::Text,
            &deflate(&mut server, text.as_bytes()),
        ));
        match events(&mut conn).as_slice() {
            [Event::Frame(Frame::Text(t))] => assert_eq!(t.as_str(), text),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(conn.deflate_state(), Some((false, true)));
}

#[test]
fn fragmented_compressed_message_is_inflated_whole_or_as_it_streams() {
    let message = json(7).repeat(40);
    for deliver_fragments in [false, true] {
        let cfg = config(DeflateConfig::default()).deliver_fragments(deliver_fragments);
        let mut conn = connect(cfg, "permessage-deflate; server_no_context_takeover");
        let mut server = Compress::new(Compression::default(), false);
        let wire = deflate(&mut server, message.as_bytes());
        let (a, rest) = wire.split_at(wire.len() / 3);
        let (b, c) = rest.split_at(rest.len() / 2);
        let mut input = frame(false, 0b100, OpCode::Binary, a);
        input.extend(frame(true, 0, OpCode::Ping, b"mid"));
        input.extend(frame(false, 0, OpCode::Continuation, b));
        input.extend(frame(true, 0, OpCode::Continuation, c));
        conn.receive(&input);
        let mut got = Vec::new();
        for event in events(&mut conn) {
            match event {
                Event::Frame(Frame::Binary(b)) => got.extend_from_slice(&b),
                Event::Frame(Frame::Fragment(DataKind::Binary, b) | Frame::Continuation(b) | Frame::Finish(b)) => {
                    assert!(deliver_fragments);
                    got.extend_from_slice(&b);
                }
                Event::Frame(Frame::Ping(p)) => assert_eq!(&p[..], b"mid"),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(got, message.as_bytes(), "deliver_fragments {deliver_fragments}");
    }
}

#[test]
fn sent_messages_are_compressed_above_the_threshold_only() {
    let mut conn = connect(config(DeflateConfig::default().threshold(32)), "permessage-deflate");
    let mut peer = Decompress::new(false);
    let long = json(1).repeat(10);
    conn.send(Frame::text(long.clone())).unwrap();
    conn.send(Frame::text("short")).unwrap();
    conn.send_uncompressed(Frame::text(long.clone())).unwrap();
    conn.send(Frame::Ping(Bytes::from_static(b"p"))).unwrap();
    let frames = sent(&mut conn);
    assert_eq!(frames.iter().map(|(h, _)| h.rsv).collect::<Vec<_>>(), [0b100, 0, 0, 0]);
    let (_, compressed) = &frames[0];
    assert!(
        compressed.len() < long.len() / 3,
        "{} of {}",
        compressed.len(),
        long.len()
    );
    let mut input = compressed.clone();
    input.extend_from_slice(&[0, 0, 0xff, 0xff]);
    let mut out = Vec::with_capacity(long.len() + 64);
    peer.decompress_vec(&input, &mut out, FlushDecompress::Sync).unwrap();
    assert_eq!(out, long.as_bytes());
    assert_eq!(frames[1].1, b"short");
    assert_eq!(frames[2].1, long.as_bytes());
    assert_eq!(conn.deflate_state(), Some((true, false)));
}

#[test]
fn split_and_fragmented_sends_set_rsv1_on_the_first_frame_only() {
    let cfg = config(DeflateConfig::default()).outgoing_frame_size(Some(8));
    let mut conn = connect(cfg, "permessage-deflate");
    let long = json(2).repeat(5);
    conn.send(Frame::text(long.clone())).unwrap();
    conn.send(Frame::Fragment(
        DataKind::Binary,
        Bytes::from(long.clone().into_bytes()),
    ))
    .unwrap();
    conn.send(Frame::Finish(Bytes::from(long.clone().into_bytes())))
        .unwrap();
    let frames = sent(&mut conn);
    let rsv: Vec<u8> = frames.iter().map(|(h, _)| h.rsv).collect();
    let firsts: Vec<usize> = frames
        .iter()
        .enumerate()
        .filter(|(_, (h, _))| h.opcode != OpCode::Continuation)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(firsts.len(), 2);
    for (i, bits) in rsv.iter().enumerate() {
        assert_eq!(*bits, if firsts.contains(&i) { 0b100 } else { 0 }, "frame {i}");
    }
    // Both messages inflate back, in order, with one context.
    let mut peer = Decompress::new(false);
    let mut messages = Vec::new();
    let mut current = Vec::new();
    for (header, payload) in frames {
        current.extend_from_slice(&payload);
        if header.fin {
            current.extend_from_slice(&[0, 0, 0xff, 0xff]);
            let mut out = Vec::with_capacity(4096);
            peer.decompress_vec(&current, &mut out, FlushDecompress::Sync).unwrap();
            messages.push(out);
            current.clear();
        }
    }
    assert_eq!(messages, [long.as_bytes().to_vec(), long.repeat(2).into_bytes()]);
}

#[test]
fn rsv1_where_it_may_not_be_is_a_protocol_error() {
    let cases = [
        frame(true, 0b100, OpCode::Ping, b"x"),
        [
            frame(false, 0, OpCode::Text, b"a"),
            frame(true, 0b100, OpCode::Continuation, b"b"),
        ]
        .concat(),
        frame(true, 0b010, OpCode::Text, b"a"),
    ];
    for input in cases {
        let mut conn = connect(config(DeflateConfig::default()), "permessage-deflate");
        conn.receive(&input);
        assert_eq!(failed(&mut conn).1, 1002);
    }
}

#[test]
fn rsv1_without_negotiation_is_a_protocol_error() {
    let mut conn = Connection::new(&request(), config(DeflateConfig::default())).unwrap();
    let req = conn.poll_transmit(Instant::now()).unwrap();
    conn.receive(&response_with(&req, ""));
    assert!(matches!(conn.poll_event(), Some(Event::Connected(r)) if r.extensions.deflate().is_none()));
    conn.receive(&frame(true, 0b100, OpCode::Text, b"a"));
    assert_eq!(failed(&mut conn), (ProtocolError::ReservedBits(0b100), 1002));
    // And nothing we send is compressed.
}

#[test]
fn a_small_message_that_inflates_past_the_limit_is_1009() {
    let cfg = config(DeflateConfig::default()).max_message_size(1 << 20);
    let mut conn = connect(cfg, "permessage-deflate");
    let mut server = Compress::new(Compression::best(), false);
    let bomb = deflate(&mut server, &vec![b'a'; 8 << 20]);
    assert!(bomb.len() < 16 << 10);
    conn.receive(&frame(true, 0b100, OpCode::Binary, &bomb));
    let (error, code) = failed(&mut conn);
    assert_eq!(code, 1009);
    assert!(
        matches!(error, ProtocolError::MessageTooLarge { limit, .. } if limit == 1 << 20),
        "{error:?}"
    );
}

#[test]
fn compressed_invalid_utf8_is_1007_and_garbage_is_1007() {
    let mut conn = connect(config(DeflateConfig::default()), "permessage-deflate");
    let mut server = Compress::new(Compression::default(), false);
    conn.receive(&frame(true, 0b100, OpCode::Text, &deflate(&mut server, b"ok \xff\xfe")));
    assert_eq!(failed(&mut conn), (ProtocolError::InvalidUtf8, 1007));
    let mut conn = connect(config(DeflateConfig::default()), "permessage-deflate");
    conn.receive(&frame(true, 0b100, OpCode::Binary, &[0xff; 32]));
    assert_eq!(failed(&mut conn), (ProtocolError::InvalidCompressedData, 1007));
}

#[test]
fn bad_answers_fail_the_handshake_with_the_parameter_named() {
    let cases = [
        (
            "permessage-deflate; mystery=1",
            DeflateParamError::UnknownParameter("mystery".into()),
        ),
        (
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
            DeflateParamError::DuplicateParameter("client_no_context_takeover".into()),
        ),
        (
            "permessage-deflate; server_max_window_bits=16",
            DeflateParamError::InvalidValue {
                param: "server_max_window_bits".into(),
                value: "16".into(),
            },
        ),
        (
            "permessage-deflate, permessage-deflate",
            DeflateParamError::DuplicateExtension,
        ),
    ];
    for (answer, expected) in cases {
        let mut conn = Connection::new(&request(), config(DeflateConfig::default())).unwrap();
        let req = conn.poll_transmit(Instant::now()).unwrap();
        conn.receive(&response_with(&req, &format!("Sec-WebSocket-Extensions: {answer}\r\n")));
        match events(&mut conn).as_slice() {
            [Event::Closed(reason)] => match &**reason {
                CloseReason::Error(ConnectionError::Handshake(HandshakeError::Deflate(e))) => {
                    assert_eq!(e, &expected, "{answer}")
                }
                other => panic!("{answer}: {other:?}"),
            },
            other => panic!("{answer}: {other:?}"),
        }
    }
}

#[test]
fn deflate_is_offered_through_config_only() {
    let mut raw = request();
    raw.extensions.push("permessage-deflate".into());
    assert_eq!(
        Connection::new(&raw, Config::default()).err(),
        Some(RequestError::RawDeflateOffer)
    );
    let bad = config(DeflateConfig::default().client_max_window_bits(Some(8)));
    assert!(matches!(
        Connection::new(&request(), bad).err(),
        Some(RequestError::InvalidDeflateConfig(_))
    ));
}

#[test]
fn window_bits_8_for_us_means_uncompressed_and_still_inflates_theirs() {
    let mut conn = connect(
        config(DeflateConfig::default()),
        "permessage-deflate; client_max_window_bits=8; server_max_window_bits=8",
    );
    conn.send(Frame::text(json(3).repeat(10))).unwrap();
    assert_eq!(sent(&mut conn)[0].0.rsv, 0);
    let mut server = Compress::new_with_window_bits(Compression::default(), false, 9);
    conn.receive(&frame(
        true,
        0b100,
        OpCode::Text,
        &deflate(&mut server, json(4).as_bytes()),
    ));
    assert!(matches!(events(&mut conn).as_slice(), [Event::Frame(Frame::Text(t))] if t.as_str() == json(4)));
}
