//! Callbacks and their replies: casts, infos, pings, pongs, and what `Reply` does.

use std::time::{Duration, Instant};

use wsx_proto::{
    client::Status, close::CloseStatus, error::EncodeError, protocol::OpCode, CloseCode, CloseReason, Error, Frame,
    Reply, SendError,
};

use super::{close_normally, coded, connected, finish, start, T};
use crate::harness::{Cmd, Ev, Probe, TestAdapter, TestClient, TestOptions};
use crate::server::{Gate, Handshake, Script, Step, TestServer};

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
