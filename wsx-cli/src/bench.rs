//! `wsx bench URL`: the project's workloads (benches/e2e) against any server that echoes:
//! round trips of 16-byte text, streaming with a window, and streaming with none (a loop of
//! sends, as users stream), with the echo latency of every message.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use tokio::sync::{Notify, Semaphore};
use wsx_tokio::{Bytes, Client, Context, Frame, Handler, Reply};

use crate::args::{BenchArgs, Workload};
use crate::exit::{Exit, Failure};
use crate::settings::connect_settings;

/// The round-trip message, as in benches/e2e.
const TEXT16: &str = "0123456789abcdef";

/// How long the server may go without echoing anything before the run fails.
const STALL: Duration = Duration::from_secs(10);

/// Echo latencies in log-linear buckets: exact below 64 ns, then 32 buckets per power of
/// two (about 3%), so a run of millions of messages needs 15 KiB.
#[derive(Debug)]
struct Histogram {
    counts: Vec<u64>,
}

impl Histogram {
    const SUB_BITS: u32 = 5;

    fn new() -> Self {
        Self {
            counts: vec![0; 64 + 58 * 32],
        }
    }

    fn bucket(ns: u64) -> usize {
        if ns < 64 {
            return ns as usize;
        }
        let exp = 63 - ns.leading_zeros();
        let sub = (ns >> (exp - Self::SUB_BITS)) & 31;
        64 + (exp as usize - 6) * 32 + sub as usize
    }

    /// The smallest value in bucket `i`.
    fn floor(i: usize) -> u64 {
        if i < 64 {
            return i as u64;
        }
        let exp = (i - 64) / 32 + 6;
        let sub = ((i - 64) % 32) as u64;
        (32 + sub) << (exp as u32 - Self::SUB_BITS)
    }

    fn record(&mut self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let i = Self::bucket(ns).min(self.counts.len() - 1);
        self.counts[i] += 1;
    }

    /// The `p` quantile (0..=1), or `None` without samples.
    fn quantile(&self, p: f64) -> Option<Duration> {
        let total: u64 = self.counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((total as f64 * p).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Some(Duration::from_nanos(Self::floor(i)));
            }
        }
        None
    }
}

/// What the handler and the sender share.
#[derive(Debug)]
struct Echoes {
    echoed: AtomicU64,
    bytes: AtomicU64,
    /// One lock per message each way: the sender stamps, the handler takes the stamp.
    timing: Mutex<Timing>,
    /// One permit per message the window has room for.
    window: Semaphore,
    echo: Notify,
}

#[derive(Debug)]
struct Timing {
    /// When each message in flight was sent (echoes come back in order).
    sent_at: VecDeque<Instant>,
    latencies: Histogram,
    last_echo: Option<Instant>,
}

impl Echoes {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            echoed: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            timing: Mutex::new(Timing {
                sent_at: VecDeque::new(),
                latencies: Histogram::new(),
                last_echo: None,
            }),
            window: Semaphore::new(0),
            echo: Notify::new(),
        })
    }

    fn sending(&self) {
        self.timing.lock().unwrap().sent_at.push_back(Instant::now());
    }

    /// Waits until more than `seen` messages have come back, at most [`STALL`].
    async fn echoed_past(&self, seen: u64, what: &str) -> Result<(), Failure> {
        let more = async {
            while self.echoed.load(Ordering::Acquire) == seen {
                self.echo.notified().await;
            }
        };
        tokio::time::timeout(STALL, more).await.map_err(|_| no_echo(what))
    }
}

/// Counts echoes.
struct Counter(Arc<Echoes>);

impl Handler for Counter {
    type Cast = ();
    type Info = ();

    fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        let len = match &frame {
            Frame::Text(text) => text.len(),
            Frame::Binary(data) => data.len(),
            _ => return Reply::Continue,
        };
        let now = Instant::now();
        let mut timing = self.0.timing.lock().unwrap();
        if let Some(sent) = timing.sent_at.pop_front() {
            timing.latencies.record(now - sent);
        }
        timing.last_echo = Some(now);
        drop(timing);
        self.0.bytes.fetch_add(len as u64, Ordering::Relaxed);
        self.0.echoed.fetch_add(1, Ordering::Release);
        self.0.window.add_permits(1);
        self.0.echo.notify_one();
        Reply::Continue
    }
}

