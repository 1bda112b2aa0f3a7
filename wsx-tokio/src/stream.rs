//! Opening the socket: TCP with a timeout, then TLS for `wss://`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use wsx_proto::{ConnectSettings, Error};

/// A plain or TLS stream.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// Connects and, for `wss://`, runs the TLS handshake, all within the connect timeout.
pub(crate) async fn connect(settings: &ConnectSettings) -> Result<Stream, Error> {
    let url = settings.url();
    let open = async {
        let tcp = TcpStream::connect((url.host(), url.port())).await?;
        tcp.set_nodelay(settings.tcp_nodelay)?;
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

/// Free space made in the read buffer before each read.
const READ_RESERVE: usize = 16 * 1024;

impl Stream {
    /// Reads into `buf`. A plain socket with an empty buffer waits for readiness first and
    /// allocates only then, so an idle connection holds no read buffer.
    pub(crate) fn poll_read_into(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut bytes::BytesMut,
    ) -> Poll<io::Result<usize>> {
        match self {
            Stream::Plain(tcp) if buf.is_empty() => loop {
                std::task::ready!(tcp.poll_read_ready(cx))?;
                buf.reserve(READ_RESERVE);
                match tcp.try_read_buf(buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        *buf = bytes::BytesMut::new();
                        continue;
                    }
                    result => return Poll::Ready(result),
                }
            },
            _ => {
                if buf.capacity() - buf.len() < READ_RESERVE {
                    buf.reserve(READ_RESERVE);
                }
                tokio_util::io::poll_read_buf(Pin::new(self), cx, buf)
            }
        }
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
