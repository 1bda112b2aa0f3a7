//! Data in both directions: echoes, pipelining, large and fragmented messages, bursts.

use bytes::Bytes;
use wsx_proto::{
    error::EncodeError, frame::DataKind, protocol::OpCode, CloseCode, CloseReason, Config, Error, Frame, SendError,
};

use super::{close_normally, finish, start, T};
use crate::harness::{settings, Ev, Probe, TestAdapter, TestClient, TestOptions};
use crate::server::{encode, Handshake, Script, Step, TestServer};

/// The server sends text; `handle_frame` gets it and echoes it with `Reply::Frame`.
pub fn echo_text_via_handle_frame<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::text("hello wsx ✓"), Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe.echo());
    assert_eq!(events.frame(T), Frame::text("hello wsx ✓"));
    let echoed = server.expect_frame(T);
    assert_eq!(echoed.text(), Some("hello wsx ✓"));
    assert!(echoed.masked && echoed.fin);
    close_normally::<A>(&client, &server, &mut events);
    assert!(server.errors().is_empty(), "{:?}", server.errors());
}

/// The same with binary data.
pub fn echo_binary_via_handle_frame<A: TestAdapter>() {
    let data = [0u8, 1, 2, 0x80, 0xfe, 0xff];
    let server = TestServer::start(Script::new(vec![Step::binary(&data), Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe.echo());
    assert_eq!(events.frame(T), Frame::binary(Bytes::copy_from_slice(&data)));
    let echoed = server.expect_frame(T);
    assert_eq!((echoed.opcode, &echoed.payload[..]), (OpCode::Binary, &data[..]));
    close_normally::<A>(&client, &server, &mut events);
}

/// `send_frame` writes a frame; the echo comes back through `handle_frame`.
pub fn send_frame_round_trip<A: TestAdapter>() {
    let server = TestServer::echo();
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    client.send_frame(Frame::text("round trip"), T).expect("send_frame");
    assert_eq!(server.expect_frame(T).text(), Some("round trip"));
    assert_eq!(events.frame(T), Frame::text("round trip"));
    close_normally::<A>(&client, &server, &mut events);
}

/// The pipelined `send` delivers many frames, in order.
pub fn pipelined_send_keeps_order<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    for i in 0..200 {
        client.send(Frame::text(format!("msg {i}"))).expect("send");
    }
    for i in 0..200 {
        assert_eq!(server.expect_frame(T).text(), Some(&*format!("msg {i}")));
    }
    close_normally::<A>(&client, &server, &mut events);
}

/// `send_all` and the `Sink` deliver every frame, in order, also when a small send buffer
/// makes them wait for the socket many times over.
pub fn send_all_and_sink_keep_order<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    let options = TestOptions::default().send_buffer(4096);
    let client = A::start(server.url().as_str(), probe, options).expect("connect");
    let batch = |from: usize| {
        (from..from + 300)
            .map(|i| Frame::binary(format!("frame {i:04} {}", "x".repeat(i % 90))))
            .collect::<Vec<_>>()
    };
    client.send_all(batch(0)).expect("send_all");
    client.send_via_sink(batch(300)).expect("sink");
    for (i, frame) in batch(0).into_iter().chain(batch(300)).enumerate() {
        let Frame::Binary(expected) = frame else { unreachable!() };
        assert_eq!(server.expect_frame(T).payload, expected, "frame {i}");
    }
    // The budget comes back once the session sees its bytes written, which may be just after
    // the server reads them.
    let deadline = std::time::Instant::now() + T;
    while client.buffered().queued_sends > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the budget never came back: {:?}",
            client.buffered()
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    close_normally::<A>(&client, &server, &mut events);
}

