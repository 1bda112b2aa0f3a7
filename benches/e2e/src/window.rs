//! The in-flight window every streaming driver uses, so all clients pay the same (tiny) price.
//!
//! The receiving side (a handler callback, a reader task or a reader thread) counts echoes;
//! the sender waits when `window` messages are in flight, until half of them are echoed
//! (hysteresis: one wake-up per half window, not one per message). Round trips use the same
//! counter with a window of one; the flood workloads use a window of `u64::MAX`, never full.
//!
//! The async waits are tokio `Notify` futures: they need a waker, not a tokio runtime, so the
//! async-std and smol drivers wait on them too (the tests below prove it on both).

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::Mutex;
use std::thread::Thread;

use tokio::sync::Notify;

/// Echo counter plus the waiting sender's wake-up condition.
#[derive(Debug)]
pub struct Window {
    limit: u64,
    /// Written by the receiving side only (one receiver per connection).
    received: AtomicU64,
    /// The count of echoes the sender waits for; `u64::MAX` when it does not wait.
    wake_at: AtomicU64,
    notify: Notify,
    /// A blocked sender thread (the blocking driver), woken with `unpark`.
    thread: Mutex<Option<Thread>>,
}

impl Window {
    /// A window of `limit` messages in flight.
    pub fn new(limit: u64) -> Self {
        Self {
            limit: limit.max(1),
            received: AtomicU64::new(0),
            wake_at: AtomicU64::new(u64::MAX),
            notify: Notify::new(),
            thread: Mutex::new(None),
        }
    }

    /// Echoes counted so far.
    pub fn received(&self) -> u64 {
        self.received.load(SeqCst)
    }

    /// Counts one echo; wakes the sender if it waits for this one. Only one thread or task
    /// may count (a load and a store, not a read-modify-write).
    pub fn on_echo(&self) {
        self.on_echoes(1);
    }

    /// Counts `n` echoes at once.
    pub fn on_echoes(&self, n: u64) {
        let now = self.received.load(Relaxed) + n;
        // SeqCst store then SeqCst load, against the sender's store of `wake_at` then load of
        // `received`: one of the two sides sees the other, so no wake-up is lost.
        self.received.store(now, SeqCst);
        if now >= self.wake_at.load(SeqCst) {
            self.wake_at.store(u64::MAX, SeqCst);
            self.notify.notify_one();
            if let Some(t) = self.thread.lock().unwrap().as_ref() {
                t.unpark();
            }
        }
    }

    /// How many more messages may go out after `sent`.
    pub fn free(&self, sent: u64) -> u64 {
        self.limit.saturating_sub(sent - self.received())
    }

    /// Whether one more message may go out after `sent`.
    pub fn has_room(&self, sent: u64) -> bool {
        sent - self.received() < self.limit
    }

    /// The echo count to wait for before sending more after `sent`.
    fn low_watermark(&self, sent: u64) -> u64 {
        sent.saturating_sub(self.limit / 2).max(sent + 1 - self.limit)
    }

    /// Waits (async) until one more message may go out after `sent`.
    pub async fn room(&self, sent: u64) {
        if !self.has_room(sent) {
            self.until(self.low_watermark(sent)).await;
        }
    }

    /// Waits (async) until `count` echoes are counted.
    pub async fn until(&self, count: u64) {
        loop {
            if self.received() >= count {
                return;
            }
            let notified = self.notify.notified();
            self.wake_at.store(count, SeqCst);
            if self.received() >= count {
                self.wake_at.store(u64::MAX, SeqCst);
                return;
            }
            notified.await;
        }
    }

    /// Waits (blocking) until one more message may go out after `sent`.
    pub fn room_blocking(&self, sent: u64) {
        if !self.has_room(sent) {
            self.until_blocking(self.low_watermark(sent));
        }
    }

    /// Waits (blocking) until `count` echoes are counted.
    pub fn until_blocking(&self, count: u64) {
        if self.received() >= count {
            return;
        }
        *self.thread.lock().unwrap() = Some(std::thread::current());
        loop {
            self.wake_at.store(count, SeqCst);
            if self.received() >= count {
                self.wake_at.store(u64::MAX, SeqCst);
                return;
            }
            std::thread::park();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    /// Echoes, from another thread, what `send` passes to its sender (`n` messages through a
    /// window of 4), each after a pause, so the sender is parked in `block_on` when its echoes
    /// arrive; returns once all are echoed.
    fn echo_through(block_on: impl FnOnce(std::pin::Pin<Box<dyn Future<Output = ()> + '_>>), n: u64) {
        let window = Arc::new(Window::new(4));
        let sent = Arc::new(AtomicU64::new(0));
        let echoer = {
            let (window, sent) = (window.clone(), sent.clone());
            std::thread::spawn(move || {
                while window.received() < n {
                    std::thread::sleep(Duration::from_micros(200));
                    if window.received() < sent.load(SeqCst) {
                        window.on_echo();
                    }
                }
            })
        };
        block_on(Box::pin(async {
            for i in 0..n {
                window.room(i).await;
                sent.store(i + 1, SeqCst);
            }
            window.until(n).await;
        }));
        echoer.join().unwrap();
        assert_eq!(window.received(), n);
    }

    #[test]
    fn async_waits_work_on_async_std() {
        echo_through(|f| async_std::task::block_on(f), 50);
    }

    #[test]
    fn async_waits_work_on_smol() {
        echo_through(|f| smol::block_on(f), 50);
    }

    #[test]
    fn unlimited_window_is_never_full() {
        let window = Window::new(u64::MAX);
        assert!(window.has_room(u64::MAX - 1));
        assert_eq!(window.free(1 << 40), u64::MAX - (1 << 40));
        smol::block_on(window.room(1 << 40));
    }
}
