//! The server's side of the opening handshake (RFC 6455 4.2), sans-IO like the client's: parse
//! a client's upgrade request from the bytes read so far, then write the 101 that accepts it, or
//! an HTTP error that refuses it. Parsing is incremental: any split of the request bytes works,
//! and bytes after the header block (the client's first frames) are left in the buffer.
//!
//! ```
//! use bytes::BytesMut;
//! use wsx_proto::deflate::DeflateConfig;
//! use wsx_proto::protocol::upgrade::{Accept, UpgradeRequest};
//!
//! let mut input = BytesMut::from(
//!     &b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
//!        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
//!        Sec-WebSocket-Protocol: chat, superchat\r\n\r\n"[..],
//! );
//! let mut output = BytesMut::new();
//! match UpgradeRequest::parse(&mut input, 16 << 10) {
//!     Ok(None) => { /* read more bytes, then parse again */ }
//!     Ok(Some(request)) => {
//!         assert_eq!((request.path(), request.host()), ("/chat", "example.com"));
//!         let accept = Accept::new().subprotocol("chat");
//!         let response = request.accept(&accept, Some(&DeflateConfig::default()), &mut output)?;
//!         assert_eq!(response.subprotocol.as_deref(), Some("chat"));
//!         // Send `output`; what is left in `input` are the client's first frames.
//!     }
//!     // Send the answer, then close the connection.
//!     Err(bad) => bad.rejection().encode(&mut output),
//! }
//! assert!(output.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
//! # Ok::<(), wsx_proto::protocol::upgrade::AcceptError>(())
//! ```

use std::fmt::Write as _;

use base64::Engine as _;
use bytes::{Buf as _, Bytes, BytesMut};

use super::deflate::DeflateConfig;
use super::extension::NegotiatedExtensions;
use super::handshake::{accept_key, header_lines, is_header_value, is_token, Response};

pub use super::error::{AcceptError, BadRequest};

/// The most headers a request may have, as many as the client allows a response.
const MAX_REQUEST_HEADERS: usize = 128;

/// Headers the 101 writes itself, and those no 1xx response may carry (RFC 9110 8.6, RFC 9112
/// 6.1): `Accept::headers` may not hold them.
const RESERVED_IN_ACCEPT: [&str; 7] = [
    "upgrade",
    "connection",
    "sec-websocket-accept",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
    "content-length",
    "transfer-encoding",
];

/// Headers a rejection writes itself, or that would contradict its `Content-Length` framing.
const RESERVED_IN_REJECTION: [&str; 3] = ["content-length", "connection", "transfer-encoding"];

/// A client's upgrade request, parsed and checked (RFC 6455 4.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeRequest {
    /// The header lines as received (`Name: value\r\n` each), kept in one buffer like a
    /// [`Response`]'s.
    header_block: Bytes,
    target: String,
    host: String,
    key: String,
    subprotocols: Vec<String>,
    extensions: Vec<String>,
}

