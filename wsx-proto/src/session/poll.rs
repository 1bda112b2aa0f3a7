//! The loop every async adapter runs, written once against two small traits: the adapter says
//! how its socket reads, writes and shuts down ([`PollTransport`]) and how its timer sleeps
//! ([`PollTimer`]); [`run`] moves bytes between them and a [`Session`]. Runtime-neutral: it
//! needs only a waker, so any executor can poll it.

use std::future::{poll_fn, Future};
use std::io;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::BytesMut;

use crate::protocol::error::Error;
use crate::session::handler::Handler;
use crate::session::settings::ConnectSettings;
use crate::session::state::{Action, Session};

/// How long a graceful shutdown of the transport (TLS close_notify, FIN) may take.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_millis(250);

/// An open, non-blocking byte stream (TCP, or TLS over TCP), as an async adapter has it.
pub trait PollTransport {
    /// Reads into the spare room of `buf` (reserving at least `wanted` bytes, the rest of a
    /// frame in progress); `Ok(0)` is end-of-file. An idle transport may free an empty `buf`.
    fn poll_read_into(&mut self, cx: &mut Context<'_>, buf: &mut BytesMut, wanted: usize) -> Poll<io::Result<usize>>;
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

/// Runs `session` until it stops: opens transports with `connect` when it asks, feeds it
/// commands, bytes and timeouts, writes what it queues, and closes transports when told.
pub async fn run<H, T, C, F>(session: &mut Session<H>, mut connect: C, timer: &mut impl PollTimer)
where
    H: Handler,
    T: PollTransport,
    C: FnMut(&ConnectSettings) -> F,
    F: Future<Output = Result<T, Error>>,
{
    let mut transport: Option<(T, bool)> = None;
    loop {
        while let Some(action) = session.poll_action(Instant::now()) {
            match action {
                Action::Connect => match connect(session.settings()).await {
                    Ok(opened) => {
                        transport = Some((opened, false));
                        session.transport_opened(Instant::now());
                    }
                    Err(e) => session.transport_failed(e, Instant::now()),
                },
                Action::CloseTransport => {
                    if let Some((mut closing, _)) = transport.take() {
                        let give_up = Instant::now() + SHUTDOWN_TIMEOUT;
                        poll_fn(|cx| match closing.poll_shutdown(cx) {
                            Poll::Ready(_) => Poll::Ready(()),
                            Poll::Pending => timer.poll_until(cx, give_up),
                        })
                        .await;
                    }
                }
                _ => return,
            }
        }
        let Some((open, needs_flush)) = &mut transport else {
            // Between attempts (a reconnect delay): sleep until the next one or a command.
            let Some(at) = session.poll_timeout() else { return };
            poll_fn(|cx| {
                session.register_waker(cx.waker());
                if session.handle_commands(Instant::now()) {
                    return Poll::Ready(());
                }
                timer.poll_until(cx, at)
            })
            .await;
            continue;
        };
        poll_fn(|cx| poll_turn(session, open, needs_flush, timer, cx)).await;
    }
}

/// Like [`run`], for a future that must own what it runs (a spawned task).
pub async fn run_owned<H, T, C, F>(mut session: Box<Session<H>>, connect: C, mut timer: impl PollTimer)
where
    H: Handler,
    T: PollTransport,
    C: FnMut(&ConnectSettings) -> F,
    F: Future<Output = Result<T, Error>>,
{
    run(&mut session, connect, &mut timer).await;
}

/// One wake-up: commands, writes, reads and the timer, each fed to the session. Ready once
/// anything happened, so the loop looks at the session's actions again.
fn poll_turn<H: Handler>(
    session: &mut Session<H>,
    transport: &mut impl PollTransport,
    needs_flush: &mut bool,
    timer: &mut impl PollTimer,
    cx: &mut Context<'_>,
) -> Poll<()> {
    let now = Instant::now();
    session.register_waker(cx.waker());
    let mut progressed = session.handle_commands(now);
    match poll_write(session, transport, needs_flush, now, cx) {
        Ok(wrote) => progressed |= wrote,
        Err(e) => {
            session.handle_io_error(e, now);
            return Poll::Ready(());
        }
    }
    // While the output backs up, the socket is not read: the peer feels TCP's backpressure.
    let (reading, wanted) = (session.wants_read(), session.bytes_wanted());
    if let Some(buf) = session.read_buffer().filter(|_| reading) {
        if let Poll::Ready(read) = transport.poll_read_into(cx, buf, wanted) {
            match read {
                Ok(0) => session.handle_eof(now),
                Ok(_) => session.handle_read(now),
                Err(e) => session.handle_io_error(e, now),
            }
            progressed = true;
        }
    }
    let deadline = session.poll_timeout();
    if let Some(at) = deadline {
        if timer.poll_until(cx, at).is_ready() {
            session.handle_timeout(Instant::now().max(at));
            progressed = true;
        }
    }
    if progressed {
        Poll::Ready(())
    } else {
        session.release_idle_buffers();
        if deadline.is_none() {
            timer.disarm();
        }
        Poll::Pending
    }
}

/// Writes what the session has queued, straight from its buffer (everything queued since the
/// last write in one call), then flushes. Returns whether anything was written.
fn poll_write<H: Handler>(
    session: &mut Session<H>,
    transport: &mut impl PollTransport,
    needs_flush: &mut bool,
    now: Instant,
    cx: &mut Context<'_>,
) -> io::Result<bool> {
    let mut wrote = false;
    loop {
        let pending = session.pending_transmit(now);
        if pending.is_empty() {
            session.consume_transmit(0);
            break;
        }
        let written = transport.poll_write(cx, pending);
        // Every `pending_transmit` is answered, with 0 when nothing was written.
        session.consume_transmit(match &written {
            Poll::Ready(Ok(n)) => *n,
            _ => 0,
        });
        match written {
            Poll::Ready(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
            Poll::Ready(Ok(_)) => {
                *needs_flush = true;
                wrote = true;
            }
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
            Poll::Ready(Err(e)) => return Err(e),
            Poll::Pending => break,
        }
    }
    if *needs_flush {
        if let Poll::Ready(result) = transport.poll_flush(cx) {
            result?;
            *needs_flush = false;
        }
    }
    Ok(wrote)
}
