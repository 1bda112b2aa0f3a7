//! What every adapter does between the connection and the user's [`Handler`]: run the right
//! callback for each event, apply its [`Reply`], trace it, count it, and tell the observers.
//! An adapter only moves bytes, arms timers and delivers messages; this is the rest.

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::client::{CallbackGuard, SendError};
use crate::close::{CloseCode, CloseFrame, CloseReason, CloseStatus};
use crate::connection::{ClientConnection, Event, State};
use crate::error::{EncodeError, Error};
use crate::frame::Frame;
use crate::handler::{Context, DisconnectStatus, Handler, Reconnect, Reply};
use crate::handshake::Response;
use crate::settings::ConnectSettings;
use crate::start::StartOptions;
use crate::write_queue::{Ack, PendingAcks};

/// Frame and byte counters of a client, over all its connections (WebSockex's `:sys`
/// statistics). Shared between the connection task and the client handles.
#[derive(Debug, Default)]
pub struct Stats {
    frames_in: AtomicU64,
    frames_out: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatsSnapshot {
    /// Frames received (messages, fragments, pings, pongs).
    pub frames_in: u64,
    /// Frames sent.
    pub frames_out: u64,
    /// Payload bytes received.
    pub bytes_in: u64,
    /// Payload bytes sent.
    pub bytes_out: u64,
}

impl Stats {
    /// The counters now.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            frames_in: self.frames_in.load(Ordering::Relaxed),
            frames_out: self.frames_out.load(Ordering::Relaxed),
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
        }
    }

    fn count(frames: &AtomicU64, bytes: &AtomicU64, frame: &Frame) {
        frames.fetch_add(1, Ordering::Relaxed);
        bytes.fetch_add(frame.payload_len() as u64, Ordering::Relaxed);
    }
}

/// What happened, for [`Observer`]s (WebSockex's telemetry events).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum TelemetryKind<'a> {
    /// `[:websockex, :connected]`
    Connected,
    /// `[:websockex, :disconnected]`, with the reason.
    Disconnected(&'a CloseReason),
    /// `[:websockex, :frame, :received]`
    FrameReceived(&'a Frame),
    /// `[:websockex, :frame, :sent]`
    FrameSent(&'a Frame),
    /// `[:websockex, :terminate]`, with the reason.
    Terminate(&'a CloseReason),
}

/// One telemetry event: when, which connection, which handler type, and what.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Telemetry<'a> {
    /// Wall-clock time of the event.
    pub time: SystemTime,
    /// The connection's settings (URL, headers, ...).
    pub settings: &'a ConnectSettings,
    /// The handler's type name.
    pub handler: &'static str,
    /// The event.
    pub kind: TelemetryKind<'a>,
}

/// Receives telemetry events; register one with the adapter's start options.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use wsx_proto::{Observer, Telemetry, TelemetryKind};
///
/// #[derive(Default)]
/// struct FrameCounter(AtomicUsize);
///
/// impl Observer for FrameCounter {
///     fn observe(&self, event: &Telemetry<'_>) {
///         if let TelemetryKind::FrameReceived(_) = event.kind {
///             self.0.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
/// ```
pub trait Observer: Send + Sync + 'static {
    /// Called synchronously on the connection's task or thread: keep it quick.
    fn observe(&self, event: &Telemetry<'_>);
}

/// The per-client glue between a [`ClientConnection`] and a [`Handler`]; owned by the adapter's
/// connection task. `clock` gives wall-clock timestamps for telemetry, so this stays clock-free.
pub struct Driver<H: Handler> {
    /// The connection settings in use.
    pub settings: ConnectSettings,
    /// `send_after` calls of the last callback, not yet given a deadline.
    scheduled: Vec<(Duration, H::Info)>,
    /// Scheduled messages with their deadlines; they survive reconnects and fire while open.
    timers: Vec<(Instant, H::Info)>,
    /// Casts that arrived while connecting, delivered once connected.
    deferred_casts: Vec<H::Cast>,
    /// A close asked for while connecting, sent once connected.
    deferred_close: Option<Option<CloseFrame>>,
    response: Option<Response>,
    /// Consecutive failed attempts (WebSockex's `attempt_number`).
    attempt: u32,
    /// Until the first connection opens: what a failed attempt does without
    /// `handle_initial_conn_failure`. `None` once connected or when failures are handled.
    initial_failure: Option<InitialFailure>,
    stats: Arc<Stats>,
    observers: Arc<[Arc<dyn Observer>]>,
    clock: fn() -> SystemTime,
    /// The adapter's client handle, reachable from callbacks, and its id for [`CallbackGuard`].
    client: Box<dyn Any + Send + Sync>,
    client_id: usize,
}

/// What feeding events to the handler changed.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Progress {
    /// The handshake completed in this call (and `handle_connect` ran).
    pub connected: bool,
    /// The connection ended: flush what is left to write, close the socket, then call
    /// [`Driver::disconnected`].
    pub closed: Option<CloseReason>,
}

impl<H: Handler> std::fmt::Debug for Driver<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("url", &self.settings.url().as_str())
            .field("stats", &self.stats.snapshot())
            .finish_non_exhaustive()
    }
}

