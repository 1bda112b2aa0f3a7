//! The close handshake: who closed and with what, crossed closes, the close timeout, and how
//! long the client waits for the server to close TCP once the handshake is done.

use std::time::{Duration, Instant};

use wsx_proto::{close::CloseStatus, protocol::OpCode, CloseCode, CloseReason, Frame, SendError};

use super::{client_closes_tcp_soon, coded, finish, start, wait_within, AT_ONCE, LONG_CLOSE_TIMEOUT, SHORT, T};
use crate::harness::{settings, Probe, TestAdapter, TestClient, TestOptions};
use crate::server::{Script, Step, TestServer};

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

/// The server answers the client's close but never closes TCP: the client ends anyway, within
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

/// The server closes, gets the client's answer, and never closes TCP: the client ends within
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

// ---------------------------------------------------------------------------------------------
// Crossed closes (RFC 6455 section 7.1.5)

/// The client closes with 1000; the server, once it has that close frame, sends its own close
/// with another code (4001 "busy") instead of an echo: both sides closed at once, and the
/// reason says what each side sent. The client does not answer the server's close (it already
/// sent one).
pub fn crossed_close_reports_both<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![
        Step::AwaitClose,
        Step::close(4001, "busy"),
        // Long enough to record a (wrong) second close from the client, then a clean EOF.
        Step::Hold(Duration::from_millis(300)),
    ]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    client.close().expect("close");
    assert_eq!(server.expect_close(T).close_code(), Some(1000));
    assert_eq!(
        finish::<A>(&client, &mut events),
        CloseReason::Crossed {
            local: CloseStatus::Normal,
            remote: coded(4001, "busy"),
        }
    );
    let extra = server.next_frame(Duration::from_millis(200));
    assert!(extra.is_none(), "the client sent a second close frame: {extra:?}");
}

/// The server answers the client's close (4002 "done") with the same code and a reason of its
/// own: that is an echo, not a crossed close, so the reason is ours: `Local(4002 "done")`.
pub fn close_echo_with_own_reason_is_local<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::AwaitClose, Step::close(4002, "see you")]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    client.close_with(CloseCode(4002), "done").expect("close_with");
    assert_eq!(server.expect_close(T).close_code(), Some(4002));
    assert_eq!(
        finish::<A>(&client, &mut events),
        CloseReason::Local(coded(4002, "done"))
    );
}

/// The plain echo, scripted so the server answers only once it has the client's close:
/// `Local(Normal)`.
pub fn close_echo_normal_is_local<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::AwaitClose, Step::close(1000, "")]));
    let (probe, mut events) = Probe::<A>::new();
    let client = start::<A>(&server.url(), probe);
    client.close().expect("close");
    assert_eq!(server.expect_close(T).close_code(), Some(1000));
    assert_eq!(
        finish::<A>(&client, &mut events),
        CloseReason::Local(CloseStatus::Normal)
    );
}

// ---------------------------------------------------------------------------------------------
// After the close handshake: the client does not wait long for the server's TCP close

/// How long after a completed close handshake the client may take to end, TCP close included,
/// when the server holds TCP open (it waits at most 1 s for the server to close first).
const AFTER_HANDSHAKE: Duration = Duration::from_secs(2);

/// The server closes with 4001 first, gets the client's echo, and holds TCP open for good. With
/// a 5 s close timeout the client still ends within ~2 s, `Remote(4001 "bye")`, closing TCP
/// itself.
pub fn remote_close_server_holds_tcp_ends_soon<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![
        Step::close(4001, "bye"),
        Step::Hold(Duration::from_secs(10)),
    ]));
    let (probe, mut events) = Probe::<A>::new();
    let s = settings(&server.url()).close_timeout(LONG_CLOSE_TIMEOUT);
    let client = A::start(s, probe, TestOptions::default()).expect("connect");
    let t0 = Instant::now();
    let echo = server.expect_close(T);
    assert_eq!(echo.close_code(), Some(4001));
    let reason = wait_within::<A>(&client, t0, AFTER_HANDSHAKE, "remote close, TCP held open");
    assert_eq!(reason, CloseReason::Remote(coded(4001, "bye")));
    client_closes_tcp_soon(&server, 0, &echo, AT_ONCE);
    assert_eq!(finish::<A>(&client, &mut events), reason);
}

/// The client closes, the server echoes 1000 and holds TCP open for good. With a 5 s close
/// timeout the client still ends within ~2 s, `Local(Normal)`, closing TCP itself.
pub fn local_close_server_holds_tcp_ends_soon<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![
        Step::AwaitClose,
        Step::close(1000, ""),
        Step::Hold(Duration::from_secs(10)),
    ]));
    let (probe, mut events) = Probe::<A>::new();
    let s = settings(&server.url()).close_timeout(LONG_CLOSE_TIMEOUT);
    let client = A::start(s, probe, TestOptions::default()).expect("connect");
    let t0 = Instant::now();
    client.close().expect("close");
    let close = server.expect_close(T);
    assert_eq!(close.close_code(), Some(1000));
    let reason = wait_within::<A>(&client, t0, AFTER_HANDSHAKE, "local close, TCP held open");
    assert_eq!(reason, CloseReason::Local(CloseStatus::Normal));
    client_closes_tcp_soon(&server, 0, &close, AT_ONCE);
    assert_eq!(finish::<A>(&client, &mut events), reason);
}
