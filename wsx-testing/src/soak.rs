//! The soak, for any adapter: 1,000 clients in one process against a server (its
//! own process) that resets every connection after 3 to 30 s, about a tenth of them every 3 s.
//! Every client reconnects with `Backoff`; a sender keeps `send_frame`-ing numbered messages
//! through all of them. Checked:
//! - every `send_frame` ends, `Ok` (written) or with a typed error, never hangs;
//! - echoes come back in order, once each, and only for messages that were written;
//! - no message acknowledged as written goes missing unless its connection dropped after it
//!   (then its sender could not know; nothing is lost silently on a connection that lived);
//! - the clients reconnected (about as often as the server dropped them);
//! - once all clients closed, open file descriptors, threads, tasks (where the runtime counts
//!   them) and memory are back to their starting level.
//!
//! Each adapter runs it from a test binary of its own (`harness = false`: the fd, thread and
//! memory counts must see nothing but the soak) whose `main` calls [`main`]. The binary runs
//! itself again as the server. `WSX_SOAK_SECS` sets the length (default 60 s).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wsx_proto::{
    config::Backoff, protocol::OpCode, CloseReason, ConnectSettings, Context, DisconnectStatus, Frame, Handler,
    Reconnect, Reply, Response, SendError,
};

use crate::harness::{TestAdapter, TestClient, TestOptions};
use crate::memory::{raise_fd_limit, rss};
use crate::server::{Script, Step, TestServer};

/// Clients in the soak.
pub const CLIENTS: usize = 1_000;
/// Set in the environment of the copy of the test binary that serves.
const SERVER_ROLE: &str = "WSX_SOAK_SERVER";

/// One adapter's soak: [`run`] for it, given the name to report.
pub type Soak = fn(&str);

/// The entry point of an adapter's soak test binary: each `(name, run::<Adapter>)` in turn,
/// or, in the copy of the binary a soak starts, the server.
pub fn main(soaks: &[(&str, Soak)]) {
    if crate::child::serve_if_child(SERVER_ROLE, dropping_echo_server) {
        return;
    }
    for (adapter, soak) in soaks {
        soak(adapter);
    }
}

/// The scripted test server echoing, each connection reset after a lifetime between 3 and
/// 30 s (spread by its index).
fn dropping_echo_server() -> TestServer {
    TestServer::start(Script::new(vec![Step::custom(|conn| {
        let life = Duration::from_millis(3_000 + (conn.index() as u64 * 7_919) % 27_000);
        let until = Instant::now() + life;
        while Instant::now() < until {
            let Some(frame) = conn.recv_frame()? else { return Ok(()) };
            match frame.opcode {
                OpCode::Text | OpCode::Binary => conn.send_frame(true, frame.opcode, &frame.payload)?,
                OpCode::Ping => conn.send_frame(true, OpCode::Pong, &frame.payload)?,
                OpCode::Close => {
                    conn.send_close(Some((1000, "")))?;
                    return Ok(());
                }
                _ => {}
            }
        }
        conn.reset();
        Ok(())
    })]))
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").count()
}

fn threads() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    let line = status.lines().find(|l| l.starts_with("Threads:")).expect("Threads");
    line.split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("count")
}

/// What one client saw.
#[derive(Debug, Default)]
struct Ledger {
    /// Connections that dropped so far.
    drops: u64,
    /// Messages sent and not yet echoed: seq → the drop count when it was sent, and whether
    /// `send_frame` said it was written (entered before the call: the echo may come first).
    pending: HashMap<u64, (u64, bool)>,
    /// The last echoed seq.
    last_echo: u64,
    echoes: u64,
    /// Echoes of messages never written, or out of order, or twice.
    anomalies: Vec<String>,
}

struct Soaker {
    ledger: Arc<Mutex<Ledger>>,
    backoff: Backoff,
    connects: Arc<AtomicU64>,
}

impl Handler for Soaker {
    type Cast = ();
    type Info = ();