/// A 1 MiB text from the server and a 1 MiB binary echoed back arrive intact.
pub fn large_messages_intact<A: TestAdapter>() {
    let text: String = (0..1 << 20).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    let data: Vec<u8> = (0..1u32 << 20).map(|i| (i.wrapping_mul(31) % 251) as u8).collect();
    let server = TestServer::start(Script::new(vec![Step::text(&text), Step::Echo]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    assert_eq!(events.frame(T), Frame::text(text));
    client.send_frame(Frame::binary(data.clone()), T).expect("send 1 MiB");
    assert_eq!(events.frame(T), Frame::binary(data));
    close_normally::<A>(&client, &server, &mut events);
}

/// Large messages back to back (each read to its end, the next read sized for another), then
/// a pause longer than the connection keeps its emptied read buffer, then more: all intact and
/// in order, a small one after them too.
pub fn large_messages_around_a_pause_intact<A: TestAdapter>() {
    let messages: Vec<Vec<u8>> = (0..6u8).map(|n| vec![n; 100_000 + usize::from(n)]).collect();
    let mut steps: Vec<Step> = messages[..3].iter().map(|m| Step::binary(m)).collect();
    steps.push(Step::Sleep(std::time::Duration::from_millis(300)));
    steps.extend(messages[3..].iter().map(|m| Step::binary(m)));
    steps.extend([Step::text("small"), Step::Echo]);
    let server = TestServer::start(Script::new(steps));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    for message in messages {
        assert_eq!(events.frame(T), Frame::binary(message));
    }
    assert_eq!(events.frame(T), Frame::text("small"));
    close_normally::<A>(&client, &server, &mut events);
}

/// With `deliver_fragments` on, a fragmented message arrives as Fragment, Continuation,
/// Finish; a ping between fragments is answered.
pub fn fragments_delivered_when_enabled<A: TestAdapter>() {
    let server = TestServer::start(Script::new(fragment_steps()));
    let (probe, mut events) = Probe::<A>::new();
    let s = settings(&server.url()).config(Config::default().deliver_fragments(true));
    let client = A::start(s, probe, TestOptions::default()).expect("connect");
    assert_eq!(
        events.frame(T),
        Frame::Fragment(DataKind::Text, Bytes::from_static(b"Hel"))
    );
    assert_eq!(events.frame(T), Frame::Continuation(Bytes::from_static(b"lo, ")));
    assert_eq!(events.frame(T), Frame::Finish(Bytes::from_static(b"world")));
    let pong = server.expect_frame(T);
    assert_eq!((pong.opcode, &pong.payload[..]), (OpCode::Pong, &b"mid"[..]));
    close_normally::<A>(&client, &server, &mut events);
}

/// By default the same fragments arrive as one text message.
pub fn fragments_reassembled_by_default<A: TestAdapter>() {
    let server = TestServer::start(Script::new(fragment_steps()));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    assert_eq!(events.frame(T), Frame::text("Hello, world"));
    let pong = server.expect_frame(T);
    assert_eq!((pong.opcode, &pong.payload[..]), (OpCode::Pong, &b"mid"[..]));
    close_normally::<A>(&client, &server, &mut events);
    assert_eq!(events.count(|e| matches!(e, Ev::Frame(_))), 1);
}

fn fragment_steps() -> Vec<Step> {
    vec![
        Step::frame(false, OpCode::Text, b"Hel"),
        Step::ping(b"mid"),
        Step::frame(false, OpCode::Continuation, b"lo, "),
        Step::frame(true, OpCode::Continuation, b"world"),
        Step::Listen,
    ]
}

/// The client sends a message in fragments; a continuation with nothing to continue is an
/// encode error.
pub fn send_fragments<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    assert_eq!(
        client.send_frame(Frame::Continuation(Bytes::from_static(b"x")), T),
        Err(SendError::Encode(EncodeError::NoMessageInProgress))
    );
    client
        .send_frame(Frame::Fragment(DataKind::Binary, Bytes::from_static(b"ab")), T)
        .expect("fragment");
    client
        .send_frame(Frame::Continuation(Bytes::from_static(b"cd")), T)
        .expect("continuation");
    client
        .send_frame(Frame::Finish(Bytes::from_static(b"ef")), T)
        .expect("finish");
    let got: Vec<_> = (0..3)
        .map(|_| {
            let f = server.expect_frame(T);
            (f.fin, f.opcode, f.payload)
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (false, OpCode::Binary, Bytes::from_static(b"ab")),
            (false, OpCode::Continuation, Bytes::from_static(b"cd")),
            (true, OpCode::Continuation, Bytes::from_static(b"ef")),
        ]
    );
    close_normally::<A>(&client, &server, &mut events);
}

/// With `outgoing_frame_size`, a long message leaves in frames of at most that size.
pub fn outgoing_frame_size_splits<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    let s = settings(&server.url()).config(Config::default().outgoing_frame_size(Some(4)));
    let client = A::start(s, probe, TestOptions::default()).expect("connect");
    client.send_frame(Frame::text("abcdefghij"), T).expect("send");
    let got: Vec<_> = (0..3)
        .map(|_| {
            let f = server.expect_frame(T);
            (f.fin, f.opcode, f.payload)
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (false, OpCode::Text, Bytes::from_static(b"abcd")),
            (false, OpCode::Continuation, Bytes::from_static(b"efgh")),
            (true, OpCode::Continuation, Bytes::from_static(b"ij")),
        ]
    );
    close_normally::<A>(&client, &server, &mut events);
}

/// Frames that arrive in the same packet as the handshake response are delivered at once.
pub fn frames_in_handshake_packet_delivered<A: TestAdapter>() {
    let mut trailing = encode(true, OpCode::Text, b"early bird");
    trailing.extend(encode(true, OpCode::Ping, b"p"));
    let server = TestServer::start(Script::new(vec![Step::Listen]).handshake(Handshake::AcceptWithTrailing(trailing)));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    assert_eq!(events.frame(T), Frame::text("early bird"));
    let pong = server.expect_frame(T);
    assert_eq!((pong.opcode, &pong.payload[..]), (OpCode::Pong, &b"p"[..]));
    close_normally::<A>(&client, &server, &mut events);
}

/// A burst of 1000 small frames in one write all arrive, in order.
pub fn burst_of_frames_in_order<A: TestAdapter>() {
    let burst: Vec<u8> = (0..1000)
        .flat_map(|i| encode(true, OpCode::Text, format!("n{i}").as_bytes()))
        .collect();
    let server = TestServer::start(Script::new(vec![Step::SendRaw(burst), Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    for i in 0..1000 {
        assert_eq!(events.frame(T), Frame::text(format!("n{i}")));
    }
    close_normally::<A>(&client, &server, &mut events);
}

/// A message over `max_message_size` fails the connection with 1009.
pub fn message_too_big_closes_1009<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::binary(&[0u8; 2000]), Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    let s = settings(&server.url()).config(Config::default().max_message_size(1000));
    let client = A::start(s, probe, TestOptions::default()).expect("connect");
    assert_eq!(server.expect_close(T).close_code(), Some(1009));
    match finish::<A>(&client, &mut events) {
        CloseReason::Error(Error::Protocol(e)) => assert_eq!(e.close_code(), CloseCode::MESSAGE_TOO_BIG, "{e:?}"),
        other => panic!("expected a 1009 protocol error, got {other:?}"),
    }
    assert_eq!(events.count(|e| matches!(e, Ev::Frame(_))), 0);
}
