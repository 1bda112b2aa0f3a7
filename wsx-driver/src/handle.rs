//! The client handle's half of a session: the state every adapter's `Client` shares with its
//! connection task. No I/O and no timers: commands go into a queue the [`Session`] drains, the
//! session publishes the status and the start outcome, and callers wait on [`Gate`]
//! listeners, which are runtime-neutral futures and blocking waiters at once. Adapters add only
//! the timeout (their runtime's timer, or a deadline for blocking calls).
//!
//! [`Session`]: crate::Session

use std::collections::VecDeque;
use std::future::Future;
use std::task::Waker;
use std::time::{Duration, Instant, SystemTime};

use atomic_waker::AtomicWaker;
use bytes::BytesMut;

use wsx_proto::client::Status;
use wsx_proto::close::{CloseFrame, CloseReason};
use wsx_proto::config::CAST_QUEUE_LIMIT;
use wsx_proto::protocol::buffer;
use wsx_proto::session::{Command, Link};
use wsx_proto::telemetry::StatsSnapshot;
use wsx_proto::{CloseCode, Frame, Handler, SendError};

use crate::budget::SendBudget;
use crate::guard::CallbackGuard;
use crate::outbox::{queue_send, Batch, EncodeRule};
use crate::stats::Stats;
use crate::sync::{Arc, AtomicBool, AtomicUsize, Mutex, Ordering};
use crate::wait::{lock, or_timeout, wait_for, wait_for_blocking, FrameWaiter, Gate, Signal, Withdrawal};

/// What a queued frame costs beside its payload: its frame header (at most 14 bytes) and its
/// queue entry.
fn frame_overhead<H: Handler>() -> usize {
    14 + std::mem::size_of::<Queued<H>>()
}
/// A command from a client handle to its session.
pub(crate) type Queued<H> = Command<<H as Handler>::Cast, FrameWaiter>;

struct Queue<H: Handler> {
    commands: VecDeque<Queued<H>>,
    /// The bytes of the `Encoded` commands, in order.
    outbox: BytesMut,
    closed: bool,
}

struct Shared<H: Handler> {
    queue: Mutex<Queue<H>>,
    /// The connection task, woken by every command.
    task: AtomicWaker,
    status: Mutex<Status>,
    /// Mirrors `status == Connected`, for the lock-free check on every `send`.
    connected: AtomicBool,
    status_changed: Gate,
    /// Bytes of pipelined sends that may be queued unwritten.
    budget: SendBudget,
    /// Largest message senders encode themselves (0: none); set by the session.
    encode_limit: AtomicUsize,
    /// A client's handle: senders mask what they encode (a server's do not).
    masks: bool,
    /// Casts queued and not yet taken by the session.
    casts_queued: AtomicUsize,
    /// The connection's unwritten output, as the session last saw it.
    unwritten: AtomicUsize,
    /// Boxed: the reason is only there when the start failed, and every client holds this.
    started: Signal<Result<(), Box<CloseReason>>>,
    stats: Stats,
}

/// The runtime-neutral client handle (`Clone + Send + Sync`): every adapter's `Client`
/// dereferences to it for [`cast`](Self::cast), [`close`](Self::close),
/// [`close_with`](Self::close_with), [`status`](Self::status) and [`stats`](Self::stats), and
/// builds its `send_frame` on [`send_frame_async`](Self::send_frame_async); the async adapters use [`send`](Self::send), [`send_all`](Self::send_all), [`sink`](Self::sink) and [`wait`](Self::wait) as they are, and the blocking one the `*_blocking` forms.
pub struct ClientHandle<H: Handler> {
    shared: Arc<Shared<H>>,
}

impl<H: Handler> Clone for ClientHandle<H> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<H: Handler> std::fmt::Debug for ClientHandle<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("status", &self.status()).finish()
    }
}

impl<H: Handler> ClientHandle<H> {
    /// A client's handle.
    pub(crate) fn new(send_buffer: usize) -> Self {
        Self::with_masking(send_buffer, true)
    }

    /// The handle of a server's connection: what senders encode is not masked.
    pub(crate) fn serving(send_buffer: usize) -> Self {
        Self::with_masking(send_buffer, false)
    }