impl UpgradeRequest {
    /// Parses the request from the front of `buf`. `Ok(None)`: need more bytes (and `buf` holds
    /// at most `limit`). On success the header block is removed from `buf` and whatever follows
    /// it stays there (the client's first frames). A header block longer than `limit` bytes, or
    /// with more than 128 headers, is [`BadRequest::TooLarge`].
    ///
    /// The checks, in order: the method is `GET`, the version HTTP/1.1, there is one `Host`,
    /// `Upgrade` has the `websocket` token and `Connection` the `upgrade` token (both
    /// case-insensitive, among all lines of the header), `Sec-WebSocket-Version` is `13`, and
    /// there is one `Sec-WebSocket-Key`, the base64 of 16 bytes.
    pub fn parse(buf: &mut BytesMut, limit: usize) -> Result<Option<UpgradeRequest>, BadRequest> {
        // Only the first `limit` bytes are looked at, so a request over the limit is refused the
        // same way however its bytes arrive.
        let window = &buf[..buf.len().min(limit)];
        let mut header_storage = [httparse::EMPTY_HEADER; MAX_REQUEST_HEADERS];
        let mut parsed = httparse::Request::new(&mut header_storage);
        let header_len = match parsed.parse(window) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) if buf.len() <= limit => return Ok(None),
            Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => {
                return Err(BadRequest::TooLarge { limit })
            }
            Err(e) => return Err(BadRequest::Malformed(e.to_string())),
        };
        let request = Self::check(&parsed, &buf[..header_len])?;
        buf.advance(header_len);
        Ok(Some(request))
    }

    /// The checks of RFC 6455 4.2.1, in the order [`parse`](Self::parse) gives, on a complete
    /// request whose header block is `head`.
    fn check(parsed: &httparse::Request<'_, '_>, head: &[u8]) -> Result<Self, BadRequest> {
        let method = parsed.method.unwrap_or_default();
        if method != "GET" {
            return Err(BadRequest::Method(method.to_owned()));
        }
        // httparse reads HTTP/1.x only: 0 is HTTP/1.0.
        if parsed.version != Some(1) {
            return Err(BadRequest::HttpVersion);
        }
        let headers = &*parsed.headers;
        let values = |name: &'static str| {
            headers
                .iter()
                .filter(move |h| h.name.eq_ignore_ascii_case(name))
                .map(|h| h.value.trim_ascii())
        };
        let has_token = |name: &'static str, token: &str| {
            values(name)
                .filter_map(|v| std::str::from_utf8(v).ok())
                .flat_map(|v| v.split(','))
                .any(|t| t.trim().eq_ignore_ascii_case(token))
        };

        let mut hosts = values("host");
        let host = hosts.next().filter(|h| !h.is_empty()).ok_or(BadRequest::MissingHost)?;
        // RFC 9112 3.2: two Host lines are refused, not guessed between.
        if hosts.next().is_some() {
            return Err(BadRequest::Malformed("more than one Host header".into()));
        }
        let host = std::str::from_utf8(host)
            .ok()
            .filter(|h| h.bytes().all(is_host_byte))
            .ok_or_else(|| BadRequest::Malformed("the Host header is not a host".into()))?;
        if !has_token("upgrade", "websocket") {
            return Err(BadRequest::NotUpgrade);
        }
        if !has_token("connection", "upgrade") {
            return Err(BadRequest::NotConnectionUpgrade);
        }
        let versions: Vec<&[u8]> = values("sec-websocket-version").collect();
        match versions[..] {
            [] => return Err(BadRequest::UnsupportedVersion(None)),
            [b"13"] => {}
            _ => {
                let versions: Vec<_> = versions.iter().map(|v| String::from_utf8_lossy(v)).collect();
                return Err(BadRequest::UnsupportedVersion(Some(versions.join(", "))));
            }
        }
        let mut keys = values("sec-websocket-key");
        let key = match (keys.next(), keys.next()) {
            (Some(key), None) => std::str::from_utf8(key).ok().filter(|key| is_key(key)),
            _ => None,
        }
        .ok_or(BadRequest::InvalidKey)?;

        let mut subprotocols = Vec::new();
        for value in values("sec-websocket-protocol") {
            let value = utf8(value, "Sec-WebSocket-Protocol")?;
            subprotocols.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned),
            );
        }
        let mut extensions = Vec::new();
        for value in values("sec-websocket-extensions") {
            extensions.extend(split_list(utf8(value, "Sec-WebSocket-Extensions")?).map(str::to_owned));
        }

        // httparse skips empty lines before the request line; the block starts after that line.
        let line_start = head.iter().position(|&b| b != b'\r' && b != b'\n').unwrap_or(0);
        let block_start = head[line_start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(head.len(), |i| line_start + i + 1);
        Ok(Self {
            header_block: Bytes::copy_from_slice(&head[block_start..]),
            target: parsed.path.unwrap_or_default().to_owned(),
            host: host.to_owned(),
            key: key.to_owned(),
            subprotocols,
            extensions,
        })
    }

    /// The request target as sent, e.g. `/chat?room=1`.
    pub fn path(&self) -> &str {
        &self.target
    }

    /// The `Host` header's value.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The `Origin` header's value, if it has one and it is text. Browsers send it; a server
    /// that serves browsers checks it against the origins it trusts (RFC 6455 10.2).
    pub fn origin(&self) -> Option<&str> {
        self.header("origin").and_then(|v| std::str::from_utf8(v).ok())
    }

    /// All request headers in order, names as sent, values trimmed.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        header_lines(&self.header_block)
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The subprotocols offered in `Sec-WebSocket-Protocol`, in order: every line of the
    /// header, split at commas, trimmed.
    pub fn subprotocols(&self) -> &[String] {
        &self.subprotocols
    }

    /// The extensions offered in `Sec-WebSocket-Extensions`, in order, one offer each with
    /// its parameters as written: every line of the header, split at commas outside quotes,
    /// trimmed.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The `Sec-WebSocket-Key` value, trimmed.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Writes the 101 answer accepting this request into `out` and returns the `Response` as
    /// the server sent it (so the application sees the same type on both ends):
    /// `Sec-WebSocket-Accept`, the chosen subprotocol, permessage-deflate answered from
    /// `deflate` if the client offered it (other extensions are never accepted: the server
    /// does not implement them), then `accept.headers`.
    pub fn accept(
        &self,
        accept: &Accept,
        deflate: Option<&DeflateConfig>,
        out: &mut BytesMut,
    ) -> Result<Response, AcceptError> {
        let (response, headers) = self.accept_headers(accept, deflate)?;
        out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
        for (name, value) in &headers {
            let _ = write!(out, "{name}: {value}\r\n");
        }
        out.extend_from_slice(b"\r\n");
        Ok(response)
    }

    /// The headers of the 101 answer that [`accept`](Self::accept) writes, for an HTTP
    /// server that writes its answers itself (hyper, axum): send them with status 101, then
    /// run the connection on the upgraded stream. Also the `Response` as sent.
    pub fn accept_headers(
        &self,
        accept: &Accept,
        deflate: Option<&DeflateConfig>,
    ) -> Result<(Response, Vec<(String, String)>), AcceptError> {
        if let Some(chosen) = accept.subprotocol.as_ref().filter(|p| !self.subprotocols.contains(p)) {
            return Err(AcceptError::UnofferedSubprotocol(chosen.clone()));
        }
        for (name, value) in &accept.headers {
            if !is_token(name) {
                return Err(AcceptError::InvalidHeaderName(name.clone()));
            }
            if RESERVED_IN_ACCEPT.iter().any(|r| r.eq_ignore_ascii_case(name)) {
                return Err(AcceptError::ReservedHeader(name.clone()));
            }
            if !is_header_value(value) {
                return Err(AcceptError::InvalidHeaderValue(name.clone()));
            }
        }
        if let Some(config) = deflate {
            config.validate().map_err(AcceptError::InvalidDeflateConfig)?;
        }
        let (extensions, extensions_header) = NegotiatedExtensions::answer(&self.extensions, deflate);
        let mut headers = vec![
            ("Upgrade".to_owned(), "websocket".to_owned()),
            ("Connection".to_owned(), "Upgrade".to_owned()),
            ("Sec-WebSocket-Accept".to_owned(), accept_key(&self.key)),
        ];
        if let Some(protocol) = &accept.subprotocol {
            headers.push(("Sec-WebSocket-Protocol".to_owned(), protocol.clone()));
        }
        if let Some(value) = extensions_header {
            headers.push(("Sec-WebSocket-Extensions".to_owned(), value));
        }
        headers.extend(accept.headers.iter().cloned());
        let mut block = String::new();
        for (name, value) in &headers {
            let _ = write!(block, "{name}: {value}\r\n");
        }
        // As a client keeps it: the header lines and the blank line after them.
        block.push_str("\r\n");
        let response = Response::http11(block.into(), accept.subprotocol.clone(), extensions);
        Ok((response, headers))
    }

    /// A request whose HTTP/1.1 exchange another server read (hyper, axum, ...): its method,
    /// target and headers, checked like a parsed one ([`parse`](Self::parse)).
    pub fn from_parts<'h>(
        method: &str,
        target: &str,
        headers: impl IntoIterator<Item = (&'h str, &'h [u8])>,
    ) -> Result<Self, BadRequest> {
        let mut head = BytesMut::new();
        let _ = write!(head, "{method} {target} HTTP/1.1\r\n");
        for (name, value) in headers {
            head.extend_from_slice(name.as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value);
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"\r\n");
        let limit = head.len();
        Self::parse(&mut head, limit)?.ok_or_else(|| BadRequest::Malformed("an incomplete request".into()))
    }
}

