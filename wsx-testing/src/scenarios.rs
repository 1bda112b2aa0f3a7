//! The behaviour scenarios, generic over the adapter. [`behaviour_suite!`](crate::behaviour_suite)
//! turns each into a `#[test]`.
//!
//! Every scenario starts its own [`TestServer`], drives a [`Probe`] handler through the
//! adapter's blocking test API, and checks what both ends saw. Waits are bounded by generous
//! timeouts ([`T`]); protocol timeouts are set short (300 ms) so the suite stays fast.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use wsx_proto::{
    CloseCode, CloseFrame, CloseReason, CloseStatus, Config, DataKind, EncodeError, Error, Frame, HandshakeError,
    OpCode, ProtocolError, Reconnect, Reply, RequestError, SendError, StatsSnapshot, Status, UrlError,
};

use crate::harness::{settings, Cmd, Ev, Events, Probe, TelemetryLog, TestAdapter, TestClient, TestOptions};
use crate::server::{encode, refused_url, Gate, Handshake, Script, Step, TestServer};

/// The generous bound on every wait.
pub const T: Duration = Duration::from_secs(5);
/// The short protocol timeout used for handshake and close timeout scenarios.
pub const SHORT: Duration = Duration::from_millis(300);

type ClientOf<A> = <A as TestAdapter>::Client<Probe<A>>;

fn start<A: TestAdapter>(url: &str, probe: Probe<A>) -> ClientOf<A> {
    A::start(url, probe, TestOptions::default()).expect("the client should connect")
}

fn coded(code: u16, reason: &str) -> CloseStatus {
    CloseStatus::Coded(CloseFrame::new(CloseCode(code), reason))
}

/// Waits for the final reason, and checks that `terminate` ran exactly once, last, with it,
/// and that the status says so.
fn finish<A: TestAdapter>(client: &ClientOf<A>, events: &mut Events) -> CloseReason {
    let reason = client.wait(T).expect("the client should stop");
    let terminated = events.wait_for("terminate", T, |ev| match ev {
        Ev::Terminate(r) => Some(r.clone()),
        _ => None,
    });
    assert_eq!(terminated, reason, "terminate's reason differs from wait()'s");
    let all = events.drain(Duration::from_millis(500));
    assert_eq!(
        all.iter().filter(|e| matches!(e, Ev::Terminate(_))).count(),
        1,
        "terminate must run exactly once: {all:#?}"
    );
    assert!(
        matches!(all.last(), Some(Ev::Terminate(_))),
        "terminate must be the last callback: {all:#?}"
    );
    assert_eq!(client.status(), Status::Terminated(reason.clone()));
    reason
}

/// Closes with 1000 from the client; checks the server saw 1000 and the reason is local normal.
fn close_normally<A: TestAdapter>(client: &ClientOf<A>, server: &TestServer, events: &mut Events) {
    client.close().expect("close");
    let close = server.expect_close(T);
    assert_eq!(close.close_code(), Some(1000));
    assert_eq!(finish::<A>(client, events), CloseReason::Local(CloseStatus::Normal));
}

/// Polls `cond` until true or `T` passes.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + T;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn disconnects(events: &Events) -> Vec<(CloseReason, u32, String)> {
    events
        .all()
        .iter()
        .filter_map(|e| match e {
            Ev::Disconnect { reason, attempt, url } => Some((reason.clone(), *attempt, url.clone())),
            _ => None,
        })
        .collect()
}

fn connected(events: &mut Events) -> u32 {
    events.wait_for("handle_connect", T, |ev| match ev {
        Ev::Connected { count, .. } => Some(*count),
        _ => None,
    })
}

fn is_io(reason: &CloseReason) -> bool {
    matches!(reason, CloseReason::Error(Error::Io(_)))
}

// ---------------------------------------------------------------------------------------------
// Messages

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

