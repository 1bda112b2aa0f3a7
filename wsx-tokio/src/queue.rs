//! The handle-to-task command queue: allocates nothing until the first command (an idle
//! connection costs no queue block), and the task takes everything queued in one lock.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll};

use atomic_waker::AtomicWaker;

/// A multi-producer queue with one consumer task that takes whole batches.
pub(crate) struct CommandQueue<T> {
    state: Mutex<State<T>>,
    waker: AtomicWaker,
}

struct State<T> {
    items: VecDeque<T>,
    closed: bool,
}

impl<T> CommandQueue<T> {
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new(State {
                items: VecDeque::new(),
                closed: false,
            }),
            waker: AtomicWaker::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Nothing panics while the lock is held; a poisoned lock still holds a consistent queue.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues `item` and wakes the task; gives it back once the queue is closed.
    pub(crate) fn push(&self, item: T) -> Result<(), T> {
        {
            let mut state = self.lock();
            if state.closed {
                return Err(item);
            }
            state.items.push_back(item);
        }
        self.waker.wake();
        Ok(())
    }

    /// Moves everything queued into `batch` (which must be empty), or registers the task to be
    /// woken by the next push. Swapping keeps both buffers' allocations for reuse.
    pub(crate) fn poll_take(&self, cx: &mut Context<'_>, batch: &mut VecDeque<T>) -> Poll<()> {
        self.waker.register(cx.waker());
        let mut state = self.lock();
        if state.items.is_empty() {
            return Poll::Pending;
        }
        std::mem::swap(&mut state.items, batch);
        Poll::Ready(())
    }

    /// Refuses further pushes and drops what is queued (waiting senders see their reply
    /// channel closed).
    pub(crate) fn close(&self) {
        let dropped = {
            let mut state = self.lock();
            state.closed = true;
            std::mem::take(&mut state.items)
        };
        drop(dropped);
    }
}
