//! The callback trait every adapter runs, modelled on Elixir's WebSockex.
//!
//! A user writes one struct implementing [`Handler`]; the same code compiles against
//! `wsx-tokio`, `wsx-async-std` and `wsx-blocking`. Nothing here does I/O: callbacks return
//! what they want done ([`Reply`], [`Reconnect`]) and the adapter does it.

use std::any::Any;
use std::time::Duration;

use bytes::Bytes;

use crate::error::CloseReason;
use crate::protocol::close_code::CloseCode;
use crate::protocol::frame::Frame;
use crate::protocol::handshake::Response;
use crate::protocol::upgrade::UpgradeRequest;
use crate::session::settings::ConnectSettings;

/// What a frame, cast or info callback wants done next.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reply {
    /// Keep going (WebSockex's `{:ok, state}`).
    Continue,
    /// Send this frame (`{:reply, frame, state}`).
    Frame(Frame),
    /// Close with 1000 (`{:close, state}`).
    Close,
    /// Close with a code and reason (`{:close, {code, message}, state}`). An invalid code
    /// fails the connection with [`Error::InvalidReply`](crate::Error::InvalidReply).
    CloseWith(CloseCode, String),
}

/// What `handle_disconnect` wants done.
// Returned once per disconnect, never stored in bulk: the settings stay unboxed for ease of use.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Reconnect {
    /// Stop; `terminate` runs next (`{:ok, state}`).
    Stop,
    /// Connect again with the same settings (`{:reconnect, state}`).
    Reconnect,
    /// Connect again with new settings (`{:reconnect, conn, state}`).
    ReconnectWith(ConnectSettings),
    /// Connect again with the same settings after this long (see [`Backoff`](crate::config::Backoff)
    /// for delays that grow). `close()` during the wait stops the client at once, with the
    /// reason of the disconnect; casts wait for the next connection.
    After(Duration),
    /// Connect again with new settings after this long.
    AfterWith(Duration, ConnectSettings),
}

/// Why `handle_disconnect` was called (WebSockex's `connection_status_map`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DisconnectStatus {
    /// Why the connection ended or could not be made.
    pub reason: CloseReason,
    /// Consecutive failed attempts, counting this one; reset by a successful connect.
    pub attempt: u32,
    /// The settings that were used.
    pub settings: ConnectSettings,
    /// How long the connection was open before it ended; `None` when it never opened (the
    /// connect or the handshake failed). [`Backoff`](crate::config::Backoff) resets after a long one.
    pub connected_for: Option<Duration>,
}

impl DisconnectStatus {
    /// Builds a status; for adapters.
    pub fn new(reason: CloseReason, attempt: u32, settings: ConnectSettings) -> Self {
        Self {
            reason,
            attempt,
            settings,
            connected_for: None,
        }
    }
}

/// What a callback can reach besides its own state: the connection's URL and subprotocol,
/// messages to itself later (WebSockex's `Process.send_after(self(), msg, ms)`), and the
/// client's handle (the adapter's `Client` through its `ContextExt`).
pub struct Context<'a, H: Handler> {
    settings: &'a ConnectSettings,
    response: Option<&'a Response>,
    request: Option<&'a UpgradeRequest>,
    scheduled: &'a mut Vec<(Duration, H::Info)>,
    /// The session's [`Link`](crate::session::Link), for the driver's client handle.
    link: &'a dyn Any,
}

impl<H: Handler> std::fmt::Debug for Context<'_, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("url", &self.settings.url().as_str())
            .field("scheduled", &self.scheduled.len())
            .finish_non_exhaustive()
    }
}

impl<'a, H: Handler> Context<'a, H> {
    /// Builds a context; `scheduled` collects [`send_after`](Self::send_after) calls.
    pub(crate) fn new(
        settings: &'a ConnectSettings,
        response: Option<&'a Response>,
        request: Option<&'a UpgradeRequest>,
        scheduled: &'a mut Vec<(Duration, H::Info)>,
        link: &'a dyn Any,
    ) -> Self {
        Self {
            settings,
            response,
            request,
            scheduled,
            link,
        }
    }

