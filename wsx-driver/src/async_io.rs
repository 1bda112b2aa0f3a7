//! Opening and running transports with async-io, the reactor and timers every async-std and
//! smol executor shares (and any other, through [`Spawn`]): the calls of [`Dial`] and
//! [`Http2Runtime`] for `wsx-async-std`, and for `wsx-blocking`'s HTTP/2 connections.

use std::future::Future;
use std::io;
use std::marker::PhantomData;
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

use crate::{Dial, Http2Runtime, Opened};

/// A connection task (a client's, or an HTTP/2 connection's), boxed for [`Spawn::spawn`].
pub type ConnectionTask = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// What an executor marker does: run connection tasks in the background. Implement it for a
/// marker type of your own to use your own executor.
pub trait Spawn: 'static {
    /// Runs `task` to completion in the background. Detach it, don't drop it: a task dropped
    /// early ends its client as if its connection had failed.
    fn spawn(task: ConnectionTask) -> io::Result<()>;
}

/// A thread of its own per task (named `wsx-async-io`), polling it with async-io's
/// `block_on`: no executor at all.
#[derive(Debug)]
pub enum TaskThread {}

impl Spawn for TaskThread {
    fn spawn(task: ConnectionTask) -> io::Result<()> {
        std::thread::Builder::new()
            .name("wsx-async-io".into())
            .spawn(move || async_io::block_on(task))?;
        Ok(())
    }
}

/// async-io's calls for opening a transport, with `S` running HTTP/2 connections' tasks (its
/// own type, so HTTP/2 connections are shared among clients of one executor).
#[derive(Debug)]
pub struct AsyncIo<S>(PhantomData<fn() -> S>);

/// A socket opened by any [`AsyncIo`]: they differ only in how they spawn.
pub type AnyAsyncIo = AsyncIo<TaskThread>;

/// A socket of any [`AsyncIo`] as an [`AnyAsyncIo`]'s.
pub trait IntoAny {
    /// The same socket.
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
#[derive(Debug)]
pub struct TokioIo<S: Spawn>(Opened<AsyncIo<S>>);

impl<S: Spawn> tokio::io::AsyncRead for TokioIo<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut tokio::io::ReadBuf<'_>) -> Poll<io::Result<()>> {
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
#[derive(Debug)]
pub struct AsyncIoSleep(Timer);

impl Future for AsyncIoSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}
