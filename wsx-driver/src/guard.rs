//! The guard against a callback waiting on its own client.

use std::cell::Cell;

thread_local! {
    /// The client whose callback is running on this thread, if any.
    static IN_CALLBACK: Cell<usize> = const { Cell::new(0) };
}

/// Marks this thread as running a client's callback until dropped, so that the client's own
/// `send_frame` can refuse instead of deadlocking.
#[derive(Debug)]
pub(crate) struct CallbackGuard(usize);

impl CallbackGuard {
    /// Marks the callbacks of the client identified by `client_id` as running.
    #[inline]
    pub(crate) fn enter(client_id: usize) -> Self {
        Self(IN_CALLBACK.with(|c| c.replace(client_id)))
    }

    /// Whether a callback of `client_id` runs on this thread: a blocking send to itself would
    /// wait forever.
    pub(crate) fn is_inside(client_id: usize) -> bool {
        IN_CALLBACK.with(Cell::get) == client_id
    }
}

impl Drop for CallbackGuard {
    fn drop(&mut self) {
        IN_CALLBACK.with(|c| c.set(self.0));
    }
}
