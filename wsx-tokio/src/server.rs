//! Serving WebSockets on tokio: a listener (TCP, optionally TLS) whose connections run the
//! same [`Handler`] callbacks as a client, and [`accept`] for a stream the application
//! already has (after its own routing, e.g. a hyper upgrade). The request, the decision and
//! the options are `wsx-proto`'s, re-exported here.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use wsx_driver::serve::{Connections, Listen, Listening, ServerBuilder as Builder, Ticket, ACCEPT_ERROR_PAUSE};
use wsx_driver::PollTransport;

use crate::task::TokioTimer;
use crate::{Client, Handler, Tokio};

pub use wsx_proto::server::{
    Accept, AcceptError, BadRequest, Decision, Rejection, ServeError, ServeOptions, ShutdownReport, UpgradeRequest,
    DEFAULT_MAX_CONNECTIONS,
};

/// A server's options: [`builder`], finished with `.bind(addr, decide).await`.
pub type ServerBuilder = Builder<Tokio>;

/// A server's options, from the defaults: limits, TLS, the connection cap, error reports.
pub fn builder() -> ServerBuilder {
    ServerBuilder::new()
}

/// A WebSocket server on the current tokio runtime: accepts on a TCP address (TLS if
/// configured), answers each upgrade request as its `decide` function says, and runs each
/// accepted connection's handler on its own task. Dropping it stops accepting; open
/// connections run on. [`shutdown`](Self::shutdown) closes them too.
///
/// ```no_run
/// use wsx_tokio::{server::Decision, Context, Frame, Handler, Reply, Server};
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
    stop: watch::Sender<bool>,
    accepting: tokio::task::JoinHandle<()>,
}

wsx_driver::adapter_server!();

impl<H: Handler> Server<H> {
    /// Listens on `addr` with the default options and serves every upgrade request as
    /// `decide` says.
    pub async fn bind<D>(addr: impl std::net::ToSocketAddrs, decide: D) -> io::Result<Self>
    where
        D: Fn(&UpgradeRequest) -> Decision<H> + Send + Sync + 'static,
    {
        builder().bind(addr, decide).await
    }

    /// Stops accepting, closes every open connection with 1001 (going away), waits for
    /// them until `deadline` has passed, then ends the rest by force.
    pub async fn shutdown(mut self, deadline: Duration) -> ShutdownReport {
        let _ = self.stop.send(true);
        let _ = (&mut self.accepting).await;
        let handles = self.connections.shut_down();
        let give_up = tokio::time::Instant::now() + deadline;
        let mut report = ShutdownReport::default();
        report.open = handles.len();
        for handle in &handles {
            if tokio::time::timeout_at(give_up, handle.wait()).await.is_ok() {
                report.closed += 1;
            }
        }
        report.aborted = self.connections.abort_all();
        report
    }
}

