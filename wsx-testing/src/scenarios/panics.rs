//! A callback that panics ends its own connection only: close 1011 if it was open, `wait()`
//! gives `Error(HandlerPanicked(message))`, and no callback runs afterwards (the handler may
//! be broken: no `handle_disconnect`, no `terminate`). Other clients carry on.
//!
//! The panics print to stderr; that is expected.

use std::time::{Duration, Instant};

use wsx_proto::{client::Status, close::CloseStatus, protocol::OpCode, CloseReason, Error, Frame, Reply, SendError};

use super::{close_normally, finish, start, ClientOf, T};
use crate::harness::{Cmd, Ev, Events, Probe, TestAdapter, TestClient, TestOptions};
use crate::server::{encode, Gate, Handshake, Script, Step, TestServer};

/// The reason of a client whose callback panicked with `msg`.
fn panicked(msg: &str) -> CloseReason {
    CloseReason::Error(Error::HandlerPanicked(msg.to_owned()))
}

/// Checks the end of a client whose callback panicked with `msg`: `wait()` gives
/// `HandlerPanicked(msg)`, the status says so, the callback that panicked (the first event
/// `in_panicking` matches) was the last to run, and every operation fails at once.
fn finish_panicked<A: TestAdapter>(
    client: &ClientOf<A>,
    events: &mut Events,
    msg: &str,
    in_panicking: impl Fn(&Ev) -> bool,
) {
    let reason = client.wait(T).expect("the client should stop after the panic");
    assert_eq!(reason, panicked(msg));
    let all = events.drain(Duration::from_millis(500));
    let at = all
        .iter()
        .position(in_panicking)
        .unwrap_or_else(|| panic!("the panicking callback did not run: {all:#?}"));
    assert_eq!(at + 1, all.len(), "no callback may run after the panic: {all:#?}");
    assert_eq!(client.status(), Status::Terminated(reason));
    operations_fail_at_once::<A>(client);
}

/// `cast`, `send` and `send_frame` on a client that is over fail with `ConnectionFailed`, at
/// once.
fn operations_fail_at_once<A: TestAdapter>(client: &ClientOf<A>) {
    let t0 = Instant::now();
    let results = [
        ("cast", client.cast(Cmd::Reply(Reply::Continue))),
        ("send", client.send(Frame::text("late"))),
        ("send_frame", client.send_frame(Frame::text("late"), T)),
    ];
    for (what, result) in results {
        assert!(
            matches!(result, Err(SendError::ConnectionFailed(_))),
            "{what} after the end gave {result:?}"
        );
    }
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(1), "failing took {took:?}");
}

fn is_frame(ev: &Ev) -> bool {
    matches!(ev, Ev::Frame(_))
}

/// `handle_frame` panics on a text from the server (sent once `start` has returned): the server
/// gets close 1011, `wait()` gives `HandlerPanicked` with the panic message, and neither
/// `handle_disconnect` nor `terminate` runs.
pub fn panic_in_handle_frame_fails_connection<A: TestAdapter>() {
    let gate = Gate::new();
    let server = TestServer::start(Script::new(vec![
        Step::WaitFor(gate.clone()),
        Step::text("trigger"),
        Step::Listen,
    ]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe.panic_on_frame("boom in handle_frame"));
    gate.open();
    assert_eq!(server.expect_close(T).close_code(), Some(1011));
    finish_panicked::<A>(&client, &mut events, "boom in handle_frame", is_frame);
}

/// `handle_cast` panics on a cast: the same as a panic in `handle_frame`.
pub fn panic_in_handle_cast_fails_connection<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    client.cast(Cmd::Panic("boom in handle_cast".into())).expect("cast");
    assert_eq!(server.expect_close(T).close_code(), Some(1011));
    finish_panicked::<A>(&client, &mut events, "boom in handle_cast", |e| *e == Ev::Cast);
}

/// A panic whose payload is not a string is reported as `HandlerPanicked("panic")`.
pub fn panic_with_non_string_payload<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    client.cast(Cmd::PanicNonString).expect("cast");
    assert_eq!(server.expect_close(T).close_code(), Some(1011));
    finish_panicked::<A>(&client, &mut events, "panic", |e| *e == Ev::Cast);
}

/// `handle_frame` takes longer than the final flush (1 s) before it panics: the 1011 close
/// still reaches the server, since the flush is timed from when the callback returned.
pub fn slow_panicking_callback_still_sends_its_close<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::text("late"), Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    let probe = probe
        .panic_on_frame("slow boom")
        .panic_after(Duration::from_millis(1_300));
    let client = start::<A>(&server.url(), probe);
    assert_eq!(server.expect_close(T).close_code(), Some(1011));
    finish_panicked::<A>(&client, &mut events, "slow boom", is_frame);
}

