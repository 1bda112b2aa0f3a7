//! Serving WebSockets on async-io: a listener (TCP, optionally TLS) whose connections run the
//! same [`Handler`] callbacks as a client, on any of the crate's [executors](crate#executors),
//! and [`accept`] for a stream the application already has (after its own routing). The
//! request, the decision and the options are `wsx-proto`'s, re-exported here.
//!
//! The listener is async-io's, so it serves from any executor; the executor type of the
//! [`ServerBuilder`] only chooses where the accept loop and each connection's task run.

use std::convert::Infallible;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_channel::{Receiver, Sender};
use async_io::{Async, Timer};
use futures_lite::io::{AsyncRead, AsyncWrite};
use futures_lite::FutureExt;
use futures_rustls::server::TlsStream;
use futures_rustls::TlsAcceptor;
use wsx_driver::serve::{Connections, Listening, Ticket, ACCEPT_ERROR_PAUSE};
use wsx_driver::PollTransport;

#[cfg(feature = "async-std")]
use crate::executor::AsyncStd;
use crate::executor::Listen;
#[cfg(feature = "smol")]
use crate::executor::Smol;
use crate::executor::{Custom, DefaultExecutor, ListenFuture, OwnThread, Spawn};
use crate::read::{poll_read_plain, ReadScratch};
use crate::task::AsyncIoTimer;
use crate::{Client, Handler};

pub use wsx_proto::server::{
    Accept, AcceptError, BadRequest, Decision, Rejection, ServeError, ServeOptions, ShutdownReport, UpgradeRequest,
    DEFAULT_MAX_CONNECTIONS,
};

/// A server's options: [`builder`] (the [`DefaultExecutor`]) or `ServerBuilder::<E>::new()`
/// (executor `E`: `Smol`, `AsyncStd`, [`OwnThread`], [`Custom<S>`](Custom)), finished with
/// `.bind(addr, decide).await`.
pub type ServerBuilder<E = DefaultExecutor> = wsx_driver::serve::ServerBuilder<E>;

/// A server's options on the [`DefaultExecutor`], from the defaults: limits, TLS, the
/// connection cap, error reports.
pub fn builder() -> ServerBuilder {
    ServerBuilder::new()
}

/// A WebSocket server: accepts on a TCP address (TLS if configured), answers each upgrade
/// request as its `decide` function says, and runs each accepted connection's handler on a
/// task of its own, spawned on the builder's executor. Dropping it stops accepting; open
/// connections run on. [`shutdown`](Self::shutdown) closes them too.
///
/// ```no_run
/// use wsx_async_std::{server::Decision, Context, Frame, Handler, Reply, Server};
///
/// struct Echo;
///
/// impl Handler for Echo {
///     type Cast = ();
///     type Info = ();
///
///     fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
///         Reply::Frame(frame)
///     }
/// }
///
/// # async fn run() -> std::io::Result<()> {
/// let server = Server::bind("127.0.0.1:9001", |_request| Decision::accept(Echo)).await?;
/// println!("listening on {}", server.local_addr());
/// # Ok(()) }
/// ```
pub struct Server<H: Handler> {
    local_addr: SocketAddr,
    connections: Arc<Connections<H>>,
    /// Closed to stop the accept loop (it never carries a message).
    stop: Sender<Infallible>,
    /// Closed by the accept loop once it has ended and closed the listener.
    accept_loop_ended: Receiver<Infallible>,
}

wsx_driver::adapter_server!();

impl<H: Handler> Server<H> {
    /// Listens on `addr` with the default options on the [`DefaultExecutor`], and serves
    /// every upgrade request as `decide` says.
    pub async fn bind<D>(addr: impl std::net::ToSocketAddrs, decide: D) -> io::Result<Self>
    where
        D: Fn(&UpgradeRequest) -> Decision<H> + Send + Sync + 'static,
    {
        builder().bind(addr, decide).await
    }

    /// Stops accepting (the listener is closed when this returns), closes every open
    /// connection with 1001 (going away) and waits for them until `deadline` has passed.
    ///
    /// Unlike wsx-tokio's, it ends no connection by force: an executor marker's
    /// [`Spawn::spawn`] detaches the task and leaves no handle to cancel it. A connection
    /// still open at the deadline is counted in [`ShutdownReport::aborted`] all the same and
    /// ends on its own within its close timeout ([`Config::close_timeout`]), which bounds how
    /// long its peer may take to answer the close.
    ///
    /// [`Config::close_timeout`]: crate::config::Config::close_timeout
    pub async fn shutdown(self, deadline: Duration) -> ShutdownReport {
        self.stop.close();
        // Never a message: this ends when the accept loop drops its sender.
        let _ = self.accept_loop_ended.recv().await;
        let handles = self.connections.shut_down();
        let give_up = Instant::now() + deadline;
        let mut report = ShutdownReport::default();
        report.open = handles.len();
        for handle in &handles {
            let timeout = async {
                Timer::at(give_up).await;
            };
            if handle.wait_or(timeout).await.is_some() {
                report.closed += 1;
            }
        }
        report.aborted = self.connections.abort_all();
        report
    }
}

