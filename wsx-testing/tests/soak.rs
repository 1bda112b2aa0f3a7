//! The soak (issue 11): 1,000 wsx-tokio clients in one process against a server (its own
//! process) that resets every connection after 3 to 30 s, about a tenth of them every 3 s.
//! Every client reconnects with `Backoff`; a sender keeps `send_frame`-ing numbered messages
//! through all of them. Checked:
//! - every `send_frame` ends, `Ok` (written) or with a typed error, never hangs;
//! - echoes come back in order, once each, and only for messages that were written;
//! - no message acknowledged as written goes missing unless its connection dropped after it
//!   (then its sender could not know; nothing is lost silently on a connection that lived);
//! - the clients reconnected (about as often as the server dropped them);
//! - once all clients closed, open file descriptors, threads, tasks and memory are back to
//!   their starting level.
//!
//! `WSX_SOAK_SECS` sets the length (default 75 s; the README's figures come from a 600 s run).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wsx_testing::memory::{raise_fd_limit, rss};
use wsx_tokio::{
    Backoff, CloseReason, ConnectSettings, Context, DisconnectStatus, Frame, Handler, Reconnect, Reply, SendError,
};

const CLIENTS: usize = 1_000;

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

    fn handle_connect(&mut self, _response: &wsx_tokio::Response, _ctx: &mut Context<'_, Self>) {
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
            return Reconnect::Stop; // the test's own close at the end
        }
        self.ledger.lock().unwrap().drops += 1;
        self.backoff.reconnect(&status)
    }
}

#[test]
fn a_thousand_clients_against_a_server_that_keeps_dropping_them() {
    let secs: u64 = std::env::var("WSX_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(75);
    let limit = raise_fd_limit(4 * CLIENTS as u64 + 256);
    assert!(
        limit >= 2 * CLIENTS as u64 + 64,
        "open-file limit {limit} is too low for the soak"
    );
    let mut server = Command::new(env!("CARGO_BIN_EXE_wsx-soak-server"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("soak server");
    let mut url = String::new();
    BufReader::new(server.stdout.take().expect("stdout"))
        .read_line(&mut url)
        .expect("server URL");
    let url = url.trim().to_owned();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (fds_before, threads_before, tasks_before, rss_before) =
        (open_fds(), threads(), runtime.metrics().num_alive_tasks(), rss());
    let connects = Arc::new(AtomicU64::new(0));
    let report = runtime.block_on(async {
        let mut clients = Vec::with_capacity(CLIENTS);
        let mut ledgers = Vec::with_capacity(CLIENTS);
        for _ in 0..CLIENTS {
            let ledger = Arc::new(Mutex::new(Ledger::default()));
            let handler = Soaker {
                ledger: ledger.clone(),
                backoff: Backoff::new(Duration::from_millis(20), Duration::from_millis(500)),
                connects: connects.clone(),
            };
            let settings = ConnectSettings::new(&url).expect("url");
            clients.push(
                wsx_tokio::builder(settings)
                    .async_start(true)
                    .start(handler)
                    .await
                    .expect("start"),
            );
            ledgers.push(ledger);
        }
        let (mut written, mut refused, mut seq) = (0u64, 0u64, 0u64);
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            seq += 1;
            for (client, ledger) in clients.iter().zip(&ledgers) {
                {
                    let mut ledger = ledger.lock().unwrap();
                    let drops = ledger.drops;
                    ledger.pending.insert(seq, (drops, false));
                }
                let sent = tokio::time::timeout(
                    Duration::from_secs(10),
                    client.send_frame_timeout(Frame::text(seq.to_string()), Duration::from_secs(5)),
                )
                .await
                .expect("send_frame ended within its timeout");
                match sent {
                    Ok(()) => {
                        written += 1;
                        if let Some(entry) = ledger.lock().unwrap().pending.get_mut(&seq) {
                            entry.1 = true;
                        }
                    }
                    Err(SendError::NotConnected | SendError::ConnectionFailed(_) | SendError::Timeout) => {
                        refused += 1;
                        ledger.lock().unwrap().pending.remove(&seq);
                    }
                    Err(other) => panic!("unexpected send error {other:?}"),
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // The last echoes arrive.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mut lost_silently = Vec::new();
        let mut anomalies = Vec::new();
        let (mut echoes, mut drops) = (0, 0);
        for (i, ledger) in ledgers.iter().enumerate() {
            let ledger = ledger.lock().unwrap();
            echoes += ledger.echoes;
            drops += ledger.drops;
            anomalies.extend(ledger.anomalies.iter().map(|a| format!("client {i}: {a}")));
            for (seq, (drops_then, acked)) in &ledger.pending {
                if *acked && *drops_then == ledger.drops {
                    lost_silently.push(format!("client {i}: message {seq}"));
                }
            }
        }
        for client in &clients {
            let _ = client.close();
        }
        let stop_by = Instant::now() + Duration::from_secs(15);
        for client in &clients {
            let left = stop_by.saturating_duration_since(Instant::now());
            let _ = tokio::time::timeout(left, client.wait()).await;
        }
        let running: Vec<String> = clients
            .iter()
            .enumerate()
            .filter(|(_, c)| c.terminated().is_none())
            .map(|(i, c)| format!("client {i}: {:?}", c.status()))
            .collect();
        assert!(
            running.is_empty(),
            "{} clients did not stop: {:?}",
            running.len(),
            &running[..running.len().min(10)]
        );
        drop(clients);
        tokio::time::sleep(Duration::from_millis(500)).await;
        (written, refused, echoes, drops, lost_silently, anomalies)
    });
    let (written, refused, echoes, drops, lost_silently, anomalies) = report;
    let connects = connects.load(Ordering::Relaxed);
    let (fds_after, threads_after, tasks_after, rss_after) =
        (open_fds(), threads(), runtime.metrics().num_alive_tasks(), rss());
    eprintln!(
        "soak {secs} s: {written} written, {refused} refused while reconnecting, {echoes} echoed; \
         {drops} drops, {connects} connects; fds {fds_before} -> {fds_after}, threads \
         {threads_before} -> {threads_after}, tasks {tasks_before} -> {tasks_after}, RSS {:.1} -> {:.1} MiB",
        rss_before as f64 / (1 << 20) as f64,
        rss_after as f64 / (1 << 20) as f64
    );
    let _ = server.kill();
    let _ = server.wait();
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
    assert!(tasks_after <= tasks_before, "tasks {tasks_before} -> {tasks_after}");
    assert!(
        rss_after < rss_before + (48 << 20),
        "RSS {rss_before} -> {rss_after}: memory not given back"
    );
}