/// One workload's outcome.
#[derive(Debug)]
struct Summary {
    workload: &'static str,
    size: usize,
    messages: u64,
    secs: f64,
    bytes: u64,
    p50: Option<Duration>,
    p99: Option<Duration>,
}

impl Summary {
    fn msgs_per_sec(&self) -> f64 {
        self.messages as f64 / self.secs.max(1e-9)
    }

    fn mib_per_sec(&self) -> f64 {
        self.bytes as f64 / (1024.0 * 1024.0) / self.secs.max(1e-9)
    }
}

/// Runs `wsx bench`.
pub async fn run(args: BenchArgs) -> Result<Exit, Failure> {
    if args.size == 0 {
        return Err(Failure::new(Exit::Usage, "--size must be at least 1 byte"));
    }
    let workloads: &[Workload] = match args.workload {
        Workload::All => &[Workload::Rtt, Workload::Stream, Workload::Flood],
        Workload::Rtt => &[Workload::Rtt],
        Workload::Stream => &[Workload::Stream],
        Workload::Flood => &[Workload::Flood],
    };
    let mut summaries = Vec::new();
    for &workload in workloads {
        summaries.push(run_one(&args, workload).await?);
    }
    if args.json {
        for s in &summaries {
            println!(
                "{}",
                json!({
                    "workload": s.workload,
                    "size": s.size,
                    "messages": s.messages,
                    "secs": s.secs,
                    "msgs_per_s": s.msgs_per_sec(),
                    "mib_per_s": s.mib_per_sec(),
                    "p50_us": s.p50.map(|d| d.as_secs_f64() * 1e6),
                    "p99_us": s.p99.map(|d| d.as_secs_f64() * 1e6),
                })
            );
        }
    } else {
        print!("{}", table(&summaries));
    }
    Ok(Exit::Ok)
}

async fn run_one(args: &BenchArgs, workload: Workload) -> Result<Summary, Failure> {
    let settings = connect_settings(&args.url, &args.connection)?;
    let echoes = Echoes::new();
    let client = wsx_tokio::builder(settings)
        .start(Counter(echoes.clone()))
        .await
        .map_err(|e| Failure::new(Exit::for_error(&e), format!("cannot connect to {}: {e}", args.url)))?;
    let (name, size) = match workload {
        Workload::Rtt => ("rtt", TEXT16.len()),
        Workload::Stream => ("stream", args.size),
        _ => ("flood", args.size),
    };
    let progress = progress_bar(name, args.duration);
    let ticker = {
        let (progress, echoes) = (progress.clone(), echoes.clone());
        tokio::spawn(async move {
            let start = Instant::now();
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                progress.set_position(start.elapsed().as_millis() as u64);
                progress.set_message(format!("{} echoed", echoes.echoed.load(Ordering::Relaxed)));
            }
        })
    };
    let start = Instant::now();
    let result = match workload {
        Workload::Rtt => round_trips(&client, &echoes, args.duration).await,
        Workload::Stream => stream(&client, &echoes, args, Some(args.window)).await,
        _ => stream(&client, &echoes, args, None).await,
    };
    ticker.abort();
    progress.finish_and_clear();
    let _ = client.close();
    let _ = tokio::time::timeout(Duration::from_secs(5), client.wait()).await;
    result?;
    let timing = echoes.timing.lock().unwrap();
    let end = timing.last_echo.unwrap_or(start);
    let latencies = &timing.latencies;
    Ok(Summary {
        workload: name,
        size,
        messages: echoes.echoed.load(Ordering::Acquire),
        secs: (end - start).as_secs_f64(),
        bytes: echoes.bytes.load(Ordering::Relaxed),
        p50: latencies.quantile(0.50),
        p99: latencies.quantile(0.99),
    })
}

