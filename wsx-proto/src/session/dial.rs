//! Opening the TCP connection to the first hop, once for every adapter: which addresses (an IP
//! literal, addresses pinned with [`ConnectSettings::resolve`], or the system resolver's), in
//! which order, and the happy-eyeballs race over them (RFC 8305): address families
//! interleaved, a new attempt every [`ATTEMPT_DELAY`] while the earlier ones are still
//! pending, the next one at once when one fails, and the first to succeed wins, as a plan
//! ([`DialPlan`]) its drivers follow with their own sockets, lookups and timers.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::session::settings::ConnectSettings;

/// How long an attempt has before the next address is tried beside it (RFC 8305's
/// recommended "Connection Attempt Delay").
pub const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// Where a connection goes: addresses known without a lookup, or a name to resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// An IP literal, or addresses pinned with [`ConnectSettings::resolve`].
    Addresses(Vec<SocketAddr>),
    /// A host name and port for the system resolver.
    Lookup(String, u16),
}

impl ConnectSettings {
    /// Where the TCP connection to `host:port` (the first hop, see
    /// [`first_hop`](Self::first_hop)) goes.
    pub fn destination(&self, host: &str, port: u16) -> Destination {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Destination::Addresses(vec![SocketAddr::new(ip, port)]);
        }
        match self.pinned_addresses(bare) {
            Some(ips) => Destination::Addresses(ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect()),
            None => Destination::Lookup(bare.to_owned(), port),
        }
    }
}

/// Orders addresses for the race: the families alternate, starting with the family of the
/// first address (the resolver's preference), each family in its own order.
pub fn interleave(addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let Some(first) = addrs.first() else { return addrs };
    let first_is_v6 = first.is_ipv6();
    let (mut preferred, mut other): (Vec<_>, Vec<_>) = addrs.into_iter().partition(|a| a.is_ipv6() == first_is_v6);
    let mut ordered = Vec::with_capacity(preferred.len() + other.len());
    preferred.reverse();
    other.reverse();
    loop {
        match (preferred.pop(), other.pop()) {
            (None, None) => return ordered,
            (a, b) => ordered.extend(a.into_iter().chain(b)),
        }
    }
}

/// The happy-eyeballs race (RFC 8305) as a plan, sans-IO, written once for every adapter:
/// which address to try next and when. A driver starts the attempt [`next`](Self::next)
/// names, sleeps until an attempt finishes or the instant it gives, reports each failed
/// attempt with [`failed`](Self::failed), and takes the first attempt that connects. `E` is
/// the driver's error for a failed attempt.
#[derive(Debug)]
pub struct DialPlan<E> {
    waiting: std::vec::IntoIter<SocketAddr>,
    /// Attempts started and not yet failed.
    pending: usize,
    /// When the next attempt starts while others are pending (`None`: at once).
    next_at: Option<Instant>,
    last_error: Option<E>,
}

/// What the race does next, from [`DialPlan::next`].
#[derive(Debug)]
pub enum DialStep<E> {
    /// Start an attempt to this address now.
    Attempt(SocketAddr),
    /// Wait for a pending attempt to finish, or until this instant to start the next one
    /// (`None`: every address has its attempt).
    Wait(Option<Instant>),
    /// Every attempt failed: the last one's error, or `None` when there was no address.
    Failed(Option<E>),
}

impl<E> DialPlan<E> {
    /// A race over `addrs`, in [`interleave`] order.
    pub fn new(addrs: Vec<SocketAddr>) -> Self {
        Self {
            waiting: interleave(addrs).into_iter(),
            pending: 0,
            next_at: None,
            last_error: None,
        }
    }

