//! The session driven in memory, quinn-proto style: a scripted server on one side, a fake
//! clock, no sockets and no sleeps. Each test plays the driver's part by hand, step by step
//! (`driver.rs` has the tests of the driver's interface as a whole).

use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use crate::client::Status;
use crate::config::CAST_QUEUE_LIMIT;
use crate::protocol::*;
use crate::session::state::Action;
use crate::session::StartOptions;
use crate::CloseReason;
use crate::*;
use bytes::BytesMut;

use crate::protocol as proto;
mod link;
mod wire;
use link::TestLink;
use wire::{response_to, sent_frames};

/// What the test handler saw.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Connect,
    Frame(Frame),
    Cast(&'static str),
    Info(u32),
    Disconnect(CloseReason, u32),
    Uptime(Option<Duration>),
    Terminate(CloseReason),
}

/// What the test handler does on a frame or cast.
#[derive(Debug, Clone, PartialEq)]
enum Act {
    Nothing,
    Panic,
    SendAfter(Duration, u32),
    Reply(Frame),
}

struct Recorder {
    seen: Sender<Seen>,
    on_frame: Act,
    on_connect_panic: bool,
    /// `handle_disconnect` reconnects while the attempt number is below this.
    reconnect_below: u32,
    /// ... after this long (`Reconnect::After`), when not zero.
    reconnect_delay: Duration,
    /// `handle_disconnect` also reports `connected_for`.
    report_uptime: bool,
}

impl Handler for Recorder {
    type Cast = (&'static str, Act);
    type Info = u32;

    fn handle_connect(&mut self, _response: &Response, _ctx: &mut Context<'_, Self>) {
        let _ = self.seen.send(Seen::Connect);
        assert!(!self.on_connect_panic, "handle_connect panics on purpose");
    }

    fn handle_frame(&mut self, frame: Frame, ctx: &mut Context<'_, Self>) -> Reply {
        let _ = self.seen.send(Seen::Frame(frame));
        act(self.on_frame.clone(), ctx)
    }

    fn handle_cast(&mut self, (name, what): (&'static str, Act), ctx: &mut Context<'_, Self>) -> Reply {
        let _ = self.seen.send(Seen::Cast(name));
        act(what, ctx)
    }

    fn handle_info(&mut self, n: u32, _ctx: &mut Context<'_, Self>) -> Reply {
        let _ = self.seen.send(Seen::Info(n));
        Reply::Frame(Frame::text(format!("info {n}")))
    }

    fn handle_disconnect(&mut self, status: DisconnectStatus) -> Reconnect {
        if self.report_uptime {
            let _ = self.seen.send(Seen::Uptime(status.connected_for));
        }
        let _ = self.seen.send(Seen::Disconnect(status.reason, status.attempt));
        match (status.attempt < self.reconnect_below, self.reconnect_delay) {
            (false, _) => Reconnect::Stop,
            (true, Duration::ZERO) => Reconnect::Reconnect,
            (true, delay) => Reconnect::After(delay),
        }
    }

    fn terminate(&mut self, reason: &CloseReason) {
        let _ = self.seen.send(Seen::Terminate(reason.clone()));
    }
}

fn act(what: Act, ctx: &mut Context<'_, Recorder>) -> Reply {
    match what {
        Act::Nothing => Reply::Continue,
        Act::Panic => panic!("boom"),
        Act::SendAfter(delay, n) => {
            ctx.send_after(delay, n);
            Reply::Continue
        }
        Act::Reply(frame) => Reply::Frame(frame),
    }
}

/// The adapter's part, by hand, with a clock that only moves when told.
struct Harness {
    session: Session<Recorder, TestLink<<Recorder as Handler>::Cast>>,
    client: TestLink<<Recorder as Handler>::Cast>,
    seen: Receiver<Seen>,
    now: Instant,
}

fn options(async_start: bool, handle_initial_conn_failure: bool) -> StartOptions {
    let mut options = StartOptions::new("ws://localhost:9001/");
    options.async_start = async_start;
    options.handle_initial_conn_failure = handle_initial_conn_failure;
    options
}

fn probe() -> (Recorder, Receiver<Seen>) {
    let (tx, rx) = mpsc::channel();
    let recorder = Recorder {
        seen: tx,
        on_frame: Act::Nothing,
        on_connect_panic: false,
        reconnect_below: 0,
        reconnect_delay: Duration::ZERO,
        report_uptime: false,
    };
    (recorder, rx)
}

impl Harness {
    fn new(options: StartOptions, configure: impl FnOnce(&mut Recorder)) -> Self {
        let (mut recorder, seen) = probe();
        configure(&mut recorder);
        let client = TestLink::new(options.send_buffer);
        let session = Session::new(options, recorder, client.clone()).unwrap();
        Self {
            session,
            client,
            seen,
            now: Instant::now(),
        }
    }

    fn action(&mut self) -> Option<Action> {
        self.session.poll_action(self.now)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.try_iter().collect()
    }

    /// Everything the client wrote since the last call.
    fn written(&mut self) -> Vec<u8> {
        let bytes = self.session.pending_transmit(self.now).to_vec();
        self.session.consume_transmit(bytes.len());
        bytes
    }

    fn frames_written(&mut self) -> Vec<(FrameHeader, Vec<u8>)> {
        sent_frames(&self.written())
    }

    fn server_sends(&mut self, bytes: &[u8]) {
        self.session
            .conn
            .as_mut()
            .expect("a connection runs")
            .read_buffer()
            .extend_from_slice(bytes);
        self.session.handle_read(self.now);
    }

    /// Connect, transport up, handshake answered.
    fn open(&mut self) {
        assert_eq!(self.action(), Some(Action::Connect));
        self.session.transport_opened(self.now);
        let request = self.written();
        self.server_sends(&response_to(&request));
        assert_eq!(self.client.status(), Status::Connected);
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        self.session.handle_timeout(self.now);
    }
}

fn server_frame(opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_frame(&mut out, true, opcode, payload, None);
    out.to_vec()
}

fn close_frame(code: u16, reason: &str) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason.as_bytes());
    server_frame(OpCode::Close, &payload)
}

