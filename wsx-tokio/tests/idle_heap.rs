//! What an idle open connection holds on the heap (the goal: 15,000 idle connections under
//! 3 KB each). A counting allocator sees every byte this process allocates; the server is
//! Node's `ws` in its own process, so only the client's bytes count. Exact, unlike RSS: a
//! field added to the session shows up here at once.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use wsx_testing::{Peer, PeerServer};
use wsx_tokio::{Client, Handler};

/// Counts live heap bytes; allocation itself is `System`'s.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to `System` with the same arguments; the counter is a side
// effect that allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc`, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract for `dealloc`, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

struct Idle;

impl Handler for Idle {
    type Cast = ();
    type Info = ();
}

const CONNECTIONS: usize = 300;

/// The budget per idle connection: session, protocol state, handle, tokio's task and I/O
/// registration, and the server's response kept for `Context::response`. Measured 2,708 B;
/// RSS adds the allocator's own overhead on top (2,929 B per connection at 15,000).
const BUDGET: isize = 2_800;

#[test]
fn an_idle_connection_holds_under_its_heap_budget() {
    let server = PeerServer::start(Peer::NodeWs, &[]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let url = server.url();
        // The runtime's and the first connection's one-time allocations are not per connection.
        let mut clients = vec![Client::start(url.as_str(), Idle).await.expect("connect")];
        tokio::time::sleep(Duration::from_millis(200)).await;
        clients.reserve(CONNECTIONS);
        let before = LIVE.load(Ordering::Relaxed);
        for _ in 0..CONNECTIONS {
            clients.push(Client::start(url.as_str(), Idle).await.expect("connect"));
        }
        // Let every connection go idle (buffers released, timers disarmed).
        tokio::time::sleep(Duration::from_millis(300)).await;
        let per_connection = (LIVE.load(Ordering::Relaxed) - before) / CONNECTIONS as isize;
        eprintln!("heap per idle connection: {per_connection} B");
        assert!(
            per_connection < BUDGET,
            "an idle connection holds {per_connection} B of heap (budget {BUDGET} B)"
        );
        assert!(
            per_connection > 1_000,
            "the count missed the connections: {per_connection} B"
        );
        for client in &clients {
            client.close().expect("close");
        }
        for client in &clients {
            assert!(client.wait().await.is_normal());
        }
    });
}