    fn with_masking(send_buffer: usize, masks: bool) -> Self {
        Self {
            shared: Arc::new(Shared {
                queue: Mutex::new(Queue {
                    commands: VecDeque::new(),
                    outbox: BytesMut::new(),
                    closed: false,
                }),
                encode_limit: AtomicUsize::new(0),
                masks,
                task: AtomicWaker::new(),
                status: Mutex::new(Status::Connecting),
                connected: AtomicBool::new(false),
                status_changed: Gate::default(),
                budget: SendBudget::new(send_buffer),
                casts_queued: AtomicUsize::new(0),
                unwritten: AtomicUsize::new(0),
                started: Signal::new(),
                stats: Stats::default(),
            }),
        }
    }

    /// Identifies this client for the [`CallbackGuard`].
    pub(crate) fn id(&self) -> usize {
        Arc::as_ptr(&self.shared) as *const () as usize
    }

    /// Delivers `msg` to the handler's `handle_cast` (WebSockex's `cast/2`). Never waits.
    /// Casts sent while connecting are delivered once connected.
    /// At most [`CAST_QUEUE_LIMIT`] casts wait; beyond, [`SendError::QueueFull`].
    pub fn cast(&self, msg: H::Cast) -> Result<(), SendError> {
        if self.shared.casts_queued.fetch_add(1, Ordering::AcqRel) >= CAST_QUEUE_LIMIT {
            self.cast_taken();
            return Err(SendError::QueueFull);
        }
        self.push(Command::Cast(msg)).inspect_err(|_| self.cast_taken())
    }

    /// Outgoing bytes held in memory now: frames queued by `send` and not yet written, and
    /// the connection's unwritten output (they overlap while a queued frame is encoded but not
    /// yet written). Bounded by the send buffer plus one frame.
    pub fn buffered_bytes(&self) -> BufferedBytes {
        BufferedBytes {
            queued_sends: self.shared.budget.in_use(),
            unwritten: self.shared.unwritten.load(Ordering::Acquire),
            send_buffer: self.shared.budget.whole(),
        }
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
        self.push(Command::Close(frame))
    }

    /// The current status.
    pub fn status(&self) -> Status {
        lock(&self.shared.status).clone()
    }

