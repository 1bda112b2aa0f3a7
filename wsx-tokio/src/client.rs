//! The client handle: cloneable, usable from any task, talks to the connection task.

use std::sync::Arc;
use std::time::Duration;

use crate::queue::CommandQueue;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use tokio::sync::{oneshot, Notify, Semaphore};
use wsx_proto::{CallbackGuard, CloseCode, CloseFrame, CloseReason, Frame, Handler, SendError, StatsSnapshot, Status};

/// Frames queued by [`Client::send`] and not yet written; more makes `send` wait.
pub(crate) const SEND_QUEUE_FRAMES: usize = 4096;

/// What a `send_frame` caller waits on.
pub(crate) type WrittenTx = oneshot::Sender<Result<(), SendError>>;

pub(crate) type Command<H> = wsx_proto::Command<H, WrittenTx>;

pub(crate) struct Shared<H: Handler> {
    pub(crate) commands: CommandQueue<Command<H>>,
    pub(crate) send_permits: Semaphore,
    pub(crate) status: StatusCell,
    pub(crate) stats: Arc<wsx_proto::Stats>,
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
            .field("status", &*self.shared.status.get())
            .finish()
    }
}

/// Default timeout of [`Client::send_frame`].
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(5);

impl<H: Handler> Client<H> {
    /// Identifies this client for the callback guard.
    pub(crate) fn id(&self) -> usize {
        Arc::as_ptr(&self.shared) as usize
    }

    fn check_sendable(&self, frame: &Frame) -> Result<(), SendError> {
        if self.shared.status.is_connected() {
            // The hot path of `send`: no lock while connected.
            return frame.validate().map_err(SendError::Encode);
        }
        self.shared.status.get().check_sendable(frame)
    }

    fn terminated(&self) -> SendError {
        self.shared.status.get().gone_error()
    }

    /// Delivers `msg` to the handler's `handle_cast` (WebSockex's `cast/2`). Never waits.
    /// Casts sent while connecting are delivered once connected.
    pub fn cast(&self, msg: H::Cast) -> Result<(), SendError> {
        self.shared
            .commands
            .push(Command::Cast(msg))
            .map_err(|_| self.terminated())
    }

    /// Sends a frame and waits until it is written to the socket, at most 5 s
    /// (WebSockex's `send_frame/2`).
    pub async fn send_frame(&self, frame: Frame) -> Result<(), SendError> {
        self.send_frame_timeout(frame, DEFAULT_SEND_TIMEOUT).await
    }

    /// [`send_frame`](Self::send_frame) with a chosen timeout.
    pub async fn send_frame_timeout(&self, frame: Frame, timeout: Duration) -> Result<(), SendError> {
        if CallbackGuard::is_inside(self.id()) {
            return Err(SendError::FromCallback);
        }
        self.check_sendable(&frame)?;
        let (done, written) = oneshot::channel();
        self.shared
            .commands
            .push(Command::SendFrame(frame, done))
            .map_err(|_| self.terminated())?;
        match tokio::time::timeout(timeout, written).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(self.terminated()),
            Err(_) => Err(SendError::Timeout),
        }
    }

    /// Queues a frame without waiting for it to be written: the pipelined path for many
    /// messages. Waits only when too many frames are queued (backpressure). Frames queued
    /// together go out in one write.
    pub async fn send(&self, frame: Frame) -> Result<(), SendError> {
        self.check_sendable(&frame)?;
        let permit = self
            .shared
            .send_permits
            .acquire()
            .await
            .map_err(|_| self.terminated())?;
        // The connection task gives the permit back once the frame is written.
        permit.forget();
        self.shared
            .commands
            .push(Command::Send(frame))
            .map_err(|_| self.terminated())
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
        self.shared
            .commands
            .push(Command::Close(frame))
            .map_err(|_| self.terminated())
    }

    /// The current status.
    pub fn status(&self) -> Status {
        self.shared.status.get().clone()
    }

    /// Waits until the client stops for good and returns the final reason.
    pub async fn wait(&self) -> CloseReason {
        loop {
            // Listen first, then look: a change in between still wakes the listener.
            let changed = self.shared.status.changed.notified();
            if let Status::Terminated(reason) = &*self.shared.status.get() {
                return reason.clone();
            }
            changed.await;
        }
    }

    /// Frames and bytes in and out so far, over all connections.
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.stats.snapshot()
    }
}

/// The client's status, and a notification when it changes (lighter than a `watch` channel,
/// which matters for many idle connections).
pub(crate) struct StatusCell {
    status: Mutex<Status>,
    /// Mirrors `status == Connected` for lock-free checks.
    connected: AtomicBool,
    changed: Notify,
}

impl StatusCell {
    pub(crate) fn new(status: Status) -> Self {
        Self {
            connected: AtomicBool::new(status == Status::Connected),
            status: Mutex::new(status),
            changed: Notify::new(),
        }
    }

    pub(crate) fn get(&self) -> MutexGuard<'_, Status> {
        // Nothing panics while the lock is held; a poisoned lock still holds a valid status.
        self.status.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn set(&self, status: Status) {
        let mut current = self.get();
        self.connected.store(status == Status::Connected, Ordering::Release);
        *current = status;
        drop(current);
        self.changed.notify_waiters();
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }
}
