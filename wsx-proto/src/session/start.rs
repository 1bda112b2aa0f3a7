//! Start options, shared by every adapter: one builder, finished by the adapter's runtime.

use std::marker::PhantomData;
use std::sync::Arc;

use crate::error::Error;
use crate::session::handler::Handler;
use crate::session::settings::{ConnectSettings, IntoConnectSettings};
use crate::session::telemetry::Observer;

/// How a client starts, beside its connection settings.
#[derive(Clone)]
#[non_exhaustive]
pub struct StartOptions {
    /// The connection settings, or why they could not be made.
    pub settings: Result<ConnectSettings, Error>,
    /// Return at once and connect in the background.
    pub async_start: bool,
    /// Send a failed first connect to `handle_disconnect` instead of returning it.
    pub handle_initial_conn_failure: bool,
    /// Telemetry observers.
    pub observers: Vec<Arc<dyn Observer>>,
    /// Bytes of outgoing frames that may wait unwritten (see [`Builder::send_buffer`]).
    pub send_buffer: usize,
}

/// The default of [`Builder::send_buffer`]: 1 MiB (measured: more does not stream faster on loopback, and costs memory).
pub const DEFAULT_SEND_BUFFER: usize = 1 << 20;

impl std::fmt::Debug for StartOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartOptions")
            .field("settings", &self.settings)
            .field("async_start", &self.async_start)
            .field("handle_initial_conn_failure", &self.handle_initial_conn_failure)
            .field("observers", &self.observers.len())
            .field("send_buffer", &self.send_buffer)
            .finish()
    }
}

/// How an adapter starts a client; `R` in [`Builder<R>`] is the adapter's runtime marker.
pub trait Start<H: Handler> {
    /// What `start` gives: a future for async adapters, the result itself for blocking ones.
    type Output;
    /// Starts `handler` with `options`.
    fn start(options: StartOptions, handler: H) -> Self::Output;
}

/// Start options for a client on runtime `R`: the adapter's `builder` function makes one.
#[must_use = "a builder does nothing until `start` is called"]
pub struct Builder<R> {
    options: StartOptions,
    runtime: PhantomData<fn() -> R>,
}

impl<R> std::fmt::Debug for Builder<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.options.fmt(f)
    }
}

impl<R> Builder<R> {
    /// Options for `settings` (a URL, [`WsUrl`](crate::WsUrl) or [`ConnectSettings`]).
    pub fn new(settings: impl IntoConnectSettings) -> Self {
        Self {
            options: StartOptions {
                settings: settings.into_connect_settings().map_err(Error::from),
                async_start: false,
                handle_initial_conn_failure: false,
                observers: Vec::new(),
                send_buffer: DEFAULT_SEND_BUFFER,
            },
            runtime: PhantomData,
        }
    }

    /// Return at once and connect in the background (WebSockex's `async: true`).
    pub fn async_start(mut self, async_start: bool) -> Self {
        self.options.async_start = async_start;
        self
    }

    /// Send a failed first connect to `handle_disconnect` instead of returning it
    /// (WebSockex's `handle_initial_conn_failure: true`).
    pub fn handle_initial_conn_failure(mut self, handle: bool) -> Self {
        self.options.handle_initial_conn_failure = handle;
        self
    }

    /// Bounds the memory of outgoing data (default 1 MiB): the bytes of frames queued by
    /// `send` and not yet written to the socket, and the connection's unwritten output. While
    /// it is spent, `send` waits, queued commands (casts, `send_frame`, replies) wait their
    /// turn, and the socket is not read (so replies to a server that does not read cannot pile
    /// up). One frame larger than the whole buffer still goes through, alone.
    /// A sender waiting for more than half of the buffer reserves it: smaller senders leave
    /// it alone, so they cannot starve a large frame.
    pub fn send_buffer(mut self, bytes: usize) -> Self {
        self.options.send_buffer = bytes.max(1);
        self
    }

    /// Registers a telemetry observer.
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.options.observers.push(observer);
        self
    }

    /// Starts the client. Without `async_start`, it is connected (and `handle_connect` has
    /// run) when this returns, or the first attempt's error is returned.
    pub fn start<H: Handler>(self, handler: H) -> R::Output
    where
        R: Start<H>,
    {
        R::start(self.options, handler)
    }
}
