//! Waiting without a runtime: one-shot outcomes, and the listen-then-look loops over
//! [`Gate`]s, as futures and as blocking waits.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::Poll;
use std::time::Instant;

pub(crate) use crate::session::gate::Gate;

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Callbacks never run while these locks are held; a poisoned lock still holds valid data.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A one-shot outcome one caller waits for and the session fills, unless the caller
/// withdrew first.
#[derive(Debug)]
pub(crate) struct Signal<T> {
    state: Mutex<SignalState<T>>,
    pub(crate) filled: Gate,
}

#[derive(Debug)]
enum SignalState<T> {
    Waiting,
    /// The session started on it (a frame being written): too late to withdraw.
    Started,
    Done(T),
    Withdrawn,
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
        if matches!(*state, SignalState::Waiting | SignalState::Started) {
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
    pub(crate) fn withdraw(&self) {
        let mut state = self.lock();
        if let SignalState::Waiting | SignalState::Started = *state {
            *state = SignalState::Withdrawn;
        }
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
