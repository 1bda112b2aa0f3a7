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
use wsx_driver::Session;
use wsx_proto::{Handler, Input, Output};

use crate::stream::{self, Transport};

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

    /// The descriptor that becomes readable once notified.
    pub(crate) fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.read.as_fd()
    }

    pub(crate) fn notify(&self) {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let _ = rustix::io::write(&self.read, &1u64.to_ne_bytes());
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = rustix::io::write(&self.write, &[1]);
    }

    /// Takes the pending wake-ups, so the next `poll` sleeps until a new one.
    pub(crate) fn clear(&self) {
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

/// Runs a session until it stops: a loop over its outputs.
pub(crate) fn run<H: Handler>(mut session: Session<H>, wakeup: Arc<Wakeup>, mut socket: Option<Transport>) {
    let waker = Waker::from(wakeup.clone());
    // The socket reported an error or hang-up, and nothing has been read or written since.
    let mut hung_up = false;
    // After every wake-up, before the session looks for commands: a command sent later wakes
    // the thread again.
    let mut register = true;
    loop {
        if std::mem::take(&mut register) {
            session.link().register(&waker);
        }
        let now = Instant::now();
        let input = match session.poll_output(now) {
            Output::Connect(settings) => match stream::open(settings) {
                Ok((opened, upgraded)) => {
                    socket = Some(opened);
                    match upgraded {
                        Some(response) => Input::Upgraded(response),
                        None => Input::Opened,
                    }
                }
                Err(e) => Input::OpenFailed(e),
            },
            Output::CloseTransport => {
                if let Some(mut closing) = socket.take() {
                    closing.shutdown(&waker);
                }
                continue;
            }
            Output::Stop => return,
            Output::Transmit(bytes) => match socket.as_mut() {
                Some(open) => Input::from_write(open.write(bytes, &waker)),
                None => Input::WriteBlocked,
            },
            Output::Read { buf, room } => match socket.as_mut() {
                Some(open) => Input::from_read(open.read_into(buf, room, &waker)),
                None => Input::ReadBlocked,
            },
            Output::Wait { deadline, read, write } => {
                if std::mem::take(&mut hung_up) {
                    // Nothing left to read or write would tell: the peer is gone.
                    Input::Eof
                } else {
                    let timeout = deadline.map(|at| at.saturating_duration_since(now));
                    match wait(&wakeup, socket.as_mut(), read, write, timeout) {
                        Ok(events) => {
                            hung_up = events.intersects(PollFlags::ERR | PollFlags::HUP);
                            register = true;
                            Input::Woken
                        }
                        Err(e) => Input::IoError(e),
                    }
                }
            }
        };
        // Bytes moved: the socket is not hung up after all.
        if let Input::Written(1..) | Input::Read(_) = input {
            hung_up = false;
        }
        // After a wait or a connect, time has moved; after a read or write, not enough to
        // matter (the session's deadlines are milliseconds).
        let now = match input {
            Input::Woken | Input::Opened | Input::Upgraded(_) | Input::OpenFailed(_) => Instant::now(),
            _ => now,
        };
        session.handle_input(input, now);
    }
}

/// Sleeps until the wake-up fires, the socket is ready to read (`read`) or write (`write`, or
/// TLS records wait to be written), or failed, or `timeout` passes; returns what the socket
/// reported. An HTTP/2 stream has no socket of its own: it fires the wake-up.
fn wait(
    wakeup: &Wakeup,
    socket: Option<&mut Transport>,
    read: bool,
    write: bool,
    timeout: Option<Duration>,
) -> io::Result<PollFlags> {
    let mut interest = PollFlags::empty();
    if read {
        interest |= PollFlags::IN;
    }
    if write {
        interest |= PollFlags::OUT;
    }
    let mut socket = socket;
    if let Some(socket) = socket.as_deref_mut() {
        // TLS records the socket did not take yet wait for room.
        if !socket.flush()? {
            interest |= PollFlags::OUT;
        }
    }
    let timeout = timeout.map(|t| Timespec {
        tv_sec: t.as_secs().try_into().unwrap_or(i64::MAX),
        tv_nsec: t.subsec_nanos().into(),
    });
    let mut fds = [
        PollFd::new(&wakeup.read, PollFlags::IN),
        PollFd::new(&wakeup.read, PollFlags::empty()),
    ];
    let used = match socket.as_ref().and_then(|transport| transport.socket()) {
        Some(socket) => {
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