    /// The settings of this connection. On a server: the URL the client asked for and the
    /// server's [`Config`](crate::Config).
    pub fn settings(&self) -> &ConnectSettings {
        self.settings
    }

    /// The upgrade response, once connected: the server's answer (on a server, the one it
    /// sent), with the subprotocol and extensions both ends agreed to.
    pub fn response(&self) -> Option<&Response> {
        self.response
    }

    /// On a server, the client's upgrade request (its path, headers, `Origin`); `None` on a
    /// client.
    pub fn request(&self) -> Option<&UpgradeRequest> {
        self.request
    }

    /// Delivers `msg` to [`Handler::handle_info`] after `delay`.
    pub fn send_after(&mut self, delay: Duration, msg: H::Info) {
        self.scheduled.push((delay, msg));
    }

    /// Delivers `msg` to [`Handler::handle_info`] after the current callback returns.
    pub fn send_info(&mut self, msg: H::Info) {
        self.send_after(Duration::ZERO, msg);
    }

    /// The session's [`Link`](crate::session::Link): its driver's client handle, which the
    /// driver gets back by downcasting (an adapter's `ContextExt::client`).
    pub fn link(&self) -> &dyn Any {
        self.link
    }
}

/// A WebSocket client's behaviour: one struct, these callbacks, any adapter.
///
/// Every method has a default, so a handler implements only what it cares about.
///
/// **Panics.** A callback that panics ends its client only, the same way on every adapter: the
/// panic is caught, the connection is failed with close code 1011, and the client stops with
/// `CloseReason::Error(Error::HandlerPanicked(message))`. No callback runs after it, not
/// `handle_disconnect` and not `terminate` (the handler may be half-updated); telemetry
/// observers still see the disconnect and the end. A panic inside `terminate` itself is caught
/// and leaves the final reason as it was.
///
/// ```
/// use wsx_proto::{Context, Frame, Handler, Reply};
///
/// /// Answers every text message with its upper-case version, and closes on "bye".
/// struct Shouter;
///
/// impl Handler for Shouter {
///     type Cast = String;
///     type Info = ();
///
///     fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
///         match frame {
///             Frame::Text(text) if &*text == "bye" => Reply::Close,
///             Frame::Text(text) => Reply::Frame(Frame::text(text.to_uppercase())),
///             _ => Reply::Continue,
///         }
///     }
///
///     fn handle_cast(&mut self, msg: String, _ctx: &mut Context<'_, Self>) -> Reply {
///         Reply::Frame(Frame::text(msg))
///     }
/// }
/// ```
pub trait Handler: Send + Sized + 'static {
    /// Messages sent through the client handle's `cast`.
    type Cast: Send + 'static;
    /// Messages a callback schedules for itself with [`Context::send_after`].
    type Info: Send + 'static;

    /// Runs after every successful connect, with the server's response. On a server it runs
    /// once the upgrade is accepted, with the response sent; the client's request is
    /// [`Context::request`].
    ///
    /// ```
    /// # use wsx_proto::{Context, Handler, Response};
    /// # struct H { protocol: Option<String> }
    /// # impl Handler for H { type Cast = (); type Info = ();
    /// fn handle_connect(&mut self, response: &Response, _ctx: &mut Context<'_, Self>) {
    ///     self.protocol = response.subprotocol.clone();
    /// }
    /// # }
    /// ```
    fn handle_connect(&mut self, response: &Response, ctx: &mut Context<'_, Self>) {
        let _ = (response, ctx);
    }

    /// A text or binary message (or, with `deliver_fragments`, a piece of one).
    ///
    /// ```
    /// # use wsx_proto::{Context, Frame, Handler, Reply};
    /// # struct Echo;
    /// # impl Handler for Echo { type Cast = (); type Info = ();
    /// fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
    ///     Reply::Frame(frame) // echo it back
    /// }
    /// # }
    /// ```
    fn handle_frame(&mut self, frame: Frame, ctx: &mut Context<'_, Self>) -> Reply {
        let _ = (frame, ctx);
        Reply::Continue
    }

    /// A message sent with the client handle's `cast`.
    ///
    /// ```
    /// # use wsx_proto::{Context, Frame, Handler, Reply, CloseCode};
    /// # struct H;
    /// enum Command { Say(String), Quit }
    /// # impl Handler for H { type Cast = Command; type Info = ();
    /// fn handle_cast(&mut self, cmd: Command, _ctx: &mut Context<'_, Self>) -> Reply {
    ///     match cmd {
    ///         Command::Say(text) => Reply::Frame(Frame::text(text)),
    ///         Command::Quit => Reply::CloseWith(CloseCode::GOING_AWAY, "bye".into()),
    ///     }
    /// }
    /// # }
    /// ```
    fn handle_cast(&mut self, msg: Self::Cast, ctx: &mut Context<'_, Self>) -> Reply {
        let _ = (msg, ctx);
        Reply::Continue
    }

    /// A message scheduled with [`Context::send_after`] or [`Context::send_info`].
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use wsx_proto::{Context, Frame, Handler, Reply};
    /// # struct Heartbeat;
    /// # impl Handler for Heartbeat { type Cast = (); type Info = ();
    /// fn handle_info(&mut self, _tick: (), ctx: &mut Context<'_, Self>) -> Reply {
    ///     ctx.send_after(Duration::from_secs(30), ()); // again in 30 s
    ///     Reply::Frame(Frame::Ping(bytes::Bytes::from_static(b"hb")))
    /// }
    /// # }
    /// ```
    fn handle_info(&mut self, msg: Self::Info, ctx: &mut Context<'_, Self>) -> Reply {
        let _ = (msg, ctx);
        Reply::Continue
    }

    /// A ping from the server. The default answers with a pong carrying the same payload.
    ///
    /// ```
    /// # use bytes::Bytes;
    /// # use wsx_proto::{Context, Frame, Handler, Reply};
    /// # struct H { pings: u32 }
    /// # impl Handler for H { type Cast = (); type Info = ();
    /// fn handle_ping(&mut self, payload: Bytes, _ctx: &mut Context<'_, Self>) -> Reply {
    ///     self.pings += 1;
    ///     Reply::Frame(Frame::Pong(payload))
    /// }
    /// # }
    /// ```
    fn handle_ping(&mut self, payload: Bytes, ctx: &mut Context<'_, Self>) -> Reply {
        let _ = ctx;
        Reply::Frame(Frame::Pong(payload))
    }

    /// A pong from the server.
    ///
    /// ```
    /// # use bytes::Bytes;
    /// # use wsx_proto::{Context, Handler, Reply};
    /// # struct H { last_pong: Option<Bytes> }
    /// # impl Handler for H { type Cast = (); type Info = ();
    /// fn handle_pong(&mut self, payload: Bytes, _ctx: &mut Context<'_, Self>) -> Reply {
    ///     self.last_pong = Some(payload);
    ///     Reply::Continue
    /// }
    /// # }
    /// ```
    fn handle_pong(&mut self, payload: Bytes, ctx: &mut Context<'_, Self>) -> Reply {
        let _ = (payload, ctx);
        Reply::Continue
    }

    /// The connection ended or could not be made. The default stops.
    ///
    /// ```
    /// # use wsx_proto::{CloseReason, DisconnectStatus, Handler, Reconnect};
    /// # struct H;
    /// # impl Handler for H { type Cast = (); type Info = ();
    /// fn handle_disconnect(&mut self, status: DisconnectStatus) -> Reconnect {
    ///     match status.reason {
    ///         CloseReason::Local(_) => Reconnect::Stop,
    ///         _ if status.attempt < 5 => Reconnect::Reconnect,
    ///         _ => Reconnect::Stop,
    ///     }
    /// }
    /// # }
    /// ```
    fn handle_disconnect(&mut self, status: DisconnectStatus) -> Reconnect {
        let _ = status;
        Reconnect::Stop
    }

    /// Runs exactly once, when the client stops for good.
    ///
    /// ```
    /// # use wsx_proto::{CloseReason, Handler};
    /// # struct H;
    /// # impl Handler for H { type Cast = (); type Info = ();
    /// fn terminate(&mut self, reason: &CloseReason) {
    ///     eprintln!("client stopped: {reason}");
    /// }
    /// # }
    /// ```
    fn terminate(&mut self, reason: &CloseReason) {
        let _ = reason;
    }
}
