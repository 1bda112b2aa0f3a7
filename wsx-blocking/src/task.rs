//! The connection thread: moves bytes between the socket (through its reader thread) and the
//! session, and sleeps until the session's next deadline or a wake-up. Everything else is the
//! session's.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Wake, Waker};
use std::thread::{self, Thread};
use std::time::Instant;

use wsx_proto::{Action, Handler, Session};

use crate::stream::{self, Received, Socket};

/// Reads the reader thread may hand over before it waits for the session.
const READS_IN_FLIGHT: usize = 4;

/// Wakes the connection thread: a command, or bytes from the reader thread.
struct ThreadWaker {
    thread: Thread,
    woken: AtomicBool,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

impl ThreadWaker {
    /// Sleeps until woken or `deadline`.
    fn park(&self, deadline: Option<Instant>) {
        while !self.woken.swap(false, Ordering::Acquire) {
            match deadline {
                None => thread::park(),
                Some(at) => match at.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => thread::park_timeout(left),
                    _ => return,
                },
            }
        }
    }
}

/// An open socket and what its reader thread sends.
struct Transport {
    socket: Socket,
    received: mpsc::Receiver<Received>,
}

/// Runs a session until it stops.
pub(crate) fn run<H: Handler>(mut session: Session<H>) {
    let waker = Arc::new(ThreadWaker {
        thread: thread::current(),
        woken: AtomicBool::new(false),
    });
    let task_waker = Waker::from(waker.clone());
    let mut transport: Option<Transport> = None;
    loop {
        while let Some(action) = session.poll_action(Instant::now()) {
            match action {
                Action::Connect => match open(session.settings(), &waker) {
                    Ok(opened) => {
                        transport = Some(opened);
                        session.transport_opened(Instant::now());
                    }
                    Err(e) => session.transport_failed(e, Instant::now()),
                },
                Action::CloseTransport => {
                    if let Some(mut closing) = transport.take() {
                        closing.socket.shutdown();
                    }
                }
                _ => return,
            }
        }
        let Some(open) = &mut transport else { return };
        session.register_waker(&task_waker);
        if !turn(&mut session, open) {
            let wants_write = session.wants_write() || open.socket.wants_write();
            // A blocked write already waited (the socket's write timeout): just go round.
            if !wants_write {
                waker.park(session.poll_timeout());
            }
        }
    }
}

/// Connects and starts the reader thread, which wakes this one for every read.
fn open(settings: &wsx_proto::ConnectSettings, waker: &Arc<ThreadWaker>) -> Result<Transport, wsx_proto::Error> {
    let socket = stream::connect(settings)?;
    // Bounded: while the session does not read, the reader thread stops reading too, and TCP
    // pushes back on the peer.
    let (tx, received) = mpsc::sync_channel(READS_IN_FLIGHT);
    let waker = waker.clone();
    socket.spawn_reader(move |r| {
        let delivered = tx.send(r).is_ok();
        waker.wake_by_ref();
        delivered
    })?;
    Ok(Transport { socket, received })
}

/// Feeds the session what happened since the last turn; returns whether anything did.
fn turn<H: Handler>(session: &mut Session<H>, open: &mut Transport) -> bool {
    let now = Instant::now();
    let mut progressed = session.handle_commands(now);
    while session.wants_read() {
        let Ok(received) = open.received.try_recv() else { break };
        progressed = true;
        match received {
            Received::Bytes(raw) => match open.socket.decode(&raw, session.read_buffer()) {
                Ok(eof) => {
                    session.handle_read(now);
                    if eof {
                        session.handle_eof(now);
                    }
                }
                Err(e) => session.handle_io_error(e, now),
            },
            Received::Eof => session.handle_eof(now),
            Received::Failed(e) => session.handle_io_error(e, now),
        }
    }
    let pending = session.pending_transmit(now);
    if !pending.is_empty() || open.socket.wants_write() {
        match open.socket.write(pending) {
            Ok(0) => {}
            Ok(n) => {
                session.consume_transmit(n);
                progressed = true;
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(e) => {
                session.handle_io_error(e, now);
                progressed = true;
            }
        }
    }
    if session.poll_timeout().is_some_and(|at| at <= now) {
        session.handle_timeout(now);
        progressed = true;
    }
    progressed
}
