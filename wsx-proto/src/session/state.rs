//! The session's life: connect attempts, the connection on an open transport, its end, and
//! what `handle_disconnect` decides; the I/O surface adapters drive.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;

use crate::error::CloseReason;
use crate::error::{is_abrupt_close, Error};
use crate::protocol::buffer;
use crate::protocol::close::CloseFrame;
use crate::protocol::connection::Connection;
use crate::protocol::handshake::Response;
use crate::protocol::upgrade::UpgradeRequest;
use crate::session::acks::{Ack, PendingAcks};
use crate::session::driver::TurnState;
use crate::session::handler::{DisconnectStatus, Handler, Reconnect};
use crate::session::link::{Command, Link, Waiter, ENCODE_MAX};
use crate::session::settings::ConnectSettings;
use crate::session::start::StartOptions;
use crate::session::status::{SendError, Status};
use crate::session::telemetry::{Observer, Telemetry, TelemetryKind};

/// How long the last bytes of a connection (typically its close frame) may take to leave
/// before the transport is closed anyway; never longer than the close timeout.
const FINAL_FLUSH_TIMEOUT: Duration = Duration::from_secs(1);

/// What the session's life wants next, before any I/O (see [`Session::poll_output`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Open a transport (TCP, then TLS for `wss://`) for [`Session::settings`], within its
    /// connect timeout; then call [`Session::transport_opened`] or [`Session::transport_failed`].
    Connect,
    /// Close the transport now (a graceful shutdown if it is quick); nothing more will be
    /// written to it.
    CloseTransport,
    /// The client has stopped for good: end the task or thread.
    Stop,
}

#[derive(Debug)]
enum Phase {
    /// A transport is wanted: the next `poll_action` asks for one.
    Connect,
    /// The adapter is opening a transport.
    Opening,
    /// A transport is open and the connection runs on it.
    Running,
    /// The connection ended: its last bytes leave until `deadline`, then the transport closes.
    /// The deadline is set at the next `poll_action`, not when the connection ended: the
    /// callbacks that ran since (a slow one, or a panic hook printing a backtrace) must not
    /// eat the time the last bytes have to leave.
    Flushing {
        reason: Box<CloseReason>,
        deadline: Option<Instant>,
    },
    /// `handle_disconnect` asked to reconnect later: the next attempt starts at `until`; a
    /// close before then stops with `reason`, the disconnect's.
    Waiting { until: Instant, reason: Box<CloseReason> },
    /// Stopped for good.
    Stopped,
}

/// What an unhandled failure of the first connect does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InitialFailure {
    /// A synchronous start returns it; no callback runs.
    Return,
    /// An async start terminates with it.
    Terminate,
}

/// A `send_frame` frame in the output, none of it written yet: its caller may still take it
/// back (see [`Session::pending_transmit`]).
#[derive(Debug)]
pub(crate) struct Revocable<W> {
    /// Its bytes' offsets, as [`Connection::queued_bytes`] counts them.
    pub(crate) start: u64,
    pub(crate) end: u64,
    /// Its payload, counted as sent when it was queued.
    pub(crate) payload: u64,
    pub(crate) signal: W,
}

