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
use wsx_driver::{Dial, Opened};
use wsx_proto::{ConnectSettings, Error};

/// The transport: TCP, or TLS over it.
pub(crate) type Stream = Opened<AsyncIo>;

/// Opens the transport: the plan is wsx-proto's, the calls async-io's.
pub(crate) async fn connect(settings: &ConnectSettings) -> Result<Stream, Error> {
    wsx_driver::open::<AsyncIo>(settings).await
}

/// async-io's calls for opening a transport.
pub(crate) enum AsyncIo {}

impl Dial for AsyncIo {
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

/// async-io's timer as a future of `()`.
pub(crate) struct AsyncIoSleep(Timer);

impl Future for AsyncIoSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}
