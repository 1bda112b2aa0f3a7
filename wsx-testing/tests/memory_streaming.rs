//! Peak memory while streaming large messages with no window: a loop of `send`s of
//! 1 MiB messages to an echo server in another process must stay within the send buffer and a
//! few frames, not grow with what is sent. One test per binary, so the process's peak RSS is
//! this test's.

use std::process::Command;
use std::time::{Duration, Instant};

use wsx_testing::memory::status_bytes;
use wsx_testing::{ChildServer, Counter};
use wsx_tokio::{Bytes, Client, Frame};

const MESSAGE: usize = 1 << 20;
const MESSAGES: u64 = 256;
const LIMIT: u64 = 16 << 20;

#[test]
fn streaming_256_mib_of_1_mib_messages_stays_under_16_mib() {
    let server = ChildServer::spawn(Command::new(env!("CARGO_BIN_EXE_wsx-echo-server")));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let echoed = Counter::default();
    let (baseline, peak) = runtime.block_on(async {
        let client = Client::start(server.url(), echoed.clone()).await.expect("connect");
        let payload = Bytes::from(vec![0x42; MESSAGE]);
        // Warm up: allocator arenas, buffers and the runtime reach their working size.
        for _ in 0..8 {
            client.send(Frame::Binary(payload.clone())).await.expect("send");
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while (echoed.bytes() as u64) < 8 * MESSAGE as u64 {
            assert!(Instant::now() < deadline, "no echoes");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let baseline = status_bytes("VmRSS:");
        for _ in 0..MESSAGES {
            client.send(Frame::Binary(payload.clone())).await.expect("send");
        }
        while (echoed.bytes() as u64) < (8 + MESSAGES) * MESSAGE as u64 {
            assert!(
                Instant::now() < deadline,
                "echoes stopped at {}",
                (echoed.bytes() as u64)
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        client.close().expect("close");
        client.wait().await;
        (baseline, status_bytes("VmHWM:"))
    });
    drop(server);
    let growth = peak.saturating_sub(baseline);
    eprintln!("baseline {baseline} B, peak {peak} B, growth {growth} B over {MESSAGES} MiB sent");
    assert!(
        growth < LIMIT,
        "peak RSS grew by {growth} bytes while streaming (limit {LIMIT})"
    );
}