// ---------------------------------------------------------------------------------------------
// Connect, headers, subprotocols

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
    assert_eq!(
        ev,
        Ev::Connected {
            count: 1,
            subprotocol: Some("v2".into()),
            server_header: Some("wsx-testing".into()),
            ctx_has_response: true,
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
// Casts, infos, pings, pongs

/// `handle_cast` runs and its `Reply::Frame` is sent.
pub fn cast_reply_frame<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    client
        .cast(Cmd::Reply(Reply::Frame(Frame::text("from cast"))))
        .expect("cast");
    assert_eq!(server.expect_frame(T).text(), Some("from cast"));
    assert_eq!(events.count(|e| *e == Ev::Cast), 1);
    close_normally::<A>(&client, &server, &mut events);
}

/// With async start, a cast sent while connecting is delivered once connected, exactly once.
pub fn cast_before_connect_delivered<A: TestAdapter>() {
    let gate = Gate::new();
    let server = TestServer::start(Script::new(vec![Step::Listen]).handshake(Handshake::AcceptWhen(gate.clone())));
    let (probe, mut events) = Probe::<A>::new();
    let client = A::start(server.url(), probe, TestOptions::default().async_start(true)).expect("async start");
    client
        .cast(Cmd::Reply(Reply::Frame(Frame::text("early"))))
        .expect("cast while connecting");
    assert_eq!(client.status(), Status::Connecting);
    gate.open();
    assert_eq!(server.expect_frame(T).text(), Some("early"));
    client
        .cast(Cmd::Reply(Reply::Frame(Frame::text("second"))))
        .expect("cast");
    assert_eq!(
        server.expect_frame(T).text(),
        Some("second"),
        "the early cast ran twice"
    );
    assert_eq!(connected(&mut events), 1);
    close_normally::<A>(&client, &server, &mut events);
}

/// A callback can cast to its own client; the message is handled after the callback returns.
pub fn cast_from_callback_delivered<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    let inner = Cmd::Reply(Reply::Frame(Frame::text("relayed")));
    client.cast(Cmd::CastToSelf(Box::new(inner))).expect("cast");
    let result = events.wait_for("the callback's cast result", T, |e| match e {
        Ev::SendResult(r) => Some(r.clone()),
        _ => None,
    });
    assert_eq!(result, Ok(()));
    assert_eq!(server.expect_frame(T).text(), Some("relayed"));
    close_normally::<A>(&client, &server, &mut events);
}

/// `ctx.send_after` delivers to `handle_info` after the delay, and its reply is sent.
pub fn handle_info_via_send_after<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    let t0 = Instant::now();
    client
        .cast(Cmd::SendAfter(Duration::from_millis(100), 7))
        .expect("cast");
    events.wait_for("handle_info(7)", T, |ev| (*ev == Ev::Info(7)).then_some(()));
    assert!(t0.elapsed() >= Duration::from_millis(100), "handle_info ran early");
    assert_eq!(server.expect_frame(T).text(), Some("info 7"));
    close_normally::<A>(&client, &server, &mut events);
}

/// The default `handle_ping` answers each ping with a pong carrying the same payload.
pub fn default_ping_replies_pong<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![
        Step::ping(b"are you there?"),
        Step::ping(b""),
        Step::Listen,
    ]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    for payload in [&b"are you there?"[..], b""] {
        let pong = server.expect_frame(T);
        assert_eq!((pong.opcode, &pong.payload[..]), (OpCode::Pong, payload));
    }
    close_normally::<A>(&client, &server, &mut events);
}

/// `handle_pong` receives unsolicited pongs.
pub fn handle_pong_called<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::pong(b"unsolicited"), Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    let payload = events.wait_for("handle_pong", T, |ev| match ev {
        Ev::Pong(p) => Some(p.clone()),
        _ => None,
    });
    assert_eq!(&payload[..], b"unsolicited");
    close_normally::<A>(&client, &server, &mut events);
}

// ---------------------------------------------------------------------------------------------
// Replies

/// `Reply::Continue` sends nothing.
pub fn reply_continue_sends_nothing<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    client.cast(Cmd::Reply(Reply::Continue)).expect("cast");
    client
        .cast(Cmd::Reply(Reply::Frame(Frame::text("after continue"))))
        .expect("cast");
    assert_eq!(server.expect_frame(T).text(), Some("after continue"));
    assert_eq!(events.count(|e| *e == Ev::Cast), 2);
    close_normally::<A>(&client, &server, &mut events);
}

