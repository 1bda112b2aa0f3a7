//! The send budget: bytes of pipelined frames queued and not yet written. A sender takes its
//! frame's cost before queueing it and the session gives the cost back once the frame is
//! written; a sender that finds too little left waits.
//!
//! A sender waiting for more than half of the budget claims what it needs, and other senders
//! leave the largest claim in the budget, so a stream of small frames (or a sink taking
//! whatever is left) cannot keep a large frame waiting forever for a budget that never
//! refills: it fills up to the claim, and only its claimant may take it. Smaller waiters need
//! no claim: they are woken whenever half of the budget is free.

use crate::sync::{AtomicUsize, Mutex, Ordering};
use std::collections::BTreeMap;
use std::time::Instant;

use crate::wait::{lock, wait_for, wait_for_blocking, Gate};
use wsx_proto::SendError;

#[derive(Debug)]
pub(crate) struct SendBudget {
    whole: usize,
    left: AtomicUsize,
    /// The largest claim of a waiting sender (0: none), read by every take.
    largest_claim: AtomicUsize,
    /// The waiting senders' claims: cost, and how many wait with that cost.
    claims: Mutex<BTreeMap<usize, usize>>,
    freed: Gate,
}

impl SendBudget {
    pub(crate) fn new(whole: usize) -> Self {
        Self {
            whole,
            left: AtomicUsize::new(whole),
            largest_claim: AtomicUsize::new(0),
            claims: Mutex::new(BTreeMap::new()),
            freed: Gate::default(),
        }
    }

    /// The whole budget (the configured send buffer).
    pub(crate) fn whole(&self) -> usize {
        self.whole
    }

    /// Taken and not yet given back.
    pub(crate) fn in_use(&self) -> usize {
        self.whole.saturating_sub(self.left.load(Ordering::Acquire))
    }

    /// What a sender without a claim may take now: what is left beyond the largest claim.
    pub(crate) fn unclaimed(&self) -> usize {
        let left = self.left.load(Ordering::Acquire);
        left.saturating_sub(self.largest_claim.load(Ordering::Acquire))
    }

    /// Takes `cost` if it is there without eating into a claim; a claimant of the largest
    /// claim may take that claim itself.
    fn try_take(&self, cost: usize, claimant: bool) -> bool {
        self.left
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
                let claim = self.largest_claim.load(Ordering::Acquire);
                let keep = if claimant && cost >= claim { 0 } else { claim };
                left.checked_sub(cost).filter(|rest| *rest >= keep)
            })
            .is_ok()
    }

    /// Takes `cost` now if it is there (`false`: wait with [`take`](Self::take)).
    pub(crate) fn take_now(&self, cost: usize) -> bool {
        self.try_take(cost, false)
    }

    /// Takes up to `cost` of what is unclaimed, without waiting: what was taken.
    pub(crate) fn take_up_to(&self, cost: usize) -> usize {
        let mut left = self.left.load(Ordering::Acquire);
        loop {
            let take = left
                .saturating_sub(self.largest_claim.load(Ordering::Acquire))
                .min(cost);
            if take == 0 {
                return 0;
            }
            match self
                .left
                .compare_exchange_weak(left, left - take, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return take,
                Err(now) => left = now,
            }
        }
    }

    /// Takes `cost`, waiting while it is not there (with a claim if it is more than half of
    /// the budget); `stopped` says whether to give up (the client has stopped).
    pub(crate) async fn take(&self, cost: usize, stopped: impl Fn() -> Option<SendError>) -> Result<(), SendError> {
        if self.try_take(cost, false) {
            return Ok(());
        }
        let claim = Claim::new(self, cost);
        wait_for(&self.freed, || claim.take_or(&stopped)).await
    }

    /// [`take`](Self::take), blocking this thread.
    pub(crate) fn take_blocking(&self, cost: usize, stopped: impl Fn() -> Option<SendError>) -> Result<(), SendError> {
        if self.try_take(cost, false) {
            return Ok(());
        }
        let claim = Claim::new(self, cost);
        wait_for_blocking(&self.freed, None::<Instant>, || claim.take_or(&stopped)).unwrap_or(Ok(()))
    }

    /// Gives `cost` back. Waiters are woken when the budget left rises through half of the
    /// whole or through the largest claim, or fills it, not for every written frame: a sender
    /// then refills half a budget per wake-up instead of paying a context switch per frame.
    /// (Claims are all above half, so they do not wake anyone more often.)
    pub(crate) fn release(&self, cost: usize) {
        let before = self.left.fetch_add(cost, Ordering::AcqRel);
        let after = before + cost;
        let rose_through = |level: usize| level > 0 && before < level && after >= level;
        let claim = self.largest_claim.load(Ordering::Acquire);
        if rose_through(self.whole / 2) || rose_through(claim) || after >= self.whole {
            self.freed.notify();
        }
    }

    /// Wakes every waiter (the client stopped).
    pub(crate) fn wake_all(&self) {
        self.freed.notify();
    }

    /// The gate waiters of the sink listen on.
    pub(crate) fn freed(&self) -> &Gate {
        &self.freed
    }

    fn set_largest(&self, claims: &BTreeMap<usize, usize>) {
        let largest = claims.last_key_value().map_or(0, |(cost, _)| *cost);
        self.largest_claim.store(largest, Ordering::Release);
    }
}

