//! Bytes on their way to the socket, and who is waiting for which of them: the part of an
//! adapter's write path that is not I/O.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::time::Instant;

use bytes::{Buf, Bytes};

use crate::connection::ClientConnection;

/// Something to do once the bytes queued before it have been written.
#[derive(Debug)]
pub enum Ack<W> {
    /// A `send_frame` caller waiting for its frame to leave.
    Written(W),
    /// Pipelined `send` slots to give back (backpressure).
    Permits(usize),
}

/// The connection's output not yet written, in order, with acks at byte offsets.
///
/// An adapter moves the connection's output in with [`take_from`](Self::take_from), writes
/// [`io_slices`](Self::io_slices) (all queued buffers in one vectored write), reports what the
/// socket took with [`advance`](Self::advance), and gets back the acks that became due.
#[derive(Debug)]
pub struct WriteQueue<W> {
    out: VecDeque<Bytes>,
    queued_total: u64,
    written_total: u64,
    acks: VecDeque<(u64, Ack<W>)>,
}

impl<W> Default for WriteQueue<W> {
    fn default() -> Self {
        Self {
            out: VecDeque::new(),
            queued_total: 0,
            written_total: 0,
            acks: VecDeque::new(),
        }
    }
}

impl<W> WriteQueue<W> {
    /// Moves what the connection wants sent to the back of the queue.
    pub fn take_from(&mut self, conn: &mut ClientConnection, now: Instant) {
        if let Some(bytes) = conn.poll_transmit(now) {
            self.queued_total += bytes.len() as u64;
            self.out.push_back(bytes);
        }
    }

    /// Nothing is left to write.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// Fills `slices` with the queued buffers, front first; returns how many were filled.
    pub fn io_slices<'a>(&'a self, slices: &mut [IoSlice<'a>]) -> usize {
        let mut count = 0;
        for (slice, bytes) in slices.iter_mut().zip(&self.out) {
            *slice = IoSlice::new(bytes);
            count += 1;
        }
        count
    }

    /// The first queued buffer.
    pub fn front(&self) -> Option<&[u8]> {
        self.out.front().map(|b| &b[..])
    }

    /// Registers `ack` to fire once everything queued so far is written (call after
    /// [`take_from`](Self::take_from)). Returns it at once if nothing is pending.
    pub fn ack_when_written(&mut self, ack: Ack<W>) -> Option<Ack<W>> {
        if self.written_total == self.queued_total {
            return Some(ack);
        }
        match (&ack, self.acks.back_mut()) {
            (Ack::Permits(n), Some((end, Ack::Permits(m)))) if *end == self.queued_total => *m += n,
            _ => self.acks.push_back((self.queued_total, ack)),
        }
        None
    }

    /// Drops `n` written bytes from the front and hands each ack that became due to `fire`.
    pub fn advance(&mut self, mut n: usize, mut fire: impl FnMut(Ack<W>)) {
        self.written_total += n as u64;
        while n > 0 {
            let Some(front) = self.out.front_mut() else { break };
            if n < front.len() {
                front.advance(n);
                break;
            }
            n -= front.len();
            self.out.pop_front();
        }
        while self.acks.front().is_some_and(|(end, _)| *end <= self.written_total) {
            if let Some((_, ack)) = self.acks.pop_front() {
                fire(ack);
            }
        }
    }

    /// Takes every pending ack (the connection is gone): to be failed or given back.
    pub fn drain_acks(&mut self) -> impl Iterator<Item = Ack<W>> + '_ {
        self.acks.drain(..).map(|(_, ack)| ack)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue_with(chunks: &[&'static [u8]]) -> WriteQueue<&'static str> {
        let mut q = WriteQueue::default();
        for chunk in chunks {
            q.queued_total += chunk.len() as u64;
            q.out.push_back(Bytes::from_static(chunk));
        }
        q
    }

    #[test]
    fn acks_fire_when_their_bytes_leave() {
        let mut q = queue_with(&[b"abc"]);
        assert!(q.ack_when_written(Ack::Written("first")).is_none());
        q.out.push_back(Bytes::from_static(b"defg"));
        q.queued_total += 4;
        assert!(q.ack_when_written(Ack::Permits(1)).is_none());
        assert!(
            q.ack_when_written(Ack::Permits(2)).is_none(),
            "merged with the previous permits"
        );
        let mut fired = Vec::new();
        q.advance(2, |a| fired.push(format!("{a:?}")));
        assert!(fired.is_empty());
        assert_eq!(q.front(), Some(&b"c"[..]));
        q.advance(3, |a| fired.push(format!("{a:?}")));
        assert_eq!(fired, ["Written(\"first\")"]);
        q.advance(2, |a| fired.push(format!("{a:?}")));
        assert_eq!(fired, ["Written(\"first\")", "Permits(3)"]);
        assert!(q.is_empty());
        assert!(matches!(
            q.ack_when_written(Ack::Written("late")),
            Some(Ack::Written("late"))
        ));
    }

    #[test]
    fn slices_and_drain() {
        let mut q = queue_with(&[b"ab", b"cd", b"ef"]);
        let mut slices = [IoSlice::new(&[]); 2];
        assert_eq!(q.io_slices(&mut slices), 2);
        assert_eq!((&*slices[0], &*slices[1]), (&b"ab"[..], &b"cd"[..]));
        assert!(q.ack_when_written(Ack::Permits(4)).is_none());
        assert_eq!(q.drain_acks().count(), 1);
    }
}
