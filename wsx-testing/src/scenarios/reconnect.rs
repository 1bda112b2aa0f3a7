//! `handle_disconnect`'s `Reconnect`: attempts, new settings, state kept across connections.

use std::time::Duration;

use wsx_proto::{client::Status, close::CloseStatus, protocol::OpCode, CloseReason, Error, Frame, Reconnect};

use super::{close_normally, coded, connected, disconnects, eventually, finish, is_io, start, T};
use crate::harness::{settings, Cmd, Ev, Probe, TestAdapter, TestClient, TestOptions};
use crate::server::{refused_url, Gate, Script, Step, TestServer};

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

/// `Reconnect::After` waits between attempts (three failures 150 ms apart take 300 ms at
/// least), and the attempt numbers keep counting.
pub fn reconnect_after_a_delay_waits_between_attempts<A: TestAdapter>() {
    let delay = Duration::from_millis(150);
    let (probe, mut events) = Probe::<A>::new();
    let probe = probe.on_disconnect(move |s| {
        if s.attempt < 3 {
            Reconnect::After(delay)
        } else {
            Reconnect::Stop
        }
    });
    let options = TestOptions::default()
        .handle_initial_conn_failure(true)
        .async_start(true);
    let started = std::time::Instant::now();
    let client = A::start(refused_url(), probe, options).expect("async start");
    let reason = client.wait(T).expect("stops after three attempts");
    assert!(is_io(&reason), "{reason:?}");
    assert!(
        started.elapsed() >= 2 * delay,
        "three attempts in {:?}",
        started.elapsed()
    );
    events.wait_for("terminate", T, |e| matches!(e, Ev::Terminate(_)).then_some(()));
    let attempts: Vec<u32> = disconnects(&events).iter().map(|d| d.1).collect();
    assert_eq!(attempts, vec![1, 2, 3]);
}

/// `close()` while waiting a long reconnect delay stops the client at once, with the reason of
/// the disconnect, and no further attempt is made.
pub fn close_during_a_reconnect_delay_stops_at_once<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::close(1001, "bye"), Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    let probe = probe.on_disconnect(|_| Reconnect::After(Duration::from_secs(60)));
    let client = start::<A>(&server.url(), probe);
    events.wait_for("handle_disconnect", T, |e| {
        matches!(e, Ev::Disconnect { .. }).then_some(())
    });
    eventually("the client waits to reconnect", || {
        client.status() == Status::Connecting
    });
    let closed = std::time::Instant::now();
    client.close().expect("close while waiting");
    let reason = finish::<A>(&client, &mut events);
    assert_eq!(reason, CloseReason::Remote(coded(1001, "bye")));
    assert!(
        closed.elapsed() < Duration::from_secs(2),
        "stopped after {:?}",
        closed.elapsed()
    );
    assert_eq!(server.connections(), 1, "no second attempt");
}