/// A message from a client handle to its connection task. `W` is the adapter's channel that
/// tells a `send_frame` caller the outcome.
#[derive(Debug)]
pub enum Command<H: Handler, W> {
    /// `cast`: deliver to `handle_cast`.
    Cast(H::Cast),
    /// `send_frame`: send, and answer on `W` once written (or why not).
    SendFrame(Frame, W),
    /// Pipelined `send`: send; one send slot comes back once written.
    Send(Frame),
    /// `close` / `close_with`.
    Close(Option<CloseFrame>),
}

/// What the adapter does after [`Driver::handle_command`].
#[derive(Debug)]
pub enum CommandResult<W> {
    /// Nothing more: any ack waits in the [`PendingAcks`] for its bytes.
    Done,
    /// Fire this ack now (nothing was queued ahead of it).
    FireNow(Ack<W>),
    /// Answer the `send_frame` caller with this error.
    Refused(W, SendError),
}

/// What an unhandled failure of the first connect does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InitialFailure {
    /// A synchronous start returns it.
    Return,
    /// An async start terminates with it.
    Terminate,
}

/// What `handle_disconnect` decided.
#[derive(Debug)]
pub enum Next {
    /// Stop for good with this reason: call [`Driver::terminate`].
    Stop(CloseReason),
    /// Connect again with [`Driver::settings`].
    Reconnect,
    /// The first attempt of a synchronous start failed and the failure is not handled
    /// (WebSockex's `start_link` returning `{:error, e}`): give the reason to the caller of
    /// `start`; no callback runs, not even `terminate`.
    StartFailed(CloseReason),
}

impl<H: Handler> Driver<H> {
    /// A driver for the settings in `options`. `client` is the adapter's handle (given to callbacks through
    /// their context) and `client_id` identifies it for the [`CallbackGuard`].
    ///
    /// Fails if the settings in `options` are unusable (a bad URL or header).
    pub fn new(
        options: StartOptions,
        stats: Arc<Stats>,
        clock: fn() -> SystemTime,
        client: Box<dyn Any + Send + Sync>,
        client_id: usize,
    ) -> Result<Self, Error> {
        let settings = options.settings?;
        settings.request.validate()?;
        Ok(Self {
            settings,
            scheduled: Vec::new(),
            timers: Vec::new(),
            deferred_casts: Vec::new(),
            deferred_close: None,
            client,
            client_id,
            response: None,
            attempt: 0,
            initial_failure: match (options.handle_initial_conn_failure, options.async_start) {
                (true, _) => None,
                (false, false) => Some(InitialFailure::Return),
                (false, true) => Some(InitialFailure::Terminate),
            },
            stats,
            observers: options.observers.into(),
            clock,
        })
    }

