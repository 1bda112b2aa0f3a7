//! End-to-end loopback benchmarks of WebSocket clients and servers.
//!
//! Three binaries: `echo-server`, a WebSocket echo server written without any WebSocket
//! library (one read and one write per batch of frames, so it is never the bottleneck), over
//! HTTP/1.1 and over HTTP/2 ([`http2`]); `wsx-e2e-server`, one library's echo server
//! ([`servers`]); and `wsx-e2e`, which runs one client on one workload and prints one `result`
//! line, or runs the load client against one library's server (`wsx-e2e load`, [`load`]), or
//! turns a file of result lines into the markdown tables (`wsx-e2e report FILE`), or into the
//! published report, BENCHMARKS.md and its SVG charts ([`publish`], [`charts`]).
//! `benches/run.sh` drives them, the server pinned to one core and the client to the other.
//!
//! Every client driver lives in [`clients`] and every server in [`servers`], one module per
//! library, each written the way that library is meant to be used.

pub mod charts;
pub mod clients;
pub mod frames;
pub mod http2;
pub mod load;
pub mod publish;
pub mod report;
pub mod servers;
pub mod sys;
pub mod window;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The 16-byte text message of the round-trip workload.
pub const TEXT16: &str = "0123456789abcdef";

/// What a run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// Round trips of 16-byte text messages, one at a time.
    Rtt,
    /// Pipelined streaming of binary messages of this size, at most a window in flight.
    Stream(usize),
    /// The same streaming with no window: the sender never waits for echoes, it sends as fast
    /// as the client's API lets it (a loop of sends, a `Sink` fed and flushed every ~64 KiB).
    Flood(usize),
    /// Many idle connections.
    Idle,
    /// Streaming with no window, permessage-deflate negotiated (clients that have it).
    Deflate(DeflatePayload),
    /// Many busy connections from one process: [`Params::many_conns`] WebSockets at once
    /// (1,000 by default), each streaming [`MANY_MSGS`] binary messages of 1 KiB with no
    /// window; over HTTP/1.1 (a TCP connection each), or with `http2` over HTTP/2 (RFC 8441,
    /// h2c with prior knowledge: the wsx clients all on one shared connection).
    Many {
        /// Over HTTP/2 rather than HTTP/1.1.
        http2: bool,
    },
}

/// Connections of the many-connections workload, by default.
pub const MANY_CONNS: usize = 1000;
/// Messages each of them streams.
pub const MANY_MSGS: u64 = 200;
/// Their size.
pub const MANY_SIZE: usize = 1024;
/// The wsx clients' send buffer in the many-connections workload: the setting the wsx docs
/// recommend for thousands of connections (the 1 MiB default suits a few busy ones).
pub const MANY_SEND_BUFFER: usize = 16 << 10;

/// What the compressed streaming workloads send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeflatePayload {
    /// Text: about 1 KiB of JSON, 64 variants of one shape (what a feed sends).
    Json,
    /// Binary: 16 KiB of pseudo-random bytes that do not compress.
    Noise,
}

impl DeflatePayload {
    /// The `n`th message (they cycle through 64).
    pub fn message(self, n: u64) -> Vec<u8> {
        let n = n % 64;
        match self {
            Self::Json => {
                let mut text = String::from("[");
                let mut i = 0;
                while text.len() < 1000 {
                    let k = n * 16 + i;
                    text.push_str(&format!(
                        "{{\"seq\":{k},\"symbol\":\"SYM{}\",\"bid\":{}.{:02},\"ask\":{}.{:02},\"venue\":\"primary\",\"flags\":[\"live\",\"lot\"]}},",
                        k % 13,
                        100 + k % 7,
                        k % 100,
                        101 + k % 7,
                        (k * 7) % 100
                    ));
                    i += 1;
                }
                text.pop();
                text.push(']');
                text.into_bytes()
            }
            Self::Noise => {
                let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ (n + 1);
                (0..16 * 1024)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x as u8
                    })
                    .collect()
            }
        }
    }

    /// Whether the message is text.
    pub fn is_text(self) -> bool {
        self == Self::Json
    }

    /// The size of a message.
    pub fn size(self) -> usize {
        self.message(0).len()
    }
}

/// The compression level both compressing clients use: zlib's fastest, where a client's own
/// cost shows most.
pub const DEFLATE_LEVEL: u32 = 1;

/// Every workload, in table order.
pub const WORKLOADS: [&str; 14] = [
    "rtt",
    "stream-16",
    "stream-1k",
    "stream-64k",
    "stream-1m",
    "flood-16",
    "flood-1k",
    "flood-64k",
    "flood-1m",
    "idle",
    "deflate-json",
    "deflate-noise",
    "many-1k",
    "many-1k-h2",
];