impl<H: Handler> Drop for Server<H> {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

impl<H, D> Listen<H, D> for Tokio
where
    H: Handler,
    D: Fn(&UpgradeRequest) -> Decision<H> + Send + Sync + 'static,
{
    type Output = Pin<Box<dyn Future<Output = io::Result<Server<H>>> + Send>>;

    fn listen(builder: ServerBuilder, addrs: io::Result<Vec<SocketAddr>>, decide: D) -> Self::Output {
        Box::pin(async move {
            let listener = TcpListener::bind(addrs?.as_slice()).await?;
            let local_addr = listener.local_addr()?;
            let serving = Serving(builder.listening(decide, TlsAcceptor::from));
            let connections = serving.connections.clone();
            let (stop, stopped) = watch::channel(false);
            let accepting = tokio::spawn(serving.accept_loop(listener, stopped));
            Ok(Server {
                local_addr,
                connections,
                stop,
                accepting,
            })
        })
    }
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
    async fn accept_loop(self, listener: TcpListener, mut stopped: watch::Receiver<bool>) {
        loop {
            let accepted = tokio::select! {
                _ = stopped.wait_for(|stop| *stop) => return,
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((tcp, _peer)) => {
                    let _ = tcp.set_nodelay(true);
                    let serving = self.clone();
                    match self.connections.admit() {
                        Ok(ticket) => tokio::spawn(serving.serve(tcp, ticket)),
                        Err(error) => tokio::spawn(serving.refuse(tcp, error)),
                    };
                }
                Err(error) => {
                    (self.report)(&ServeError::Io(error));
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                }
            }
        }
    }

    /// One connection: TLS if configured, the upgrade, then its session on a task of its
    /// own (which a shutdown can abort).
    async fn serve(self, tcp: TcpStream, ticket: Ticket<H>) {
        let timeout = self.options.config.handshake_timeout;
        let stream = match &self.tls {
            None => ServerStream::Tcp(tcp),
            Some(acceptor) => match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => ServerStream::Tls(Box::new(tls)),
                Ok(Err(error)) => return (self.report)(&ServeError::Io(error)),
                Err(_) => return (self.report)(&ServeError::TimedOut(timeout)),
            },
        };
        let secure = self.tls.is_some();
        let decide = &*self.decide;
        let options = &self.options;
        let accepted =
            wsx_driver::serve::accept(stream, TokioTimer(None), options, secure, Some(&ticket), decide).await;
        let accepted = match accepted {
            Ok(accepted) => accepted,
            Err(error) => return (self.report)(&error),
        };
        let ticket = Arc::new(ticket);
        let held = ticket.clone();
        let span = accepted.session.span().clone();
        let run = wsx_driver::run_accepted(accepted.session, accepted.transport, accepted.timer);
        let task = tokio::spawn(tracing::Instrument::instrument(
            async move {
                run.await;
                drop(held);
            },
            span,
        ));
        let abort = task.abort_handle();
        ticket.set_abort(move || abort.abort());
    }

    /// A connection beyond the cap, or during a shutdown: answered 503 without reading its
    /// request.
    async fn refuse(self, tcp: TcpStream, error: ServeError) {
        let mut stream = ServerStream::Tcp(tcp);
        wsx_driver::serve::answer(&mut stream, &mut TokioTimer(None), error.rejection().as_ref()).await;
        (self.report)(&error);
    }
}

/// Upgrades `stream`, which the application accepted (and perhaps routed) itself: reads the
/// upgrade request within `options`' limits, lets `decide` answer it, and runs the accepted
/// connection's handler on a task of its own. A refused or bad request is answered and the
/// stream closed before the error returns. For a request an HTTP server already read
/// (hyper, axum), see [`upgrade`].
pub async fn accept<H, S, D>(stream: S, options: &ServeOptions, decide: D) -> Result<Client<H>, ServeError>
where
    H: Handler,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    D: FnOnce(&UpgradeRequest) -> Decision<H>,
{
    let stream = ServerStream::Any(Box::new(stream));
    let accepted = wsx_driver::serve::accept(stream, TokioTimer(None), options, false, None, decide).await?;
    let handle = accepted.handle.clone();
    let span = accepted.session.span().clone();
    tokio::spawn(tracing::Instrument::instrument(
        wsx_driver::run_accepted(accepted.session, accepted.transport, accepted.timer),
        span,
    ));
    Ok(Client::from_handle(handle))
}

/// A WebSocket upgrade of a request that another HTTP/1.1 server read and answers itself
/// (hyper, axum): made by [`upgrade`], it holds the accepted connection until the server has
/// sent its 101 with [`headers`](Self::headers) and hands over the upgraded stream
/// ([`run`](Self::run)). `handle_connect` has already run; what the handler sends waits.
///
/// ```no_run
/// # use wsx_tokio::{server::ServeOptions, Context, Decision, Frame, Handler, Reply};
/// # struct Echo;
/// # impl Handler for Echo {
/// #     type Cast = ();
/// #     type Info = ();
/// #     fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply { Reply::Frame(frame) }
/// # }
/// use http_body_util::Empty;
/// use hyper::{body::{Bytes, Incoming}, Request, Response, StatusCode};
///
/// async fn handle(mut request: Request<Incoming>) -> Response<Empty<Bytes>> {
///     let headers = request.headers().iter().map(|(name, value)| (name.as_str(), value.as_bytes()));
///     let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
///     let upgrade = wsx_tokio::server::upgrade(request.method().as_str(), target, headers, &ServeOptions::default(), |_| {
///         Decision::accept(Echo)
///     });
///     match upgrade {
///         Ok(upgrade) => {
///             let mut response = Response::builder().status(StatusCode::SWITCHING_PROTOCOLS);
///             for (name, value) in upgrade.headers() {
///                 response = response.header(name, value);
///             }
///             tokio::spawn(async move {
///                 if let Ok(upgraded) = hyper::upgrade::on(&mut request).await {
///                     upgrade.run(hyper_util::rt::TokioIo::new(upgraded));
///                 }
///             });
///             response.body(Empty::new()).unwrap()
///         }
///         Err(rejection) => Response::builder().status(rejection.status).body(Empty::new()).unwrap(),
///     }
/// }
/// ```
pub struct Upgrade<H: Handler> {
    session: Box<wsx_driver::Session<H>>,
    handle: wsx_driver::ClientHandle<H>,
    headers: Vec<(String, String)>,
}

