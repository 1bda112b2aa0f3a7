//! The time a driver's loop gives its session. Reading the clock costs tens of nanoseconds
//! (63 ns per `Instant::now()` on a KVM guest with a TSC clock source), and a loop turn that
//! moves a few bytes costs little more: a server echoing small messages turned the loop about
//! five times per message, each with a reading. The session's deadlines are milliseconds, so
//! the loop reads the clock when time has moved (a wake-up, a connect, a timer that fired)
//! and otherwise once every [`TURNS_PER_READING`] turns.

use std::time::Instant;

/// Turns of a busy loop between two readings. A turn moves at most one read or write (a read
/// takes at most a few hundred KiB), so a reading is never more than a few milliseconds old.
pub const TURNS_PER_READING: u32 = 16;

/// The loop's notion of now; see the module's documentation.
#[derive(Debug, Clone, Copy)]
pub struct TurnClock {
    now: Instant,
    turns: u32,
}

impl TurnClock {
    /// A clock read now.
    pub fn new() -> Self {
        Self {
            now: Instant::now(),
            turns: 0,
        }
    }

    /// Time has moved (the loop waited, connected, or a timer fired): reads the clock.
    pub fn refresh(&mut self) -> Instant {
        self.now = Instant::now();
        self.turns = 0;
        self.now
    }

    /// The time for one more turn of a busy loop: the last reading, or a new one every
    /// [`TURNS_PER_READING`] turns.
    pub fn turn(&mut self) -> Instant {
        self.turns += 1;
        if self.turns >= TURNS_PER_READING {
            return self.refresh();
        }
        self.now
    }
}

impl Default for TurnClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_busy_loop_reads_the_clock_every_so_many_turns() {
        let mut clock = TurnClock::new();
        let first = clock.turn();
        std::thread::sleep(Duration::from_millis(2));
        for _ in 2..TURNS_PER_READING {
            assert_eq!(clock.turn(), first, "read before its turn");
        }
        assert!(clock.turn() >= first + Duration::from_millis(2), "not read on its turn");
    }

    #[test]
    fn a_refresh_reads_the_clock_and_starts_the_count_again() {
        let mut clock = TurnClock::new();
        let first = clock.turn();
        for _ in 2..TURNS_PER_READING {
            clock.turn();
        }
        std::thread::sleep(Duration::from_millis(2));
        let refreshed = clock.refresh();
        assert!(refreshed >= first + Duration::from_millis(2));
        for _ in 1..TURNS_PER_READING {
            assert_eq!(clock.turn(), refreshed);
        }
    }
}