fn close_code(frame: &(FrameHeader, Vec<u8>)) -> u16 {
    assert_eq!(frame.0.opcode, OpCode::Close);
    u16::from_be_bytes([frame.1[0], frame.1[1]])
}

fn refused() -> Error {
    Error::Io(std::sync::Arc::new(std::io::ErrorKind::ConnectionRefused.into()))
}

#[test]
fn reconnects_count_attempts_then_stop_terminates() {
    let mut h = Harness::new(options(false, true), |r| r.reconnect_below = 3);
    for _ in 0..3 {
        assert_eq!(h.action(), Some(Action::Connect));
        assert_eq!(h.client.status(), Status::Connecting);
        h.session.transport_failed(refused(), h.now);
    }
    assert_eq!(h.action(), Some(Action::Stop));
    let reason = CloseReason::Error(refused());
    assert_eq!(
        h.seen(),
        [
            Seen::Disconnect(reason.clone(), 1),
            Seen::Disconnect(reason.clone(), 2),
            Seen::Disconnect(reason.clone(), 3),
            Seen::Terminate(reason.clone()),
        ]
    );
    assert_eq!(h.client.terminated(), Some(reason));
}

#[test]
fn reconnect_after_a_delay_waits_on_the_clock() {
    let second = Duration::from_secs(1);
    let mut h = Harness::new(options(false, true), |r| {
        r.reconnect_below = 3;
        r.reconnect_delay = 2 * second;
    });
    assert_eq!(h.action(), Some(Action::Connect));
    h.session.transport_failed(refused(), h.now);
    assert_eq!(h.action(), None, "waiting");
    assert_eq!(h.session.poll_timeout(), Some(h.now + 2 * second));
    h.advance(second);
    assert_eq!(h.action(), None);
    assert_eq!(h.client.status(), Status::Connecting);
    h.advance(second);
    assert_eq!(h.action(), Some(Action::Connect));
    h.session.transport_failed(refused(), h.now);
    h.advance(2 * second);
    assert_eq!(h.action(), Some(Action::Connect), "attempt 3");
    h.session.transport_failed(refused(), h.now);
    assert_eq!(h.action(), Some(Action::Stop));
    let attempts: Vec<u32> = h
        .seen()
        .iter()
        .filter_map(|s| match s {
            Seen::Disconnect(_, n) => Some(*n),
            _ => None,
        })
        .collect();
    assert_eq!(attempts, [1, 2, 3]);
}

