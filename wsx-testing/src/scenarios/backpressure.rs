//! Bounded memory: a peer that stops reading makes senders wait instead of buffering.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use wsx_proto::protocol::OpCode;
use wsx_proto::{close::CloseStatus, CloseReason, Frame, SendError};

use super::{ClientOf, SHORT, T};
use crate::harness::{settings, Probe, TestAdapter, TestClient, TestOptions};
use crate::server::{Gate, Script, Step, TestServer};

const SEND_BUFFER: usize = 256 << 10;
const FRAME: usize = 64 << 10;
/// Larger than the room a stalled socket may still find: Linux accepts writes without
/// signalling writability (it signals once a third of the buffer is free), so a few hundred
/// KiB may still leave when a command wakes the connection.
const STUCK: usize = 1 << 20;

/// A server that accepts and never reads: `send` stops once the send buffer (and the kernel's
/// socket buffers) are full, the bytes held stay within the buffer plus one frame while the
/// sender keeps trying, `send_frame` times out, and `close` still ends the client within the
/// close timeout, failing the blocked sender.
pub fn server_that_never_reads_keeps_memory_bounded<A: TestAdapter>() {
    let server = never_reading_server();
    let (probe, _events) = Probe::<A>::new();
    let options = TestOptions::default().send_buffer(SEND_BUFFER);
    let client: ClientOf<A> = A::start(settings(&server.url()).close_timeout(SHORT), probe, options).expect("connect");
    let (sender, sent, last) = send_until_stalled::<A>(&client);
    for _ in 0..10 {
        let held = client.buffered();
        assert!(held.queued_sends <= SEND_BUFFER, "{held:?}");
        assert!(held.unwritten <= SEND_BUFFER + FRAME + 16, "{held:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(sent.load(Ordering::Relaxed), last, "the sender stays blocked");
    let t0 = Instant::now();
    // Some of it may have found room in the socket: then it is still sent, and says so.
    let stuck = client.send_frame(Frame::Binary(Bytes::from(vec![0; STUCK])), Duration::from_millis(300));
    assert!(
        matches!(stuck, Err(SendError::Timeout | SendError::TimeoutCommitted)),
        "{stuck:?}"
    );
    assert!(t0.elapsed() < Duration::from_secs(2));
    client.close().expect("close");
    let reason = client.wait(T).expect("close ends the client despite the full output");
    assert_eq!(reason, CloseReason::LocalTimedOut(CloseStatus::Normal));
    let refused = sender.join().expect("sender thread");
    assert!(
        matches!(refused, SendError::ConnectionFailed(_) | SendError::NotConnected),
        "{refused:?}"
    );
}

/// With the output full (a server that never reads), the whole close, from `close()` to
/// `wait()` returning, stays within the close timeout: the close frame that cannot leave gets
/// no extra time once the close has timed out.
pub fn close_with_a_full_output_stays_within_the_close_timeout<A: TestAdapter>() {
    const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);
    let server = never_reading_server();
    let (probe, _events) = Probe::<A>::new();
    let options = TestOptions::default().send_buffer(SEND_BUFFER);
    let s = settings(&server.url()).close_timeout(CLOSE_TIMEOUT);
    let client: ClientOf<A> = A::start(s, probe, options).expect("connect");
    let (sender, _, _) = send_until_stalled::<A>(&client);
    let t0 = Instant::now();
    client.close().expect("close");
    let reason = client.wait(T).expect("close ends the client despite the full output");
    let took = t0.elapsed();
    assert_eq!(reason, CloseReason::LocalTimedOut(CloseStatus::Normal));
    assert!(
        took >= CLOSE_TIMEOUT - Duration::from_millis(20),
        "closed after {took:?}"
    );
    assert!(
        took < CLOSE_TIMEOUT + Duration::from_millis(500),
        "the close took {took:?}, past its {CLOSE_TIMEOUT:?} timeout"
    );
    sender.join().expect("sender thread");
}

/// `send_frame` callers that time out while the server does not read: `Timeout` means the
/// frame is never sent (it was taken back, even from the middle of the output), and
/// `TimeoutCommitted` that it is sent whole; what the server reads once it reads again is
/// exactly the frames that were not taken back, each once, in order.
pub fn timed_out_send_frame_is_never_sent<A: TestAdapter>() {
    const PIECE: usize = 64 << 10;
    let resume = Gate::new();
    let server = TestServer::start_with_receive_buffer(
        Script::new(vec![Step::WaitFor(resume.clone()), Step::AwaitClose]),
        16 << 10,
    );
    let (probe, _events) = Probe::<A>::new();
    let client: ClientOf<A> = A::start(settings(&server.url()), probe, TestOptions::default()).expect("connect");
    let frame = |id: u8| Frame::Binary(Bytes::from(vec![id; PIECE]));
    let mut outcomes: Vec<(u8, Result<(), SendError>)> = Vec::new();
    // Fill the socket until a frame cannot be written in time.
    for id in 0..=100u8 {
        assert!(id < 100, "the socket never filled");
        let outcome = client.send_frame(frame(id), Duration::from_millis(300));
        let done = outcome.is_err();
        outcomes.push((id, outcome));
        if done {
            break;
        }
    }
    // Several callers at once, so frames queued behind others time out first.
    let callers: Vec<_> = (0..6u8)
        .map(|i| {
            let client = client.clone();
            let id = 101 + i;
            let frame = frame(id);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20) * u32::from(i));
                let timeout = Duration::from_millis(150) * u32::from(6 - i);
                (id, client.send_frame(frame, timeout))
            })
        })
        .collect();
    for caller in callers {
        outcomes.push(caller.join().expect("caller thread"));
    }
    let taken_back = outcomes.iter().filter(|(_, o)| *o == Err(SendError::Timeout)).count();
    assert!(taken_back >= 2, "no frame was taken back: {outcomes:?}");
    resume.open();
    client
        .send_frame(Frame::text("end"), T)
        .expect("the server reads again");
    let mut received = Vec::new();
    loop {
        let got = server.expect_frame(T);
        if got.text() == Some("end") {
            break;
        }
        assert_eq!(got.payload.len(), PIECE, "a whole frame");
        assert!(
            got.payload.iter().all(|b| *b == got.payload[0]),
            "one frame's bytes only"
        );
        received.push(got.payload[0]);
    }
    let expected: Vec<u8> = {
        let mut sent: Vec<u8> = outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Ok(()) | Err(SendError::TimeoutCommitted)))
            .map(|(id, _)| *id)
            .collect();
        sent.sort_unstable();
        sent
    };
    // What the client counts as sent is what arrived: a frame taken back is uncounted.
    let stats = client.stats();
    assert_eq!(stats.frames_out as usize, received.len() + 1, "{stats:?}");
    assert_eq!(stats.bytes_out as usize, received.len() * PIECE + 3, "{stats:?}");
    let mut got = received.clone();
    got.sort_unstable();
    assert_eq!(got, expected, "received {received:?} for {outcomes:?}");
    for (id, outcome) in &outcomes {
        assert!(
            matches!(outcome, Ok(()) | Err(SendError::Timeout | SendError::TimeoutCommitted)),
            "frame {id}: {outcome:?}"
        );
    }
    client.close().expect("close");
    client.wait(T).expect("the client stops");
}

