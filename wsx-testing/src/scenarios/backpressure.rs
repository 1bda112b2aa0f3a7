//! Bounded memory: a peer that stops reading makes senders wait instead of buffering.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use wsx_proto::{CloseReason, CloseStatus, Frame, SendError};

use super::{ClientOf, SHORT, T};
use crate::harness::{settings, Probe, TestAdapter, TestClient, TestOptions};
use crate::server::{Script, Step, TestServer};

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
    let never_reads = Script::new(vec![Step::custom(|conn| {
        conn.pause(Duration::from_secs(20));
        Ok(())
    })]);
    let server = TestServer::start_with_receive_buffer(never_reads, 16 << 10);
    let (probe, _events) = Probe::<A>::new();
    let options = TestOptions::default().send_buffer(SEND_BUFFER);
    let client: ClientOf<A> = A::start(settings(&server.url()).close_timeout(SHORT), probe, options).expect("connect");
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
    for _ in 0..10 {
        let held = client.buffered();
        assert!(held.queued_sends <= SEND_BUFFER, "{held:?}");
        assert!(held.unwritten <= SEND_BUFFER + FRAME + 16, "{held:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(sent.load(Ordering::Relaxed), last, "the sender stays blocked");
    let t0 = Instant::now();
    assert_eq!(
        client.send_frame(Frame::Binary(Bytes::from(vec![0; STUCK])), Duration::from_millis(300)),
        Err(SendError::Timeout)
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