#[test]
fn close_while_waiting_to_reconnect_stops_at_once() {
    let mut h = Harness::new(options(false, true), |r| {
        r.reconnect_below = 10;
        r.reconnect_delay = Duration::from_secs(60);
    });
    assert_eq!(h.action(), Some(Action::Connect));
    h.session.transport_failed(refused(), h.now);
    assert_eq!(h.action(), None);
    h.client.close().expect("close while waiting");
    h.session.handle_commands(h.now);
    assert_eq!(h.action(), Some(Action::Stop));
    let reason = CloseReason::Error(refused());
    assert_eq!(h.seen().last(), Some(&Seen::Terminate(reason.clone())));
    assert_eq!(h.client.terminated(), Some(reason));
}

#[test]
fn disconnect_status_says_how_long_the_connection_was_up() {
    let mut h = Harness::new(options(false, true), |r| {
        r.reconnect_below = 10;
        r.report_uptime = true;
    });
    assert_eq!(h.action(), Some(Action::Connect));
    h.session.transport_failed(refused(), h.now);
    h.open();
    h.advance(Duration::from_secs(5));
    h.session.handle_eof(h.now);
    assert_eq!(h.action(), Some(Action::CloseTransport));
    let uptimes: Vec<Option<Duration>> = h
        .seen()
        .iter()
        .filter_map(|s| match s {
            Seen::Uptime(up) => Some(*up),
            _ => None,
        })
        .collect();
    assert_eq!(uptimes, [None, Some(Duration::from_secs(5))]);
}

#[test]
fn attempts_reset_after_a_connection_opened() {
    let mut h = Harness::new(options(false, true), |r| r.reconnect_below = 2);
    assert_eq!(h.action(), Some(Action::Connect));
    h.session.transport_failed(refused(), h.now);
    h.open();
    h.session.handle_eof(h.now);
    assert_eq!(h.action(), Some(Action::CloseTransport));
    let seen = h.seen();
    assert_eq!(seen[0], Seen::Disconnect(CloseReason::Error(refused()), 1));
    assert_eq!(seen[1], Seen::Connect);
    assert_eq!(
        seen[2],
        Seen::Disconnect(CloseReason::Dropped, 1),
        "reset by the open connection"
    );
    assert_eq!(h.action(), Some(Action::Connect));
}

#[test]
fn sync_start_failure_runs_no_callback() {
    let mut h = Harness::new(options(false, false), |r| r.reconnect_below = 9);
    assert_eq!(h.action(), Some(Action::Connect));
    h.session.transport_failed(refused(), h.now);
    assert_eq!(h.action(), Some(Action::Stop));
    assert_eq!(h.seen(), []);
    assert_eq!(h.client.started_blocking(), Err(CloseReason::Error(refused())));
}

#[test]
fn async_start_failure_terminates() {
    let mut h = Harness::new(options(true, false), |r| r.reconnect_below = 9);
    assert_eq!(h.action(), Some(Action::Connect));
    h.session.transport_failed(refused(), h.now);
    assert_eq!(h.action(), Some(Action::Stop));
    assert_eq!(h.seen(), [Seen::Terminate(CloseReason::Error(refused()))]);
}

#[test]
fn sync_start_is_told_after_handle_connect() {
    let mut h = Harness::new(options(false, false), |_| {});
    h.open();
    assert_eq!(h.seen(), [Seen::Connect]);
    assert_eq!(h.client.started_blocking(), Ok(()));
}

#[test]
fn commands_while_connecting_wait_for_the_connection() {
    let mut h = Harness::new(options(false, false), |_| {});
    assert_eq!(h.action(), Some(Action::Connect));
    h.client.cast(("early", Act::Nothing)).unwrap();
    h.session.transport_opened(h.now);
    assert_eq!(h.seen(), [], "no cast before the handshake");
    let request = h.written();
    h.client.close().unwrap();
    h.session.handle_commands(h.now);
    h.server_sends(&response_to(&request));
    assert_eq!(h.seen(), [Seen::Connect, Seen::Cast("early")]);
    let frames = h.frames_written();
    assert_eq!(close_code(&frames[0]), 1000, "the close asked for while connecting");
}

