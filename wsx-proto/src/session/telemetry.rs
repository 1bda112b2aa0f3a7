//! What a client tells the world: frame and byte counters, telemetry events for observers,
//! and the short frame summaries its trace lines use.

use std::time::SystemTime;

use crate::error::CloseReason;
use crate::protocol::frame::Frame;
use crate::session::settings::ConnectSettings;

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

impl StatsSnapshot {
    /// Counters with these values (a driver keeps the live ones).
    pub const fn new(frames_in: u64, frames_out: u64, bytes_in: u64, bytes_out: u64) -> Self {
        Self {
            frames_in,
            frames_out,
            bytes_in,
            bytes_out,
        }
    }
}

/// What happened, for [`Observer`]s (WebSockex's telemetry events).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum TelemetryKind<'a> {
    /// `[:websockex, :connected]`, with the server's response (which HTTP carried it:
    /// [`Response::http_version`](crate::Response::http_version)).
    Connected(&'a crate::Response),
    /// `[:websockex, :disconnected]`, with the reason.
    Disconnected(&'a CloseReason),
    /// `[:websockex, :frame, :received]`
    FrameReceived(&'a Frame),
    /// `[:websockex, :frame, :sent]`: the frame was encoded into the connection's output.
    /// Its bytes may still wait for the socket: a `send_frame` that times out before any of
    /// them is written takes the frame back (`SendError::Timeout`) after this event.
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
/// use wsx_proto::{telemetry::Observer, telemetry::Telemetry, telemetry::TelemetryKind};
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

/// A frame in a trace line: its kind and length, and short text in full.
pub(crate) struct FrameSummary<'a>(pub(crate) &'a Frame);

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