/// One client's whole life, sans-IO: the protocol ([`Connection`]), the handler and its
/// callbacks, reconnects, status, timers, acks and the send budget, telemetry and tracing.
///
/// A driver owns one per client, on its task or thread, and only does what
/// [`poll_output`](Self::poll_output) says, answering with
/// [`handle_input`](Self::handle_input) (see [`Output`](crate::Output)); when its
/// [`Link`] has commands waiting, it says [`Input::Woken`](crate::Input::Woken). Every input
/// takes the time; the session reads no clock of its own.
pub struct Session<H: Handler, L: Link<Cast = H::Cast>> {
    pub(crate) handler: H,
    pub(crate) link: L,
    pub(crate) settings: ConnectSettings,
    observers: Box<[Arc<dyn Observer>]>,
    span: tracing::Span,
    phase: Phase,
    pub(crate) conn: Option<Connection>,
    pub(crate) acks: PendingAcks<L::Waiter>,
    /// `send_frame` frames queued and not yet (partly) written, oldest first (boxed, and only
    /// while there are any: an idle connection holds no list).
    #[allow(clippy::box_collection)] // one word per idle session instead of a Vec's three
    pub(crate) revocable: Option<Box<Vec<Revocable<L::Waiter>>>>,
    /// Between `pending_transmit` and `consume_transmit`: the revocable frames are being
    /// handed to the socket.
    writing: bool,
    /// What the driver said about the transport since it last woke.
    pub(crate) io: TurnState,
    /// Commands taken from the handle in one go.
    pub(crate) batch: VecDeque<Command<H::Cast, L::Waiter>>,
    /// The bytes of the batch's `Encoded` commands.
    pub(crate) encoded: BytesMut,
    /// `send_after` calls of the last callbacks, not yet given a deadline.
    pub(crate) scheduled: Vec<(Duration, H::Info)>,
    /// Scheduled messages with their deadlines; they survive reconnects and fire while open.
    pub(crate) timers: Vec<(Instant, H::Info)>,
    /// Casts that arrived while connecting, delivered once connected.
    pub(crate) deferred_casts: Vec<H::Cast>,
    /// A close asked for while connecting, sent once connected.
    /// (Boxed: rare, and every session holds the field.)
    pub(crate) deferred_close: Option<Box<Option<CloseFrame>>>,
    pub(crate) response: Option<Response>,
    /// A server's connection: the client's request (boxed: most sessions are clients). A
    /// server's session never reconnects.
    pub(crate) request: Option<Box<UpgradeRequest>>,
    /// Consecutive failed attempts (WebSockex's `attempt_number`).
    attempt: u32,
    /// Until the first connection opens: what a failed attempt does without
    /// `handle_initial_conn_failure`.
    initial_failure: Option<InitialFailure>,
    /// The current connection reached `Open`.
    pub(crate) opened: bool,
    /// When the open connection opened (for [`DisconnectStatus::connected_for`]).
    opened_at: Option<Instant>,
    /// Set once a callback panicked: no callback runs again.
    pub(crate) panicked: bool,
    /// Why the session failed the current connection itself (a panic, an invalid reply): the
    /// reason it ends with. Boxed: rare, and every session holds the field.
    pub(crate) failure: Option<Box<Error>>,
}

impl<H: Handler, L: Link<Cast = H::Cast>> std::fmt::Debug for Session<H, L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("url", &self.settings.url().as_str())
            .field("phase", &self.phase)
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

impl<H: Handler, L: Link<Cast = H::Cast>> Session<H, L> {
    /// A session for `handler` with `options`, sharing `link` with its client handles
    /// (callbacks reach it through their context). Fails if the settings are unusable (a bad
    /// URL or header).
    pub fn new(options: StartOptions, handler: H, link: L) -> Result<Self, Error> {
        let settings = options.settings?;
        settings.request.validate()?;
        let span = tracing::debug_span!(target: "wsx", "connection", url = %settings.url());
        Ok(Self {
            handler,
            link,
            settings,
            observers: options.observers.into_boxed_slice(),
            span,
            phase: Phase::Connect,
            conn: None,
            acks: PendingAcks::default(),
            revocable: None,
            writing: false,
            io: TurnState::default(),
            batch: VecDeque::new(),
            encoded: BytesMut::new(),
            scheduled: Vec::new(),
            timers: Vec::new(),
            deferred_casts: Vec::new(),
            deferred_close: None,
            response: None,
            request: None,
            attempt: 0,
            initial_failure: match (options.handle_initial_conn_failure, options.async_start) {
                (true, _) => None,
                (false, false) => Some(InitialFailure::Return),
                (false, true) => Some(InitialFailure::Terminate),
            },
            opened: false,
            opened_at: None,
            panicked: false,
            failure: None,
        })
    }

    /// A session for a connection a server accepted ([`Connection::accept`], with any bytes
    /// the client sent after its request already [received](Connection::receive)), on a
    /// transport its driver already holds: it runs from the first poll, `handle_connect`
    /// included, with `request` in the callbacks' context. It never reconnects: when the
    /// connection ends, `terminate` runs and the session stops.
    pub fn accepted(
        options: StartOptions,
        handler: H,
        link: L,
        conn: Connection,
        request: UpgradeRequest,
        now: Instant,
    ) -> Result<Self, Error> {
        let mut session = Self::new(options, handler, link)?;
        session.span =
            tracing::debug_span!(target: "wsx", "connection", url = %session.settings.url(), role = "server");
        session.initial_failure = None;
        session.request = Some(Box::new(request));
        session.run_connection(conn, now);
        session.after_input(now);
        Ok(session)
    }

    /// What the session shares with its client handles.
    pub fn link(&self) -> &L {
        &self.link
    }