    /// The shared counters.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// The response of the current connection, once connected.
    pub fn response(&self) -> Option<&Response> {
        self.response.as_ref()
    }

    /// Tells the observers.
    pub fn emit(&self, kind: TelemetryKind<'_>) {
        if self.observers.is_empty() {
            return;
        }
        let event = Telemetry {
            time: (self.clock)(),
            settings: &self.settings,
            handler: std::any::type_name::<H>(),
            kind,
        };
        for observer in self.observers.iter() {
            observer.observe(&event);
        }
    }

    /// Traces a connection attempt; call before opening the socket.
    pub fn connecting(&self) {
        tracing::debug!(target: "wsx", url = %self.settings.url(), attempt = self.attempt + 1, "attempting to connect");
    }

    /// After a connection ended (or could not be made): applies the start options to a failed
    /// first connect, otherwise tells the observers, asks `handle_disconnect`, and takes new
    /// settings if it returns them. `was_connected` resets the attempt count.
    pub fn disconnected(&mut self, handler: &mut H, reason: CloseReason, was_connected: bool) -> Next {
        tracing::debug!(target: "wsx", %reason, "disconnected");
        match self.initial_failure.take() {
            _ if was_connected => {}
            Some(InitialFailure::Return) => return Next::StartFailed(reason),
            Some(InitialFailure::Terminate) => return Next::Stop(reason),
            None => {}
        }
        if self.deferred_close.take().is_some() {
            // The user asked to close before this connection opened: do not reconnect.
            self.emit(TelemetryKind::Disconnected(&reason));
            return Next::Stop(reason);
        }
        self.response = None;
        self.attempt = if was_connected { 1 } else { self.attempt + 1 };
        self.emit(TelemetryKind::Disconnected(&reason));
        let status = DisconnectStatus::new(reason.clone(), self.attempt, self.settings.clone());
        let _guard = CallbackGuard::enter(self.client_id);
        match handler.handle_disconnect(status) {
            Reconnect::Stop => Next::Stop(reason),
            Reconnect::Reconnect => Next::Reconnect,
            Reconnect::ReconnectWith(settings) => {
                self.settings = settings;
                Next::Reconnect
            }
        }
    }

    /// The end: runs `terminate` and tells the observers. Call exactly once.
    pub fn terminate(&self, handler: &mut H, reason: &CloseReason) {
        tracing::debug!(target: "wsx", %reason, "terminating");
        {
            let _guard = CallbackGuard::enter(self.client_id);
            handler.terminate(reason);
        }
        self.emit(TelemetryKind::Terminate(reason));
    }

