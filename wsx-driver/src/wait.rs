//! Waiting without a runtime: one-shot outcomes, and the listen-then-look loops over
//! [`Gate`]s, as futures and as blocking waits.

use crate::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::Instant;

use wsx_proto::session::Waiter;
use wsx_proto::SendError;

pub(crate) use crate::gate::Gate;

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Callbacks never run while these locks are held; a poisoned lock still holds valid data.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A one-shot outcome one caller waits for and the session fills, unless the caller
/// withdrew first. For a `send_frame` it also tells whether the frame can still be taken back.
#[derive(Debug)]
pub(crate) struct Signal<T> {
    state: Mutex<SignalState<T>>,
    pub(crate) filled: Gate,
}

#[derive(Debug)]
enum SignalState<T> {
    Waiting,
    /// The session queued the frame, none of it written: it can still be taken back.
    Started,
    /// Handed to the socket right now: whether any of it leaves is known once the write
    /// returns, so a caller withdrawing waits for that.
    Writing,
    /// Too late to take back: some of it was written, or it cannot be left out of the stream.
    Committed,
    Done(T),
    Withdrawn,
}

/// What [`Signal::withdraw`] found.
#[derive(Debug)]
pub(crate) enum Withdrawal<T> {
    /// Withdrawn: it is never sent.
    Withdrawn,
    /// It goes out anyway (some of it already left, or it cannot be left out).
    Committed,
    /// Being written this instant: wait for the `filled` gate and withdraw again.
    Busy,
    /// The outcome came first.
    Done(T),
}

impl<T> Signal<T> {
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new(SignalState::Waiting),
            filled: Gate::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, SignalState<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Fills it (the first fill wins).
    pub(crate) fn fill(&self, value: T) {
        let mut state = self.lock();
        if !matches!(*state, SignalState::Done(_) | SignalState::Withdrawn) {
            *state = SignalState::Done(value);
            drop(state);
            self.filled.notify();
        }
    }

    /// Marks it started unless withdrawn; false if the caller gave up.
    pub(crate) fn start(&self) -> bool {
        let mut state = self.lock();
        match *state {
            SignalState::Waiting => {
                *state = SignalState::Started;
                true
            }
            SignalState::Withdrawn => false,
            _ => true,
        }
    }

    /// The frame can no longer be taken back.
    pub(crate) fn commit(&self) {
        let mut state = self.lock();
        if let SignalState::Started | SignalState::Writing = *state {
            *state = SignalState::Committed;
            drop(state);
            self.filled.notify();
        }
    }

    /// The frame is about to be handed to the socket: false if the caller withdrew it, and
    /// then its bytes must be taken out first.
    pub(crate) fn begin_write(&self) -> bool {
        let mut state = self.lock();
        match *state {
            SignalState::Started => {
                *state = SignalState::Writing;
                true
            }
            SignalState::Withdrawn => false,
            _ => true,
        }
    }

    /// The write [`begin_write`](Self::begin_write) announced returned: `written` if any of
    /// the frame left.
    pub(crate) fn end_write(&self, written: bool) {
        let mut state = self.lock();
        if let SignalState::Writing = *state {
            *state = if written {
                SignalState::Committed
            } else {
                SignalState::Started
            };
            drop(state);
            self.filled.notify();
        }
    }

    /// Whether the caller gave up.
    pub(crate) fn is_withdrawn(&self) -> bool {
        matches!(*self.lock(), SignalState::Withdrawn)
    }

    pub(crate) fn take(&self) -> Option<T> {
        let mut state = self.lock();
        match std::mem::replace(&mut *state, SignalState::Withdrawn) {
            SignalState::Done(value) => Some(value),
            other => {
                *state = other;
                None
            }
        }
    }

    /// The caller gives up; whatever comes later is dropped.
    pub(crate) fn withdraw(&self) -> Withdrawal<T> {
        let mut state = self.lock();
        match std::mem::replace(&mut *state, SignalState::Withdrawn) {
            SignalState::Waiting | SignalState::Started | SignalState::Withdrawn => Withdrawal::Withdrawn,
            SignalState::Committed => Withdrawal::Committed,
            SignalState::Writing => {
                *state = SignalState::Writing;
                Withdrawal::Busy
            }
            SignalState::Done(value) => Withdrawal::Done(value),
        }
    }
}

/// A `send_frame` caller waiting on another thread, as its session sees it.
#[derive(Debug, Clone)]
pub struct FrameWaiter(pub(crate) Arc<Signal<Result<(), SendError>>>);

impl Waiter for FrameWaiter {
    fn start(&self) -> bool {
        self.0.start()
    }

    fn commit(&self) {
        self.0.commit()
    }

    fn begin_write(&self) -> bool {
        self.0.begin_write()
    }

    fn end_write(&self, written: bool) {
        self.0.end_write(written)
    }

    fn is_withdrawn(&self) -> bool {
        self.0.is_withdrawn()
    }

    fn fill(&self, outcome: Result<(), SendError>) {
        self.0.fill(outcome)
    }

    fn same(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Waits until `check` gives a value: listen first, then look, so a change in between still
/// wakes the listener.
pub(crate) async fn wait_for<T>(event: &Gate, mut check: impl FnMut() -> Option<T>) -> T {
    loop {
        if let Some(value) = check() {
            return value;
        }
        let listener = event.listen();
        if let Some(value) = check() {
            return value;
        }
        listener.await;
    }
}

/// [`wait_for`] on this thread, until `deadline` at most.
pub(crate) fn wait_for_blocking<T>(
    event: &Gate,
    deadline: Option<Instant>,
    mut check: impl FnMut() -> Option<T>,
) -> Option<T> {
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        let listener = event.listen();
        if let Some(value) = check() {
            return Some(value);
        }
        if !listener.wait(deadline) {
            return check();
        }
    }
}

/// Runs `future` until it completes or `timeout` does (`None`).
pub(crate) async fn or_timeout<T>(future: impl Future<Output = T>, timeout: impl Future<Output = ()>) -> Option<T> {
    let mut future = pin!(future);
    let mut timeout = pin!(timeout);
    poll_fn(|cx| {
        if let Poll::Ready(value) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(value));
        }
        timeout.as_mut().poll(cx).map(|()| None)
    })
    .await
}