    /// Frames and bytes in and out so far, over all connections.
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.stats.snapshot()
    }

    /// The final reason, once the client has stopped.
    pub fn terminated(&self) -> Option<CloseReason> {
        match &*lock(&self.shared.status) {
            Status::Terminated(reason) => Some(reason.clone()),
            _ => None,
        }
    }

    /// `send_frame`, for async adapters: waits until the frame is written or `timeout`
    /// completes; then the frame is taken back ([`SendError::Timeout`]) unless it can no
    /// longer be ([`SendError::TimeoutCommitted`]).
    pub async fn send_frame_async(&self, frame: Frame, timeout: impl Future<Output = ()>) -> Result<(), SendError> {
        let signal = self.queue_send_frame(frame)?;
        let written = wait_for(&signal.filled, || signal.take());
        match or_timeout(written, timeout).await {
            Some(outcome) => outcome,
            None => wait_for(&signal.filled, || self.withdraw(&signal)).await,
        }
    }

    /// `send_frame`, for blocking adapters: blocks at most `timeout` (see
    /// [`send_frame_async`](Self::send_frame_async)).
    pub fn send_frame_blocking(&self, frame: Frame, timeout: Duration) -> Result<(), SendError> {
        let signal = self.queue_send_frame(frame)?;
        let deadline = Instant::now() + timeout;
        match wait_for_blocking(&signal.filled, Some(deadline), || signal.take()) {
            Some(outcome) => outcome,
            None => wait_for_blocking(&signal.filled, None, || self.withdraw(&signal))
                .unwrap_or(Err(SendError::TimeoutCommitted)),
        }
    }

    /// Withdraws a timed-out `send_frame`; `None` while the frame is being handed to the
    /// socket (the outcome is known once that write returns).
    fn withdraw(&self, signal: &Signal<Result<(), SendError>>) -> Option<Result<(), SendError>> {
        match signal.withdraw() {
            Withdrawal::Withdrawn => {
                // The session takes its bytes out before the next write; wake it to free them.
                self.shared.task.wake();
                Some(Err(SendError::Timeout))
            }
            Withdrawal::Committed => Some(Err(SendError::TimeoutCommitted)),
            Withdrawal::Busy => None,
            Withdrawal::Done(outcome) => Some(outcome),
        }
    }

    fn queue_send_frame(&self, frame: Frame) -> Result<Arc<Signal<Result<(), SendError>>>, SendError> {
        if CallbackGuard::is_inside(self.id()) {
            return Err(SendError::FromCallback);
        }
        self.check_sendable(&frame)?;
        let signal = Arc::new(Signal::new());
        self.push(Command::SendFrame(frame, FrameWaiter(signal.clone())))?;
        Ok(signal)
    }

    /// Queues a frame without waiting for it to be written: the pipelined path for many
    /// messages. Waits only while the send buffer (bytes queued, not yet written) is spent;
    /// frames queued together go out in one write.
    pub async fn send(&self, frame: Frame) -> Result<(), SendError> {
        self.check_sendable(&frame)?;
        let cost = self.cost(&frame);
        self.take_budget(cost).await?;
        self.push_send(frame, cost)
    }

    /// [`send`](Self::send), never compressing this message even with permessage-deflate
    /// negotiated (for data that does not shrink, or that must not share a compression
    /// context with the rest, e.g. a secret beside attacker-chosen text).
    pub async fn send_uncompressed(&self, frame: Frame) -> Result<(), SendError> {
        self.check_sendable(&frame)?;
        let cost = self.cost(&frame);
        self.take_budget(cost).await?;
        self.push_uncompressed(frame, cost)
    }

    /// [`send_uncompressed`](Self::send_uncompressed), for blocking adapters.
    pub fn send_uncompressed_blocking(&self, frame: Frame) -> Result<(), SendError> {
        self.check_sendable(&frame)?;
        let cost = self.cost(&frame);
        self.take_budget_blocking(cost)?;
        self.push_uncompressed(frame, cost)
    }

    fn push_uncompressed(&self, frame: Frame, cost: usize) -> Result<(), SendError> {
        self.push(Command::SendUncompressed(frame, cost))
            .inspect_err(|_| self.release_budget(cost))
    }

    /// Pipelined `send`, for blocking adapters.
    pub fn send_blocking(&self, frame: Frame) -> Result<(), SendError> {
        self.check_sendable(&frame)?;
        let cost = self.cost(&frame);
        self.take_budget_blocking(cost)?;
        self.push_send(frame, cost)
    }

    /// A frame's share of the budget; one frame larger than the whole budget takes all of it.
    pub(crate) fn cost(&self, frame: &Frame) -> usize {
        (frame.payload_len() + frame_overhead::<H>()).min(self.shared.budget.whole())
    }

    /// Takes `cost` from the budget if it is there now (`false`: wait with
    /// [`take_budget`](Self::take_budget)).
    pub(crate) fn take_budget_now(&self, cost: usize) -> bool {
        self.shared.budget.take_now(cost)
    }

    /// Takes `cost` from the budget, waiting while it is spent; fails once the client stopped.
    pub(crate) async fn take_budget(&self, cost: usize) -> Result<(), SendError> {
        self.shared.budget.take(cost, || self.stopped()).await
    }

    /// [`take_budget`](Self::take_budget), blocking this thread.
    pub(crate) fn take_budget_blocking(&self, cost: usize) -> Result<(), SendError> {
        self.shared.budget.take_blocking(cost, || self.stopped())
    }

    /// The error for a sender once the client has stopped.
    fn stopped(&self) -> Option<SendError> {
        lock(&self.shared.queue).closed.then(|| self.gone_error())
    }

    /// Waits until the client stops for good and returns the final reason.
    pub async fn wait(&self) -> CloseReason {
        wait_for(&self.shared.status_changed, || self.terminated()).await
    }

    /// [`wait`](Self::wait) until `timeout` completes; `None` if still running then.
    pub async fn wait_or(&self, timeout: impl Future<Output = ()>) -> Option<CloseReason> {
        or_timeout(self.wait(), timeout).await
    }

    /// `wait`, for blocking adapters: the final reason, or `None` if still running after
    /// `timeout`.
    pub fn wait_blocking(&self, timeout: Option<Duration>) -> Option<CloseReason> {
        let deadline = timeout.map(|t| Instant::now() + t);
        wait_for_blocking(&self.shared.status_changed, deadline, || self.terminated())
    }

    /// For a synchronous start: waits until the first connection opened and `handle_connect`
    /// ran, or the first attempt failed.
    pub async fn started(&self) -> Result<(), CloseReason> {
        let started = &self.shared.started;
        wait_for(&started.filled, || started.take())
            .await
            .map_err(|reason| *reason)
    }

    /// [`started`](Self::started) on this thread.
    pub fn started_blocking(&self) -> Result<(), CloseReason> {
        let started = &self.shared.started;
        wait_for_blocking(&started.filled, None, || started.take())
            .map(|outcome| outcome.map_err(|reason| *reason))
            .unwrap_or(Err(CloseReason::Error(wsx_proto::Error::Aborted)))
    }

    pub(crate) fn check_sendable(&self, frame: &Frame) -> Result<(), SendError> {
        frame.validate().map_err(SendError::Encode)?;
        if self.shared.connected.load(Ordering::Acquire) {
            return Ok(());
        }
        match &*lock(&self.shared.status) {
            Status::Connected => Ok(()),
            Status::Connecting => Err(SendError::NotConnected),
            Status::Terminated(reason) => Err(SendError::ConnectionFailed(Some(reason.clone()))),
        }
    }

    fn gone_error(&self) -> SendError {
        SendError::ConnectionFailed(self.terminated())
    }

    fn push(&self, command: Queued<H>) -> Result<(), SendError> {
        let was_empty = {
            let mut queue = lock(&self.shared.queue);
            if queue.closed {
                drop(queue);
                return Err(self.gone_error());
            }
            queue.commands.push_back(command);
            queue.commands.len() == 1
        };
        // A queue that was not empty has a wake-up pending: the task empties it whole.
        if was_empty {
            self.shared.task.wake();
        }
        Ok(())
    }

    /// Queues a pipelined frame (encoded here when it is small: see [`queue_send`]).
    fn push_send(&self, frame: Frame, cost: usize) -> Result<(), SendError> {
        let rule = self.encode_rule();
        let was_empty = {
            let mut guard = lock(&self.shared.queue);
            let queue = &mut *guard;
            if queue.closed {
                drop(guard);
                self.release_budget(cost);
                return Err(self.gone_error());
            }
            let was_empty = queue.commands.is_empty();
            queue_send(&mut queue.commands, &mut queue.outbox, frame, cost, rule);
            was_empty
        };
        if was_empty {
            self.shared.task.wake();
        }
        Ok(())
    }

    /// Queues a batch with one lock and one wake-up. On `Err` (the client has stopped) the
    /// batch is dropped and the budget it held given back.
    pub(crate) fn push_batch(&self, batch: &mut Batch<H>) -> Result<(), SendError> {
        if batch.is_empty() {
            return Ok(());
        }
        {
            let mut guard = lock(&self.shared.queue);
            if !guard.closed {
                let queue = &mut *guard;
                let was_empty = queue.commands.is_empty();
                batch.hand_over(&mut queue.commands, &mut queue.outbox);
                drop(guard);
                if was_empty {
                    self.shared.task.wake();
                }
                return Ok(());
            }
        }
        self.release_budget(batch.discard());
        Err(self.gone_error())
    }

    /// Largest message a sender encodes itself (0: none).
    pub(crate) fn encode_rule(&self) -> EncodeRule {
        EncodeRule {
            limit: self.shared.encode_limit.load(Ordering::Relaxed),
            masked: self.shared.masks,
        }
    }

    /// Takes up to `cost` of the unclaimed budget without waiting: what was taken (0 when
    /// there is none), or an error once the client has stopped.
    pub(crate) fn take_budget_up_to(&self, cost: usize) -> Result<usize, SendError> {
        match self.shared.budget.take_up_to(cost) {
            0 => self.stopped().map_or(Ok(0), Err),
            taken => Ok(taken),
        }
    }

    /// The budget a sender without a claim may take now, or an error once the client has
    /// stopped. (`start_send` catches a stopped client with budget left.)
    pub(crate) fn budget_left(&self) -> Result<usize, SendError> {
        match self.shared.budget.unclaimed() {
            0 => self.stopped().map_or(Ok(0), Err),
            left => Ok(left),
        }
    }

    /// A listener for freed budget (listen, then look again, then wait).
    pub(crate) fn listen_budget(&self) -> crate::gate::GateListener {
        self.shared.budget.freed().listen()
    }

    /// Registers the connection task to be woken by the next command.
    pub fn register(&self, waker: &Waker) {
        self.shared.task.register(waker);
    }
}