impl<H: Handler> std::fmt::Debug for Upgrade<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upgrade")
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl<H: Handler> Upgrade<H> {
    /// The headers to send with status 101 (`Upgrade`, `Connection`,
    /// `Sec-WebSocket-Accept`, the subprotocol and extensions agreed, the application's).
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The connection's handle, before it runs.
    pub fn client(&self) -> Client<H> {
        Client::from_handle(self.handle.clone())
    }

    /// Runs the connection on `stream`, the upgraded connection, on a task of its own.
    pub fn run<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(self, stream: S) -> Client<H> {
        let stream = ServerStream::Any(Box::new(stream));
        let span = self.session.span().clone();
        tokio::spawn(tracing::Instrument::instrument(
            wsx_driver::run_accepted(self.session, stream, TokioTimer(None)),
            span,
        ));
        Client::from_handle(self.handle)
    }
}

/// Checks a request another HTTP/1.1 server read (its method, target and headers) as an
/// upgrade, and lets `decide` answer it: the accepted upgrade, to answer 101 with its
/// headers, or the rejection to answer instead (a bad request's status, the application's
/// refusal, or 500 for an acceptance the request does not allow).
pub fn upgrade<'h, H, D>(
    method: &str,
    target: &str,
    headers: impl IntoIterator<Item = (&'h str, &'h [u8])>,
    options: &ServeOptions,
    decide: D,
) -> Result<Upgrade<H>, Rejection>
where
    H: Handler,
    D: FnOnce(&UpgradeRequest) -> Decision<H>,
{
    let request = UpgradeRequest::from_parts(method, target, headers).map_err(|e| e.rejection())?;
    match wsx_driver::serve::start_upgraded(options, false, request, decide) {
        Ok((session, handle, headers)) => Ok(Upgrade {
            session,
            handle,
            headers,
        }),
        Err((error, rejection)) => {
            tracing::debug!(target: "wsx", %error, "upgrade request not accepted");
            Err(rejection.unwrap_or_else(|| Rejection::new(500)))
        }
    }
}

/// Any stream an application hands over.
trait AnyStream: AsyncRead + AsyncWrite + Unpin + Send {}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> AnyStream for S {}

/// A server connection's transport.
enum ServerStream {
    Tcp(TcpStream),
    /// Boxed: a plain connection then holds no room for TLS state.
    Tls(Box<TlsStream<TcpStream>>),
    Any(Box<dyn AnyStream>),
}

macro_rules! each {
    ($stream:expr, $s:ident => $call:expr) => {
        match $stream {
            ServerStream::Tcp($s) => $call,
            ServerStream::Tls($s) => $call,
            ServerStream::Any($s) => $call,
        }
    };
}

impl PollTransport for ServerStream {
    /// As the client's: a plain socket with no buffer waits for readiness before taking one,
    /// so an idle connection holds no read buffer.
    fn poll_read_into(&mut self, cx: &mut Context<'_>, buf: &mut BytesMut, room: usize) -> Poll<io::Result<usize>> {
        if let (Self::Tcp(tcp), 0) = (&*self, buf.capacity()) {
            std::task::ready!(tcp.poll_read_ready(cx))?;
        }
        wsx_proto::protocol::buffer::reserve(buf, room);
        each!(self, s => tokio_util::io::poll_read_buf(Pin::new(s), cx, &mut buf.limit(room)))
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        each!(self, s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => Pin::new(s).poll_shutdown(cx))
    }
}
