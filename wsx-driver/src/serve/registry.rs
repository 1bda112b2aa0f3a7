//! A listener's connections: how many it holds (handshakes included) against its cap, the
//! handles of the open ones, and the graceful shutdown that closes them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use wsx_proto::server::ServeError;
use wsx_proto::{CloseCode, Handler};

use crate::ClientHandle;

/// Ends a connection's task or thread by force (a shutdown's deadline passed).
type Abort = Box<dyn FnOnce() + Send>;

/// The connections of one listener.
pub struct Connections<H: Handler> {
    state: Mutex<State<H>>,
    max: usize,
}

struct State<H: Handler> {
    /// Tickets out: connections in their handshake or open.
    held: usize,
    next_id: u64,
    open: HashMap<u64, (ClientHandle<H>, Option<Abort>)>,
    shutting_down: bool,
}

impl<H: Handler> std::fmt::Debug for Connections<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("Connections")
            .field("held", &state.held)
            .field("open", &state.open.len())
            .field("max", &self.max)
            .finish()
    }
}

/// One connection's place in its listener, from the accepted socket to the end of its
/// session; dropping it gives the place back.
pub struct Ticket<H: Handler> {
    connections: Arc<Connections<H>>,
    id: u64,
}

impl<H: Handler> std::fmt::Debug for Ticket<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket").field("id", &self.id).finish()
    }
}

impl<H: Handler> Connections<H> {
    /// A registry for at most `max` connections at once.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                held: 0,
                next_id: 0,
                open: HashMap::new(),
                shutting_down: false,
            }),
            max,
        })
    }

    /// A place for a new connection, or why there is none (the request is then answered
    /// 503 without being read further than needed).
    pub fn admit(self: &Arc<Self>) -> Result<Ticket<H>, ServeError> {
        let mut state = lock(&self.state);
        if state.shutting_down {
            return Err(ServeError::ShuttingDown);
        }
        if state.held >= self.max {
            return Err(ServeError::TooManyConnections);
        }
        state.held += 1;
        state.next_id += 1;
        Ok(Ticket {
            connections: self.clone(),
            id: state.next_id,
        })
    }

    /// Connections held now: handshakes in progress and open connections.
    pub fn len(&self) -> usize {
        lock(&self.state).held
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Handles to the open connections.
    pub fn handles(&self) -> Vec<ClientHandle<H>> {
        lock(&self.state)
            .open
            .values()
            .map(|(handle, _)| handle.clone())
            .collect()
    }

    /// Starts a graceful shutdown: no new connection is admitted, and every open one is
    /// closed with 1001 (going away). Returns their handles, to wait on.
    pub fn shut_down(&self) -> Vec<ClientHandle<H>> {
        let handles = {
            let mut state = lock(&self.state);
            state.shutting_down = true;
            state
                .open
                .values()
                .map(|(handle, _)| handle.clone())
                .collect::<Vec<_>>()
        };
        for handle in &handles {
            let _ = handle.close_with(CloseCode::GOING_AWAY, "server shutting down");
        }
        handles
    }

    /// Ends by force the connections still running (after a shutdown's deadline); returns
    /// how many had not ended. (One whose session ended may still be finishing its task:
    /// it is not counted.)
    pub fn abort_all(&self) -> usize {
        let running: Vec<_> = {
            let mut state = lock(&self.state);
            state
                .open
                .values_mut()
                .filter(|(handle, _)| handle.terminated().is_none())
                .map(|(_, abort)| abort.take())
                .collect()
        };
        let count = running.len();
        for abort in running.into_iter().flatten() {
            abort();
        }
        count
    }
}

impl<H: Handler> Ticket<H> {
    /// The connection is accepted: its handle joins the registry (before `handle_connect`
    /// runs, so the server's handles include it from its first callback). A connection
    /// admitted before a shutdown began and opened after it is closed at once.
    pub(crate) fn open(&self, handle: &ClientHandle<H>) {
        let shutting_down = {
            let mut state = lock(&self.connections.state);
            state.open.insert(self.id, (handle.clone(), None));
            state.shutting_down
        };
        if shutting_down {
            let _ = handle.close_with(CloseCode::GOING_AWAY, "server shutting down");
        }
    }
}

impl<H: Handler> Ticket<H> {
    /// How to end the connection's task by force if a shutdown's deadline passes.
    pub fn set_abort(&self, abort: impl FnOnce() + Send + 'static) {
        if let Some(entry) = lock(&self.connections.state).open.get_mut(&self.id) {
            entry.1 = Some(Box::new(abort));
        }
    }
}

impl<H: Handler> Drop for Ticket<H> {
    fn drop(&mut self) {
        let mut state = lock(&self.connections.state);
        state.held -= 1;
        state.open.remove(&self.id);
    }
}

/// The registry's lock: std's (under loom too: the registry is not part of the models). A
/// panic elsewhere while it was held leaves the counts and handles consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
