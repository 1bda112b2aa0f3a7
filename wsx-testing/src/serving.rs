//! The server side of an adapter, as the suite drives it: [`TestServing`] starts the
//! adapter's listener on `127.0.0.1:0` with a decision function, and [`TestListener`] is
//! the running server. Clients of any adapter (or raw sockets, or other implementations)
//! then connect to it.

use std::io;
use std::net::SocketAddr;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wsx_proto::server::{Decision, ServeError, ServeOptions, ShutdownReport, UpgradeRequest};
use wsx_proto::Handler;

use crate::harness::{Events, Probe, TestAdapter};

/// What the test's server answers to each request.
pub type Decide<H> = Arc<dyn Fn(&UpgradeRequest) -> Decision<H> + Send + Sync>;

/// A running server, wrapped for the suite.
pub trait TestListener<C>: Send + Sync + 'static {
    /// Where it listens.
    fn addr(&self) -> SocketAddr;
    /// `ws://127.0.0.1:PORT/` (or `wss://localhost:PORT/` with TLS).
    fn url(&self) -> String;
    /// Handles to its open connections.
    fn clients(&self) -> Vec<C>;
    /// Connections held (open, or in their handshake).
    fn connection_count(&self) -> usize;
    /// A graceful shutdown within `deadline`.
    fn shutdown(self, deadline: Duration) -> ShutdownReport;
}

/// An adapter that serves.
pub trait TestServing: TestAdapter {
    /// Its server.
    type Listener<H: Handler>: TestListener<Self::Client<H>>;

    /// Starts a server on `127.0.0.1:0` as the adapter's server builder does.
    fn serve<H: Handler>(
        options: ServeOptions,
        tls: Option<Arc<rustls::ServerConfig>>,
        decide: Decide<H>,
    ) -> io::Result<Self::Listener<H>>;

    /// Upgrades `stream`, which the test accepted itself, with the adapter's
    /// `server::accept`.
    fn accept<H: Handler>(
        stream: std::net::TcpStream,
        options: &ServeOptions,
        decide: Decide<H>,
    ) -> Result<Self::Client<H>, ServeError>;
}

/// A decision function that accepts every request with a new [`Probe`] (echoing, if
/// `echo`), and the log of each accepted connection's callbacks, in the order they connect.
pub fn probes<A: TestAdapter>(echo: bool) -> (Decide<Probe<A>>, Receiver<Events>) {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let decide: Decide<Probe<A>> = Arc::new(move |_request: &UpgradeRequest| {
        let (probe, events) = Probe::<A>::new();
        let _ = tx.lock().unwrap_or_else(|e| e.into_inner()).send(events);
        Decision::accept(if echo { probe.echo() } else { probe })
    });
    (decide, rx)
}