/// `Reply::Close` closes with 1000: local normal.
pub fn reply_close<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    client.cast(Cmd::Reply(Reply::Close)).expect("cast");
    let close = server.expect_close(T);
    assert_eq!((close.close_code(), close.close_reason()), (Some(1000), String::new()));
    assert_eq!(
        finish::<A>(&client, &mut events),
        CloseReason::Local(CloseStatus::Normal)
    );
}

/// `Reply::CloseWith(4001, "bye")` closes with that code and reason.
pub fn reply_close_with_code<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    client
        .cast(Cmd::Reply(Reply::CloseWith(CloseCode(4001), "bye".into())))
        .expect("cast");
    let close = server.expect_close(T);
    assert_eq!((close.close_code(), close.close_reason()), (Some(4001), "bye".into()));
    assert_eq!(
        finish::<A>(&client, &mut events),
        CloseReason::Local(coded(4001, "bye"))
    );
}

/// `Reply::CloseWith` with a code that may not be sent (1005) fails the connection with
/// `InvalidReply`; the server is told 1011.
pub fn reply_close_with_invalid_code<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    client
        .cast(Cmd::Reply(Reply::CloseWith(CloseCode(1005), String::new())))
        .expect("cast");
    assert_eq!(server.expect_close(T).close_code(), Some(1011));
    assert_eq!(
        finish::<A>(&client, &mut events),
        CloseReason::Error(Error::InvalidReply(EncodeError::InvalidCloseCode(1005)))
    );
}

/// The client handle's `close_with` sends the code and reason; an invalid code is refused.
pub fn client_close_with<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::Echo]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    assert_eq!(
        client.close_with(CloseCode(1005), "nope"),
        Err(SendError::Encode(EncodeError::InvalidCloseCode(1005)))
    );
    client.send_frame(Frame::text("still open"), T).expect("still open");
    assert_eq!(events.frame(T), Frame::text("still open"));
    client.close_with(CloseCode(4002), "done").expect("close_with");
    let close = server.expect_close(T);
    assert_eq!((close.close_code(), close.close_reason()), (Some(4002), "done".into()));
    assert_eq!(
        finish::<A>(&client, &mut events),
        CloseReason::Local(coded(4002, "done"))
    );
}

// ---------------------------------------------------------------------------------------------
// Close reasons

/// The server closes with 1000 and no reason: remote normal; the client echoes 1000.
pub fn remote_close_normal<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::close(1000, ""), Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    assert_eq!(server.expect_close(T).close_code(), Some(1000));
    assert_eq!(
        finish::<A>(&client, &mut events),
        CloseReason::Remote(CloseStatus::Normal)
    );
}

/// The server closes with an empty close payload: remote normal; the client's close has no code.
pub fn remote_close_without_code<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::Close(None), Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    let close = server.expect_close(T);
    assert!(close.payload.is_empty(), "expected an empty close, got {close:?}");
    assert_eq!(
        finish::<A>(&client, &mut events),
        CloseReason::Remote(CloseStatus::Normal)
    );
}

/// The server closes with 4000 and a message: both reach the reason; the code is echoed.
pub fn remote_close_with_code<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::close(4000, "server bye"), Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    assert_eq!(server.expect_close(T).close_code(), Some(4000));
    assert_eq!(
        finish::<A>(&client, &mut events),
        CloseReason::Remote(coded(4000, "server bye"))
    );
}

/// The server drops TCP in the middle of a frame: `Dropped`.
pub fn dropped_mid_frame<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::DropMidFrame]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    assert_eq!(finish::<A>(&client, &mut events), CloseReason::Dropped);
    assert_eq!(events.count(|e| matches!(e, Ev::Frame(_))), 0);
}

/// The server never answers the close: after `close_timeout` the client closes by force
/// with `LocalTimedOut`.
pub fn local_close_times_out<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::IgnoreClose]));
    let (probe, mut events) = Probe::<A>::new();
    let s = settings(&server.url()).close_timeout(SHORT);
    let client = A::start(s, probe, TestOptions::default()).expect("connect");
    let t0 = Instant::now();
    client.close().expect("close");
    assert_eq!(server.expect_close(T).close_code(), Some(1000));
    assert_eq!(
        finish::<A>(&client, &mut events),
        CloseReason::LocalTimedOut(CloseStatus::Normal)
    );
    assert!(
        t0.elapsed() >= SHORT - Duration::from_millis(20),
        "closed before the timeout"
    );
}

