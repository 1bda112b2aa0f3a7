//! Who is waiting for which written bytes. The bytes themselves stay in the connection's
//! buffer ([`Connection::pending_transmit`]); this tracks acks against its byte counters.

use std::collections::VecDeque;

use crate::protocol::connection::Connection;

/// Something to do once the bytes queued before it have been written.
#[derive(Debug)]
pub(crate) enum Ack<W> {
    /// A `send_frame` caller waiting for its frame to leave.
    Written(W),
    /// Send budget to give back (backpressure), for pipelined frames of `bytes` bytes.
    Permits {
        /// The budget they hold.
        cost: usize,
        /// Their bytes in the output.
        bytes: usize,
    },
}

/// Acks waiting for the connection's output to reach given byte offsets.
#[derive(Debug)]
pub(crate) struct PendingAcks<W> {
    acks: VecDeque<(u64, Ack<W>)>,
    /// The bytes of the pending `Permits`: the unwritten output that is pipelined sends (a
    /// frame counts until its last byte is written).
    send_bytes: usize,
}

impl<W> Default for PendingAcks<W> {
    fn default() -> Self {
        Self {
            acks: VecDeque::new(),
            send_bytes: 0,
        }
    }
}

impl<W> PendingAcks<W> {
    /// Registers `ack` to fire once everything `conn` has queued so far is written. Returns it
    /// at once if nothing is pending.
    pub(crate) fn ack_when_written(&mut self, conn: &Connection, ack: Ack<W>) -> Option<Ack<W>> {
        let end = conn.queued_bytes();
        if conn.transmitted_bytes() >= end {
            return Some(ack);
        }
        if let Ack::Permits { bytes, .. } = &ack {
            self.send_bytes += bytes;
        }
        match (ack, self.acks.back_mut()) {
            (Ack::Permits { cost, bytes }, Some((at, Ack::Permits { cost: c, bytes: b }))) if *at == end => {
                *c += cost;
                *b += bytes;
            }
            (ack, _) => self.acks.push_back((end, ack)),
        }
        None
    }

    /// The unwritten output that pipelined sends account for (their budget bounds it); the
    /// rest is replies and `send_frame` frames.
    pub(crate) fn unwritten_send_bytes(&self) -> usize {
        self.send_bytes
    }

    /// Hands each ack whose bytes `conn` has now transmitted to `fire`.
    pub(crate) fn fire_written(&mut self, conn: &Connection, mut fire: impl FnMut(Ack<W>)) {
        let written = conn.transmitted_bytes();
        while self.acks.front().is_some_and(|(end, _)| *end <= written) {
            if let Some((_, ack)) = self.acks.pop_front() {
                if let Ack::Permits { bytes, .. } = &ack {
                    self.send_bytes -= bytes;
                }
                fire(ack);
            }
        }
    }

    /// The `len` bytes queued at offset `start` were taken out of the output unwritten: the
    /// ack `is_theirs` picks (the one waiting for them) goes, and every later ack moves up.
    pub(crate) fn take_back(&mut self, start: u64, len: u64, is_theirs: impl Fn(&Ack<W>) -> bool) {
        let end = start + len;
        if let Some(i) = self.acks.iter().position(|(at, ack)| *at == end && is_theirs(ack)) {
            self.acks.remove(i);
        }
        for (at, _) in self.acks.iter_mut().filter(|(at, _)| *at > start) {
            *at -= len;
        }
    }

    /// Takes every pending ack (the connection is gone): to be failed or given back.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = Ack<W>> + '_ {
        self.send_bytes = 0;
        self.acks.drain(..).map(|(_, ack)| ack)
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::{Config, Request, WsUrl};
    use std::time::Instant;

    /// A connection with the handshake request still unwritten.
    fn connection() -> Connection {
        Connection::new(
            &Request::new(WsUrl::parse("ws://localhost/").unwrap()),
            Config::default(),
        )
        .unwrap()
    }

    #[test]
    fn acks_fire_when_their_bytes_are_written() {
        let mut conn = connection();
        let mut acks = PendingAcks::default();
        let request_len = conn.pending_transmit(Instant::now()).len();
        assert!(acks.ack_when_written(&conn, Ack::Written("request")).is_none());
        assert!(acks
            .ack_when_written(&conn, Ack::Permits { cost: 1, bytes: 10 })
            .is_none());
        assert!(
            acks.ack_when_written(&conn, Ack::Permits { cost: 2, bytes: 20 })
                .is_none(),
            "merged with the permits before"
        );
        assert_eq!(acks.unwritten_send_bytes(), 30);
        let mut fired = Vec::new();
        conn.consume_transmit(request_len - 1);
        acks.fire_written(&conn, |a| fired.push(format!("{a:?}")));
        assert!(fired.is_empty());
        conn.consume_transmit(1);
        acks.fire_written(&conn, |a| fired.push(format!("{a:?}")));
        assert_eq!(fired, ["Written(\"request\")", "Permits { cost: 3, bytes: 30 }"]);
        assert_eq!(acks.unwritten_send_bytes(), 0);
        assert!(conn.pending_transmit(Instant::now()).is_empty());
        assert!(matches!(
            acks.ack_when_written(&conn, Ack::Written("now")),
            Some(Ack::Written("now"))
        ));
    }

    #[test]
    fn drained_acks_are_returned() {
        let conn = connection();
        let mut acks: PendingAcks<()> = PendingAcks::default();
        assert!(acks
            .ack_when_written(&conn, Ack::Permits { cost: 4, bytes: 4 })
            .is_none());
        assert_eq!(acks.drain().count(), 1);
        assert_eq!(acks.unwritten_send_bytes(), 0);
        assert_eq!(conn.transmitted_bytes(), 0);
    }
}
