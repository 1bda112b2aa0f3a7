//! The opening handshake (RFC 6455 section 4): the client's upgrade request and the checks on
//! the server's response. Parsing is incremental: any split of the response bytes works, and
//! bytes after the header block are left in the buffer as the first frames.

use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use sha1::{Digest, Sha1};

use super::deflate::{DeflateConfig, EXTENSION_NAME};
use super::error::{HandshakeError, RejectedResponse, RequestError};
use super::extension::NegotiatedExtensions;
use super::mask::random_fill;
use super::url::WsUrl;

const ACCEPT_GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// How much of a rejected response's body is kept for the error.
const REJECTED_BODY_LIMIT: usize = 1024;
const MAX_RESPONSE_HEADERS: usize = 128;
/// Headers the handshake writes itself; user headers may not repeat them.
const RESERVED_HEADERS: [&str; 7] = [
    "host",
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
];

/// What to ask the server for: the URL, extra headers, subprotocols and extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The URL to connect to.
    pub url: WsUrl,
    /// Extra headers, written in order after the handshake's own.
    pub headers: Vec<(String, String)>,
    /// Subprotocols to offer, in order of preference.
    pub subprotocols: Vec<String>,
    /// Extensions to offer (`Sec-WebSocket-Extensions` entries with parameters).
    pub extensions: Vec<String>,
}

impl Request {
    /// A request for `url` with no extra headers, subprotocols or extensions.
    pub fn new(url: WsUrl) -> Self {
        Self {
            url,
            headers: Vec::new(),
            subprotocols: Vec::new(),
            extensions: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Offers a subprotocol.
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> Self {
        self.subprotocols.push(protocol.into());
        self
    }

    /// Checks the headers and tokens that the user supplied.
    pub fn validate(&self) -> Result<(), RequestError> {
        for (name, value) in &self.headers {
            if !is_token(name) {
                return Err(RequestError::InvalidHeaderName(name.clone()));
            }
            if RESERVED_HEADERS.iter().any(|r| r.eq_ignore_ascii_case(name)) {
                return Err(RequestError::ReservedHeader(name.clone()));
            }
            if !is_header_value(value) {
                return Err(RequestError::InvalidHeaderValue(name.clone()));
            }
        }
        for token in &self.subprotocols {
            if !is_token(token) {
                return Err(RequestError::InvalidToken(token.clone()));
            }
        }
        for ext in &self.extensions {
            let name = ext.split(';').next().unwrap_or("").trim();
            if !is_token(name) || ext.bytes().any(|b| b < 0x20 || b == 0x7f) {
                return Err(RequestError::InvalidToken(ext.clone()));
            }
            if name.eq_ignore_ascii_case(EXTENSION_NAME) {
                return Err(RequestError::RawDeflateOffer);
            }
        }
        Ok(())
    }
}

/// An HTTP token (RFC 9110 §5.6.2): what header names, subprotocols and extension names are.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A header value a user may have us write: no control bytes but tab (CR or LF would end the
/// header early and let the value forge others).
pub(crate) fn is_header_value(value: &str) -> bool {
    !value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f)
}

/// The `Name: value` lines of a header block, names as sent, values trimmed; lines that are not
/// headers (the blank line ending the block) are skipped.
pub(crate) fn header_lines(block: &[u8]) -> impl Iterator<Item = (&str, &[u8])> + '_ {
    block.split(|&b| b == b'\n').filter_map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let colon = line.iter().position(|&b| b == b':')?;
        let name = std::str::from_utf8(&line[..colon]).ok()?;
        Some((name, line[colon + 1..].trim_ascii()))
    })
}

/// Which HTTP carried the opening handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HttpVersion {
    /// HTTP/1.1's upgrade (RFC 6455): the WebSocket has the TCP connection to itself.
    Http11,
    /// HTTP/2's extended CONNECT (RFC 8441): the WebSocket is one stream of a connection.
    Http2,
}

