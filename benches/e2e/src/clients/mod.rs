//! One driver per client library, and what they share: the sink pump (feed, flush every
//! ~64 KiB or when the window is full), the idle-connection opener and the RSS accounting.
//!
//! A flood is a stream whose [`Params`] have no window (see [`Params::for_workload`]): every
//! driver's streaming loop runs it unchanged, its waits for room never waiting.

pub mod fastwebsockets;
pub mod io_only;
pub mod pinger;
pub mod tokio_tungstenite;
pub mod tokio_websockets;
pub mod wsx_async_std;
pub mod wsx_blocking;
pub mod wsx_tokio;
pub mod yawc;

use std::future::Future;
use std::time::{Duration, Instant};

use futures_util::{Sink, SinkExt, StreamExt};

use crate::window::Window;
use crate::{clock_every, flush_every, BoxError, Measurement, Params, Result, Workload, MANY_SIZE};

/// How long the idle connections settle before the RSS is read.
const IDLE_SETTLE: Duration = Duration::from_millis(300);

/// The handler every wsx driver runs (the three adapters share wsx-proto's trait): counts
/// echoes into the shared window.
pub struct Counter(pub std::sync::Arc<Window>);

impl ::wsx_tokio::Handler for Counter {
    type Cast = ();
    type Info = ();

    fn handle_frame(
        &mut self,
        _frame: ::wsx_tokio::Frame,
        _ctx: &mut ::wsx_tokio::Context<'_, Self>,
    ) -> ::wsx_tokio::Reply {
        self.0.on_echo();
        ::wsx_tokio::Reply::Continue
    }
}

/// A wsx handler that does nothing: an idle connection.
pub struct Idle;

impl ::wsx_tokio::Handler for Idle {
    type Cast = ();
    type Info = ();
}

/// What a client without permessage-deflate answers to the compressed workloads.
const NO_DEFLATE: &str = "this client has no permessage-deflate";

/// The clients that open WebSockets over HTTP/2 (RFC 8441): the wsx clients, on one shared
/// connection, and yawc, on a connection for each WebSocket (its client has no way to open a
/// stream on a connection it already has).
pub const HTTP2_CLIENTS: [&str; 7] = [
    "wsx-tokio",
    "wsx-tokio-send",
    "wsx-blocking",
    "wsx-async-std",
    "wsx-async-std-smol",
    "wsx-async-std-local",
    "yawc",
];

/// Runs `client` on `workload`.
pub fn run(client: &str, workload: Workload, p: &Params) -> Result<Measurement> {
    let p = &p.for_workload(workload);
    if matches!(workload, Workload::Many { .. }) && client == "io-only" {
        return Err("the I/O-only client has no many-connections driver".into());
    }
    if p.http2 && !HTTP2_CLIENTS.contains(&client) {
        return Err(format!("{client} has no WebSockets over HTTP/2 (RFC 8441)").into());
    }
    match client {
        "wsx-blocking" => {
            return match workload {
                Workload::Rtt => wsx_blocking::rtt(p),
                Workload::Stream(size) | Workload::Flood(size) => wsx_blocking::stream(p, size),
                Workload::Idle => wsx_blocking::idle(p),
                Workload::Deflate(_) => Err(NO_DEFLATE.into()),
                Workload::Many { .. } => many_on_threads(p, || wsx_blocking::stream(p, MANY_SIZE)),
            }
        }
        "wsx-async-std" => return wsx_async_std::run::<::wsx_async_std::executor::AsyncStd>(workload, p),
        "wsx-async-std-smol" => return wsx_async_std::run::<::wsx_async_std::executor::Smol>(workload, p),
        "wsx-async-std-local" => return wsx_async_std::run::<wsx_async_std::Local>(workload, p),
        _ => {}
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    macro_rules! dispatch {
        ($m:ident) => {
            match workload {
                Workload::Rtt => rt.block_on($m::rtt(p)),
                Workload::Stream(size) | Workload::Flood(size) => rt.block_on($m::stream(p, size)),
                Workload::Idle => rt.block_on($m::idle(p)),
                Workload::Deflate(_) => Err(NO_DEFLATE.into()),
                Workload::Many { .. } => rt.block_on(many(p, || $m::stream(p, MANY_SIZE))),
            }
        };
    }
    match client {
        "wsx-tokio-send" => match workload {
            Workload::Rtt => rt.block_on(wsx_tokio::rtt_send(p)),
            Workload::Stream(size) | Workload::Flood(size) => rt.block_on(wsx_tokio::stream_send(p, size)),
            _ => dispatch!(wsx_tokio),
        },
        "wsx-tokio" => match workload {
            Workload::Deflate(payload) => rt.block_on(wsx_tokio::deflate(p, payload)),
            _ => dispatch!(wsx_tokio),
        },
        "tokio-tungstenite" => dispatch!(tokio_tungstenite),
        "fastwebsockets" => dispatch!(fastwebsockets),
        "tokio-websockets" => dispatch!(tokio_websockets),
        "yawc" => match workload {
            Workload::Deflate(payload) => rt.block_on(yawc::deflate(p, payload)),
            _ => dispatch!(yawc),
        },
        "io-only" => dispatch!(io_only),
        other => Err(format!("unknown client {other}").into()),
    }
}

/// The many-connections workload on one task: [`Params::many_conns`] runs of `one` (a
/// streaming connection each) at once; the aggregate rate over the whole time, connecting
/// included, and the time until the last connection was open.
pub async fn many<F, Fut>(p: &Params, one: F) -> Result<Measurement>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Measurement>>,
{
    let start = Instant::now();
    let runs = futures_util::future::join_all((0..p.many_conns).map(|_| one())).await;
    many_result(runs, start)
}

/// [`many`] for a blocking client: a thread per connection.
pub fn many_on_threads(p: &Params, one: impl Fn() -> Result<Measurement> + Sync) -> Result<Measurement> {
    let start = Instant::now();
    let runs = std::thread::scope(|s| {
        let threads: Vec<_> = (0..p.many_conns).map(|_| s.spawn(&one)).collect();
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|_| Err("a connection's thread panicked".into()))
            })
            .collect::<Vec<_>>()
    });
    many_result(runs, start)
}