/// Every client, in table order (the I/O-only ceiling last).
pub const CLIENTS: [&str; 11] = [
    "wsx-tokio",
    "wsx-tokio-send",
    "wsx-blocking",
    "wsx-async-std",
    "wsx-async-std-smol",
    "wsx-async-std-local",
    "tokio-tungstenite",
    "fastwebsockets",
    "tokio-websockets",
    "yawc",
    "io-only",
];

/// Every server workload, in table order: `serve-CONNECTIONS-SIZE` ([`ServeWorkload`]).
pub const SERVE_WORKLOADS: [&str; 4] = ["serve-100-20", "serve-1k-20", "serve-100-16k", "serve-1k-16k"];

/// Every server, in table order ([`servers::ServerKind`]).
pub const SERVERS: [&str; 6] = [
    "wsx-tokio",
    "wsx-blocking",
    "wsx-async-std-smol",
    "tokio-tungstenite",
    "fastwebsockets",
    "tokio-websockets",
];

/// A server workload: the load client's connections, each with one binary message of `size`
/// bytes in flight (sent again as soon as its echo is back), all at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeWorkload {
    /// Connections open at once.
    pub conns: usize,
    /// Payload bytes of every message.
    pub size: usize,
}

impl ServeWorkload {
    /// Parses a workload name of [`SERVE_WORKLOADS`].
    pub fn parse(name: &str) -> Option<Self> {
        let (conns, size) = match name {
            "serve-100-20" => (100, 20),
            "serve-1k-20" => (1000, 20),
            "serve-100-16k" => (100, 16 << 10),
            "serve-1k-16k" => (1000, 16 << 10),
            _ => return None,
        };
        Some(Self { conns, size })
    }
}

impl Workload {
    /// Parses a workload name of [`WORKLOADS`].
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "rtt" => Self::Rtt,
            "stream-16" => Self::Stream(16),
            "stream-1k" => Self::Stream(1024),
            "stream-64k" => Self::Stream(64 * 1024),
            "stream-1m" => Self::Stream(1024 * 1024),
            "flood-16" => Self::Flood(16),
            "flood-1k" => Self::Flood(1024),
            "flood-64k" => Self::Flood(64 * 1024),
            "flood-1m" => Self::Flood(1024 * 1024),
            "idle" => Self::Idle,
            "deflate-json" => Self::Deflate(DeflatePayload::Json),
            "deflate-noise" => Self::Deflate(DeflatePayload::Noise),
            "many-1k" => Self::Many { http2: false },
            "many-1k-h2" => Self::Many { http2: true },
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
    /// In-flight window of the streaming workloads, in payload bytes (at least 4 messages);
    /// 0 for no window at all (the flood workloads).
    pub window_bytes: usize,
    /// Connections of the idle workload.
    pub conns: usize,
    /// Connection handshakes in flight at once while opening the idle connections.
    pub open_concurrency: usize,
    /// Messages a streaming sender sends before it stops; `None`: it stops at `stream_time`.
    pub stream_count: Option<u64>,
    /// Connections of the many-connections workload.
    pub many_conns: usize,
    /// The wsx clients' send buffer (`send_buffer` on their builder); `None`: the default.
    pub send_buffer: Option<usize>,
    /// Open the WebSockets over HTTP/2 (h2c with prior knowledge) instead of HTTP/1.1.
    pub http2: bool,
}

impl Params {
    /// The wsx clients' send buffer: the one asked for, or wsx's default.
    pub fn wsx_send_buffer(&self) -> usize {
        self.send_buffer.unwrap_or(wsx_tokio::config::DEFAULT_SEND_BUFFER)
    }

    /// The server URL.
    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// Messages in flight at most while streaming `size`-byte messages; `u64::MAX` (never
    /// full) without a window.
    pub fn window(&self, size: usize) -> u64 {
        if self.window_bytes == 0 {
            return u64::MAX;
        }
        (self.window_bytes / size.max(1)).clamp(4, 1 << 16) as u64
    }

    /// These parameters for `workload`: a flood has no window; many connections stream a
    /// count each.
    pub fn for_workload(&self, workload: Workload) -> Self {
        match workload {
            Workload::Flood(_) | Workload::Deflate(_) => Self {
                window_bytes: 0,
                ..self.clone()
            },
            Workload::Many { http2 } => Self {
                window_bytes: 0,
                stream_count: Some(MANY_MSGS),
                http2,
                ..self.clone()
            },
            _ => self.clone(),
        }
    }

