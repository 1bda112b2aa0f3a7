//! The protocol layer's errors: what is wrong with a URL, a request, the server's handshake
//! answer, a client's upgrade request (each with the status it is answered with) and a server's
//! acceptance of it, the peer's frames (each with the close code it is answered with) and a
//! frame we cannot send. The client's [`Error`](crate::Error) wraps them.

use std::fmt;

use bytes::Bytes;

use super::close_code::CloseCode;
use super::deflate::DeflateParamError;
use super::upgrade::Rejection;

/// A URL that cannot be used to open a WebSocket connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// The text is not a URL.
    Parse(url::ParseError),
    /// The scheme is not `ws` or `wss`.
    UnsupportedScheme(String),
    /// The URL has a `#fragment`, which RFC 6455 forbids in WebSocket URIs.
    Fragment,
    /// The URL has no host.
    MissingHost,
}

/// A handshake request that cannot be built from the given options.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// A header name is empty or not an HTTP token.
    InvalidHeaderName(String),
    /// A header value contains CR, LF or another control byte.
    InvalidHeaderValue(String),
    /// The header is one the handshake sets itself (e.g. `Sec-WebSocket-Key`).
    ReservedHeader(String),
    /// A subprotocol or extension name is empty or not an HTTP token.
    InvalidToken(String),
    /// permessage-deflate is offered through [`Config::deflate`](crate::Config::deflate), not as
    /// a raw extension (the connection must know to compress).
    RawDeflateOffer,
    /// [`Config::deflate`](crate::Config::deflate) holds a value out of range.
    InvalidDeflateConfig(DeflateParamError),
}

/// The server's answer to the opening handshake was not an acceptable upgrade.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The server answered with a status other than 101 (WebSockex's `RequestError`).
    Rejected(Box<RejectedResponse>),
    /// The response is not valid HTTP.
    Malformed(String),
    /// The response header block exceeds the configured limit.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// `Upgrade: websocket` is missing or different.
    InvalidUpgrade,
    /// `Connection: upgrade` is missing or different.
    InvalidConnection,
    /// `Sec-WebSocket-Accept` is missing or does not match the key that was sent.
    InvalidAccept,
    /// The server chose a subprotocol the client did not offer.
    UnofferedSubprotocol(String),
    /// The server accepted an extension the client did not offer.
    UnofferedExtension(String),
    /// The server's permessage-deflate parameters are not allowed (RFC 7692 7.1).
    Deflate(DeflateParamError),
    /// The connection ended before the response was complete.
    Incomplete,
    /// The response did not arrive within the handshake timeout.
    TimedOut,
}

/// A non-101 answer (WebSockex's `RequestError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// The response headers.
    pub headers: Vec<(String, Bytes)>,
    /// The start of the body: what arrived with the headers, at most 1 KiB.
    pub body: Bytes,
}

/// What is wrong with a request that is not a valid WebSocket upgrade (RFC 6455 4.2.1); each
/// case maps to the status it is answered with ([`status`](Self::status),
/// [`rejection`](Self::rejection)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BadRequest {
    /// The request is not valid HTTP/1.x, or a header the handshake reads is not usable (a
    /// `Host` given twice or not a host, protocol or extension lists that are not text): 400.
    Malformed(String),
    /// The header block is longer than the limit, or has more than 128 headers: 431.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The method is not `GET`: 405, with `Allow: GET`.
    Method(String),
    /// The request is HTTP/1.0, which has no upgrade (RFC 9110 7.8): 400. Not 505, which
    /// RFC 9110 15.6.6 keeps for a major version the server does not support.
    HttpVersion,
    /// `Host` is missing or empty: 400 (RFC 9112 3.2).
    MissingHost,
    /// `Upgrade` lacks the `websocket` token: 426, with `Upgrade: websocket`.
    NotUpgrade,
    /// `Connection` lacks the `upgrade` token: 400.
    NotConnectionUpgrade,
    /// `Sec-WebSocket-Version` is not `13` (`None`: missing): 426, with
    /// `Sec-WebSocket-Version: 13` (RFC 6455 4.2.2, 4.4).
    UnsupportedVersion(Option<String>),
    /// `Sec-WebSocket-Key` is missing, repeated, or not the base64 of 16 bytes: 400.
    InvalidKey,
}

