//! The echo server's HTTP/2 side: h2c with prior knowledge (RFC 9113 §3.3) on the same port
//! as HTTP/1.1, told apart by HTTP/2's connection preface. Each extended CONNECT stream
//! (RFC 8441, `:protocol websocket`) is answered 200 and handed, as an [`H2Stream`] (the
//! stream's two halves as `AsyncRead` and `AsyncWrite`), to the same echo loop as an
//! HTTP/1.1 connection. hyperium's `h2` does the framing; its windows and frame sizes are set
//! so that the server never holds a client back.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use h2::{RecvStream, SendStream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The start of HTTP/2's connection preface, up to the end of its "header block": what the
/// HTTP/1.1 side has read when it finds `\r\n\r\n`.
pub const PREFACE_START: &[u8] = b"PRI * HTTP/2.0\r\n\r\n";

/// What a client may send a stream before it hears from the server, by default: more than a
/// whole many-connections run (200 KiB a stream), so no client ever waits for a
/// WINDOW_UPDATE.
pub const STREAM_WINDOW: u32 = 16 << 20;
/// The connection's window: HTTP/2's largest, so that 1,000 streams in flight never share it
/// out.
const CONNECTION_WINDOW: u32 = (1 << 31) - 1;
/// The largest DATA frame a client may send: a client's write of a full send buffer goes as
/// one frame, and a 1 MiB message as four.
const MAX_FRAME: u32 = 256 << 10;
/// What a stream may have buffered in `h2`, not yet written to the socket: one echo of a full
/// read and more.
const MAX_SEND_BUFFER: usize = 1 << 20;
/// Streams at once: far more than the busiest workload opens.
const MAX_STREAMS: u32 = 1 << 20;

/// Serves one HTTP/2 connection until the client ends it: every WebSocket stream is answered
/// 200 and run by `websocket` as a task of its own; any other request is answered 400.
/// Permessage-deflate is accepted when offered, without parameters, as on HTTP/1.1. A client
/// may send each stream `stream_window` bytes ahead of the server's reading.
pub async fn serve<T, F, Fut>(io: T, stream_window: u32, websocket: F) -> Result<(), h2::Error>
where
    T: AsyncRead + AsyncWrite + Unpin,
    F: Fn(H2Stream) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut connection = h2::server::Builder::new()
        .enable_connect_protocol()
        .max_concurrent_streams(MAX_STREAMS)
        .initial_window_size(stream_window)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .max_frame_size(MAX_FRAME)
        .max_send_buffer_size(MAX_SEND_BUFFER)
        .handshake::<_, Bytes>(io)
        .await?;
    // Accepting drives the whole connection: every stream's frames go through this loop.
    while let Some(accepted) = connection.accept().await {
        let (request, mut respond) = accepted?;
        let is_websocket = request.method() == http::Method::CONNECT
            && request
                .extensions()
                .get::<h2::ext::Protocol>()
                .is_some_and(|p| p.as_str() == "websocket");
        if !is_websocket {
            let refusal = http::Response::builder()
                .status(400)
                .body(())
                .expect("a valid response");
            let _ = respond.send_response(refusal, true);
            continue;
        }
        let offers_deflate = request
            .headers()
            .get_all("sec-websocket-extensions")
            .iter()
            .any(|v| v.to_str().is_ok_and(|v| v.contains("permessage-deflate")));
        let mut response = http::Response::builder().status(200);
        if offers_deflate {
            response = response.header("sec-websocket-extensions", "permessage-deflate");
        }
        let response = response.body(()).expect("a valid response");
        // A stream the client reset meanwhile has nothing to serve.
        if let Ok(send) = respond.send_response(response, false) {
            tokio::spawn(websocket(H2Stream::new(send, request.into_body())));
        }
    }
    Ok(())
}

/// A WebSocket's HTTP/2 stream as a byte stream. Reads give the client's window back as the
/// bytes are read; writes take what the stream's send capacity allows (one copy into a DATA
/// frame). Shutting down sends END_STREAM, HTTP/2's FIN.
#[derive(Debug)]
pub struct H2Stream {
    send: SendStream<Bytes>,
    recv: RecvStream,
    /// Received and not yet read: the rest of a DATA frame larger than the reader's buffer.
    pending: Bytes,
    /// END_STREAM sent.
    finished: bool,
}

impl H2Stream {
    /// The stream of `send` and `recv`, the halves of one request.
    pub fn new(send: SendStream<Bytes>, recv: RecvStream) -> Self {
        Self {
            send,
            recv,
            pending: Bytes::new(),
            finished: false,
        }
    }

    /// Ends the stream: END_STREAM if not sent yet, then what the client still sends is
    /// read and dropped until its END_STREAM, so that the stream closes from both sides
    /// (dropped while the client's side is open, `h2` would reset it).
    pub async fn finish(mut self) {
        self.end_stream();
        while let Some(Ok(data)) = self.recv.data().await {
            let _ = self.recv.flow_control().release_capacity(data.len());
        }
    }

    fn end_stream(&mut self) {
        if !std::mem::replace(&mut self.finished, true) {
            // A stream the client reset has nothing to end.
            let _ = self.send.send_data(Bytes::new(), true);
        }
    }
}

