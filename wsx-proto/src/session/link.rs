//! What a session shares with the rest of its client, as an interface: the commands that
//! reach it, and what it reports back (status, outcomes, the send budget, counters). The
//! session only calls it; the cross-thread implementation every adapter uses (a queue, gates
//! and atomics behind the client handles) lives in `wsx-driver`, so this crate holds no
//! synchronisation of its own.

use std::collections::VecDeque;
use std::time::SystemTime;

use bytes::BytesMut;

use crate::error::CloseReason;
use crate::protocol::close::CloseFrame;
use crate::protocol::frame::Frame;
use crate::session::status::{SendError, Status};

/// Messages up to this size may be framed and masked by their senders (beyond, the copy
/// costs more than the hop it saves); see [`Command::Encoded`].
pub const ENCODE_MAX: usize = 512;

/// A message from a client handle to its session.
#[derive(Debug)]
pub enum Command<C, W> {
    /// `cast`: deliver to `handle_cast`.
    Cast(C),
    /// `send_frame`: send, and tell the waiter once written (or why not).
    SendFrame(Frame, W),
    /// Pipelined `send`: send; its send-budget share comes back once written.
    Send(Frame, usize),
    /// `send_uncompressed`: like `Send`, never compressed.
    SendUncompressed(Frame, usize),
    /// `close` / `close_with`.
    Close(Option<CloseFrame>),
    /// Pipelined frames their senders already encoded: the next bytes of the encoded buffer
    /// [`Link::take_commands`] fills.
    Encoded(Encoded),
}

/// A run of frames encoded by their senders, in queue order with the other commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoded {
    /// Bytes of the run.
    pub len: usize,
    /// Frames in the run.
    pub frames: u64,
    /// Their payload bytes.
    pub payload: u64,
    /// Send budget the run holds.
    pub cost: usize,
}

/// The caller waiting for a `send_frame`: told the outcome, and asked whether the frame may
/// still be taken back (a caller that timed out withdraws it, and a frame none of whose bytes
/// were written is then never sent). Clones wait for the same frame.
pub trait Waiter: Clone {
    /// The session takes the frame: false if the caller withdrew before, and the frame is
    /// dropped.
    fn start(&self) -> bool;
    /// The frame can no longer be taken back (it cannot be left out of the stream).
    fn commit(&self);
    /// The frame is about to be handed to the transport: false if the caller withdrew it, and
    /// then its bytes are taken out first.
    fn begin_write(&self) -> bool;
    /// The write [`begin_write`](Self::begin_write) announced returned: `written` if any of
    /// the frame left.
    fn end_write(&self, written: bool);
    /// Whether the caller withdrew.
    fn is_withdrawn(&self) -> bool;
    /// The outcome (the first one counts).
    fn fill(&self, outcome: Result<(), SendError>);
    /// Whether `self` and `other` wait for the same frame.
    fn same(&self, other: &Self) -> bool;
}

/// The session's side of its client handles.
pub trait Link: 'static {
    /// What `cast` carries (the handler's `Cast`).
    type Cast;
    /// A `send_frame` caller.
    type Waiter: Waiter;

    /// Moves the commands sent since the last call to the end of `batch`, and the bytes of
    /// their [`Command::Encoded`] runs to the end of `encoded`.
    fn take_commands(&self, batch: &mut VecDeque<Command<Self::Cast, Self::Waiter>>, encoded: &mut BytesMut);
    /// A cast was taken from the queue (casts wait in a bounded queue).
    fn cast_taken(&self);
    /// The session is about to wait: empty byte buffers go back to the thread's spares
    /// ([`buffer::recycle`](crate::protocol::buffer::recycle)), empty command queues longer
    /// than `keep_commands` are freed.
    fn release_idle_buffers(&self, keep_commands: usize);
    /// The client's status changed.
    fn set_status(&self, status: Status);
    /// The first connection opened, or the start failed with a reason.
    fn set_started(&self, outcome: Result<(), CloseReason>);
    /// The client stopped for good: refuse new commands, drop the queued ones, wake every
    /// waiter.
    fn finish(&self, reason: &CloseReason);
    /// `cost` bytes of pipelined sends were written (or dropped).
    fn release_budget(&self, cost: usize);
    /// The connection's unwritten output is now `bytes`.
    fn set_unwritten(&self, bytes: usize);
    /// Senders may encode whole messages up to `limit` bytes themselves (0: none may), framed
    /// as the connection's role frames them (masked by a client's senders, not by a
    /// server's: the link knows which it serves).
    fn set_encode_limit(&self, limit: usize);
    /// The send budget: bytes of output that may wait unwritten.
    fn send_buffer(&self) -> usize;
    /// Counts a received frame.
    fn count_in(&self, frame: &Frame);
    /// Counts `frames` sent frames of `payload` bytes.
    fn count_out(&self, frames: u64, payload: u64);
    /// Uncounts a sent frame of `payload` bytes, taken back unwritten.
    fn uncount_out(&self, payload: u64);
    /// Runs a callback of the handler: the client's own blocking calls made from inside it
    /// can refuse instead of waiting for themselves.
    fn in_callback<R>(&self, callback: impl FnOnce() -> R) -> R;
    /// The wall-clock time, for telemetry events.
    fn wall_clock(&self) -> SystemTime;
}