#[test]
fn close_while_the_transport_opens_stops_without_reconnecting() {
    let mut h = Harness::new(options(true, true), |r| r.reconnect_below = 9);
    assert_eq!(h.action(), Some(Action::Connect));
    h.client.close().unwrap();
    h.session.transport_failed(refused(), h.now);
    assert_eq!(h.action(), Some(Action::Stop));
    assert_eq!(h.seen(), [Seen::Terminate(CloseReason::Error(refused()))]);
}

#[test]
fn local_close_times_out_then_closes_by_force() {
    let mut h = Harness::new(options(false, false), |_| {});
    h.open();
    h.client.close().unwrap();
    h.session.handle_commands(h.now);
    assert_eq!(close_code(&h.frames_written()[0]), 1000);
    let deadline = h.session.poll_timeout().unwrap();
    assert_eq!(deadline - h.now, Config::default().close_timeout);
    h.advance(Duration::from_secs(5) - Duration::from_millis(1));
    assert_eq!(h.action(), None, "still waiting for the server's close");
    h.advance(Duration::from_millis(1));
    assert_eq!(h.action(), Some(Action::CloseTransport));
    assert_eq!(h.action(), Some(Action::Stop));
    let reason = CloseReason::LocalTimedOut(CloseStatus::Normal);
    assert_eq!(h.client.terminated(), Some(reason.clone()));
    assert!(h.seen().contains(&Seen::Terminate(reason)));
}

#[test]
fn completed_close_lingers_briefly_for_the_server_to_drop_tcp() {
    let mut h = Harness::new(options(false, false), |_| {});
    h.open();
    h.client.close().unwrap();
    h.session.handle_commands(h.now);
    h.written();
    h.now += Duration::from_millis(100);
    h.server_sends(&close_frame(1000, ""));
    let linger = h.session.poll_timeout().unwrap() - h.now;
    assert_eq!(linger, Config::default().close_linger);
    h.advance(linger);
    assert_eq!(h.action(), Some(Action::CloseTransport));
    assert_eq!(h.client.terminated(), Some(CloseReason::Local(CloseStatus::Normal)));
}

#[test]
fn linger_never_passes_the_close_timeout() {
    let mut h = Harness::new(options(false, false), |_| {});
    h.open();
    let started = h.now;
    h.client.close().unwrap();
    h.session.handle_commands(h.now);
    h.written();
    h.now += Duration::from_millis(4800);
    h.server_sends(&close_frame(1000, ""));
    assert_eq!(
        h.session.poll_timeout(),
        Some(started + Config::default().close_timeout)
    );
}

#[test]
fn eof_after_our_close_is_dropped() {
    let mut h = Harness::new(options(false, false), |_| {});
    h.open();
    h.client.close().unwrap();
    h.session.handle_commands(h.now);
    h.written();
    h.session.handle_eof(h.now);
    assert_eq!(h.action(), Some(Action::CloseTransport));
    assert_eq!(h.client.terminated(), Some(CloseReason::Dropped));
}

#[test]
fn reset_is_an_abrupt_close_not_an_error() {
    let mut h = Harness::new(options(false, false), |_| {});
    h.open();
    h.session
        .handle_io_error(std::io::ErrorKind::ConnectionReset.into(), h.now);
    assert_eq!(h.action(), Some(Action::CloseTransport));
    assert_eq!(h.client.terminated(), Some(CloseReason::Dropped));
}

#[test]
fn crossed_close_keeps_the_servers_code() {
    let mut h = Harness::new(options(false, false), |_| {});
    h.open();
    h.client.close().unwrap();
    h.session.handle_commands(h.now);
    h.written();
    h.server_sends(&close_frame(4001, "busy"));
    h.session.handle_eof(h.now);
    assert_eq!(h.action(), Some(Action::CloseTransport));
    let remote = CloseStatus::Coded(CloseFrame::new(CloseCode(4001), "busy"));
    assert_eq!(
        h.client.terminated(),
        Some(CloseReason::Crossed {
            local: CloseStatus::Normal,
            remote
        })
    );
}

