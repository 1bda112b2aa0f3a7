//! Opening a transport on an async runtime: [`Opening`]'s steps, each made with the runtime's
//! own calls ([`Dial`]), within the connect timeout. The plan (lookup, the happy-eyeballs race,
//! the proxy tunnel, TLS) is wsx-proto's; an async adapter only says how its runtime resolves,
//! connects, reads, writes and runs TLS.

use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};
use std::time::Instant;

use wsx_proto::session::{OpenStep, Opening};
use wsx_proto::{ConnectSettings, Error};

use crate::poll::PollTimer;
use crate::wait::or_timeout;

/// The system calls an async runtime makes to open a transport.
pub trait Dial {
    /// A connected TCP socket.
    type Tcp: Unpin;
    /// A TLS stream over [`Tcp`](Self::Tcp).
    type Tls;
    /// The runtime's timer.
    type Timer: PollTimer;

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
    /// A timer, disarmed.
    fn timer() -> Self::Timer;
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
    let deadline = opening.deadline();
    let mut timer = D::timer();
    let steps = follow::<D>(&mut opening);
    let timeout = poll_fn(|cx| timer.poll_until(cx, deadline));
    or_timeout(steps, timeout).await.unwrap_or(Err(Error::ConnectTimeout))
}

/// Makes each step's calls until the transport is open.
async fn follow<D: Dial>(opening: &mut Opening) -> Result<Opened<D>, Error> {
    let mut tcp = None;
    let mut timer = D::timer();
    loop {
        match opening.next(Instant::now())? {
            OpenStep::Resolve { host, port } => {
                let addrs = D::lookup(host.to_owned(), port).await;
                opening.resolved(addrs)?;
            }
            OpenStep::Attempt(first) => {
                let connected = race::<D>(opening, first, &mut timer).await?;
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
                let mut buf = [0u8; 512];
                let n = poll_fn(|cx| D::poll_read(tcp, cx, &mut buf[..n.min(512)])).await?;
                opening.received(&buf[..n])?;
            }
            OpenStep::Wait(until) => poll_fn(|cx| timer.poll_until(cx, until)).await,
            OpenStep::Tls { config, name } => {
                let tcp = tcp.take().expect("TLS runs on a connected socket");
                return Ok(Opened::Tls(D::tls(config, name, tcp).await?));
            }
            OpenStep::Open => return Ok(Opened::Plain(tcp.take().expect("a connected socket"))),
        }
    }
}

/// The happy-eyeballs race of `opening`, from its `first` attempt: each attempt a future of
/// `D::connect`; the first to connect wins and the attempts still pending are dropped.
async fn race<D: Dial>(opening: &mut Opening, first: SocketAddr, timer: &mut D::Timer) -> Result<D::Tcp, Error> {
    let mut attempts = vec![Box::pin(D::connect(first))];
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
        if failed || timer.poll_until(cx, until).is_ready() {
            continue;
        }
        return Poll::Pending;
    })
    .await
}
