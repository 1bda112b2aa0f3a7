//! WebSockets over HTTP/2 (RFC 8441) for the async adapters: a client's transport is a stream
//! of an HTTP/2 connection, shared with the other clients of its origin
//! ([`Http2Origin`](wsx_proto::http2::Http2Origin)), opened with an extended CONNECT. The
//! framing is hyperium's `h2`, which needs only tokio's I/O traits: an adapter gives it its
//! socket in them and a way to run the connection's task ([`Http2Runtime`]). The WebSocket
//! itself (frames, masks, the close handshake) is still wsx-proto's, in the stream's DATA.

mod pool;
mod stream;
mod watch;

use std::any::TypeId;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;
use std::time::Instant;

use bytes::Bytes;
use h2::client::{Connection, SendRequest};
use tokio::io::{AsyncRead, AsyncWrite};

use wsx_proto::error::{HandshakeError, RequestError};
use wsx_proto::http2::{ExtendedConnect, Http2, Http2Error};
use wsx_proto::{ConnectSettings, Error, Response};

use self::pool::{Claim, Key, Lease, Opener, Pooled, Shared};
pub use self::stream::Http2Stream;
use crate::open::{open, Dial, Opened};
use crate::wait::or_timeout;

/// How much a server may send one stream before the client reads it: what a WebSocket over
/// HTTP/2 holds at most of received bytes its session has not taken (a TCP socket's receive
/// buffer, for one over HTTP/1.1).
const STREAM_WINDOW: u32 = 256 * 1024;
/// The connection's window: HTTP/2's largest.
const CONNECTION_WINDOW: u32 = (1 << 31) - 1;
/// The largest DATA frame the server may send: fewer frames for large messages.
const MAX_FRAME: u32 = 64 * 1024;

/// What HTTP/2 needs of an async runtime beyond opening sockets ([`Dial`]).
pub trait Http2Runtime: Dial<Sleep: Send> + Sized + 'static {
    /// An open transport as tokio's I/O traits see it, for `h2`.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// `opened` in tokio's I/O traits.
    fn io(opened: Opened<Self>) -> Self::Io;
    /// The protocol the TLS server chose in ALPN.
    fn alpn(tls: &Self::Tls) -> Option<&[u8]>;
    /// Runs an HTTP/2 connection's task in the background.
    fn spawn(task: impl Future<Output = ()> + Send + 'static);
}

/// An open transport for a session ([`connect`]).
pub enum Transport<D: Dial> {
    /// A socket for the HTTP/1.1 upgrade.
    Socket(Opened<D>),
    /// An HTTP/2 stream whose WebSocket handshake is done, with its accepted response
    /// ([`Input::Upgraded`](wsx_proto::Input::Upgraded)).
    Http2(Http2Stream, Box<Response>),
}

/// Opens a transport for `settings`: a socket for HTTP/1.1, or a stream of an HTTP/2
/// connection (shared, or opened now) as [`ConnectSettings::http2`] asks and the server
/// allows.
pub async fn connect<D: Http2Runtime>(settings: &ConnectSettings) -> Result<Transport<D>, Error> {
    if !settings.tries_http2() {
        return Ok(Transport::Socket(open::<D>(settings).await?));
    }
    // A connection that was shared when this began may be going away (GOAWAY): one more try,
    // on a fresh one.
    let mut retried = false;
    loop {
        // Waiting for another client's connection, opening one, HTTP/2's handshake: all
        // within the connect timeout.
        let deadline = D::sleep_until(Instant::now() + settings.connect_timeout);
        let reached = or_timeout(connection::<D>(settings), deadline).await;
        let pooled = match reached.unwrap_or(Err(Error::ConnectTimeout))? {
            Reached::Http2(pooled) => pooled,
            Reached::Http11(opened) => return Ok(Transport::Socket(opened)),
            Reached::NoWebSockets if settings.http2 == Http2::Require => {
                return Err(Error::Http2(Http2Error::ExtendedConnectDisabled))
            }
            Reached::NoWebSockets => {
                let mut http11 = settings.clone();
                http11.http2 = Http2::Off;
                return Ok(Transport::Socket(open::<D>(&http11).await?));
            }
        };
        match websocket::<D>(settings, &pooled).await {
            Err(Stream::Refused(_)) if !retried => retried = true,
            Err(Stream::Refused(e)) => return Err(e),
            Err(Stream::Failed(e)) => return Err(e),
            Ok((stream, response)) => return Ok(Transport::Http2(stream, response)),
        }
        if let Some(key) = key::<D>(settings) {
            pool::retire(&key, &pooled.shared);
        }
    }
}

impl<D: Dial> std::fmt::Debug for Transport<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Socket(_) => f.write_str("Transport::Socket"),
            Self::Http2(stream, _) => f.debug_tuple("Transport::Http2").field(stream).finish(),
        }
    }
}