/// Records the client's frames until its close, answers it, then keeps TCP open.
fn answer_close_keep_tcp() -> Step {
    Step::custom(|conn| {
        while let Some(frame) = conn.recv_frame()? {
            if frame.opcode == OpCode::Close {
                if !conn.close_sent() {
                    conn.send_close(frame.close_code().map(|c| (c, "")))?;
                }
                conn.hold(Duration::from_secs(10));
                break;
            }
        }
        Ok(())
    })
}

/// The server answers the client's close but never closes TCP: the client ends anyway after
/// the close timeout, with the agreed local reason (not `LocalTimedOut`).
pub fn local_close_completes_when_server_keeps_tcp<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![answer_close_keep_tcp()]));
    let (probe, mut events) = Probe::<A>::new();
    let s = settings(&server.url()).close_timeout(SHORT);
    let client = A::start(s, probe, TestOptions::default()).expect("connect");
    client.close_with(CloseCode(4003), "over").expect("close");
    assert_eq!(server.expect_close(T).close_code(), Some(4003));
    assert_eq!(
        finish::<A>(&client, &mut events),
        CloseReason::Local(coded(4003, "over"))
    );
}

/// The server closes, gets the client's answer, and never closes TCP: the client ends after
/// the close timeout with the remote reason.
pub fn remote_close_completes_when_server_keeps_tcp<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::close(4000, "bye"), answer_close_keep_tcp()]));
    let (probe, mut events) = Probe::<A>::new();
    let s = settings(&server.url()).close_timeout(SHORT);
    let client = A::start(s, probe, TestOptions::default()).expect("connect");
    assert_eq!(server.expect_close(T).close_code(), Some(4000));
    assert_eq!(
        finish::<A>(&client, &mut events),
        CloseReason::Remote(coded(4000, "bye"))
    );
}

/// While the close handshake runs, `send_frame` fails with `NotConnected`.
pub fn send_frame_while_closing_not_connected<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::IgnoreClose]));
    let (probe, mut events) = Probe::<A>::new();
    let s = settings(&server.url()).close_timeout(Duration::from_secs(1));
    let client = A::start(s, probe, TestOptions::default()).expect("connect");
    client.close().expect("close");
    assert_eq!(server.expect_close(T).close_code(), Some(1000));
    assert_eq!(
        client.send_frame(Frame::text("too late"), T),
        Err(SendError::NotConnected)
    );
    assert_eq!(
        finish::<A>(&client, &mut events),
        CloseReason::LocalTimedOut(CloseStatus::Normal)
    );
    assert!(
        server.next_frame(Duration::ZERO).is_none(),
        "nothing may follow the close"
    );
}

/// A protocol error whose close the server never answers still ends, after the close
/// timeout, with the protocol error.
pub fn protocol_error_without_close_reply<A: TestAdapter>() {
    let step = Step::SendMasked {
        opcode: OpCode::Binary,
        payload: vec![1, 2, 3],
    };
    let server = TestServer::start(Script::new(vec![step, Step::IgnoreClose]));
    let (probe, mut events) = Probe::<A>::new();
    let s = settings(&server.url()).close_timeout(SHORT);
    let client = A::start(s, probe, TestOptions::default()).expect("connect");
    assert_eq!(server.expect_close(T).close_code(), Some(1002));
    assert_eq!(
        finish::<A>(&client, &mut events),
        CloseReason::Error(Error::Protocol(ProtocolError::MaskedFrame))
    );
}

