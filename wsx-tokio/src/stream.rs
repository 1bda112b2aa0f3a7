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
use wsx_driver::{Connected, Dial, Http2Runtime, Http2Stream, Opened, PollTransport, Transport};
use wsx_proto::{ConnectSettings, Error};

/// The transport: TCP, or TLS over it, or a stream of an HTTP/2 connection.
pub(crate) enum Stream {
    Socket(Opened<Tokio>),
    /// Boxed: a plain connection then holds no room for it.
    Http2(Box<Http2Stream>),
}

/// Opens the transport: the plan is wsx-proto's, the calls tokio's.
pub(crate) async fn connect(settings: &ConnectSettings) -> Result<Connected<Stream>, Error> {
    Ok(match wsx_driver::connect::<Tokio>(settings).await? {
        Transport::Socket(opened) => (Stream::Socket(opened), None),
        Transport::Http2(stream, response) => (Stream::Http2(Box::new(stream)), Some(response)),
    })
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

impl Http2Runtime for Tokio {
    type Io = Opened<Tokio>;

    fn io(opened: Opened<Tokio>) -> Opened<Tokio> {
        opened
    }

    fn alpn(tls: &Self::Tls) -> Option<&[u8]> {
        tls.get_ref().1.alpn_protocol()
    }

    fn spawn(task: impl Future<Output = ()> + Send + 'static) {
        tokio::spawn(task);
    }
}

/// Both kinds of socket, for one call.
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
        let socket = match self {
            Self::Socket(socket) => socket,
            Self::Http2(stream) => return stream.poll_read_into(cx, buf, room),
        };
        if let Opened::Plain(tcp) = socket {
            if buf.capacity() == 0 {
                std::task::ready!(tcp.poll_read_ready(cx))?;
            }
        }
        wsx_proto::protocol::buffer::reserve(buf, room);
        either!(socket, s => tokio_util::io::poll_read_buf(Pin::new(s), cx, &mut buf.limit(room)))
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self {
            Self::Socket(socket) => either!(socket, s => Pin::new(s).poll_write(cx, buf)),
            Self::Http2(stream) => stream.poll_write(cx, buf),
        }
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Self::Socket(socket) => either!(socket, s => Pin::new(s).poll_flush(cx)),
            Self::Http2(stream) => stream.poll_flush(cx),
        }
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Self::Socket(socket) => either!(socket, s => Pin::new(s).poll_shutdown(cx)),
            Self::Http2(stream) => stream.poll_shutdown(cx),
        }
    }
}
