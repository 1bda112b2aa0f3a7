//! The HTTP/2 connections clients share: one per runtime and [`Http2Origin`], opened by the
//! first client that needs it (the others wait for it rather than open their own), closed by
//! its task once no stream has used it for [`IDLE`], and forgotten as soon as it fails or the
//! server sends GOAWAY, so the next client opens a fresh one.

use std::any::TypeId;
use std::collections::HashMap;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use atomic_waker::AtomicWaker;
use bytes::Bytes;
use h2::client::SendRequest;

use wsx_proto::http2::Http2Origin;

use super::stream::Lingering;

/// How long a shared connection stays open with no stream: long enough for a client that
/// reconnects at once, or the next of a burst, to find it.
pub(crate) const IDLE: Duration = Duration::from_secs(5);

/// How long a dropped stream waits for the server to end its side ([`Lingering`]).
pub(crate) const LINGER: Duration = Duration::from_secs(2);

/// A runtime's (the [`Dial`](crate::Dial) type's) connection for an origin.
pub(super) type Key = (TypeId, Http2Origin);

/// One HTTP/2 connection's state, shared by its task, its streams and the pool.
#[derive(Debug)]
pub(super) struct Shared {
    id: u64,
    /// Streams open now.
    streams: AtomicUsize,
    /// The connection ended, or no new stream may use it (GOAWAY, an error).
    closed: AtomicBool,
    /// The connection's task, woken when its last stream ends (to start the idle time) or a
    /// stream starts to linger.
    task: AtomicWaker,
    /// Dropped streams the server has not ended yet, with when they give up; the task polls
    /// them.
    lingering: Mutex<Vec<(Instant, Lingering)>>,
}

impl Shared {
    pub(super) fn new() -> Arc<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        Arc::new(Self {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            streams: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            task: AtomicWaker::new(),
            lingering: Mutex::new(Vec::new()),
        })
    }

    /// `stream` lingers in the connection's task.
    pub(super) fn linger(&self, stream: Lingering) {
        lock(&self.lingering).push((Instant::now() + LINGER, stream));
        self.task.wake();
    }

    /// Polls the lingering streams: those done or out of time are dropped. The earliest
    /// deadline of those left, if any.
    pub(super) fn poll_lingering(&self, cx: &mut std::task::Context<'_>) -> Option<Instant> {
        let now = Instant::now();
        let mut lingering = lock(&self.lingering);
        lingering.retain_mut(|(until, stream)| *until > now && stream.poll_done(cx).is_pending());
        lingering.iter().map(|(until, _)| *until).min()
    }

    pub(super) fn streams(&self) -> usize {
        self.streams.load(Ordering::Acquire)
    }

    pub(super) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(super) fn register_task(&self, waker: &Waker) {
        self.task.register(waker);
    }
}

/// A stream's claim on its connection: counted while it lives.
#[derive(Debug)]
pub(crate) struct Lease(Arc<Shared>);

impl Lease {
    pub(super) fn new(shared: &Arc<Shared>) -> Self {
        shared.streams.fetch_add(1, Ordering::AcqRel);
        Self(shared.clone())
    }

    pub(super) fn connection(&self) -> &Arc<Shared> {
        &self.0
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.0.streams.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.task.wake();
        }
    }
}

/// A pooled connection: a handle to open streams on it, and its state.
#[derive(Debug, Clone)]
pub(super) struct Pooled {
    pub(super) send: SendRequest<Bytes>,
    pub(super) shared: Arc<Shared>,
}

enum Slot {
    /// A client is opening the connection; the others wait for it.
    Opening(Vec<Waker>),
    Open(Pooled),
    /// The server speaks HTTP/1.1 only, or HTTP/2 without WebSockets: clients that prefer
    /// HTTP/2 use HTTP/1.1 until then, without asking again.
    NoWebSockets(Instant),
}

/// How long an origin's HTTP/2 without WebSockets is remembered.
const NO_WEBSOCKETS_MEMORY: Duration = Duration::from_secs(60);

/// std's lock, not the crate's loom-checked one: the pool is a process-wide static, which a
/// loom model cannot hold; it guards plain maps and lists, and no wait happens under it.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn slots() -> &'static Mutex<HashMap<Key, Slot>> {
    static SLOTS: OnceLock<Mutex<HashMap<Key, Slot>>> = OnceLock::new();
    SLOTS.get_or_init(Default::default)
}

/// What [`claim`] found.
pub(super) enum Claim {
    /// The open connection.
    Open(Pooled),
    /// None: the caller opens it, and tells the waiting clients through this.
    Opener(Opener),
    /// The server does not allow WebSockets over HTTP/2, as a client found lately.
    NoWebSockets,
}

/// The right to open the connection for a key; dropped without [`Opener::opened`], the next
/// waiting client gets it.
pub(super) struct Opener(Option<Key>);

