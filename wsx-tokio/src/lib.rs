//! # wsx-tokio: WebSocket clients on tokio, the WebSockex way
//!
//! Write one struct that implements [`Handler`], start it with a URL, and the client connects,
//! answers pings, runs your callbacks, closes with codes and reconnects when you say so.
//!
//! ```no_run
//! use wsx_tokio::{Client, Context, Frame, Handler, Reply};
//!
//! struct Echo;
//!
//! impl Handler for Echo {
//!     type Cast = String;
//!     type Info = ();
//!
//!     fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
//!         println!("received {frame:?}");
//!         Reply::Continue
//!     }
//!
//!     fn handle_cast(&mut self, text: String, _ctx: &mut Context<'_, Self>) -> Reply {
//!         Reply::Frame(Frame::text(text))
//!     }
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::start("ws://127.0.0.1:9001/", Echo).await?;
//! client.cast("hello".to_string())?;
//! client.send_frame(Frame::text("world")).await?;
//! client.close()?;
//! println!("closed: {}", client.wait().await);
//! # Ok(()) }
//! ```
//!
//! The callback trait and every type in it come from [`wsx_proto`]; the same handler compiles
//! against `wsx-async-std` and `wsx-blocking`.
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme_quick_start {}

mod client;
mod stream;
mod task;

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch, Semaphore};
pub use wsx_proto::{
    Bytes, CloseCode, CloseFrame, CloseReason, CloseStatus, Config, ConnectSettings, Context, DataKind,
    DisconnectStatus, EncodeError, Error, Frame, Handler, HandshakeError, IntoConnectSettings, Observer, ProtocolError,
    Reconnect, Reply, Response, SendError, StatsSnapshot, Status, Telemetry, TelemetryKind, Utf8Bytes, WsUrl,
};

pub use crate::client::{Client, DEFAULT_SEND_TIMEOUT};
use crate::client::{Shared, SEND_QUEUE_FRAMES};
use crate::task::{run_client, StartFlags};

/// How to start a client: build with [`Client::builder`], finish with [`Builder::start`].
#[must_use = "a builder does nothing until `start` is called"]
pub struct Builder {
    settings: Result<ConnectSettings, Error>,
    async_start: bool,
    handle_initial_conn_failure: bool,
    observers: Vec<Arc<dyn Observer>>,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("settings", &self.settings)
            .field("async_start", &self.async_start)
            .field("handle_initial_conn_failure", &self.handle_initial_conn_failure)
            .field("observers", &self.observers.len())
            .finish()
    }
}

impl Builder {
    /// Return at once and connect in the background (WebSockex's `async: true`).
    pub fn async_start(mut self, async_start: bool) -> Self {
        self.async_start = async_start;
        self
    }

    /// Send a failed first connect to `handle_disconnect` instead of returning it
    /// (WebSockex's `handle_initial_conn_failure: true`).
    pub fn handle_initial_conn_failure(mut self, handle: bool) -> Self {
        self.handle_initial_conn_failure = handle;
        self
    }

    /// Registers a telemetry observer.
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observers.push(observer);
        self
    }

    /// Starts the client on the current tokio runtime. Without `async_start`, returns once the
    /// WebSocket is open (and `handle_connect` has run), or the error of the first attempt.
    pub async fn start<H: Handler>(self, handler: H) -> Result<Client<H>, Error> {
        let settings = self.settings?;
        settings.request.validate()?;
        let (commands, receiver) = mpsc::unbounded_channel();
        let stats = Arc::new(wsx_proto::Stats::default());
        let client = Client {
            shared: Arc::new(Shared {
                commands,
                send_permits: Semaphore::new(SEND_QUEUE_FRAMES),
                status: watch::Sender::new(Status::Connecting),
                stats: stats.clone(),
            }),
        };
        let span = tracing::debug_span!(target: "wsx", "connection", url = %settings.url());
        let driver = wsx_proto::Driver::new(
            settings,
            stats,
            self.observers.into(),
            std::time::SystemTime::now,
            Box::new(client.clone()),
            client.id(),
        );
        let (first_tx, first_rx) = oneshot::channel();
        let flags = StartFlags {
            handle_initial_conn_failure: self.handle_initial_conn_failure,
            first_attempt: (!self.async_start).then_some(first_tx),
        };
        let task = run_client(handler, driver, client.clone(), receiver, flags);
        tokio::spawn(tracing::Instrument::instrument(task, span));
        if self.async_start {
            return Ok(client);
        }
        match first_rx.await {
            Ok(Ok(())) => Ok(client),
            Ok(Err(CloseReason::Error(e))) => Err(e),
            Ok(Err(_)) | Err(_) => Err(HandshakeError::Incomplete.into()),
        }
    }
}

impl<H: Handler> Client<H> {
    /// Connects to `settings` (a URL or [`ConnectSettings`]) and runs `handler`; returns once
    /// connected. See [`Client::builder`] for the other start options.
    pub async fn start(settings: impl IntoConnectSettings, handler: H) -> Result<Self, Error> {
        Self::builder(settings).start(handler).await
    }

    /// Start options for `settings`.
    pub fn builder(settings: impl IntoConnectSettings) -> Builder {
        Builder {
            settings: settings.into_connect_settings().map_err(Error::from),
            async_start: false,
            handle_initial_conn_failure: false,
            observers: Vec::new(),
        }
    }
}

/// Reaching this adapter's [`Client`] from a callback's [`Context`].
pub trait ContextExt<H: Handler> {
    /// The running client's handle, e.g. to give to another task.
    fn client(&self) -> Client<H>;
}

impl<H: Handler> ContextExt<H> for Context<'_, H> {
    fn client(&self) -> Client<H> {
        self.adapter_client::<Client<H>>()
            .expect("wsx-tokio callbacks always run with a wsx-tokio client")
            .clone()
    }
}