impl AsyncRead for H2Stream {
    /// As many received DATA frames as fit, so that one read takes a burst of frames.
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        loop {
            if !this.pending.is_empty() {
                let n = this.pending.len().min(buf.remaining());
                buf.put_slice(&this.pending[..n]);
                this.pending.advance(n);
                // The bytes are the reader's now: the client may send as many more.
                let _ = this.recv.flow_control().release_capacity(n);
                if buf.remaining() == 0 {
                    return Poll::Ready(Ok(()));
                }
            }
            let got_some = buf.filled().len() > before;
            match this.recv.poll_data(cx) {
                Poll::Ready(Some(Ok(data))) => this.pending = data,
                // The error comes back on the next read.
                Poll::Ready(Some(Err(_))) if got_some => return Poll::Ready(Ok(())),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(io_error(e))),
                // END_STREAM: nothing more, as after a TCP FIN.
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending if got_some => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl AsyncWrite for H2Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        // The total asked for, not an addition: capacity already assigned counts.
        this.send.reserve_capacity(buf.len());
        loop {
            let n = this.send.capacity().min(buf.len());
            if n > 0 {
                this.send
                    .send_data(Bytes::copy_from_slice(&buf[..n]), false)
                    .map_err(io_error)?;
                return Poll::Ready(Ok(n));
            }
            match ready!(this.send.poll_capacity(cx)) {
                Some(Ok(_)) => {}
                Some(Err(e)) => return Poll::Ready(Err(io_error(e))),
                None => return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
            }
        }
    }

    /// The connection's task writes the frames: nothing to flush here.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().end_stream();
        Poll::Ready(Ok(()))
    }
}

fn io_error(e: h2::Error) -> io::Error {
    if e.is_io() {
        return e.into_io().unwrap_or_else(|| io::ErrorKind::Other.into());
    }
    io::Error::other(e)
}

/// A socket whose first bytes were already read (to tell HTTP/2 from HTTP/1.1): reads give
/// them back first. Writes go straight to the socket, vectored (`h2` writes a DATA frame's
/// header and payload in one `writev`).
#[derive(Debug)]
pub struct Rewound<T> {
    read: Bytes,
    inner: T,
}

impl<T> Rewound<T> {
    /// `inner`, its bytes `read` given back first.
    pub fn new(read: Bytes, inner: T) -> Self {
        Self { read, inner }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Rewound<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.read.is_empty() {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let n = this.read.len().min(buf.remaining());
        buf.put_slice(&this.read[..n]);
        this.read.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Rewound<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::frames::{masked_frame, put_header, Echoer, OP_BINARY};

    /// The echo loop in small: what a stream brings, unmasked back, then the stream ended.
    async fn echo(mut stream: H2Stream) {
        let (mut echo, mut buf, mut out) = (Echoer::default(), vec![0; 4096], Vec::new());
        while let Ok(n @ 1..) = stream.read(&mut buf).await {
            echo.feed(&buf[..n], &mut out);
            stream.write_all(&out).await.unwrap();
            out.clear();
        }
        stream.finish().await;
    }

    /// An h2 client of `serve` over an in-memory pipe, once the server's SETTINGS are known.
    async fn client(stream_window: u32) -> h2::client::SendRequest<Bytes> {
        let (client_io, server_io) = tokio::io::duplex(64 << 10);
        tokio::spawn(serve(server_io, stream_window, echo));
        let (send, mut connection) = h2::client::handshake(client_io).await.unwrap();
        let mut ping = connection.ping_pong().unwrap();
        tokio::spawn(connection);
        // The server's SETTINGS come before its answer to a PING.
        ping.ping(h2::Ping::opaque()).await.unwrap();
        send.ready().await.unwrap()
    }

    fn request(method: http::Method, protocol: Option<&'static str>) -> http::Request<()> {
        let mut request = http::Request::builder().method(method).uri("http://127.0.0.1/");
        if let Some(p) = protocol {
            request = request.extension(h2::ext::Protocol::from_static(p));
        }
        request.body(()).unwrap()
    }

    #[tokio::test]
    async fn a_websocket_stream_is_echoed_beyond_both_windows() {
        // The server's window (HTTP/2's default) and the client's (the same) are both smaller
        // than what goes through: the adapter must give the window back as it reads, and write
        // within the client's as the client reads.
        let mut send = client(65_535).await;
        assert!(send.is_extended_connect_protocol_enabled());
        let (response, mut body) = send
            .send_request(request(http::Method::CONNECT, Some("websocket")), false)
            .unwrap();
        let payload: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        let (mut wire, mut expected) = (Vec::new(), Vec::new());
        for _ in 0..300 {
            wire.extend(masked_frame(OP_BINARY, &payload, [1, 2, 3, 4]));
            put_header(&mut expected, OP_BINARY, payload.len(), None);
            expected.extend_from_slice(&payload);
        }
        body.send_data(Bytes::from(wire), true).unwrap();
        let response = response.await.unwrap();
        assert_eq!(response.status(), 200);
        let mut echoed = Vec::new();
        let mut recv = response.into_body();
        // Until the server's END_STREAM, which follows the client's.
        while let Some(data) = recv.data().await {
            let data = data.unwrap();
            recv.flow_control().release_capacity(data.len()).unwrap();
            echoed.extend_from_slice(&data);
        }
        assert_eq!(echoed.len(), expected.len());
        assert!(echoed == expected, "the echo differs");
    }

    #[tokio::test]
    async fn other_requests_are_refused() {
        let mut send = client(STREAM_WINDOW).await;
        for (method, protocol) in [(http::Method::GET, None), (http::Method::CONNECT, Some("other"))] {
            let (response, _) = send.send_request(request(method, protocol), true).unwrap();
            assert_eq!(response.await.unwrap().status(), 400);
        }
    }

    #[tokio::test]
    async fn rewound_bytes_come_first() {
        let (mut a, b) = tokio::io::duplex(64);
        a.write_all(b"def").await.unwrap();
        drop(a);
        let mut all = Vec::new();
        Rewound::new(Bytes::from_static(b"abc"), b)
            .read_to_end(&mut all)
            .await
            .unwrap();
        assert_eq!(all, b"abcdef");
    }
}