/// A waiting sender, with its claim if it has one; the claim is withdrawn when it is dropped
/// (taken, given up, or the waiting future cancelled), so no claim outlives its sender.
struct Claim<'a> {
    budget: &'a SendBudget,
    cost: usize,
    registered: bool,
}

impl<'a> Claim<'a> {
    fn new(budget: &'a SendBudget, cost: usize) -> Self {
        let registered = cost > budget.whole / 2;
        if registered {
            let mut claims = lock(&budget.claims);
            *claims.entry(cost).or_default() += 1;
            budget.set_largest(&claims);
        }
        Self {
            budget,
            cost,
            registered,
        }
    }

    fn take_or(&self, stopped: &impl Fn() -> Option<SendError>) -> Option<Result<(), SendError>> {
        if self.budget.try_take(self.cost, self.registered) {
            return Some(Ok(()));
        }
        stopped().map(Err)
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if !self.registered {
            return;
        }
        let mut claims = lock(&self.budget.claims);
        if let Some(count) = claims.get_mut(&self.cost) {
            *count -= 1;
            if *count == 0 {
                claims.remove(&self.cost);
            }
        }
        self.budget.set_largest(&claims);
        drop(claims);
        // Smaller claims may be satisfiable now that this one is gone.
        self.budget.freed.notify();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::future::Future;
    use std::sync::Arc;

    /// Polls a wait once: whether it has taken its budget.
    fn done(wait: std::pin::Pin<&mut impl Future<Output = Result<(), SendError>>>) -> bool {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        wait.poll(&mut cx).is_ready()
    }

    #[test]
    fn a_claim_is_kept_from_smaller_senders_and_given_to_its_claimant() {
        let budget = Arc::new(SendBudget::new(1000));
        assert!(budget.take_now(600));
        let big = {
            let budget = budget.clone();
            std::thread::spawn(move || budget.take_blocking(900, || None))
        };
        while budget.largest_claim.load(Ordering::Acquire) != 900 {
            std::thread::yield_now();
        }
        budget.release(299);
        // 699 left, short of the claim: a small sender must leave it alone.
        assert!(!budget.take_now(10));
        assert_eq!(budget.take_up_to(100), 0);
        budget.release(201);
        big.join().unwrap().unwrap();
        assert_eq!(budget.in_use(), 1000, "the first 100 and the claimed 900");
        assert_eq!(
            budget.largest_claim.load(Ordering::Acquire),
            0,
            "the claim is withdrawn"
        );
        budget.release(100);
        assert!(budget.take_now(100));
    }

    /// Small senders take whatever is written back while a frame of 90% of the budget waits:
    /// they are refused until the large frame has its share (without the claim, each small
    /// sender took the 100 bytes just freed, and the budget never had 900 left).
    #[test]
    fn a_large_frame_is_not_starved_by_a_stream_of_small_ones() {
        let budget = SendBudget::new(1000);
        assert!(budget.take_now(1000));
        let mut large = std::pin::pin!(budget.take(900, || None));
        assert!(!done(large.as_mut()));
        let mut small_sent = 0;
        for _ in 0..9 {
            budget.release(100);
            small_sent += usize::from(budget.take_now(100));
            small_sent += usize::from(budget.take_up_to(100) > 0);
        }
        assert_eq!(small_sent, 0, "small senders kept out while the large frame waits");
        assert!(done(large.as_mut()));
        assert_eq!(budget.largest_claim.load(Ordering::Acquire), 0);
        budget.release(100);
        assert!(budget.take_now(100), "small senders go again once it has gone");
    }

    /// A sender waiting for half of the budget or less claims nothing: the others are not held
    /// back, and a release wakes waiters at half and full only, not for every frame written.
    #[test]
    fn small_waiters_claim_nothing() {
        let budget = SendBudget::new(1000);
        assert!(budget.take_now(1000));
        let mut small = std::pin::pin!(budget.take(500, || None));
        assert!(!done(small.as_mut()));
        assert_eq!(budget.largest_claim.load(Ordering::Acquire), 0);
        budget.release(200);
        assert_eq!(budget.take_up_to(50), 50, "what is free is anyone's");
        budget.release(350);
        assert!(done(small.as_mut()));
    }

    #[test]
    fn a_cancelled_wait_withdraws_its_claim() {
        let budget = SendBudget::new(100);
        assert!(budget.take_now(100));
        {
            let waiting = std::pin::pin!(budget.take(80, || None));
            assert!(!done(waiting));
            assert_eq!(budget.largest_claim.load(Ordering::Acquire), 80);
        }
        assert_eq!(budget.largest_claim.load(Ordering::Acquire), 0);
        budget.release(30);
        assert_eq!(budget.take_up_to(50), 30, "nothing is kept for a sender that left");
    }
}
