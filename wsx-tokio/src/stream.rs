//! Opening the socket: TCP with a timeout, then TLS for `wss://`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use wsx_proto::session::dial::Destination;
use wsx_proto::{proxy::Proxy, proxy::ProxyHandshake, proxy::ProxyStep, ConnectSettings, Error, WsUrl};

use crate::task::TokioTimer;

/// A plain or TLS stream.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// Connects and, for `wss://`, runs the TLS handshake, all within the connect timeout.
pub(crate) async fn connect(settings: &ConnectSettings) -> Result<Stream, Error> {
    let url = settings.url();
    let open = async {
        let (host, port, proxy) = settings.first_hop()?;
        let mut tcp = connect_tcp(settings.destination(&host, port)).await?;
        tcp.set_nodelay(settings.tcp_nodelay)?;
        if let Some(proxy) = &proxy {
            tunnel(&mut tcp, proxy, url).await?;
        }
        if !url.is_secure() {
            return Ok(Stream::Plain(tcp));
        }
        let config = wsx_proto::tls::client_config(&settings.tls)?;
        let name = wsx_proto::tls::server_name(url.host())?;
        let tls = tokio_rustls::TlsConnector::from(config).connect(name, tcp).await?;
        Ok(Stream::Tls(Box::new(tls)))
    };
    tokio::time::timeout(settings.connect_timeout, open)
        .await
        .map_err(|_| Error::ConnectTimeout)?
}

/// Resolves (unless the addresses are known) and races the addresses, happy-eyeballs style.
async fn connect_tcp(destination: Destination) -> io::Result<TcpStream> {
    let addrs = match destination {
        Destination::Addresses(addrs) => addrs,
        Destination::Lookup(host, port) => tokio::net::lookup_host((host.as_str(), port)).await?.collect(),
    };
    wsx_proto::session::dial::race(addrs, TcpStream::connect, &mut TokioTimer(None)).await
}

/// Opens the tunnel through `proxy` to the URL's host (the connect timeout bounds it).
async fn tunnel(tcp: &mut TcpStream, proxy: &Proxy, url: &WsUrl) -> Result<(), Error> {
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

/// Free space made in the read buffer before each read (a busy connection keeps it; an idle one
/// frees it).
const READ_RESERVE: usize = 64 * 1024;

impl Stream {
    /// Reads into `buf`, reserving room for at least `wanted` bytes (the rest of a large frame)
    /// or a 16 KiB chunk. A plain socket with no buffer waits for readiness before allocating
    /// one, and drops an empty buffer when there is nothing to read, so an idle connection holds
    /// no read buffer while a busy one keeps and reuses its own.
    pub(crate) fn poll_read_into(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut bytes::BytesMut,
        wanted: usize,
    ) -> Poll<io::Result<usize>> {
        if let Stream::Plain(tcp) = self {
            if buf.capacity() == 0 {
                std::task::ready!(tcp.poll_read_ready(cx))?;
            }
        }
        let room = wanted.max(READ_RESERVE);
        if buf.capacity() - buf.len() < room {
            buf.reserve(room);
        }
        let result = tokio_util::io::poll_read_buf(Pin::new(&mut *self), cx, buf);
        if result.is_pending() && buf.is_empty() && matches!(self, Stream::Plain(_)) {
            *buf = bytes::BytesMut::new();
        }
        result
    }
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
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

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
