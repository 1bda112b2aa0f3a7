//! Opening a transport on an async runtime: [`Opening`]'s steps, each made with the runtime's
//! own calls ([`Dial`]), within the connect timeout. The plan (lookup, the happy-eyeballs race,
//! the proxy tunnel, TLS) is wsx-proto's; an async adapter only says how its runtime resolves,
//! connects, reads, writes and runs TLS.

use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use wsx_proto::session::{OpenStep, Opening};
use wsx_proto::{ConnectSettings, Error};

use crate::wait::or_timeout;

/// The system calls an async runtime makes to open a transport.
pub trait Dial {
    /// A connected TCP socket.
    type Tcp: Unpin;
    /// A TLS stream over [`Tcp`](Self::Tcp).
    type Tls;
    /// The runtime's sleep.
    type Sleep: Future<Output = ()>;

    /// The addresses of `host` (the system resolver, off the executor if it blocks).
    fn lookup(host: String, port: u16) -> impl Future<Output = io::Result<Vec<SocketAddr>>>;
    /// Connects to `addr`.
    fn connect(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Tcp>>;
    /// Sets `TCP_NODELAY`.
    fn set_nodelay(tcp: &Self::Tcp, nodelay: bool) -> io::Result<()>;
    /// Reads into `buf` (for the proxy's answer).
    fn poll_read(tcp: &mut Self::Tcp, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;
    /// Writes a prefix of `buf` (for the proxy's request).
    fn poll_write(tcp: &mut Self::Tcp, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;
    /// Runs the TLS handshake over `tcp`.
    #[allow(clippy::type_complexity)]
    fn tls(
        config: std::sync::Arc<rustls::ClientConfig>,
        name: rustls::pki_types::ServerName<'static>,
        tcp: Self::Tcp,
    ) -> impl Future<Output = io::Result<Self::Tls>>;
    /// Sleeps until `deadline`.
    fn sleep_until(deadline: Instant) -> Self::Sleep;
}

/// An open transport: the socket itself, or TLS over it.
#[derive(Debug)]
pub enum Opened<D: Dial> {
    /// `ws://`.
    Plain(D::Tcp),
    /// `wss://`.
    Tls(D::Tls),
}

/// Opens a transport for `settings` with `D`'s calls, within the connect timeout.
pub async fn open<D: Dial>(settings: &ConnectSettings) -> Result<Opened<D>, Error> {
    let mut opening = Opening::new(settings, Instant::now())?;
    let timeout = D::sleep_until(opening.deadline());
    or_timeout(follow::<D>(&mut opening), timeout)
        .await
        .unwrap_or(Err(Error::ConnectTimeout))
}

/// Makes each step's calls until the transport is open.
async fn follow<D: Dial>(opening: &mut Opening<'_>) -> Result<Opened<D>, Error> {
    let mut tcp = None;
    loop {
        match opening.next(Instant::now())? {
            OpenStep::Resolve { host, port } => {
                // Boxed, like every step off the common path (an IP address, no proxy, no
                // TLS): the opening future stays small, and so does what a connection leaves
                // behind in the allocator once it is open.
                let addrs = Box::pin(D::lookup(host.to_owned(), port)).await;
                opening.resolved(addrs)?;
            }
            OpenStep::Attempt(first) => {
                let connected = race::<D>(opening, first).await?;
                D::set_nodelay(&connected, opening.tcp_nodelay())?;
                tcp = Some(connected);
            }
            OpenStep::Write(bytes) => {
                let tcp = tcp.as_mut().expect("a tunnel runs on a connected socket");
                let mut written = 0;
                while written < bytes.len() {
                    match poll_fn(|cx| D::poll_write(tcp, cx, &bytes[written..])).await? {
                        0 => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
                        n => written += n,
                    }
                }
                opening.written();
            }
            OpenStep::Read(n) => {
                let tcp = tcp.as_mut().expect("a tunnel runs on a connected socket");
                let mut buf = vec![0u8; n.min(512)];
                let n = poll_fn(|cx| D::poll_read(tcp, cx, &mut buf)).await?;
                opening.received(&buf[..n])?;
            }
            OpenStep::Wait(until) => {
                if let Some(at) = until {
                    D::sleep_until(at).await;
                }
            }
            OpenStep::Tls { config, name } => {
                let tcp = tcp.take().expect("TLS runs on a connected socket");
                return Ok(Opened::Tls(Box::pin(D::tls(config, name, tcp)).await?));
            }
            OpenStep::Open => return Ok(Opened::Plain(tcp.take().expect("a connected socket"))),
        }
    }
}

/// The happy-eyeballs race of `opening`, from its `first` attempt: each attempt a future of
/// `D::connect`; the first to connect wins and the attempts still pending are dropped.
async fn race<D: Dial>(opening: &mut Opening<'_>, first: SocketAddr) -> Result<D::Tcp, Error> {
    let mut attempts = vec![Box::pin(D::connect(first))];
    // The next attempt's time, when there is one (several addresses).
    let mut next: Option<(Instant, Pin<Box<D::Sleep>>)> = None;
    poll_fn(|cx| loop {
        let until = match opening.next(Instant::now()) {
            Ok(OpenStep::Attempt(addr)) => {
                attempts.push(Box::pin(D::connect(addr)));
                continue;
            }
            Ok(OpenStep::Wait(until)) => until,
            Ok(_) => unreachable!("the race ends with a connection or an error"),
            Err(e) => return Poll::Ready(Err(e)),
        };
        let mut failed = false;
        let mut i = 0;
        while i < attempts.len() {
            match attempts[i].as_mut().poll(cx) {
                Poll::Ready(Ok(connected)) => {
                    opening.connected();
                    return Poll::Ready(Ok(connected));
                }
                Poll::Ready(Err(e)) => {
                    drop(attempts.swap_remove(i));
                    opening.attempt_failed(e);
                    failed = true;
                }
                Poll::Pending => i += 1,
            }
        }
        if failed {
            continue;
        }
        if let Some(at) = until {
            if next.as_ref().is_none_or(|(armed, _)| *armed != at) {
                next = Some((at, Box::pin(D::sleep_until(at))));
            }
            if let Some((_, sleep)) = &mut next {
                if sleep.as_mut().poll(cx).is_ready() {
                    next = None;
                    continue;
                }
            }
        }
        return Poll::Pending;
    })
    .await
}

/// An open transport in tokio's I/O traits, for HTTP/2 ([`Http2Runtime::Io`](crate::Http2Runtime::Io)),
/// when both of its kinds have them.
impl<D: Dial> tokio::io::AsyncRead for Opened<D>
where
    D::Tcp: tokio::io::AsyncRead,
    D::Tls: tokio::io::AsyncRead + Unpin,
{
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut tokio::io::ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Self::Tls(tls) => Pin::new(tls).poll_read(cx, buf),
        }
    }
}

impl<D: Dial> tokio::io::AsyncWrite for Opened<D>
where
    D::Tcp: tokio::io::AsyncWrite,
    D::Tls: tokio::io::AsyncWrite + Unpin,
{
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Self::Tls(tls) => Pin::new(tls).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_write_vectored(cx, bufs),
            Self::Tls(tls) => Pin::new(tls).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(tcp) => tcp.is_write_vectored(),
            Self::Tls(tls) => tls.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            Self::Tls(tls) => Pin::new(tls).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Self::Tls(tls) => Pin::new(tls).poll_shutdown(cx),
        }
    }
}