/// Every connection's echoes over the whole time, and when the last one was open.
fn many_result(runs: Vec<Result<Measurement>>, start: Instant) -> Result<Measurement> {
    let mut m = Measurement {
        websockets: Some(runs.len()),
        ..Measurement::default()
    };
    let mut last_open = None;
    for run in runs {
        let run = run?;
        m.msgs += run.msgs;
        m.bytes += run.bytes;
        last_open = last_open.max(run.connected_at);
    }
    m.secs = start.elapsed().as_secs_f64();
    m.connect_secs = last_open.map(|at| at.duration_since(start).as_secs_f64());
    Ok(m)
}

/// The server's URL as the wsx clients connect to it, over HTTP/2 if the parameters ask for
/// it: required, so that a server without it fails the run rather than quietly measuring
/// HTTP/1.1; in the default pool, so that every client of the process shares one connection.
pub fn wsx_settings(p: &Params) -> Result<::wsx_tokio::ConnectSettings> {
    let settings = ::wsx_tokio::ConnectSettings::new(&p.url())?;
    Ok(match p.http2 {
        true => settings.http2(::wsx_tokio::http2::Http2::Require),
        false => settings,
    })
}

/// A TCP connection to the server with `TCP_NODELAY`, as every driver uses (wsx sets it by
/// default; the others are given a socket set up the same way).
pub async fn tcp(p: &Params) -> Result<tokio::net::TcpStream> {
    let sock = tokio::net::TcpStream::connect(p.addr).await?;
    sock.set_nodelay(true)?;
    Ok(sock)
}

/// Streams through a `Sink` the idiomatic way: `feed` messages, `flush` every ~64 KiB and
/// whenever the window is full. Returns the messages sent once all are echoed.
pub async fn pump_sink<S, M>(
    sink: &mut S,
    mut msg: impl FnMut() -> M,
    window: &Window,
    size: usize,
    p: &Params,
) -> Result<u64>
where
    S: Sink<M> + Unpin,
    S::Error: Into<BoxError>,
{
    let deadline = Instant::now() + p.stream_time;
    let (flush_every, clock_every) = (flush_every(size), clock_every(size));
    let mut sent = 0u64;
    let mut unflushed = 0u64;
    loop {
        if p.sent_enough(sent, deadline, clock_every) {
            break;
        }
        if !window.has_room(sent) {
            if unflushed > 0 {
                sink.flush().await.map_err(Into::into)?;
                unflushed = 0;
            }
            window.room(sent).await;
        }
        sink.feed(msg()).await.map_err(Into::into)?;
        sent += 1;
        unflushed += 1;
        if unflushed >= flush_every {
            sink.flush().await.map_err(Into::into)?;
            unflushed = 0;
        }
    }
    sink.flush().await.map_err(Into::into)?;
    window.until(sent).await;
    Ok(sent)
}

/// The streaming measurement once `window` has counted every echo (of `size` bytes) since
/// `start`, the moment the connection was open.
pub fn stream_result(window: &Window, size: usize, start: Instant) -> Measurement {
    Measurement {
        msgs: window.received(),
        bytes: window.received() * size as u64,
        secs: start.elapsed().as_secs_f64(),
        connected_at: Some(start),
        ..Measurement::default()
    }
}

/// Opens `p.conns` connections with `open` (at most `p.open_concurrency` handshakes at once),
/// lets them settle idle, and measures the time to open them all and the RSS growth per
/// connection. `open` must leave the connection being read, as an application would (a task
/// awaiting the next message); what it returns is kept until the measurement is taken.
/// Sleeps with tokio's timer: see [`open_idle_with`] for other executors.
pub async fn open_idle<F, Fut, T>(p: &Params, open: F) -> Result<Measurement>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    open_idle_with(p, open, tokio::time::sleep).await
}

/// [`open_idle`], sleeping with `sleep`.
pub async fn open_idle_with<F, Fut, T, S, SFut>(p: &Params, open: F, sleep: S) -> Result<Measurement>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<T>>,
    S: FnOnce(Duration) -> SFut,
    SFut: Future<Output = ()>,
{
    let mut kept = Vec::with_capacity(p.conns);
    let before = crate::sys::rss_bytes();
    let start = Instant::now();
    let mut opening = futures_util::stream::iter(0..p.conns)
        .map(open)
        .buffer_unordered(p.open_concurrency);
    while let Some(conn) = opening.next().await {
        kept.push(conn?);
    }
    let secs = start.elapsed().as_secs_f64();
    drop(opening);
    sleep(IDLE_SETTLE).await;
    let after = crate::sys::rss_bytes();
    let m = idle_result(p.conns, secs, before, after);
    drop(kept);
    Ok(m)
}

/// The idle measurement from RSS before and after.
pub fn idle_result(conns: usize, secs: f64, before: Option<u64>, after: Option<u64>) -> Measurement {
    Measurement {
        secs,
        conns: Some(conns),
        bytes_per_conn: before
            .zip(after)
            .map(|(b, a)| (a.saturating_sub(b)) as f64 / conns.max(1) as f64),
        ..Measurement::default()
    }
}
