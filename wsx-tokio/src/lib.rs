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

pub mod server;
mod stream;
mod task;

use std::future::Future;
use std::pin::Pin;

wsx_driver::adapter_root!();

pub use server::{Decision, Server};

wsx_driver::adapter_client!(async, sleep = tokio::time::sleep);

/// The tokio runtime, as the `R` of the shared builders.
#[doc(hidden)]
#[derive(Debug)]
pub enum Tokio {}

/// Start options: build with [`builder`], finish with `.start(handler).await`.
pub type Builder = wsx_driver::Builder<Tokio>;

/// Start options for `settings` (a URL or [`ConnectSettings`]): async start, initial
/// connect failure handling, telemetry observers.
pub fn builder(settings: impl config::IntoConnectSettings) -> Builder {
    Builder::new(settings)
}

impl<H: Handler> wsx_driver::Start<H> for Tokio {
    type Output = Pin<Box<dyn Future<Output = Result<Client<H>, Error>> + Send>>;

    fn start(options: wsx_proto::session::StartOptions, handler: H) -> Self::Output {
        Box::pin(start(options, handler))
    }
}

/// Starts the client on the current tokio runtime.
async fn start<H: Handler>(options: wsx_proto::session::StartOptions, handler: H) -> Result<Client<H>, Error> {
    let launched = wsx_driver::launch(options, handler, |session| {
        let span = session.span().clone();
        tokio::spawn(tracing::Instrument::instrument(task::run(Box::new(session)), span));
        Ok(())
    })?;
    Ok(Client::from_handle(launched.connected().await?))
}

impl<H: Handler> Client<H> {
    /// Connects to `settings` (a URL or [`ConnectSettings`]) and runs `handler`; returns once
    /// connected. See [`builder`] for the other start options.
    pub async fn start(settings: impl config::IntoConnectSettings, handler: H) -> Result<Self, Error> {
        builder(settings).start(handler).await
    }
}
