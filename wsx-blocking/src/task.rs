//! The connection thread, one per client: moves bytes between the non-blocking socket and the
//! session, and sleeps in `poll(2)` on two descriptors, the socket and the thread's wake-up
//! (written by a client handle's command), until the session's next deadline. Everything
//! else is the session's.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::task::{Wake, Waker};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};
use wsx_proto::{Action, Handler, Session};

use crate::stream::{self, Socket};

/// Reads per wake-up before the other work gets a turn.
const READS_PER_TURN: usize = 4;

/// What wakes the connection thread out of `poll`: an eventfd (a pipe where there is none),
/// made before the thread starts so that a process out of descriptors fails the start with
/// its cause.
pub(crate) struct Wakeup {
    read: OwnedFd,
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    write: OwnedFd,
}

impl Wakeup {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(crate) fn new() -> io::Result<Self> {
        use rustix::event::{eventfd, EventfdFlags};
        let read = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        Ok(Self { read })
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub(crate) fn new() -> io::Result<Self> {
        use rustix::pipe::{pipe_with, PipeFlags};
        let (read, write) = pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
        Ok(Self { read, write })
    }

    fn notify(&self) {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let _ = rustix::io::write(&self.read, &1u64.to_ne_bytes());
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = rustix::io::write(&self.write, &[1]);
    }

    /// Takes the pending wake-ups, so the next `poll` sleeps until a new one.
    fn clear(&self) {
        let mut buf = [0u8; 64];
        while matches!(rustix::io::read(&self.read, &mut buf), Ok(n) if n > 0) {}
    }
}

impl Wake for Wakeup {
    fn wake(self: Arc<Self>) {
        self.notify();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.notify();
    }
}

/// What the last `poll` said about the socket.
#[derive(Debug, Default)]
struct Readiness {
    /// A write found the socket full and it has not said it is writable since: writes wait.
    write_blocked: bool,
    /// The socket reported an error or a hang-up: the next turn must find out which.
    hung_up: bool,
}

/// Runs a session until it stops.
pub(crate) fn run<H: Handler>(mut session: Session<H>, wakeup: Arc<Wakeup>) {
    let waker = Waker::from(wakeup.clone());
    let mut socket: Option<Socket> = None;
    let mut ready = Readiness::default();
    loop {
        while let Some(action) = session.poll_action(Instant::now()) {
            match action {
                Action::Connect => match stream::connect(session.settings()) {
                    Ok(opened) => {
                        socket = Some(opened);
                        ready = Readiness::default();
                        session.transport_opened(Instant::now());
                    }
                    Err(e) => session.transport_failed(e, Instant::now()),
                },
                Action::CloseTransport => {
                    if let Some(mut closing) = socket.take() {
                        closing.shutdown();
                    }
                }
                _ => return,
            }
        }
        session.register_waker(&waker);
        let Some(open) = &mut socket else {
            // Between attempts (a reconnect delay): sleep until the next one or a command.
            let Some(at) = session.poll_timeout() else { return };
            if !session.handle_commands(Instant::now()) {
                let _ = wait(&wakeup, None, Some(at.saturating_duration_since(Instant::now())));
            }
            continue;
        };
        let hung_up = std::mem::take(&mut ready.hung_up);
        let progressed = turn(&mut session, open, &mut ready);
        if hung_up && !progressed {
            // Nothing left to read or write would tell: the peer is gone.
            session.handle_eof(Instant::now());
            continue;
        }
        let timeout = if progressed {
            if !ready.write_blocked {
                continue;
            }
            // Busy reading while the output waits for room: look whether it has room now
            // without sleeping.
            Some(Duration::ZERO)
        } else {
            session.release_idle_buffers();
            session
                .poll_timeout()
                .map(|at| at.saturating_duration_since(Instant::now()))
        };
        let mut interest = PollFlags::empty();
        if session.wants_read() {
            interest |= PollFlags::IN;
        }
        if ready.write_blocked {
            interest |= PollFlags::OUT;
        }
        match wait(&wakeup, Some((open, interest)), timeout) {
            Ok(events) => {
                if events.intersects(PollFlags::OUT | PollFlags::ERR | PollFlags::HUP) {
                    ready.write_blocked = false;
                }
                ready.hung_up = events.intersects(PollFlags::ERR | PollFlags::HUP);
            }
            Err(e) => session.handle_io_error(e, Instant::now()),
        }
    }
}

/// Sleeps until the wake-up fires, the socket is ready for `interest` (or failed), or
/// `timeout` passes; returns what the socket reported.
fn wait(wakeup: &Wakeup, socket: Option<(&Socket, PollFlags)>, timeout: Option<Duration>) -> io::Result<PollFlags> {
    let timeout = timeout.map(|t| Timespec {
        tv_sec: t.as_secs().try_into().unwrap_or(i64::MAX),
        tv_nsec: t.subsec_nanos().into(),
    });
    let mut fds = [
        PollFd::new(&wakeup.read, PollFlags::IN),
        PollFd::new(&wakeup.read, PollFlags::empty()),
    ];
    let used = match socket {
        Some((socket, interest)) => {
            fds[1] = PollFd::from_borrowed_fd(socket.tcp().as_fd(), interest);
            2
        }
        None => 1,
    };
    match rustix::event::poll(&mut fds[..used], timeout.as_ref()) {
        Ok(_) => {}
        Err(rustix::io::Errno::INTR) => return Ok(PollFlags::empty()),
        Err(e) => return Err(e.into()),
    }
    if fds[0].revents().contains(PollFlags::IN) {
        wakeup.clear();
    }
    Ok(if used == 2 {
        fds[1].revents()
    } else {
        PollFlags::empty()
    })
}

/// Feeds the session what the socket and the handles have now; returns whether anything
/// happened (then the caller goes round again instead of waiting).
fn turn<H: Handler>(session: &mut Session<H>, socket: &mut Socket, ready: &mut Readiness) -> bool {
    let now = Instant::now();
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
    while !ready.write_blocked {
        let pending = session.pending_transmit(now);
        let queued = !pending.is_empty();
        if !queued && !socket.wants_write() {
            session.consume_transmit(0);
            break;
        }
        let written = socket.write(pending);
        session.consume_transmit(*written.as_ref().unwrap_or(&0));
        match written {
            Ok(0) if queued => break,
            Ok(n) => {
                progressed |= n > 0;
                if n == 0 {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => ready.write_blocked = true,
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
