//! A client's frame and byte counters, shared by its session and its handles.

use wsx_proto::telemetry::StatsSnapshot;
use wsx_proto::Frame;

use crate::sync::{AtomicU64, Ordering};

/// Frame and byte counters of a client, over all its connections (WebSockex's `:sys`
/// statistics), shared by the session and the client handles.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    frames_in: AtomicU64,
    frames_out: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
}

impl Stats {
    /// The counters now.
    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot::new(
            self.frames_in.load(Ordering::Relaxed),
            self.frames_out.load(Ordering::Relaxed),
            self.bytes_in.load(Ordering::Relaxed),
            self.bytes_out.load(Ordering::Relaxed),
        )
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
