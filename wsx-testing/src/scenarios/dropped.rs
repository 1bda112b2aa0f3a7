//! The TCP connection ends (EOF or reset) before the close handshake completes: the reason is
//! `Dropped`, whether or not the client's own close frame was already sent.

use std::time::{Duration, Instant};

use wsx_proto::{protocol::OpCode, CloseReason};

use super::{finish, start, wait_within, AT_ONCE, LONG_CLOSE_TIMEOUT, T};
use crate::harness::{settings, Ev, Probe, TestAdapter, TestClient, TestOptions};
use crate::server::{partial_frame, Script, Step, TestServer};

/// The server drops TCP in the middle of a frame: `Dropped`.
pub fn dropped_mid_frame<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::DropMidFrame]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    assert_eq!(finish::<A>(&client, &mut events), CloseReason::Dropped);
    assert_eq!(events.count(|e| matches!(e, Ev::Frame(_))), 0);
}

/// 20 bytes of a 100-byte frame, then a short pause so they reach the client before the reset.
fn torn_frame() -> Vec<Step> {
    vec![
        Step::SendRaw(partial_frame(OpCode::Binary, 100, 20)),
        Step::Sleep(Duration::from_millis(100)),
    ]
}

/// The server sends 20 bytes of a 100-byte frame, then resets TCP (RST): `Dropped`, not an
/// I/O error; the torn frame is never delivered.
pub fn reset_mid_frame_is_dropped<A: TestAdapter>() {
    let mut steps = torn_frame();
    steps.push(Step::Reset);
    let server = TestServer::start(Script::new(steps));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    assert_eq!(finish::<A>(&client, &mut events), CloseReason::Dropped);
    assert_eq!(events.count(|e| matches!(e, Ev::Frame(_))), 0);
}

/// The client closes; the server reads that close frame and ends TCP with `end` instead of
/// answering. The handshake never completed, so the reason is `Dropped` (not `Local`), at once
/// (not after the 5 s close timeout).
fn local_close_then_server_ends<A: TestAdapter>(end: Step) {
    let server = TestServer::start(Script::new(vec![Step::AwaitClose, end]));
    let (probe, mut events) = Probe::<A>::new();
    let s = settings(&server.url()).close_timeout(LONG_CLOSE_TIMEOUT);
    let client = A::start(s, probe, TestOptions::default()).expect("connect");
    let t0 = Instant::now();
    client.close().expect("close");
    assert_eq!(server.expect_close(T).close_code(), Some(1000));
    let reason = wait_within::<A>(&client, t0, AT_ONCE, "TCP ended after our close");
    assert_eq!(reason, CloseReason::Dropped);
    assert_eq!(finish::<A>(&client, &mut events), reason);
}

/// The client closes; the server reads the close frame and resets TCP without answering:
/// `Dropped`.
pub fn local_close_then_server_resets_is_dropped<A: TestAdapter>() {
    local_close_then_server_ends::<A>(Step::Reset);
}

/// The client closes; the server reads the close frame and closes TCP (a clean EOF) without
/// answering: `Dropped`.
pub fn local_close_then_server_eof_is_dropped<A: TestAdapter>() {
    local_close_then_server_ends::<A>(Step::CloseTcp);
}

/// Determinism: five times over, the server tears a frame, waits for the client's close frame
/// and resets TCP. The order is forced by the server, so every run must end the same way:
/// `Dropped`, with the close frame seen by the server and no frame delivered.
pub fn torn_frame_reset_while_closing_is_deterministic<A: TestAdapter>() {
    let mut outcomes = Vec::new();
    for _ in 0..5 {
        let mut steps = torn_frame();
        steps.extend([Step::AwaitClose, Step::Reset]);
        let server = TestServer::start(Script::new(steps));
        let (probe, mut events) = Probe::<A>::new();
        let client = start::<A>(&server.url(), probe);
        client.close().expect("close");
        let code = server.expect_close(T).close_code();
        let reason = finish::<A>(&client, &mut events);
        let delivered = events.count(|e| matches!(e, Ev::Frame(_)));
        outcomes.push((code, reason, delivered));
    }
    let expected = (Some(1000), CloseReason::Dropped, 0);
    assert!(
        outcomes.iter().all(|o| *o == expected),
        "expected {expected:?} every time, got {outcomes:#?}"
    );
}
