//! The socket: opened with tokio's calls (TCP, a proxy's tunnel, TLS for `wss://`), then read
//! and written by the connection task.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{BufMut, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::ClientConfig;
use wsx_driver::{Dial, Opened, PollTransport};
use wsx_proto::{ConnectSettings, Error};

/// The transport: TCP, or TLS over it.
pub(crate) struct Stream(Opened<Tokio>);

/// Opens the transport: the plan is wsx-proto's, the calls tokio's.
pub(crate) async fn connect(settings: &ConnectSettings) -> Result<Stream, Error> {
    Ok(Stream(wsx_driver::open::<Tokio>(settings).await?))
}

/// tokio's calls for opening a transport.
pub(crate) enum Tokio {}

impl Dial for Tokio {
    type Tcp = TcpStream;
    /// Boxed: an idle plain connection's task then holds no room for TLS state.
    type Tls = Box<TlsStream<TcpStream>>;
    type Sleep = tokio::time::Sleep;

    async fn lookup(host: String, port: u16) -> io::Result<Vec<SocketAddr>> {
        Ok(tokio::net::lookup_host((host.as_str(), port)).await?.collect())
    }

    fn connect(addr: SocketAddr) -> impl Future<Output = io::Result<TcpStream>> {
        TcpStream::connect(addr)
    }

    fn set_nodelay(tcp: &TcpStream, nodelay: bool) -> io::Result<()> {
        tcp.set_nodelay(nodelay)
    }

    fn poll_read(tcp: &mut TcpStream, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut buf = ReadBuf::new(buf);
        std::task::ready!(Pin::new(tcp).poll_read(cx, &mut buf))?;
        Poll::Ready(Ok(buf.filled().len()))
    }

    fn poll_write(tcp: &mut TcpStream, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(tcp).poll_write(cx, buf)
    }

    async fn tls(config: Arc<ClientConfig>, name: ServerName<'static>, tcp: TcpStream) -> io::Result<Self::Tls> {
        Ok(Box::new(
            tokio_rustls::TlsConnector::from(config).connect(name, tcp).await?,
        ))
    }

    fn sleep_until(deadline: Instant) -> tokio::time::Sleep {
        tokio::time::sleep_until(deadline.into())
    }
}

/// Both kinds of stream, for one call.
macro_rules! either {
    ($stream:expr, $s:ident => $call:expr) => {
        match $stream {
            Opened::Plain($s) => $call,
            Opened::Tls($s) => $call,
        }
    };
}

impl PollTransport for Stream {
    /// Reads at most `room` bytes into `buf`. A plain socket with no buffer waits for
    /// readiness before taking one, so an idle connection holds no read buffer (the session
    /// gives an empty one back when a read finds nothing).
    fn poll_read_into(&mut self, cx: &mut Context<'_>, buf: &mut BytesMut, room: usize) -> Poll<io::Result<usize>> {
        if let Opened::Plain(tcp) = &self.0 {
            if buf.capacity() == 0 {
                std::task::ready!(tcp.poll_read_ready(cx))?;
            }
        }
        wsx_proto::protocol::buffer::reserve(buf, room);
        either!(&mut self.0, s => tokio_util::io::poll_read_buf(Pin::new(s), cx, &mut buf.limit(room)))
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        either!(&mut self.0, s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        either!(&mut self.0, s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        either!(&mut self.0, s => Pin::new(s).poll_shutdown(cx))
    }
}