impl BadRequest {
    /// The HTTP status this request is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Self::TooLarge { .. } => 431,
            Self::Method(_) => 405,
            Self::NotUpgrade | Self::UnsupportedVersion(_) => 426,
            Self::Malformed(_)
            | Self::HttpVersion
            | Self::MissingHost
            | Self::NotConnectionUpgrade
            | Self::InvalidKey => 400,
        }
    }

    /// The answer to send: [`status`](Self::status), the headers it calls for, and this
    /// error's text as a plain-text body.
    pub fn rejection(&self) -> Rejection {
        let rejection = Rejection::new(self.status());
        let rejection = match self {
            Self::Method(_) => rejection.header("Allow", "GET"),
            Self::NotUpgrade => rejection.header("Upgrade", "websocket"),
            Self::UnsupportedVersion(_) => rejection
                .header("Upgrade", "websocket")
                .header("Sec-WebSocket-Version", "13"),
            _ => rejection,
        };
        rejection
            .header("Content-Type", "text/plain; charset=utf-8")
            .body(format!("{self}\n"))
    }
}

/// Why a request could not be accepted as the application asked; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AcceptError {
    /// The chosen subprotocol is not one the client offered.
    UnofferedSubprotocol(String),
    /// A header name is empty or not an HTTP token.
    InvalidHeaderName(String),
    /// A header value contains CR, LF or another control byte.
    InvalidHeaderValue(String),
    /// The header is one the handshake writes itself (e.g. `Sec-WebSocket-Accept`), or one a
    /// 101 response may not carry (`Content-Length`, `Transfer-Encoding`).
    ReservedHeader(String),
    /// The [`DeflateConfig`](super::DeflateConfig) holds a value out of range.
    InvalidDeflateConfig(DeflateParamError),
}

/// The peer broke RFC 6455; each case maps to the close code sent back.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// An RSV bit is set without an extension that defines it.
    ReservedBits(u8),
    /// The opcode is reserved (3-7, 0xB-0xF).
    ReservedOpcode(u8),
    /// A server frame was masked.
    MaskedFrame,
    /// A client frame was not masked (RFC 6455 5.1: a server must fail the connection).
    UnmaskedFrame,
    /// A 64-bit payload length has its most significant bit set.
    InvalidLength,
    /// A control frame has FIN clear.
    FragmentedControlFrame,
    /// A control frame payload is longer than 125 bytes.
    ControlFrameTooLarge(usize),
    /// A continuation frame arrived with no message to continue.
    UnexpectedContinuation,
    /// A new text or binary frame arrived in the middle of a fragmented message.
    ExpectedContinuation,
    /// A close frame payload is one byte long.
    InvalidClosePayload,
    /// A close frame carries a code that must not appear on the wire.
    InvalidCloseCode(u16),
    /// A text message or close reason is not valid UTF-8.
    InvalidUtf8,
    /// A frame is longer than the configured maximum.
    FrameTooLarge {
        /// Declared payload length.
        size: u64,
        /// The configured limit.
        limit: usize,
    },
    /// A compressed message does not inflate: not valid deflate data (close 1007).
    InvalidCompressedData,
    /// RSV1 (compressed) on a control frame or a continuation frame (RFC 7692 6.1).
    CompressedNonFirstFrame,
    /// A message is longer than the configured maximum (for a compressed message: inflated).
    MessageTooLarge {
        /// Bytes of the message seen so far, including the frame that broke the limit.
        size: u64,
        /// The configured limit.
        limit: usize,
    },
}

