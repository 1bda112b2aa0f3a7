//! The protocol layer: RFC 6455 for a client, bytes and time in, events and bytes out.
//!
//! [`Connection`] and what it is made of: URLs, the opening
//! handshake, frames, masking, UTF-8, close codes and reasons, extensions, limits and their
//! errors. Nothing here knows about callbacks, reconnects or clients; the session layer builds
//! on it and never the other way round.

pub mod buffer;
pub(crate) mod close;
pub(crate) mod close_code;
pub(crate) mod config;
pub(crate) mod connection;
pub(crate) mod deflate;
pub(crate) mod error;
pub(crate) mod extension;
pub(crate) mod frame;
pub(crate) mod handshake;
pub(crate) mod keepalive;
pub(crate) mod mask;
pub(crate) mod message;
pub mod upgrade;
pub(crate) mod url;
pub(crate) mod utf8;

pub use self::close::{parse_close_payload, CloseFrame, CloseReason, CloseStatus};
pub use self::close_code::CloseCode;
pub use self::config::Config;
pub use self::connection::{Connection, Event, Role, State};
pub use self::deflate::{DeflateConfig, DeflateParamError, DeflateParams};
pub use self::error::{
    ConnectionError, EncodeError, HandshakeError, ProtocolError, RejectedResponse, RequestError, UrlError,
};
pub use self::extension::NegotiatedExtensions;
pub use self::frame::{encode_frame, DataKind, Frame, FrameHeader, OpCode, MAX_HEADER_LEN};
pub use self::handshake::{accept_key, Request, Response};
pub use self::mask::{apply_mask, random_mask_key, rotate_mask_key};
pub use self::url::WsUrl;
pub use self::utf8::{InvalidUtf8, Utf8Bytes, Utf8Validator};