#[test]
fn protocol_error_sends_its_code_and_ends_at_once() {
    let mut h = Harness::new(options(false, false), |_| {});
    h.open();
    // A masked server frame, then more data: nothing after it is read.
    let mut bytes = BytesMut::new();
    encode_frame(&mut bytes, true, OpCode::Text, b"masked", Some([1, 2, 3, 4]));
    bytes.extend_from_slice(&server_frame(OpCode::Text, b"after"));
    h.server_sends(&bytes);
    assert_eq!(close_code(&h.frames_written()[0]), 1002);
    assert_eq!(
        h.action(),
        Some(Action::CloseTransport),
        "no wait for the server's answer"
    );
    assert_eq!(
        h.client.terminated(),
        Some(CloseReason::Error(Error::Protocol(ProtocolError::MaskedFrame)))
    );
    assert!(!h.seen().iter().any(|s| matches!(s, Seen::Frame(_))));
}

#[test]
fn final_flush_is_bounded() {
    let mut h = Harness::new(options(false, false), |_| {});
    h.open();
    h.server_sends(&close_frame(4000, "bye"));
    assert_eq!(h.action(), None, "the echo is not written yet");
    let linger = h.session.poll_timeout().unwrap() - h.now;
    h.advance(linger);
    assert_eq!(h.action(), None, "the last bytes get their chance");
    let flush = h.session.poll_timeout().unwrap() - h.now;
    assert!(flush <= Duration::from_secs(1), "{flush:?}");
    h.now += flush;
    assert_eq!(
        h.action(),
        Some(Action::CloseTransport),
        "a socket that never drains is given up"
    );
    let status = CloseStatus::Coded(CloseFrame::new(CloseCode(4000), "bye"));
    assert_eq!(h.client.terminated(), Some(CloseReason::Remote(status)));
}

/// The connection fails inside a callback that takes long (a slow handler, or a panic hook
/// printing a backtrace): when the adapter next looks, well past a second after the `now` it
/// passed in, the close is still written before the transport closes.
#[test]
fn final_flush_counts_from_when_the_adapter_looks_again() {
    let mut h = Harness::new(options(false, false), |r| r.on_frame = Act::Panic);
    h.open();
    h.server_sends(&server_frame(OpCode::Text, b"trigger"));
    h.now += Duration::from_secs(5);
    assert_eq!(h.action(), None, "the 1011 close has not been written yet");
    assert!(h.session.poll_timeout().unwrap() > h.now);
    assert_eq!(close_code(&h.frames_written()[0]), 1011);
    assert_eq!(h.action(), Some(Action::CloseTransport));
}

#[test]
fn send_after_fires_on_the_fake_clock() {
    let mut h = Harness::new(options(false, false), |_| {});
    h.open();
    h.client
        .cast(("later", Act::SendAfter(Duration::from_secs(30), 7)))
        .unwrap();
    h.session.handle_commands(h.now);
    assert_eq!(h.session.poll_timeout(), Some(h.now + Duration::from_secs(30)));
    h.advance(Duration::from_secs(29));
    assert!(!h.seen().contains(&Seen::Info(7)));
    h.advance(Duration::from_secs(1));
    assert!(h.seen().contains(&Seen::Info(7)));
    assert_eq!(h.frames_written()[0].1, b"info 7");
}

#[test]
fn panicking_callback_fails_with_1011_and_runs_nothing_after() {
    let mut h = Harness::new(options(false, false), |r| {
        r.on_frame = Act::Panic;
        r.reconnect_below = 9;
    });
    h.open();
    h.server_sends(&server_frame(OpCode::Text, b"trigger"));
    assert_eq!(close_code(&h.frames_written()[0]), 1011);
    assert_eq!(h.action(), Some(Action::CloseTransport));
    assert_eq!(h.action(), Some(Action::Stop), "no reconnect after a panic");
    let reason = CloseReason::Error(Error::HandlerPanicked("boom".into()));
    assert_eq!(h.client.terminated(), Some(reason));
    assert_eq!(
        h.seen(),
        [Seen::Connect, Seen::Frame(Frame::text("trigger"))],
        "neither handle_disconnect nor terminate runs"
    );
    assert!(matches!(
        h.client.cast(("x", Act::Nothing)),
        Err(SendError::ConnectionFailed(Some(_)))
    ));
}