fn key<D: 'static>(settings: &ConnectSettings) -> Option<Key> {
    Some((TypeId::of::<D>(), settings.http2_origin()?))
}

/// Where [`connection`] got.
enum Reached<D: Dial> {
    Http2(Pooled),
    /// ALPN chose HTTP/1.1 (with [`Http2::Prefer`]): this TLS connection is the client's.
    Http11(Opened<D>),
    /// The server speaks HTTP/2 but not WebSockets over it (with [`Http2::Prefer`]).
    NoWebSockets,
}

/// The shared HTTP/2 connection for `settings`, opening it if there is none.
async fn connection<D: Http2Runtime>(settings: &ConnectSettings) -> Result<Reached<D>, Error> {
    let key = key::<D>(settings);
    let opener = match &key {
        Some(key) => match pool::claim(key.clone()).await {
            Claim::Open(pooled) => return Ok(Reached::Http2(pooled)),
            Claim::NoWebSockets => return Ok(Reached::NoWebSockets),
            Claim::Opener(opener) => Some(opener),
        },
        None => None,
    };
    let opened = open::<D>(settings).await?;
    if let Opened::Tls(tls) = &opened {
        match D::alpn(tls) {
            Some(b"h2") => {}
            chosen if settings.http2 == Http2::Require => {
                return Err(Error::Http2(Http2Error::NotNegotiated {
                    alpn: chosen.map(|p| String::from_utf8_lossy(p).into_owned()),
                }))
            }
            _ => {
                // The clients waiting for this origin's connection go to HTTP/1.1 too,
                // each on its own, rather than ask again one after the other.
                if let Some(opener) = opener {
                    opener.no_websockets();
                }
                return Ok(Reached::Http11(opened));
            }
        }
    }
    handshake::<D>(opened, key.clone(), opener).await
}

/// HTTP/2's handshake over `opened`, the connection's task started, and the server's
/// settings read: does it allow WebSockets?
async fn handshake<D: Http2Runtime>(
    opened: Opened<D>,
    key: Option<Key>,
    opener: Option<Opener>,
) -> Result<Reached<D>, Error> {
    tracing::debug!(target: "wsx", shared = key.is_some(), "opening an HTTP/2 connection");
    let shared = Shared::new();
    let io = watch::GoAwayWatch::new(D::io(opened), shared.clone(), key.clone());
    let (send, mut connection) = h2::client::Builder::new()
        .initial_window_size(STREAM_WINDOW)
        // Streams are bounded by their own windows: a connection window as large as HTTP/2
        // allows keeps a client that reads slowly from holding up the others (and keeps h2's
        // allowance for small unread DATA frames, half this window, out of reach of a flood
        // of small messages).
        .initial_connection_window_size(CONNECTION_WINDOW)
        .max_frame_size(MAX_FRAME)
        .handshake::<_, Bytes>(io)
        .await
        .map_err(h2_error)?;
    let ping = connection.ping_pong();
    D::spawn(run_connection::<D>(connection, shared.clone(), key.clone()));
    let send = send.ready().await.map_err(h2_error)?;
    if !send.is_extended_connect_protocol_enabled() {
        // The server's SETTINGS open its side of the connection, so they come before its
        // answer to a PING: after one round trip, the setting is known.
        if let Some(mut ping) = ping {
            ping.ping(h2::Ping::opaque()).await.map_err(h2_error)?;
        }
    }
    if !send.is_extended_connect_protocol_enabled() {
        if let Some(key) = &key {
            pool::retire(key, &shared);
        }
        if let Some(opener) = opener {
            opener.no_websockets();
        }
        return Ok(Reached::NoWebSockets);
    }
    let pooled = Pooled { send, shared };
    if let Some(opener) = opener {
        opener.opened(pooled.clone());
    }
    Ok(Reached::Http2(pooled))
}

/// How opening a WebSocket stream failed.
enum Stream {
    /// The connection takes no new stream (GOAWAY, closed): another connection may.
    Refused(Error),
    Failed(Error),
}

