//! Opening the TCP connection to the first hop, once for every adapter: which addresses (an IP
//! literal, addresses pinned with [`ConnectSettings::resolve`], or the system resolver's), in
//! which order, and the happy-eyeballs race over them (RFC 8305): address families
//! interleaved, a new attempt every [`ATTEMPT_DELAY`] while the earlier ones are still
//! pending, the next one at once when one fails, and the first to succeed wins. Adapters give
//! the socket type, the lookup and the timer.

use std::future::{poll_fn, Future};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use crate::session::poll::PollTimer;
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

/// Races connection attempts over `addrs` (in [`interleave`] order): a new attempt every
/// [`ATTEMPT_DELAY`] while the earlier ones are pending, the next at once when one fails;
/// the first success wins and the attempts still pending are dropped. When every attempt
/// fails, the last error is returned. The caller bounds the whole race with its connect
/// timeout.
pub async fn race<T, F, Fut>(addrs: Vec<SocketAddr>, mut connect: F, timer: &mut impl PollTimer) -> io::Result<T>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: Future<Output = io::Result<T>>,
{
    let mut waiting = interleave(addrs).into_iter();
    let mut attempts: Vec<Pin<Box<Fut>>> = Vec::new();
    let mut last_error = None;
    let mut next_at = Instant::now();
    poll_fn(|cx| loop {
        let now = Instant::now();
        if attempts.is_empty() || now >= next_at {
            match waiting.next() {
                Some(addr) => {
                    attempts.push(Box::pin(connect(addr)));
                    next_at = now + ATTEMPT_DELAY;
                }
                None if attempts.is_empty() => {
                    return Poll::Ready(Err(last_error.take().unwrap_or_else(no_addresses)));
                }
                None => {}
            }
        }
        let mut failed = false;
        let mut i = 0;
        while i < attempts.len() {
            match attempts[i].as_mut().poll(cx) {
                Poll::Ready(Ok(connected)) => return Poll::Ready(Ok(connected)),
                Poll::Ready(Err(e)) => {
                    attempts.swap_remove(i);
                    last_error = Some(e);
                    failed = true;
                }
                Poll::Pending => i += 1,
            }
        }
        if failed {
            // A failure starts the next attempt at once.
            next_at = now;
            continue;
        }
        if waiting.len() > 0 && timer.poll_until(cx, next_at).is_ready() {
            continue;
        }
        return Poll::Pending;
    })
    .await
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
}
