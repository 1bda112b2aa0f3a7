//! What a client tells the world: frame and byte counters, telemetry events for observers,
//! and the short frame summaries its trace lines use.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use crate::protocol::close::CloseReason;
use crate::protocol::frame::Frame;
use crate::session::settings::ConnectSettings;

/// Frame and byte counters of a client, over all its connections (WebSockex's `:sys`
/// statistics), shared by the session and the client handles.
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

    /// Counts a received frame. Only the session writes: a load and a store, no locked
    /// read-modify-write on every frame.
    pub(crate) fn frame_in(&self, frame: &Frame) {
        add(&self.frames_in, 1);
        add(&self.bytes_in, frame.payload_len() as u64);
    }

    /// Counts `frames` sent frames of `payload` bytes in all (the session only).
    pub(crate) fn frames_out(&self, frames: u64, payload: u64) {
        add(&self.frames_out, frames);
        add(&self.bytes_out, payload);
    }

    /// Counts a sent frame (the session only, as [`frame_in`](Self::frame_in)).
    pub(crate) fn frame_out(&self, frame: &Frame) {
        add(&self.frames_out, 1);
        add(&self.bytes_out, frame.payload_len() as u64);
    }
}

impl Stats {
    /// Uncounts a sent frame of `payload` bytes that was taken back unwritten (the session
    /// only).
    pub(crate) fn frame_taken_back(&self, payload: u64) {
        sub(&self.frames_out, 1);
        sub(&self.bytes_out, payload);
    }
}

/// Subtracts from a counter that has a single writer.
fn sub(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Ordering::Relaxed).saturating_sub(n), Ordering::Relaxed);
}

/// Adds to a counter that has a single writer.
fn add(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Ordering::Relaxed) + n, Ordering::Relaxed);
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
