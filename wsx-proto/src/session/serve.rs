//! The server role's options and decisions, sans-IO: what every adapter's listener and
//! `accept` share. The request is read and parsed by the driver
//! ([`UpgradeRequest::parse`]); the application decides ([`Decision`]); an accepted request
//! becomes a [`Connection`](crate::Connection) and a [`Session`](crate::Session) that runs the
//! same [`Handler`](crate::Handler) callbacks as a client's.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::protocol::config::Config;
use crate::protocol::upgrade::{Accept, AcceptError, BadRequest, Rejection, UpgradeRequest};
use crate::protocol::url::WsUrl;
use crate::session::settings::ConnectSettings;
use crate::session::start::{StartOptions, DEFAULT_SEND_BUFFER};
use crate::session::telemetry::Observer;

/// How many connections a server holds at once by default; the next is answered 503.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// What the application answers to an upgrade request: accept it with a handler (and a
/// subprotocol, extra headers), or refuse it with any HTTP answer. (Not `non_exhaustive`: a
/// new decision is one every driver must carry out.)
#[derive(Debug)]
pub enum Decision<H> {
    /// Upgrade, and run `handler` on the connection.
    Accept {
        /// The connection's callbacks.
        handler: H,
        /// The subprotocol and headers of the 101 answer.
        accept: Accept,
    },
    /// Answer with this instead, and close.
    Reject(Rejection),
}

impl<H> Decision<H> {
    /// Accepts with `handler`, no subprotocol and no extra headers.
    pub fn accept(handler: H) -> Self {
        Self::Accept {
            handler,
            accept: Accept::new(),
        }
    }

    /// Accepts with `handler` and `accept`'s subprotocol and headers.
    pub fn accept_with(handler: H, accept: Accept) -> Self {
        Self::Accept { handler, accept }
    }

    /// Refuses with `rejection` (e.g. `Rejection::new(403)`).
    pub fn reject(rejection: Rejection) -> Self {
        Self::Reject(rejection)
    }
}

/// A server's options: the limits every connection runs with, what it may buffer, how many
/// connections it holds, and telemetry. The defaults are safe with untrusted clients: a
/// request must arrive within [`Config::handshake_timeout`] (5 s) and
/// [`Config::max_handshake_size`] (16 KiB), messages are limited by
/// [`Config::max_message_size`], and each connection's unwritten output by `send_buffer`.
#[derive(Clone)]
#[non_exhaustive]
pub struct ServeOptions {
    /// Limits and switches for every connection (permessage-deflate is answered when set).
    pub config: Config,
    /// Bytes of outgoing frames that may wait unwritten per connection.
    pub send_buffer: usize,
    /// Connections held at once; the next request is answered 503 until one ends.
    pub max_connections: usize,
    /// Telemetry observers, for every connection.
    pub observers: Vec<Arc<dyn Observer>>,
}

impl fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServeOptions")
            .field("config", &self.config)
            .field("send_buffer", &self.send_buffer)
            .field("max_connections", &self.max_connections)
            .field("observers", &self.observers.len())
            .finish()
    }
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            config: Config::default(),
            send_buffer: DEFAULT_SEND_BUFFER,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            observers: Vec::new(),
        }
    }
}

impl ServeOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`config`](Self::config).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Sets [`send_buffer`](Self::send_buffer) (at least 1).
    pub fn send_buffer(mut self, bytes: usize) -> Self {
        self.send_buffer = bytes.max(1);
        self
    }

    /// Sets [`max_connections`](Self::max_connections).
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections;
        self
    }

    /// Adds a telemetry observer.
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observers.push(observer);
        self
    }

    /// The session's start options for an accepted `request`: its settings carry the URL the
    /// client asked for (`wss` when `secure`) and this server's config.
    pub fn start_options(&self, request: &UpgradeRequest, secure: bool) -> StartOptions {
        let scheme = if secure { "wss" } else { "ws" };
        let url = WsUrl::parse(&format!("{scheme}://{}{}", request.host(), request.path()))
            .or_else(|_| WsUrl::parse(&format!("{scheme}://localhost/")))
            .expect("a fixed URL parses");
        let mut options = StartOptions::new(ConnectSettings::from_url(url).config(self.config.clone()));
        options.observers.clone_from(&self.observers);
        options.send_buffer = self.send_buffer;
        options
    }
}

/// Why a server did not run a connection. Every case was answered as it should be (an HTTP
/// status for a bad or refused request, nothing to a client that went away).
#[derive(Debug)]
#[non_exhaustive]
pub enum ServeError {
    /// The request was not a valid upgrade; answered with its status.
    BadRequest(BadRequest),
    /// The application refused it with this status.
    Rejected(u16),
    /// The application's acceptance was invalid (e.g. a subprotocol the client did not
    /// offer); answered 500.
    Accept(AcceptError),
    /// No whole request within the handshake timeout; answered 408.
    TimedOut(Duration),
    /// The server held [`ServeOptions::max_connections`]; answered 503.
    TooManyConnections,
    /// The server is shutting down; answered 503.
    ShuttingDown,
    /// The client closed the connection before its request was complete.
    Closed,
    /// Reading, writing or the TLS handshake failed.
    Io(io::Error),
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadRequest(e) => write!(f, "bad upgrade request: {e}"),
            Self::Rejected(status) => write!(f, "the application refused the upgrade with {status}"),
            Self::Accept(e) => write!(f, "cannot accept as asked: {e}"),
            Self::TimedOut(t) => write!(f, "no complete request within {t:?}"),
            Self::TooManyConnections => f.write_str("too many connections"),
            Self::ShuttingDown => f.write_str("the server is shutting down"),
            Self::Closed => f.write_str("the client closed the connection during the handshake"),
            Self::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

impl std::error::Error for ServeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::BadRequest(e) => Some(e),
            Self::Accept(e) => Some(e),
            Self::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl ServeError {
    /// The HTTP answer this failure is given before the connection closes, if any.
    pub fn rejection(&self) -> Option<Rejection> {
        match self {
            Self::BadRequest(e) => Some(e.rejection()),
            Self::Accept(_) => Some(Rejection::new(500)),
            Self::TimedOut(_) => Some(Rejection::new(408)),
            Self::TooManyConnections | Self::ShuttingDown => Some(Rejection::new(503).header("Retry-After", "1")),
            Self::Rejected(_) | Self::Closed | Self::Io(_) => None,
        }
    }
}

/// What a graceful shutdown left behind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Connections that were open when the shutdown started.
    pub open: usize,
    /// Of those, the ones that closed within the deadline.
    pub closed: usize,
    /// The ones still open at the deadline, aborted.
    pub aborted: usize,
}
