//! Peak memory while streaming large messages with no window (issue 9): a loop of `send`s of
//! 1 MiB messages to an echo server in another process must stay within the send buffer and a
//! few frames, not grow with what is sent. One test per binary, so the process's peak RSS is
//! this test's.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wsx_testing::memory::status_bytes;
use wsx_tokio::{Bytes, Client, Context, Frame, Handler, Reply};

struct CountEchoes(Arc<AtomicU64>);

impl Handler for CountEchoes {
    type Cast = ();
    type Info = ();

    fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        self.0.fetch_add(frame.payload_len() as u64, Ordering::Relaxed);
        Reply::Continue
    }
}

const MESSAGE: usize = 1 << 20;
const MESSAGES: u64 = 256;
const LIMIT: u64 = 16 << 20;

#[test]
fn streaming_256_mib_of_1_mib_messages_stays_under_16_mib() {
    let mut server = Command::new(env!("CARGO_BIN_EXE_wsx-echo-server"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("echo server");
    let mut url = String::new();
    BufReader::new(server.stdout.take().expect("stdout"))
        .read_line(&mut url)
        .expect("server URL");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let echoed = Arc::new(AtomicU64::new(0));
    let (baseline, peak) = runtime.block_on(async {
        let client = Client::start(url.trim(), CountEchoes(echoed.clone()))
            .await
            .expect("connect");
        let payload = Bytes::from(vec![0x42; MESSAGE]);
        // Warm up: allocator arenas, buffers and the runtime reach their working size.
        for _ in 0..8 {
            client.send(Frame::Binary(payload.clone())).await.expect("send");
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while echoed.load(Ordering::Relaxed) < 8 * MESSAGE as u64 {
            assert!(Instant::now() < deadline, "no echoes");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let baseline = status_bytes("VmRSS:");
        for _ in 0..MESSAGES {
            client.send(Frame::Binary(payload.clone())).await.expect("send");
        }
        while echoed.load(Ordering::Relaxed) < (8 + MESSAGES) * MESSAGE as u64 {
            assert!(
                Instant::now() < deadline,
                "echoes stopped at {}",
                echoed.load(Ordering::Relaxed)
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        client.close().expect("close");
        client.wait().await;
        (baseline, status_bytes("VmHWM:"))
    });
    drop(server.stdin.take());
    let _ = server.wait();
    let growth = peak.saturating_sub(baseline);
    eprintln!("baseline {baseline} B, peak {peak} B, growth {growth} B over {MESSAGES} MiB sent");
    assert!(
        growth < LIMIT,
        "peak RSS grew by {growth} bytes while streaming (limit {LIMIT})"
    );
}