fn protocol_error_case<A: TestAdapter>(step: Step, code: u16, error: ProtocolError) {
    let server = TestServer::start(Script::new(vec![step, Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    let s = settings(&server.url()).close_timeout(Duration::from_secs(2));
    let client = A::start(s, probe, TestOptions::default()).expect("connect");
    assert_eq!(server.expect_close(T).close_code(), Some(code));
    assert_eq!(
        finish::<A>(&client, &mut events),
        CloseReason::Error(Error::Protocol(error))
    );
    assert_eq!(events.count(|e| matches!(e, Ev::Frame(_))), 0);
}

/// A masked frame from the server: close 1002, `Error(Protocol(MaskedFrame))`.
pub fn masked_server_frame_is_protocol_error<A: TestAdapter>() {
    let step = Step::SendMasked {
        opcode: OpCode::Text,
        payload: b"hi".to_vec(),
    };
    protocol_error_case::<A>(step, 1002, ProtocolError::MaskedFrame);
}

/// Invalid UTF-8 in a text message: close 1007, `Error(Protocol(InvalidUtf8))`.
pub fn invalid_utf8_is_protocol_error<A: TestAdapter>() {
    let step = Step::frame(true, OpCode::Text, &[b'h', 0xff, b'i']);
    protocol_error_case::<A>(step, 1007, ProtocolError::InvalidUtf8);
}

/// A reserved opcode: close 1002, `Error(Protocol(ReservedOpcode(3)))`.
pub fn reserved_opcode_is_protocol_error<A: TestAdapter>() {
    protocol_error_case::<A>(Step::SendRaw(vec![0x83, 0x00]), 1002, ProtocolError::ReservedOpcode(3));
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

// ---------------------------------------------------------------------------------------------
// Reconnect

/// `Reconnect` after a remote close: a second connection, handler state kept, attempt 1.
pub fn reconnect_after_remote_close<A: TestAdapter>() {
    let server = TestServer::start_with(|n| match n {
        0 => Script::new(vec![Step::close(1001, "restart"), Step::Listen]),
        _ => Script::echo(),
    });
    let (probe, mut events) = Probe::<A>::new();
    let probe = probe.on_disconnect(|s| match s.reason {
        CloseReason::Remote(_) => Reconnect::Reconnect,
        _ => Reconnect::Stop,
    });
    let client = start::<A>(&server.url(), probe);
    assert_eq!(connected(&mut events), 1);
    assert_eq!(
        connected(&mut events),
        2,
        "handle_connect's count must survive the reconnect"
    );
    assert_eq!(server.connections(), 2);
    let echoed = server.expect_close(T);
    assert_eq!(
        (echoed.conn, echoed.close_code()),
        (0, Some(1001)),
        "the first close is echoed"
    );
    eventually("status is Connected", || client.status() == Status::Connected);
    client
        .send_frame(Frame::text("again"), T)
        .expect("send after reconnect");
    assert_eq!(events.frame(T), Frame::text("again"));
    close_normally::<A>(&client, &server, &mut events);
    let d = disconnects(&events);
    assert_eq!(d.len(), 2, "{d:?}");
    assert_eq!(
        (d[0].0.clone(), d[0].1),
        (CloseReason::Remote(coded(1001, "restart")), 1)
    );
    assert_eq!((d[1].0.clone(), d[1].1), (CloseReason::Local(CloseStatus::Normal), 1));
}

/// Attempt numbers count consecutive failures from 1 (with `handle_initial_conn_failure`).
pub fn reconnect_attempts_count_failures<A: TestAdapter>() {
    let (probe, mut events) = Probe::<A>::new();
    let probe = probe.on_disconnect(|s| {
        if s.attempt < 3 {
            Reconnect::Reconnect
        } else {
            Reconnect::Stop
        }
    });
    let options = TestOptions::default().handle_initial_conn_failure(true);
    let result = A::start(refused_url(), probe, options);
    assert!(matches!(result, Err(Error::Io(_))), "{result:?}");
    events.wait_for("terminate", T, |e| matches!(e, Ev::Terminate(_)).then_some(()));
    events.drain(Duration::from_millis(500));
    let attempts: Vec<u32> = disconnects(&events).iter().map(|d| d.1).collect();
    assert_eq!(attempts, vec![1, 2, 3]);
    assert!(disconnects(&events).iter().all(|d| is_io(&d.0)));
    assert_eq!(events.count(|e| matches!(e, Ev::Terminate(r) if is_io(r))), 1);
}

/// After a successful connection the count restarts at 1, then rises on failures;
/// `ReconnectWith` settings stay in use for later `Reconnect`s.
pub fn reconnect_attempts_reset_after_success<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::close(1001, "bye"), Step::Listen]));
    let refused = refused_url();
    let refused_settings = settings(&refused);
    let (probe, mut events) = Probe::<A>::new();
    let probe = probe.on_disconnect(move |s| match s.attempt {
        1 => Reconnect::ReconnectWith(refused_settings.clone()),
        2 => Reconnect::Reconnect,
        _ => Reconnect::Stop,
    });
    let client = start::<A>(&server.url(), probe);
    let reason = finish::<A>(&client, &mut events);
    assert!(is_io(&reason), "{reason:?}");
    let d = disconnects(&events);
    assert_eq!(d.len(), 3, "{d:?}");
    assert_eq!(
        (d[0].0.clone(), d[0].1, d[0].2.clone()),
        (CloseReason::Remote(coded(1001, "bye")), 1, server.url())
    );
    assert!(is_io(&d[1].0) && d[1].1 == 2 && d[1].2 == refused, "{d:?}");
    assert!(is_io(&d[2].0) && d[2].1 == 3 && d[2].2 == refused, "{d:?}");
}