fn utf8<'a>(value: &'a [u8], name: &str) -> Result<&'a str, BadRequest> {
    std::str::from_utf8(value).map_err(|_| BadRequest::Malformed(format!("{name} is not text")))
}

/// What a `Host` value may hold: a host name, an IP address (in brackets for IPv6) and a port
/// (RFC 3986 3.2.2).
fn is_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=:[]".contains(&b)
}

/// A `Sec-WebSocket-Key`: the base64 (standard alphabet, padded) of 16 bytes.
fn is_key(key: &str) -> bool {
    key.len() == 24
        && base64::engine::general_purpose::STANDARD
            .decode(key)
            .is_ok_and(|nonce| nonce.len() == 16)
}

/// The elements of a comma-separated header value, trimmed, empty ones skipped; commas inside
/// quoted strings do not split.
fn split_list(value: &str) -> impl Iterator<Item = &str> {
    let mut elements = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, b) in value.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                elements.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    elements.push(&value[start..]);
    elements.into_iter().map(str::trim).filter(|e| !e.is_empty())
}

/// How the application accepts a request: the subprotocol, which must be one the client
/// offered, and extra headers for the 101 answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Accept {
    /// The subprotocol to speak, one of [`UpgradeRequest::subprotocols`]; `None` picks none.
    pub subprotocol: Option<String>,
    /// Extra headers, written in order after the handshake's own.
    pub headers: Vec<(String, String)>,
}

