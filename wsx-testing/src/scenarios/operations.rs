//! The client handle's operations and their errors, stats and telemetry.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use wsx_proto::{
    client::Status, close::CloseFrame, close::CloseStatus, error::EncodeError, telemetry::StatsSnapshot, CloseCode,
    CloseReason, Frame, Reply, SendError,
};

use super::{close_normally, connected, eventually, start, T};
use crate::harness::{Cmd, Ev, Probe, TelemetryLog, TestAdapter, TestClient, TestOptions};
use crate::server::{Gate, Handshake, Script, Step, TestServer};

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
