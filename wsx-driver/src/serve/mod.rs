//! The server side every adapter shares: the upgrade request read and answered within its
//! limits, the application's decision, the accepted connection's session, and the registry
//! of a listener's connections (its cap and graceful shutdown). An adapter brings its socket
//! and timer ([`PollTransport`], [`PollTimer`]) and its listener's accept loop.

mod builder;
mod registry;

use std::future::poll_fn;
use std::io;
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
/// connection's URL is `wss`).
pub async fn accept<H, T, Tm, D>(
    mut transport: T,
    mut timer: Tm,
    options: &ServeOptions,
    secure: bool,
    decide: D,
) -> Result<Accepted<H, T, Tm>, ServeError>
where
    H: Handler,
    T: PollTransport,
    Tm: PollTimer,
    D: FnOnce(&UpgradeRequest) -> Decision<H>,
{
    let outcome: Result<std::convert::Infallible, (ServeError, Option<Rejection>)> =
        match read_request(&mut transport, &mut timer, options).await {
            Ok((request, leftover)) => match decide(&request) {
                Decision::Accept { handler, accept } => {
                    match Connection::accept(&request, &accept, options.config.clone()) {
                        Ok(mut conn) => {
                            conn.receive(&leftover);
                            let handle = ClientHandle::new(options.send_buffer);
                            let start = options.start_options(&request, secure);
                            let session = wsx_proto::Session::accepted(
                                start,
                                handler,
                                handle.clone(),
                                conn,
                                request,
                                Instant::now(),
                            );
                            match session {
                                Ok(session) => {
                                    return Ok(Accepted {
                                        session: Box::new(session),
                                        handle,
                                        transport,
                                        timer,
                                    })
                                }
                                // The options' settings are made from a parsed URL: they validate.
                                Err(e) => Err((ServeError::Io(io::Error::other(e)), Some(Rejection::new(500)))),
                            }
                        }
                        Err(e) => Err((ServeError::Accept(e), Some(Rejection::new(500)))),
                    }
                }
                Decision::Reject(rejection) => Err((ServeError::Rejected(rejection.status), Some(rejection))),
            },
            Err(e) => {
                let rejection = e.rejection();
                Err((e, rejection))
            }
        };
    let Err((error, rejection)) = outcome;
    tracing::debug!(target: "wsx", %error, "upgrade request not accepted");
    answer(&mut transport, &mut timer, rejection.as_ref()).await;
    Err(error)
}

/// Answers a request that will not be served with `rejection` (if any) and closes the
/// transport, within [`ANSWER_TIMEOUT`].
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
    let timeout = options.config.handshake_timeout;
    let deadline = Instant::now() + timeout;
    let limit = options.config.max_handshake_size;
    let mut buf = BytesMut::new();
    poll_fn(|cx| loop {
        match UpgradeRequest::parse(&mut buf, limit) {
            Ok(Some(request)) => return Poll::Ready(Ok((request, std::mem::take(&mut buf)))),
            Ok(None) => {}
            Err(e) => return Poll::Ready(Err(ServeError::BadRequest(e))),
        }
        match transport.poll_read_into(cx, &mut buf, REQUEST_READ) {
            Poll::Ready(Ok(0)) => return Poll::Ready(Err(ServeError::Closed)),
            Poll::Ready(Ok(_)) => {}
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
            Poll::Ready(Err(e)) if wsx_proto::error::is_abrupt_close(&e) => {
                return Poll::Ready(Err(ServeError::Closed))
            }
            Poll::Ready(Err(e)) => return Poll::Ready(Err(ServeError::Io(e))),
            Poll::Pending => {
                return match timer.poll_until(cx, deadline) {
                    Poll::Ready(()) => Poll::Ready(Err(ServeError::TimedOut(timeout))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    })
    .await
}
