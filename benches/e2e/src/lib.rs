//! End-to-end loopback benchmarks of WebSocket clients (issue 4).
//!
//! Two binaries: `echo-server`, a WebSocket echo server written without any WebSocket library
//! (one read and one write per batch of frames, so it is never the bottleneck), and `wsx-e2e`,
//! which runs one client on one workload and prints one `result` line, or turns a file of
//! result lines into the markdown tables (`wsx-e2e report FILE`). `benches/run.sh` drives both,
//! pinned to one core each.
//!
//! Every client driver lives in [`clients`], one module per library, each written the way that
//! library is meant to be used.

pub mod clients;
pub mod frames;
pub mod report;
pub mod sys;
pub mod window;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

/// The 16-byte text message of the round-trip workload.
pub const TEXT16: &str = "0123456789abcdef";

/// What a run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// Round trips of 16-byte text messages, one at a time.
    Rtt,
    /// Pipelined streaming of binary messages of this size.
    Stream(usize),
    /// Many idle connections.
    Idle,
}

/// Every workload, in table order.
pub const WORKLOADS: [&str; 6] = ["rtt", "stream-16", "stream-1k", "stream-64k", "stream-1m", "idle"];

/// Every client, in table order (the I/O-only ceiling last).
pub const CLIENTS: [&str; 7] = [
    "wsx-tokio",
    "wsx-blocking",
    "tokio-tungstenite",
    "fastwebsockets",
    "tokio-websockets",
    "yawc",
    "io-only",
];

impl Workload {
    /// Parses a workload name of [`WORKLOADS`].
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "rtt" => Self::Rtt,
            "stream-16" => Self::Stream(16),
            "stream-1k" => Self::Stream(1024),
            "stream-64k" => Self::Stream(64 * 1024),
            "stream-1m" => Self::Stream(1024 * 1024),
            "idle" => Self::Idle,
            _ => return None,
        })
    }
}

/// The knobs of one run.
#[derive(Debug, Clone)]
pub struct Params {
    /// The echo server.
    pub addr: SocketAddr,
    /// Round trips measured (after `warmup` more).
    pub rtt_count: usize,
    /// Round trips before measuring.
    pub warmup: usize,
    /// How long the streaming workloads send.
    pub stream_time: Duration,
    /// In-flight window of the streaming workloads, in payload bytes (at least 4 messages).
    pub window_bytes: usize,
    /// Connections of the idle workload.
    pub conns: usize,
    /// Connection handshakes in flight at once while opening the idle connections.
    pub open_concurrency: usize,
}

impl Params {
    /// The server URL.
    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// Messages in flight at most while streaming `size`-byte messages.
    pub fn window(&self, size: usize) -> u64 {
        (self.window_bytes / size.max(1)).clamp(4, 1 << 16) as u64
    }
}

/// How many messages a sink-style client feeds before it flushes: about 64 KiB worth.
pub fn flush_every(size: usize) -> u64 {
    (64 * 1024 / size.max(1)).clamp(1, 4096) as u64
}

/// How often a sender looks at the clock (every this many messages).
pub fn clock_every(size: usize) -> u64 {
    (4096 / size.max(1)).clamp(1, 256) as u64
}

/// The outcome of one run.
#[derive(Debug, Clone, Default)]
pub struct Measurement {
    /// Messages echoed (streaming and round trips).
    pub msgs: u64,
    /// Payload bytes echoed.
    pub bytes: u64,
    /// Wall time of the measured part.
    pub secs: f64,
    /// Round-trip latency percentiles, microseconds.
    pub p50_us: Option<f64>,
    /// 99th percentile.
    pub p99_us: Option<f64>,
    /// Idle workload: connections opened, RSS growth per connection, time to open them all.
    pub conns: Option<usize>,
    /// RSS growth divided by the connections.
    pub bytes_per_conn: Option<f64>,
}

impl Measurement {
    /// Messages per second.
    pub fn msgs_per_sec(&self) -> f64 {
        self.msgs as f64 / self.secs.max(1e-9)
    }

    /// Payload MiB per second.
    pub fn mib_per_sec(&self) -> f64 {
        self.bytes as f64 / (1024.0 * 1024.0) / self.secs.max(1e-9)
    }

    /// The `result` line `wsx-e2e report` reads: `result` then tab-separated `key=value`.
    pub fn line(&self, client: &str, workload: &str, server_cpu: Option<f64>, client_cpu: Option<f64>) -> String {
        let mut s = format!("result\tclient={client}\tworkload={workload}");
        let mut put = |k: &str, v: f64| {
            let _ = write!(s, "\t{k}={v:.4}");
        };
        if let Some(conns) = self.conns {
            put("conns", conns as f64);
            put("open_s", self.secs);
            if let Some(b) = self.bytes_per_conn {
                put("bytes_per_conn", b);
            }
        } else {
            put("msgs", self.msgs as f64);
            put("secs", self.secs);
            put("msgs_per_s", self.msgs_per_sec());
            put("mib_per_s", self.mib_per_sec());
        }
        if let Some(p) = self.p50_us {
            put("p50_us", p);
        }
        if let Some(p) = self.p99_us {
            put("p99_us", p);
        }
        if let Some(c) = server_cpu {
            put("server_cpu", c);
        }
        if let Some(c) = client_cpu {
            put("client_cpu", c);
        }
        s
    }
}

/// Round-trip latencies, collected and summarised.
#[derive(Debug, Default)]
pub struct Latencies(Vec<u64>);

impl Latencies {
    /// Room for `n` samples, so recording never allocates.
    pub fn with_capacity(n: usize) -> Self {
        Self(Vec::with_capacity(n))
    }

    /// Records one round trip.
    pub fn record(&mut self, d: Duration) {
        self.0.push(d.as_nanos() as u64);
    }

    /// The measurement: `secs` is the wall time of the recorded round trips.
    pub fn finish(mut self, secs: f64) -> Measurement {
        self.0.sort_unstable();
        let pct = |p: f64| -> Option<f64> {
            if self.0.is_empty() {
                return None;
            }
            let i = ((self.0.len() as f64 * p).ceil() as usize).clamp(1, self.0.len()) - 1;
            Some(self.0[i] as f64 / 1000.0)
        };
        Measurement {
            msgs: self.0.len() as u64,
            bytes: (self.0.len() * TEXT16.len()) as u64,
            secs,
            p50_us: pct(0.50),
            p99_us: pct(0.99),
            ..Measurement::default()
        }
    }
}

/// The error type of the drivers: anything, with a message.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A driver result.
pub type Result<T, E = BoxError> = std::result::Result<T, E>;
