//! Result lines to markdown: medians per client and workload, each client's ratio to the best
//! client (the I/O-only ceiling is not a client) and to the ceiling, and wsx against the
//! targets: windowed streaming, round trips and idle memory, and the floods; then the servers
//! under the load client. Lines from older harnesses lack some keys (`peak_rss`): those cells
//! show "–".

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::{CLIENTS, SERVE_WORKLOADS, WORKLOADS};

/// The ceiling's name.
const CEILING: &str = "io-only";
/// The client the targets are about.
const OURS: &str = "wsx-tokio";
/// The other wsx clients, held to wsx-tokio's flood rates.
const OUR_OTHERS: [&str; 3] = ["wsx-async-std", "wsx-async-std-smol", "wsx-blocking"];
/// Bytes in a MiB.
const MIB: f64 = 1024.0 * 1024.0;

/// Whether `client` is a peer: another library, neither wsx nor the ceiling.
fn is_peer(client: &str) -> bool {
    !client.starts_with("wsx") && client != CEILING
}

/// One `result` line.
#[derive(Debug, Clone)]
pub struct Record {
    /// Client name; on a server workload, the server's (`server=` in the line).
    pub client: String,
    /// Workload name.
    pub workload: String,
    /// Metrics.
    pub values: BTreeMap<String, f64>,
}

/// Parses the `result` lines of `text`; other lines are ignored.
pub fn parse(text: &str) -> Vec<Record> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            if fields.next()? != "result" {
                return None;
            }
            let mut client = None;
            let mut workload = None;
            let mut values = BTreeMap::new();
            for field in fields {
                let (k, v) = field.split_once('=')?;
                match k {
                    "client" | "server" => client = Some(v.to_string()),
                    "workload" => workload = Some(v.to_string()),
                    _ => {
                        values.insert(k.to_string(), v.parse().ok()?);
                    }
                }
            }
            Some(Record {
                client: client?,
                workload: workload?,
                values,
            })
        })
        .collect()
}

/// The median of `v` (mean of the middle two for an even count).
pub fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Every run's value of every metric of one client on one workload (sorted), and how many
/// runs they come from.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    /// Result lines of this client on this workload.
    pub runs: usize,
    samples: BTreeMap<String, Vec<f64>>,
}

impl Cell {
    /// The median of `key` over the runs that have it.
    pub fn get(&self, key: &str) -> Option<f64> {
        median(&mut self.samples.get(key)?.clone())
    }

    /// The lowest and highest value of `key`, if at least two runs have it.
    pub fn range(&self, key: &str) -> Option<(f64, f64)> {
        let v = self.samples.get(key)?;
        (v.len() >= 2).then(|| (v[0], v[v.len() - 1]))
    }
}

/// Runs and samples per metric, by (workload, client).
type Samples = BTreeMap<(String, String), (usize, BTreeMap<String, Vec<f64>>)>;

/// The client's CPU time per message in microseconds, from its CPU share and its rate: a
/// metric of its own, so that it has a median and a spread like the measured ones.
pub const CPU_PER_MSG: &str = "cpu_us_per_msg";

/// The client's peak RSS divided by its WebSockets (many-connections workloads), in bytes:
/// a metric of its own like [`CPU_PER_MSG`].
pub const RSS_PER_WEBSOCKET: &str = "rss_per_websocket";

/// The key of a line that summarises several runs (their medians), and how many.
pub const RUNS: &str = "runs";

/// Cells by workload, then client.
pub struct Table(BTreeMap<String, BTreeMap<String, Cell>>);

impl Table {
    /// The table of `records`.
    pub fn new(records: &[Record]) -> Self {
        let mut samples = Samples::new();
        for r in records {
            let entry = samples.entry((r.workload.clone(), r.client.clone())).or_default();
            // A line with `runs=N` summarises N runs by their medians: it counts as N runs,
            // and gives no spread.
            entry.0 += r.values.get(RUNS).map_or(1, |n| n.max(1.0) as usize);
            for (k, v) in r.values.iter().filter(|(k, _)| *k != RUNS) {
                entry.1.entry(k.clone()).or_default().push(*v);
            }
            if let (Some(cpu), Some(rate)) = (r.values.get("client_cpu"), r.values.get("msgs_per_s")) {
                if *rate > 0.0 {
                    entry.1.entry(CPU_PER_MSG.into()).or_default().push(cpu / rate * 1e6);
                }
            }
            if let (Some(rss), Some(n)) = (r.values.get("peak_rss"), r.values.get("websockets")) {
                if *n > 0.0 {
                    entry.1.entry(RSS_PER_WEBSOCKET.into()).or_default().push(rss / n);
                }
            }
        }
        let mut table: BTreeMap<String, BTreeMap<String, Cell>> = BTreeMap::new();
        for ((workload, client), (runs, mut samples)) in samples {
            for v in samples.values_mut() {
                v.sort_by(|a, b| a.total_cmp(b));
            }
            table
                .entry(workload)
                .or_default()
                .insert(client, Cell { runs, samples });
        }
        Self(table)
    }

    /// Whether any client has results on `workload`.
    pub fn has(&self, workload: &str) -> bool {
        self.0.contains_key(workload)
    }

    /// One client's results on one workload.
    pub fn cell(&self, workload: &str, client: &str) -> Option<&Cell> {
        self.0.get(workload)?.get(client)
    }