/// `ReconnectWith(new settings)` connects to a second server.
pub fn reconnect_with_new_settings<A: TestAdapter>() {
    let first = TestServer::start(Script::new(vec![Step::close(1001, "moved"), Step::Listen]));
    let second = TestServer::echo();
    let second_settings = settings(&second.url());
    let (probe, mut events) = Probe::<A>::new();
    let probe = probe.on_disconnect(move |s| match s.reason {
        CloseReason::Remote(_) => Reconnect::ReconnectWith(second_settings.clone()),
        _ => Reconnect::Stop,
    });
    let client = start::<A>(&first.url(), probe);
    assert_eq!(connected(&mut events), 1);
    assert_eq!(connected(&mut events), 2);
    assert_eq!((first.connections(), second.connections()), (1, 1));
    eventually("status is Connected", || client.status() == Status::Connected);
    client.send_frame(Frame::text("to the second"), T).expect("send");
    assert_eq!(second.expect_frame(T).text(), Some("to the second"));
    assert_eq!(events.frame(T), Frame::text("to the second"));
    close_normally::<A>(&client, &second, &mut events);
}

/// A message scheduled with `send_after` before a reconnect is delivered on the new connection.
pub fn send_after_survives_reconnect<A: TestAdapter>() {
    let gate = Gate::new();
    let first = gate.clone();
    let server = TestServer::start_with(move |n| match n {
        0 => Script::new(vec![
            Step::WaitFor(first.clone()),
            Step::close(1001, "again"),
            Step::Listen,
        ]),
        _ => Script::new(vec![Step::Listen]),
    });
    let (probe, mut events) = Probe::<A>::new();
    let probe = probe.on_disconnect(|s| match s.reason {
        CloseReason::Remote(_) => Reconnect::Reconnect,
        _ => Reconnect::Stop,
    });
    let client = start::<A>(&server.url(), probe);
    client.cast(Cmd::SendAfter(Duration::from_secs(1), 5)).expect("cast");
    events.wait_for("handle_cast", T, |e| (*e == Ev::Cast).then_some(()));
    gate.open();
    // (Connected 1 came before the cast.)
    assert_eq!(connected(&mut events), 2);
    events.wait_for("handle_info(5) after the reconnect", T, |e| {
        (*e == Ev::Info(5)).then_some(())
    });
    let info = loop {
        let f = server.expect_frame(T);
        if f.opcode == OpCode::Text {
            break f;
        }
    };
    assert_eq!((info.conn, info.text()), (1, Some("info 5")));
    close_normally::<A>(&client, &server, &mut events);
}

// ---------------------------------------------------------------------------------------------
// send_frame errors

/// While connecting, `send_frame` fails with `NotConnected`.
pub fn send_frame_not_connected<A: TestAdapter>() {
    let gate = Gate::new();
    let server = TestServer::start(Script::new(vec![Step::Echo]).handshake(Handshake::AcceptWhen(gate.clone())));
    let (probe, mut events) = Probe::<A>::new();
    let client = A::start(server.url(), probe, TestOptions::default().async_start(true)).expect("async start");
    assert_eq!(
        client.send_frame(Frame::text("too early"), T),
        Err(SendError::NotConnected)
    );
    gate.open();
    connected(&mut events);
    eventually("status is Connected", || client.status() == Status::Connected);
    client
        .send_frame(Frame::text("in time"), T)
        .expect("send once connected");
    assert_eq!(server.expect_frame(T).text(), Some("in time"));
    close_normally::<A>(&client, &server, &mut events);
}