impl ProtocolError {
    /// The close code this violation is answered with.
    pub fn close_code(&self) -> CloseCode {
        match self {
            Self::InvalidUtf8 | Self::InvalidCompressedData => CloseCode::INVALID_PAYLOAD,
            Self::FrameTooLarge { .. } | Self::MessageTooLarge { .. } => CloseCode::MESSAGE_TOO_BIG,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

/// A frame that cannot be sent; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// A ping, pong or close payload is longer than 125 bytes.
    ControlPayloadTooLarge(usize),
    /// The close code may not be sent (e.g. 1005, 1006, or below 1000).
    InvalidCloseCode(u16),
    /// The close reason makes the close payload longer than 125 bytes.
    CloseReasonTooLong(usize),
    /// A continuation or finish frame was sent with no fragmented message started.
    NoMessageInProgress,
    /// A new message was started while a fragmented one is unfinished.
    MessageInProgress,
    /// The connection is not open: still connecting, closing or closed.
    NotOpen,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Parse(e) => write!(f, "invalid URL: {e}"),
            Self::UnsupportedScheme(s) => write!(f, "unsupported URL scheme {s:?}: use ws or wss"),
            Self::Fragment => f.write_str("a WebSocket URL must not have a #fragment"),
            Self::MissingHost => f.write_str("the URL has no host"),
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidHeaderName(n) => write!(f, "invalid header name {n:?}"),
            Self::InvalidHeaderValue(n) => write!(f, "invalid value for header {n:?}"),
            Self::ReservedHeader(n) => write!(f, "header {n:?} is set by the handshake itself"),
            Self::InvalidToken(t) => write!(f, "invalid subprotocol or extension token {t:?}"),
            Self::RawDeflateOffer => {
                f.write_str("offer permessage-deflate with Config::deflate, not as a raw extension")
            }
            Self::InvalidDeflateConfig(e) => write!(f, "invalid compression setting: {e}"),
        }
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected(r) => write!(f, "server rejected the upgrade: {} {}", r.status, r.reason),
            Self::Malformed(e) => write!(f, "malformed handshake response: {e}"),
            Self::TooLarge { limit } => write!(f, "handshake response larger than {limit} bytes"),
            Self::InvalidUpgrade => f.write_str("response lacks `Upgrade: websocket`"),
            Self::InvalidConnection => f.write_str("response lacks `Connection: upgrade`"),
            Self::InvalidAccept => f.write_str("Sec-WebSocket-Accept missing or wrong"),
            Self::UnofferedSubprotocol(p) => write!(f, "server chose subprotocol {p:?}, which was not offered"),
            Self::UnofferedExtension(e) => write!(f, "server accepted extension {e:?}, which was not offered"),
            Self::Deflate(e) => write!(f, "server's answer to the compression offer: {e}"),
            Self::Incomplete => f.write_str("connection closed during the handshake"),
            Self::TimedOut => f.write_str("timed out waiting for the handshake response"),
        }
    }
}

impl fmt::Display for BadRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "malformed upgrade request: {e}"),
            Self::TooLarge { limit } => write!(f, "upgrade request header block larger than {limit} bytes"),
            Self::Method(m) => write!(f, "method {m:?} cannot upgrade: use GET"),
            Self::HttpVersion => f.write_str("an upgrade request must be HTTP/1.1 or later"),
            Self::MissingHost => f.write_str("the request has no Host header, or an empty one"),
            Self::NotUpgrade => f.write_str("request lacks `Upgrade: websocket`"),
            Self::NotConnectionUpgrade => f.write_str("request lacks `Connection: upgrade`"),
            Self::UnsupportedVersion(Some(v)) => write!(f, "Sec-WebSocket-Version {v:?} is not supported: use 13"),
            Self::UnsupportedVersion(None) => f.write_str("Sec-WebSocket-Version missing: use 13"),
            Self::InvalidKey => f.write_str("Sec-WebSocket-Key missing, repeated, or not 16 bytes in base64"),
        }
    }
}

