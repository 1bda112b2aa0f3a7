//! The server side every adapter shares: the upgrade request read and answered within its
//! limits, the application's decision, the accepted connection's session, and the registry
//! of a listener's connections (its cap and graceful shutdown). An adapter brings its socket
//! and timer ([`PollTransport`], [`PollTimer`]) and its listener's accept loop.

mod builder;
mod registry;

use std::future::poll_fn;
use std::io;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::BytesMut;

use wsx_proto::server::{Decision, Rejection, ServeError, ServeOptions, UpgradeRequest};
use wsx_proto::{Connection, Handler};

use crate::{ClientHandle, PollTimer, PollTransport, Session};

pub use self::builder::{Listen, ServerBuilder};
pub use self::registry::{Connections, Ticket};

/// How long a refusal (its status, headers and body) may take to leave before the
/// connection is closed anyway.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(1);

/// How much one read of a request takes at most.
const REQUEST_READ: usize = 4096;

/// How long a listener pauses accepting after an error (out of file descriptors,
/// typically): a tight loop would only spin.
pub const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// What every connection of one listener shares: the options, the TLS configuration in the
/// adapter's form (`Tls`: its acceptor), the application's decision, the error report and the
/// registry. A few `Arc`s: cheap to clone for each connection.
pub struct Listening<H: Handler, D, Tls> {
    /// The options every connection gets.
    pub options: Arc<ServeOptions>,
    /// How TLS is accepted, for `wss://`.
    pub tls: Option<Tls>,
    /// The application's decision.
    pub decide: Arc<D>,
    /// Tells the application about a connection that did not run.
    pub report: Arc<dyn Fn(&ServeError) + Send + Sync>,
    /// The listener's connections.
    pub connections: Arc<Connections<H>>,
}

impl<H: Handler, D, Tls: Clone> Clone for Listening<H, D, Tls> {
    fn clone(&self) -> Self {
        Self {
            options: self.options.clone(),
            tls: self.tls.clone(),
            decide: self.decide.clone(),
            report: self.report.clone(),
            connections: self.connections.clone(),
        }
    }
}

impl<H: Handler, D, Tls> std::fmt::Debug for Listening<H, D, Tls> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listening")
            .field("options", &self.options)
            .field("tls", &self.tls.is_some())
            .field("connections", &self.connections)
            .finish_non_exhaustive()
    }
}

/// An accepted connection, ready to run: its session, the handle to it, and the transport
/// and timer it runs on ([`run_accepted`](crate::run_accepted)).
pub struct Accepted<H: Handler, T, Tm> {
    /// The connection's session; `handle_connect` has run.
    pub session: Box<Session<H>>,
    /// The handle to it.
    pub handle: ClientHandle<H>,
    /// The transport the request came on.
    pub transport: T,
    /// The timer the handshake used.
    pub timer: Tm,
}

impl<H: Handler, T, Tm> std::fmt::Debug for Accepted<H, T, Tm> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accepted")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

/// Reads the upgrade request on `transport` within the options' handshake timeout and size
/// limit, lets `decide` answer it, and makes the accepted connection's session. A bad,
/// refused or late request is answered (its status, see [`ServeError::rejection`]) and the
/// transport closed before the error returns. `secure`: the transport is TLS (the
/// connection's URL is `wss`). With a listener's `ticket`, the connection's handle joins its
/// registry before `handle_connect` runs.
pub async fn accept<H, T, Tm, D>(
    mut transport: T,
    mut timer: Tm,
    options: &ServeOptions,
    secure: bool,
    ticket: Option<&Ticket<H>>,
    decide: D,
) -> Result<Accepted<H, T, Tm>, ServeError>
where
    H: Handler,
    T: PollTransport,
    Tm: PollTimer,
    D: FnOnce(&UpgradeRequest) -> Decision<H>,
{
    let outcome = match read_request(&mut transport, &mut timer, options).await {
        Ok((request, leftover)) => start_session(options, secure, request, leftover, ticket, decide),
        Err(e) => {
            let rejection = e.rejection();
            Err((e, rejection))
        }
    };
    match outcome {
        Ok((session, handle)) => Ok(Accepted {
            session,
            handle,
            transport,
            timer,
        }),
        Err((error, rejection)) => {
            tracing::debug!(target: "wsx", %error, "upgrade request not accepted");
            answer(&mut transport, &mut timer, rejection.as_ref()).await;
            Err(error)
        }
    }
}