#[test]
fn panic_in_handle_connect_fails_a_sync_start() {
    let mut h = Harness::new(options(false, false), |r| r.on_connect_panic = true);
    assert_eq!(h.action(), Some(Action::Connect));
    h.session.transport_opened(h.now);
    let request = h.written();
    h.server_sends(&response_to(&request));
    assert_eq!(close_code(&h.frames_written()[0]), 1011);
    assert_eq!(h.action(), Some(Action::CloseTransport));
    let Err(CloseReason::Error(Error::HandlerPanicked(message))) = h.client.started_blocking() else {
        panic!("the start should fail with the panic")
    };
    assert!(message.contains("handle_connect panics on purpose"), "{message}");
}

#[test]
fn timed_out_send_frame_is_withdrawn() {
    let mut h = Harness::new(options(false, false), |_| {});
    h.open();
    let timed_out = h.client.send_frame_blocking(Frame::text("late"), Duration::ZERO);
    assert_eq!(timed_out, Err(SendError::Timeout));
    h.session.handle_commands(h.now);
    assert!(h.written().is_empty(), "the withdrawn frame is never sent");
}

#[test]
fn dropped_session_ends_its_client() {
    let h = Harness::new(options(true, false), |_| {});
    let client = h.client.clone();
    drop(h);
    assert_eq!(client.terminated(), Some(CloseReason::Error(Error::Aborted)));
    assert!(client.cast(("x", Act::Nothing)).is_err());
}

fn with_send_buffer(bytes: usize) -> StartOptions {
    let mut options = options(false, false);
    options.send_buffer = bytes;
    options
}

#[test]
fn full_output_holds_commands_and_reads_until_it_drains() {
    let mut h = Harness::new(with_send_buffer(1000), |_| {});
    h.open();
    let big = Frame::binary(vec![7u8; 1500]);
    assert_eq!(
        h.client.send_blocking(big.clone()),
        Ok(()),
        "one frame larger than the buffer goes alone"
    );
    h.session.handle_commands(h.now);
    assert!(h.session.pending_transmit(h.now).len() > 1500);
    assert!(
        h.session.wants_read(),
        "pipelined output alone never stops reading: an echoing peer must be read to read ours"
    );
    // Queued behind the backlog: neither runs until the socket drains.
    h.client.cast(("held", Act::Nothing)).unwrap();
    assert_eq!(
        h.client
            .send_frame_blocking(Frame::text("late"), Duration::from_millis(1)),
        Err(SendError::Timeout)
    );
    assert!(!h.session.handle_commands(h.now));
    assert_eq!(h.seen(), [Seen::Connect]);
    assert_eq!(
        h.client.queued_sends(),
        1000,
        "the big frame holds the whole budget until written"
    );
    assert!(h.client.unwritten() > 1500);
    let frames = h.frames_written();
    assert_eq!(frames.len(), 1, "the withdrawn send_frame was never encoded");
    assert!(h.session.handle_commands(h.now));
    assert_eq!(h.seen(), [Seen::Cast("held")]);
    assert!(h.written().is_empty(), "the timed-out frame stays withdrawn");
    assert_eq!(h.client.queued_sends(), 0);
}

#[test]
fn casts_beyond_the_limit_are_refused() {
    let mut h = Harness::new(options(true, false), |_| {});
    for _ in 0..CAST_QUEUE_LIMIT {
        h.client.cast(("queued", Act::Nothing)).unwrap();
    }
    assert_eq!(h.client.cast(("one more", Act::Nothing)), Err(SendError::QueueFull));
    h.open();
    assert_eq!(h.client.cast(("after", Act::Nothing)), Ok(()), "room again once taken");
}

#[test]
fn replies_to_a_peer_that_does_not_read_stop_reading() {
    let mut h = Harness::new(with_send_buffer(200), |_| {});
    h.open();
    let ping = server_frame(OpCode::Ping, &[9; 100]);
    h.server_sends(&ping);
    assert!(h.session.wants_read(), "one pong is within the buffer");
    h.server_sends(&ping);
    assert!(!h.session.wants_read(), "two unwritten pongs fill it: stop reading");
    let pongs = h.frames_written();
    assert_eq!(pongs.len(), 2);
    assert!(pongs
        .iter()
        .all(|(header, payload)| header.opcode == OpCode::Pong && payload == &[9; 100]));
    assert!(h.session.wants_read(), "written: reading resumes");
}

