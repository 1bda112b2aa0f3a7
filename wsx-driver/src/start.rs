//! Start options, shared by every adapter: one builder, finished by the adapter's runtime.

use std::marker::PhantomData;
use std::sync::Arc;

use wsx_proto::config::IntoConnectSettings;
use wsx_proto::session::StartOptions;
use wsx_proto::telemetry::Observer;
use wsx_proto::{CloseReason, Error, Handler};

use crate::{ClientHandle, Session};

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
    /// Options for `settings` (a URL, [`WsUrl`](wsx_proto::WsUrl) or [`ConnectSettings`](wsx_proto::ConnectSettings)).
    pub fn new(settings: impl IntoConnectSettings) -> Self {
        Self {
            options: StartOptions::new(settings),
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
    ///
    /// The buffer is the most a client holds, not what it keeps: a connection that waits keeps
    /// only what the socket has not taken yet (and its unfinished incoming frame), and gives the
    /// rest back to a small per-thread pool of buffers. The default lets a few busy connections
    /// keep several large messages in flight (with 64 KiB, a stream of 64 KiB messages went
    /// 17-30% slower). With thousands of connections, use 16-64 KiB: 1,000 connections each
    /// streaming 1 KiB messages as fast as they can then held about 14 MiB in all with 16 KiB,
    /// against about 32 MiB with the default (more wake-ups of the senders cost some CPU).
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

/// A client whose connection task or thread was started by [`launch`].
#[derive(Debug)]
#[must_use = "a synchronous start returns once connected: call `connected`"]
pub struct Launched<H: Handler> {
    handle: ClientHandle<H>,
    async_start: bool,
}

/// Makes the session for `handler` with `options` and hands it to `spawn` (which runs it on
/// the adapter's task or thread, in the session's span).
pub fn launch<H: Handler>(
    options: StartOptions,
    handler: H,
    spawn: impl FnOnce(Session<H>) -> Result<(), Error>,
) -> Result<Launched<H>, Error> {
    let async_start = options.async_start;
    let (session, handle) = crate::session(options, handler)?;
    spawn(session)?;
    Ok(Launched { handle, async_start })
}

impl<H: Handler> Launched<H> {
    /// The client, once its first connection opened (at once with an async start); the first
    /// attempt's error otherwise.
    pub async fn connected(self) -> Result<ClientHandle<H>, Error> {
        if !self.async_start {
            self.handle.started().await.map_err(CloseReason::into_connect_error)?;
        }
        Ok(self.handle)
    }

    /// [`connected`](Self::connected), blocking this thread.
    pub fn connected_blocking(self) -> Result<ClientHandle<H>, Error> {
        if !self.async_start {
            self.handle
                .started_blocking()
                .map_err(CloseReason::into_connect_error)?;
        }
        Ok(self.handle)
    }
}
