//! # wsx-blocking: WebSocket clients on plain threads, the WebSockex way
//!
//! The same callback trait as `wsx-tokio` and `wsx-async-std`, with no async runtime at all:
//! `std::net::TcpStream`, one thread per connection driving the sans-IO session over a
//! non-blocking socket (waiting in a `polling` poller for the socket, the session's next
//! deadline or a command), rustls for `wss://`.
//!
//! ```no_run
//! use wsx_blocking::{Client, Context, Frame, Handler, Reply};
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
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::start("ws://127.0.0.1:9001/", Echo)?;
//! client.cast("hello".to_string())?;
//! client.send_frame(Frame::text("world"))?;
//! client.close()?;
//! println!("closed: {}", client.wait());
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

mod client;
mod stream;
mod task;

pub use wsx_proto::{
    Backoff, BufferedBytes, Bytes, ClientHandle, CloseCode, CloseFrame, CloseReason, CloseStatus, Config,
    ConnectSettings, Context, DataKind, DeflateConfig, DeflateParamError, DeflateParams, DisconnectStatus, EncodeError,
    Error, Frame, Handler, HandshakeError, IntoConnectSettings, Observer, ProtocolError, Proxy, ProxyError, ProxyKind,
    Reconnect, Reply, Response, SendError, StartOptions, StatsSnapshot, Status, Telemetry, TelemetryKind, Utf8Bytes,
    WsUrl,
};

pub use crate::client::{Client, ContextExt};
pub use wsx_proto::DEFAULT_SEND_TIMEOUT;

/// Plain threads, as the `R` of [`wsx_proto::Builder`].
#[derive(Debug)]
pub enum Threads {}

/// Start options: build with [`builder`], finish with `.start(handler)`.
pub type Builder = wsx_proto::Builder<Threads>;

/// Start options for `settings` (a URL or [`ConnectSettings`]): async start, initial
/// connect failure handling, telemetry observers.
pub fn builder(settings: impl IntoConnectSettings) -> Builder {
    Builder::new(settings)
}

impl<H: Handler> wsx_proto::Start<H> for Threads {
    type Output = Result<Client<H>, Error>;

    fn start(options: StartOptions, handler: H) -> Self::Output {
        start(options, handler)
    }
}

/// Starts the client on its own thread.
fn start<H: Handler>(options: StartOptions, handler: H) -> Result<Client<H>, Error> {
    let async_start = options.async_start;
    let (session, client) = wsx_proto::Session::new(options, handler, |handle| Client { handle })?;
    let span = session.span().clone();
    std::thread::Builder::new()
        .name("wsx-connection".into())
        .spawn(move || span.in_scope(|| task::run(session)))?;
    if !async_start {
        client.started_blocking().map_err(CloseReason::into_connect_error)?;
    }
    Ok(client)
}

impl<H: Handler> Client<H> {
    /// Connects to `settings` (a URL or [`ConnectSettings`]) and runs `handler`; returns once
    /// connected. See [`builder`] for the other start options.
    pub fn start(settings: impl IntoConnectSettings, handler: H) -> Result<Self, Error> {
        builder(settings).start(handler)
    }
}