    /// The settings the next or current connection uses.
    pub fn settings(&self) -> &ConnectSettings {
        &self.settings
    }

    /// The span every trace event of this client belongs to; adapters run the session in it.
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// What the adapter must do next, if anything; call at the top of every loop turn until
    /// it returns `None`.
    pub(crate) fn poll_action(&mut self, now: Instant) -> Option<Action> {
        if let Phase::Waiting { until, .. } = self.phase {
            if now < until {
                return None;
            }
            self.phase = Phase::Connect;
        }
        if let Phase::Flushing {
            deadline: unset @ None,
            reason,
        } = &mut self.phase
        {
            let mut at = now + FINAL_FLUSH_TIMEOUT.min(self.settings.config.close_timeout);
            // Our own close, from `close()` to the transport closing, stays within the close
            // timeout: a close that timed out has no time left for bytes that cannot leave.
            if let CloseReason::Local(_) | CloseReason::LocalTimedOut(_) = **reason {
                if let Some(close_at) = self.conn.as_ref().and_then(Connection::close_deadline) {
                    at = at.min(close_at.max(now));
                }
            }
            *unset = Some(at);
        }
        match &self.phase {
            Phase::Connect => {
                tracing::debug!(target: "wsx", url = %self.settings.url(), attempt = self.attempt + 1, "attempting to connect");
                self.link.set_status(Status::Connecting);
                self.phase = Phase::Opening;
                Some(Action::Connect)
            }
            Phase::Opening | Phase::Running | Phase::Waiting { .. } => None,
            Phase::Flushing { deadline, .. } => {
                if self.wants_write() && deadline.is_some_and(|at| now < at) {
                    return None;
                }
                let Phase::Flushing { reason, .. } = std::mem::replace(&mut self.phase, Phase::Opening) else {
                    unreachable!("matched above")
                };
                let reason = *reason;
                self.conn = None;
                self.revocable = None;
                self.writing = false;
                for ack in self.acks.drain() {
                    match ack {
                        Ack::Written(signal) => signal.fill(Err(SendError::ConnectionFailed(Some(reason.clone())))),
                        Ack::Permits { cost, .. } => self.link.release_budget(cost),
                    }
                }
                self.disconnected(reason, now);
                Some(Action::CloseTransport)
            }
            Phase::Stopped => Some(Action::Stop),
        }
    }

    /// The transport asked for by [`Action::Connect`] is open: the handshake starts.
    pub(crate) fn transport_opened(&mut self, now: Instant) {
        match Connection::new(&self.settings.request, self.settings.config.clone()) {
            Ok(conn) => self.run_connection(conn, now),
            Err(e) => self.end(CloseReason::Error(e.into())),
        }
    }

    /// The transport asked for by [`Action::Connect`] is open with the handshake done
    /// (HTTP/2): the connection is open from its first event.
    pub(crate) fn transport_upgraded(&mut self, response: Response, now: Instant) {
        let conn = Connection::upgraded(response, self.settings.config.clone());
        self.run_connection(conn, now);
        // `handle_connect` runs now, not after the first read: a server may say nothing first.
        self.after_input(now);
    }

    fn run_connection(&mut self, mut conn: Connection, now: Instant) {
        conn.start_pending_timer(now);
        // Telemetry wants every frame, and split messages are the connection's work.
        let mut limit = match (self.observers.is_empty(), self.settings.config.outgoing_frame_size) {
            (false, _) => 0,
            (true, Some(size)) => size.min(ENCODE_MAX),
            (true, None) => ENCODE_MAX,
        };
        // Only messages sent uncompressed may be framed by the sender: the rest need
        // the connection's compressor.
        if let Some(deflate) = &self.settings.config.deflate {
            limit = limit.min(deflate.threshold.saturating_sub(1));
        }
        self.link.set_encode_limit(limit);
        self.conn = Some(conn);
        self.phase = Phase::Running;
        self.failure = None;
        self.handle_commands(now);
    }

    /// The transport asked for by [`Action::Connect`] could not be opened.
    pub(crate) fn transport_failed(&mut self, error: Error, now: Instant) {
        self.phase = Phase::Opening;
        self.disconnected(CloseReason::Error(error), now);
    }