/// The session's side: what it takes from the handles and reports to them.
impl<H: Handler> Link for ClientHandle<H> {
    type Cast = H::Cast;
    type Waiter = FrameWaiter;

    /// Moves every queued command to the back of `batch`, and the outbox's bytes to the back
    /// of `encoded` (one lock for all of them).
    fn take_commands(&self, batch: &mut VecDeque<Queued<H>>, encoded: &mut BytesMut) {
        let mut queue = lock(&self.shared.queue);
        if !queue.outbox.is_empty() {
            if encoded.is_empty() {
                *encoded = queue.outbox.split();
            } else {
                encoded.extend_from_slice(&queue.outbox);
                queue.outbox.clear();
            }
        }
        if queue.commands.is_empty() {
        } else if batch.is_empty() {
            // Swapping keeps both buffers' allocations for reuse.
            std::mem::swap(&mut queue.commands, batch);
        } else {
            batch.extend(queue.commands.drain(..));
        }
    }

    fn cast_taken(&self) {
        self.shared.casts_queued.fetch_sub(1, Ordering::AcqRel);
    }

    /// Gives back the queue's room if it is empty.
    fn release_idle_buffers(&self, keep_commands: usize) {
        let mut queue = lock(&self.shared.queue);
        if queue.commands.is_empty() && queue.commands.capacity() > keep_commands {
            queue.commands = VecDeque::new();
        }
        if queue.outbox.is_empty() {
            buffer::recycle(&mut queue.outbox);
        }
    }