impl Accept {
    /// No subprotocol, no extra headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Chooses the subprotocol.
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> Self {
        self.subprotocol = Some(protocol.into());
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// An answer refusing the upgrade: any status, headers and body. The connection is closed
/// after it (`Connection: close`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rejection {
    /// The HTTP status.
    pub status: u16,
    /// Extra headers, written in order after `Content-Length` and `Connection`.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

impl Rejection {
    /// An answer with `status`, no extra headers and an empty body.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Writes the answer into `out`: `HTTP/1.1 {status} {reason}`, `Content-Length`,
    /// `Connection: close` (`Upgrade, close` when there is an `Upgrade` header, as RFC 9110 7.8
    /// asks), the headers, a blank line, the body.
    ///
    /// What would make the answer invalid HTTP is left out rather than written: a header whose
    /// name is not a token or whose value holds a control byte, and `Content-Length`,
    /// `Connection` and `Transfer-Encoding` headers, which would contradict the framing. A
    /// status that is not a final one (below 200, or above 999) is written as 500, and 204 and
    /// 304, which have no body, are written without `Content-Length` or body.
    pub fn encode(&self, out: &mut BytesMut) {
        let status = if (200..=999).contains(&self.status) {
            self.status
        } else {
            500
        };
        let has_body = !matches!(status, 204 | 304);
        let mut head = format!("HTTP/1.1 {status} {}\r\n", reason_phrase(status));
        if has_body {
            let _ = write!(head, "Content-Length: {}\r\n", self.body.len());
        }
        if self
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("upgrade"))
        {
            head.push_str("Connection: Upgrade, close\r\n");
        } else {
            head.push_str("Connection: close\r\n");
        }
        let writable = self.headers.iter().filter(|(name, value)| {
            is_token(name)
                && is_header_value(value)
                && !RESERVED_IN_REJECTION.iter().any(|r| r.eq_ignore_ascii_case(name))
        });
        for (name, value) in writable {
            let _ = write!(head, "{name}: {value}\r\n");
        }
        head.push_str("\r\n");
        out.extend_from_slice(head.as_bytes());
        if has_body {
            out.extend_from_slice(&self.body);
        }
    }
}

/// The reason phrase RFC 9110 15 (and RFC 6585 for 428, 429, 431) gives a final status; empty
/// for others, which HTTP/1.1 allows.
fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        511 => "Network Authentication Required",
        _ => "",
    }
}

#[cfg(test)]
mod tests;
