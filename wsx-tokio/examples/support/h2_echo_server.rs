//! A local RFC 8441 echo server for the HTTP/2 example: hyperium's h2 accepts the extended
//! CONNECT, tokio-tungstenite (an independent implementation) speaks WebSocket on the stream.
//! h2c with prior knowledge, so the example needs no certificates.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use futures_util::{SinkExt, StreamExt};
use h2::{RecvStream, SendStream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;

/// Starts the server on a free loopback port: its `ws://` URL, and how many TCP connections it
/// has accepted so far.
pub async fn start() -> io::Result<(String, Arc<AtomicUsize>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("ws://{}/", listener.local_addr()?);
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(serve(tcp));
        }
    });
    Ok((url, connections))
}

/// Answers every extended CONNECT with 200 and echoes on its stream.
async fn serve(tcp: tokio::net::TcpStream) {
    let mut builder = h2::server::Builder::new();
    builder.enable_connect_protocol();
    let Ok(mut connection) = builder.handshake::<_, Bytes>(tcp).await else {
        return;
    };
    while let Some(Ok((request, mut respond))) = connection.accept().await {
        let is_websocket = request
            .extensions()
            .get::<h2::ext::Protocol>()
            .is_some_and(|p| p.as_str() == "websocket");
        let status = if is_websocket { 200 } else { 400 };
        let response = http::Response::builder().status(status).body(()).expect("a response");
        let Ok(send) = respond.send_response(response, !is_websocket) else {
            continue;
        };
        if is_websocket {
            let stream = H2Io {
                send,
                recv: request.into_body(),
                received: Bytes::new(),
            };
            tokio::spawn(echo(WebSocketStream::from_raw_socket(stream, Role::Server, None).await));
        }
    }
}

async fn echo(mut ws: WebSocketStream<H2Io>) {
    while let Some(Ok(msg)) = ws.next().await {
        if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
            break;
        }
    }
    let _ = ws.flush().await;
}

/// An HTTP/2 stream as a byte stream, within its flow control.
struct H2Io {
    send: SendStream<Bytes>,
    recv: RecvStream,
    received: Bytes,
}

impl AsyncRead for H2Io {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.received.is_empty() {
            match ready!(self.recv.poll_data(cx)) {
                Some(Ok(data)) => self.received = data,
                Some(Err(e)) => return Poll::Ready(Err(io::Error::other(e))),
                None => return Poll::Ready(Ok(())),
            }
        }
        let n = self.received.len().min(buf.remaining());
        buf.put_slice(&self.received[..n]);
        self.received.advance(n);
        let _ = self.recv.flow_control().release_capacity(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for H2Io {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        while self.send.capacity() == 0 {
            self.send.reserve_capacity(buf.len());
            match ready!(self.send.poll_capacity(cx)) {
                Some(Ok(_)) => {}
                _ => return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
            }
        }
        let n = self.send.capacity().min(buf.len());
        self.send
            .send_data(Bytes::copy_from_slice(&buf[..n]), false)
            .map_err(io::Error::other)?;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let _ = self.send.send_data(Bytes::new(), true);
        Poll::Ready(Ok(()))
    }
}