/// The server's accepted upgrade: as a client parsed it, or as a server wrote it
/// ([`UpgradeRequest::accept`](super::upgrade::UpgradeRequest::accept)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The header lines as received or sent (`Name: value\r\n` each), kept in one buffer: a
    /// connection holds its response for its whole life.
    header_block: Bytes,
    version: HttpVersion,
    /// The subprotocol the server chose, if any.
    pub subprotocol: Option<String>,
    /// The extensions the server accepted.
    pub extensions: NegotiatedExtensions,
}

impl Response {
    /// The response a server wrote over HTTP/1.1: `header_block` is the header lines after its
    /// status line.
    pub(crate) fn http11(header_block: Bytes, subprotocol: Option<String>, extensions: NegotiatedExtensions) -> Self {
        Self {
            header_block,
            version: HttpVersion::Http11,
            subprotocol,
            extensions,
        }
    }

    /// All response headers in order, names as sent, values trimmed.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        header_lines(&self.header_block)
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Which HTTP carried the handshake: HTTP/1.1's upgrade or HTTP/2's extended CONNECT.
    pub fn http_version(&self) -> HttpVersion {
        self.version
    }
}

/// The client side of the opening handshake.
#[derive(Debug)]
pub(crate) struct ClientHandshake {
    expected_accept: String,
    offers: Offers,
}

impl ClientHandshake {
    /// Writes the upgrade request into `out`, offering permessage-deflate first if `deflate`
    /// is set.
    pub(crate) fn start(
        request: &Request,
        deflate: Option<&DeflateConfig>,
        out: &mut BytesMut,
    ) -> Result<Self, RequestError> {
        let offers = Offers::new(request, deflate)?;
        let offered = &offers.extensions;
        let mut nonce = [0u8; 16];
        random_fill(&mut nonce);
        let key = base64::engine::general_purpose::STANDARD.encode(nonce);
        let mut text = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n",
            request.url.resource(),
            request.url.host_header(),
        );
        if !request.subprotocols.is_empty() {
            text.push_str(&format!(
                "Sec-WebSocket-Protocol: {}\r\n",
                request.subprotocols.join(", ")
            ));
        }
        if !offered.is_empty() {
            text.push_str(&format!("Sec-WebSocket-Extensions: {}\r\n", offered.join(", ")));
        }
        for (name, value) in &request.headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str("\r\n");
        out.extend_from_slice(text.as_bytes());
        Ok(Self {
            expected_accept: accept_key(&key),
            offers,
        })
    }

    /// Parses the response from the front of `buf`. `Ok(None)`: need more bytes. On success the
    /// header block is removed from `buf` and whatever follows it stays there.
    pub(crate) fn parse_response(&self, buf: &mut BytesMut, limit: usize) -> Result<Option<Response>, HandshakeError> {
        let mut header_storage = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
        let mut parsed = httparse::Response::new(&mut header_storage);
        let header_len = match parsed.parse(buf) {
            Ok(httparse::Status::Complete(n)) if n <= limit => n,
            Ok(httparse::Status::Partial) if buf.len() <= limit => return Ok(None),
            Ok(_) | Err(httparse::Error::TooManyHeaders) => return Err(HandshakeError::TooLarge { limit }),
            Err(e) => return Err(HandshakeError::Malformed(e.to_string())),
        };
        let status = parsed.code.unwrap_or(0);
        let headers: Vec<(String, Bytes)> = parsed
            .headers
            .iter()
            .map(|h| (h.name.to_owned(), Bytes::copy_from_slice(h.value)))
            .collect();
        if status != 101 {
            let body_end = buf.len().min(header_len + REJECTED_BODY_LIMIT);
            return Err(HandshakeError::Rejected(Box::new(RejectedResponse {
                status,
                reason: parsed.reason.unwrap_or("").to_owned(),
                body: Bytes::copy_from_slice(&buf[header_len..body_end]),
                headers,
            })));
        }
        let values = |name: &'static str| {
            headers
                .iter()
                .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
                .filter_map(|(_, v)| std::str::from_utf8(v).ok())
        };
        let has_token = |name: &'static str, token: &str| {
            values(name)
                .flat_map(|v| v.split(','))
                .any(|t| t.trim().eq_ignore_ascii_case(token))
        };
        if !has_token("upgrade", "websocket") {
            return Err(HandshakeError::InvalidUpgrade);
        }
        if !has_token("connection", "upgrade") {
            return Err(HandshakeError::InvalidConnection);
        }
        let mut accepts = values("sec-websocket-accept");
        if accepts.next().map(str::trim) != Some(self.expected_accept.as_str()) || accepts.next().is_some() {
            return Err(HandshakeError::InvalidAccept);
        }
        let (subprotocol, extensions) = self.offers.agreed(&headers)?;
        let head = buf.split_to(header_len);
        let first_line_end = head.iter().position(|&b| b == b'\n').map_or(head.len(), |i| i + 1);
        Ok(Some(Response {
            header_block: Bytes::copy_from_slice(&head[first_line_end..]),
            version: HttpVersion::Http11,
            subprotocol,
            extensions,
        }))
    }
}

