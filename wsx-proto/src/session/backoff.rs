//! Delays between reconnect attempts that grow: exponential with full jitter, capped, and reset
//! once a connection stayed up for a while.

use std::time::Duration;

use rand::Rng;

use crate::session::handler::{DisconnectStatus, Reconnect};

/// Reconnect delays for [`Handler::handle_disconnect`](crate::Handler::handle_disconnect):
/// attempt `n` (counting failures since the last connection that lasted) waits a random time
/// between zero and `min(cap, base × 2ⁿ)` ("full jitter": many clients that lost one server
/// do not come back in step).
///
/// ```
/// use std::time::Duration;
/// use wsx_proto::{config::Backoff, DisconnectStatus, Handler, Reconnect};
///
/// struct Feed {
///     backoff: Backoff,
/// }
///
/// impl Handler for Feed {
///     type Cast = ();
///     type Info = ();
///
///     fn handle_disconnect(&mut self, status: DisconnectStatus) -> Reconnect {
///         self.backoff.reconnect(&status)
///     }
/// }
///
/// let feed = Feed { backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(30)) };
/// # let _ = feed;
/// ```
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    reset_after: Duration,
    failures: u32,
}

impl Backoff {
    /// Delays from `base` doubling up to `cap`; reset by a connection that lasted 30 s.
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self {
            base,
            cap,
            reset_after: Duration::from_secs(30),
            failures: 0,
        }
    }

    /// A connection that stayed open this long starts the delays from `base` again.
    pub fn reset_after(mut self, uptime: Duration) -> Self {
        self.reset_after = uptime;
        self
    }

    /// The longest delay the next attempt may get: `min(cap, base × 2ⁿ)`.
    pub fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.failures.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The delay before the next attempt, after the disconnect described by `status`.
    pub fn next_delay(&mut self, status: &DisconnectStatus) -> Duration {
        if status.connected_for.is_some_and(|up| up >= self.reset_after) {
            self.failures = 0;
        }
        let ceiling = self.ceiling();
        self.failures = self.failures.saturating_add(1);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rand::rng().random_range(0..=nanos))
    }

    /// `Reconnect::After(self.next_delay(status))`: the whole of a `handle_disconnect` that
    /// always reconnects.
    pub fn reconnect(&mut self, status: &DisconnectStatus) -> Reconnect {
        Reconnect::After(self.next_delay(status))
    }

    /// Starts the delays from `base` again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CloseReason, ConnectSettings};

    fn status(connected_for: Option<Duration>) -> DisconnectStatus {
        let mut status = DisconnectStatus::new(
            CloseReason::Dropped,
            1,
            ConnectSettings::new("ws://localhost/").unwrap(),
        );
        status.connected_for = connected_for;
        status
    }

    #[test]
    fn delays_stay_under_a_ceiling_that_doubles_to_the_cap() {
        let ms = Duration::from_millis;
        let mut backoff = Backoff::new(ms(100), ms(1000));
        let mut ceilings = Vec::new();
        for _ in 0..6 {
            let ceiling = backoff.ceiling();
            ceilings.push(ceiling.as_millis());
            let delay = backoff.next_delay(&status(None));
            assert!(delay <= ceiling, "{delay:?} above {ceiling:?}");
        }
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn delays_are_jittered() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(1));
        let delays: std::collections::HashSet<Duration> = (0..20).map(|_| backoff.next_delay(&status(None))).collect();
        assert!(delays.len() > 15, "{delays:?}");
    }

    #[test]
    fn a_connection_that_lasted_resets_and_a_short_one_does_not() {
        let ms = Duration::from_millis;
        let mut backoff = Backoff::new(ms(10), ms(10_000)).reset_after(ms(500));
        for _ in 0..4 {
            backoff.next_delay(&status(None));
        }
        assert_eq!(backoff.ceiling(), ms(160));
        backoff.next_delay(&status(Some(ms(100))));
        assert_eq!(backoff.ceiling(), ms(320), "a flapping connection keeps growing");
        backoff.next_delay(&status(Some(ms(600))));
        assert_eq!(backoff.ceiling(), ms(20), "reset, then this failure counted");
        assert!(matches!(backoff.reconnect(&status(None)), Reconnect::After(d) if d <= ms(20)));
    }

    #[test]
    fn huge_attempt_counts_do_not_overflow() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        for _ in 0..100 {
            assert!(backoff.next_delay(&status(None)) <= Duration::from_secs(60));
        }
    }
}