    /// What to do at `now`: a new attempt every [`ATTEMPT_DELAY`] while the earlier ones are
    /// pending, the next one at once when one fails or none is pending.
    pub fn next(&mut self, now: Instant) -> DialStep<E> {
        if self.pending == 0 || self.next_at.is_none_or(|at| now >= at) {
            if let Some(addr) = self.waiting.next() {
                self.pending += 1;
                self.next_at = Some(now + ATTEMPT_DELAY);
                return DialStep::Attempt(addr);
            }
            if self.pending == 0 {
                return DialStep::Failed(self.last_error.take());
            }
        }
        DialStep::Wait(self.next_at.filter(|_| self.waiting.len() > 0))
    }

    /// Whether one attempt is pending and no address is left to try.
    pub fn is_alone(&self) -> bool {
        self.pending == 1 && self.waiting.len() == 0
    }

    /// An attempt failed with `error`: the next one starts at once.
    pub fn failed(&mut self, error: E) {
        self.pending = self.pending.saturating_sub(1);
        self.last_error = Some(error);
        self.next_at = None;
    }
}

/// The error for a name that resolved to no address.
pub fn no_addresses() -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, "the host name resolved to no address")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn families_alternate_from_the_first_one() {
        let given = ["[::1]:80", "[::2]:80", "10.0.0.1:80", "[::3]:80", "10.0.0.2:80"].map(addr);
        let expected = ["[::1]:80", "10.0.0.1:80", "[::2]:80", "10.0.0.2:80", "[::3]:80"].map(addr);
        assert_eq!(interleave(given.to_vec()), expected);
        let given = ["10.0.0.1:80", "10.0.0.2:80", "[::1]:80"].map(addr);
        let expected = ["10.0.0.1:80", "[::1]:80", "10.0.0.2:80"].map(addr);
        assert_eq!(interleave(given.to_vec()), expected);
        assert!(interleave(Vec::new()).is_empty());
    }

    #[test]
    fn ip_literals_and_pinned_names_need_no_lookup() {
        let settings = ConnectSettings::new("ws://example.test/").unwrap();
        assert_eq!(
            settings.destination("[::1]", 9),
            Destination::Addresses(vec![addr("[::1]:9")])
        );
        assert_eq!(
            settings.destination("example.test", 9),
            Destination::Lookup("example.test".into(), 9)
        );
        let pinned = settings.resolve("Example.TEST", ["127.0.0.2".parse().unwrap(), "::1".parse().unwrap()]);
        assert_eq!(
            pinned.destination("example.test", 9),
            Destination::Addresses(vec![addr("127.0.0.2:9"), addr("[::1]:9")])
        );
        assert_eq!(
            pinned.destination("other.test", 9),
            Destination::Lookup("other.test".into(), 9)
        );
    }

    #[test]
    fn the_plan_staggers_attempts_and_moves_on_at_a_failure() {
        let t0 = Instant::now();
        let mut plan = DialPlan::<&str>::new(["10.0.0.1:80", "10.0.0.2:80", "[::1]:80"].map(addr).to_vec());
        assert!(matches!(plan.next(t0), DialStep::Attempt(a) if a == addr("10.0.0.1:80")));
        assert!(matches!(plan.next(t0), DialStep::Wait(Some(at)) if at == t0 + ATTEMPT_DELAY));
        let t1 = t0 + ATTEMPT_DELAY;
        assert!(
            matches!(plan.next(t1), DialStep::Attempt(a) if a == addr("[::1]:80")),
            "the other family next"
        );
        plan.failed("refused");
        assert!(
            matches!(plan.next(t1), DialStep::Attempt(a) if a == addr("10.0.0.2:80")),
            "a failure starts the next at once"
        );
        assert!(
            matches!(plan.next(t1), DialStep::Wait(None)),
            "every address has its attempt"
        );
        plan.failed("reset");
        assert!(
            matches!(plan.next(t1), DialStep::Wait(None)),
            "one attempt still pending"
        );
        plan.failed("unreachable");
        assert!(matches!(plan.next(t1), DialStep::Failed(Some("unreachable"))));
        assert!(matches!(
            DialPlan::<&str>::new(Vec::new()).next(t0),
            DialStep::Failed(None)
        ));
    }
}