/// What a client offers in its opening handshake, and the check of what the server chose.
#[derive(Debug)]
struct Offers {
    subprotocols: Vec<String>,
    /// permessage-deflate's offer first, if any, then the request's own extensions.
    extensions: Vec<String>,
    deflate: Option<DeflateConfig>,
}

impl Offers {
    fn new(request: &Request, deflate: Option<&DeflateConfig>) -> Result<Self, RequestError> {
        request.validate()?;
        if let Some(config) = deflate {
            config.validate().map_err(RequestError::InvalidDeflateConfig)?;
        }
        Ok(Self {
            subprotocols: request.subprotocols.clone(),
            extensions: deflate
                .map(DeflateConfig::offer)
                .into_iter()
                .chain(request.extensions.iter().cloned())
                .collect(),
            deflate: deflate.cloned(),
        })
    }

    /// The subprotocol and extensions an accepting response chose: only ones offered.
    fn agreed(&self, headers: &[(String, Bytes)]) -> Result<(Option<String>, NegotiatedExtensions), HandshakeError> {
        let values = |name: &'static str| {
            headers
                .iter()
                .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
                .filter_map(|(_, v)| std::str::from_utf8(v).ok())
        };
        let subprotocol = match values("sec-websocket-protocol").map(str::trim).next() {
            Some(chosen) if self.subprotocols.iter().any(|p| p == chosen) => Some(chosen.to_owned()),
            Some(chosen) => return Err(HandshakeError::UnofferedSubprotocol(chosen.to_owned())),
            None => None,
        };
        let extensions = NegotiatedExtensions::negotiate(
            &self.extensions,
            self.deflate.as_ref(),
            values("sec-websocket-extensions"),
        )?;
        Ok((subprotocol, extensions))
    }
}

/// Request headers that belong to HTTP/1.1's connection and must not appear in HTTP/2
/// (RFC 9113 §8.2.2), or that the extended CONNECT does not use.
const NOT_IN_HTTP2: [&str; 8] = [
    "host",
    "connection",
    "upgrade",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "sec-websocket-key",
];

/// The opening handshake over HTTP/2 (RFC 8441 §4-5): the extended CONNECT request for a new
/// stream, and the check of its response. Sans-IO like the rest: a driver sends
/// [`scheme`](Self::scheme), [`authority`](Self::authority), [`path`](Self::path) and
/// [`headers`](Self::headers) with `:method CONNECT` and `:protocol websocket` through its
/// HTTP/2 library, then hands the response to [`accept`](Self::accept).
#[derive(Debug)]
pub struct ExtendedConnect {
    offers: Offers,
    secure: bool,
    authority: String,
    path: String,
    /// Lower-case names, as HTTP/2 wants them.
    headers: Vec<(String, String)>,
}