/// What [`start_session`] gives back when the request is not served: why, and the answer
/// to send before closing.
pub type NotServed = (ServeError, Option<Rejection>);

/// Lets `decide` answer a whole request and makes the accepted connection's session (its
/// `handle_connect` has run), with `leftover`, the bytes the client sent after its request,
/// already received. With a listener's `ticket`, the handle joins its registry first.
pub fn start_session<H: Handler>(
    options: &ServeOptions,
    secure: bool,
    request: UpgradeRequest,
    leftover: BytesMut,
    ticket: Option<&Ticket<H>>,
    decide: impl FnOnce(&UpgradeRequest) -> Decision<H>,
) -> Result<(Box<Session<H>>, ClientHandle<H>), NotServed> {
    let (handler, accept) = decided(&request, decide)?;
    let mut conn = Connection::accept(&request, &accept, options.config.clone()).map_err(not_accepted)?;
    conn.receive(&leftover);
    session(options, secure, request, conn, handler, ticket)
}

/// What [`start_upgraded`] gives: the session, its handle, and the headers of the 101 answer
/// to send.
pub type Upgraded<H> = (Box<Session<H>>, ClientHandle<H>, Vec<(String, String)>);

/// [`start_session`] for a request another HTTP server read and answers itself (hyper,
/// axum): the session, its handle, and the headers that server sends with its 101.
pub fn start_upgraded<H: Handler>(
    options: &ServeOptions,
    secure: bool,
    request: UpgradeRequest,
    decide: impl FnOnce(&UpgradeRequest) -> Decision<H>,
) -> Result<Upgraded<H>, NotServed> {
    let (handler, accept) = decided(&request, decide)?;
    let (response, headers) = request
        .accept_headers(&accept, options.config.deflate.as_ref())
        .map_err(not_accepted)?;
    let conn = Connection::accepted(response, options.config.clone());
    let (session, handle) = session(options, secure, request, conn, handler, None)?;
    Ok((session, handle, headers))
}

/// The application's decision: a handler and how to accept, or the refusal.
fn decided<H>(
    request: &UpgradeRequest,
    decide: impl FnOnce(&UpgradeRequest) -> Decision<H>,
) -> Result<(H, wsx_proto::server::Accept), NotServed> {
    match decide(request) {
        Decision::Accept { handler, accept } => Ok((handler, accept)),
        Decision::Reject(rejection) => Err((ServeError::Rejected(rejection.status), Some(rejection))),
    }
}

/// An acceptance the request does not allow: answered 500.
fn not_accepted(error: wsx_proto::server::AcceptError) -> NotServed {
    (ServeError::Accept(error), Some(Rejection::new(500)))
}

/// The accepted connection's session and handle (in the listener's registry first, with a
/// `ticket`).
fn session<H: Handler>(
    options: &ServeOptions,
    secure: bool,
    request: UpgradeRequest,
    conn: Connection,
    handler: H,
    ticket: Option<&Ticket<H>>,
) -> Result<(Box<Session<H>>, ClientHandle<H>), NotServed> {
    let handle = ClientHandle::serving(options.send_buffer);
    if let Some(ticket) = ticket {
        ticket.open(&handle);
    }
    let start = options.start_options(&request, secure);
    let session = wsx_proto::Session::accepted(start, handler, handle.clone(), conn, request, Instant::now())
        // The options' settings are made from a parsed URL: they validate.
        .map_err(|e| (ServeError::Io(io::Error::other(e)), Some(Rejection::new(500))))?;
    Ok((Box::new(session), handle))
}

