//! Keepalive on every adapter: pings on time keep a quiet connection up while the server
//! answers; a server that stops answering (or sends nothing) ends the connection with the
//! reason, which `handle_disconnect` sees.

use std::time::{Duration, Instant};

use wsx_proto::{client::Status, protocol::OpCode, CloseReason, Error};

use super::{close_normally, disconnects, finish, ClientOf, T};
use crate::harness::{settings, Probe, TestAdapter, TestClient, TestOptions};
use crate::server::{Script, Step, TestServer};

const TICK: Duration = Duration::from_millis(100);

/// A server that accepts and then reads nothing for a while: no pong, no frame.
fn silent_server() -> TestServer {
    TestServer::start(Script::new(vec![Step::custom(|conn| {
        conn.pause(Duration::from_secs(4));
        Ok(())
    })]))
}

fn ended_with<A: TestAdapter>(client: &ClientOf<A>, events: &mut crate::harness::Events, expected: Error) {
    let started = Instant::now();
    let reason = finish::<A>(client, events);
    assert_eq!(reason, CloseReason::Error(expected));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    let seen = disconnects(events);
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, reason, "handle_disconnect saw the same reason");
}

/// The server answers every ping: five intervals later the connection is still up, and the
/// server has seen the pings (8-byte counters, in order).
pub fn keepalive_pings_keep_a_quiet_connection_up<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    // Timeouts far longer than the interval: a loaded machine may delay a pong, and the point
    // here is that answered pings keep the connection up.
    let s = settings(&server.url())
        .keepalive(TICK, 30 * TICK)
        .idle_timeout(40 * TICK);
    let client = A::start(s, probe, TestOptions::default()).expect("connect");
    let pings: Vec<u64> = (0..5)
        .map(|_| {
            let frame = server.expect_frame(T);
            assert_eq!(frame.opcode, OpCode::Ping);
            u64::from_be_bytes(frame.payload[..].try_into().expect("8 bytes"))
        })
        .collect();
    assert_eq!(pings, [1, 2, 3, 4, 5]);
    assert_eq!(client.status(), Status::Connected);
    close_normally::<A>(&client, &server, &mut events);
}

/// No answer to a ping within the pong timeout: `PongTimeout`, well before the server wakes.
pub fn keepalive_pong_timeout_ends_the_connection<A: TestAdapter>() {
    let server = silent_server();
    let (probe, mut events) = Probe::<A>::new();
    let s = settings(&server.url()).keepalive(TICK, 2 * TICK);
    let client = A::start(s, probe, TestOptions::default()).expect("connect");
    ended_with::<A>(&client, &mut events, Error::PongTimeout(2 * TICK));
}

/// No frame at all within the idle timeout: `IdleTimeout`.
pub fn idle_timeout_ends_a_silent_connection<A: TestAdapter>() {
    let server = silent_server();
    let (probe, mut events) = Probe::<A>::new();
    let s = settings(&server.url()).idle_timeout(3 * TICK);
    let client = A::start(s, probe, TestOptions::default()).expect("connect");
    ended_with::<A>(&client, &mut events, Error::IdleTimeout(3 * TICK));
}

/// While a thread sends 16 KiB messages as fast as it can for a second, pings still go out
/// about every interval (queued on time, behind at most the send buffer).
pub fn keepalive_pings_go_out_while_sending_at_full_speed<A: TestAdapter>() {
    let server = TestServer::start(Script::new(vec![Step::Listen]));
    let (probe, mut events) = Probe::<A>::new();
    let s = settings(&server.url()).keepalive(TICK, 50 * TICK);
    let client = A::start(s, probe, TestOptions::default()).expect("connect");
    let sender = {
        let client = client.clone();
        std::thread::spawn(move || {
            let payload = bytes::Bytes::from(vec![7u8; 16 << 10]);
            let until = Instant::now() + Duration::from_secs(1);
            let mut sent = 0u32;
            while Instant::now() < until {
                client.send(wsx_proto::Frame::Binary(payload.clone())).expect("send");
                sent += 1;
            }
            sent
        })
    };
    let sent = sender.join().expect("sender");
    let (mut data, mut pings) = (0, 0);
    while data < sent {
        match server.expect_frame(T).opcode {
            OpCode::Ping => pings += 1,
            OpCode::Binary => data += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(sent > 100, "the sender sent only {sent} messages");
    assert!(
        pings >= 6,
        "{pings} pings among {sent} messages in one second of sending"
    );
    close_normally::<A>(&client, &server, &mut events);
}
