//! An RFC 8441 front: an HTTP/2 server that turns each extended CONNECT stream
//! (`:method CONNECT`, `:protocol websocket`) into an HTTP/1.1 WebSocket upgrade to a backend
//! TCP server, as HAProxy does, then copies bytes both ways. The scripted HTTP/1.1 servers of
//! this crate ([`TestServer`](crate::TestServer)) are then reachable over HTTP/2 unchanged.
//!
//! The front runs hyperium's `h2` server on a tokio runtime of its own thread, so a client
//! test may use any runtime (or none). It speaks h2c with prior knowledge, or TLS with ALPN:
//! `h2` is served as HTTP/2, any other protocol (or none) is passed through to the backend as
//! raw TCP, so an HTTP/1.1 WebSocket client can use the same port.
//!
//! Misbehaviours for client tests: refusing every CONNECT ([`FrontOptions::refuse`]), not
//! offering extended CONNECT ([`FrontOptions::connect_protocol`]), GOAWAY
//! ([`H2Front::goaway`]), dropped connections ([`H2Front::abort_connections`]), reset streams
//! ([`H2Front::reset_streams`]) and a stream the front never reads (a path containing `stall`).

mod connection;
mod shovel;
mod stream;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, oneshot};

use crate::tls::TestPki;

/// How the front is set up. `FrontOptions::default()` is h2c with no backend (every stream
/// then needs an `x-wsx-backend` header); the setters chain.
#[derive(Clone)]
pub struct FrontOptions {
    /// Where streams are upgraded to, unless a request's `x-wsx-backend: 127.0.0.1:PORT`
    /// header names another address (that header is not forwarded). Also where TLS
    /// connections that did not negotiate `h2` are passed through to.
    pub backend: Option<SocketAddr>,
    /// TLS with this PKI's `localhost` certificate; h2c with prior knowledge when `None`.
    pub tls: Option<TestPki>,
    /// The ALPN protocols the TLS server accepts, in its order of preference (default
    /// `[b"h2"]`). A client offering ALPN but none of these fails the TLS handshake (rustls
    /// answers `no_application_protocol`); to pass `http/1.1` clients through, list it.
    pub alpn: Vec<Vec<u8>>,
    /// Answers every CONNECT with this status and `x-refused: yes`, without contacting a
    /// backend.
    pub refuse: Option<u16>,
    /// Whether the front sends SETTINGS_ENABLE_CONNECT_PROTOCOL (default true). Without it,
    /// `h2` itself resets every stream that carries `:protocol` (PROTOCOL_ERROR).
    pub connect_protocol: bool,
    /// SETTINGS_MAX_CONCURRENT_STREAMS (default 4096).
    pub max_concurrent_streams: u32,
    /// SETTINGS_INITIAL_WINDOW_SIZE: each stream's receive window (h2's 65,535 when `None`).
    pub initial_window_size: Option<u32>,
    /// The connection's receive window (h2's 65,535 when `None`). A stalled stream keeps its
    /// unread bytes counted against this window too: to keep other streams flowing beside a
    /// stalled one, make it larger than the stream windows the stalled streams can fill.
    pub initial_connection_window_size: Option<u32>,
    /// h2's budget for small DATA frames held unread (`h2::server::Builder::data_frame_budget`;
    /// h2's default, half the connection window and at least 25,600, when `None`). Every
    /// unread non-final DATA frame under 256 bytes takes 256 minus its length until it is
    /// read; when the budget runs out h2 closes the whole connection with GOAWAY
    /// ENHANCE_YOUR_CALM. A client writing many small messages to a stalled stream needs a
    /// larger one.
    pub data_frame_budget: Option<usize>,
}

impl Default for FrontOptions {
    fn default() -> Self {
        Self {
            backend: None,
            tls: None,
            alpn: vec![b"h2".to_vec()],
            refuse: None,
            connect_protocol: true,
            max_concurrent_streams: 4096,
            initial_window_size: None,
            initial_connection_window_size: None,
            data_frame_budget: None,
        }
    }
}

