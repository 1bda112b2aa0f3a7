//! The socket, opened with runtime-neutral calls only: async-io's `Async<TcpStream>` and
//! `Timer`, futures-rustls, and `blocking`'s thread pool for name resolution.

use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use async_io::{Async, Timer};
use futures_lite::io::{AsyncRead, AsyncWrite};
use futures_rustls::client::TlsStream;
use futures_rustls::rustls::pki_types::ServerName;
use futures_rustls::rustls::ClientConfig;
use std::marker::PhantomData;

use wsx_driver::{Connected, Dial, Http2Runtime, Http2Stream, Opened, Transport};

use crate::executor::Spawn;
use wsx_proto::{ConnectSettings, Error};

/// The transport: TCP, or TLS over it, or a stream of an HTTP/2 connection.
pub(crate) enum Stream {
    Socket(Opened<AnyAsyncIo>),
    /// Boxed: a plain connection then holds no room for it.
    Http2(Box<Http2Stream>),
}

/// Opens the transport: the plan is wsx-proto's, the calls async-io's; an HTTP/2 connection's
/// task runs on `S`.
pub(crate) async fn connect<S: Spawn>(settings: &ConnectSettings) -> Result<Connected<Stream>, Error> {
    Ok(match wsx_driver::connect::<AsyncIo<S>>(settings).await? {
        Transport::Socket(opened) => (Stream::Socket(opened.into_any()), None),
        Transport::Http2(stream, response) => (Stream::Http2(Box::new(stream)), Some(response)),
    })
}

/// async-io's calls for opening a transport, with `S` running HTTP/2 connections' tasks (its
/// own type, so HTTP/2 connections are shared among clients of one executor).
pub(crate) struct AsyncIo<S>(PhantomData<fn() -> S>);

/// A socket opened by any [`AsyncIo`]: they differ only in how they spawn.
pub(crate) type AnyAsyncIo = AsyncIo<crate::executor::OwnThread>;

trait IntoAny {
    fn into_any(self) -> Opened<AnyAsyncIo>;
}

impl<S: Spawn> IntoAny for Opened<AsyncIo<S>> {
    fn into_any(self) -> Opened<AnyAsyncIo> {
        match self {
            Opened::Plain(tcp) => Opened::Plain(tcp),
            Opened::Tls(tls) => Opened::Tls(tls),
        }
    }
}

impl<S: Spawn> Dial for AsyncIo<S> {
    type Tcp = Async<TcpStream>;
    /// Boxed: an idle plain connection's task then holds no room for TLS state.
    type Tls = Box<TlsStream<Async<TcpStream>>>;
    type Sleep = AsyncIoSleep;

    /// The standard library only resolves with a blocking call: on `blocking`'s threads.
    async fn lookup(host: String, port: u16) -> io::Result<Vec<SocketAddr>> {
        blocking::unblock(move || (host.as_str(), port).to_socket_addrs().map(Iterator::collect)).await
    }

    fn connect(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Tcp>> {
        Async::<TcpStream>::connect(addr)
    }

    fn set_nodelay(tcp: &Self::Tcp, nodelay: bool) -> io::Result<()> {
        tcp.get_ref().set_nodelay(nodelay)
    }

    fn poll_read(tcp: &mut Self::Tcp, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(tcp).poll_read(cx, buf)
    }

    fn poll_write(tcp: &mut Self::Tcp, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(tcp).poll_write(cx, buf)
    }

    async fn tls(config: Arc<ClientConfig>, name: ServerName<'static>, tcp: Self::Tcp) -> io::Result<Self::Tls> {
        Ok(Box::new(
            futures_rustls::TlsConnector::from(config).connect(name, tcp).await?,
        ))
    }

    fn sleep_until(deadline: Instant) -> AsyncIoSleep {
        AsyncIoSleep(Timer::at(deadline))
    }
}

impl<S: Spawn> Http2Runtime for AsyncIo<S> {
    type Io = TokioIo<S>;

    fn io(opened: Opened<Self>) -> TokioIo<S> {
        TokioIo(opened)
    }

    fn alpn(tls: &Self::Tls) -> Option<&[u8]> {
        tls.get_ref().1.alpn_protocol()
    }

    fn spawn(task: impl Future<Output = ()> + Send + 'static) {
        if let Err(e) = S::spawn(Box::pin(task)) {
            // The connection's task is gone with the connection: its streams fail.
            tracing::warn!(error = %e, "could not run an HTTP/2 connection's task");
        }
    }
}

/// An async-io socket in tokio's I/O traits, which `h2` reads and writes through.
pub(crate) struct TokioIo<S: Spawn>(Opened<AsyncIo<S>>);

impl<S: Spawn> tokio::io::AsyncRead for TokioIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let unfilled = buf.initialize_unfilled();
        let n = std::task::ready!(match &mut self.get_mut().0 {
            Opened::Plain(tcp) => Pin::new(tcp).poll_read(cx, unfilled),
            Opened::Tls(tls) => Pin::new(tls).poll_read(cx, unfilled),
        })?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<S: Spawn> tokio::io::AsyncWrite for TokioIo<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().0 {
            Opened::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Opened::Tls(tls) => Pin::new(tls).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().0 {
            Opened::Plain(tcp) => Pin::new(tcp).poll_write_vectored(cx, bufs),
            Opened::Tls(tls) => Pin::new(tls).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().0 {
            Opened::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            Opened::Tls(tls) => Pin::new(tls).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().0 {
            Opened::Plain(tcp) => Pin::new(tcp).poll_close(cx),
            Opened::Tls(tls) => Pin::new(tls).poll_close(cx),
        }
    }
}

/// async-io's timer as a future of `()`.
pub(crate) struct AsyncIoSleep(Timer);

impl Future for AsyncIoSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}
