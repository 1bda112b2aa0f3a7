//! What every adapter does between the connection and the user's [`Handler`]: run the right
//! callback for each event, apply its [`Reply`], trace it, count it, and tell the observers.
//! An adapter only moves bytes, arms timers and delivers messages; this is the rest.

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::close::{CloseCode, CloseFrame, CloseReason};
use crate::connection::{ClientConnection, Event};
use crate::error::{EncodeError, Error};
use crate::frame::Frame;
use crate::handler::{Context, DisconnectStatus, Handler, Reconnect, Reply};
use crate::handshake::Response;
use crate::settings::ConnectSettings;

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
    /// Messages callbacks scheduled for themselves; the adapter drains this and arms timers.
    pub scheduled: Vec<(Duration, H::Info)>,
    response: Option<Response>,
    /// Consecutive failed attempts (WebSockex's `attempt_number`).
    attempt: u32,
    stats: Arc<Stats>,
    observers: Arc<[Arc<dyn Observer>]>,
    clock: fn() -> SystemTime,
}

impl<H: Handler> std::fmt::Debug for Driver<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("url", &self.settings.url().as_str())
            .field("stats", &self.stats.snapshot())
            .finish_non_exhaustive()
    }
}

/// What `handle_disconnect` decided.
#[derive(Debug)]
#[non_exhaustive]
pub enum Next {
    /// Stop for good with this reason: call [`Driver::terminate`].
    Stop(CloseReason),
    /// Connect again with [`Driver::settings`].
    Reconnect,
}

/// What the adapter must do after an event.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// Keep driving the connection.
    Continue,
    /// The connection ended: flush what is left to write, close the socket, then call
    /// `handle_disconnect`.
    Closed(CloseReason),
}

impl<H: Handler> Driver<H> {
    /// A driver for `settings`.
    pub fn new(
        settings: ConnectSettings,
        stats: Arc<Stats>,
        observers: Arc<[Arc<dyn Observer>]>,
        clock: fn() -> SystemTime,
    ) -> Self {
        Self {
            settings,
            scheduled: Vec::new(),
            response: None,
            attempt: 0,
            stats,
            observers,
            clock,
        }
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

    /// After a connection ended (or could not be made): tells the observers, asks
    /// `handle_disconnect`, and takes new settings if it returns them. `was_connected` resets
    /// the attempt count.
    pub fn disconnected(&mut self, handler: &mut H, reason: CloseReason, was_connected: bool) -> Next {
        tracing::debug!(target: "wsx", %reason, "disconnected");
        self.attempt = if was_connected { 1 } else { self.attempt + 1 };
        self.emit(TelemetryKind::Disconnected(&reason));
        let status = DisconnectStatus::new(reason.clone(), self.attempt, self.settings.clone());
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
        handler.terminate(reason);
        self.emit(TelemetryKind::Terminate(reason));
    }

    /// Runs the callback for `event` and applies its reply. `client` is the adapter's handle,
    /// reachable from callbacks through the context.
    pub fn handle_event(
        &mut self,
        conn: &mut ClientConnection,
        handler: &mut H,
        event: Event,
        client: &(dyn Any + Send + Sync),
    ) -> Outcome {
        match event {
            Event::Connected(response) => {
                tracing::debug!(target: "wsx", subprotocol = ?response.subprotocol, "successfully connected");
                self.response = Some(response);
                self.emit(TelemetryKind::Connected);
                let Self {
                    settings,
                    scheduled,
                    response,
                    ..
                } = self;
                let response = response.as_ref();
                if let Some(r) = response {
                    handler.handle_connect(r, &mut Context::new(settings, response, scheduled, client));
                }
                Outcome::Continue
            }
            Event::Frame(frame) => {
                tracing::debug!(target: "wsx", frame = %FrameSummary(&frame), "received frame");
                Stats::count(&self.stats.frames_in, &self.stats.bytes_in, &frame);
                self.emit(TelemetryKind::FrameReceived(&frame));
                let reply = {
                    let mut ctx = Context::new(&self.settings, self.response.as_ref(), &mut self.scheduled, client);
                    match frame {
                        Frame::Ping(payload) => {
                            let reply = handler.handle_ping(payload, &mut ctx);
                            if let Reply::Frame(f) = &reply {
                                tracing::debug!(target: "wsx", frame = %FrameSummary(f), "replying from handle_ping");
                            }
                            reply
                        }
                        Frame::Pong(payload) => handler.handle_pong(payload, &mut ctx),
                        other => handler.handle_frame(other, &mut ctx),
                    }
                };
                self.apply_reply(conn, reply);
                Outcome::Continue
            }
            Event::Closed(reason) => {
                if let CloseReason::LocalTimedOut(_) = reason {
                    tracing::debug!(target: "wsx", "forcefully closed the connection because the server was taking too long to close");
                }
                self.response = None;
                Outcome::Closed(reason)
            }
        }
    }

    /// Delivers a cast and applies the reply.
    pub fn handle_cast(
        &mut self,
        conn: &mut ClientConnection,
        handler: &mut H,
        msg: H::Cast,
        client: &(dyn Any + Send + Sync),
    ) {
        let mut ctx = Context::new(&self.settings, self.response.as_ref(), &mut self.scheduled, client);
        let reply = handler.handle_cast(msg, &mut ctx);
        self.apply_reply(conn, reply);
    }

    /// Delivers a scheduled message and applies the reply.
    pub fn handle_info(
        &mut self,
        conn: &mut ClientConnection,
        handler: &mut H,
        msg: H::Info,
        client: &(dyn Any + Send + Sync),
    ) {
        let mut ctx = Context::new(&self.settings, self.response.as_ref(), &mut self.scheduled, client);
        let reply = handler.handle_info(msg, &mut ctx);
        self.apply_reply(conn, reply);
    }

    /// Does what a callback asked. A reply that cannot be sent fails the connection with
    /// [`Error::InvalidReply`]; a reply while the connection is not open is dropped (traced).
    pub fn apply_reply(&mut self, conn: &mut ClientConnection, reply: Reply) {
        let frame = match reply {
            Reply::Continue => return,
            Reply::Frame(frame) => frame,
            Reply::Close => Frame::Close(Some(CloseFrame::new(CloseCode::NORMAL, ""))),
            Reply::CloseWith(code, reason) => Frame::Close(Some(CloseFrame::new(code, reason))),
        };
        match self.send(conn, frame) {
            Ok(()) | Err(EncodeError::NotOpen) => {}
            Err(e) => {
                tracing::warn!(target: "wsx", error = %e, "callback replied with a frame that cannot be sent");
                conn.fail(Error::InvalidReply(e));
            }
        }
    }

    /// Sends a frame on the connection, tracing and counting it.
    pub fn send(&mut self, conn: &mut ClientConnection, frame: Frame) -> Result<(), EncodeError> {
        if let Frame::Close(close) = &frame {
            let status = crate::close::CloseStatus::from_frame(close.clone());
            tracing::debug!(target: "wsx", reason = %CloseReason::Local(status), "closing with local reason");
        } else {
            tracing::debug!(target: "wsx", frame = %FrameSummary(&frame), "sending frame");
        }
        let result = match &frame {
            Frame::Close(close) => conn.close(close.clone()),
            _ => conn.send(frame.clone()),
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