impl ExtendedConnect {
    /// The request for `request`, offering permessage-deflate first if `deflate` is set.
    pub fn new(request: &Request, deflate: Option<&DeflateConfig>) -> Result<Self, RequestError> {
        let offers = Offers::new(request, deflate)?;
        let mut headers = vec![("sec-websocket-version".to_owned(), "13".to_owned())];
        if !offers.subprotocols.is_empty() {
            headers.push(("sec-websocket-protocol".into(), offers.subprotocols.join(", ")));
        }
        if !offers.extensions.is_empty() {
            headers.push(("sec-websocket-extensions".into(), offers.extensions.join(", ")));
        }
        for (name, value) in &request.headers {
            let name = name.to_ascii_lowercase();
            if !NOT_IN_HTTP2.contains(&name.as_str()) {
                headers.push((name, value.clone()));
            }
        }
        Ok(Self {
            offers,
            secure: request.url.is_secure(),
            authority: request.url.host_header(),
            path: request.url.resource().to_owned(),
            headers,
        })
    }

    /// `:scheme`: `https` for `wss://`, `http` for `ws://`.
    pub fn scheme(&self) -> &'static str {
        if self.secure {
            "https"
        } else {
            "http"
        }
    }

    /// `:authority`: the host, and the port when it is not the scheme's.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// `:path`: the URL's path and query.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The regular headers, names in lower case: `sec-websocket-version: 13`, the offered
    /// subprotocols and extensions, and the request's own headers (but those HTTP/2 forbids).
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Checks the response: any 2xx status opens the WebSocket, with only a subprotocol and
    /// extensions that were offered; any other is [`HandshakeError::Rejected`] with its status
    /// and headers (the body is the driver's to read, and not waited for).
    pub fn accept<'h>(
        &self,
        status: u16,
        headers: impl IntoIterator<Item = (&'h str, &'h [u8])>,
    ) -> Result<Response, HandshakeError> {
        let headers: Vec<(String, Bytes)> = headers
            .into_iter()
            .map(|(n, v)| (n.to_owned(), Bytes::copy_from_slice(v)))
            .collect();
        if !(200..300).contains(&status) {
            return Err(HandshakeError::Rejected(Box::new(RejectedResponse {
                status,
                reason: String::new(),
                headers,
                body: Bytes::new(),
            })));
        }
        let (subprotocol, extensions) = self.offers.agreed(&headers)?;
        let mut block = Vec::new();
        for (name, value) in &headers {
            block.extend_from_slice(name.as_bytes());
            block.extend_from_slice(b": ");
            block.extend_from_slice(value);
            block.extend_from_slice(b"\r\n");
        }
        Ok(Response {
            header_block: block.into(),
            version: HttpVersion::Http2,
            subprotocol,
            extensions,
        })
    }
}