    /// The bytes to write now, all queued frames in one slice (empty when there are none).
    /// Every call is followed by [`consume_transmit`](Self::consume_transmit), with 0 if
    /// nothing was written: `send_frame` frames whose caller timed out are taken out here,
    /// and the rest cannot be taken back until the write has returned.
    pub(crate) fn pending_transmit(&mut self, now: Instant) -> &[u8] {
        let Some(conn) = &mut self.conn else { return &[] };
        if let Some(revocable) = self.revocable.as_deref_mut() {
            begin_write(conn, revocable, &mut self.acks, &self.link);
            self.writing = true;
        }
        conn.pending_transmit(now)
    }

    /// Whether a write announced by [`pending_transmit`](Self::pending_transmit) awaits its
    /// outcome.
    pub(crate) fn writing(&self) -> bool {
        self.writing
    }

    /// `n` bytes of [`pending_transmit`](Self::pending_transmit) were written: the
    /// `send_frame` callers and the send budget waiting on them are told.
    pub(crate) fn consume_transmit(&mut self, n: usize) {
        let Some(conn) = &mut self.conn else { return };
        conn.consume_transmit(n);
        if std::mem::take(&mut self.writing) {
            let transmitted = conn.transmitted_bytes();
            if let Some(revocable) = self.revocable.as_deref_mut() {
                revocable.retain(|frame| {
                    let written = frame.start < transmitted;
                    frame.signal.end_write(written);
                    !written
                });
                if revocable.is_empty() {
                    self.revocable = None;
                }
            }
        }
        self.link.set_unwritten(conn.unwritten_bytes());
        let link = &self.link;
        self.acks.fire_written(conn, |ack| match ack {
            Ack::Written(signal) => signal.fill(Ok(())),
            Ack::Permits { cost, .. } => link.release_budget(cost),
        });
    }

    /// Whether there are bytes to write.
    pub(crate) fn wants_write(&self) -> bool {
        self.conn.as_ref().is_some_and(Connection::wants_write)
    }

    /// How much the next read should take ([`Connection::read_room`]).
    pub(crate) fn read_room(&self) -> usize {
        self.conn.as_ref().map_or(0, Connection::read_room)
    }

    /// Call when the task is about to wait: gives back the room of what a burst left behind
    /// (empty send buffers, command batches larger than a small working size), so a waiting
    /// connection holds only what is still unwritten and a quiet one goes back to its idle
    /// size. Buffers are recycled per thread ([`buffer`](crate::protocol::buffer)), so a busy
    /// connection gets one back at once.
    pub(crate) fn release_idle_buffers(&mut self) {
        const KEEP_COMMANDS: usize = 1024;
        if let Some(conn) = &mut self.conn {
            conn.release_write_buffer();
        }
        if self.batch.is_empty() && self.batch.capacity() > KEEP_COMMANDS {
            self.batch = VecDeque::new();
        }
        if self.encoded.is_empty() {
            buffer::recycle(&mut self.encoded);
        }
        self.link.release_idle_buffers(KEEP_COMMANDS);
    }

    /// Gives back the read buffer's room beyond the frame in progress.
    pub(crate) fn release_read_buffer(&mut self, now: Instant) {
        if let Some(conn) = &mut self.conn {
            conn.release_read_buffer(now);
        }
    }

    /// Bytes were appended to the read buffer: runs the callbacks for what they complete.
    pub(crate) fn handle_read(&mut self, now: Instant) {
        self.after_input(now);
    }

    /// The transport reached end-of-file (the peer closed TCP).
    pub(crate) fn handle_eof(&mut self, now: Instant) {
        if let (Some(conn), Phase::Running) = (&mut self.conn, &self.phase) {
            conn.receive_eof();
        }
        self.after_input(now);
    }

    /// Reading or writing failed. A reset or a cut TLS stream is the peer going away (like
    /// end-of-file); anything else ends the connection with [`Error::Io`]. Either way nothing
    /// more is written.
    pub(crate) fn handle_io_error(&mut self, error: io::Error, now: Instant) {
        if is_abrupt_close(&error) {
            self.handle_eof(now);
        } else if let Phase::Running = self.phase {
            self.end(CloseReason::Error(error.into()));
        }
        if let Phase::Flushing { deadline, .. } = &mut self.phase {
            self.conn = None;
            *deadline = Some(now);
        }
    }

