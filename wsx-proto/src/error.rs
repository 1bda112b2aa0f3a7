//! The client's error: why a client could not connect or stopped, by layer. Wire errors come
//! from the protocol layer ([`HandshakeError`], [`ProtocolError`], ...), and this wraps them
//! with what happens around the protocol: connecting, the proxy, TLS, I/O, keepalive and the
//! handler. [`std::error::Error::source`] leads from each to the error it wraps.

use std::fmt;
use std::sync::Arc;

pub use crate::protocol::error::{
    ConnectionError, EncodeError, HandshakeError, ProtocolError, RejectedResponse, RequestError, UrlError,
};
pub use crate::protocol::utf8::InvalidUtf8;
pub use crate::session::http2::Http2Error;
pub use crate::session::proxy::ProxyError;
pub use crate::session::status::SendError;

/// Why a client's connection ended: the close handshake's outcome, or the client's [`Error`].
pub type CloseReason = crate::protocol::close::CloseReason<Error>;

impl CloseReason {
    /// The error of a connection that ended before it opened: the error itself, or
    /// [`HandshakeError::Incomplete`] for a close without one.
    pub fn into_connect_error(self) -> Error {
        match self {
            Self::Error(e) => e,
            _ => HandshakeError::Incomplete.into(),
        }
    }
}

/// Why a client failed: a wire error from the protocol layer, or what happened around it
/// (connecting, the proxy, TLS, I/O, keepalive, the handler); carried by
/// [`CloseReason::Error`](crate::CloseReason::Error).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// The URL is unusable.
    Url(UrlError),
    /// The handshake request could not be built.
    Request(RequestError),
    /// The server refused or botched the upgrade.
    Handshake(HandshakeError),
    /// The peer broke the protocol.
    Protocol(ProtocolError),
    /// The TCP connection could not be made in time.
    ConnectTimeout,
    /// An I/O or TLS error from the adapter's socket.
    Io(Arc<std::io::Error>),
    /// A TLS setting is unusable: a CA certificate that does not parse, or a bad server name.
    InvalidCertificate(String),
    /// A callback returned a frame that cannot be sent (e.g. an invalid close code).
    InvalidReply(EncodeError),
    /// A callback panicked, with the panic message (or `"panic"` when it was not text). The
    /// connection was failed with close code 1011 and no further callback ran.
    HandlerPanicked(String),
    /// The task or thread running the client ended before the client stopped (its runtime
    /// shut down, or the adapter itself panicked).
    Aborted,
    /// The tunnel through the proxy could not be opened.
    Proxy(ProxyError),
    /// Keepalive: nothing arrived within this long of a ping ([`Config::pong_timeout`](crate::Config::pong_timeout)).
    PongTimeout(std::time::Duration),
    /// Keepalive: nothing arrived for this long ([`Config::idle_timeout`](crate::Config::idle_timeout)).
    IdleTimeout(std::time::Duration),
    /// HTTP/2: it was required and the server does not offer it, or the stream or connection
    /// ended without a close handshake.
    Http2(Http2Error),
}

impl Error {
    /// True when the error happened before the WebSocket was open (connect, TLS, handshake).
    pub fn is_connect_error(&self) -> bool {
        !matches!(
            self,
            Self::Protocol(_)
                | Self::InvalidReply(_)
                | Self::HandlerPanicked(_)
                | Self::Aborted
                | Self::PongTimeout(_)
                | Self::IdleTimeout(_)
                | Self::Http2(Http2Error::StreamReset { .. } | Http2Error::GoAway { .. })
        )
    }
}

impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Url(a), Self::Url(b)) => a == b,
            (Self::Request(a), Self::Request(b)) => a == b,
            (Self::Handshake(a), Self::Handshake(b)) => a == b,
            (Self::Protocol(a), Self::Protocol(b)) => a == b,
            (Self::ConnectTimeout, Self::ConnectTimeout) => true,
            (Self::InvalidReply(a), Self::InvalidReply(b)) => a == b,
            (Self::InvalidCertificate(a), Self::InvalidCertificate(b)) => a == b,
            (Self::HandlerPanicked(a), Self::HandlerPanicked(b)) => a == b,
            (Self::Aborted, Self::Aborted) => true,
            (Self::Proxy(a), Self::Proxy(b)) => a == b,
            (Self::PongTimeout(a), Self::PongTimeout(b)) | (Self::IdleTimeout(a), Self::IdleTimeout(b)) => a == b,
            (Self::Http2(a), Self::Http2(b)) => a == b,
            (Self::Io(a), Self::Io(b)) => a.kind() == b.kind() && a.to_string() == b.to_string(),
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Url(e) => e.fmt(f),
            Self::Request(e) => e.fmt(f),
            Self::Handshake(e) => e.fmt(f),
            Self::Protocol(e) => write!(f, "protocol error: {e}"),
            Self::ConnectTimeout => f.write_str("timed out connecting"),
            Self::Io(e) => write!(f, "I/O error: {e}"),
            Self::InvalidCertificate(e) => write!(f, "invalid TLS setting: {e}"),
            Self::InvalidReply(e) => write!(f, "a callback replied with a frame that cannot be sent: {e}"),
            Self::HandlerPanicked(message) => write!(f, "a callback panicked: {message}"),
            Self::Aborted => f.write_str("the client's task ended before the client stopped"),
            Self::Proxy(e) => write!(f, "proxy: {e}"),
            Self::PongTimeout(t) => write!(f, "no answer from the server within {t:?} of a ping"),
            Self::IdleTimeout(t) => write!(f, "nothing from the server for {t:?}"),
            Self::Http2(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Url(e) => Some(e),
            Self::Request(e) => Some(e),
            Self::Handshake(e) => Some(e),
            Self::Protocol(e) => Some(e),
            Self::Io(e) => Some(&**e),
            Self::InvalidReply(e) => Some(e),
            Self::Proxy(e) => Some(e),
            Self::Http2(e) => Some(e),
            Self::ConnectTimeout
            | Self::InvalidCertificate(_)
            | Self::HandlerPanicked(_)
            | Self::Aborted
            | Self::PongTimeout(_)
            | Self::IdleTimeout(_) => None,
        }
    }
}

macro_rules! error_from {
    ($($variant:ident($ty:ty)),*) => {$(
        impl From<$ty> for Error {
            fn from(e: $ty) -> Self { Self::$variant(e) }
        }
    )*};
}
error_from!(
    Url(UrlError),
    Request(RequestError),
    Handshake(HandshakeError),
    Protocol(ProtocolError),
    Proxy(ProxyError),
    Http2(Http2Error)
);

impl Error {
    /// The client's error for a connection the protocol ended with `error`; `failure` is why
    /// the client failed it itself, for [`ConnectionError::Failed`].
    pub(crate) fn from_connection(error: ConnectionError, failure: Option<Error>) -> Self {
        match error {
            ConnectionError::Handshake(e) => Self::Handshake(e),
            ConnectionError::Protocol(e) => Self::Protocol(e),
            ConnectionError::PongTimeout(t) => Self::PongTimeout(t),
            ConnectionError::IdleTimeout(t) => Self::IdleTimeout(t),
            ConnectionError::Failed(_) => failure.unwrap_or(Self::Aborted),
        }
    }
}

impl From<std::io::Error> for Error {
    /// An I/O error, or the [`Http2Error`] an HTTP/2 transport wrapped in one.
    fn from(e: std::io::Error) -> Self {
        match e.get_ref().and_then(|inner| inner.downcast_ref::<Http2Error>()) {
            Some(http2) => Self::Http2(http2.clone()),
            None => Self::Io(Arc::new(e)),
        }
    }
}

/// Whether an I/O error means the peer went away (a reset, or a TLS stream cut without
/// close_notify) rather than a local failure: adapters report it as
/// [`CloseReason::Dropped`](crate::CloseReason::Dropped).
pub fn is_abrupt_close(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionReset | ConnectionAborted | UnexpectedEof | BrokenPipe
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn source_leads_to_the_wrapped_error() {
        let handshake = Error::from(HandshakeError::InvalidAccept);
        let inner = handshake.source().expect("a source");
        assert_eq!(
            inner.downcast_ref::<HandshakeError>(),
            Some(&HandshakeError::InvalidAccept)
        );
        let protocol = Error::from(ProtocolError::MaskedFrame);
        assert!(protocol.source().unwrap().is::<ProtocolError>());
        let url = Error::from(UrlError::Fragment);
        assert!(url.source().unwrap().is::<UrlError>());
        let io = Error::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(
            io.source()
                .unwrap()
                .downcast_ref::<std::io::Error>()
                .map(std::io::Error::kind),
            Some(std::io::ErrorKind::ConnectionRefused)
        );
        let reply = Error::InvalidReply(EncodeError::InvalidCloseCode(1005));
        assert!(reply.source().unwrap().is::<EncodeError>());
        assert!(Error::Aborted.source().is_none());
    }
}