fn progress_bar(name: &str, duration: Duration) -> ProgressBar {
    // Drawn on stderr, and only when it is a terminal.
    let bar = ProgressBar::new(duration.as_millis() as u64);
    if let Ok(style) = ProgressStyle::with_template("{prefix:>7} [{bar:30}] {elapsed:>3} {msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(name.to_owned());
    bar
}

fn no_echo(what: &str) -> Failure {
    Failure::new(
        Exit::Other,
        format!(
            "no echo for {} s {what}: does the server echo every message?",
            STALL.as_secs()
        ),
    )
}

fn send_failed(e: wsx_tokio::SendError) -> Failure {
    Failure::new(Exit::Other, format!("could not send: {e}"))
}

/// One 16-byte text message at a time, for `duration`.
async fn round_trips(client: &Client<Counter>, echoes: &Echoes, duration: Duration) -> Result<(), Failure> {
    let start = Instant::now();
    while start.elapsed() < duration {
        let before = echoes.echoed.load(Ordering::Acquire);
        echoes.sending();
        client.send(Frame::text(TEXT16)).await.map_err(send_failed)?;
        echoes.echoed_past(before, "to a round trip").await?;
    }
    Ok(())
}

/// Binary messages for `args.duration`, at most `window` bytes in flight (none: no window),
/// then every echo.
async fn stream(
    client: &Client<Counter>,
    echoes: &Echoes,
    args: &BenchArgs,
    window: Option<usize>,
) -> Result<(), Failure> {
    let payload = Bytes::from(vec![0x5a; args.size]);
    if let Some(window) = window {
        echoes
            .window
            .add_permits((window / args.size).clamp(1, Semaphore::MAX_PERMITS));
    }
    let start = Instant::now();
    let mut sent = 0u64;
    while start.elapsed() < args.duration {
        // Look at the clock every 64 messages, not every one.
        for _ in 0..64 {
            if window.is_some() {
                let permit = tokio::time::timeout(STALL, echoes.window.acquire())
                    .await
                    .map_err(|_| no_echo("while streaming"))?;
                if let Ok(permit) = permit {
                    permit.forget();
                }
            }
            echoes.sending();
            client.send(Frame::Binary(payload.clone())).await.map_err(send_failed)?;
            sent += 1;
        }
    }
    // The echoes still on their way.
    loop {
        let seen = echoes.echoed.load(Ordering::Acquire);
        if seen >= sent {
            return Ok(());
        }
        echoes.echoed_past(seen, "at the end of the run").await?;
    }
}

fn table(summaries: &[Summary]) -> String {
    let micros = |d: Option<Duration>| d.map_or("-".to_owned(), |d| format!("{:.1} µs", d.as_secs_f64() * 1e6));
    let mut out = format!(
        "{:<8} {:>9} {:>11} {:>12} {:>9} {:>11} {:>11}\n",
        "workload", "size", "messages", "msg/s", "MiB/s", "p50", "p99"
    );
    for s in summaries {
        out += &format!(
            "{:<8} {:>9} {:>11} {:>12.0} {:>9.1} {:>11} {:>11}\n",
            s.workload,
            format!("{} B", s.size),
            s.messages,
            s.msgs_per_sec(),
            s.mib_per_sec(),
            micros(s.p50),
            micros(s.p99)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_close_to_the_value() {
        let mut last = 0;
        for ns in [0u64, 1, 63, 64, 65, 100, 1000, 12_345, 1 << 20, 987_654_321, 1 << 40] {
            let i = Histogram::bucket(ns);
            assert!(i >= last, "{ns}");
            last = i;
            let floor = Histogram::floor(i);
            assert!(
                floor <= ns && ns - floor <= ns / 32 + 1,
                "{ns} in bucket {i} from {floor}"
            );
        }
    }

    #[test]
    fn quantiles_come_from_the_samples() {
        let mut h = Histogram::new();
        assert_eq!(h.quantile(0.5), None);
        for us in 1..=100u64 {
            h.record(Duration::from_micros(us));
        }
        let p50 = h.quantile(0.5).unwrap().as_micros() as i64;
        let p99 = h.quantile(0.99).unwrap().as_micros() as i64;
        assert!((48..=50).contains(&p50), "{p50}");
        assert!((96..=99).contains(&p99), "{p99}");
    }
}