impl fmt::Debug for FrontOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let alpn: Vec<_> = self.alpn.iter().map(|p| String::from_utf8_lossy(p)).collect();
        f.debug_struct("FrontOptions")
            .field("backend", &self.backend)
            .field("tls", &self.tls.is_some())
            .field("alpn", &alpn)
            .field("refuse", &self.refuse)
            .field("connect_protocol", &self.connect_protocol)
            .field("max_concurrent_streams", &self.max_concurrent_streams)
            .field("initial_window_size", &self.initial_window_size)
            .field("initial_connection_window_size", &self.initial_connection_window_size)
            .field("data_frame_budget", &self.data_frame_budget)
            .finish()
    }
}

impl FrontOptions {
    /// h2c with prior knowledge, upgrading every stream to `backend`.
    pub fn to(backend: SocketAddr) -> Self {
        Self::default().backend(backend)
    }

    /// Sets [`backend`](Self::backend).
    pub fn backend(mut self, backend: SocketAddr) -> Self {
        self.backend = Some(backend);
        self
    }

    /// Sets [`tls`](Self::tls).
    pub fn tls(mut self, pki: TestPki) -> Self {
        self.tls = Some(pki);
        self
    }

    /// Sets [`alpn`](Self::alpn), e.g. `[b"h2", b"http/1.1"]`.
    pub fn alpn<P: AsRef<[u8]>>(mut self, protocols: impl IntoIterator<Item = P>) -> Self {
        self.alpn = protocols.into_iter().map(|p| p.as_ref().to_vec()).collect();
        self
    }

    /// Sets [`refuse`](Self::refuse).
    pub fn refuse(mut self, status: u16) -> Self {
        self.refuse = Some(status);
        self
    }

    /// Sets [`connect_protocol`](Self::connect_protocol).
    pub fn connect_protocol(mut self, on: bool) -> Self {
        self.connect_protocol = on;
        self
    }

    /// Sets [`max_concurrent_streams`](Self::max_concurrent_streams).
    pub fn max_concurrent_streams(mut self, max: u32) -> Self {
        self.max_concurrent_streams = max;
        self
    }

    /// Sets [`initial_window_size`](Self::initial_window_size).
    pub fn initial_window_size(mut self, bytes: u32) -> Self {
        self.initial_window_size = Some(bytes);
        self
    }

    /// Sets [`initial_connection_window_size`](Self::initial_connection_window_size).
    pub fn initial_connection_window_size(mut self, bytes: u32) -> Self {
        self.initial_connection_window_size = Some(bytes);
        self
    }

    /// Sets [`data_frame_budget`](Self::data_frame_budget).
    pub fn data_frame_budget(mut self, bytes: usize) -> Self {
        self.data_frame_budget = Some(bytes);
        self
    }

    pub(crate) fn h2_builder(&self) -> h2::server::Builder {
        let mut builder = h2::server::Builder::new();
        builder.max_concurrent_streams(self.max_concurrent_streams);
        if self.connect_protocol {
            builder.enable_connect_protocol();
        }
        if let Some(bytes) = self.initial_window_size {
            builder.initial_window_size(bytes);
        }
        if let Some(bytes) = self.initial_connection_window_size {
            builder.initial_connection_window_size(bytes);
        }
        if let Some(bytes) = self.data_frame_budget {
            builder.data_frame_budget(bytes);
        }
        builder
    }
}

/// What the handle asks of every connection and stream task.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Command {
    GoAway,
    AbortConnections,
    ResetStreams(h2::Reason),
}

/// What the runtime's tasks share with the handle.
pub(crate) struct FrontState {
    pub(crate) options: FrontOptions,
    /// Every connection and stream task subscribes; a broadcast send never blocks the caller
    /// (which may be inside another runtime).
    pub(crate) commands: broadcast::Sender<Command>,
    pub(crate) connections: AtomicUsize,
    pub(crate) streams: AtomicUsize,
    pub(crate) open_streams: AtomicUsize,
    /// HTTP/2 connections past their handshake and not yet ended.
    pub(crate) open_h2_connections: AtomicUsize,
    /// GOAWAYs queued so far, one per connection and [`H2Front::goaway`].
    pub(crate) goaways: AtomicUsize,
}

