//! # wsx-blocking: WebSocket clients on plain threads, the WebSockex way
//!
//! The same callback trait as `wsx-tokio` and `wsx-async-std`, with no async runtime at all:
//! `std::net::TcpStream`, one thread per connection driving the sans-IO session over a
//! non-blocking socket (waiting in `poll(2)` on the socket and a wake-up descriptor, two
//! descriptors per connection, until the session's next deadline or a command), rustls for `wss://`.
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

pub mod server;
mod stream;
mod task;

wsx_driver::adapter_root!();

pub use server::{Decision, Server};

wsx_driver::adapter_client!(blocking);

/// Plain threads, as the `R` of the shared builder.
#[doc(hidden)]
#[derive(Debug)]
pub enum Threads {}

/// Start options: build with [`builder`], finish with `.start(handler)`.
pub type Builder = wsx_driver::Builder<Threads>;

/// Start options for `settings` (a URL or [`ConnectSettings`]): async start, initial
/// connect failure handling, telemetry observers.
pub fn builder(settings: impl config::IntoConnectSettings) -> Builder {
    Builder::new(settings)
}

impl<H: Handler> wsx_driver::Start<H> for Threads {
    type Output = Result<Client<H>, Error>;

    fn start(options: wsx_proto::session::StartOptions, handler: H) -> Self::Output {
        start(options, handler)
    }
}

/// Starts the client on its own thread.
fn start<H: Handler>(options: wsx_proto::session::StartOptions, handler: H) -> Result<Client<H>, Error> {
    let launched = wsx_driver::launch(options, handler, |session| {
        let span = session.span().clone();
        // Made here, so that a process out of descriptors fails the start with its cause.
        let wakeup = std::sync::Arc::new(task::Wakeup::new()?);
        std::thread::Builder::new()
            .name("wsx-connection".into())
            .spawn(move || span.in_scope(|| task::run(session, wakeup, None)))?;
        Ok(())
    })?;
    Ok(Client::from_handle(launched.connected_blocking()?))
}

impl<H: Handler> Client<H> {
    /// Connects to `settings` (a URL or [`ConnectSettings`]) and runs `handler`; returns once
    /// connected. See [`builder`] for the other start options.
    pub fn start(settings: impl config::IntoConnectSettings, handler: H) -> Result<Self, Error> {
        builder(settings).start(handler)
    }
}
