//! Failing the connection: protocol violations from the server, answered with the close
//! code they map to; the error reaches `wait()` at once and the client closes TCP itself, even
//! when the server never answers the close or keeps sending.

use std::time::{Duration, Instant};

use wsx_proto::{error::ProtocolError, protocol::OpCode, CloseReason, Error};

use super::{client_closes_tcp_soon, finish, wait_within, AT_ONCE, LONG_CLOSE_TIMEOUT, T};
use crate::harness::{settings, Ev, Probe, TestAdapter, TestOptions};
use crate::server::{encode, partial_frame, Script, Step, TestServer};

/// The server sends `bad`, then keeps TCP open and never answers anything (running `then`).
/// The client must fail the connection at once: send close `code`, give `wait()` an error
/// `check` accepts well before the 5 s close timeout, and close TCP itself soon after its close
/// frame. Nothing reaches `handle_frame`.
fn fails_at_once<A: TestAdapter>(bad: Step, then: Step, code: u16, check: impl Fn(&ProtocolError) -> bool) {
    let server = TestServer::start(Script::new(vec![bad, then]));
    let (probe, mut events) = Probe::<A>::new();
    let s = settings(&server.url()).close_timeout(LONG_CLOSE_TIMEOUT);
    let client = A::start(s, probe, TestOptions::default()).expect("connect");
    // The bad frame may even have come before `start` returned: timing from here is lenient.
    let t0 = Instant::now();
    let close = server.expect_close(T);
    assert_eq!(close.close_code(), Some(code));
    let reason = wait_within::<A>(&client, t0, AT_ONCE, "failing the connection");
    match &reason {
        CloseReason::Error(Error::Protocol(e)) if check(e) => {}
        other => panic!("expected a protocol error closed with {code}, got {other:?}"),
    }
    client_closes_tcp_soon(&server, 0, &close, AT_ONCE);
    assert_eq!(finish::<A>(&client, &mut events), reason);
    assert_eq!(events.count(|e| matches!(e, Ev::Frame(_))), 0);
}

/// Keeps TCP open and answers nothing, longer than the close timeout.
fn hold() -> Step {
    Step::Hold(Duration::from_secs(10))
}

/// A masked server frame, then the server holds TCP and never answers the client's close:
/// close 1002, and `Error(Protocol(MaskedFrame))` reaches `wait()` at once (not after the close
/// timeout); the client closes TCP itself.
pub fn protocol_error_without_close_reply<A: TestAdapter>() {
    let bad = Step::SendMasked {
        opcode: OpCode::Binary,
        payload: vec![1, 2, 3],
    };
    fails_at_once::<A>(bad, hold(), 1002, |e| *e == ProtocolError::MaskedFrame);
}

/// A frame header announcing a 2^62-byte payload, then the server holds TCP: close 1009 and
/// `FrameTooLarge` at once; the client does not wait for the payload or the close timeout.
pub fn oversize_frame_header_fails_at_once<A: TestAdapter>() {
    let bad = Step::SendRaw(partial_frame(OpCode::Binary, 1 << 62, 0));
    fails_at_once::<A>(
        bad,
        hold(),
        1009,
        |e| matches!(e, ProtocolError::FrameTooLarge { size, .. } if *size == 1 << 62),
    );
}

/// Invalid UTF-8 in a text message, then the server holds TCP: close 1007 and `InvalidUtf8` at
/// once.
pub fn invalid_utf8_fails_at_once<A: TestAdapter>() {
    let bad = Step::frame(true, OpCode::Text, &[b'h', 0xff, b'i']);
    fails_at_once::<A>(bad, hold(), 1007, |e| *e == ProtocolError::InvalidUtf8);
}

/// A frame with a reserved opcode, then the server keeps sending text frames (every 10 ms for
/// 4 s) and never answers the close: close 1002 and `ReservedOpcode(3)` at once, the client
/// closes TCP itself while the server is still sending, and none of the later frames is
/// delivered.
pub fn bad_frame_then_flood_fails_at_once<A: TestAdapter>() {
    let flood = Step::custom(|conn| {
        let more = encode(true, OpCode::Text, b"more");
        conn.flood(&more, Duration::from_millis(10), Duration::from_secs(4))
    });
    fails_at_once::<A>(Step::SendRaw(vec![0x83, 0x00]), flood, 1002, |e| {
        *e == ProtocolError::ReservedOpcode(3)
    });
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
