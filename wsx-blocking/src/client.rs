//! The client handle: cloneable, usable from any thread, talks to the connection thread.

use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use wsx_proto::{
    CallbackGuard, CloseCode, CloseFrame, CloseReason, Frame, Handler, SendError, Stats, StatsSnapshot, Status,
};

use crate::stream::Received;

/// Frames queued by [`Client::send`] and not yet written; more makes `send` wait.
pub(crate) const SEND_QUEUE_FRAMES: usize = 4096;

/// Default timeout of [`Client::send_frame`].
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// What a `send_frame` caller waits on.
pub(crate) type WrittenTx = mpsc::SyncSender<Result<(), SendError>>;

pub(crate) type Command<H> = wsx_proto::Command<H, WrittenTx>;

/// Everything the connection thread waits for, in one queue.
pub(crate) enum Input<H: Handler> {
    Command(Command<H>),
    /// From the reader thread of connection number `.0`.
    Socket(u64, Received),
}

/// A value with a condition variable to wait for its changes.
#[derive(Default)]
pub(crate) struct Watched<T> {
    value: Mutex<T>,
    changed: Condvar,
}

impl<T> Watched<T> {
    pub(crate) fn new(value: T) -> Self {
        Self {
            value: Mutex::new(value),
            changed: Condvar::new(),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.value.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn update(&self, change: impl FnOnce(&mut T)) {
        change(&mut self.lock());
        self.changed.notify_all();
    }

    /// Waits until `ready` holds or the deadline passes; gives the guard either way.
    fn wait_until(&self, deadline: Option<Instant>, mut ready: impl FnMut(&T) -> bool) -> MutexGuard<'_, T> {
        let mut guard = self.lock();
        while !ready(&guard) {
            guard = match deadline {
                None => self.changed.wait(guard).unwrap_or_else(|p| p.into_inner()),
                Some(at) => {
                    let left = at.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    self.changed
                        .wait_timeout(guard, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
        }
        guard
    }
}

pub(crate) struct Shared<H: Handler> {
    pub(crate) inbox: mpsc::Sender<Input<H>>,
    pub(crate) status: Watched<Status>,
    /// Free slots for pipelined sends.
    pub(crate) send_slots: Watched<usize>,
    pub(crate) stats: Arc<Stats>,
}

/// A handle to a running client (WebSockex's pid): `Clone + Send + Sync`.
pub struct Client<H: Handler> {
    pub(crate) shared: Arc<Shared<H>>,
}

impl<H: Handler> Clone for Client<H> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<H: Handler> std::fmt::Debug for Client<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("status", &*self.shared.status.lock())
            .finish()
    }
}

impl<H: Handler> Client<H> {
    /// Identifies this client for the callback guard.
    pub(crate) fn id(&self) -> usize {
        Arc::as_ptr(&self.shared) as usize
    }

    fn check_sendable(&self, frame: &Frame) -> Result<(), SendError> {
        self.shared.status.lock().check_sendable(frame)
    }

    fn terminated(&self) -> SendError {
        self.shared.status.lock().gone_error()
    }

    fn command(&self, command: Command<H>) -> Result<(), SendError> {
        self.shared
            .inbox
            .send(Input::Command(command))
            .map_err(|_| self.terminated())
    }

    /// Delivers `msg` to the handler's `handle_cast` (WebSockex's `cast/2`). Never blocks.
    /// Casts sent while connecting are delivered once connected.
    pub fn cast(&self, msg: H::Cast) -> Result<(), SendError> {
        self.command(Command::Cast(msg))
    }

    /// Sends a frame and blocks until it is written to the socket, at most 5 s
    /// (WebSockex's `send_frame/2`).
    pub fn send_frame(&self, frame: Frame) -> Result<(), SendError> {
        self.send_frame_timeout(frame, DEFAULT_SEND_TIMEOUT)
    }

    /// [`send_frame`](Self::send_frame) with a chosen timeout.
    pub fn send_frame_timeout(&self, frame: Frame, timeout: Duration) -> Result<(), SendError> {
        if CallbackGuard::is_inside(self.id()) {
            return Err(SendError::FromCallback);
        }
        self.check_sendable(&frame)?;
        let (done, written) = mpsc::sync_channel(1);
        self.command(Command::SendFrame(frame, done))?;
        match written.recv_timeout(timeout) {
            Ok(result) => result,
            Err(mpsc::RecvTimeoutError::Timeout) => Err(SendError::Timeout),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(self.terminated()),
        }
    }

    /// Queues a frame without waiting for it to be written: the pipelined path for many
    /// messages. Blocks only when too many frames are queued (backpressure).
    pub fn send(&self, frame: Frame) -> Result<(), SendError> {
        self.check_sendable(&frame)?;
        let mut slots = self
            .shared
            .send_slots
            .wait_until(None, |free| *free > 0 || self.is_terminated());
        if self.is_terminated() {
            return Err(self.terminated());
        }
        *slots -= 1;
        drop(slots);
        self.command(Command::Send(frame))
    }

    fn is_terminated(&self) -> bool {
        matches!(&*self.shared.status.lock(), Status::Terminated(_))
    }

    /// Starts the close handshake with 1000.
    pub fn close(&self) -> Result<(), SendError> {
        self.close_frame(Some(CloseFrame::new(CloseCode::NORMAL, "")))
    }

    /// Starts the close handshake with a code and reason (checked).
    pub fn close_with(&self, code: CloseCode, reason: impl Into<String>) -> Result<(), SendError> {
        self.close_frame(Some(CloseFrame::new(code, reason.into())))
    }

    fn close_frame(&self, frame: Option<CloseFrame>) -> Result<(), SendError> {
        if let Some(f) = &frame {
            f.validate().map_err(SendError::Encode)?;
        }
        self.command(Command::Close(frame))
    }

    /// The current status.
    pub fn status(&self) -> Status {
        self.shared.status.lock().clone()
    }

    /// Blocks until the client stops for good and returns the final reason.
    pub fn wait(&self) -> CloseReason {
        match &*self
            .shared
            .status
            .wait_until(None, |s| matches!(s, Status::Terminated(_)))
        {
            Status::Terminated(reason) => reason.clone(),
            _ => CloseReason::Dropped,
        }
    }

    /// [`wait`](Self::wait) for at most `timeout`; `None` if still running.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<CloseReason> {
        let deadline = Instant::now() + timeout;
        match &*self
            .shared
            .status
            .wait_until(Some(deadline), |s| matches!(s, Status::Terminated(_)))
        {
            Status::Terminated(reason) => Some(reason.clone()),
            _ => None,
        }
    }

    /// Frames and bytes in and out so far, over all connections.
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.stats.snapshot()
    }
}