    /// Runs the commands client handles sent since the last call; returns whether any ran.
    /// While the connection's unwritten output fills the send buffer, commands wait in order
    /// (a `send_frame` that times out meanwhile is withdrawn, never sent), except a close,
    /// which runs at once so that a peer that stopped reading can still be closed (within the
    /// close timeout); what waited behind it is then refused.
    pub(crate) fn handle_commands(&mut self, now: Instant) -> bool {
        self.link.take_commands(&mut self.batch, &mut self.encoded);
        let mut ran = false;
        while self.backlog_has_room() {
            let Some(command) = self.batch.pop_front() else { break };
            self.on_command(command);
            ran = true;
        }
        // What waits must not grow by the frames of `send_frame` calls that gave up.
        self.batch
            .retain(|c| !matches!(c, Command::SendFrame(_, signal) if signal.is_withdrawn()));
        if let Some(i) = self.batch.iter().position(|c| matches!(c, Command::Close(_))) {
            if let Some(close) = self.batch.remove(i) {
                self.on_command(close);
                ran = true;
            }
        }
        if ran {
            self.after_input(now);
        }
        if let (Phase::Waiting { reason, .. }, Some(_)) = (&self.phase, &self.deferred_close) {
            // Closed while waiting to reconnect: stop now, not at the next attempt.
            let reason = CloseReason::clone(reason);
            self.deferred_close = None;
            self.stop(reason);
        }
        ran
    }

    /// Whether the unwritten output leaves room in the send buffer. Without a connection,
    /// commands always run (to be deferred or refused).
    fn backlog_has_room(&self) -> bool {
        match &self.conn {
            Some(conn) => conn.unwritten_bytes() < self.link.send_buffer(),
            None => true,
        }
    }

    /// Whether to read from the transport now: not while replies (the output beyond what
    /// pipelined sends account for, which their budget bounds) fill the send buffer, so replies
    /// to a peer that does not read cannot pile up; TCP pushes back on it instead. Reading never
    /// waits on pipelined sends alone: an echoing peer must be read for it to read our sends.
    /// Nothing is read once a connection has ended (its last bytes are being flushed).
    pub(crate) fn wants_read(&self) -> bool {
        match (&self.conn, &self.phase) {
            (Some(conn), Phase::Running) => {
                let replies = conn.unwritten_bytes().saturating_sub(self.acks.unwritten_send_bytes());
                replies < self.link.send_buffer()
            }
            _ => false,
        }
    }