    fn set_status(&self, status: Status) {
        let mut current = lock(&self.shared.status);
        self.shared
            .connected
            .store(status == Status::Connected, Ordering::Release);
        *current = status;
        drop(current);
        self.shared.status_changed.notify();
    }

    fn set_started(&self, outcome: Result<(), CloseReason>) {
        self.shared.started.fill(outcome.map_err(Box::new));
    }

    /// The end: refuses new commands, fails what is still queued, then announces the reason
    /// (in that order, so nothing sent after `wait()` returns is silently dropped).
    fn finish(&self, reason: &CloseReason) {
        let left = {
            let mut queue = lock(&self.shared.queue);
            queue.closed = true;
            std::mem::take(&mut queue.commands)
        };
        for command in left {
            if let Command::SendFrame(_, waiter) = command {
                waiter.0.fill(Err(SendError::ConnectionFailed(Some(reason.clone()))));
            }
        }
        self.set_status(Status::Terminated(reason.clone()));
        self.shared.started.fill(Err(Box::new(reason.clone())));
        self.shared.budget.wake_all();
    }

    /// Gives `cost` back to the budget (a frame was written, or never queued).
    fn release_budget(&self, cost: usize) {
        self.shared.budget.release(cost);
    }

    fn set_unwritten(&self, bytes: usize) {
        self.shared.unwritten.store(bytes, Ordering::Release);
    }

    /// Lets senders encode messages up to `limit` bytes themselves (0: none).
    fn set_encode_limit(&self, limit: usize) {
        self.shared.encode_limit.store(limit, Ordering::Relaxed);
    }

    fn send_buffer(&self) -> usize {
        self.shared.budget.whole()
    }

    fn count_in(&self, frame: &Frame) {
        self.shared.stats.frame_in(frame);
    }

    fn count_out(&self, frames: u64, payload: u64) {
        self.shared.stats.frames_out(frames, payload);
    }

    fn uncount_out(&self, payload: u64) {
        self.shared.stats.frame_taken_back(payload);
    }

    #[inline]
    fn in_callback<R>(&self, callback: impl FnOnce() -> R) -> R {
        let _guard = CallbackGuard::enter(self.id());
        callback()
    }

    fn wall_clock(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// What [`ClientHandle::buffered_bytes`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BufferedBytes {
    /// Bytes of frames queued by `send` and not yet written: payload, frame header and queue
    /// entry.
    pub queued_sends: usize,
    /// Bytes of the connection's output not yet taken by the socket.
    pub unwritten: usize,
    /// The configured send buffer.
    pub send_buffer: usize,
}
