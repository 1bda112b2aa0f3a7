//! Dead-connection detection while open: a ping every `ping_interval`, the connection failed
//! when nothing at all arrives within `pong_timeout` of a ping, or within `idle_timeout` of the
//! last frame. Any frame counts as a sign of life (a busy server's pong may queue behind its
//! data). Time comes in from the driver; the connection learns when frames arrived at the next
//! call that passes `now` (at most one loop turn late).

use std::time::{Duration, Instant};

use super::config::Config;

/// Why keepalive gave up on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expired {
    /// Nothing arrived within the pong timeout of our ping.
    Pong(Duration),
    /// Nothing arrived within the idle timeout.
    Idle(Duration),
}

/// What a timeout asks the connection to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Due {
    Nothing,
    /// Send a ping with this payload.
    Ping([u8; 8]),
    /// Fail the connection.
    Expired(Expired),
}

/// Keepalive's state: none at all when it is off (the default), so an idle connection
/// without it pays one pointer.
#[derive(Debug)]
pub(crate) struct Keepalive(Option<Box<Timers>>);

#[derive(Debug)]
struct Timers {
    ping_interval: Option<Duration>,
    pong_timeout: Duration,
    idle_timeout: Option<Duration>,
    /// A frame arrived since `now` was last passed in.
    heard: bool,
    last_heard: Option<Instant>,
    next_ping: Option<Instant>,
    /// A ping is out, and nothing was heard since: the connection fails at this instant.
    pong_due: Option<Instant>,
    pings_sent: u64,
}

impl Keepalive {
    pub(crate) fn new(config: &Config) -> Self {
        let enabled = config.ping_interval.is_some() || config.idle_timeout.is_some();
        Self(enabled.then(|| {
            Box::new(Timers {
                ping_interval: config.ping_interval,
                pong_timeout: config.pong_timeout,
                idle_timeout: config.idle_timeout,
                heard: false,
                last_heard: None,
                next_ping: None,
                pong_due: None,
                pings_sent: 0,
            })
        }))
    }

    /// A frame arrived.
    pub(crate) fn heard(&mut self) {
        if let Some(timers) = &mut self.0 {
            timers.heard = true;
        }
    }

    /// The time now, while open: starts the timers on the first call, and dates what was heard.
    pub(crate) fn observe(&mut self, now: Instant) {
        if let Some(timers) = &mut self.0 {
            timers.observe(now);
        }
    }

    /// The next instant a timeout is due.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.0.as_ref().and_then(|timers| timers.deadline())
    }

    /// Advances to `now`.
    pub(crate) fn on_timeout(&mut self, now: Instant) -> Due {
        match &mut self.0 {
            Some(timers) => timers.on_timeout(now),
            None => Due::Nothing,
        }
    }
}

impl Timers {
    /// The time now, while open: starts the timers on the first call, and dates what was heard.
    fn observe(&mut self, now: Instant) {
        if self.heard || self.last_heard.is_none() {
            self.last_heard = Some(now);
            self.pong_due = None;
            self.heard = false;
        }
        if let (None, Some(interval)) = (self.next_ping, self.ping_interval) {
            self.next_ping = Some(now + interval);
        }
    }

    fn deadline(&self) -> Option<Instant> {
        let idle = self.idle_timeout.zip(self.last_heard).map(|(t, at)| at + t);
        [self.next_ping, self.pong_due, idle].into_iter().flatten().min()
    }

    fn on_timeout(&mut self, now: Instant) -> Due {
        self.observe(now);
        if let (Some(timeout), Some(at)) = (self.idle_timeout, self.last_heard) {
            if now >= at + timeout {
                return Due::Expired(Expired::Idle(timeout));
            }
        }
        if self.pong_due.is_some_and(|at| now >= at) {
            return Due::Expired(Expired::Pong(self.pong_timeout));
        }
        match (self.next_ping, self.ping_interval) {
            (Some(at), Some(interval)) if now >= at => {
                self.next_ping = Some(now + interval);
                // One outstanding ping at a time: its deadline is not pushed back by the next.
                self.pong_due.get_or_insert(now + self.pong_timeout);
                self.pings_sent += 1;
                Due::Ping(self.pings_sent.to_be_bytes())
            }
            _ => Due::Nothing,
        }
    }
}