#[test]
fn small_sends_encoded_by_the_sender_keep_their_order_with_other_commands() {
    let mut h = Harness::new(options(false, false), |_| {});
    h.open();
    h.client.send_blocking(Frame::text("one")).unwrap();
    h.client.send_blocking(Frame::binary(vec![2u8; 3000])).unwrap(); // too big: a command
    h.client.send_blocking(Frame::text("three")).unwrap();
    h.client.cast(("cast", Act::Nothing)).unwrap();
    h.client
        .send_all_blocking([Frame::text("four"), Frame::text("five")])
        .unwrap();
    h.session.handle_commands(h.now);
    let frames = h.frames_written();
    let payloads: Vec<Vec<u8>> = frames.iter().map(|(_, p)| p.clone()).collect();
    assert_eq!(
        payloads,
        [
            b"one".to_vec(),
            vec![2u8; 3000],
            b"three".to_vec(),
            b"four".to_vec(),
            b"five".to_vec()
        ]
    );
    assert!(frames.iter().all(|(header, _)| header.fin && header.mask.is_some()));
    assert_eq!(h.client.stats().frames_out, 5);
    assert_eq!(h.client.queued_sends(), 0, "the whole budget came back");
}

#[test]
fn encoded_sends_do_not_interleave_with_a_fragmented_message() {
    let mut h = Harness::new(options(false, false), |_| {});
    h.open();
    let first = Frame::Fragment(DataKind::Text, bytes::Bytes::from_static(b"par"));
    h.client.cast(("start", Act::Reply(first))).unwrap();
    h.client.send_blocking(Frame::text("whole")).unwrap();
    h.client
        .cast(("finish", Act::Reply(Frame::Finish(bytes::Bytes::from_static(b"tial")))))
        .unwrap();
    h.client.send_blocking(Frame::text("after")).unwrap();
    h.session.handle_commands(h.now);
    let payloads: Vec<Vec<u8>> = h.frames_written().into_iter().map(|(_, p)| p).collect();
    assert_eq!(
        payloads,
        [b"par".to_vec(), b"tial".to_vec(), b"after".to_vec()],
        "the whole message sent mid-fragments is refused, as `send` refuses it"
    );
    assert_eq!(h.client.queued_sends(), 0);
}

/// The driver's interface as a whole: what `poll_output` asks for, answered through
/// `handle_input`, from the first connect to the stop.
mod driver {
    use super::*;

    /// One output, reduced to what the tests compare.
    #[derive(Debug, PartialEq)]
    enum Out {
        Connect,
        Transmit(usize),
        Read,
        CloseTransport,
        Wait(Option<Instant>, bool, bool),
        Stop,
    }

    fn poll(h: &mut Harness) -> Out {
        match h.session.poll_output(h.now) {
            Output::Connect(_) => Out::Connect,
            Output::Transmit(bytes) => Out::Transmit(bytes.len()),
            Output::Read { .. } => Out::Read,
            Output::CloseTransport => Out::CloseTransport,
            Output::Wait { deadline, read, write } => Out::Wait(deadline, read, write),
            Output::Stop => Out::Stop,
        }
    }

    fn input(h: &mut Harness, input: Input) {
        h.session.handle_input(input, h.now);
    }

    /// Answers a `Transmit` by writing all of it; returns the bytes.
    fn write_all(h: &mut Harness) -> Vec<u8> {
        let Output::Transmit(bytes) = h.session.poll_output(h.now) else {
            panic!("expected bytes to write")
        };
        let bytes = bytes.to_vec();
        input(h, Input::Written(bytes.len()));
        bytes
    }

    /// Answers a `Read` with `bytes`.
    fn read(h: &mut Harness, bytes: &[u8]) {
        let Output::Read { buf, .. } = h.session.poll_output(h.now) else {
            panic!("expected a read")
        };
        buf.extend_from_slice(bytes);
        input(h, Input::Read(bytes.len()));
    }

    fn opened() -> Harness {
        let mut h = Harness::new(options(false, false), |_| {});
        assert_eq!(poll(&mut h), Out::Connect);
        input(&mut h, Input::Opened);
        let request = write_all(&mut h);
        read(&mut h, &response_to(&request));
        assert_eq!(h.client.status(), Status::Connected);
        assert_eq!(h.seen(), [Seen::Connect]);
        h
    }