    /// Runs the callbacks for every event the connection has; call after feeding it bytes,
    /// end-of-file or a timeout.
    pub fn poll_events(&mut self, conn: &mut ClientConnection, handler: &mut H) -> Progress {
        let mut progress = Progress::default();
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Connected(response) => {
                    tracing::debug!(target: "wsx", subprotocol = ?response.subprotocol, "successfully connected");
                    self.response = Some(*response);
                    self.emit(TelemetryKind::Connected);
                    progress.connected = true;
                    self.with_context(
                        |handler, ctx| {
                            if let Some(response) = ctx.response() {
                                handler.handle_connect(&response.clone(), ctx);
                            }
                            Reply::Continue
                        },
                        conn,
                        handler,
                    );
                    for msg in std::mem::take(&mut self.deferred_casts) {
                        self.with_context(|handler, ctx| handler.handle_cast(msg, ctx), conn, handler);
                    }
                    if let Some(frame) = self.deferred_close.take() {
                        self.close(conn, frame);
                    }
                }
                Event::Frame(frame) => {
                    tracing::debug!(target: "wsx", frame = %FrameSummary(&frame), "received frame");
                    Stats::count(&self.stats.frames_in, &self.stats.bytes_in, &frame);
                    self.emit(TelemetryKind::FrameReceived(&frame));
                    self.with_context(
                        |handler, ctx| match frame {
                            Frame::Ping(payload) => {
                                let reply = handler.handle_ping(payload, ctx);
                                if let Reply::Frame(f) = &reply {
                                    tracing::debug!(target: "wsx", frame = %FrameSummary(f), "replying from handle_ping");
                                }
                                reply
                            }
                            Frame::Pong(payload) => handler.handle_pong(payload, ctx),
                            // Answered by the connection; the outcome arrives as `Closed`.
                            Frame::Close(_) => Reply::Continue,
                            other => handler.handle_frame(other, ctx),
                        },
                        conn,
                        handler,
                    );
                }
                Event::Closed(reason) => {
                    if let CloseReason::LocalTimedOut(_) = reason {
                        tracing::debug!(target: "wsx", "forcefully closed the connection because the server was taking too long to close");
                    }
                    progress.closed = Some(reason);
                    return progress;
                }
            }
        }
        progress
    }

    /// Runs one command from a client handle; acks for written bytes go into `acks`.
    pub fn handle_command<W>(
        &mut self,
        conn: &mut ClientConnection,
        handler: &mut H,
        acks: &mut PendingAcks<W>,
        command: Command<H, W>,
    ) -> CommandResult<W> {
        let ack = match command {
            Command::Cast(msg) => {
                self.cast(conn, handler, msg);
                return CommandResult::Done;
            }
            Command::Close(frame) => {
                self.close(conn, frame);
                return CommandResult::Done;
            }
            Command::SendFrame(frame, reply) => match self.send_frame(conn, frame) {
                Ok(()) => Ack::Written(reply),
                Err(e) => return CommandResult::Refused(reply, e),
            },
            Command::Send(frame) => {
                if let Err(e) = self.send_frame(conn, frame) {
                    tracing::debug!(target: "wsx", error = %e, "dropping a queued frame");
                }
                Ack::Permits(1)
            }
        };
        match acks.ack_when_written(conn, ack) {
            Some(ack) => CommandResult::FireNow(ack),
            None => CommandResult::Done,
        }
    }

    /// Delivers a cast to `handle_cast`, or keeps it until connected (WebSockex delivers casts
    /// to a connected client only).
    pub fn cast(&mut self, conn: &mut ClientConnection, handler: &mut H, msg: H::Cast) {
        if conn.state() == State::Connecting {
            self.deferred_casts.push(msg);
        } else {
            self.with_context(|handler, ctx| handler.handle_cast(msg, ctx), conn, handler);
        }
    }

    /// Sends a frame for the client handle (`send_frame` or pipelined `send`).
    pub fn send_frame(&mut self, conn: &mut ClientConnection, frame: Frame) -> Result<(), SendError> {
        if conn.state() != State::Open {
            return Err(SendError::NotConnected);
        }
        self.send(conn, frame).map_err(SendError::Encode)
    }

    /// Starts the close handshake for the client handle; while connecting, as soon as the
    /// connection is open.
    pub fn close(&mut self, conn: &mut ClientConnection, frame: Option<CloseFrame>) {
        if conn.state() == State::Connecting {
            self.deferred_close = Some(frame);
            return;
        }
        if let Err(e) = self.send(conn, Frame::Close(frame)) {
            tracing::debug!(target: "wsx", error = %e, "close ignored");
        }
    }

    /// The next instant the adapter must call [`handle_timeout`](Self::handle_timeout): the
    /// connection's timer or a message scheduled with `send_after` (while open). `now` turns
    /// new `send_after` delays into deadlines.
    pub fn next_deadline(&mut self, conn: &mut ClientConnection, now: Instant) -> Option<Instant> {
        conn.start_pending_timer(now);
        for (delay, msg) in self.scheduled.drain(..) {
            self.timers.push((now + delay, msg));
        }
        let timers = self
            .timers
            .iter()
            .map(|(at, _)| *at)
            .filter(|_| conn.state() == State::Open);
        timers.chain(conn.poll_timeout()).min()
    }

    /// Advances the connection's timers and delivers due scheduled messages to `handle_info`.
    pub fn handle_timeout(&mut self, conn: &mut ClientConnection, handler: &mut H, now: Instant) {
        conn.handle_timeout(now);
        let mut i = 0;
        while i < self.timers.len() && conn.state() == State::Open {
            if self.timers[i].0 <= now {
                let (_, msg) = self.timers.swap_remove(i);
                self.with_context(|handler, ctx| handler.handle_info(msg, ctx), conn, handler);
            } else {
                i += 1;
            }
        }
    }

    /// Runs one callback with its context and the callback guard, then applies its reply.
    fn with_context(
        &mut self,
        callback: impl FnOnce(&mut H, &mut Context<'_, H>) -> Reply,
        conn: &mut ClientConnection,
        handler: &mut H,
    ) {
        let reply = {
            let _guard = CallbackGuard::enter(self.client_id);
            let mut ctx = Context::new(
                &self.settings,
                self.response.as_ref(),
                &mut self.scheduled,
                &*self.client,
            );
            callback(handler, &mut ctx)
        };
        self.apply_reply(conn, reply);
    }

    /// Does what a callback asked. A reply that cannot be sent fails the connection with
    /// [`Error::InvalidReply`]; a reply while the connection is not open is dropped (traced).
    fn apply_reply(&mut self, conn: &mut ClientConnection, reply: Reply) {
        let frame = match reply {
            Reply::Continue => return,
            Reply::Frame(frame) => frame,
            Reply::Close => Frame::Close(Some(CloseFrame::new(CloseCode::NORMAL, ""))),
            Reply::CloseWith(code, reason) => Frame::Close(Some(CloseFrame::new(code, reason))),
        };
        match self.send(conn, frame) {
            Ok(()) => {}
            Err(EncodeError::NotOpen) => tracing::debug!(target: "wsx", "reply dropped: the connection is not open"),
            Err(e) => {
                tracing::warn!(target: "wsx", error = %e, "callback replied with a frame that cannot be sent");
                conn.fail(Error::InvalidReply(e));
            }
        }
    }

    /// Sends a frame on the connection, tracing and counting it.
    fn send(&mut self, conn: &mut ClientConnection, frame: Frame) -> Result<(), EncodeError> {
        if let Frame::Close(close) = &frame {
            let status = CloseStatus::from_frame(close.clone());
            tracing::debug!(target: "wsx", reason = %CloseReason::Local(status), "closing with local reason");
        } else {
            tracing::debug!(target: "wsx", frame = %FrameSummary(&frame), "sending frame");
        }
        let result = match &frame {
            Frame::Close(close) => conn.close(close.clone()),
            _ => conn.send(&frame),
        };
        if result.is_ok() {
            Stats::count(&self.stats.frames_out, &self.stats.bytes_out, &frame);
            self.emit(TelemetryKind::FrameSent(&frame));
        }
        result
    }
}

/// A frame in a trace line: its kind and length, and short text in full.
struct FrameSummary<'a>(&'a Frame);

impl std::fmt::Display for FrameSummary<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Frame::Text(t) if t.len() <= 64 => write!(f, "text {:?}", t.as_str()),
            Frame::Text(t) => write!(f, "text ({} bytes)", t.len()),
            Frame::Binary(b) => write!(f, "binary ({} bytes)", b.len()),
            Frame::Fragment(kind, b) => write!(f, "fragment {kind:?} ({} bytes)", b.len()),
            Frame::Continuation(b) => write!(f, "continuation ({} bytes)", b.len()),
            Frame::Finish(b) => write!(f, "finish ({} bytes)", b.len()),
            Frame::Ping(b) => write!(f, "ping ({} bytes)", b.len()),
            Frame::Pong(b) => write!(f, "pong ({} bytes)", b.len()),
            Frame::Close(None) => f.write_str("close"),
            Frame::Close(Some(c)) => write!(f, "close {} {:?}", c.code, c.reason.as_str()),
        }
    }
}