impl Opener {
    /// The connection is open: into the pool, and the waiting clients use it.
    pub(super) fn opened(mut self, pooled: Pooled) {
        let key = self.0.take().expect("an opener is used once");
        let waiters = lock(slots()).insert(key, Slot::Open(pooled));
        wake(waiters);
    }
}

impl Opener {
    /// The server does not allow WebSockets over HTTP/2 (or speaks HTTP/1.1 only): the
    /// waiting clients, and those that come for a while, know it without asking.
    pub(super) fn no_websockets(mut self) {
        let key = self.0.take().expect("an opener is used once");
        let until = Instant::now() + NO_WEBSOCKETS_MEMORY;
        let waiters = lock(slots()).insert(key, Slot::NoWebSockets(until));
        wake(waiters);
    }
}

impl Drop for Opener {
    fn drop(&mut self) {
        if let Some(key) = self.0.take() {
            let waiters = lock(slots()).remove(&key);
            wake(waiters);
        }
    }
}

fn wake(slot: Option<Slot>) {
    if let Some(Slot::Opening(waiters)) = slot {
        waiters.into_iter().for_each(Waker::wake);
    }
}

/// The pool's connection for `key`, or the right to open it, waiting while another client
/// opens it. A closed connection is forgotten on the way.
pub(super) async fn claim(key: Key) -> Claim {
    poll_fn(|cx| {
        let mut slots = lock(slots());
        match slots.get_mut(&key) {
            Some(Slot::Open(pooled)) if !pooled.shared.is_closed() => Poll::Ready(Claim::Open(pooled.clone())),
            Some(Slot::NoWebSockets(until)) if Instant::now() < *until => Poll::Ready(Claim::NoWebSockets),
            Some(Slot::Opening(waiters)) => {
                if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
                    waiters.push(cx.waker().clone());
                }
                Poll::Pending
            }
            _ => {
                slots.insert(key.clone(), Slot::Opening(Vec::new()));
                Poll::Ready(Claim::Opener(Opener(Some(key.clone()))))
            }
        }
    })
    .await
}

/// No new stream may use `shared`'s connection: out of the pool (if it is still the one
/// there), so the next client opens another.
pub(super) fn retire(key: &Key, shared: &Shared) {
    close(shared);
    let mut slots = lock(slots());
    if matches!(slots.get(key), Some(Slot::Open(pooled)) if pooled.shared.id == shared.id) {
        slots.remove(key);
    }
}

/// No new stream may use an unshared connection.
pub(super) fn close(shared: &Shared) {
    shared.closed.store(true, Ordering::Release);
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Waker};

    use wsx_proto::http2::Http2;
    use wsx_proto::ConnectSettings;

    use super::*;

    fn key(port: u16) -> Key {
        let settings = ConnectSettings::new(&format!("wss://pool.test:{port}/"))
            .unwrap()
            .no_proxy()
            .http2(Http2::Prefer);
        (TypeId::of::<()>(), settings.http2_origin().unwrap())
    }

    fn poll<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
        future.poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn one_client_opens_the_others_wait_then_follow_its_answer() {
        let key = key(1);
        let Poll::Ready(Claim::Opener(first)) = poll(pin!(claim(key.clone()))) else {
            panic!("the first client opens")
        };
        let mut second = Box::pin(claim(key.clone()));
        assert!(poll(second.as_mut()).is_pending(), "the second waits for the first");
        // The first gave up (failed, timed out): the second opens in its place.
        drop(first);
        let Poll::Ready(Claim::Opener(second)) = poll(second.as_mut()) else {
            panic!("the second opens once the first gave up")
        };
        let mut third = Box::pin(claim(key.clone()));
        assert!(poll(third.as_mut()).is_pending());
        second.no_websockets();
        assert!(matches!(poll(third.as_mut()), Poll::Ready(Claim::NoWebSockets)));
        assert!(
            matches!(poll(pin!(claim(key))), Poll::Ready(Claim::NoWebSockets)),
            "remembered"
        );
        let other_origin = claim(self::key(2));
        assert!(matches!(poll(pin!(other_origin)), Poll::Ready(Claim::Opener(_))));
    }

    #[test]
    fn a_lease_counts_its_stream_and_wakes_the_task_when_the_last_ends() {
        struct Count(AtomicUsize);
        impl std::task::Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let wakes = Arc::new(Count(AtomicUsize::new(0)));
        let shared = Shared::new();
        shared.register_task(&Waker::from(wakes.clone()));
        let (a, b) = (Lease::new(&shared), Lease::new(&shared));
        assert_eq!(shared.streams(), 2);
        drop(a);
        assert_eq!((shared.streams(), wakes.0.load(Ordering::SeqCst)), (1, 0));
        drop(b);
        assert_eq!(
            (shared.streams(), wakes.0.load(Ordering::SeqCst)),
            (0, 1),
            "the idle time starts"
        );
        assert!(!shared.is_closed());
        close(&shared);
        assert!(shared.is_closed());
    }
}
