//! One extended CONNECT stream: checked, turned into an HTTP/1.1 upgrade to the backend, and
//! answered with the backend's verdict (200 for its 101) before the relay starts.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use h2::server::SendResponse;
use h2::RecvStream;
use http::request::Parts;
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::broadcast;
use tokio::time::{timeout, Instant};
use wsx_proto::protocol::{accept_key, random_mask_key};

use super::shovel::{self, next_reset};
use super::{Command, FrontState};

/// The request header that picks another backend for one stream.
const BACKEND_HEADER: &str = "x-wsx-backend";
/// The header on every answer the front makes up itself (not the backend's), saying why.
const FRONT_ERROR_HEADER: &str = "x-wsx-front-error";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the backend may take to answer the upgrade.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the body of a refusing backend may take (it is usually in the head's write).
const BODY_TIMEOUT: Duration = Duration::from_secs(2);
const MAX_HEAD: usize = 16 * 1024;
/// The most of a refusing backend's body passed on.
const MAX_BODY: usize = 16 * 1024;
const MAX_HEADERS: usize = 64;

/// HTTP/1.1 connection-specific headers (RFC 9110 §7.6.1): never forwarded either way, and
/// HTTP/2 forbids most of them.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Counts a stream as open for as long as its task holds this.
pub(super) struct OpenStream {
    state: Arc<FrontState>,
}

impl OpenStream {
    pub(super) fn new(state: Arc<FrontState>) -> Self {
        state.open_streams.fetch_add(1, Ordering::SeqCst);
        Self { state }
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.state.open_streams.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An answer the front makes up: the status, and why (header and body).
struct FrontError {
    status: StatusCode,
    why: String,
}

impl FrontError {
    fn new(status: StatusCode, why: impl Into<String>) -> Self {
        Self {
            status,
            why: why.into(),
        }
    }
}

/// The backend's answer to the upgrade.
enum BackendAnswer {
    /// 101: the socket, the headers to pass on, and the bytes it sent right after its head.
    Upgraded {
        socket: TcpStream,
        headers: Vec<(String, Vec<u8>)>,
        early_bytes: Bytes,
    },
    /// Any other final status, with (the start of) its body.
    Refused {
        status: StatusCode,
        headers: Vec<(String, Vec<u8>)>,
        body: Bytes,
    },
}

pub(super) async fn serve_stream(
    request: Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
    mut commands: broadcast::Receiver<Command>,
    open: OpenStream,
) {
    let options = &open.state.options;
    let (parts, body) = request.into_parts();
    if let Err(error) = check_extended_connect(&parts) {
        return answer_front_error(&mut respond, error).await;
    }
    if let Some(status) = options.refuse {
        let refused = Response::builder()
            .status(status)
            .header("x-refused", "yes")
            .body(())
            .unwrap_or_else(|_| status_only(StatusCode::INTERNAL_SERVER_ERROR));
        let _ = respond.send_response(refused, true);
        return;
    }
    // The client may reset the stream, or the test the front's streams, while the backend
    // is slow to answer.
    let answer = tokio::select! {
        answer = upgrade_at_backend(&parts, options.backend) => answer,
        reason = next_reset(&mut commands) => {
            respond.send_reset(reason);
            return;
        }
        _ = poll_fn(|cx| respond.poll_reset(cx)) => return,
    };
    match answer {
        Err(error) => answer_front_error(&mut respond, error).await,
        Ok(BackendAnswer::Refused { status, headers, body }) => {
            let response = response_with(status, &headers, false);
            if let Ok(mut send) = respond.send_response(response, body.is_empty()) {
                if !body.is_empty() {
                    let _ = shovel::send_all(&mut send, body, true).await;
                }
            }
        }
        Ok(BackendAnswer::Upgraded {
            socket,
            headers,
            early_bytes,
        }) => {
            let response = response_with(StatusCode::OK, &headers, true);
            let Ok(send) = respond.send_response(response, false) else {
                return;
            };
            let stall = parts.uri.path().contains("stall");
            shovel::relay(body, send, socket, early_bytes, stall, commands).await;
        }
    }
}

/// RFC 8441 §4: `:method CONNECT` with `:protocol websocket`.
fn check_extended_connect(parts: &Parts) -> Result<(), FrontError> {
    if parts.method != Method::CONNECT {
        return Err(FrontError::new(StatusCode::BAD_REQUEST, "not a CONNECT request"));
    }
    match parts.extensions.get::<h2::ext::Protocol>() {
        Some(protocol) if protocol.as_str().eq_ignore_ascii_case("websocket") => Ok(()),
        Some(_) => Err(FrontError::new(StatusCode::BAD_REQUEST, ":protocol is not websocket")),
        None => Err(FrontError::new(StatusCode::BAD_REQUEST, "CONNECT without :protocol")),
    }
}

fn status_only(status: StatusCode) -> Response<()> {
    let mut response = Response::new(());
    *response.status_mut() = status;
    response
}

async fn answer_front_error(respond: &mut SendResponse<Bytes>, error: FrontError) {
    let mut response = status_only(error.status);
    if let Ok(why) = HeaderValue::from_str(&error.why) {
        response.headers_mut().insert(FRONT_ERROR_HEADER, why);
    }
    if let Ok(mut send) = respond.send_response(response, false) {
        let _ = shovel::send_all(&mut send, Bytes::from(error.why), true).await;
    }
}

/// A response with `status` and the backend's headers, less the connection-specific ones
/// (and, for an upgrade, the HTTP/1.1 handshake's `sec-websocket-accept`).
fn response_with(status: StatusCode, headers: &[(String, Vec<u8>)], upgraded: bool) -> Response<()> {
    let mut response = status_only(status);
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        // A 2xx answer to CONNECT has no body; a refusal's passes on whole up to MAX_BODY,
        // and with its length only then.
        let whole_body = !upgraded && content_length(headers).is_some_and(|n| n <= MAX_BODY);
        let dropped = HOP_BY_HOP.contains(&lower.as_str())
            || (lower == "content-length" && !whole_body)
            || (upgraded && lower == "sec-websocket-accept");
        if dropped {
            continue;
        }
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(lower.as_bytes()), HeaderValue::from_bytes(value)) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

/// Connects to the backend, sends the upgrade request and reads its answer.
async fn upgrade_at_backend(parts: &Parts, default_backend: Option<SocketAddr>) -> Result<BackendAnswer, FrontError> {
    let backend = backend_for(parts, default_backend)?;
    let mut socket = match timeout(CONNECT_TIMEOUT, TcpStream::connect(backend)).await {
        Ok(Ok(socket)) => socket,
        Ok(Err(e)) => {
            return Err(FrontError::new(
                StatusCode::BAD_GATEWAY,
                format!("backend {backend}: {e}"),
            ))
        }
        Err(_) => {
            return Err(FrontError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "backend connect timed out",
            ))
        }
    };
    let _ = socket.set_nodelay(true);
    let key = fresh_key();
    let request = upgrade_request(parts, backend, &key);
    if let Err(e) = socket.write_all(&request).await {
        return Err(FrontError::new(
            StatusCode::BAD_GATEWAY,
            format!("writing to the backend: {e}"),
        ));
    }
    let head = match timeout(RESPONSE_TIMEOUT, read_response_head(&mut socket)).await {
        Ok(head) => head?,
        Err(_) => {
            return Err(FrontError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "no answer from the backend",
            ))
        }
    };
    if head.status == StatusCode::SWITCHING_PROTOCOLS {
        let accept = head
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-accept"));
        if accept.map(|(_, v)| v.as_slice()) != Some(accept_key(&key).as_bytes()) {
            return Err(FrontError::new(
                StatusCode::BAD_GATEWAY,
                "bad Sec-WebSocket-Accept from the backend",
            ));
        }
        return Ok(BackendAnswer::Upgraded {
            socket,
            headers: head.headers,
            early_bytes: head.rest,
        });
    }
    if head.status.is_informational() {
        return Err(FrontError::new(
            StatusCode::BAD_GATEWAY,
            "unexpected 1xx from the backend",
        ));
    }
    let body = read_body(&mut socket, head.rest, content_length(&head.headers)).await;
    Ok(BackendAnswer::Refused {
        status: head.status,
        headers: head.headers,
        body,
    })
}

fn backend_for(parts: &Parts, default_backend: Option<SocketAddr>) -> Result<SocketAddr, FrontError> {
    match parts.headers.get(BACKEND_HEADER) {
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .ok_or_else(|| FrontError::new(StatusCode::BAD_REQUEST, "x-wsx-backend is not IP:PORT")),
        None => default_backend.ok_or_else(|| FrontError::new(StatusCode::BAD_GATEWAY, "no backend configured")),
    }
}

/// A `Sec-WebSocket-Key`: 16 random bytes, base64.
fn fresh_key() -> String {
    let mut nonce = [0u8; 16];
    for chunk in nonce.chunks_exact_mut(4) {
        chunk.copy_from_slice(&random_mask_key());
    }
    base64::engine::general_purpose::STANDARD.encode(nonce)
}

/// `GET` with the WebSocket upgrade headers, then every request header the client sent that
/// is end to end (subprotocols, extensions, origin, custom ones).
fn upgrade_request(parts: &Parts, backend: SocketAddr, key: &str) -> Vec<u8> {
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let host = parts
        .uri
        .authority()
        .map_or_else(|| backend.to_string(), |a| a.to_string());
    let mut head = format!(
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
    )
    .into_bytes();
    for (name, value) in &parts.headers {
        let name = name.as_str();
        // Written above (HTTP/2 clients send their own version header, RFC 8441 §5).
        let replaced = matches!(
            name,
            "host" | "content-length" | "sec-websocket-key" | "sec-websocket-version" | BACKEND_HEADER
        );
        let splits_the_head = value.as_bytes().iter().any(|b| matches!(b, b'\r' | b'\n'));
        if replaced || splits_the_head || HOP_BY_HOP.contains(&name) {
            continue;
        }
        head.extend_from_slice(name.as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    head
}

struct ResponseHead {
    status: StatusCode,
    headers: Vec<(String, Vec<u8>)>,
    /// What the backend sent after the head.
    rest: Bytes,
}

async fn read_response_head(socket: &mut TcpStream) -> Result<ResponseHead, FrontError> {
    let bad_gateway = |why: String| FrontError::new(StatusCode::BAD_GATEWAY, why);
    let mut buf = BytesMut::with_capacity(4096);
    loop {
        match socket.read_buf(&mut buf).await {
            Ok(0) => return Err(bad_gateway("the backend closed before answering".into())),
            Ok(_) => {}
            Err(e) => return Err(bad_gateway(format!("reading from the backend: {e}"))),
        }
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&buf) {
            Ok(httparse::Status::Complete(head_len)) => {
                let status = response
                    .code
                    .and_then(|code| StatusCode::from_u16(code).ok())
                    .ok_or_else(|| bad_gateway("bad status from the backend".into()))?;
                let headers = response
                    .headers
                    .iter()
                    .map(|h| (h.name.to_owned(), h.value.to_vec()))
                    .collect();
                let rest = buf.split_off(head_len).freeze();
                return Ok(ResponseHead { status, headers, rest });
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => {}
            Ok(httparse::Status::Partial) => return Err(bad_gateway("the backend's head is too large".into())),
            Err(e) => return Err(bad_gateway(format!("bad response from the backend: {e}"))),
        }
        buf.reserve(4096);
    }
}

fn content_length(headers: &[(String, Vec<u8>)]) -> Option<usize> {
    let (_, value) = headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("content-length"))?;
    std::str::from_utf8(value).ok()?.trim().parse().ok()
}

/// The body after a refusing head: `Content-Length` bytes, else until EOF; at most
/// [`MAX_BODY`], and what arrived within [`BODY_TIMEOUT`].
async fn read_body(socket: &mut TcpStream, start: Bytes, declared: Option<usize>) -> Bytes {
    let wanted = declared.unwrap_or(MAX_BODY).min(MAX_BODY);
    let mut body = BytesMut::from(&start[..]);
    let deadline = Instant::now() + BODY_TIMEOUT;
    while body.len() < wanted {
        body.reserve(wanted - body.len());
        match tokio::time::timeout_at(deadline, socket.read_buf(&mut body)).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => break,
        }
    }
    body.truncate(wanted);
    body.freeze()
}
