//! The connection thread, one per client: moves bytes between the non-blocking socket and the
//! session, and sleeps in a poller (socket readiness, the session's next deadline, or a
//! wake-up from a client handle). Everything else is the session's.

use std::io;
use std::sync::Arc;
use std::task::{Wake, Waker};
use std::time::{Duration, Instant};

use polling::{Event, Events, PollMode, Poller};
use wsx_proto::{Action, ConnectSettings, Handler, Session};

use crate::stream::{self, Socket};

/// The poller's key for the socket.
const SOCKET: usize = 0;
/// Reads per wake-up before the other work gets a turn.
const READS_PER_TURN: usize = 4;

/// Wakes the connection thread out of the poller.
struct PollerWaker(Arc<Poller>);

impl Wake for PollerWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let _ = self.0.notify();
    }
}

/// An open socket, registered with the poller while it lives, edge-triggered for both
/// directions: the loop reads and writes until the socket says `WouldBlock`, and an edge says
/// when to try again.
struct Transport {
    socket: Socket,
    poller: Arc<Poller>,
    /// A write found the socket full, and no writable edge has come since: writes wait for
    /// one instead of failing again on every turn.
    write_blocked: bool,
}

impl Transport {
    fn open(settings: &ConnectSettings, poller: &Arc<Poller>) -> Result<Self, wsx_proto::Error> {
        let socket = stream::connect(settings)?;
        // SAFETY: the socket is removed from the poller in `Drop` below, before it is closed,
        // and `Transport` owns it, so it cannot be closed while registered.
        unsafe { poller.add_with_mode(socket.tcp(), Event::all(SOCKET), PollMode::Edge)? };
        Ok(Self {
            socket,
            poller: poller.clone(),
            write_blocked: false,
        })
    }

    /// Takes in the edges the poller reported.
    fn note(&mut self, events: &Events) {
        if events.iter().any(|event| event.key == SOCKET && event.writable) {
            self.write_blocked = false;
        }
    }
}

impl Drop for Transport {
    fn drop(&mut self) {
        let _ = self.poller.delete(self.socket.tcp());
        self.socket.shutdown();
    }
}

/// Runs a session until it stops.
pub(crate) fn run<H: Handler>(mut session: Session<H>) {
    let poller = match Poller::new() {
        Ok(poller) => Arc::new(poller),
        Err(e) => return fail_to_start(session, e),
    };
    let waker = Waker::from(Arc::new(PollerWaker(poller.clone())));
    // One source: room for one event (the default holds 1024, 16 KiB per idle thread).
    let mut events = Events::with_capacity(std::num::NonZeroUsize::MIN);
    let mut transport: Option<Transport> = None;
    loop {
        while let Some(action) = session.poll_action(Instant::now()) {
            match action {
                Action::Connect => match Transport::open(session.settings(), &poller) {
                    Ok(opened) => {
                        transport = Some(opened);
                        session.transport_opened(Instant::now());
                    }
                    Err(e) => session.transport_failed(e, Instant::now()),
                },
                Action::CloseTransport => transport = None,
                _ => return,
            }
        }
        let Some(open) = &mut transport else {
            // Between attempts (a reconnect delay): sleep until the next one or a command.
            let Some(at) = session.poll_timeout() else { return };
            session.register_waker(&waker);
            if !session.handle_commands(Instant::now()) {
                events.clear();
                let _ = poller.wait(&mut events, Some(at.saturating_duration_since(Instant::now())));
            }
            continue;
        };
        session.register_waker(&waker);
        let progressed = turn(&mut session, open);
        let timeout = if progressed {
            if !open.write_blocked {
                continue;
            }
            // Busy reading while the output waits for room: look for a writable edge
            // without sleeping.
            Some(Duration::ZERO)
        } else {
            session.release_idle_buffers();
            session
                .poll_timeout()
                .map(|at| at.saturating_duration_since(Instant::now()))
        };
        events.clear();
        match poller.wait(&mut events, timeout) {
            Ok(_) => open.note(&events),
            Err(e) if e.kind() != io::ErrorKind::Interrupted => session.handle_io_error(e, Instant::now()),
            Err(_) => {}
        }
    }
}

/// No poller: the client ends as if its task had been dropped.
fn fail_to_start<H: Handler>(session: Session<H>, error: io::Error) {
    tracing::error!(target: "wsx", %error, "cannot create a poller for the connection thread");
    drop(session);
}

/// Feeds the session what the socket and the handles have now; returns whether anything
/// happened (then the caller goes round again instead of waiting).
fn turn<H: Handler>(session: &mut Session<H>, transport: &mut Transport) -> bool {
    let now = Instant::now();
    let socket = &mut transport.socket;
    let mut progressed = session.handle_commands(now);
    for _ in 0..READS_PER_TURN {
        if !session.wants_read() {
            break;
        }
        let wanted = session.bytes_wanted();
        let Some(buf) = session.read_buffer() else { break };
        match socket.read_into(buf, wanted) {
            Ok(0) => session.handle_eof(now),
            Ok(_) => session.handle_read(now),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                session.release_read_buffer();
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => session.handle_io_error(e, now),
        }
        progressed = true;
    }
    while !transport.write_blocked {
        let pending = session.pending_transmit(now);
        if pending.is_empty() && !socket.wants_write() {
            break;
        }
        match socket.write(pending) {
            Ok(0) if !pending.is_empty() => break,
            Ok(n) => {
                session.consume_transmit(n);
                progressed |= n > 0;
                if n == 0 {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => transport.write_blocked = true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                session.handle_io_error(e, now);
                progressed = true;
                break;
            }
        }
    }
    if session.poll_timeout().is_some_and(|at| at <= now) {
        session.handle_timeout(now);
        progressed = true;
    }
    progressed
}
