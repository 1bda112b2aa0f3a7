//! # wsx-proto: a sans-IO WebSocket client
//!
//! The whole client side of RFC 6455 as a state machine: bytes in, events and bytes out, time
//! passed in. No sockets, no clocks, no async, no threads; `wsx-tokio`, `wsx-async-std` and
//! `wsx-blocking` drive it, and so can your own event loop:
//!
//! ```no_run
//! use std::{io::{Read, Write}, net::TcpStream, time::Instant};
//! use wsx_proto::{ClientConnection, Config, Event, Frame, Request, WsUrl};
//!
//! let mut sock = TcpStream::connect("127.0.0.1:9001")?;
//! let mut conn = ClientConnection::new(&Request::new(WsUrl::parse("ws://127.0.0.1:9001")?), Config::default())?;
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
//! (A real loop also arms a timer for [`ClientConnection::poll_timeout`]; see
//! `examples/nonblocking_loop.rs` for a complete non-blocking driver.)
//!
//! Two layers, the dependency pointing one way:
//!
//! * [`protocol`]: [`ClientConnection`] and what it is made of: [`WsUrl`] parsing, the opening
//!   handshake ([`Request`], [`Response`]), frames ([`FrameHeader`], [`Frame`]), masking
//!   ([`apply_mask`]), UTF-8 ([`Utf8Validator`]), close codes and reasons ([`CloseCode`],
//!   [`CloseReason`]), limits ([`Config`]) and their errors;
//! * [`session`]: a whole client on top of it, [`Session`]: the callback trait ([`Handler`]),
//!   reconnects, status, timers, acks, telemetry, panics, and the [`ClientHandle`] every
//!   adapter's `Client` shares. Adapters drive a session with sockets and timers and nothing
//!   else; the async ones through the loop in [`session::poll`].
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

pub mod protocol;
pub mod session;

pub use crate::protocol::close::{parse_close_payload, CloseFrame, CloseReason, CloseStatus};
pub use crate::protocol::close_code::CloseCode;
pub use crate::protocol::config::Config;
pub use crate::protocol::connection::{ClientConnection, Event, State};
pub use crate::protocol::deflate::{DeflateConfig, DeflateParamError, DeflateParams};
pub use crate::protocol::error::{
    is_abrupt_close, EncodeError, Error, HandshakeError, ProtocolError, RejectedResponse, RequestError, UrlError,
};
pub use crate::protocol::extension::NegotiatedExtensions;
pub use crate::protocol::frame::{encode_frame, DataKind, Frame, FrameHeader, OpCode, MAX_HEADER_LEN};
pub use crate::protocol::handshake::{accept_key, Request, Response};
pub use crate::protocol::mask::{apply_mask, rotate_mask_key};
pub use crate::protocol::url::WsUrl;
pub use crate::protocol::utf8::{InvalidUtf8, Utf8Bytes, Utf8Validator};
pub use crate::session::adapter::DEFAULT_SEND_TIMEOUT;
pub use crate::session::backoff::Backoff;
pub use crate::session::handle::{BufferedBytes, ClientHandle, SendError, Status, CAST_QUEUE_LIMIT};
pub use crate::session::handler::{Context, DisconnectStatus, Handler, Reconnect, Reply};
pub use crate::session::poll::{PollTimer, PollTransport};
pub use crate::session::proxy::{Proxy, ProxyError, ProxyHandshake, ProxyKind, ProxyStep};
pub use crate::session::settings::{ClientIdentity, ConnectSettings, IntoConnectSettings, TlsOptions};
pub use crate::session::sink::ClientSink;
pub use crate::session::start::{Builder, Start, StartOptions, DEFAULT_SEND_BUFFER};
pub use crate::session::state::{Action, Session};
pub use crate::session::telemetry::{Observer, Stats, StatsSnapshot, Telemetry, TelemetryKind};
pub use bytes::Bytes;

/// Close codes and reasons: what a close frame carries and why a connection ended.
pub mod close {
    pub use crate::protocol::close::{CloseFrame, CloseReason, CloseStatus};
    pub use crate::protocol::close_code::CloseCode;
}

/// How a client connects and what it allows: the URL and request, limits and timeouts, the
/// send buffer and reconnect backoff.
pub mod config {
    pub use crate::protocol::config::Config;
    pub use crate::protocol::handshake::Request;
    pub use crate::protocol::url::WsUrl;
    pub use crate::session::adapter::DEFAULT_SEND_TIMEOUT;
    pub use crate::session::backoff::Backoff;
    pub use crate::session::handle::CAST_QUEUE_LIMIT;
    pub use crate::session::settings::{ConnectSettings, IntoConnectSettings};
    pub use crate::session::start::DEFAULT_SEND_BUFFER;
}

/// TLS for `wss://`: trusted roots, client certificates, or a whole rustls configuration.
pub mod tls {
    pub use crate::session::settings::{ClientIdentity, TlsOptions};
    #[cfg(feature = "tls")]
    #[doc(hidden)]
    pub use crate::session::tls::{client_config, server_name};
}

/// HTTP CONNECT and SOCKS5 proxies, given or read from the environment.
pub mod proxy {
    pub use crate::session::proxy::{Proxy, ProxyError, ProxyKind};
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

/// Counters and events for metrics and logs.
pub mod telemetry {
    pub use crate::session::telemetry::{Observer, StatsSnapshot, Telemetry, TelemetryKind};
}

/// Every error a client reports, by layer: why it could not connect or stopped ([`Error`]),
/// why a frame was not sent ([`SendError`]), and what they wrap.
///
/// [`Error`]: crate::Error
/// [`SendError`]: crate::SendError
pub mod error {
    pub use crate::protocol::error::{
        EncodeError, Error, HandshakeError, ProtocolError, RejectedResponse, RequestError, UrlError,
    };
    pub use crate::protocol::utf8::InvalidUtf8;
    pub use crate::session::handle::SendError;
    pub use crate::session::proxy::ProxyError;
}

/// A running client's state and the types its methods return.
pub mod client {
    pub use crate::session::handle::{BufferedBytes, Status};
    pub use crate::session::handler::DisconnectStatus;
    pub use crate::session::sink::ClientSink;
}

/// What every adapter's crate root re-exports (`wsx_proto::adapter_root!();`): the names a
/// first program uses, and the modules for the rest. Written once, so the adapters cannot
/// drift apart.
#[doc(hidden)]
#[macro_export]
macro_rules! adapter_root {
    () => {
        pub use $crate::{
            client, close, config, deflate, error, frame, proxy, telemetry, tls, Bytes, CloseCode, CloseReason,
            ConnectSettings, Context, DisconnectStatus, Error, Frame, Handler, Reconnect, Reply, Response, SendError,
        };
    };
}
