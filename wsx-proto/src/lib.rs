//! # wsx-proto: a sans-IO WebSocket client and server
//!
//! RFC 6455 for both ends as a state machine: bytes in, events and bytes out, time passed in.
//! No sockets, no clocks, no async, no threads; `wsx-tokio`, `wsx-async-std` and
//! `wsx-blocking` drive it, and so can your own event loop. A client:
//!
//! ```no_run
//! use std::{io::{Read, Write}, net::TcpStream, time::Instant};
//! use wsx_proto::{Connection, Config, Event, Frame, Request, WsUrl};
//!
//! let mut sock = TcpStream::connect("127.0.0.1:9001")?;
//! let mut conn = Connection::new(&Request::new(WsUrl::parse("ws://127.0.0.1:9001")?), Config::default())?;
//! let mut buf = [0u8; 16 * 1024];
//! loop {
//!     while let Some(bytes) = conn.poll_transmit(Instant::now()) { sock.write_all(&bytes)?; }
//!     let n = sock.read(&mut buf)?;
//!     if n == 0 { conn.receive_eof() } else { conn.receive(&buf[..n]) }
//!     while let Some(event) = conn.poll_event() {
//!         match event {
//!             Event::Connected(_) => conn.send(Frame::text("hello"))?,
//!             Event::Frame(Frame::Text(text)) => { println!("{text}"); conn.close(None)?; }
//!             Event::Frame(Frame::Ping(p)) => conn.send(Frame::Pong(p))?,
//!             Event::Closed(reason) => { println!("closed: {reason}"); return Ok(()); }
//!             _ => {}
//!         }
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! (A real loop also arms a timer for [`Connection::poll_timeout`]; see
//! `examples/nonblocking_loop.rs` for a complete non-blocking driver.)
//!
//! A server parses the client's request ([`server::UpgradeRequest::parse`]), decides, and
//! accepts it with [`Connection::accept`] (or answers a [`server::Rejection`]); the connection
//! then runs the same way, masking and closing as a server does ([`Role`]).
//!
//! Two layers, the dependency pointing one way:
//!
//! * [`protocol`]: [`Connection`] and what it is made of: [`WsUrl`] parsing, the opening
//!   handshake ([`Request`], [`Response`]), frames ([`protocol::FrameHeader`], [`Frame`]),
//!   masking ([`protocol::apply_mask`]), UTF-8 ([`protocol::Utf8Validator`]), close codes and
//!   reasons ([`CloseCode`], [`CloseReason`]), limits ([`Config`]) and their errors;
//! * [`session`]: a whole client (or a server's connection, [`Session::accepted`]) on top of
//!   it, [`Session`]: the callback trait ([`Handler`]), reconnects, status, timers, acks,
//!   telemetry, panics. Its driver (an adapter's task or
//!   thread, or your loop) answers [`Session::poll_output`] with [`Session::handle_input`]
//!   and does nothing else; what the session shares with client handles on other threads goes
//!   through the driver's [`session::Link`] (`wsx-driver` holds the one every adapter uses,
//!   with all the synchronisation: this crate has none).
//!
//! [`Error`] is the client's error, wrapping the protocol's (see [`error`]). The other modules
//! gather what the adapters re-export, by topic: [`close`], [`config`], [`tls`], [`proxy`],
//! [`deflate`], [`frame`], [`telemetry`], [`client`], [`server`].
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

pub mod error;
pub mod protocol;
pub mod session;

pub use crate::error::CloseReason;
pub use crate::error::Error;
pub use crate::protocol::close_code::CloseCode;
pub use crate::protocol::config::Config;
pub use crate::protocol::connection::{Connection, Event, Role};
pub use crate::protocol::frame::Frame;
pub use crate::protocol::handshake::{Request, Response};
pub use crate::protocol::url::WsUrl;
pub use crate::session::driver::{Input, Output};
pub use crate::session::handler::{Context, DisconnectStatus, Handler, Reconnect, Reply};
pub use crate::session::settings::ConnectSettings;
pub use crate::session::state::Session;
pub use crate::session::status::SendError;
pub use bytes::Bytes;

/// Close codes and reasons: what a close frame carries and why a connection ended.
pub mod close {
    pub use crate::error::CloseReason;
    pub use crate::protocol::close::{CloseFrame, CloseStatus};
    pub use crate::protocol::close_code::CloseCode;
}

/// How a client connects and what it allows: the URL and request, limits and timeouts, the
/// send buffer and reconnect backoff.
pub mod config {
    pub use crate::protocol::config::Config;
    pub use crate::protocol::handshake::Request;
    pub use crate::protocol::url::WsUrl;
    pub use crate::session::backoff::Backoff;
    pub use crate::session::settings::{ConnectSettings, IntoConnectSettings};
    pub use crate::session::start::DEFAULT_SEND_BUFFER;
    pub use crate::session::status::CAST_QUEUE_LIMIT;
}

/// TLS for `wss://`: trusted roots, client certificates, or a whole rustls configuration.
pub mod tls {
    pub use crate::session::settings::{ClientIdentity, TlsOptions};
    #[cfg(feature = "tls")]
    #[doc(hidden)]
    pub use crate::session::tls::{client_config, server_name};
}

/// HTTP CONNECT and SOCKS5 proxies, given or read from the environment, and the tunnel's
/// handshake (sans-IO, for drivers).
pub mod proxy {
    pub use crate::session::proxy::{Proxy, ProxyError, ProxyHandshake, ProxyKind, ProxyStep};
}

/// permessage-deflate (RFC 7692): what to offer and what was agreed.
pub mod deflate {
    pub use crate::protocol::deflate::{DeflateConfig, DeflateParamError, DeflateParams};
    pub use crate::protocol::extension::NegotiatedExtensions;
}

/// Frames and their payloads.
pub mod frame {
    pub use crate::protocol::frame::{DataKind, Frame};
    pub use crate::protocol::utf8::Utf8Bytes;
    pub use bytes::Bytes;
}

/// WebSockets over HTTP/2 (RFC 8441): the option, the sharing of connections, the errors,
/// and the extended CONNECT exchange (sans-IO, for drivers).
pub mod http2 {
    pub use crate::protocol::handshake::{ExtendedConnect, HttpVersion};
    pub use crate::session::http2::{Http2, Http2Error, Http2Origin, Http2Pool};
}

/// The server role: the client's request, the application's decision (accept with a handler,
/// or refuse with any HTTP answer), the server's options and errors.
pub mod server {
    pub use crate::protocol::upgrade::{Accept, AcceptError, BadRequest, Rejection, UpgradeRequest};
    pub use crate::session::serve::{Decision, ServeError, ServeOptions, ShutdownReport, DEFAULT_MAX_CONNECTIONS};
}

/// Counters and events for metrics and logs.
pub mod telemetry {
    pub use crate::session::telemetry::{Observer, StatsSnapshot, Telemetry, TelemetryKind};
}

/// A client's state, and why it disconnected.
pub mod client {
    pub use crate::session::handler::DisconnectStatus;
    pub use crate::session::status::Status;
}
