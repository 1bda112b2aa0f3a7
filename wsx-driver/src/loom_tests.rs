//! Model checks of the hand-written synchronisation, run by loom over every interleaving (and
//! every value the memory model lets a load see) within a preemption bound:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p wsx-driver --release --lib loom_tests
//! ```
//!
//! A lost wake-up leaves a thread parked forever, which loom reports as a deadlock.

use loom::sync::atomic::AtomicBool;
use loom::thread;

use crate::budget::SendBudget;
use crate::gate::Gate;
use crate::sync::{Arc, Ordering};
use crate::wait::{wait_for, wait_for_blocking, Signal, Withdrawal};
use wsx_proto::SendError;

/// A gate, a flag, and a thread that raises the flag and notifies the gate.
fn change_and_notify() -> (Arc<Gate>, Arc<AtomicBool>, thread::JoinHandle<()>) {
    let gate = Arc::new(Gate::default());
    let changed = Arc::new(AtomicBool::new(false));
    let notifier = {
        let (gate, changed) = (gate.clone(), changed.clone());
        thread::spawn(move || {
            changed.store(true, Ordering::Relaxed);
            gate.notify();
        })
    };
    (gate, changed, notifier)
}

fn model(test: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(test);
}

/// A change made and notified on one thread wakes a thread blocked on the gate for it.
#[test]
fn a_blocking_waiter_sees_the_change_it_waits_for() {
    model(|| {
        let (gate, changed, notifier) = change_and_notify();
        let seen = wait_for_blocking(&gate, None, || changed.load(Ordering::Relaxed).then_some(()));
        assert_eq!(seen, Some(()));
        notifier.join().unwrap();
    });
}

/// The same as a future: the waker the listener registered is woken.
#[test]
fn an_async_waiter_sees_the_change_it_waits_for() {
    model(|| {
        let (gate, changed, notifier) = change_and_notify();
        loom::future::block_on(wait_for(&gate, || changed.load(Ordering::Relaxed).then_some(())));
        notifier.join().unwrap();
    });
}

/// Two waiters, two changes, one notification each: both wake, whichever order they listen
/// and are notified in.
#[test]
fn every_waiter_is_woken() {
    model(|| {
        let (gate, changed, notifier) = change_and_notify();
        let waiter = {
            let (gate, changed) = (gate.clone(), changed.clone());
            thread::spawn(move || {
                wait_for_blocking(&gate, None, || changed.load(Ordering::Relaxed).then_some(()));
            })
        };
        wait_for_blocking(&gate, None, || changed.load(Ordering::Relaxed).then_some(()));
        waiter.join().unwrap();
        notifier.join().unwrap();
    });
}

/// A `send_frame` caller that times out while the session writes its frame: either the
/// caller withdrew it before the session took or wrote it (and it is never written), or the
/// caller learns that it goes out. Never both, never neither.
#[test]
fn a_withdrawn_frame_is_never_written_and_a_written_one_never_withdrawn() {
    model(|| {
        let signal = Arc::new(Signal::<Result<(), SendError>>::new());
        let written = Arc::new(AtomicBool::new(false));
        let session = {
            let (signal, written) = (signal.clone(), written.clone());
            thread::spawn(move || {
                if signal.start() && signal.begin_write() {
                    written.store(true, Ordering::Relaxed);
                    signal.end_write(true);
                    signal.fill(Ok(()));
                }
            })
        };
        let outcome = wait_for_blocking(&signal.filled, None, || match signal.withdraw() {
            Withdrawal::Busy => None,
            Withdrawal::Withdrawn => Some(false),
            Withdrawal::Committed | Withdrawal::Done(_) => Some(true),
        })
        .expect("no deadline");
        session.join().unwrap();
        assert_eq!(
            outcome,
            written.load(Ordering::Relaxed),
            "the caller is told what happened"
        );
    });
}

/// A frame handed to the socket and not written at all (the write returned 0 or failed) can
/// still be withdrawn once the write returned.
#[test]
fn a_frame_left_unwritten_can_still_be_withdrawn() {
    model(|| {
        let signal = Arc::new(Signal::<Result<(), SendError>>::new());
        let session = {
            let signal = signal.clone();
            thread::spawn(move || {
                if signal.start() && signal.begin_write() {
                    signal.end_write(false);
                }
            })
        };
        let outcome = wait_for_blocking(&signal.filled, None, || match signal.withdraw() {
            Withdrawal::Busy => None,
            other => Some(matches!(other, Withdrawal::Withdrawn)),
        });
        session.join().unwrap();
        assert_eq!(outcome, Some(true), "nothing left: it is withdrawn");
    });
}

/// Two senders each needing more than half of the budget: each waits for the other's
/// release (with a claim), neither waits forever, and the budget comes back whole.
#[test]
fn senders_waiting_for_budget_are_woken_by_releases() {
    model(|| {
        let budget = Arc::new(SendBudget::new(10));
        let other = {
            let budget = budget.clone();
            thread::spawn(move || {
                budget.take_blocking(6, || None).unwrap();
                budget.release(6);
            })
        };
        budget.take_blocking(6, || None).unwrap();
        budget.release(6);
        other.join().unwrap();
        assert_eq!(budget.in_use(), 0);
    });
}

/// A small sender and a large one: the small one cannot starve the large one's claim, and
/// both finish.
#[test]
fn a_claim_is_filled_beside_small_senders() {
    model(|| {
        let budget = Arc::new(SendBudget::new(10));
        budget.take_blocking(4, || None).unwrap();
        let large = {
            let budget = budget.clone();
            thread::spawn(move || {
                budget.take_blocking(8, || None).unwrap();
                budget.release(8);
            })
        };
        let small = {
            let budget = budget.clone();
            thread::spawn(move || {
                budget.take_blocking(2, || None).unwrap();
                budget.release(2);
            })
        };
        budget.release(4);
        large.join().unwrap();
        small.join().unwrap();
        assert_eq!(budget.in_use(), 0);
    });
}
