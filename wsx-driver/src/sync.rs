//! The synchronisation the handle's waits are built from: std's, or loom's under `--cfg loom`
//! so that the model checker explores every interleaving of the code itself (see
//! `loom_tests.rs`).

#[cfg(not(loom))]
pub(crate) use std::sync::{
    atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering},
    Arc, Mutex, MutexGuard, OnceLock, PoisonError,
};
#[cfg(not(loom))]
pub(crate) use std::thread::{current, park, Thread};

#[cfg(loom)]
pub(crate) use loom::sync::{
    atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering},
    Arc, Mutex, MutexGuard,
};
#[cfg(loom)]
pub(crate) use loom::thread::{current, park, Thread};
#[cfg(loom)]
pub(crate) use std::sync::PoisonError;

/// Parks this thread until unparked or until `timeout` passes (loom has no clock: there, it
/// parks until unparked, and a model must not rely on a timeout).
pub(crate) fn park_timeout(timeout: std::time::Duration) {
    #[cfg(not(loom))]
    std::thread::park_timeout(timeout);
    #[cfg(loom)]
    {
        let _ = timeout;
        park();
    }
}

/// `std::sync::OnceLock` for loom, which has none: the value is made up front, and `get` sees
/// it only once `get_or_init` has published it (release, then acquire, as `OnceLock` does).
#[cfg(loom)]
#[derive(Debug)]
pub(crate) struct OnceLock<T> {
    value: T,
    set: loom::sync::atomic::AtomicBool,
}

#[cfg(loom)]
impl<T: Default> Default for OnceLock<T> {
    fn default() -> Self {
        Self {
            value: T::default(),
            set: loom::sync::atomic::AtomicBool::new(false),
        }
    }
}

#[cfg(loom)]
impl<T> OnceLock<T> {
    pub(crate) fn get_or_init(&self, _init: impl FnOnce() -> T) -> &T {
        self.set.store(true, Ordering::Release);
        &self.value
    }

    pub(crate) fn get(&self) -> Option<&T> {
        self.set.load(Ordering::Acquire).then_some(&self.value)
    }
}
