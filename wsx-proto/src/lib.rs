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
//! The pieces, one per module: [`WsUrl`] parsing, the opening handshake ([`Request`],
//! [`Response`]), frames ([`FrameHeader`], [`Frame`]), masking ([`apply_mask`]), UTF-8
//! ([`Utf8Validator`]), close codes and reasons ([`CloseCode`], [`CloseReason`]), limits
//! ([`Config`]), and the callback trait every adapter runs ([`Handler`]).
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

mod client;
mod close;
mod config;
mod connection;
mod driver;
mod error;
mod extension;
mod frame;
mod handler;
mod handshake;
mod mask;
mod message;
mod settings;
mod start;
#[cfg(feature = "tls")]
pub mod tls;
mod url;
mod utf8;
mod write_queue;

pub use crate::client::{CallbackGuard, SendError, Status};
pub use crate::close::{parse_close_payload, CloseCode, CloseFrame, CloseReason, CloseStatus};
pub use crate::config::Config;
pub use crate::connection::{ClientConnection, Event, State};
pub use crate::driver::{
    Command, CommandResult, Driver, Next, Observer, Progress, Stats, StatsSnapshot, Telemetry, TelemetryKind,
};
pub use crate::error::{is_abrupt_close, EncodeError, Error, HandshakeError, ProtocolError, RequestError, UrlError};
pub use crate::extension::NegotiatedExtensions;
pub use crate::frame::{encode_frame, DataKind, Frame, FrameHeader, OpCode, MAX_HEADER_LEN};
pub use crate::handler::{Context, DisconnectStatus, Handler, Reconnect, Reply};
pub use crate::handshake::{accept_key, RejectedResponse, Request, Response};
pub use crate::mask::{apply_mask, rotate_mask_key};
pub use crate::settings::{ConnectSettings, IntoConnectSettings, TlsOptions};
pub use crate::start::{Builder, Start, StartOptions};
pub use crate::url::WsUrl;
pub use crate::utf8::{InvalidUtf8, Utf8Bytes, Utf8Validator};
pub use crate::write_queue::{Ack, PendingAcks};
pub use bytes::Bytes;