impl fmt::Display for AcceptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnofferedSubprotocol(p) => write!(f, "subprotocol {p:?} was not offered by the client"),
            Self::InvalidHeaderName(n) => write!(f, "invalid header name {n:?}"),
            Self::InvalidHeaderValue(n) => write!(f, "invalid value for header {n:?}"),
            Self::ReservedHeader(n) => write!(f, "header {n:?} may not be added to a 101 answer"),
            Self::InvalidDeflateConfig(e) => write!(f, "invalid compression setting: {e}"),
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ReservedBits(b) => write!(f, "reserved bits {b:#05b} set without an extension"),
            Self::ReservedOpcode(o) => write!(f, "reserved opcode {o:#x}"),
            Self::MaskedFrame => f.write_str("server sent a masked frame"),
            Self::UnmaskedFrame => f.write_str("client sent an unmasked frame"),
            Self::InvalidLength => f.write_str("64-bit payload length with the top bit set"),
            Self::FragmentedControlFrame => f.write_str("fragmented control frame"),
            Self::ControlFrameTooLarge(n) => write!(f, "control frame payload of {n} bytes (max 125)"),
            Self::UnexpectedContinuation => f.write_str("continuation frame with no message to continue"),
            Self::ExpectedContinuation => f.write_str("new data frame inside a fragmented message"),
            Self::InvalidClosePayload => f.write_str("close frame with a one-byte payload"),
            Self::InvalidCloseCode(c) => write!(f, "invalid close code {c}"),
            Self::InvalidUtf8 => f.write_str("invalid UTF-8 in a text message or close reason"),
            Self::FrameTooLarge { size, limit } => write!(f, "frame of {size} bytes exceeds the limit of {limit}"),
            Self::InvalidCompressedData => f.write_str("a compressed message does not inflate"),
            Self::CompressedNonFirstFrame => f.write_str("RSV1 set on a control or continuation frame"),
            Self::MessageTooLarge { size, limit } => write!(f, "message of {size}+ bytes exceeds the limit of {limit}"),
        }
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ControlPayloadTooLarge(n) => write!(f, "control frame payload of {n} bytes (max 125)"),
            Self::InvalidCloseCode(c) => write!(f, "close code {c} may not be sent"),
            Self::CloseReasonTooLong(n) => write!(f, "close reason of {n} bytes (max 123)"),
            Self::NoMessageInProgress => f.write_str("no fragmented message to continue"),
            Self::MessageInProgress => f.write_str("a fragmented message is still unfinished"),
            Self::NotOpen => f.write_str("the connection is not open"),
        }
    }
}

impl std::error::Error for UrlError {}
impl std::error::Error for RequestError {}
impl std::error::Error for HandshakeError {}
impl std::error::Error for BadRequest {}
impl std::error::Error for AcceptError {}
impl std::error::Error for ProtocolError {}
impl std::error::Error for EncodeError {}

/// Why the protocol ended a connection: the error a [`Connection`](super::Connection)
/// reports in its close reason.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The server refused or botched the upgrade.
    Handshake(HandshakeError),
    /// The peer broke the protocol.
    Protocol(ProtocolError),
    /// Keepalive: nothing arrived within this long of a ping.
    PongTimeout(std::time::Duration),
    /// Keepalive: nothing arrived for this long.
    IdleTimeout(std::time::Duration),
    /// Its driver failed it ([`Connection::fail`](super::Connection::fail)), with
    /// this close code.
    Failed(CloseCode),
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Handshake(e) => e.fmt(f),
            Self::Protocol(e) => write!(f, "protocol error: {e}"),
            Self::PongTimeout(t) => write!(f, "no answer from the server within {t:?} of a ping"),
            Self::IdleTimeout(t) => write!(f, "nothing from the server for {t:?}"),
            Self::Failed(code) => write!(f, "failed by its driver with close code {}", code.0),
        }
    }
}

impl std::error::Error for ConnectionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Handshake(e) => Some(e),
            Self::Protocol(e) => Some(e),
            Self::PongTimeout(_) | Self::IdleTimeout(_) | Self::Failed(_) => None,
        }
    }
}

impl From<HandshakeError> for ConnectionError {
    fn from(e: HandshakeError) -> Self {
        Self::Handshake(e)
    }
}

impl From<ProtocolError> for ConnectionError {
    fn from(e: ProtocolError) -> Self {
        Self::Protocol(e)
    }
}
