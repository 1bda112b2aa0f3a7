//! The protocol layer: RFC 6455 for a client, bytes and time in, events and bytes out.
//!
//! [`ClientConnection`](crate::ClientConnection) and what it is made of: URLs, the opening
//! handshake, frames, masking, UTF-8, close codes and reasons, extensions, limits and their
//! errors. Nothing here knows about callbacks, reconnects or clients; the session layer builds
//! on it and never the other way round.

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
pub(crate) mod url;
pub(crate) mod utf8;
