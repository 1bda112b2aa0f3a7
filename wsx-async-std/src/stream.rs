//! Opening the socket: TCP with a timeout, then TLS for `wss://`. Only runtime-neutral pieces:
//! async-io's `Async<TcpStream>` and `Timer`, futures-rustls, and `blocking`'s thread pool for
//! name resolution (which the standard library only offers as a blocking call).

use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::pin::Pin;
use std::task::{Context, Poll};

use async_io::{Async, Timer};
use futures_lite::io::{AsyncRead, AsyncWrite};
use futures_lite::FutureExt;
use futures_rustls::client::TlsStream;
use wsx_proto::session::dial::Destination;
use wsx_proto::{proxy::Proxy, proxy::ProxyHandshake, proxy::ProxyStep, ConnectSettings, Error, WsUrl};

use crate::task::AsyncIoTimer;

/// A plain or TLS stream.
pub(crate) enum Stream {
    Plain(Async<TcpStream>),
    Tls(Box<TlsStream<Async<TcpStream>>>),
}

/// Connects and, for `wss://`, runs the TLS handshake, all within the connect timeout.
pub(crate) async fn connect(settings: &ConnectSettings) -> Result<Stream, Error> {
    let url = settings.url();
    let open = async {
        let (host, port, proxy) = settings.first_hop()?;
        let mut tcp = connect_tcp(settings.destination(&host, port)).await?;
        tcp.get_ref().set_nodelay(settings.tcp_nodelay)?;
        if let Some(proxy) = &proxy {
            tunnel(&mut tcp, proxy, url).await?;
        }
        if !url.is_secure() {
            return Ok(Stream::Plain(tcp));
        }
        let config = wsx_proto::tls::client_config(&settings.tls)?;
        let name = wsx_proto::tls::server_name(url.host())?;
        let tls = futures_rustls::TlsConnector::from(config).connect(name, tcp).await?;
        Ok(Stream::Tls(Box::new(tls)))
    };
    let timeout = async {
        Timer::after(settings.connect_timeout).await;
        Err(Error::ConnectTimeout)
    };
    open.or(timeout).await
}

/// Opens the tunnel through `proxy` to the URL's host (the connect timeout bounds it).
async fn tunnel(tcp: &mut Async<TcpStream>, proxy: &Proxy, url: &WsUrl) -> Result<(), Error> {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    let mut handshake = ProxyHandshake::new(proxy, url.host(), url.port());
    let mut buf = [0u8; 512];
    loop {
        match handshake.step()? {
            ProxyStep::Write(bytes) => tcp.write_all(&bytes).await?,
            ProxyStep::Read(n) => {
                let n = tcp.read(&mut buf[..n.min(512)]).await?;
                handshake.receive(&buf[..n])?;
            }
            ProxyStep::Done => return Ok(()),
        }
    }
}

/// Resolves (off the executor, unless the addresses are known) and races the addresses,
/// happy-eyeballs style.
async fn connect_tcp(destination: Destination) -> io::Result<Async<TcpStream>> {
    let addrs: Vec<SocketAddr> = match destination {
        Destination::Addresses(addrs) => addrs,
        Destination::Lookup(host, port) => {
            blocking::unblock(move || (host.as_str(), port).to_socket_addrs().map(Iterator::collect)).await?
        }
    };
    wsx_proto::session::dial::race(addrs, Async::<TcpStream>::connect, &mut AsyncIoTimer::new()).await
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_close(cx),
            Stream::Tls(s) => Pin::new(s).poll_close(cx),
        }
    }
}