    /// The next instant [`handle_timeout`](Self::handle_timeout) is due: the protocol's
    /// timers, messages scheduled with `send_after` (while open), or the end of the final flush.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Running => {
                let conn = self.conn.as_ref()?;
                let open = conn.state() == crate::protocol::connection::State::Open;
                let timers = self.timers.iter().map(|(at, _)| *at).filter(|_| open);
                timers.chain(conn.poll_timeout()).min()
            }
            Phase::Flushing { deadline, .. } => *deadline,
            Phase::Waiting { until, .. } => Some(*until),
            _ => None,
        }
    }

    /// Advances the timers to `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if let (Some(conn), Phase::Running) = (&mut self.conn, &self.phase) {
            conn.handle_timeout(now);
            self.fire_timers(now);
        }
        self.after_input(now);
    }

    /// After any input: runs the callbacks for the connection's events, gives new `send_after`
    /// messages their deadlines, and starts timers armed since.
    fn after_input(&mut self, now: Instant) {
        if !matches!(self.phase, Phase::Running) {
            return;
        }
        let closed = self.poll_events();
        if self.opened && self.opened_at.is_none() {
            self.opened_at = Some(now);
        }
        if let Some(reason) = closed {
            self.end(reason);
            return;
        }
        for (delay, msg) in self.scheduled.drain(..) {
            self.timers.push((now + delay, msg));
        }
        if let Some(conn) = &mut self.conn {
            conn.start_pending_timer(now);
            self.link.set_unwritten(conn.unwritten_bytes());
        }
    }

    /// The connection is over: flush what is left, briefly, then close the transport.
    pub(crate) fn end(&mut self, reason: CloseReason) {
        if let CloseReason::LocalTimedOut(_) = reason {
            tracing::debug!(target: "wsx", "forcefully closed the connection because the server was taking too long to close");
        }
        self.link.set_status(Status::Connecting);
        self.phase = Phase::Flushing {
            reason: Box::new(reason),
            deadline: None,
        };
    }

    /// After a connection ended or could not be made: applies the start options to a failed
    /// first connect, otherwise asks `handle_disconnect` whether to reconnect.
    fn disconnected(&mut self, reason: CloseReason, now: Instant) {
        tracing::debug!(target: "wsx", %reason, "disconnected");
        let was_connected = std::mem::take(&mut self.opened);
        self.response = None;
        // Commands sent while no connection runs: a close among them stops the client.
        self.handle_commands(now);
        if self.panicked || self.request.is_some() {
            self.emit(TelemetryKind::Disconnected(&reason));
            return self.stop(reason);
        }
        match self.initial_failure.take() {
            _ if was_connected => {}
            Some(InitialFailure::Return) => {
                self.phase = Phase::Stopped;
                return self.link.finish(&reason);
            }
            Some(InitialFailure::Terminate) => return self.stop(reason),
            None => {}
        }
        self.emit(TelemetryKind::Disconnected(&reason));
        if self.deferred_close.take().is_some() {
            // The user asked to close before this connection opened: do not reconnect.
            return self.stop(reason);
        }
        self.attempt = if was_connected { 1 } else { self.attempt + 1 };
        let mut status = DisconnectStatus::new(reason.clone(), self.attempt, self.settings.clone());
        status.connected_for = self.opened_at.take().map(|at| now.saturating_duration_since(at));
        let (delay, settings) = match self.call_plain(|handler| handler.handle_disconnect(status)) {
            Ok(Reconnect::Stop) => return self.stop(reason),
            Err(message) => return self.stop(CloseReason::Error(Error::HandlerPanicked(message))),
            Ok(Reconnect::Reconnect) => (Duration::ZERO, None),
            Ok(Reconnect::ReconnectWith(settings)) => (Duration::ZERO, Some(settings)),
            Ok(Reconnect::After(delay)) => (delay, None),
            Ok(Reconnect::AfterWith(delay, settings)) => (delay, Some(settings)),
        };
        if let Some(settings) = settings {
            if let Err(e) = settings.request.validate() {
                return self.stop(CloseReason::Error(e.into()));
            }
            self.settings = settings;
        }
        self.phase = match delay {
            Duration::ZERO => Phase::Connect,
            delay => {
                tracing::debug!(target: "wsx", ?delay, "reconnecting after a delay");
                Phase::Waiting {
                    until: now + delay,
                    reason: Box::new(reason),
                }
            }
        };
    }

    /// Stops for good: `terminate` (unless a callback panicked), then the end is announced.
    fn stop(&mut self, reason: CloseReason) {
        tracing::debug!(target: "wsx", %reason, "terminating");
        if !self.panicked {
            // A panic in terminate changes nothing: the reason stands.
            let _ = self.call_plain(|handler| handler.terminate(&reason));
        }
        self.emit(TelemetryKind::Terminate(&reason));
        self.phase = Phase::Stopped;
        self.link.finish(&reason);
    }

    /// Tells the observers.
    pub(crate) fn emit(&self, kind: TelemetryKind<'_>) {
        if self.observers.is_empty() {
            return;
        }
        let event = Telemetry {
            time: self.link.wall_clock(),
            settings: &self.settings,
            handler: std::any::type_name::<H>(),
            kind,
        };
        for observer in &self.observers {
            observer.observe(&event);
        }
    }
}

/// Before a write: takes out the frames whose callers withdrew them (none of their bytes was
/// written: they are revocable) and marks the others as being written.
fn begin_write<L: Link>(
    conn: &mut Connection,
    revocable: &mut Vec<Revocable<L::Waiter>>,
    acks: &mut PendingAcks<L::Waiter>,
    link: &L,
) {
    let mut i = 0;
    while i < revocable.len() {
        let frame = &revocable[i];
        if frame.signal.begin_write() {
            i += 1;
            continue;
        }
        let (start, len) = (frame.start, frame.end - frame.start);
        if conn.take_back(start, frame.end) {
            let signal = &frame.signal;
            acks.take_back(start, len, |ack| matches!(ack, Ack::Written(s) if s.same(signal)));
            link.uncount_out(frame.payload);
            for later in &mut revocable[i + 1..] {
                later.start -= len;
                later.end -= len;
            }
        }
        revocable.remove(i);
    }
}

impl<H: Handler, L: Link<Cast = H::Cast>> Drop for Session<H, L> {
    /// A session dropped before it stopped (its runtime shut down, or the adapter panicked)
    /// still ends its client, so `wait` and `send` don't hang.
    fn drop(&mut self) {
        if !matches!(self.phase, Phase::Stopped) {
            self.link.finish(&CloseReason::Error(Error::Aborted));
        }
    }
}
