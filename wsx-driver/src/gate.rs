//! An event to wait on, as a future or on a thread, that wakes its waiters after letting go
//! of its lock. (event-listener wakes under its list's lock: on a shared core the woken
//! thread preempts the waker, finds the lock held and sleeps again, three context switches
//! for one wake-up, measured on the blocking sender waiting for budget.)

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use crate::sync::{current, fence, park, park_timeout, Arc, AtomicU64, Mutex, OnceLock, Ordering, Thread};

use crate::wait::lock;

/// An event that costs nothing to notify until someone first waits on it: its state (the
/// waiters' list) is allocated by the first listener, and `notify` skips it while there is
/// none. A connection's gates hold one word each until then, which idle connections feel.
///
/// No wake-up is lost: a waiter makes the state, then listens (reads the epoch), then checks
/// what it waits for; a notifier changes that, then looks for the state and bumps the epoch.
/// The SeqCst fences on both sides order the two (the Dekker pattern): either the notifier
/// finds the state and bumps an epoch the listener read before, or the waiter's check sees
/// the change.
#[derive(Debug, Default)]
pub(crate) struct Gate(OnceLock<Arc<GateState>>);

#[derive(Debug, Default)]
struct GateState {
    /// Bumped by every notification: a listener is notified once it moved on from the
    /// value it read when it was made.
    epoch: AtomicU64,
    next_id: AtomicU64,
    /// Listeners that wait, by id; emptied by every notification.
    waiting: Mutex<Vec<(u64, Waker)>>,
}

impl Gate {
    /// A listener woken by any notification from now on.
    pub(crate) fn listen(&self) -> GateListener {
        let state = self.0.get_or_init(Arc::default);
        fence(Ordering::SeqCst);
        GateListener {
            epoch: state.epoch.load(Ordering::SeqCst),
            id: state.next_id.fetch_add(1, Ordering::Relaxed),
            registered: false,
            state: state.clone(),
        }
    }

    /// Wakes every listener.
    pub(crate) fn notify(&self) {
        fence(Ordering::SeqCst);
        let Some(state) = self.0.get() else { return };
        state.epoch.fetch_add(1, Ordering::SeqCst);
        let waiting = std::mem::take(&mut *lock(&state.waiting));
        for (_, waker) in waiting {
            waker.wake();
        }
    }
}

/// What [`Gate::listen`] returns: a future, or [`wait`](Self::wait) on this thread.
#[derive(Debug)]
pub(crate) struct GateListener {
    state: Arc<GateState>,
    epoch: u64,
    id: u64,
    /// Its waker may be in the list.
    registered: bool,
}

impl GateListener {
    fn notified(&self) -> bool {
        self.state.epoch.load(Ordering::SeqCst) != self.epoch
    }

    /// Whether notified; if not, `waker` is woken by the next notification.
    fn poll_notified(&mut self, waker: &Waker) -> bool {
        if self.notified() {
            return true;
        }
        let mut waiting = lock(&self.state.waiting);
        // Under the lock: a notification that took the list before it is seen here.
        if self.notified() {
            return true;
        }
        match waiting.iter_mut().find(|(id, _)| *id == self.id) {
            Some((_, registered)) => registered.clone_from(waker),
            None => waiting.push((self.id, waker.clone())),
        }
        self.registered = true;
        false
    }

    /// Blocks this thread until notified, or until `deadline`; returns whether notified.
    pub(crate) fn wait(mut self, deadline: Option<Instant>) -> bool {
        // The waker's own reference count is not part of the protocol: std's Arc, as `Wake`
        // wants.
        let waker = Waker::from(std::sync::Arc::new(Unpark(current())));
        loop {
            if self.poll_notified(&waker) {
                return true;
            }
            match deadline {
                None => park(),
                Some(at) => {
                    let now = Instant::now();
                    if now >= at {
                        return self.notified();
                    }
                    park_timeout(at - now);
                }
            }
        }
    }
}

impl Future for GateListener {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.poll_notified(cx.waker()) {
            true => Poll::Ready(()),
            false => Poll::Pending,
        }
    }
}

impl Drop for GateListener {
    /// Takes its waker out of the list, unless a notification has (or is about to: it bumps
    /// the epoch before it takes the list).
    fn drop(&mut self) {
        if self.registered && !self.notified() {
            lock(&self.state.waiting).retain(|(id, _)| *id != self.id);
        }
    }
}

