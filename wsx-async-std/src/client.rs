//! The client handle: cloneable, usable from any task or thread, talks to the connection task.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_io::Timer;
use event_listener::Event;
use futures_lite::FutureExt;
use wsx_proto::{CallbackGuard, CloseCode, CloseFrame, CloseReason, Frame, Handler, SendError, StatsSnapshot, Status};

/// Frames queued by [`Client::send`] and not yet written; more makes `send` wait.
pub(crate) const SEND_QUEUE_FRAMES: usize = 4096;

/// Where a `send_frame` caller learns whether its frame was written.
pub(crate) type WrittenTx = async_channel::Sender<Result<(), SendError>>;

pub(crate) type Command<H> = wsx_proto::Command<H, WrittenTx>;

pub(crate) struct Shared<H: Handler> {
    pub(crate) commands: async_channel::Sender<Command<H>>,
    pub(crate) send_permits: SendPermits,
    pub(crate) status: StatusCell,
    pub(crate) stats: Arc<wsx_proto::Stats>,
}

/// The client's [`Status`], and a way to wait for it to change (tokio's `watch`, runtime-free).
pub(crate) struct StatusCell {
    value: Mutex<Status>,
    changed: Event,
}

impl StatusCell {
    pub(crate) fn new(status: Status) -> Self {
        Self {
            value: Mutex::new(status),
            changed: Event::new(),
        }
    }

    /// The status now. A callback that panicked while holding the lock cannot hold it any
    /// more, so a poisoned lock is still read.
    pub(crate) fn borrow(&self) -> MutexGuard<'_, Status> {
        self.value.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set(&self, status: Status) {
        *self.borrow() = status;
        self.changed.notify(usize::MAX);
    }

    /// The final reason, once terminated.
    async fn terminated(&self) -> CloseReason {
        loop {
            if let Status::Terminated(reason) = &*self.borrow() {
                return reason.clone();
            }
            // Listen first, then look again: a change between the two wakes the listener.
            let listener = self.changed.listen();
            if let Status::Terminated(reason) = &*self.borrow() {
                return reason.clone();
            }
            listener.await;
        }
    }
}

/// Slots for pipelined frames (tokio's `Semaphore`, runtime-free): [`Client::send`] takes one,
/// the connection task gives it back once the frame is written.
pub(crate) struct SendPermits {
    available: AtomicUsize,
    closed: AtomicBool,
    freed: Event,
}

impl SendPermits {
    pub(crate) fn new(permits: usize) -> Self {
        Self {
            available: AtomicUsize::new(permits),
            closed: AtomicBool::new(false),
            freed: Event::new(),
        }
    }

    fn try_take(&self) -> bool {
        self.available
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Takes a slot, waiting for one if needed; `Err` once closed.
    async fn acquire(&self) -> Result<(), ()> {
        loop {
            if self.closed.load(Ordering::Acquire) {
                return Err(());
            }
            if self.try_take() {
                return Ok(());
            }
            let listener = self.freed.listen();
            if self.closed.load(Ordering::Acquire) {
                return Err(());
            }
            if self.try_take() {
                return Ok(());
            }
            listener.await;
        }
    }

    pub(crate) fn add(&self, n: usize) {
        self.available.fetch_add(n, Ordering::AcqRel);
        // A notified waiter that goes away passes its notification on, so none is lost.
        self.freed.notify_additional(n);
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.freed.notify(usize::MAX);
    }
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
            .field("status", &*self.shared.status.borrow())
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
        self.shared.status.borrow().check_sendable(frame)
    }

    fn terminated(&self) -> SendError {
        self.shared.status.borrow().gone_error()
    }

    fn command(&self, command: Command<H>) -> Result<(), SendError> {
        // The channel is unbounded: this fails only once the connection task has ended.
        self.shared.commands.try_send(command).map_err(|_| self.terminated())
    }

    /// Delivers `msg` to the handler's `handle_cast` (WebSockex's `cast/2`). Never waits.
    /// Casts sent while connecting are delivered once connected.
    pub fn cast(&self, msg: H::Cast) -> Result<(), SendError> {
        self.command(Command::Cast(msg))
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
        let (done, written) = async_channel::bounded(1);
        self.command(Command::SendFrame(frame, done))?;
        let written = async { written.recv().await.unwrap_or_else(|_| Err(self.terminated())) };
        let timed_out = async {
            Timer::after(timeout).await;
            Err(SendError::Timeout)
        };
        written.or(timed_out).await
    }

    /// Queues a frame without waiting for it to be written: the pipelined path for many
    /// messages. Waits only when too many frames are queued (backpressure). Frames queued
    /// together go out in one write.
    pub async fn send(&self, frame: Frame) -> Result<(), SendError> {
        self.check_sendable(&frame)?;
        self.shared
            .send_permits
            .acquire()
            .await
            .map_err(|()| self.terminated())?;
        // The connection task gives the slot back once the frame is written.
        self.command(Command::Send(frame))
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
        self.shared.status.borrow().clone()
    }

    /// Waits until the client stops for good and returns the final reason.
    pub async fn wait(&self) -> CloseReason {
        self.shared.status.terminated().await
    }

    /// Frames and bytes in and out so far, over all connections.
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.stats.snapshot()
    }
}
