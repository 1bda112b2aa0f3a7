//! Who is waiting for which written bytes: the part of an adapter's write path that is not I/O.
//! The bytes themselves stay in the connection's buffer
//! ([`ClientConnection::pending_transmit`]); this tracks acks against its byte counters.

use std::collections::VecDeque;
use std::io;
use std::task::Poll;
use std::time::Instant;

use crate::connection::ClientConnection;

/// Something to do once the bytes queued before it have been written.
#[derive(Debug)]
pub enum Ack<W> {
    /// A `send_frame` caller waiting for its frame to leave.
    Written(W),
    /// Pipelined `send` slots to give back (backpressure).
    Permits(usize),
}

/// Acks waiting for the connection's output to reach given byte offsets.
#[derive(Debug)]
pub struct PendingAcks<W> {
    acks: VecDeque<(u64, Ack<W>)>,
}

impl<W> Default for PendingAcks<W> {
    fn default() -> Self {
        Self { acks: VecDeque::new() }
    }
}

impl<W> PendingAcks<W> {
    /// Registers `ack` to fire once everything `conn` has queued so far is written. Returns it
    /// at once if nothing is pending.
    pub fn ack_when_written(&mut self, conn: &ClientConnection, ack: Ack<W>) -> Option<Ack<W>> {
        let end = conn.queued_bytes();
        if conn.transmitted_bytes() >= end {
            return Some(ack);
        }
        match (&ack, self.acks.back_mut()) {
            (Ack::Permits(n), Some((at, Ack::Permits(m)))) if *at == end => *m += n,
            _ => self.acks.push_back((end, ack)),
        }
        None
    }

    /// Hands each ack whose bytes `conn` has now transmitted to `fire`.
    pub fn fire_written(&mut self, conn: &ClientConnection, mut fire: impl FnMut(Ack<W>)) {
        let written = conn.transmitted_bytes();
        while self.acks.front().is_some_and(|(end, _)| *end <= written) {
            if let Some((_, ack)) = self.acks.pop_front() {
                fire(ack);
            }
        }
    }

    /// Writes as much of `conn`'s output as `write` takes, straight from the connection's
    /// buffer (everything queued goes in one call), handing acks that became due to `fire`.
    /// `write` is the adapter's socket: `Pending` (or a short write) ends the attempt. Returns
    /// whether any bytes were written (so a flush is due).
    pub fn write_pending(
        &mut self,
        conn: &mut ClientConnection,
        now: Instant,
        mut write: impl FnMut(&[u8]) -> Poll<io::Result<usize>>,
        mut fire: impl FnMut(Ack<W>),
    ) -> io::Result<bool> {
        let mut wrote = false;
        loop {
            let pending = conn.pending_transmit(now);
            if pending.is_empty() {
                return Ok(wrote);
            }
            match write(pending) {
                Poll::Ready(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
                Poll::Ready(Ok(n)) => {
                    conn.consume_transmit(n);
                    self.fire_written(conn, &mut fire);
                    wrote = true;
                }
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => return Ok(wrote),
            }
        }
    }

    /// Takes every pending ack (the connection is gone): to be failed or given back.
    pub fn drain(&mut self) -> impl Iterator<Item = Ack<W>> + '_ {
        self.acks.drain(..).map(|(_, ack)| ack)
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::{Config, Request, WsUrl};

    /// A connection with the handshake request still unwritten.
    fn connection() -> ClientConnection {
        ClientConnection::new(
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
        assert!(acks.ack_when_written(&conn, Ack::Permits(1)).is_none());
        assert!(
            acks.ack_when_written(&conn, Ack::Permits(2)).is_none(),
            "merged with the permits before"
        );
        let mut fired = Vec::new();
        conn.consume_transmit(request_len - 1);
        acks.fire_written(&conn, |a| fired.push(format!("{a:?}")));
        assert!(fired.is_empty());
        conn.consume_transmit(1);
        acks.fire_written(&conn, |a| fired.push(format!("{a:?}")));
        assert_eq!(fired, ["Written(\"request\")", "Permits(3)"]);
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
        assert!(acks.ack_when_written(&conn, Ack::Permits(4)).is_none());
        assert_eq!(acks.drain().count(), 1);
        assert_eq!(conn.transmitted_bytes(), 0);
    }
}