/// A running front on `127.0.0.1`; dropping it closes the listener and ends every connection
/// and stream (its runtime is dropped).
pub struct H2Front {
    addr: SocketAddr,
    state: Arc<FrontState>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for H2Front {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("H2Front")
            .field("addr", &self.addr)
            .field("options", &self.state.options)
            .field("connections", &self.connections())
            .field("streams", &self.streams())
            .field("open_streams", &self.open_streams())
            .finish()
    }
}

/// Commands are rare; a task that lags this far behind loses the oldest ones.
const COMMAND_BACKLOG: usize = 64;

impl H2Front {
    /// Binds a free port on 127.0.0.1 and starts serving on a thread of its own.
    pub fn start(options: FrontOptions) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the h2 front");
        let addr = listener.local_addr().expect("h2 front address");
        listener.set_nonblocking(true).expect("non-blocking h2 front listener");
        let (commands, _) = broadcast::channel(COMMAND_BACKLOG);
        let state = Arc::new(FrontState {
            options,
            commands,
            connections: AtomicUsize::new(0),
            streams: AtomicUsize::new(0),
            open_streams: AtomicUsize::new(0),
            open_h2_connections: AtomicUsize::new(0),
            goaways: AtomicUsize::new(0),
        });
        let (stop, stopped) = oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("h2 front runtime");
        let task_state = state.clone();
        let thread = thread::Builder::new()
            .name(format!("wsx-h2-front-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    tokio::select! {
                        _ = connection::accept_loop(listener, task_state) => {}
                        _ = stopped => {}
                    }
                });
                // Dropping the runtime here drops every connection and stream task with it.
            })
            .expect("spawn the h2 front");
        Self {
            addr,
            state,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `wss://localhost:PORT{path}` with TLS (the certificate's name), else
    /// `ws://127.0.0.1:PORT{path}`; `path` gets a leading `/` if it has none.
    pub fn url(&self, path: &str) -> String {
        let slash = if path.starts_with('/') { "" } else { "/" };
        match self.state.options.tls {
            Some(_) => format!("wss://localhost:{}{slash}{path}", self.addr.port()),
            None => format!("ws://{}{slash}{path}", self.addr),
        }
    }

    /// The PKI whose CA a client must trust, when the front serves TLS.
    pub fn tls_pki(&self) -> Option<&TestPki> {
        self.state.options.tls.as_ref()
    }

    /// TCP connections accepted so far (HTTP/2 and passed-through ones).
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// HTTP/2 streams (requests) accepted so far, on all connections.
    pub fn streams(&self) -> usize {
        self.state.streams.load(Ordering::SeqCst)
    }

    /// Streams whose task is still running (not yet answered, or still relaying).
    pub fn open_streams(&self) -> usize {
        self.state.open_streams.load(Ordering::SeqCst)
    }

    /// HTTP/2 connections open now (past their handshake, not yet ended).
    pub fn open_connections(&self) -> usize {
        self.state.open_h2_connections.load(Ordering::SeqCst)
    }

    /// Waits until [`open_streams`](Self::open_streams) is `n`; false if it is not within
    /// `timeout`. Blocks the calling thread (the front runs on its own, so an async test may
    /// call it as long as its own tasks can wait).
    pub fn wait_open_streams(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.open_streams() != n {
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(5));
        }
        true
    }

    /// Sends GOAWAY on every open connection (h2's graceful shutdown: the streams already
    /// open continue, the connection closes after the last one ends). Returns once every
    /// connection has queued it: what a stream sends from then on reaches its client after
    /// the GOAWAY.
    pub fn goaway(&self) {
        let target = self.state.goaways.load(Ordering::SeqCst) + self.state.open_h2_connections.load(Ordering::SeqCst);
        self.command(Command::GoAway);
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.state.goaways.load(Ordering::SeqCst) < target && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// Drops every HTTP/2 and passed-through connection: the TCP connection closes without
    /// GOAWAY (or TLS close_notify), and every stream on it ends with its backend socket.
    pub fn abort_connections(&self) {
        self.command(Command::AbortConnections);
    }

    /// Sends RST_STREAM with `reason` on every open stream and drops its backend socket.
    pub fn reset_streams(&self, reason: h2::Reason) {
        self.command(Command::ResetStreams(reason));
    }

    fn command(&self, command: Command) {
        // No receiver means no connection is open: nothing to do.
        let _ = self.state.commands.send(command);
    }
}

impl Drop for H2Front {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