/// Wakes a thread blocked in [`GateListener::wait`].
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.unpark();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize};
    use std::time::Duration;

    use crate::wait::wait_for_blocking;

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

    /// With no other notifier to hide a miss: each change, notified once, wakes the thread
    /// waiting for it long before its deadline.
    #[test]
    fn a_blocked_thread_is_woken_by_every_change() {
        const ROUNDS: usize = 2_000;
        let gate = Gate::default();
        let (state, seen) = (AtomicUsize::new(0), AtomicUsize::new(0));
        std::thread::scope(|s| {
            s.spawn(|| notify_each_change(&gate, &state, &seen, ROUNDS, false));
            for target in 1..=ROUNDS {
                let deadline = Instant::now() + Duration::from_secs(10);
                let reached = wait_for_blocking(&gate, Some(deadline), || {
                    (state.load(Ordering::Acquire) >= target).then_some(())
                });
                assert!(reached.is_some() && Instant::now() < deadline, "wake-up {target} lost");
                seen.store(target, Ordering::Release);
            }
        });
    }

    /// The same with a task: each change wakes the future waiting for it, the change made
    /// while the task is parked or between its looks.
    #[test]
    fn a_future_is_woken_by_every_change() {
        const ROUNDS: usize = 2_000;
        let gate = Gate::default();
        let (state, seen) = (AtomicUsize::new(0), AtomicUsize::new(0));
        std::thread::scope(|s| {
            s.spawn(|| notify_each_change(&gate, &state, &seen, ROUNDS, true));
            block_on_parking(async {
                for target in 1..=ROUNDS {
                    let reached = || (state.load(Ordering::Acquire) >= target).then_some(());
                    crate::wait::wait_for(&gate, reached).await;
                    seen.store(target, Ordering::Release);
                }
            });
        });
        assert_eq!(state.load(Ordering::Acquire), ROUNDS);
    }

    /// A listener that waits and is dropped leaves nothing in the list; a notification
    /// empties it.
    #[test]
    fn listeners_leave_no_waker_behind() {
        let gate = Gate::default();
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut first = gate.listen();
        let mut second = gate.listen();
        assert!(!first.poll_notified(&waker));
        assert!(!second.poll_notified(&waker));
        assert!(!first.poll_notified(&waker), "polled again: still one entry");
        assert_eq!(lock(&gate.0.get().expect("listened").waiting).len(), 2);
        drop(first);
        assert_eq!(lock(&gate.0.get().expect("listened").waiting).len(), 1);
        gate.notify();
        assert!(lock(&gate.0.get().expect("listened").waiting).is_empty());
        assert!(second.poll_notified(&waker));
        assert!(
            !gate.listen().wait(Some(Instant::now() + Duration::from_millis(20))),
            "times out"
        );
    }

    /// Wakers run after the list's lock is let go: a woken thread that runs at once (on a
    /// shared core it preempts the notifier) must not find the lock held and sleep again.
    #[test]
    fn wakers_run_outside_the_lock() {
        struct Probe(Arc<GateState>, AtomicUsize);
        impl Wake for Probe {
            fn wake(self: Arc<Self>) {
                self.wake_by_ref();
            }
            fn wake_by_ref(self: &Arc<Self>) {
                if self.0.waiting.try_lock().is_ok() {
                    self.1.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        let gate = Gate::default();
        let mut listeners: Vec<_> = (0..3).map(|_| gate.listen()).collect();
        let probe = Arc::new(Probe(gate.0.get().expect("listened").clone(), AtomicUsize::new(0)));
        let waker = Waker::from(probe.clone());
        for listener in &mut listeners {
            assert!(!listener.poll_notified(&waker));
        }
        gate.notify();
        assert_eq!(probe.1.load(Ordering::Relaxed), 3, "a waker ran under the lock");
    }

    /// Makes `rounds` changes to `state`, each once the waiter has `seen` the one before, and
    /// notifies each once; `pause` sleeps before every other change, so some land while the
    /// waiter is parked and some between its looks.
    fn notify_each_change(gate: &Gate, state: &AtomicUsize, seen: &AtomicUsize, rounds: usize, pause: bool) {
        for i in 1..=rounds {
            while seen.load(Ordering::Acquire) < i - 1 {
                std::thread::yield_now();
            }
            if pause && i % 2 == 0 {
                std::thread::sleep(Duration::from_micros(50));
            }
            state.store(i, Ordering::Release);
            gate.notify();
        }
    }

    /// Polls `future` on this thread, parking between polls; a wake-up that never comes
    /// fails the test instead of hanging it.
    fn block_on_parking<F: Future>(future: F) -> F::Output {
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        loop {
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
            let parked = Instant::now();
            std::thread::park_timeout(Duration::from_secs(10));
            assert!(parked.elapsed() < Duration::from_secs(10), "a wake-up was lost");
        }
    }
}