/// After termination every operation fails with `ConnectionFailed`; terminate does not run again.
pub fn operations_after_termination_fail<A: TestAdapter>() {
    let server = TestServer::echo();
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    close_normally::<A>(&client, &server, &mut events);
    let failed = |r: Result<(), SendError>| matches!(r, Err(SendError::ConnectionFailed(_)));
    assert!(failed(client.send_frame(Frame::text("late"), T)));
    assert!(failed(client.send(Frame::text("late"))));
    assert!(failed(client.cast(Cmd::Reply(Reply::Continue))));
    assert!(failed(client.close()));
    assert_eq!(client.wait(T), Some(CloseReason::Local(CloseStatus::Normal)));
    events.drain(Duration::from_millis(100));
    assert_eq!(events.count(|e| matches!(e, Ev::Terminate(_))), 1);
}

/// Once `wait()` has returned, `cast` and `close` fail at once with `ConnectionFailed`, every
/// time (checked over many clients, since the failure mode is a race).
pub fn operations_right_after_wait_fail<A: TestAdapter>() {
    let server = TestServer::echo();
    for i in 0..40 {
        let (probe, _events) = Probe::<A>::new();
        let client = start::<A>(&server.url(), probe);
        client.close().expect("close");
        assert!(client.wait(T).is_some());
        let cast = client.cast(Cmd::Reply(Reply::Continue));
        let close = client.close();
        assert!(
            matches!(cast, Err(SendError::ConnectionFailed(_))) && matches!(close, Err(SendError::ConnectionFailed(_))),
            "client {i}: after wait() returned, cast gave {cast:?} and close gave {close:?} (silently dropped)"
        );
    }
}

/// A frame that cannot be encoded (126-byte ping, invalid close code) is refused and the
/// connection stays usable.
pub fn send_frame_encode_error<A: TestAdapter>() {
    let server = TestServer::echo();
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    assert_eq!(
        client.send_frame(Frame::Ping(Bytes::from(vec![0u8; 126])), T),
        Err(SendError::Encode(EncodeError::ControlPayloadTooLarge(126)))
    );
    assert_eq!(
        client.send_frame(Frame::Close(Some(CloseFrame::new(CloseCode(1005), ""))), T),
        Err(SendError::Encode(EncodeError::InvalidCloseCode(1005)))
    );
    client
        .send_frame(Frame::Ping(Bytes::from(vec![1u8; 125])), T)
        .expect("125-byte ping");
    let pong = events.wait_for("handle_pong", T, |e| match e {
        Ev::Pong(p) => Some(p.clone()),
        _ => None,
    });
    assert_eq!(pong.len(), 125);
    close_normally::<A>(&client, &server, &mut events);
}

/// `send_frame` called (blocking) from the client's own callback fails with `FromCallback`
/// instead of deadlocking, and sends nothing.
pub fn send_frame_from_callback_fails<A: TestAdapter>() {
    let server = TestServer::echo();
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    client
        .cast(Cmd::SendFrameFromCallback(Frame::text("from inside")))
        .expect("cast");
    let result = events.wait_for("send_frame result from the callback (deadlock?)", T, |e| match e {
        Ev::SendResult(r) => Some(r.clone()),
        _ => None,
    });
    assert_eq!(result, Err(SendError::FromCallback));
    client.send_frame(Frame::text("from outside"), T).expect("send");
    assert_eq!(
        server.expect_frame(T).text(),
        Some("from outside"),
        "the callback's frame must not be sent"
    );
    close_normally::<A>(&client, &server, &mut events);
}

// ---------------------------------------------------------------------------------------------
// Stats and telemetry

/// Stats count frames and payload bytes both ways (the close frame sent included).
pub fn stats_count_frames_and_bytes<A: TestAdapter>() {
    let server = TestServer::echo();
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    assert_eq!(client.stats(), StatsSnapshot::default());
    for _ in 0..3 {
        client.send_frame(Frame::text("hello"), T).expect("send");
        assert_eq!(events.frame(T), Frame::text("hello"));
    }
    let s = client.stats();
    assert_eq!(
        (s.frames_out, s.bytes_out, s.frames_in, s.bytes_in),
        (3, 15, 3, 15),
        "{s:?}"
    );
    close_normally::<A>(&client, &server, &mut events);
    let s = client.stats();
    assert_eq!(
        (s.frames_out, s.bytes_out),
        (4, 17),
        "the close frame (2 bytes) counts: {s:?}"
    );
    assert!(s.frames_in >= 3 && s.bytes_in >= 15, "{s:?}");
}