/// `Sec-WebSocket-Accept` for a key: base64(SHA-1(key + GUID)).
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(ACCEPT_GUID);
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(request: &Request) -> (ClientHandshake, String) {
        let mut out = BytesMut::new();
        let hs = ClientHandshake::start(request, None, &mut out).unwrap();
        (hs, String::from_utf8(out.to_vec()).unwrap())
    }

    fn request() -> Request {
        Request::new(WsUrl::parse("ws://example.com:9000/chat?x=1").unwrap())
    }

    fn key_of(text: &str) -> String {
        let line = text.lines().find(|l| l.starts_with("Sec-WebSocket-Key: ")).unwrap();
        line["Sec-WebSocket-Key: ".len()..].to_owned()
    }

    fn response_for(text: &str, extra: &str) -> BytesMut {
        BytesMut::from(
            format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Accept: {}\r\n{extra}\r\n",
                accept_key(&key_of(text))
            )
            .as_bytes(),
        )
    }

    #[test]
    fn rfc_sample_accept() {
        assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn request_shape() {
        let (_, text) = start(
            &request()
                .subprotocol("chat")
                .subprotocol("superchat")
                .header("Authorization", "Bearer x"),
        );
        assert!(
            text.starts_with("GET /chat?x=1 HTTP/1.1\r\nHost: example.com:9000\r\n"),
            "{text}"
        );
        for line in [
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Version: 13",
            "Sec-WebSocket-Protocol: chat, superchat",
            "Authorization: Bearer x",
        ] {
            assert!(text.contains(&format!("{line}\r\n")), "missing {line}");
        }
        let nonce = base64::engine::general_purpose::STANDARD.decode(key_of(&text)).unwrap();
        assert_eq!(nonce.len(), 16);
        assert!(text.ends_with("\r\n\r\n"));
        let (_, again) = start(&request());
        assert_ne!(key_of(&text), key_of(&again), "keys must be fresh");
    }

    #[test]
    fn rejects_bad_user_headers() {
        assert_eq!(
            request().header("X-A", "a\r\nEvil: 1").validate(),
            Err(RequestError::InvalidHeaderValue("X-A".into()))
        );
        assert_eq!(
            request().header("Bad Name", "v").validate(),
            Err(RequestError::InvalidHeaderName("Bad Name".into()))
        );
        assert_eq!(
            request().header("sec-websocket-key", "v").validate(),
            Err(RequestError::ReservedHeader("sec-websocket-key".into()))
        );
        assert_eq!(
            request().subprotocol("a b").validate(),
            Err(RequestError::InvalidToken("a b".into()))
        );
    }

    #[test]
    fn accepts_in_any_split_and_keeps_trailing_bytes() {
        let (hs, text) = start(&request());
        let mut full = response_for(&text, "X-Server: test\r\n");
        full.extend_from_slice(&[0x81, 0x02, b'h', b'i']);
        for split in 0..full.len() {
            let mut buf = BytesMut::from(&full[..split]);
            let early = hs.parse_response(&mut buf, 16 << 10).unwrap();
            if split < full.len() - 4 {
                assert!(early.is_none(), "split {split}");
            }
            buf.extend_from_slice(&full[split..]);
            let resp = match early {
                Some(r) => r,
                None => hs.parse_response(&mut buf, 16 << 10).unwrap().unwrap(),
            };
            assert_eq!(resp.header("x-server"), Some(&b"test"[..]));
            assert_eq!(resp.headers().count(), 4);
            assert_eq!(&buf[..], &[0x81, 0x02, b'h', b'i']);
        }
    }

    #[test]
    fn response_checks() {
        let (hs, text) = start(&request().subprotocol("chat"));
        let ok = hs
            .parse_response(&mut response_for(&text, "Sec-WebSocket-Protocol: chat\r\n"), 1 << 14)
            .unwrap()
            .unwrap();
        assert_eq!(ok.subprotocol.as_deref(), Some("chat"));
        assert_eq!(
            hs.parse_response(&mut response_for(&text, "Sec-WebSocket-Protocol: other\r\n"), 1 << 14),
            Err(HandshakeError::UnofferedSubprotocol("other".into()))
        );
        assert_eq!(
            hs.parse_response(
                &mut response_for(&text, "Sec-WebSocket-Extensions: permessage-deflate\r\n"),
                1 << 14
            ),
            Err(HandshakeError::UnofferedExtension("permessage-deflate".into()))
        );
        let wrong_key = response_for(&start(&request()).1, "");
        assert_eq!(
            hs.parse_response(&mut wrong_key.clone(), 1 << 14),
            Err(HandshakeError::InvalidAccept)
        );
        let no_upgrade = String::from_utf8(response_for(&text, "").to_vec())
            .unwrap()
            .replace("Upgrade: WebSocket\r\n", "");
        assert_eq!(
            hs.parse_response(&mut BytesMut::from(no_upgrade.as_bytes()), 1 << 14),
            Err(HandshakeError::InvalidUpgrade)
        );
        let no_conn = String::from_utf8(response_for(&text, "").to_vec())
            .unwrap()
            .replace("keep-alive, Upgrade", "keep-alive");
        assert_eq!(
            hs.parse_response(&mut BytesMut::from(no_conn.as_bytes()), 1 << 14),
            Err(HandshakeError::InvalidConnection)
        );
        assert!(matches!(
            hs.parse_response(&mut BytesMut::from(&b"HTTP/1.1 1x1 no\r\n\r\n"[..]), 1 << 14),
            Err(HandshakeError::Malformed(_))
        ));
    }

    #[test]
    fn rejected_response_carries_everything() {
        let (hs, _) = start(&request());
        let mut buf = BytesMut::from(&b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot here!"[..]);
        let Err(HandshakeError::Rejected(r)) = hs.parse_response(&mut buf, 1 << 14) else {
            panic!()
        };
        assert_eq!(
            (r.status, r.reason.as_str(), &r.body[..]),
            (404, "Not Found", &b"not here!"[..])
        );
        assert_eq!(r.headers[0].0, "Content-Length");
    }

    #[test]
    fn size_limit() {
        let (hs, _) = start(&request());
        let mut buf = BytesMut::from(format!("HTTP/1.1 101 OK\r\nX-Big: {}\r\n", "a".repeat(200)).as_bytes());
        assert_eq!(
            hs.parse_response(&mut buf, 100),
            Err(HandshakeError::TooLarge { limit: 100 })
        );
    }

    #[test]
    fn extended_connect_request_and_response() {
        let request = Request::new(WsUrl::parse("wss://example.com:8443/feed?x=1").unwrap())
            .header("Origin", "https://example.com")
            .header("Keep-Alive", "timeout=5")
            .header("X-Token", "t")
            .subprotocol("v1")
            .subprotocol("v2");
        let deflate = DeflateConfig::default();
        let connect = ExtendedConnect::new(&request, Some(&deflate)).unwrap();
        assert_eq!(connect.scheme(), "https");
        assert_eq!(connect.authority(), "example.com:8443");
        assert_eq!(connect.path(), "/feed?x=1");
        let headers: Vec<_> = connect.headers().collect();
        assert_eq!(headers[0], ("sec-websocket-version", "13"));
        assert!(headers.contains(&("sec-websocket-protocol", "v1, v2")));
        assert!(headers.contains(&("origin", "https://example.com")));
        assert!(headers.contains(&("x-token", "t")));
        assert!(headers
            .iter()
            .any(|(n, v)| *n == "sec-websocket-extensions" && v.starts_with(EXTENSION_NAME)));
        assert!(!headers.iter().any(|(n, _)| *n == "keep-alive"), "HTTP/2 forbids it");

        let response = connect
            .accept(
                200,
                [
                    ("sec-websocket-protocol", &b"v2"[..]),
                    ("sec-websocket-extensions", b"permessage-deflate"),
                    ("server", b"test"),
                ],
            )
            .unwrap();
        assert_eq!(response.http_version(), HttpVersion::Http2);
        assert_eq!(response.subprotocol.as_deref(), Some("v2"));
        assert!(response.extensions.deflate().is_some());
        assert_eq!(response.header("Server"), Some(&b"test"[..]));

        assert_eq!(
            connect.accept(200, [("sec-websocket-protocol", &b"v3"[..])]),
            Err(HandshakeError::UnofferedSubprotocol("v3".into()))
        );
        match connect.accept(403, [("x-why", &b"no"[..])]) {
            Err(HandshakeError::Rejected(rejected)) => {
                assert_eq!(rejected.status, 403);
                assert_eq!(rejected.headers, vec![("x-why".to_owned(), Bytes::from_static(b"no"))]);
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
        let plain = ExtendedConnect::new(&Request::new(WsUrl::parse("ws://h/").unwrap()), None).unwrap();
        assert_eq!((plain.scheme(), plain.authority()), ("http", "h"));
        assert!(!plain.headers().any(|(n, _)| n == "sec-websocket-extensions"));
    }
}