    #[test]
    fn an_upgraded_transport_is_open_at_once_and_deflates_as_agreed() {
        let mut opts = options(false, false);
        opts.settings = opts.settings.map(|s| s.deflate(Some(Default::default())));
        let mut h = Harness::new(opts, |_| {});
        assert_eq!(poll(&mut h), Out::Connect);
        let connect = crate::http2::ExtendedConnect::new(
            &h.session.settings().request,
            h.session.settings().config.deflate.as_ref(),
        )
        .unwrap();
        let response = connect
            .accept(200, [("sec-websocket-extensions", &b"permessage-deflate"[..])])
            .unwrap();
        input(&mut h, Input::Upgraded(Box::new(response)));
        assert_eq!(poll(&mut h), Out::Read, "no request to write: frames may come at once");
        assert_eq!(h.client.status(), Status::Connected);
        input(&mut h, Input::ReadBlocked);
        assert_eq!(h.seen(), [Seen::Connect]);
        h.client
            .cast(("hi", Act::Reply(Frame::text("hello ".repeat(100)))))
            .unwrap();
        input(&mut h, Input::Woken);
        let frames = sent_frames(&write_all(&mut h));
        assert_eq!(frames.len(), 1, "the first write is the frame: no upgrade request");
        assert_eq!(
            frames[0].0.rsv & 0b100,
            0b100,
            "compressed (RSV1), as the response agreed"
        );
    }

    #[test]
    fn a_connection_is_writes_reads_and_waits() {
        let mut h = opened();
        assert_eq!(poll(&mut h), Out::Read, "reads until the transport has nothing");
        input(&mut h, Input::ReadBlocked);
        assert_eq!(poll(&mut h), Out::Wait(None, true, false));
        // A command arrives: the driver wakes, the frame is written, then reads go on.
        h.client.cast(("hi", Act::Reply(Frame::text("hello")))).unwrap();
        input(&mut h, Input::Woken);
        let frames = sent_frames(&write_all(&mut h));
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].1, b"hello");
        assert_eq!(poll(&mut h), Out::Read);
        read(&mut h, &server_frame(OpCode::Text, b"from the server"));
        assert_eq!(
            h.seen(),
            [Seen::Cast("hi"), Seen::Frame(Frame::text("from the server"))]
        );
    }

    #[test]
    fn a_full_transport_waits_for_room_and_keeps_reading() {
        let mut h = opened();
        h.client.cast(("a", Act::Reply(Frame::text("queued")))).unwrap();
        input(&mut h, Input::Woken);
        assert!(matches!(poll(&mut h), Out::Transmit(_)));
        input(&mut h, Input::WriteBlocked);
        assert_eq!(poll(&mut h), Out::Read, "reading goes on while the output waits");
        input(&mut h, Input::ReadBlocked);
        assert_eq!(poll(&mut h), Out::Wait(None, true, true));
        input(&mut h, Input::Woken);
        assert_eq!(sent_frames(&write_all(&mut h))[0].1, b"queued");
    }

    #[test]
    fn a_close_that_times_out_ends_in_close_transport_then_stop() {
        let mut h = opened();
        h.client.close().unwrap();
        input(&mut h, Input::Woken);
        let close = sent_frames(&write_all(&mut h));
        assert_eq!(close_code(&close[0]), 1000);
        assert_eq!(poll(&mut h), Out::Read);
        input(&mut h, Input::ReadBlocked);
        let Out::Wait(Some(deadline), true, false) = poll(&mut h) else {
            panic!("a close waits for the server, with the close timeout as its deadline")
        };
        h.now = deadline;
        input(&mut h, Input::Woken);
        assert_eq!(poll(&mut h), Out::CloseTransport);
        assert_eq!(poll(&mut h), Out::Stop);
        assert!(matches!(h.client.terminated(), Some(CloseReason::LocalTimedOut(_))));
    }

    #[test]
    fn a_failed_connect_waits_then_connects_again() {
        let mut h = Harness::new(options(false, true), |r| {
            r.reconnect_below = 2;
            r.reconnect_delay = Duration::from_secs(1);
        });
        assert_eq!(poll(&mut h), Out::Connect);
        input(&mut h, Input::OpenFailed(refused()));
        assert_eq!(
            poll(&mut h),
            Out::Wait(Some(h.now + Duration::from_secs(1)), false, false)
        );
        h.now += Duration::from_secs(1);
        input(&mut h, Input::Woken);
        assert_eq!(poll(&mut h), Out::Connect);
    }
}