impl<H: Handler> Drop for Server<H> {
    fn drop(&mut self) {
        self.stop.close();
    }
}

macro_rules! impl_listen {
    ($($(#[$attr:meta])* [$($generics:tt)*] $executor:ty),* $(,)?) => {$(
        $(#[$attr])*
        impl<$($generics)* H, D> Listen<H, D> for $executor
        where
            H: Handler,
            D: Fn(&UpgradeRequest) -> Decision<H> + Send + Sync + 'static,
        {
            type Output = ListenFuture<H>;

            fn listen(builder: ServerBuilder<Self>, addrs: io::Result<Vec<SocketAddr>>, decide: D) -> Self::Output {
                Box::pin(listen(builder, addrs, decide))
            }
        }
    )*};
}

impl_listen!(
    #[cfg(feature = "async-std")]
    [] AsyncStd,
    #[cfg(feature = "smol")]
    [] Smol,
    [] OwnThread,
    [S: Spawn,] Custom<S>,
);

/// Binds the first of `addrs` that works and spawns the accept loop on `E`.
async fn listen<E, H, D>(
    builder: ServerBuilder<E>,
    addrs: io::Result<Vec<SocketAddr>>,
    decide: D,
) -> io::Result<Server<H>>
where
    E: Spawn,
    H: Handler,
    D: Fn(&UpgradeRequest) -> Decision<H> + Send + Sync + 'static,
{
    // Binding does not block: the addresses are resolved already.
    let listener = Async::new(TcpListener::bind(addrs?.as_slice())?)?;
    let local_addr = listener.get_ref().local_addr()?;
    let serving = Serving(builder.listening(decide, TlsAcceptor::from));
    let connections = serving.connections.clone();
    let (stop, stopped) = async_channel::bounded(1);
    let (accept_loop_running, accept_loop_ended) = async_channel::bounded(1);
    E::spawn(Box::pin(serving.accept_loop::<E>(
        listener,
        stopped,
        accept_loop_running,
    )))?;
    Ok(Server {
        local_addr,
        connections,
        stop,
        accept_loop_ended,
    })
}

/// What every connection's task shares.
struct Serving<H: Handler, D>(Listening<H, D, TlsAcceptor>);

impl<H: Handler, D> Clone for Serving<H, D> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<H: Handler, D> std::ops::Deref for Serving<H, D> {
    type Target = Listening<H, D, TlsAcceptor>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<H, D> Serving<H, D>
where
    H: Handler,
    D: Fn(&UpgradeRequest) -> Decision<H> + Send + Sync + 'static,
{
    /// Accepts until `stop` closes, then closes the listener before `running`, which tells
    /// a shutdown that nothing listens any more.
    async fn accept_loop<E: Spawn>(
        self,
        listener: Async<TcpListener>,
        stop: Receiver<Infallible>,
        running: Sender<Infallible>,
    ) {
        let stopped = async {
            let _ = stop.recv().await;
        };
        stopped.or(self.accept_all::<E>(&listener)).await;
        drop(listener);
        drop(running);
    }

    async fn accept_all<E: Spawn>(&self, listener: &Async<TcpListener>) {
        loop {
            match listener.accept().await {
                Ok((tcp, _peer)) => {
                    let _ = tcp.get_ref().set_nodelay(true);
                    let serving = self.clone();
                    let spawned = match self.connections.admit() {
                        Ok(ticket) => E::spawn(Box::pin(serving.serve(tcp, ticket))),
                        Err(error) => E::spawn(Box::pin(serving.refuse(tcp, error))),
                    };
                    if let Err(error) = spawned {
                        (self.report)(&ServeError::Io(error));
                    }
                }
                Err(error) => {
                    (self.report)(&ServeError::Io(error));
                    Timer::after(ACCEPT_ERROR_PAUSE).await;
                }
            }
        }
    }

    /// One connection, start to end on this task: TLS if configured, the upgrade, then its
    /// session. The ticket holds its place in the listener until the session ends.
    async fn serve(self, tcp: Async<TcpStream>, ticket: Ticket<H>) {
        let stream = match &self.tls {
            None => ServerStream::Plain(tcp),
            Some(acceptor) => {
                let timeout = self.options.config.handshake_timeout;
                let handshake = async { Some(acceptor.accept(tcp).await) };
                let timed_out = async {
                    Timer::after(timeout).await;
                    None
                };
                match handshake.or(timed_out).await {
                    Some(Ok(tls)) => ServerStream::Tls(Box::new(tls)),
                    Some(Err(error)) => return (self.report)(&ServeError::Io(error)),
                    None => return (self.report)(&ServeError::TimedOut(timeout)),
                }
            }
        };
        let secure = self.tls.is_some();
        let transport = ServerTransport::from(stream);
        let decide = &*self.decide;
        let timer = AsyncIoTimer::new();
        let accepted = wsx_driver::serve::accept(transport, timer, &self.options, secure, Some(&ticket), decide).await;
        let accepted = match accepted {
            Ok(accepted) => accepted,
            Err(error) => return (self.report)(&error),
        };
        // No abort: the session ends on its own (see `Server::shutdown`).
        let span = accepted.session.span().clone();
        let run = wsx_driver::run_accepted(accepted.session, accepted.transport, accepted.timer);
        tracing::Instrument::instrument(run, span).await;
        drop(ticket);
    }

    /// A connection beyond the cap, or during a shutdown: answered 503 without reading its
    /// request.
    async fn refuse(self, tcp: Async<TcpStream>, error: ServeError) {
        let mut transport = ServerTransport::from(ServerStream::Plain(tcp));
        let rejection = error.rejection();
        wsx_driver::serve::answer(&mut transport, &mut AsyncIoTimer::new(), rejection.as_ref()).await;
        (self.report)(&error);
    }
}

/// Upgrades `stream`, which the application accepted (and perhaps routed) itself, and runs
/// the connection on the [`DefaultExecutor`]: reads the upgrade request within `options`'
/// limits, lets `decide` answer it, and spawns the accepted connection's task. A refused or
/// bad request is answered and the stream closed before the error returns.
///
/// `stream` is any futures-io stream: `smol::net::TcpStream`, `async_std::net::TcpStream`,
/// a TLS stream of `futures-rustls`, or the application's own. [`accept_on`] runs the
/// connection on another executor.
pub async fn accept<H, S, D>(stream: S, options: &ServeOptions, decide: D) -> Result<Client<H>, ServeError>
where
    H: Handler,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    D: FnOnce(&UpgradeRequest) -> Decision<H>,
{
    accept_on::<DefaultExecutor, H, S, D>(stream, options, decide).await
}

/// [`accept`], with the connection's task spawned on `E` (`Smol`, `AsyncStd`, [`OwnThread`],
/// [`Custom<S>`](Custom), or a [`Spawn`] type of the application's).
pub async fn accept_on<E, H, S, D>(stream: S, options: &ServeOptions, decide: D) -> Result<Client<H>, ServeError>
where
    E: Spawn,
    H: Handler,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    D: FnOnce(&UpgradeRequest) -> Decision<H>,
{
    let transport = ServerTransport::from(ServerStream::Any(Box::new(stream)));
    let accepted = wsx_driver::serve::accept(transport, AsyncIoTimer::new(), options, false, None, decide).await?;
    let handle = accepted.handle.clone();
    let span = accepted.session.span().clone();
    let run = wsx_driver::run_accepted(accepted.session, accepted.transport, accepted.timer);
    E::spawn(Box::pin(tracing::Instrument::instrument(run, span))).map_err(ServeError::Io)?;
    Ok(Client::from_handle(handle))
}

/// Any stream an application hands over.
trait AnyStream: AsyncRead + AsyncWrite + Unpin + Send {}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> AnyStream for S {}

/// A server connection's stream.
enum ServerStream {
    Plain(Async<TcpStream>),
    /// Boxed: a plain connection then holds no room for TLS state.
    Tls(Box<TlsStream<Async<TcpStream>>>),
    Any(Box<dyn AnyStream>),
}

/// A server connection's transport: the stream, and for a futures-io one (TLS, the
/// application's) a reusable read buffer ([`ReadScratch`]).
struct ServerTransport {
    stream: ServerStream,
    scratch: ReadScratch,
}

impl From<ServerStream> for ServerTransport {
    fn from(stream: ServerStream) -> Self {
        Self {
            stream,
            scratch: ReadScratch::default(),
        }
    }
}

macro_rules! each {
    ($stream:expr, $s:ident => $call:expr) => {
        match $stream {
            ServerStream::Plain($s) => $call,
            ServerStream::Tls($s) => $call,
            ServerStream::Any($s) => $call,
        }
    };
}

impl PollTransport for ServerTransport {
    /// As the client's: a plain socket with nothing buffered waits for readiness before any
    /// buffer is allocated, so an idle connection holds none.
    fn poll_read_into(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut bytes::BytesMut,
        room: usize,
    ) -> Poll<io::Result<usize>> {
        match &mut self.stream {
            ServerStream::Plain(tcp) => poll_read_plain(tcp, cx, buf, room),
            ServerStream::Tls(tls) => self.scratch.poll_read_into(tls, cx, buf, room),
            ServerStream::Any(any) => self.scratch.poll_read_into(any, cx, buf, room),
        }
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        each!(&mut self.stream, s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(&mut self.stream, s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(&mut self.stream, s => Pin::new(s).poll_close(cx))
    }
}