/// `handle_connect` panics during a synchronous start: `start` returns
/// `Err(HandlerPanicked)`, the server (the connection was open) gets close 1011, and no other
/// callback runs.
pub fn panic_in_handle_connect_fails_start<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    let probe = probe.panic_on_connect("boom in handle_connect");
    match A::start(server.url(), probe, TestOptions::default()) {
        Err(Error::HandlerPanicked(msg)) => assert_eq!(msg, "boom in handle_connect"),
        other => panic!("expected Err(HandlerPanicked), got {other:?}"),
    }
    assert_eq!(server.expect_close(T).close_code(), Some(1011));
    let all = events.drain(Duration::from_millis(500));
    assert!(
        matches!(all, [Ev::Connected { count: 1, .. }]),
        "only handle_connect may run: {all:#?}"
    );
}

/// A text in the same packet as the handshake response, and `handle_frame` panics on it.
/// `handle_connect` already ran, so the synchronous start returns `Ok`; then `wait()` gives
/// `HandlerPanicked` and the server gets close 1011.
pub fn panic_on_frame_in_handshake_packet<A: TestAdapter>() {
    let trailing = encode(true, OpCode::Text, b"early");
    let server = TestServer::start(Script::new(vec![Step::Listen]).handshake(Handshake::AcceptWithTrailing(trailing)));
    let (probe, mut events) = Probe::<A>::new();
    let probe = probe.panic_on_frame("boom on the early frame");
    let client = A::start(server.url(), probe, TestOptions::default())
        .expect("start returns Ok: handle_connect ran before the panic");
    assert_eq!(server.expect_close(T).close_code(), Some(1011));
    finish_panicked::<A>(&client, &mut events, "boom on the early frame", is_frame);
    assert!(
        matches!(events.all(), [Ev::Connected { .. }, Ev::Frame(_)]),
        "{:#?}",
        events.all()
    );
}

/// The server closes normally and `handle_disconnect` panics: the final reason is
/// `HandlerPanicked`, and `terminate` does not run.
pub fn panic_in_handle_disconnect_skips_terminate<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::close(1000, ""), Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe.panic_on_disconnect("boom in handle_disconnect"));
    assert_eq!(
        server.expect_close(T).close_code(),
        Some(1000),
        "the close completed before the panic"
    );
    finish_panicked::<A>(&client, &mut events, "boom in handle_disconnect", |e| {
        matches!(e, Ev::Disconnect { .. })
    });
    let disconnect = events.all().iter().find(|e| matches!(e, Ev::Disconnect { .. }));
    assert!(
        matches!(
            disconnect,
            Some(Ev::Disconnect {
                reason: CloseReason::Remote(CloseStatus::Normal),
                ..
            })
        ),
        "{disconnect:?}"
    );
}

/// `terminate` panics: `wait()` still gives the real reason (`Remote(Normal)`), the status
/// says so, and the process goes on (a new client works).
pub fn panic_in_terminate_keeps_reason<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::close(1000, ""), Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe.panic_on_terminate("boom in terminate"));
    assert_eq!(
        finish::<A>(&client, &mut events),
        CloseReason::Remote(CloseStatus::Normal)
    );
    operations_fail_at_once::<A>(&client);
    let echo = TestServer::echo();
    let (probe, mut events) = Probe::<A>::new();
    let after = start::<A>(&echo.url(), probe);
    after.send_frame(Frame::text("still alive"), T).expect("send");
    assert_eq!(events.frame(T), Frame::text("still alive"));
    close_normally::<A>(&after, &echo, &mut events);
}

/// Two clients of one server; one panics in `handle_frame`. The other keeps echoing afterwards
/// and closes normally.
pub fn panic_in_one_client_spares_others<A: TestAdapter>() {
    let server = TestServer::echo();
    let (calm_probe, mut calm_events) = Probe::<A>::new();
    let calm = start::<A>(&server.url(), calm_probe);
    let (probe, mut events) = Probe::<A>::new();
    // Connection 1: started after the first one's handshake completed.
    let doomed = start::<A>(&server.url(), probe.panic_on_frame("boom in one client"));
    calm.send_frame(Frame::text("before"), T).expect("send");
    assert_eq!(calm_events.frame(T), Frame::text("before"));
    doomed.send_frame(Frame::text("trigger"), T).expect("send");
    let close = server.expect_close(T);
    assert_eq!((close.conn, close.close_code()), (1, Some(1011)));
    finish_panicked::<A>(&doomed, &mut events, "boom in one client", is_frame);
    for i in 0..3 {
        calm.send_frame(Frame::text(format!("after {i}")), T).expect("send");
        assert_eq!(calm_events.frame(T), Frame::text(format!("after {i}")));
    }
    assert_eq!(calm.status(), Status::Connected);
    close_normally::<A>(&calm, &server, &mut calm_events);
}
