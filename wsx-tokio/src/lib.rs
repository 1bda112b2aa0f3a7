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
mod queue;
mod stream;
mod task;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::{oneshot, Semaphore};
pub use wsx_proto::{
    Bytes, CloseCode, CloseFrame, CloseReason, CloseStatus, Config, ConnectSettings, Context, DataKind,
    DisconnectStatus, EncodeError, Error, Frame, Handler, HandshakeError, IntoConnectSettings, Observer, ProtocolError,
    Reconnect, Reply, Response, SendError, StartOptions, StatsSnapshot, Status, Telemetry, TelemetryKind, Utf8Bytes,
    WsUrl,
};

pub use crate::client::{Client, DEFAULT_SEND_TIMEOUT};
use crate::client::{Shared, SEND_QUEUE_FRAMES};
use crate::task::{run_client, StartFlags};

/// The tokio runtime, as the `R` of [`wsx_proto::Builder`].
#[derive(Debug)]
pub enum Tokio {}

/// Start options: build with [`builder`], finish with `.start(handler).await`.
pub type Builder = wsx_proto::Builder<Tokio>;

/// Start options for `settings` (a URL or [`ConnectSettings`]): async start, initial
/// connect failure handling, telemetry observers.
pub fn builder(settings: impl IntoConnectSettings) -> Builder {
    Builder::new(settings)
}

impl<H: Handler> wsx_proto::Start<H> for Tokio {
    type Output = Pin<Box<dyn Future<Output = Result<Client<H>, Error>> + Send>>;

    fn start(options: StartOptions, handler: H) -> Self::Output {
        Box::pin(start(options, handler))
    }
}

/// Starts the client on the current tokio runtime.
async fn start<H: Handler>(options: StartOptions, handler: H) -> Result<Client<H>, Error> {
    let stats = Arc::new(wsx_proto::Stats::default());
    let client = Client {
        shared: Arc::new(Shared {
            commands: queue::CommandQueue::new(),
            send_permits: Semaphore::new(SEND_QUEUE_FRAMES),
            status: client::StatusCell::new(Status::Connecting),
            stats: stats.clone(),
        }),
    };
    let async_start = options.async_start;
    let driver = wsx_proto::Driver::new(
        options,
        stats,
        std::time::SystemTime::now,
        Box::new(client.clone()),
        client.id(),
    )?;
    let span = tracing::debug_span!(target: "wsx", "connection", url = %driver.settings.url());
    let (first_tx, first_rx) = oneshot::channel();
    let flags = StartFlags {
        first_attempt: (!async_start).then_some(first_tx),
    };
    let task = run_client(handler, Box::new(driver), client.clone(), flags);
    tokio::spawn(tracing::Instrument::instrument(task, span));
    if async_start {
        return Ok(client);
    }
    match first_rx.await {
        Ok(Ok(())) => Ok(client),
        Ok(Err(reason)) => Err(reason.into_connect_error()),
        Err(_) => Err(HandshakeError::Incomplete.into()),
    }
}

impl<H: Handler> Client<H> {
    /// Connects to `settings` (a URL or [`ConnectSettings`]) and runs `handler`; returns once
    /// connected. See [`builder`] for the other start options.
    pub async fn start(settings: impl IntoConnectSettings, handler: H) -> Result<Self, Error> {
        builder(settings).start(handler).await
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
