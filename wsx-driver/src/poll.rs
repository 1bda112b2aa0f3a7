//! The loop every async adapter runs, written once against two small traits: the adapter says
//! how its socket reads, writes and shuts down ([`PollTransport`]) and how its timer sleeps
//! ([`PollTimer`]); [`run`] moves bytes between them and a [`Session`]. Runtime-neutral: it
//! needs only a waker, so any executor can poll it.

use std::future::{poll_fn, Future};
use std::io;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::BytesMut;

use wsx_proto::{ConnectSettings, Error, Handler, Input, Output, Response};

use crate::Session;

/// How long a graceful shutdown of the transport (TLS close_notify, FIN) may take.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_millis(250);

/// An open, non-blocking byte stream (TCP, or TLS over TCP), as an async adapter has it. Not
/// ready is `Pending` with the waker registered, as for any poll function: an
/// `Err(WouldBlock)` would be taken for a full or empty transport and wait for a wake-up that
/// never comes.
pub trait PollTransport {
    /// Reads at most `room` bytes into the spare room of `buf`, reserving that much first
    /// ([`Output::Read`]); `Ok(0)` is end-of-file.
    fn poll_read_into(&mut self, cx: &mut Context<'_>, buf: &mut BytesMut, room: usize) -> Poll<io::Result<usize>>;
    /// Writes a prefix of `buf`.
    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;
    /// Flushes what the transport buffers (TLS records).
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Shuts the writing side down (close_notify, FIN).
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

/// The runtime's timer: one deadline at a time.
pub trait PollTimer {
    /// Ready once `at` has passed; re-arms when `at` changes.
    fn poll_until(&mut self, cx: &mut Context<'_>, at: Instant) -> Poll<()>;

    /// No deadline for now (the connection went idle with none): a timer may free what it
    /// holds, so an idle connection keeps no timer.
    fn disarm(&mut self) {}
}

/// What an adapter's connect gives [`run`]: the transport, and the accepted response when the
/// WebSocket's handshake is already done (over HTTP/2: [`Input::Upgraded`]).
pub type Connected<T> = (T, Option<Box<Response>>);

/// Runs `session` until it stops: a loop over [`Session::poll_output`], opening transports
/// with `connect`, moving bytes, sleeping on the transport, the timer and the client handles'
/// commands, and closing transports when told.
pub async fn run<H, T, C, F>(session: &mut Session<H>, connect: C, timer: &mut impl PollTimer)
where
    H: Handler,
    T: PollTransport,
    C: FnMut(&ConnectSettings) -> F,
    F: Future<Output = Result<Connected<T>, Error>>,
{
    drive(session, None, connect, timer).await;
}

/// Runs a server's accepted connection ([`accept`](crate::serve::accept)) on the transport
/// its request came on, until the session stops.
pub async fn run_accepted<H: Handler, T: PollTransport>(
    mut session: Box<Session<H>>,
    transport: T,
    mut timer: impl PollTimer,
) {
    // A server's session never asks for a transport: it does not reconnect.
    let connect = |_: &ConnectSettings| std::future::pending::<Result<Connected<T>, Error>>();
    drive(&mut session, Some(transport), connect, &mut timer).await;
}

async fn drive<H, T, C, F>(session: &mut Session<H>, transport: Option<T>, mut connect: C, timer: &mut impl PollTimer)
where
    H: Handler,
    T: PollTransport,
    C: FnMut(&ConnectSettings) -> F,
    F: Future<Output = Result<Connected<T>, Error>>,
{
    let mut transport: Option<(T, bool)> = transport.map(|t| (t, false));
    loop {
        match poll_fn(|cx| poll_io(session, transport.as_mut(), timer, cx)).await {
            Next::Connect => match connect(session.settings()).await {
                Ok((opened, upgraded)) => {
                    transport = Some((opened, false));
                    let input = match upgraded {
                        Some(response) => Input::Upgraded(response),
                        None => Input::Opened,
                    };
                    session.handle_input(input, Instant::now());
                }
                Err(e) => session.handle_input(Input::OpenFailed(e), Instant::now()),
            },
            Next::CloseTransport => {
                if let Some((mut closing, _)) = transport.take() {
                    let give_up = Instant::now() + SHUTDOWN_TIMEOUT;
                    poll_fn(|cx| match closing.poll_shutdown(cx) {
                        Poll::Ready(_) => Poll::Ready(()),
                        Poll::Pending => timer.poll_until(cx, give_up),
                    })
                    .await;
                }
            }
            Next::Stop => return,
        }
    }
}

/// The outputs [`poll_io`] leaves to [`run`].
enum Next {
    Connect,
    CloseTransport,
    Stop,
}

/// Like [`run`], for a future that must own what it runs (a spawned task).
pub async fn run_owned<H, T, C, F>(mut session: Box<Session<H>>, connect: C, mut timer: impl PollTimer)
where
    H: Handler,
    T: PollTransport,
    C: FnMut(&ConnectSettings) -> F,
    F: Future<Output = Result<Connected<T>, Error>>,
{
    run(&mut session, connect, &mut timer).await;
}

/// Moves bytes and sleeps, as the session's outputs say, until it wants a transport opened or
/// closed, or stops: then ready with that, for [`run`] to do.
fn poll_io<H: Handler, T: PollTransport>(
    session: &mut Session<H>,
    mut transport: Option<&mut (T, bool)>,
    timer: &mut impl PollTimer,
    cx: &mut Context<'_>,
) -> Poll<Next> {
    session.link().register(cx.waker());
    session.handle_input(Input::Woken, Instant::now());
    loop {
        let now = Instant::now();
        let input = match (session.poll_output(now), transport.as_deref_mut()) {
            (Output::Transmit(bytes), Some((open, needs_flush))) => match open.poll_write(cx, bytes) {
                Poll::Ready(written) => {
                    let input = Input::from_write(written);
                    *needs_flush |= matches!(input, Input::Written(1..));
                    input
                }
                Poll::Pending => Input::WriteBlocked,
            },
            (Output::Read { buf, room }, Some((open, _))) => match open.poll_read_into(cx, buf, room) {
                Poll::Ready(read) => Input::from_read(read),
                Poll::Pending => Input::ReadBlocked,
            },
            (Output::Wait { deadline, .. }, open) => {
                if let Some((open, needs_flush)) = open.filter(|(_, needs_flush)| *needs_flush) {
                    match open.poll_flush(cx) {
                        Poll::Ready(Ok(())) => *needs_flush = false,
                        Poll::Ready(Err(e)) => {
                            session.handle_input(Input::IoError(e), now);
                            continue;
                        }
                        Poll::Pending => {}
                    }
                }
                match deadline {
                    Some(at) => match timer.poll_until(cx, at) {
                        Poll::Ready(()) => Input::Woken,
                        Poll::Pending => return Poll::Pending,
                    },
                    None => {
                        timer.disarm();
                        return Poll::Pending;
                    }
                }
            }
            (Output::Connect(_), _) => return Poll::Ready(Next::Connect),
            (Output::CloseTransport, _) => return Poll::Ready(Next::CloseTransport),
            (Output::Stop, _) => return Poll::Ready(Next::Stop),
            // Bytes to move without a transport: cannot happen, since the session asks for
            // reads and writes only while one is open.
            (Output::Transmit(_), None) => Input::WriteBlocked,
            (Output::Read { .. }, None) => Input::ReadBlocked,
        };
        session.handle_input(input, now);
    }
}