/// Every observer sees connected, frame sent, frame received (the echo, then the server's close
/// frame), disconnected and terminate, in order.
pub fn telemetry_events<A: TestAdapter>() {
    let server = TestServer::echo();
    let logs = [Arc::new(TelemetryLog::default()), Arc::new(TelemetryLog::default())];
    let mut options = TestOptions::default();
    for log in &logs {
        options = options.observer(log.clone());
    }
    let (probe, mut events) = Probe::<A>::new();
    let client = A::start(server.url(), probe, options).expect("connect");
    client.send_frame(Frame::text("observed"), T).expect("send");
    assert_eq!(events.frame(T), Frame::text("observed"));
    close_normally::<A>(&client, &server, &mut events);
    eventually("the terminate event is observed", || logs[1].count("terminate") == 1);
    for log in &logs {
        assert_eq!(
            log.kinds(),
            [
                "connected",
                "frame_sent",
                "frame_received",
                "frame_sent",
                "frame_received",
                "disconnected",
                "terminate"
            ]
        );
    }
}

/// Starts against a TLS server with `settings`; the client must fail with a certificate error.
fn tls_refused<A: TestAdapter>(settings: wsx_proto::ConnectSettings, what: &str) {
    let (probe, events) = Probe::<A>::new();
    match A::start(settings, probe, TestOptions::default()) {
        Err(Error::Io(e)) => assert!(
            e.to_string().contains("certificate"),
            "{what}: expected a certificate error, got {e}"
        ),
        other => panic!("{what}: expected a TLS error, got {other:?}"),
    }
    assert!(events.all().is_empty(), "{what}: no callback runs for a failed start");
}

/// `wss://` with the test CA trusted: the handshake and messages work over TLS.
pub fn tls_trusted_ca_echoes<A: TestAdapter>() {
    let pki = crate::TestPki::new();
    let server = TestServer::start_tls(Script::echo(), &pki);
    let (probe, mut events) = Probe::<A>::new();
    let client = A::start(
        settings(&server.url()).ca_certificate(pki.ca_der.clone()),
        probe,
        TestOptions::default(),
    )
    .expect("connects with the custom CA");
    client.send_frame(Frame::text("over tls"), T).expect("send");
    assert_eq!(events.frame(T), Frame::text("over tls"));
    close_normally::<A>(&client, &server, &mut events);
}

/// `wss://` without the test CA: the certificate is refused (verification is on by default).
pub fn tls_untrusted_ca_fails<A: TestAdapter>() {
    let pki = crate::TestPki::new();
    let server = TestServer::start_tls(Script::echo(), &pki);
    tls_refused::<A>(settings(&server.url()), "unknown CA");
    assert!(
        server.requests().is_empty(),
        "no upgrade request may leave before TLS is verified"
    );
}

/// `wss://` to a name the certificate does not cover (127.0.0.1 instead of localhost).
pub fn tls_hostname_mismatch_fails<A: TestAdapter>() {
    let pki = crate::TestPki::new();
    let server = TestServer::start_tls(Script::echo(), &pki);
    let url = format!("wss://127.0.0.1:{}/", server.addr().port());
    tls_refused::<A>(settings(&url).ca_certificate(pki.ca_der.clone()), "hostname mismatch");
}

/// `insecure_skip_verify`: an untrusted certificate for another name is accepted.
pub fn tls_insecure_mode_succeeds<A: TestAdapter>() {
    let pki = crate::TestPki::new();
    let server = TestServer::start_tls(Script::echo(), &pki);
    let url = format!("wss://127.0.0.1:{}/", server.addr().port());
    let (probe, mut events) = Probe::<A>::new();
    let client = A::start(settings(&url).insecure_skip_verify(true), probe, TestOptions::default())
        .expect("insecure mode connects");
    client.send_frame(Frame::binary(vec![1, 2, 3]), T).expect("send");
    assert_eq!(events.frame(T), Frame::binary(vec![1, 2, 3]));
    close_normally::<A>(&client, &server, &mut events);
}