/// Reads an upgrade request, whatever does the reading: the buffer to read into and how
/// much, and what each read means. Bounded by the options' handshake timeout (from
/// [`new`](Self::new)) and size limit.
#[derive(Debug)]
pub struct RequestReader {
    buf: BytesMut,
    limit: usize,
    timeout: Duration,
    deadline: Instant,
}

impl RequestReader {
    /// A reader for a connection accepted at `now`.
    pub fn new(options: &ServeOptions, now: Instant) -> Self {
        let timeout = options.config.handshake_timeout;
        Self {
            buf: BytesMut::new(),
            limit: options.config.max_handshake_size,
            timeout,
            deadline: now + timeout,
        }
    }

    /// When the request must be whole.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The buffer to append the next read to, and at most how much to read.
    pub fn read_buffer(&mut self) -> (&mut BytesMut, usize) {
        (&mut self.buf, REQUEST_READ)
    }

    /// What a read into [`read_buffer`](Self::read_buffer) returned: the request once it is
    /// whole (with the bytes after it), why there is none, or `None` to read again.
    pub fn on_read(&mut self, read: io::Result<usize>) -> Option<Result<(UpgradeRequest, BytesMut), ServeError>> {
        match read {
            Ok(0) => Some(Err(ServeError::Closed)),
            Ok(_) => match UpgradeRequest::parse(&mut self.buf, self.limit) {
                Ok(Some(request)) => Some(Ok((request, std::mem::take(&mut self.buf)))),
                Ok(None) => None,
                Err(e) => Some(Err(ServeError::BadRequest(e))),
            },
            Err(e) if matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock) => None,
            Err(e) if wsx_proto::error::is_abrupt_close(&e) => Some(Err(ServeError::Closed)),
            Err(e) => Some(Err(ServeError::Io(e))),
        }
    }

    /// The error once the deadline has passed.
    pub fn timed_out(&self) -> ServeError {
        ServeError::TimedOut(self.timeout)
    }
}

/// Answers a request that will not be served with `rejection` (if any) and closes the
/// transport, within a second.
pub async fn answer<T: PollTransport>(transport: &mut T, timer: &mut impl PollTimer, rejection: Option<&Rejection>) {
    let mut out = BytesMut::new();
    if let Some(rejection) = rejection {
        rejection.encode(&mut out);
    }
    let give_up = Instant::now() + ANSWER_TIMEOUT;
    let mut written = 0;
    let mut flushed = false;
    poll_fn(|cx| {
        while written < out.len() {
            match transport.poll_write(cx, &out[written..]) {
                Poll::Ready(Ok(n)) if n > 0 => written += n,
                Poll::Ready(_) => return Poll::Ready(()),
                Poll::Pending => return timer.poll_until(cx, give_up),
            }
        }
        if !flushed {
            match transport.poll_flush(cx) {
                Poll::Ready(Ok(())) => flushed = true,
                Poll::Ready(Err(_)) => return Poll::Ready(()),
                Poll::Pending => return timer.poll_until(cx, give_up),
            }
        }
        match transport.poll_shutdown(cx) {
            Poll::Ready(_) => Poll::Ready(()),
            Poll::Pending => timer.poll_until(cx, give_up),
        }
    })
    .await;
}

/// Reads until a whole request is parsed: the request and the bytes after it (the client's
/// first frames).
async fn read_request<T: PollTransport>(
    transport: &mut T,
    timer: &mut impl PollTimer,
    options: &ServeOptions,
) -> Result<(UpgradeRequest, BytesMut), ServeError> {
    let mut reader = RequestReader::new(options, Instant::now());
    poll_fn(|cx| loop {
        let (buf, room) = reader.read_buffer();
        let read = match transport.poll_read_into(cx, buf, room) {
            Poll::Ready(read) => read,
            Poll::Pending => {
                return match timer.poll_until(cx, reader.deadline()) {
                    Poll::Ready(()) => Poll::Ready(Err(reader.timed_out())),
                    Poll::Pending => Poll::Pending,
                }
            }
        };
        if let Some(outcome) = reader.on_read(read) {
            return Poll::Ready(outcome);
        }
    })
    .await
}