/// The extended CONNECT on a new stream of `pooled`, within the handshake timeout.
async fn websocket<D: Http2Runtime>(
    settings: &ConnectSettings,
    pooled: &Pooled,
) -> Result<(Http2Stream, Box<Response>), Stream> {
    let refused = |e: h2::Error| Stream::Refused(h2_error(e));
    let connect = ExtendedConnect::new(&settings.request, settings.config.deflate.as_ref())
        .map_err(|e| Stream::Failed(e.into()))?;
    let mut send: SendRequest<Bytes> = pooled.send.clone().ready().await.map_err(refused)?;
    let mut request = http::Request::builder()
        .method(http::Method::CONNECT)
        .uri(format!(
            "{}://{}{}",
            connect.scheme(),
            connect.authority(),
            connect.path()
        ))
        .extension(h2::ext::Protocol::from_static("websocket"));
    for (name, value) in connect.headers() {
        request = request.header(name, value);
    }
    let request = request
        .body(())
        .map_err(|e| Stream::Failed(RequestError::InvalidHeaderValue(e.to_string()).into()))?;
    let lease = Lease::new(&pooled.shared);
    let (response, stream) = send.send_request(request, false).map_err(refused)?;
    let timeout = D::sleep_until(Instant::now() + settings.config.handshake_timeout);
    let response = match or_timeout(response, timeout).await {
        None => return Err(Stream::Failed(HandshakeError::TimedOut.into())),
        Some(Err(e)) if e.reason() == Some(h2::Reason::REFUSED_STREAM) || e.is_go_away() => return Err(refused(e)),
        Some(Err(e)) => return Err(Stream::Failed(h2_error(e))),
        Some(Ok(response)) => response,
    };
    let (head, mut body) = response.into_parts();
    let headers = head.headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes()));
    match connect.accept(head.status.as_u16(), headers) {
        Ok(accepted) => Ok((Http2Stream::new(stream, body, lease), Box::new(accepted))),
        Err(HandshakeError::Rejected(mut rejected)) => {
            // HTTP/2 has no reason phrase: the status's standard one, as HTTP/1.1 servers send.
            rejected.reason = head.status.canonical_reason().unwrap_or_default().to_owned();
            let deadline = D::sleep_until(Instant::now() + REJECTED_BODY_WAIT);
            rejected.body = or_timeout(body_start(&mut body), deadline).await.unwrap_or_default();
            Err(Stream::Failed(HandshakeError::Rejected(rejected).into()))
        }
        Err(e) => Err(Stream::Failed(e.into())),
    }
}

/// How much of a refusal's body is kept, as for HTTP/1.1.
const REJECTED_BODY_LIMIT: usize = 1024;
/// How long a refusal's body may take to come after its head.
const REJECTED_BODY_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// The start of a response's body: up to [`REJECTED_BODY_LIMIT`] bytes, or all of it.
async fn body_start(body: &mut h2::RecvStream) -> Bytes {
    let mut start = bytes::BytesMut::new();
    while start.len() < REJECTED_BODY_LIMIT {
        match body.data().await {
            Some(Ok(data)) => {
                let _ = body.flow_control().release_capacity(data.len());
                start.extend_from_slice(&data[..data.len().min(REJECTED_BODY_LIMIT - start.len())]);
            }
            _ => break,
        }
    }
    start.freeze()
}

/// An HTTP/2 connection's task: runs `h2`'s connection until it ends, and closes a shared
/// one once it has had no stream for [`pool::IDLE`].
async fn run_connection<D: Http2Runtime>(
    mut connection: Connection<watch::GoAwayWatch<D::Io>, Bytes>,
    shared: std::sync::Arc<Shared>,
    key: Option<Key>,
) {
    /// Whatever ends the task (the runtime dropping it too), no new stream uses it.
    struct Retire(Option<Key>, std::sync::Arc<Shared>);
    impl Drop for Retire {
        fn drop(&mut self) {
            match &self.0 {
                Some(key) => pool::retire(key, &self.1),
                None => pool::close(&self.1),
            }
        }
    }
    let _retire = Retire(key.clone(), shared.clone());
    let mut idle: Option<Pin<Box<D::Sleep>>> = None;
    let mut linger: Option<(Instant, Pin<Box<D::Sleep>>)> = None;
    poll_fn(|cx| loop {
        shared.register_task(cx.waker());
        if let Poll::Ready(result) = Pin::new(&mut connection).poll(cx) {
            if let Err(e) = result {
                tracing::debug!(target: "wsx", error = %e, "HTTP/2 connection ended");
            }
            return Poll::Ready(());
        }
        if let Some(at) = shared.poll_lingering(cx) {
            if linger.as_ref().is_none_or(|(armed, _)| *armed != at) {
                linger = Some((at, Box::pin(D::sleep_until(at))));
            }
            if let Some((_, sleep)) = &mut linger {
                if sleep.as_mut().poll(cx).is_ready() {
                    linger = None;
                    continue;
                }
            }
        } else {
            linger = None;
        }
        let Some(key) = key.as_ref().filter(|_| shared.streams() == 0 && !shared.is_closed()) else {
            idle = None;
            return Poll::Pending;
        };
        let sleep = idle.get_or_insert_with(|| Box::pin(D::sleep_until(Instant::now() + pool::IDLE)));
        if sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        // Idle: out of the pool, so its last handle goes and `h2` ends the connection.
        pool::retire(key, &shared);
        idle = None;
    })
    .await;
}

/// An `h2` error before the WebSocket is open.
fn h2_error(e: h2::Error) -> Error {
    stream::io_error(e).into()
}