    /// Whether a streaming sender that sent `sent` messages stops: at its count, or once
    /// `deadline` passed (the clock read every `clock_every` messages).
    pub fn sent_enough(&self, sent: u64, deadline: Instant, clock_every: u64) -> bool {
        match self.stream_count {
            Some(count) => sent >= count,
            None => sent.is_multiple_of(clock_every) && Instant::now() >= deadline,
        }
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
    /// 90th percentile.
    pub p90_us: Option<f64>,
    /// 99th percentile.
    pub p99_us: Option<f64>,
    /// 99.9th percentile.
    pub p999_us: Option<f64>,
    /// Idle workload: connections opened, RSS growth per connection, time to open them all.
    pub conns: Option<usize>,
    /// RSS growth divided by the connections.
    pub bytes_per_conn: Option<f64>,
    /// The process's peak resident set size over the whole run (`VmHWM`), set by `wsx-e2e run`.
    pub peak_rss: Option<u64>,
    /// When a streaming connection was open and began to send: the many-connections
    /// workload's connect time is the latest of these.
    pub connected_at: Option<Instant>,
    /// Many-connections workload: the WebSockets, and the time until every one was open.
    pub websockets: Option<usize>,
    /// The time from the start until the last WebSocket was open, in seconds.
    pub connect_secs: Option<f64>,
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
        if let Some(n) = self.websockets {
            put("websockets", n as f64);
        }
        if let Some(secs) = self.connect_secs {
            put("connect_s", secs);
        }
        if let Some(p) = self.p50_us {
            put("p50_us", p);
        }
        for (k, v) in [
            ("p90_us", self.p90_us),
            ("p99_us", self.p99_us),
            ("p999_us", self.p999_us),
        ] {
            if let Some(p) = v {
                put(k, p);
            }
        }
        if let Some(c) = server_cpu {
            put("server_cpu", c);
        }
        if let Some(c) = client_cpu {
            put("client_cpu", c);
        }
        if let Some(b) = self.peak_rss {
            let _ = write!(s, "\tpeak_rss={b}");
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
            p90_us: pct(0.90),
            p99_us: pct(0.99),
            p999_us: pct(0.999),
            ..Measurement::default()
        }
    }
}

/// The error type of the drivers: anything, with a message.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A driver result.
pub type Result<T, E = BoxError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn params(window_bytes: usize) -> Params {
        Params {
            addr: "127.0.0.1:9001".parse().unwrap(),
            rtt_count: 1,
            warmup: 0,
            stream_time: Duration::from_secs(1),
            window_bytes,
            conns: 1,
            open_concurrency: 1,
            stream_count: None,
            many_conns: MANY_CONNS,
            send_buffer: None,
            http2: false,
        }
    }

    #[test]
    fn every_workload_parses() {
        for w in WORKLOADS {
            assert!(Workload::parse(w).is_some(), "{w}");
        }
        assert_eq!(Workload::parse("flood-64k"), Some(Workload::Flood(64 * 1024)));
        assert_eq!(Workload::parse("many-1k-h2"), Some(Workload::Many { http2: true }));
        assert!(params(0).for_workload(Workload::Many { http2: true }).http2);
        assert!(!params(0).for_workload(Workload::Many { http2: false }).http2);
    }

    #[test]
    fn every_server_workload_parses() {
        for w in SERVE_WORKLOADS {
            assert!(ServeWorkload::parse(w).is_some(), "{w}");
            assert!(Workload::parse(w).is_none(), "{w} is no client workload");
        }
        assert_eq!(
            ServeWorkload::parse("serve-1k-16k"),
            Some(ServeWorkload {
                conns: 1000,
                size: 16384
            })
        );
    }

    #[test]
    fn floods_have_no_window() {
        let p = params(8 << 20);
        assert_eq!(p.window(1024), 8192);
        assert_eq!(p.for_workload(Workload::Stream(1024)).window(1024), 8192);
        assert_eq!(p.for_workload(Workload::Flood(1024)).window(1024), u64::MAX);
        assert_eq!(params(0).window(16), u64::MAX);
    }

    #[test]
    fn round_trips_have_four_percentiles() {
        let mut lat = Latencies::with_capacity(1000);
        for us in 1..=1000 {
            lat.record(Duration::from_micros(us));
        }
        let line = lat.finish(1.0).line("yawc", "rtt", None, None);
        for want in [
            "\tp50_us=500.0000",
            "\tp90_us=900.0000",
            "\tp99_us=990.0000",
            "\tp999_us=999.0000",
        ] {
            assert!(line.contains(want), "{want} not in {line}");
        }
    }

    #[test]
    fn peak_rss_is_a_whole_number_of_bytes() {
        let m = Measurement {
            msgs: 2,
            secs: 1.0,
            peak_rss: Some(5 << 20),
            ..Measurement::default()
        };
        let line = m.line("wsx-tokio", "flood-16", None, None);
        assert!(line.ends_with("\tpeak_rss=5242880"), "{line}");
    }
}
