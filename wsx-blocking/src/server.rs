//! Serving WebSockets with threads: a listener (TCP, optionally TLS) whose connections each
//! run on a thread of their own with the same [`Handler`] callbacks as a client, and
//! [`accept`] for a socket the application accepted itself. The request, the decision and the
//! options are `wsx-proto`'s, re-exported here.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rustix::event::{PollFd, PollFlags, Timespec};
use wsx_driver::serve::{
    start_session, Connections, Listen, Listening, RequestReader, ServerBuilder as Builder, Ticket, ACCEPT_ERROR_PAUSE,
};
use wsx_driver::ClientHandle;

pub use wsx_proto::server::{
    Accept, AcceptError, BadRequest, Decision, Rejection, ServeError, ServeOptions, ShutdownReport, UpgradeRequest,
    DEFAULT_MAX_CONNECTIONS,
};

use crate::stream::{Socket, Transport};
use crate::task::{self, Wakeup};
use crate::{Client, Handler, Threads};

/// A server's options: [`builder`], finished with `.bind(addr, decide)`.
pub type ServerBuilder = Builder<Threads>;

/// A server's options, from the defaults: limits, TLS, the connection cap, error reports.
pub fn builder() -> ServerBuilder {
    ServerBuilder::new()
}

/// How long a refusal may take to leave before the socket is closed anyway.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(1);

/// A WebSocket server on threads: one accepts on a TCP address (TLS if configured), one per
/// connection reads its upgrade request, lets `decide` answer it and runs the accepted
/// connection's handler. Dropping it stops accepting; open connections run on.
/// [`shutdown`](Self::shutdown) closes them too.
///
/// ```no_run
/// use wsx_blocking::{Context, Decision, Frame, Handler, Reply, Server};
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
/// let server = Server::bind("127.0.0.1:9001", |_request| Decision::accept(Echo))?;
/// println!("listening on {}", server.local_addr());
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Server<H: Handler> {
    local_addr: SocketAddr,
    connections: Arc<Connections<H>>,
    stop: Arc<Stop>,
    accepting: Option<JoinHandle<()>>,
}

/// Tells the accept thread to stop: a flag, and a wake-up for its `poll`.
struct Stop {
    stopped: AtomicBool,
    wakeup: Wakeup,
}

impl Stop {
    fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        self.wakeup.notify();
    }
}

wsx_driver::adapter_server!();

impl<H: Handler> Server<H> {
    /// Listens on `addr` with the default options and serves every upgrade request as
    /// `decide` says.
    pub fn bind<D>(addr: impl std::net::ToSocketAddrs, decide: D) -> io::Result<Self>
    where
        D: Fn(&UpgradeRequest) -> Decision<H> + Send + Sync + 'static,
    {
        builder().bind(addr, decide)
    }

    /// Stops accepting, closes every open connection with 1001 (going away) and waits for
    /// them until `deadline` has passed. A connection's thread cannot be ended by force:
    /// one still open then ends within its close timeout, and is reported as aborted.
    pub fn shutdown(mut self, deadline: Duration) -> ShutdownReport {
        self.stop_accepting();
        let handles = self.connections.shut_down();
        let give_up = Instant::now() + deadline;
        let mut report = ShutdownReport::default();
        report.open = handles.len();
        for handle in &handles {
            let left = give_up.saturating_duration_since(Instant::now());
            if handle.wait_blocking(Some(left)).is_some() {
                report.closed += 1;
            }
        }
        report.aborted = self.connections.abort_all();
        report
    }

    fn stop_accepting(&mut self) {
        self.stop.stop();
        if let Some(thread) = self.accepting.take() {
            let _ = thread.join();
        }
    }
}

impl<H: Handler> Drop for Server<H> {
    fn drop(&mut self) {
        self.stop_accepting();
    }
}

