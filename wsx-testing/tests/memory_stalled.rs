//! A server that accepts and never reads: for 30 s of trying to send 1 MiB messages,
//! the client's memory stays flat: the bytes it holds stay within the send buffer plus a frame,
//! RSS stops growing, the sender waits, and each of the 60 `send_frame`s times out and is
//! withdrawn instead of piling up. One test per binary, so the process's RSS is this test's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wsx_testing::memory::rss;
use wsx_testing::{Script, Step, TestServer};
use wsx_tokio::{Bytes, Client, Frame, Handler, SendError};

struct Quiet;

impl Handler for Quiet {
    type Cast = ();
    type Info = ();
}

const SEND_BUFFER: usize = 4 << 20;
const MESSAGE: usize = 1 << 20;
const TRYING: Duration = Duration::from_secs(30);

#[test]
fn thirty_seconds_against_a_server_that_never_reads_stay_flat() {
    let server = TestServer::start(Script::new(vec![Step::custom(|conn| {
        conn.pause(Duration::from_secs(60));
        Ok(())
    })]));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let client: Client<Quiet> = runtime
        .block_on(wsx_tokio::builder(server.url()).send_buffer(SEND_BUFFER).start(Quiet))
        .expect("connect");
    let sent = Arc::new(AtomicU64::new(0));
    let sender = {
        let (client, sent) = (client.clone(), sent.clone());
        runtime.spawn(async move {
            let payload = Bytes::from(vec![0x42; MESSAGE]);
            while client.send(Frame::Binary(payload.clone())).await.is_ok() {
                sent.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    // Let the kernel's socket buffers and ours fill up.
    std::thread::sleep(Duration::from_secs(3));
    let start_rss = rss();
    let stalled_at = sent.load(Ordering::Relaxed);
    // The most RSS seen in each half of the 30 s.
    let (mut first_half, mut second_half, mut timeouts) = (start_rss, 0, 0);
    let started = Instant::now();
    while started.elapsed() < TRYING {
        let result = runtime.block_on(
            client.send_frame_timeout(Frame::Binary(Bytes::from(vec![1; MESSAGE])), Duration::from_millis(500)),
        );
        assert!(
            matches!(result, Err(SendError::Timeout | SendError::TimeoutCommitted)),
            "{result:?}"
        );
        timeouts += 1;
        let held = client.buffered_bytes();
        assert!(held.queued_sends <= SEND_BUFFER, "{held:?}");
        assert!(held.unwritten <= SEND_BUFFER + MESSAGE + 16, "{held:?}");
        let half = if started.elapsed() < TRYING / 2 {
            &mut first_half
        } else {
            &mut second_half
        };
        *half = (*half).max(rss());
    }
    let growth = first_half.max(second_half).saturating_sub(start_rss);
    let late_growth = second_half.saturating_sub(first_half);
    eprintln!(
        "{timeouts} send_frame timeouts, sends {stalled_at} -> {}, RSS {start_rss} B, growth {growth} B, in the second half {late_growth} B",
        sent.load(Ordering::Relaxed)
    );
    assert!(sent.load(Ordering::Relaxed) <= stalled_at + 1, "the sender kept going");
    // The exact bound is on the bytes held (checked above, every half second); RSS also
    // carries the allocator's free lists, so it is held to a bound far below the 60 MiB the
    // timed-out `send_frame`s tried to queue. In the second half it may grow by one move of
    // the write buffer (its unwritten bytes and a frame, copied when a frame committed late
    // finds no room, the old room kept in the allocator's free lists), not by the 30 MiB that
    // keeping the withdrawn frames would add.
    assert!(
        growth < (4 * SEND_BUFFER) as u64,
        "RSS grew by {growth} bytes while stalled"
    );
    assert!(
        late_growth <= (SEND_BUFFER + 2 * MESSAGE) as u64,
        "RSS still growing after 15 s: {late_growth} bytes"
    );
    client.close().expect("close");
    runtime.block_on(client.wait());
    runtime.block_on(sender).expect("sender task");
}