/// Accepts and never reads, with a small receive buffer.
fn never_reading_server() -> TestServer {
    let never_reads = Script::new(vec![Step::custom(|conn| {
        conn.pause(Duration::from_secs(20));
        Ok(())
    })]);
    TestServer::start_with_receive_buffer(never_reads, 16 << 10)
}

/// A thread that sends until it is refused, once sending has stalled: it, the count of frames
/// it sent, and that count when it stalled.
fn send_until_stalled<A: TestAdapter>(
    client: &ClientOf<A>,
) -> (std::thread::JoinHandle<SendError>, Arc<AtomicUsize>, usize) {
    let sent = Arc::new(AtomicUsize::new(0));
    let sender = {
        let (client, sent) = (client.clone(), sent.clone());
        std::thread::spawn(move || {
            let payload = Bytes::from(vec![0x5a; FRAME]);
            loop {
                match client.send(Frame::Binary(payload.clone())) {
                    Ok(()) => sent.fetch_add(1, Ordering::Relaxed),
                    Err(e) => return e,
                };
            }
        })
    };
    // Sending stalls once the kernel's buffers and ours are full.
    let mut last = 0;
    let deadline = Instant::now() + T;
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let now = sent.load(Ordering::Relaxed);
        if now == last && now > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "send never stopped: {now} frames sent");
        last = now;
    }
    (sender, sent, last)
}

/// A frame larger than the whole send buffer, waiting for room in the socket, does not stop
/// the client from reading: it is a pipelined send (its budget bounds it), not a pile of
/// replies. The server here writes a message larger than both sockets can hold before it
/// reads anything, so a client that stopped reading would deadlock with it.
pub fn a_frame_larger_than_the_send_buffer_keeps_the_client_reading<A: TestAdapter>() {
    // Beyond what loopback sockets hold at most (a 6 MiB receive and a 4 MiB send buffer).
    const LARGE: usize = 12 << 20;
    let incoming = Bytes::from(vec![1; LARGE]);
    let script = Script::new(vec![
        Step::Send {
            fin: true,
            opcode: OpCode::Binary,
            payload: incoming.to_vec(),
        },
        Step::Echo,
    ]);
    let server = TestServer::start_with_receive_buffer(script, 16 << 10);
    let (probe, mut events) = Probe::<A>::new();
    let options = TestOptions::default().send_buffer(16 << 10);
    let client: ClientOf<A> = A::start(server.url().as_str(), probe, options).expect("connect");
    let outgoing = Bytes::from(vec![2; LARGE]);
    client.send(Frame::Binary(outgoing.clone())).expect("send");
    let same = |frame: Frame, expected: &Bytes| matches!(frame, Frame::Binary(got) if got == expected);
    assert!(same(events.frame(T), &incoming), "the server's message arrives");
    assert!(same(events.frame(T), &outgoing), "then the echo of ours");
    client.close().expect("close");
    assert!(client.wait(T).is_some());
}
