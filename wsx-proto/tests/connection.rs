//! The connection state machine driven in memory: a scripted server on one side, a simulated
//! clock, no sockets.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use wsx_proto::protocol::*;

mod common;
use common::{response_to, sent_frames};

fn request() -> Request {
    Request::new(WsUrl::parse("ws://localhost:9001/ws").unwrap())
}

fn server_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_frame(&mut out, fin, OpCode::from_u8(opcode).unwrap(), payload, None);
    out.to_vec()
}

fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason.as_bytes());
    p
}

fn transmit(conn: &mut Connection, now: Instant) -> Vec<(FrameHeader, Vec<u8>)> {
    sent_frames(&conn.poll_transmit(now).unwrap_or_default())
}

fn events(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

fn connect_with(config: Config, now: Instant) -> Connection {
    let mut conn = Connection::new(&request(), config).unwrap();
    let req = conn.poll_transmit(now).unwrap();
    conn.receive(&response_to(&req));
    assert!(matches!(conn.poll_event(), Some(Event::Connected(_))));
    assert_eq!(conn.state(), State::Open);
    conn
}

fn connect() -> Connection {
    connect_with(Config::default(), Instant::now())
}

/// Failing the connection (RFC 6455 7.1.7) ends it at once: the close frame with the
/// violation's code is queued, the error is the first and last event, and nothing the server
/// sends afterwards is read.
fn closed_with_error(conn: &mut Connection) -> (ProtocolError, u16) {
    let evs = events(conn);
    let error = match evs.as_slice() {
        [Event::Closed(reason)] => match &**reason {
            CloseReason::Error(ConnectionError::Protocol(e)) => e.clone(),
            other => panic!("expected a protocol error at once, got {other:?}"),
        },
        other => panic!("expected a protocol error at once, got {other:?}"),
    };
    assert_eq!(conn.state(), State::Closed);
    let frames = transmit(conn, Instant::now());
    let (header, payload) = frames.last().expect("a close frame was sent");
    assert_eq!(header.opcode, OpCode::Close);
    let code = u16::from_be_bytes([payload[0], payload[1]]);
    conn.receive(&server_frame(true, 1, b"more"));
    conn.receive_eof();
    assert!(events(conn).is_empty(), "nothing follows the end");
    (error, code)
}

#[test]
fn frames_in_the_handshake_segment_are_kept() {
    let mut conn = Connection::new(&request(), Config::default()).unwrap();
    let req = conn.poll_transmit(Instant::now()).unwrap();
    let mut bytes = response_to(&req);
    bytes.extend(server_frame(true, 1, b"first"));
    conn.receive(&bytes);
    let evs = events(&mut conn);
    assert!(matches!(evs[0], Event::Connected(_)));
    assert_eq!(evs[1], Event::Frame(Frame::text("first")));
}

/// Large frames are read one per read, to their end, and the read after one is sized for
/// another like it, so each lands whole at the start of the buffer; small frames are read in
/// 64 KiB chunks.
#[test]
fn reads_are_sized_by_the_frames() {
    const CHUNK: usize = 64 * 1024;
    let mut conn = connect();
    assert_eq!(conn.read_room(), CHUNK);

    let large = server_frame(true, 2, &vec![7; 100_000]);
    assert_eq!(large.len(), 100_010);
    conn.receive(&large[..30_000]);
    assert!(events(&mut conn).is_empty());
    assert_eq!(conn.read_room(), 70_010, "the rest of the frame in progress, exactly");
    conn.receive(&large[30_000..]);
    assert!(matches!(&events(&mut conn)[..], [Event::Frame(Frame::Binary(b))] if b.len() == 100_000));
    assert_eq!(conn.read_room(), 100_010, "room for another frame like the last");
    conn.receive(&large[..3]);
    assert!(events(&mut conn).is_empty());
    assert_eq!(conn.read_room(), 100_007);
    conn.receive(&large[3..]);
    assert_eq!(events(&mut conn).len(), 1);

    let small = server_frame(true, 2, &[1; 1000]);
    conn.receive(&small[..500]);
    assert!(events(&mut conn).is_empty());
    assert_eq!(conn.read_room(), CHUNK, "a small frame in progress: a chunk");
    conn.receive(&small[500..]);
    assert_eq!(events(&mut conn).len(), 1);
    assert_eq!(conn.read_room(), CHUNK, "after a small frame: a chunk");
}

/// A read buffer that held a large frame is kept for a moment when the connection waits, so
/// large messages that come back to back reuse it; then it is given back. After small frames
/// an empty buffer goes back at once.
#[test]
fn a_large_frame_keeps_its_buffer_warm_for_a_moment() {
    let now = Instant::now();
    let mut conn = connect_with(Config::default(), now);
    conn.receive(&server_frame(true, 2, &[3; 100]));
    assert_eq!(events(&mut conn).len(), 1);
    conn.release_read_buffer(now);
    assert_eq!(conn.read_buffer().capacity(), 0, "small frames: given back at once");
    assert_eq!(conn.poll_timeout(), None);

    conn.receive(&server_frame(true, 2, &vec![7; 100_000]));
    assert_eq!(events(&mut conn).len(), 1, "the frame is delivered and dropped");
    conn.release_read_buffer(now);
    assert!(
        conn.read_buffer().capacity() >= 100_010,
        "kept for the next large frame"
    );
    let warm_until = conn.poll_timeout().expect("a deadline to give it back");
    assert!(warm_until > now && warm_until <= now + Duration::from_secs(1));
    conn.handle_timeout(warm_until - Duration::from_millis(1));
    assert!(conn.read_buffer().capacity() >= 100_010);
    conn.handle_timeout(warm_until);
    assert_eq!(conn.read_buffer().capacity(), 0, "given back once the moment passed");
    assert_eq!(conn.poll_timeout(), None);

    // A large frame the handler still holds shares the buffer: it is not kept.
    conn.receive(&server_frame(true, 2, &vec![7; 100_000]));
    let held = events(&mut conn);
    conn.release_read_buffer(now);
    assert_eq!(conn.read_buffer().capacity(), 0);
    assert_eq!(conn.poll_timeout(), None);
    drop(held);
}

#[test]
fn rejected_handshake_is_typed() {
    let mut conn = Connection::new(&request(), Config::default()).unwrap();
    conn.poll_transmit(Instant::now());
    conn.receive(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops");
    let evs = events(&mut conn);
    let [Event::Closed(reason)] = evs.as_slice() else {
        panic!("{evs:?}")
    };
    let CloseReason::Error(ConnectionError::Handshake(HandshakeError::Rejected(r))) = &**reason else {
        panic!("{evs:?}")
    };
    assert_eq!((r.status, &r.body[..]), (500, &b"oops"[..]));
    assert_eq!(conn.state(), State::Closed);
}

#[test]
fn handshake_timeout_and_eof() {
    let t0 = Instant::now();
    let mut conn = Connection::new(&request(), Config::default().handshake_timeout(Duration::from_secs(2))).unwrap();
    assert_eq!(conn.poll_timeout(), None, "timer starts when the request leaves");
    conn.poll_transmit(t0);
    assert_eq!(conn.poll_timeout(), Some(t0 + Duration::from_secs(2)));
    conn.handle_timeout(t0 + Duration::from_secs(1));
    assert!(events(&mut conn).is_empty());
    conn.handle_timeout(t0 + Duration::from_secs(2));
    assert_eq!(
        events(&mut conn),
        [Event::Closed(Box::new(CloseReason::Error(
            HandshakeError::TimedOut.into()
        )))]
    );

    let mut conn = Connection::new(&request(), Config::default()).unwrap();
    conn.poll_transmit(t0);
    conn.receive(b"HTTP/1.1 101 Switching");
    conn.receive_eof();
    assert_eq!(
        events(&mut conn),
        [Event::Closed(Box::new(CloseReason::Error(
            HandshakeError::Incomplete.into()
        )))]
    );
}

#[test]
fn send_before_open_is_not_open() {
    let mut conn = Connection::new(&request(), Config::default()).unwrap();
    assert_eq!(conn.send(Frame::text("early")), Err(EncodeError::NotOpen));
}

#[test]
fn fragmented_message_with_interleaved_ping() {
    let mut conn = connect();
    conn.receive(&server_frame(false, 1, b"Hel"));
    conn.receive(&server_frame(true, 9, b"ping!"));
    conn.receive(&server_frame(false, 0, b"lo, "));
    conn.receive(&server_frame(true, 0, "wörld".as_bytes()));
    assert_eq!(
        events(&mut conn),
        [
            Event::Frame(Frame::Ping(Bytes::from_static(b"ping!"))),
            Event::Frame(Frame::text("Hello, wörld"))
        ]
    );
}

#[test]
fn fragments_delivered_as_they_arrive() {
    let mut conn = connect_with(Config::default().deliver_fragments(true), Instant::now());
    conn.receive(&server_frame(false, 2, b"a"));
    conn.receive(&server_frame(false, 0, b"b"));
    conn.receive(&server_frame(true, 0, b"c"));
    conn.receive(&server_frame(true, 2, b"whole"));
    assert_eq!(
        events(&mut conn),
        [
            Event::Frame(Frame::Fragment(DataKind::Binary, Bytes::from_static(b"a"))),
            Event::Frame(Frame::Continuation(Bytes::from_static(b"b"))),
            Event::Frame(Frame::Finish(Bytes::from_static(b"c"))),
            Event::Frame(Frame::Binary(Bytes::from_static(b"whole"))),
        ]
    );
}

#[test]
fn sent_frames_are_masked_and_fragmented_on_request() {
    let mut conn = connect_with(Config::default().outgoing_frame_size(Some(4)), Instant::now());
    conn.send(Frame::text("abcdefghij")).unwrap();
    conn.send(Frame::Ping(Bytes::from_static(b"p"))).unwrap();
    let frames = transmit(&mut conn, Instant::now());
    let shape: Vec<_> = frames.iter().map(|(h, p)| (h.fin, h.opcode, p.as_slice())).collect();
    assert_eq!(
        shape,
        [
            (false, OpCode::Text, &b"abcd"[..]),
            (false, OpCode::Continuation, &b"efgh"[..]),
            (true, OpCode::Continuation, &b"ij"[..]),
            (true, OpCode::Ping, &b"p"[..]),
        ]
    );
    let keys: std::collections::HashSet<_> = frames.iter().map(|(h, _)| h.mask).collect();
    assert_eq!(keys.len(), 4, "a fresh key per frame");
}

#[test]
fn user_fragments_follow_the_rules() {
    let mut conn = connect();
    assert_eq!(
        conn.send(Frame::Continuation(Bytes::new())),
        Err(EncodeError::NoMessageInProgress)
    );
    conn.send(Frame::Fragment(DataKind::Text, Bytes::from_static(b"ab")))
        .unwrap();
    assert_eq!(conn.send(Frame::text("x")), Err(EncodeError::MessageInProgress));
    conn.send(Frame::Ping(Bytes::new())).unwrap();
    conn.send(Frame::Continuation(Bytes::from_static(b"c"))).unwrap();
    conn.send(Frame::Finish(Bytes::from_static(b"d"))).unwrap();
    conn.send(Frame::text("next")).unwrap();
    let ops: Vec<_> = transmit(&mut conn, Instant::now())
        .iter()
        .map(|(h, _)| (h.opcode, h.fin))
        .collect();
    assert_eq!(
        ops,
        [
            (OpCode::Text, false),
            (OpCode::Ping, true),
            (OpCode::Continuation, false),
            (OpCode::Continuation, true),
            (OpCode::Text, true)
        ]
    );
}

#[test]
fn invalid_outgoing_frames_are_refused_and_not_sent() {
    let mut conn = connect();
    assert_eq!(
        conn.send(Frame::Ping(Bytes::from(vec![0; 126]))),
        Err(EncodeError::ControlPayloadTooLarge(126))
    );
    assert_eq!(
        conn.close(Some(CloseFrame::new(CloseCode(1005), ""))),
        Err(EncodeError::InvalidCloseCode(1005))
    );
    assert_eq!(
        conn.send(Frame::Close(Some(CloseFrame::new(CloseCode::NORMAL, "x".repeat(124))))),
        Err(EncodeError::CloseReasonTooLong(124))
    );
    assert!(!conn.wants_write());
    assert_eq!(conn.state(), State::Open);
}

#[test]
fn remote_close_is_echoed_and_reported() {
    let mut conn = connect();
    conn.receive(&server_frame(true, 8, &close_payload(4001, "maintenance")));
    conn.receive(&server_frame(true, 1, b"after close"));
    let close = CloseFrame::new(CloseCode(4001), "maintenance");
    assert_eq!(
        events(&mut conn),
        [Event::Frame(Frame::Close(Some(close)))],
        "the close frame is reported; data after it is not delivered"
    );
    assert_eq!(conn.state(), State::Closing);
    let frames = transmit(&mut conn, Instant::now());
    assert_eq!(frames, [(frames[0].0, close_payload(4001, ""))]);
    assert_eq!(conn.send(Frame::text("late")), Err(EncodeError::NotOpen));
    conn.receive_eof();
    assert_eq!(
        events(&mut conn),
        [Event::Closed(Box::new(CloseReason::Remote(CloseStatus::Coded(
            CloseFrame::new(CloseCode(4001), "maintenance")
        ))))]
    );
}

#[test]
fn remote_close_without_code_is_normal() {
    let mut conn = connect();
    conn.receive(&server_frame(true, 8, b""));
    assert_eq!(events(&mut conn), [Event::Frame(Frame::Close(None))]);
    let frames = transmit(&mut conn, Instant::now());
    assert_eq!(frames[0].1, b"");
    conn.receive_eof();
    assert_eq!(
        events(&mut conn),
        [Event::Closed(Box::new(CloseReason::Remote(CloseStatus::Normal)))]
    );
}

#[test]
fn local_close_completed_by_server() {
    let t0 = Instant::now();
    let mut conn = connect_with(Config::default(), t0);
    conn.close(Some(CloseFrame::new(CloseCode::GOING_AWAY, "bye"))).unwrap();
    let frames = transmit(&mut conn, t0);
    assert_eq!(frames[0].1, close_payload(1001, "bye"));
    assert_eq!(conn.poll_timeout(), Some(t0 + Duration::from_secs(5)));
    conn.receive(&server_frame(true, 2, b"in flight"));
    conn.receive(&server_frame(true, 8, &close_payload(1001, "")));
    assert_eq!(
        events(&mut conn),
        [
            Event::Frame(Frame::Binary(Bytes::from_static(b"in flight"))),
            Event::Frame(Frame::Close(Some(CloseFrame::new(CloseCode::GOING_AWAY, ""))))
        ]
    );
    conn.receive_eof();
    let reason = CloseReason::Local(CloseStatus::Coded(CloseFrame::new(CloseCode::GOING_AWAY, "bye")));
    assert_eq!(events(&mut conn), [Event::Closed(Box::new(reason))]);
}

#[test]
fn local_close_forced_after_timeout() {
    let t0 = Instant::now();
    let mut conn = connect_with(Config::default().close_timeout(Duration::from_millis(300)), t0);
    conn.close(None).unwrap();
    transmit(&mut conn, t0);
    conn.handle_timeout(t0 + Duration::from_millis(299));
    assert_eq!(conn.state(), State::Closing);
    conn.handle_timeout(t0 + Duration::from_millis(300));
    assert_eq!(
        events(&mut conn),
        [Event::Closed(Box::new(CloseReason::LocalTimedOut(CloseStatus::Normal)))]
    );
    assert_eq!(conn.state(), State::Closed);
}

#[test]
fn abrupt_drop_is_reported() {
    let mut conn = connect();
    conn.receive(&server_frame(true, 2, b"0123456789")[..5]);
    conn.receive_eof();
    assert_eq!(events(&mut conn), [Event::Closed(Box::new(CloseReason::Dropped))]);
}

#[test]
fn protocol_violations_close_with_their_code() {
    let cases: Vec<(Vec<u8>, ProtocolError, u16)> = vec![
        (vec![0xC1, 0x00], ProtocolError::ReservedBits(0b100), 1002),
        (vec![0x83, 0x00], ProtocolError::ReservedOpcode(3), 1002),
        (vec![0x81, 0x81, 1, 2, 3, 4, b'a'], ProtocolError::MaskedFrame, 1002),
        (vec![0x09, 0x00], ProtocolError::FragmentedControlFrame, 1002),
        (server_frame(true, 0, b"x"), ProtocolError::UnexpectedContinuation, 1002),
        (
            [server_frame(false, 1, b"a"), server_frame(true, 1, b"b")].concat(),
            ProtocolError::ExpectedContinuation,
            1002,
        ),
        (server_frame(true, 8, &[3]), ProtocolError::InvalidClosePayload, 1002),
        (
            server_frame(true, 8, &close_payload(999, "")),
            ProtocolError::InvalidCloseCode(999),
            1002,
        ),
        (
            server_frame(true, 8, &close_payload(1016, "")),
            ProtocolError::InvalidCloseCode(1016),
            1002,
        ),
        (
            server_frame(true, 8, &[0x03, 0xe8, 0xff]),
            ProtocolError::InvalidUtf8,
            1007,
        ),
        (server_frame(true, 1, &[0xff]), ProtocolError::InvalidUtf8, 1007),
    ];
    for (bytes, error, code) in cases {
        let mut conn = connect();
        conn.receive(&bytes);
        assert_eq!(closed_with_error(&mut conn), (error.clone(), code), "{error:?}");
    }
}

#[test]
fn limits_close_with_1009() {
    let mut conn = connect_with(Config::default().max_frame_size(100), Instant::now());
    conn.receive(&server_frame(true, 2, &[0; 101])[..4]);
    assert_eq!(
        closed_with_error(&mut conn),
        (ProtocolError::FrameTooLarge { size: 101, limit: 100 }, 1009)
    );

    let mut conn = connect_with(Config::default().max_message_size(100), Instant::now());
    conn.receive(&server_frame(false, 2, &[0; 60]));
    conn.receive(&server_frame(true, 0, &[0; 60])[..2]);
    assert_eq!(
        closed_with_error(&mut conn),
        (ProtocolError::MessageTooLarge { size: 120, limit: 100 }, 1009)
    );
}

#[test]
fn invalid_utf8_fails_before_the_frame_is_complete() {
    let mut conn = connect();
    let mut frame = server_frame(
        true,
        1,
        &[b"valid text then ".as_slice(), &[0xf4, 0x90, 0x80, 0x80], &[b'x'; 100]].concat(),
    );
    frame.truncate(2 + 20);
    conn.receive(&frame);
    assert_eq!(closed_with_error(&mut conn), (ProtocolError::InvalidUtf8, 1007));

    // Same for a fragment boundary: the first fragment already holds an impossible byte.
    let mut conn = connect();
    conn.receive(&server_frame(false, 1, &[b'a', 0xc0]));
    assert_eq!(closed_with_error(&mut conn), (ProtocolError::InvalidUtf8, 1007));
}

#[test]
fn code_point_split_between_fragments_is_fine() {
    let mut conn = connect();
    let euro = "€".as_bytes();
    conn.receive(&server_frame(false, 1, &euro[..1]));
    conn.receive(&server_frame(false, 0, &euro[1..2]));
    conn.receive(&server_frame(true, 0, &euro[2..]));
    assert_eq!(events(&mut conn), [Event::Frame(Frame::text("€"))]);
}

#[test]
fn message_ending_mid_code_point_is_1007() {
    let mut conn = connect();
    conn.receive(&server_frame(false, 1, b"ok"));
    conn.receive(&server_frame(true, 0, &"€".as_bytes()[..2]));
    assert_eq!(closed_with_error(&mut conn), (ProtocolError::InvalidUtf8, 1007));
}

#[test]
fn failing_an_open_connection_sends_1011() {
    let mut conn = connect();
    conn.fail(ConnectionError::Failed(CloseCode::INTERNAL_ERROR));
    let frames = transmit(&mut conn, Instant::now());
    assert_eq!(frames[0].1, close_payload(1011, ""));
    conn.receive_eof();
    assert!(matches!(
        events(&mut conn).as_slice(),
        [Event::Closed(reason)] if matches!(**reason, CloseReason::Error(ConnectionError::Failed(CloseCode::INTERNAL_ERROR)))
    ));
}

#[test]
fn large_payload_lengths_round_trip() {
    for len in [0usize, 125, 126, 65535, 65536, 1 << 20] {
        let mut conn = connect();
        let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
        conn.receive(&server_frame(true, 2, &payload));
        assert_eq!(
            events(&mut conn),
            [Event::Frame(Frame::Binary(payload.clone().into()))],
            "len {len}"
        );
        conn.send(Frame::binary(payload.clone())).unwrap();
        assert_eq!(transmit(&mut conn, Instant::now())[0].1, payload);
    }
}

/// A server stream mixing everything a healthy server may send.
fn script() -> Vec<u8> {
    [
        server_frame(true, 1, "héllo".as_bytes()),
        server_frame(false, 1, "frag".as_bytes()),
        server_frame(true, 9, b"p"),
        server_frame(false, 0, "ment€".as_bytes()),
        server_frame(true, 0, b"ed"),
        server_frame(true, 2, &[7; 300]),
        server_frame(true, 10, b""),
        server_frame(true, 2, &[1; 70_000]),
        server_frame(true, 8, &close_payload(1000, "done")),
    ]
    .concat()
}

fn events_for_split(bytes: &[u8], cuts: &[usize]) -> Vec<Event> {
    let mut conn = connect();
    let mut out = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&bytes.len())) {
        let cut = cut.clamp(start, bytes.len());
        conn.receive(&bytes[start..cut]);
        out.extend(events(&mut conn));
        start = cut;
    }
    conn.receive_eof();
    out.extend(events(&mut conn));
    out
}