    fn handle_connect(&mut self, _response: &Response, _ctx: &mut Context<'_, Self>) {
        self.connects.fetch_add(1, Ordering::Relaxed);
    }

    fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        if let Frame::Text(text) = frame {
            let seq: u64 = text.as_str().parse().expect("a number");
            let mut ledger = self.ledger.lock().unwrap();
            ledger.echoes += 1;
            if seq <= ledger.last_echo {
                let anomaly = format!("echo {seq} after {}", ledger.last_echo);
                ledger.anomalies.push(anomaly);
            }
            if !ledger.pending.contains_key(&seq) {
                ledger.anomalies.push(format!("echo of {seq}, which was never sent"));
            }
            ledger.last_echo = seq;
            // Written but lost on a dropped connection: not expected back any more.
            let last = ledger.last_echo;
            ledger.pending.retain(|s, _| *s > last);
        }
        Reply::Continue
    }

    fn handle_disconnect(&mut self, status: DisconnectStatus) -> Reconnect {
        if let CloseReason::Local(_) = status.reason {
            return Reconnect::Stop; // the soak's own close at the end
        }
        self.ledger.lock().unwrap().drops += 1;
        self.backoff.reconnect(&status)
    }
}

/// What the sender and the ledgers counted.
#[derive(Debug, Default)]
struct Tally {
    written: u64,
    refused: u64,
    echoes: u64,
    drops: u64,
    lost_silently: Vec<String>,
    anomalies: Vec<String>,
}