    /// The median of `key` of `client` on `workload`.
    pub fn value(&self, workload: &str, client: &str, key: &str) -> Option<f64> {
        self.cell(workload, client)?.get(key)
    }

    /// Clients with results on `workload`, in the usual order, then any others.
    pub fn clients(&self, workload: &str) -> Vec<String> {
        let Some(cells) = self.0.get(workload) else {
            return Vec::new();
        };
        let mut names: Vec<String> = CLIENTS
            .iter()
            .filter(|c| cells.contains_key(**c))
            .map(|c| c.to_string())
            .collect();
        names.extend(cells.keys().filter(|c| !CLIENTS.contains(&c.as_str())).cloned());
        names
    }

    /// Clients with results on any workload, in the usual order, then any others.
    pub fn all_clients(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for w in self.0.keys() {
            for c in self.clients(w) {
                if !names.contains(&c) {
                    names.push(c);
                }
            }
        }
        let rank = |c: &String| CLIENTS.iter().position(|k| k == c).unwrap_or(CLIENTS.len());
        names.sort_by_key(|c| rank(c));
        names
    }

    /// The best value of `key` among the clients (not the ceiling), `higher` being better.
    fn best(&self, workload: &str, key: &str, higher: bool) -> Option<(String, f64)> {
        self.best_of(workload, key, higher, |c| c != CEILING)
    }

    /// The best value of `key` among the clients `pick` keeps, `higher` being better.
    fn best_of(&self, workload: &str, key: &str, higher: bool, pick: impl Fn(&str) -> bool) -> Option<(String, f64)> {
        let cells = self.0.get(workload)?;
        cells
            .iter()
            .filter(|(c, _)| pick(c))
            .filter_map(|(c, cell)| Some((c.clone(), cell.get(key)?)))
            .reduce(|a, b| {
                let b_better = if higher { b.1 > a.1 } else { b.1 < a.1 };
                if b_better {
                    b
                } else {
                    a
                }
            })
    }
}

/// A number for a table: thousands separators from 100,000 on, else three significant digits.
pub fn fmt_num(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(v) if v >= 100_000.0 => {
            // Thousands separators keep message rates readable.
            thousands(&format!("{v:.0}"))
        }
        Some(v) => fmt_sig(v),
    }
}

/// `v` with three significant digits (whole numbers from 100 on).
fn fmt_sig(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// `v` scaled to k or M, with three significant digits: the digits, and " k", " M" or "".
pub fn fmt_short(v: f64) -> (String, &'static str) {
    if v >= 1e6 {
        (fmt_sig(v / 1e6), " M")
    } else if v >= 1e4 {
        (fmt_sig(v / 1e3), " k")
    } else {
        (fmt_sig(v), "")
    }
}

/// The spread of a metric over the runs: "11.9–12.3 M"; "–" with fewer than two runs.
pub fn fmt_range(r: Option<(f64, f64)>) -> String {
    let Some((lo, hi)) = r else {
        return "–".into();
    };
    let ((lo, lo_unit), (hi, hi_unit)) = (fmt_short(lo), fmt_short(hi));
    if lo_unit == hi_unit {
        format!("{lo}–{hi}{hi_unit}")
    } else {
        format!("{lo}{lo_unit}–{hi}{hi_unit}")
    }
}

fn fmt_ratio(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.2}×"))
}

fn fmt_pct(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{:.0}%", v * 100.0))
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    let (a, b) = (a?, b?);
    (b != 0.0).then(|| a / b)
}

/// The markdown report of `records`: the tables, then wsx against its targets.
pub fn render(records: &[Record]) -> String {
    let t = Table::new(records);
    let mut out = tables(&t);
    out.push_str(&targets(&t));
    out.push_str(&flood_targets(&t));
    out.push_str(LEGEND);
    out.push_str(" Peers: the other libraries (neither wsx nor io-only); the targets are wsx's, against them.\n");
    out
}

/// What the columns mean.
pub const LEGEND: &str = "Medians over the runs; min–max: the lowest and highest run (– for a single run, or where only the medians were kept). \
    × best: ratio to the best client on that row's workload (higher is better for rates, lower \
    for memory and time); × ceiling: ratio to the I/O-only client. CPU: share of one core over \
    the measured interval (server from /proc/PID/stat, 10 ms ticks); CPU per message: the \
    client's CPU time divided by the messages (per round trip on `rtt`), kernel time included. \
    Peak RSS: the client process's VmHWM at the end of the run (the echo server is another \
    process, not counted).";