proptest! {
    #[test]
    fn any_split_gives_the_same_events(cuts in proptest::collection::vec(0usize..71_000, 0..12)) {
        let bytes = script();
        let mut cuts = cuts;
        cuts.sort_unstable();
        let whole = events_for_split(&bytes, &[]);
        prop_assert_eq!(whole.len(), 8);
        prop_assert_eq!(events_for_split(&bytes, &cuts), whole);
    }

    #[test]
    fn any_frame_encodes_and_parses_back(fin in any::<bool>(), opcode in prop::sample::select(vec![0u8, 1, 2, 8, 9, 10]),
                                         payload in proptest::collection::vec(any::<u8>(), 0..70_000), key in any::<[u8; 4]>()) {
        let opcode = OpCode::from_u8(opcode).unwrap();
        let payload = if opcode.is_control() { payload[..payload.len().min(125)].to_vec() } else { payload };
        let fin = fin || opcode.is_control();
        let mut out = BytesMut::new();
        encode_frame(&mut out, fin, opcode, &payload, Some(key));
        let (header, len) = FrameHeader::parse(&out).unwrap().unwrap();
        prop_assert_eq!((header.fin, header.opcode, header.mask, header.payload_len), (fin, opcode, Some(key), payload.len() as u64));
        let mut body = out[len..].to_vec();
        apply_mask(&mut body, key);
        prop_assert_eq!(body, payload);
    }
}

