//! The listener's options, one builder for every adapter.

use std::io;
use std::marker::PhantomData;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use wsx_proto::server::{Decision, ServeError, ServeOptions, UpgradeRequest};
use wsx_proto::telemetry::Observer;
use wsx_proto::{Config, Handler};

use super::{Connections, Listening};

/// What an adapter does with a finished [`ServerBuilder`]: bind and serve.
pub trait Listen<H: Handler, D> {
    /// A future of the server, or the server itself (blocking).
    type Output;
    /// Binds the first of `addrs` that works and serves with `decide`.
    fn listen(builder: ServerBuilder<Self>, addrs: io::Result<Vec<SocketAddr>>, decide: D) -> Self::Output
    where
        Self: Sized;
}

/// What the application hears about connections that did not run (bad requests, refusals,
/// timeouts, failed TLS handshakes, the cap).
type OnError = Arc<dyn Fn(&ServeError) + Send + Sync>;

/// A server's options: build with the adapter's `Server::builder()`, finish with
/// `.bind(addr, decide)`.
#[must_use = "a builder does nothing until `bind` is called"]
pub struct ServerBuilder<R> {
    options: ServeOptions,
    tls: Option<Arc<rustls::ServerConfig>>,
    on_error: Option<OnError>,
    runtime: PhantomData<fn() -> R>,
}

impl<R> std::fmt::Debug for ServerBuilder<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("options", &self.options)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl<R> Default for ServerBuilder<R> {
    fn default() -> Self {
        Self {
            options: ServeOptions::default(),
            tls: None,
            on_error: None,
            runtime: PhantomData,
        }
    }
}

impl<R> ServerBuilder<R> {
    /// The defaults ([`ServeOptions::default`], no TLS).
    pub fn new() -> Self {
        Self::default()
    }

    /// Limits and switches for every connection ([`ServeOptions::config`]).
    pub fn config(mut self, config: Config) -> Self {
        self.options.config = config;
        self
    }

    /// Bytes of outgoing frames that may wait unwritten per connection.
    pub fn send_buffer(mut self, bytes: usize) -> Self {
        self.options = self.options.send_buffer(bytes);
        self
    }

    /// Connections held at once; the next request is answered 503.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.options.max_connections = connections;
        self
    }

    /// Adds a telemetry observer for every connection.
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.options.observers.push(observer);
        self
    }

    /// Serves `wss://` with this rustls configuration (a certificate, and client-certificate
    /// verification if its verifier asks for one).
    pub fn tls(mut self, config: Arc<rustls::ServerConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Called with every connection that did not run: a bad or refused request, a timeout,
    /// a failed TLS handshake, the cap. (They are also traced at debug level.)
    pub fn on_error(mut self, report: impl Fn(&ServeError) + Send + Sync + 'static) -> Self {
        self.on_error = Some(Arc::new(report));
        self
    }

    /// All the options at once.
    pub fn options(mut self, options: ServeOptions) -> Self {
        self.options = options;
        self
    }

    /// Listens on `addr` and serves every upgrade request as `decide` says: it runs for each
    /// request, on the connection's task, and accepts with a handler or refuses.
    pub fn bind<H, D>(self, addr: impl ToSocketAddrs, decide: D) -> R::Output
    where
        H: Handler,
        D: Fn(&UpgradeRequest) -> Decision<H> + Send + Sync + 'static,
        R: Listen<H, D>,
    {
        let addrs = addr.to_socket_addrs().map(Iterator::collect);
        R::listen(self, addrs, decide)
    }

    /// What the listener's connections share, `decide` among it and the TLS configuration
    /// made into the adapter's acceptor by `tls`.
    pub fn listening<H: Handler, D, Tls>(
        &self,
        decide: D,
        tls: impl FnOnce(Arc<rustls::ServerConfig>) -> Tls,
    ) -> Listening<H, D, Tls> {
        let report = self.on_error.clone();
        Listening {
            options: Arc::new(self.options.clone()),
            tls: self.tls.clone().map(tls),
            decide: Arc::new(decide),
            report: Arc::new(move |error: &ServeError| {
                tracing::debug!(target: "wsx", %error, "connection not served");
                if let Some(report) = &report {
                    report(error);
                }
            }),
            connections: Connections::new(self.options.max_connections),
        }
    }
}