/// Every workload's table, in the usual order (what has no results has no table).
pub fn tables(t: &Table) -> String {
    let mut out = String::new();
    if t.has("rtt") {
        let best = t.best("rtt", "msgs_per_s", true);
        let ceiling = t.value("rtt", CEILING, "msgs_per_s");
        out.push_str("### Round trips: 16-byte text, one at a time\n\n");
        out.push_str(
            "| client | round trips/s | min–max | × best | × ceiling | p50 µs | p99 µs | p99.9 µs | client CPU | CPU per round trip (µs) | server CPU | peak RSS (MiB) | runs |\n",
        );
        out.push_str("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
        for c in t.clients("rtt") {
            let cell = &t.0["rtt"][&c];
            let v = cell.get("msgs_per_s");
            let _ = writeln!(
                out,
                "| {c} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                fmt_num(v),
                fmt_range(cell.range("msgs_per_s")),
                fmt_ratio(ratio(v, best.as_ref().map(|b| b.1))),
                fmt_ratio(ratio(v, ceiling)),
                fmt_num(cell.get("p50_us")),
                fmt_num(cell.get("p99_us")),
                fmt_num(cell.get("p999_us")),
                fmt_pct(cell.get("client_cpu")),
                fmt_num(cell.get(CPU_PER_MSG)),
                fmt_pct(cell.get("server_cpu")),
                fmt_num(cell.get("peak_rss").map(|b| b / MIB)),
                cell.runs
            );
        }
        out.push('\n');
    }

    out.push_str(&stream_table(
        t,
        "stream-",
        "Pipelined streaming: binary messages, sent while the echoes come back",
    ));
    out.push_str(&stream_table(
        t,
        "flood-",
        "Streaming with no window: the sender never waits (a loop of sends / a Sink)",
    ));

    if t.has("idle") {
        let conns =
            t.0.get("idle")
                .and_then(|cells| cells.values().find_map(|c| c.get("conns")))
                .unwrap_or(0.0);
        let best_mem = t.best("idle", "bytes_per_conn", false);
        let best_open = t.best("idle", "open_s", false);
        let _ = writeln!(out, "### {conns:.0} idle connections from one process\n");
        out.push_str(
            "| client | RSS per connection (bytes) | min–max | × best | time to open all (s) | × best | runs |\n",
        );
        out.push_str("|---|--:|--:|--:|--:|--:|--:|\n");
        for c in t.clients("idle") {
            let cell = &t.0["idle"][&c];
            let mem = cell.get("bytes_per_conn");
            let open = cell.get("open_s");
            let _ = writeln!(
                out,
                "| {c} | {} | {} | {} | {} | {} | {} |",
                fmt_num(mem),
                fmt_range(cell.range("bytes_per_conn")),
                fmt_ratio(ratio(mem, best_mem.as_ref().map(|b| b.1))),
                fmt_num(open),
                fmt_ratio(ratio(open, best_open.as_ref().map(|b| b.1))),
                cell.runs
            );
        }
        out.push('\n');
    }

    out.push_str(&many_table(t));
    out.push_str(&deflate_table(t));
    out.push_str(&servers_table(t));
    out
}

/// The rows' label of a server workload: "1,000 × 16 KiB". `conns`: the connections its runs
/// had; another count than the workload's (`E2E_SERVE_CONNS`) shows with the workload's name,
/// "50 × 16 KiB (serve-1k-16k)".
pub fn serve_label(workload: &str, conns: Option<f64>) -> String {
    let Some(w) = crate::ServeWorkload::parse(workload) else {
        return workload.to_string();
    };
    let size = match w.size {
        s if s >= 1024 => format!("{} KiB", s >> 10),
        s => format!("{s} B"),
    };
    match conns.map(|n| n as usize) {
        Some(n) if n != w.conns => format!("{} × {size} ({workload})", thousands(&n.to_string())),
        _ => format!("{} × {size}", thousands(&w.conns.to_string())),
    }
}

/// A whole number's `digits` with thousands separators: "1,000".
fn thousands(digits: &str) -> String {
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The servers under the load client: each workload's echo rate, the server's CPU time per
/// echo and its memory per connection, with the runs' spread.
fn servers_table(t: &Table) -> String {
    let workloads: Vec<&str> = SERVE_WORKLOADS.iter().copied().filter(|w| t.has(w)).collect();
    if workloads.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "### Servers: connections from one load client, each with one message in flight\n\n\
         Every server is one library's echo server (`benches/e2e/src/servers/`) on one core; the load client \
         (no WebSocket library, one epoll loop, on the other core) sends a masked binary message on every \
         connection and the next one as soon as its echo is back, as uWebSockets' `load_test` does. Rate: echoes \
         per second, all connections together, after a warm-up. CPU per message: the server process's CPU time \
         (user + system, every thread) over the echoes; of which user: its own code's share, the rest being \
         the kernel's (on loopback a send also runs the receiving end's TCP input). Memory per connection: the server's peak RSS less its RSS \
         before the first connection, over the connections. Server CPU under 100%: the load client, not the \
         server, set the rate. wsx-blocking serves each connection on a thread of its own (all on the one core).\n\n\
         | connections × size | server | msgs/s | min–max | × best | MiB/s | server CPU per message (µs) | min–max | of which user (µs) | server CPU | load client CPU | memory per connection (KiB) | min–max | runs |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    let kib = |r: Option<(f64, f64)>| r.map(|(lo, hi)| (lo / 1024.0, hi / 1024.0));
    for w in workloads {
        let best = t.best(w, "msgs_per_s", true);
        let label = serve_label(w, t.0[w].values().find_map(|c| c.get("conns")));
        for c in t.clients(w) {
            let cell = &t.0[w][&c];
            let v = cell.get("msgs_per_s");
            let _ = writeln!(
                out,
                "| {label} | {c} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                fmt_num(v),
                fmt_range(cell.range("msgs_per_s")),
                fmt_ratio(ratio(v, best.as_ref().map(|b| b.1))),
                fmt_num(cell.get("mib_per_s")),
                fmt_num(cell.get("server_us_per_msg")),
                fmt_range(cell.range("server_us_per_msg")),
                fmt_num(cell.get("server_user_us_per_msg")),
                fmt_pct(cell.get("server_cpu")),
                fmt_pct(cell.get("client_cpu")),
                fmt_num(cell.get("server_bytes_per_conn").map(|b| b / 1024.0)),
                fmt_range(kib(cell.range("server_bytes_per_conn"))),
                cell.runs
            );
        }
    }
    out.push('\n');
    out
}

/// The size column of a streaming workload's rows.
pub fn size_label(workload: &str) -> &str {
    match workload.split_once('-').map_or(workload, |(_, size)| size) {
        "16" => "16 B",
        "1k" => "1 KiB",
        "64k" => "64 KiB",
        "1m" => "1 MiB",
        _ => workload,
    }
}

/// The table of the streaming workloads named `prefix`*, if any has results.
fn stream_table(t: &Table, prefix: &str, heading: &str) -> String {
    let workloads: Vec<&str> = WORKLOADS
        .iter()
        .copied()
        .filter(|w| w.starts_with(prefix) && t.has(w))
        .collect();
    if workloads.is_empty() {
        return String::new();
    }
    let mut out = format!("### {heading}\n\n");
    out.push_str(
        "| size | client | msgs/s | min–max | MiB/s | × best | × ceiling | client CPU | CPU per message (µs) | server CPU | peak RSS (MiB) | runs |\n",
    );
    out.push_str("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for w in workloads {
        let best = t.best(w, "msgs_per_s", true);
        let ceiling = t.value(w, CEILING, "msgs_per_s");
        for c in t.clients(w) {
            let cell = &t.0[w][&c];
            let v = cell.get("msgs_per_s");
            let _ = writeln!(
                out,
                "| {} | {c} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                size_label(w),
                fmt_num(v),
                fmt_range(cell.range("msgs_per_s")),
                fmt_num(cell.get("mib_per_s")),
                fmt_ratio(ratio(v, best.as_ref().map(|b| b.1))),
                fmt_ratio(ratio(v, ceiling)),
                fmt_pct(cell.get("client_cpu")),
                fmt_num(cell.get(CPU_PER_MSG)),
                fmt_pct(cell.get("server_cpu")),
                fmt_num(cell.get("peak_rss").map(|b| b / MIB)),
                cell.runs
            );
        }
    }
    out.push('\n');
    out
}

/// The many-connections workloads and the HTTP version each runs over.
const MANY: [(&str, &str); 2] = [("many-1k", "1.1"), ("many-1k-h2", "2")];

/// Many busy WebSockets from one process, over HTTP/1.1 and over HTTP/2: the aggregate rate,
/// the time until all were open, the client's CPU per message and its peak memory (whole and
/// per WebSocket), each against the best row of either HTTP version.
fn many_table(t: &Table) -> String {
    let rows: Vec<(&str, &str, String)> = MANY
        .iter()
        .flat_map(|&(w, http)| t.clients(w).into_iter().map(move |c| (w, http, c)))
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    let best = |key: &str, higher: bool| {
        rows.iter()
            .filter_map(|(w, _, c)| t.value(w, c, key))
            .reduce(|a, b| if (b > a) == higher { b } else { a })
    };
    let (best_rate, best_mem) = (best("msgs_per_s", true), best("peak_rss", false));
    let mut out = format!(
        "### Busy WebSockets from one process (1,000 unless `E2E_MANY` says otherwise), each streaming {} messages of 1 KiB at once (no window)\n\n\
         The wsx clients run with `send_buffer({} KiB)`, the setting recommended for thousands of connections; \
         the others with their defaults. Over HTTP/1.1 (`many-1k`) each WebSocket has a TCP connection of its own. \
         Over HTTP/2 (`many-1k-h2`: RFC 8441 extended CONNECT, h2c with prior knowledge) the wsx clients ask for \
         `Http2::Require` and all share one connection (the default pool); yawc's client opens an HTTP/2 connection \
         for each WebSocket (it cannot open a stream on a connection it already has). \
         Time to open all: from the start until the last WebSocket was open (the first ones already streaming). \
         Server CPU: the echo server's share of its core (under 100%: it is not what limits the rate). \
         Over HTTP/2 the bytes in flight (sent and not yet written to the socket, received and not yet read) wait \
         in the client's HTTP/2 buffers, inside its RSS; over HTTP/1.1 they wait in the kernel's socket buffers, \
         outside it.\n\n\
         | HTTP | client | msgs/s | min–max | × best | time to open all (ms) | min–max | client CPU | CPU per message (µs) | server CPU | peak RSS (MiB) | min–max | RSS per WebSocket (KiB) | × leanest | runs |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
        crate::MANY_MSGS,
        crate::MANY_SEND_BUFFER >> 10
    );
    let ms = |r: Option<(f64, f64)>| r.map(|(lo, hi)| (lo * 1e3, hi * 1e3));
    for (w, http, c) in &rows {
        let cell = &t.0[*w][c];
        let rate = cell.get("msgs_per_s");
        let rss = cell.get("peak_rss");
        let _ = writeln!(
            out,
            "| {http} | {c} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            fmt_num(rate),
            fmt_range(cell.range("msgs_per_s")),
            fmt_ratio(ratio(rate, best_rate)),
            fmt_num(cell.get("connect_s").map(|s| s * 1e3)),
            fmt_range(ms(cell.range("connect_s"))),
            fmt_pct(cell.get("client_cpu")),
            fmt_num(cell.get(CPU_PER_MSG)),
            fmt_pct(cell.get("server_cpu")),
            fmt_num(rss.map(|b| b / MIB)),
            fmt_range(cell.range("peak_rss").map(|(lo, hi)| (lo / MIB, hi / MIB))),
            fmt_num(cell.get(RSS_PER_WEBSOCKET).map(|b| b / 1024.0)),
            fmt_ratio(ratio(rss, best_mem)),
            cell.runs
        );
    }
    out.push('\n');
    out
}

/// The compressed streaming workloads: throughput against yawc, and the bytes each
/// message took on the wire (the server's count of what it read, per message).
fn deflate_table(t: &Table) -> String {
    let workloads: Vec<&str> = WORKLOADS
        .iter()
        .copied()
        .filter(|w| w.starts_with("deflate-") && t.has(w))
        .collect();
    if workloads.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "### Compressed streaming (permessage-deflate, level 1, no window)\n\n\
         | payload | client | msgs/s | min–max | MiB/s (inflated) | × yawc | wire bytes per message | client CPU | CPU per message (µs) | peak RSS (MiB) | runs |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for w in workloads {
        let payload = match w {
            "deflate-json" => "JSON text, 1 KiB",
            "deflate-noise" => "random bytes, 16 KiB",
            other => other,
        };
        let yawc = t.value(w, "yawc", "msgs_per_s");
        for c in t.clients(w) {
            let cell = &t.0[w][&c];
            let v = cell.get("msgs_per_s");
            let _ = writeln!(
                out,
                "| {payload} | {c} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                fmt_num(v),
                fmt_range(cell.range("msgs_per_s")),
                fmt_num(cell.get("mib_per_s")),
                fmt_ratio(ratio(v, yawc)),
                fmt_num(cell.get("wire_per_msg")),
                fmt_pct(cell.get("client_cpu")),
                fmt_num(cell.get(CPU_PER_MSG)),
                fmt_num(cell.get("peak_rss").map(|b| b / MIB)),
                cell.runs
            );
        }
    }
    out.push('\n');
    out
}

/// wsx-tokio against its streaming and round-trip targets, where the table has the numbers.
fn targets(t: &Table) -> String {
    let mut lines = Vec::new();
    let rate = |w: &str, c: &str| t.cell(w, c).and_then(|cell| cell.get("msgs_per_s"));
    let verdict = |ok: bool| if ok { "met" } else { "**not met**" };
    if let Some(ours) = rate("stream-16", OURS) {
        for (peer, want) in [("tokio-tungstenite", 1.5), ("yawc", 1.15)] {
            if let Some(r) = ratio(Some(ours), rate("stream-16", peer)) {
                lines.push(format!(
                    "| 16 B streaming ≥ {want}× {peer} | {r:.2}× | {} |",
                    verdict(r >= want)
                ));
            }
        }
    }
    for w in ["stream-64k", "stream-1m"] {
        if let Some(r) = ratio(rate(w, OURS), rate(w, CEILING)) {
            lines.push(format!(
                "| {w}: within 5% of the I/O-only ceiling | {r:.2}× | {} |",
                verdict(r >= 0.95)
            ));
        }
    }
    // The flood workloads have targets of their own.
    for w in WORKLOADS.into_iter().filter(|w| !w.starts_with("flood-")) {
        let (key, higher) = if w == "idle" {
            ("bytes_per_conn", false)
        } else {
            ("msgs_per_s", true)
        };
        let Some(ours) = t.cell(w, OURS).and_then(|c| c.get(key)) else {
            continue;
        };
        // The other clients are the other libraries, not wsx's other adapters.
        if let Some((peer, best)) = t.best_of(w, key, higher, is_peer) {
            let r = if higher { ours / best } else { best / ours };
            lines.push(format!(
                "| {w}: at least as good as the best other client ({peer}) | {r:.2}× | {} |",
                verdict(r >= 1.0)
            ));
        }
    }
    if let Some(mem) = t.cell("idle", OURS).and_then(|c| c.get("bytes_per_conn")) {
        lines.push(format!(
            "| idle memory per connection < 4 KB | {mem:.0} B | {} |",
            verdict(mem < 4000.0)
        ));
    }
    target_table("wsx-tokio against its streaming targets", &lines)
}

/// wsx against the flood targets, where the table has the numbers.
fn flood_targets(t: &Table) -> String {
    let mut lines = Vec::new();
    let rate = |w: &str, c: &str| t.cell(w, c).and_then(|cell| cell.get("msgs_per_s"));
    let verdict = |ok: bool| if ok { "met" } else { "**not met**" };
    for (peer, want) in [("yawc", 1.15), ("tokio-tungstenite", 1.5)] {
        if let Some(r) = ratio(rate("flood-16", OURS), rate("flood-16", peer)) {
            lines.push(format!(
                "| flood-16: ≥ {want}× {peer} | {r:.2}× | {} |",
                verdict(r >= want)
            ));
        }
    }
    for (w, want) in [("flood-1k", 1.15), ("flood-64k", 1.0), ("flood-1m", 1.0)] {
        let best = t.best_of(w, "msgs_per_s", true, is_peer);
        if let (Some(ours), Some((peer, best))) = (rate(w, OURS), best) {
            let r = ours / best;
            let goal = if want == 1.0 {
                "≥ the best peer".to_string()
            } else {
                format!("≥ {want}× the best peer")
            };
            lines.push(format!("| {w}: {goal} ({peer}) | {r:.2}× | {} |", verdict(r >= want)));
        }
        if want == 1.0 {
            if let Some(r) = ratio(rate(w, OURS), rate(w, CEILING)) {
                lines.push(format!("| {w}: ≥ 95% of io-only | {r:.2}× | {} |", verdict(r >= 0.95)));
            }
        }
    }
    if let Some(peak) = t.cell("flood-1m", OURS).and_then(|c| c.get("peak_rss")) {
        lines.push(format!(
            "| flood-1m: peak RSS under 16 MiB | {:.1} MiB | {} |",
            peak / MIB,
            verdict(peak < 16.0 * MIB)
        ));
    }
    for w in WORKLOADS.into_iter().filter(|w| w.starts_with("flood-")) {
        for c in OUR_OTHERS {
            if let Some(r) = ratio(rate(w, c), rate(w, OURS)) {
                lines.push(format!(
                    "| {w}: {c} within 10% of wsx-tokio | {r:.2}× | {} |",
                    verdict(r >= 0.9)
                ));
            }
        }
    }
    target_table("wsx against the flood targets", &lines)
}

/// A targets table titled `title`; nothing without lines.
fn target_table(title: &str, lines: &[String]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let mut out = format!("### {title}\n\n| target | measured | |\n|---|--:|---|\n");
    for l in lines {
        out.push_str(l);
        out.push('\n');
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_tables() {
        let text = "noise\n\
            result\tclient=wsx-tokio\tworkload=stream-16\tmsgs_per_s=3\tmib_per_s=1\n\
            result\tclient=wsx-tokio\tworkload=stream-16\tmsgs_per_s=1\tmib_per_s=1\n\
            result\tclient=wsx-tokio\tworkload=stream-16\tmsgs_per_s=2\tmib_per_s=1\tpeak_rss=3145728\n\
            result\tclient=tokio-tungstenite\tworkload=stream-16\tmsgs_per_s=1\n\
            result\tclient=io-only\tworkload=stream-16\tmsgs_per_s=4\n\
            result\tclient=wsx-tokio\tworkload=idle\tconns=10\tbytes_per_conn=3000\topen_s=1\n\
            result\tclient=yawc\tworkload=idle\tconns=10\tbytes_per_conn=6000\topen_s=0.5\n\
            result\tclient=wsx-tokio\tworkload=rtt\tmsgs_per_s=10\n\
            result\tclient=wsx-async-std\tworkload=rtt\tmsgs_per_s=20\n\
            result\tclient=yawc\tworkload=rtt\tmsgs_per_s=5\n";
        let records = parse(text);
        assert_eq!(records.len(), 10);
        let md = render(&records);
        assert!(
            md.contains("| 16 B | wsx-tokio | 2.00 | 1.00–3.00 | 1.00 | 1.00× | 0.50× |"),
            "{md}"
        );
        assert!(
            md.contains("| 16 B | tokio-tungstenite | 1.00 | – | – | 0.50× | 0.25× | – | – | – | – | 1 |"),
            "{md}"
        );
        // One of wsx-tokio's three runs has a peak RSS: the median of what is there.
        assert!(
            md.contains("| 16 B | wsx-tokio | 2.00 | 1.00–3.00 | 1.00 | 1.00× | 0.50× | – | – | – | 3.00 | 3 |"),
            "{md}"
        );
        assert!(md.contains("| peak RSS (MiB) | runs |"), "{md}");
        assert!(!md.contains("no window"), "no flood results, no flood table: {md}");
        assert!(!md.contains("issue 9"), "{md}");
        assert!(
            md.contains("| 16 B streaming ≥ 1.5× tokio-tungstenite | 2.00× | met |"),
            "{md}"
        );
        assert!(
            md.contains("| wsx-tokio | 3000 | – | 1.00× | 1.00 | 2.00× | 1 |"),
            "{md}"
        );
        assert!(md.contains("idle memory per connection < 4 KB | 3000 B | met"), "{md}");
        // wsx's other adapters are not the "other clients".
        assert!(
            md.contains("| rtt: at least as good as the best other client (yawc) | 2.00× | met |"),
            "{md}"
        );
    }

    #[test]
    fn flood_table_and_targets() {
        let mut text = String::new();
        for (client, w, rate, peak_mib) in [
            ("wsx-tokio", "flood-16", 300.0, 4),
            ("wsx-async-std", "flood-16", 280.0, 5),
            ("wsx-blocking", "flood-16", 200.0, 6),
            ("tokio-tungstenite", "flood-16", 250.0, 7),
            ("yawc", "flood-16", 200.0, 8),
            ("io-only", "flood-16", 1000.0, 2),
            ("wsx-tokio", "flood-1k", 100.0, 4),
            ("tokio-tungstenite", "flood-1k", 90.0, 5),
            ("wsx-async-std-smol", "flood-1k", 95.0, 5),
            ("wsx-tokio", "flood-1m", 2.0, 12),
            ("fastwebsockets", "flood-1m", 1.9, 20),
            ("io-only", "flood-1m", 2.5, 3),
            ("wsx-tokio", "stream-1k", 100.0, 4),
        ] {
            text.push_str(&format!(
                "result\tclient={client}\tworkload={w}\tmsgs_per_s={rate}\tmib_per_s=1\tpeak_rss={}\n",
                peak_mib << 20
            ));
        }
        let md = render(&parse(&text));
        let windowed = md.find("### Pipelined streaming").expect(&md);
        let flood = md
            .find("### Streaming with no window: the sender never waits (a loop of sends / a Sink)")
            .expect(&md);
        assert!(windowed < flood, "{md}");
        // The windowed table holds stream-* only, the flood table flood-* only.
        let flood_table = &md[flood..md[flood..].find("\n\n###").map_or(md.len(), |e| flood + e)];
        assert!(!md[windowed..flood].contains("flood"), "{md}");
        assert!(
            flood_table.contains("| 16 B | wsx-tokio | 300 | – | 1.00 | 1.00× | 0.30× | – | – | – | 4.00 | 1 |"),
            "{md}"
        );
        assert!(
            flood_table.contains("| 1 MiB | fastwebsockets | 1.90 | – | 1.00 | 0.95× | 0.76× | – | – | – | 20.0 | 1 |"),
            "{md}"
        );
        assert!(
            flood_table.contains("| 1 KiB | wsx-tokio | 100 | – | 1.00 | 1.00× | – | – | – | – | 4.00 | 1 |"),
            "{md}"
        );
        for target in [
            "| flood-16: ≥ 1.15× yawc | 1.50× | met |",
            "| flood-16: ≥ 1.5× tokio-tungstenite | 1.20× | **not met** |",
            // wsx-async-std-smol is no peer, however close.
            "| flood-1k: ≥ 1.15× the best peer (tokio-tungstenite) | 1.11× | **not met** |",
            "| flood-1m: ≥ the best peer (fastwebsockets) | 1.05× | met |",
            "| flood-1m: ≥ 95% of io-only | 0.80× | **not met** |",
            "| flood-1m: peak RSS under 16 MiB | 12.0 MiB | met |",
            "| flood-16: wsx-async-std within 10% of wsx-tokio | 0.93× | met |",
            "| flood-16: wsx-blocking within 10% of wsx-tokio | 0.67× | **not met** |",
            "| flood-1k: wsx-async-std-smol within 10% of wsx-tokio | 0.95× | met |",
        ] {
            assert!(md.contains(target), "{target} missing from\n{md}");
        }
        // No numbers, no line: nothing for flood-64k, nor against io-only at 1 KiB.
        assert!(!md.contains("flood-64k"), "{md}");
        assert!(!md.contains("flood-1k: ≥ 95%"), "{md}");
        // The "best other client" lines leave the floods to their own targets.
        assert!(!md.contains("flood-16: at least as good"), "{md}");
    }

    #[test]
    fn compressed_workloads_get_their_table_with_wire_bytes() {
        let text =
            "result\tclient=wsx-tokio\tworkload=deflate-json\tmsgs_per_s=300\tmib_per_s=0.3\twire_per_msg=185.5\n\
                    result\tclient=yawc\tworkload=deflate-json\tmsgs_per_s=200\tmib_per_s=0.2\twire_per_msg=186\n";
        let md = render(&parse(text));
        assert!(md.contains("### Compressed streaming"), "{md}");
        assert!(
            md.contains("| JSON text, 1 KiB | wsx-tokio | 300 | – | 0.30 | 1.50× | 186 |"),
            "{md}"
        );
    }

    #[test]
    fn old_results_without_peak_rss() {
        let text = "result\tclient=yawc\tworkload=flood-64k\tmsgs=10\tsecs=1\tmsgs_per_s=10\tmib_per_s=0.5\n";
        let md = render(&parse(text));
        assert!(
            md.contains("| 64 KiB | yawc | 10.0 | – | 0.50 | 1.00× | – | – | – | – | – | 1 |"),
            "{md}"
        );
    }

    #[test]
    fn spread_and_cpu_per_message() {
        let mut text = String::new();
        for (rate, cpu, rss) in [(11.9e6, 1.0, 5), (12.1e6, 0.99, 6), (12.3e6, 0.98, 7)] {
            text.push_str(&format!(
                "result\tclient=wsx-tokio\tworkload=flood-16\tmsgs_per_s={rate}\tmib_per_s=180\tclient_cpu={cpu}\tpeak_rss={}\n",
                rss << 20
            ));
        }
        for (rate, rss) in [(985e3, 13), (1.02e6, 14)] {
            text.push_str(&format!(
                "result\tclient=yawc\tworkload=many-1k\tmsgs_per_s={rate}\tclient_cpu=0.8\tpeak_rss={}\n",
                rss << 20
            ));
        }
        let md = render(&parse(&text));
        // 0.99 of a core over 12.1 M messages a second: 0.082 µs a message.
        assert!(
            md.contains(
                "| 16 B | wsx-tokio | 12,100,000 | 11.9–12.3 M | 180 | 1.00× | – | 99% | 0.08 | – | 6.00 | 3 |"
            ),
            "{md}"
        );
        assert!(
            md.contains(
                "| 1.1 | yawc | 1,002,500 | 985 k–1.02 M | 1.00× | – | – | 80% | 0.80 | – | 13.5 | 13.0–14.0 | – | 1.00× | 2 |"
            ),
            "{md}"
        );
        assert!(md.contains("min–max: the lowest and highest run"), "{md}");
    }

    #[test]
    fn many_connections_over_both_http_versions_in_one_table() {
        let mut text = String::new();
        for (w, client, rate, connect, rss_mib) in [
            ("many-1k", "wsx-tokio", 1.2e6, 0.05, 14),
            ("many-1k", "wsx-tokio", 1.3e6, 0.07, 15),
            ("many-1k-h2", "wsx-tokio", 0.6e6, 0.10, 10),
            ("many-1k-h2", "yawc", 0.4e6, 0.20, 30),
        ] {
            text.push_str(&format!(
                "result\tclient={client}\tworkload={w}\tmsgs_per_s={rate}\twebsockets=1000\tconnect_s={connect}\tclient_cpu=0.9\tserver_cpu=0.5\tpeak_rss={}\n",
                rss_mib << 20
            ));
        }
        let md = render(&parse(&text));
        let table = &md[md.find("### Busy WebSockets").expect(&md)..];
        let rows: Vec<&str> = table
            .lines()
            .filter(|l| l.starts_with("| 1.1 |") || l.starts_with("| 2 |"))
            .collect();
        assert_eq!(
            rows,
            [
                // 14.5 MiB over 1,000 WebSockets: 14.8 KiB each; the best rate and the leanest
                // peak are looked for over both HTTP versions.
                "| 1.1 | wsx-tokio | 1,250,000 | 1.20–1.30 M | 1.00× | 60.0 | 50.0–70.0 | 90% | 0.72 | 50% | 14.5 | 14.0–15.0 | 14.8 | 1.45× | 2 |",
                "| 2 | wsx-tokio | 600,000 | – | 0.48× | 100 | – | 90% | 1.50 | 50% | 10.0 | – | 10.2 | 1.00× | 1 |",
                "| 2 | yawc | 400,000 | – | 0.32× | 200 | – | 90% | 2.25 | 50% | 30.0 | – | 30.7 | 3.00× | 1 |",
            ],
            "{md}"
        );
        assert!(table.contains("all share one connection"), "{md}");
    }

    #[test]
    fn a_summary_line_counts_its_runs_and_has_no_spread() {
        let text = "result\tclient=yawc\tworkload=flood-16\tmsgs_per_s=7000000\tmib_per_s=108\tclient_cpu=1\truns=3\n";
        let md = render(&parse(text));
        assert!(
            md.contains("| 16 B | yawc | 7,000,000 | – | 108 | 1.00× | – | 100% | 0.14 | – | – | 3 |"),
            "{md}"
        );
    }

    #[test]
    fn servers_get_their_table() {
        let mut text = String::new();
        for (server, w, rate, us, kib) in [
            ("wsx-tokio", "serve-1k-16k", 100e3, 4.0, 20.0),
            ("wsx-tokio", "serve-1k-16k", 110e3, 4.2, 21.0),
            ("tokio-tungstenite", "serve-1k-16k", 80e3, 5.0, 40.0),
            ("wsx-blocking", "serve-100-20", 150e3, 6.0, 30.0),
        ] {
            text.push_str(&format!(
                "result\tserver={server}\tworkload={w}\tconns={}\tmsgs_per_s={rate}\tmib_per_s=1\tserver_cpu=0.99\tclient_cpu=0.5\tserver_us_per_msg={us}\tserver_user_us_per_msg=0.5\tserver_bytes_per_conn={}\n",
                crate::ServeWorkload::parse(w).unwrap().conns,
                kib * 1024.0
            ));
        }
        let md = render(&parse(&text));
        let table = &md[md.find("### Servers").expect(&md)..];
        let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("| 1")).collect();
        assert_eq!(
            rows,
            [
                "| 100 × 20 B | wsx-blocking | 150,000 | – | 1.00× | 1.00 | 6.00 | – | 0.50 | 99% | 50% | 30.0 | – | 1 |",
                "| 1,000 × 16 KiB | wsx-tokio | 105,000 | 100–110 k | 1.00× | 1.00 | 4.10 | 4.00–4.20 | 0.50 | 99% | 50% | 20.5 | 20.0–21.0 | 2 |",
                "| 1,000 × 16 KiB | tokio-tungstenite | 80000 | – | 0.76× | 1.00 | 5.00 | – | 0.50 | 99% | 50% | 40.0 | – | 1 |",
            ],
            "{md}"
        );
        // Fewer connections than the workload's (E2E_SERVE_CONNS) show in the label.
        let md = render(&parse(&text.replace("conns=100\t", "conns=50\t")));
        assert!(md.contains("| 50 × 20 B (serve-100-20) | wsx-blocking |"), "{md}");
        // The server workloads are no client workloads: no targets, no other table.
        assert!(!md.contains("at least as good"), "{md}");
        assert!(!md.contains("### Pipelined"), "{md}");
    }

    #[test]
    fn ranges_are_short() {
        assert_eq!(fmt_range(None), "–");
        assert_eq!(fmt_range(Some((5080.0, 7844.0))), "5080–7844");
        assert_eq!(fmt_range(Some((9_500.0, 12_000.0))), "9500–12.0 k");
        assert_eq!(fmt_range(Some((122e3, 136e3))), "122–136 k");
    }

    #[test]
    fn even_median() {
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }
}