/// End-of-file right behind the bytes that come with it (the server's close frame and its FIN,
/// or a refusal and its FIN, in one read): those bytes count first.
#[test]
fn eof_after_buffered_bytes_processes_them_first() {
    let mut conn = connect();
    conn.close(None).unwrap();
    transmit(&mut conn, Instant::now());
    conn.receive(&server_frame(true, 8, &close_payload(1000, "")));
    conn.receive_eof();
    assert_eq!(
        events(&mut conn),
        [
            Event::Frame(Frame::Close(Some(CloseFrame::new(CloseCode::NORMAL, "")))),
            Event::Closed(Box::new(CloseReason::Local(CloseStatus::Normal)))
        ]
    );

    let mut refused = Connection::new(&request(), Config::default()).unwrap();
    refused.poll_transmit(Instant::now());
    refused.receive(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    refused.receive_eof();
    let evs = events(&mut refused);
    assert!(
        matches!(evs.as_slice(), [Event::Closed(reason)]
            if matches!(&**reason, CloseReason::Error(ConnectionError::Handshake(HandshakeError::Rejected(r))) if r.status == 404)),
        "{evs:?}"
    );
}

#[test]
fn a_frame_taken_back_leaves_the_others_in_order() {
    let mut conn = connect();
    let start = conn.queued_bytes();
    conn.send(Frame::text("one")).unwrap();
    let middle = conn.queued_bytes();
    conn.send(Frame::text("two")).unwrap();
    assert!(conn.last_send_revocable(), "a whole uncompressed message");
    let end = conn.queued_bytes();
    conn.send(Frame::text("three")).unwrap();
    assert!(conn.take_back(middle, end), "the middle frame, none of it written");
    assert_eq!(conn.queued_bytes(), start + conn.unwritten_bytes() as u64);
    let texts: Vec<_> = transmit(&mut conn, Instant::now())
        .into_iter()
        .map(|(_, payload)| String::from_utf8(payload).unwrap())
        .collect();
    assert_eq!(texts, ["one", "three"]);
    // Once any of a frame is written, it cannot be taken back.
    let start = conn.queued_bytes();
    conn.send(Frame::text("four")).unwrap();
    let end = conn.queued_bytes();
    let pending = conn.pending_transmit(Instant::now()).len();
    conn.consume_transmit(pending - 1);
    assert!(!conn.take_back(start, end));
    assert!(!conn.take_back(end, end + 1), "beyond what is queued");
}

#[test]
fn fragments_are_not_revocable() {
    let mut conn = connect();
    conn.send(Frame::Fragment(DataKind::Text, Bytes::from_static(b"a")))
        .unwrap();
    assert!(!conn.last_send_revocable());
    conn.send(Frame::Finish(Bytes::from_static(b"b"))).unwrap();
    assert!(!conn.last_send_revocable());
    conn.send(Frame::Ping(Bytes::from_static(b"p"))).unwrap();
    assert!(conn.last_send_revocable(), "control frames can always be left out");
}