/// The soak against `A`, `adapter` naming it in the report; panics on a failed check.
pub fn run<A: TestAdapter>(adapter: &str) {
    let secs: u64 = std::env::var("WSX_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let limit = raise_fd_limit(4 * CLIENTS as u64 + 256);
    assert!(
        limit >= 2 * CLIENTS as u64 + 64,
        "open-file limit {limit} is too low for the soak"
    );
    let server = crate::child::ChildServer::copy_of_this_binary(SERVER_ROLE);
    let url = server.url().to_owned();
    warm_up::<A>(&url);
    let (fds_before, threads_before, tasks_before, rss_before) = (open_fds(), threads(), A::live_tasks(), rss());
    let connects = Arc::new(AtomicU64::new(0));
    let tally = soak::<A>(&url, secs, &connects);
    // The adapters' threads and tasks wind down after `wait` returns.
    std::thread::sleep(Duration::from_millis(500));
    let connects = connects.load(Ordering::Relaxed);
    let (fds_after, threads_after, tasks_after, rss_after) = (open_fds(), threads(), A::live_tasks(), rss());
    eprintln!(
        "soak {adapter} {secs} s: {} written, {} refused while reconnecting, {} echoed; {} drops, \
         {connects} connects; fds {fds_before} -> {fds_after}, threads {threads_before} -> \
         {threads_after}, tasks {tasks_before:?} -> {tasks_after:?}, RSS {:.1} -> {:.1} MiB",
        tally.written,
        tally.refused,
        tally.echoes,
        tally.drops,
        rss_before as f64 / (1 << 20) as f64,
        rss_after as f64 / (1 << 20) as f64
    );
    drop(server);
    let Tally {
        written,
        echoes,
        drops,
        lost_silently,
        anomalies,
        ..
    } = tally;
    assert!(
        anomalies.is_empty(),
        "{} anomalies: {:?}",
        anomalies.len(),
        &anomalies[..anomalies.len().min(10)]
    );
    assert!(
        lost_silently.is_empty(),
        "{} written messages lost on connections that did not drop: {:?}",
        lost_silently.len(),
        &lost_silently[..lost_silently.len().min(10)]
    );
    assert!(
        drops as f64 >= CLIENTS as f64 * secs as f64 / 30.0 * 0.5,
        "only {drops} drops"
    );
    assert!(
        connects >= drops,
        "{connects} connects for {drops} drops: not every client came back"
    );
    assert!(
        echoes as f64 > written as f64 * 0.9,
        "{echoes} echoes of {written} written"
    );
    assert!(fds_after <= fds_before + 2, "open fds {fds_before} -> {fds_after}");
    assert!(
        threads_after <= threads_before + 1,
        "threads {threads_before} -> {threads_after}"
    );
    if let (Some(before), Some(after)) = (tasks_before, tasks_after) {
        assert!(after <= before, "tasks {before} -> {after}");
    }
    assert!(
        rss_after < rss_before + (48 << 20),
        "RSS {rss_before} -> {rss_after}: memory not given back"
    );
}

/// One client connects and closes first, so the runtime's own threads, poller and tasks
/// (made on first use) are in the starting counts.
fn warm_up<A: TestAdapter>(url: &str) {
    let handler = Soaker {
        ledger: Arc::default(),
        backoff: Backoff::new(Duration::from_millis(20), Duration::from_millis(500)),
        connects: Arc::default(),
    };
    let client = A::start(ConnectSettings::new(url).expect("url"), handler, TestOptions::default()).expect("start");
    let _ = client.close();
    assert!(
        client.wait(Duration::from_secs(10)).is_some(),
        "the warm-up client stops"
    );
    std::thread::sleep(Duration::from_millis(200));
}

/// The clients' whole life: start, send for `secs`, count, close, wait.
fn soak<A: TestAdapter>(url: &str, secs: u64, connects: &Arc<AtomicU64>) -> Tally {
    let mut clients = Vec::with_capacity(CLIENTS);
    let mut ledgers = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let handler = Soaker {
            ledger: ledger.clone(),
            backoff: Backoff::new(Duration::from_millis(20), Duration::from_millis(500)),
            connects: connects.clone(),
        };
        let settings = ConnectSettings::new(url).expect("url");
        let options = TestOptions {
            async_start: true,
            ..TestOptions::default()
        };
        clients.push(A::start(settings, handler, options).expect("start"));
        ledgers.push(ledger);
    }
    let mut tally = Tally::default();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut seq = 0u64;
    while Instant::now() < deadline {
        seq += 1;
        for (client, ledger) in clients.iter().zip(&ledgers) {
            {
                let mut ledger = ledger.lock().unwrap();
                let drops = ledger.drops;
                ledger.pending.insert(seq, (drops, false));
            }
            let started = Instant::now();
            let sent = client.send_frame(Frame::text(seq.to_string()), Duration::from_secs(5));
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "send_frame took {:?}",
                started.elapsed()
            );
            match sent {
                Ok(()) => {
                    tally.written += 1;
                    if let Some(entry) = ledger.lock().unwrap().pending.get_mut(&seq) {
                        entry.1 = true;
                    }
                }
                Err(SendError::NotConnected | SendError::ConnectionFailed(_) | SendError::Timeout) => {
                    tally.refused += 1;
                    ledger.lock().unwrap().pending.remove(&seq);
                }
                Err(other) => panic!("unexpected send error {other:?}"),
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // The last echoes arrive.
    std::thread::sleep(Duration::from_secs(2));
    for (i, ledger) in ledgers.iter().enumerate() {
        let ledger = ledger.lock().unwrap();
        tally.echoes += ledger.echoes;
        tally.drops += ledger.drops;
        let anomalies = ledger.anomalies.iter().map(|a| format!("client {i}: {a}"));
        tally.anomalies.extend(anomalies);
        for (seq, (drops_then, acked)) in &ledger.pending {
            if *acked && *drops_then == ledger.drops {
                tally.lost_silently.push(format!("client {i}: message {seq}"));
            }
        }
    }
    for client in &clients {
        let _ = client.close();
    }
    let stop_by = Instant::now() + Duration::from_secs(15);
    let running: Vec<String> = clients
        .iter()
        .enumerate()
        .filter(|(_, c)| c.wait(stop_by.saturating_duration_since(Instant::now())).is_none())
        .map(|(i, c)| format!("client {i}: {:?}", c.status()))
        .collect();
    assert!(
        running.is_empty(),
        "{} clients did not stop: {:?}",
        running.len(),
        &running[..running.len().min(10)]
    );
    tally
}
