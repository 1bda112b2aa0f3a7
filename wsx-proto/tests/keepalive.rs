//! Keepalive on a fake clock: pings on time, a connection that goes quiet failed with the
//! reason, any frame a sign of life; nothing at all when off (the default).

use std::time::{Duration, Instant};

use bytes::BytesMut;
use wsx_proto::protocol::*;

mod common;
use common::{response_with, sent_frames};

const SECOND: Duration = Duration::from_secs(1);

fn connect(config: Config, now: Instant) -> Connection {
    let mut conn = Connection::new(&Request::new(WsUrl::parse("ws://localhost/").unwrap()), config).unwrap();
    let req = conn.poll_transmit(now).unwrap();
    conn.receive(&response_with(&req, ""));
    assert!(matches!(conn.poll_event(), Some(Event::Connected(_))));
    conn
}

fn server_frame(opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_frame(&mut out, true, opcode, payload, None);
    out.to_vec()
}

fn sent(conn: &mut Connection, now: Instant) -> Vec<(FrameHeader, Vec<u8>)> {
    sent_frames(&conn.poll_transmit(now).unwrap_or_default())
}

fn events(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

#[test]
fn off_by_default() {
    let t0 = Instant::now();
    let mut conn = connect(Config::default(), t0);
    assert!(sent(&mut conn, t0).is_empty());
    assert_eq!(conn.poll_timeout(), None);
}

#[test]
fn pings_on_time_and_an_unanswered_ping_fails_the_connection() {
    let t0 = Instant::now();
    let config = Config::default().ping_interval(Some(SECOND)).pong_timeout(SECOND / 2);
    let mut conn = connect(config, t0);
    assert!(sent(&mut conn, t0).is_empty());
    assert_eq!(conn.poll_timeout(), Some(t0 + SECOND));
    // The first ping, answered.
    conn.handle_timeout(t0 + SECOND);
    let frames = sent(&mut conn, t0 + SECOND);
    assert_eq!(frames.len(), 1);
    assert_eq!(
        (frames[0].0.opcode, frames[0].1.as_slice()),
        (OpCode::Ping, &1u64.to_be_bytes()[..])
    );
    assert_eq!(conn.poll_timeout(), Some(t0 + SECOND + SECOND / 2));
    conn.receive(&server_frame(OpCode::Pong, &1u64.to_be_bytes()));
    assert!(matches!(events(&mut conn).as_slice(), [Event::Frame(Frame::Pong(_))]));
    let t1 = t0 + SECOND + SECOND / 5;
    conn.start_pending_timer(t1);
    assert_eq!(
        conn.poll_timeout(),
        Some(t0 + 2 * SECOND),
        "answered: next is the next ping"
    );
    // The second ping, never answered.
    conn.handle_timeout(t0 + 2 * SECOND);
    assert_eq!(sent(&mut conn, t0 + 2 * SECOND)[0].1, 2u64.to_be_bytes());
    conn.handle_timeout(t0 + 2 * SECOND + SECOND / 4);
    assert!(events(&mut conn).is_empty(), "not yet");
    conn.handle_timeout(t0 + 2 * SECOND + SECOND / 2);
    assert_eq!(
        events(&mut conn),
        [Event::Closed(Box::new(CloseReason::Error(
            ConnectionError::PongTimeout(SECOND / 2)
        )))]
    );
    let close = sent(&mut conn, t0 + 3 * SECOND);
    assert_eq!(close[0].0.opcode, OpCode::Close);
    assert_eq!(u16::from_be_bytes([close[0].1[0], close[0].1[1]]), 1011);
    assert_eq!(conn.state(), State::Closed);
}

#[test]
fn any_frame_answers_a_ping() {
    let t0 = Instant::now();
    let config = Config::default().ping_interval(Some(SECOND)).pong_timeout(SECOND);
    let mut conn = connect(config, t0);
    conn.poll_transmit(t0);
    conn.handle_timeout(t0 + SECOND);
    conn.receive(&server_frame(OpCode::Text, b"busy, pong later"));
    events(&mut conn);
    conn.start_pending_timer(t0 + SECOND + SECOND / 2);
    conn.handle_timeout(t0 + 2 * SECOND);
    assert!(events(&mut conn).is_empty(), "the text was a sign of life");
    assert_eq!(conn.state(), State::Open);
}

#[test]
fn idle_timeout_counts_from_the_last_frame() {
    let t0 = Instant::now();
    let config = Config::default().idle_timeout(Some(2 * SECOND));
    let mut conn = connect(config, t0);
    conn.poll_transmit(t0);
    assert_eq!(conn.poll_timeout(), Some(t0 + 2 * SECOND));
    conn.receive(&server_frame(OpCode::Binary, b"x"));
    events(&mut conn);
    conn.start_pending_timer(t0 + SECOND);
    assert_eq!(conn.poll_timeout(), Some(t0 + 3 * SECOND));
    conn.handle_timeout(t0 + 2 * SECOND);
    assert!(events(&mut conn).is_empty());
    conn.handle_timeout(t0 + 3 * SECOND);
    assert_eq!(
        events(&mut conn),
        [Event::Closed(Box::new(CloseReason::Error(
            ConnectionError::IdleTimeout(2 * SECOND)
        )))]
    );
}

#[test]
fn keepalive_stops_once_closing() {
    let t0 = Instant::now();
    let config = Config::default().ping_interval(Some(SECOND)).close_timeout(10 * SECOND);
    let mut conn = connect(config, t0);
    conn.poll_transmit(t0);
    conn.close(None).unwrap();
    conn.poll_transmit(t0);
    assert_eq!(conn.poll_timeout(), Some(t0 + 10 * SECOND), "only the close timeout");
    conn.handle_timeout(t0 + SECOND);
    assert!(conn.poll_transmit(t0 + SECOND).is_none(), "no ping while closing");
}
