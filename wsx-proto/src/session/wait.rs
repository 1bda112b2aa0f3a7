//! Waiting without a runtime: events that cost nothing while nobody waits, one-shot outcomes,
//! and the listen-then-look loops over them, as futures and as blocking waits.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::Poll;
use std::time::Instant;

use event_listener::{Event, Listener};

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Callbacks never run while these locks are held; a poisoned lock still holds valid data.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An event that costs nothing to notify until someone first waits on it: `notify` skips the
/// listener list (whose state is allocated on first use) while the `listened` flag is down.
/// The flag stays up once raised: a notifier that lowered it could race a waiter between
/// raising it and registering, and the waiter would then miss every later notification.
///
/// No wake-up is lost: a waiter raises the flag, then registers, then checks its state; a
/// notifier changes the state, then looks at the flag. The SeqCst fences on both sides order
/// the flag against the state (the Dekker pattern): either the notifier sees the flag up, or
/// the waiter's check sees the new state.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    event: Event,
    listened: AtomicBool,
}

impl Gate {
    pub(crate) fn listen(&self) -> event_listener::EventListener {
        self.listened.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        self.event.listen()
    }

    pub(crate) fn notify(&self) {
        fence(Ordering::SeqCst);
        if self.listened.load(Ordering::Relaxed) {
            self.event.notify(usize::MAX);
        }
    }
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
        match deadline {
            None => listener.wait(),
            Some(at) => {
                if listener.wait_deadline(at).is_none() {
                    return check();
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    /// A waiter that re-listens while one thread notifies real changes and another notifies
    /// nothing in particular is woken by every change (a notifier that lowered the flag once
    /// made the waiter miss every later wake-up, and sleep until its deadline).
    #[test]
    fn gate_loses_no_wake_up_under_racing_notifiers() {
        const ROUNDS: usize = 5_000;
        let gate = Gate::default();
        let (state, seen) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let done = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                while !done.load(Ordering::Relaxed) {
                    gate.notify();
                }
            });
            s.spawn(|| {
                for i in 1..=ROUNDS {
                    while seen.load(Ordering::Acquire) < i - 1 && !done.load(Ordering::Relaxed) {
                        std::thread::yield_now();
                    }
                    state.store(i, Ordering::Release);
                    gate.notify();
                }
            });
            let mut lost = None;
            for target in 1..=ROUNDS {
                let deadline = Instant::now() + Duration::from_millis(500);
                wait_for_blocking(&gate, Some(deadline), || {
                    (state.load(Ordering::Acquire) >= target).then_some(())
                });
                seen.store(target, Ordering::Release);
                if Instant::now() >= deadline {
                    lost = Some(target);
                    break;
                }
            }
            done.store(true, Ordering::Relaxed);
            assert_eq!(lost, None, "the wake-up for this change was lost");
        });
    }
}