impl<H, D> Listen<H, D> for Threads
where
    H: Handler,
    D: Fn(&UpgradeRequest) -> Decision<H> + Send + Sync + 'static,
{
    type Output = io::Result<Server<H>>;

    fn listen(builder: ServerBuilder, addrs: io::Result<Vec<SocketAddr>>, decide: D) -> Self::Output {
        let listener = TcpListener::bind(addrs?.as_slice())?;
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let serving = Serving(builder.listening(decide, |config| config));
        let connections = serving.connections.clone();
        let stop = Arc::new(Stop {
            stopped: AtomicBool::new(false),
            wakeup: Wakeup::new()?,
        });
        let accepting = std::thread::Builder::new().name("wsx-accept".into()).spawn({
            let stop = stop.clone();
            move || serving.accept_loop(listener, &stop)
        })?;
        Ok(Server {
            local_addr,
            connections,
            stop,
            accepting: Some(accepting),
        })
    }
}

/// What every connection's thread shares.
struct Serving<H: Handler, D>(Listening<H, D, Arc<rustls::ServerConfig>>);

impl<H: Handler, D> Clone for Serving<H, D> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<H: Handler, D> std::ops::Deref for Serving<H, D> {
    type Target = Listening<H, D, Arc<rustls::ServerConfig>>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<H, D> Serving<H, D>
where
    H: Handler,
    D: Fn(&UpgradeRequest) -> Decision<H> + Send + Sync + 'static,
{
    fn accept_loop(self, listener: TcpListener, stop: &Stop) {
        while !stop.stopped.load(Ordering::Acquire) {
            let mut fds = [
                PollFd::new(&listener, PollFlags::IN),
                PollFd::from_borrowed_fd(stop.wakeup.fd(), PollFlags::IN),
            ];
            if rustix::event::poll(&mut fds, None).is_err() {
                continue;
            }
            match listener.accept() {
                Ok((tcp, _peer)) => {
                    let serving = self.clone();
                    let spawned = match self.connections.admit() {
                        Ok(ticket) => std::thread::Builder::new()
                            .name("wsx-connection".into())
                            .spawn(move || serving.serve(tcp, ticket)),
                        Err(error) => std::thread::Builder::new()
                            .name("wsx-refuse".into())
                            .spawn(move || serving.refuse(tcp, error)),
                    };
                    if let Err(error) = spawned {
                        (self.report)(&ServeError::Io(error));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => {
                    (self.report)(&ServeError::Io(error));
                    std::thread::sleep(ACCEPT_ERROR_PAUSE);
                }
            }
        }
    }

    /// One connection, on its own thread: TLS if configured, the upgrade, then its session.
    fn serve(self, tcp: TcpStream, ticket: Ticket<H>) {
        let upgraded = upgrade(tcp, self.tls.clone(), &self.options, Some(&ticket), &*self.decide);
        let (session, _handle, transport) = match upgraded {
            Ok(upgraded) => upgraded,
            Err(error) => return (self.report)(&error),
        };
        run(session, transport);
        drop(ticket);
    }

    /// A connection beyond the cap, or during a shutdown: answered 503 without reading its
    /// request.
    fn refuse(self, tcp: TcpStream, error: ServeError) {
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        if let Ok(mut socket) = Socket::accepted(tcp, None, deadline) {
            answer(&mut socket, error.rejection().as_ref());
        }
        (self.report)(&error);
    }
}

/// Runs an accepted connection's session on this thread until it stops.
fn run<H: Handler>(session: Box<wsx_driver::Session<H>>, transport: Transport) {
    let span = session.span().clone();
    match Wakeup::new() {
        Ok(wakeup) => span.in_scope(|| task::run(*session, Arc::new(wakeup), Some(transport))),
        // Out of descriptors: the session ends (dropped, its handles told) and the socket
        // closes.
        Err(error) => tracing::debug!(target: "wsx", %error, "no wake-up descriptor for a connection"),
    }
}

/// Upgrades `stream`, which the application accepted itself: reads the upgrade request on
/// this thread within `options`' limits, lets `decide` answer it, and runs the accepted
/// connection's handler on a thread of its own. A refused or bad request is answered and the
/// socket closed before the error returns.
pub fn accept<H, D>(stream: TcpStream, options: &ServeOptions, decide: D) -> Result<Client<H>, ServeError>
where
    H: Handler,
    D: FnOnce(&UpgradeRequest) -> Decision<H>,
{
    let (session, handle, transport) = upgrade(stream, None, options, None, decide)?;
    std::thread::Builder::new()
        .name("wsx-connection".into())
        .spawn(move || run(session, transport))
        .map_err(ServeError::Io)?;
    Ok(Client::from_handle(handle))
}

type Upgraded<H> = (Box<wsx_driver::Session<H>>, ClientHandle<H>, Transport);

/// TLS (with `tls`), the request read within the options' limits, `decide`, the session
/// (its handle in the listener's registry, with a `ticket`); a request not served is answered
/// and the socket closed.
fn upgrade<H, D>(
    tcp: TcpStream,
    tls: Option<Arc<rustls::ServerConfig>>,
    options: &ServeOptions,
    ticket: Option<&Ticket<H>>,
    decide: D,
) -> Result<Upgraded<H>, ServeError>
where
    H: Handler,
    D: FnOnce(&UpgradeRequest) -> Decision<H>,
{
    let secure = tls.is_some();
    let mut reader = RequestReader::new(options, Instant::now());
    let mut socket = Socket::accepted(tcp, tls, reader.deadline()).map_err(|e| match e {
        wsx_proto::Error::ConnectTimeout => reader.timed_out(),
        wsx_proto::Error::Io(e) => ServeError::Io(io::Error::new(e.kind(), e.to_string())),
        other => ServeError::Io(io::Error::other(other)),
    })?;
    let outcome = loop {
        let (buf, room) = reader.read_buffer();
        let read = socket.read_into(buf, room);
        if let Some(outcome) = reader.on_read(read) {
            break outcome;
        }
        if !wait(&socket, PollFlags::IN, reader.deadline()) {
            break Err(reader.timed_out());
        }
    };
    let outcome = match outcome {
        Ok((request, leftover)) => start_session(options, secure, request, leftover, ticket, decide),
        Err(e) => {
            let rejection = e.rejection();
            Err((e, rejection))
        }
    };
    match outcome {
        Ok((session, handle)) => Ok((session, handle, Transport::Socket(socket))),
        Err((error, rejection)) => {
            tracing::debug!(target: "wsx", %error, "upgrade request not accepted");
            answer(&mut socket, rejection.as_ref());
            Err(error)
        }
    }
}

/// Answers with `rejection` (if any) and closes the socket, within [`ANSWER_TIMEOUT`].
fn answer(socket: &mut Socket, rejection: Option<&Rejection>) {
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    let mut out = BytesMut::new();
    if let Some(rejection) = rejection {
        rejection.encode(&mut out);
    }
    let mut written = 0;
    while written < out.len() {
        match socket.write(&out[written..]) {
            Ok(n) if n > 0 => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if !wait(socket, PollFlags::OUT, deadline) {
                    break;
                }
            }
            _ => break,
        }
    }
    while let Ok(false) = socket.flush() {
        if !wait(socket, PollFlags::OUT, deadline) {
            break;
        }
    }
    socket.shutdown();
}

/// Waits until the socket is ready for `interest` or `deadline` passes; whether it is.
fn wait(socket: &Socket, interest: PollFlags, deadline: Instant) -> bool {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return false;
    }
    let timeout = Timespec {
        tv_sec: left.as_secs().try_into().unwrap_or(i64::MAX),
        tv_nsec: left.subsec_nanos().into(),
    };
    let mut fds = [PollFd::from_borrowed_fd(socket.tcp().as_fd(), interest)];
    matches!(rustix::event::poll(&mut fds, Some(&timeout)), Ok(n) if n > 0)
}
