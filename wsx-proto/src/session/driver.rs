//! The whole interface between a session and the driver that gives it a transport and time:
//! one output poll and one input entry. A driver (an adapter's task or thread, or your own
//! event loop) is a loop over [`Session::poll_output`]'s answer: it does what the output
//! says, reports how it went with [`Session::handle_input`], and polls again. What happens in
//! which order (commands, timers, writes, reads, reconnects, the final flush) is the session's
//! business, not the driver's.
//!
//! ```ignore
//! loop {
//!     match session.poll_output(Instant::now()) {
//!         Output::Connect(settings) => match open(settings) {
//!             Ok(t) => { transport = Some(t); session.handle_input(Input::Opened, Instant::now()) }
//!             Err(e) => session.handle_input(Input::OpenFailed(e), Instant::now()),
//!         },
//!         Output::Transmit(bytes) => {
//!             let input = match transport.write(bytes) {
//!                 Ok(n) => Input::Written(n),
//!                 Err(e) if e.kind() == WouldBlock => Input::WriteBlocked,
//!                 Err(e) => Input::IoError(e),
//!             };
//!             session.handle_input(input, Instant::now());
//!         }
//!         Output::Read { buf, room } => { /* read into buf: Read(n), Eof, ReadBlocked */ }
//!         Output::Wait { deadline, read, write } => { /* sleep; then */ session.handle_input(Input::Woken, Instant::now()) }
//!         Output::CloseTransport => transport = None,
//!         Output::Stop => break,
//!     }
//! }
//! ```

use std::io;
use std::time::Instant;

use bytes::BytesMut;

use crate::error::Error;
use crate::protocol::handshake::Response;
use crate::session::handler::Handler;
use crate::session::link::Link;
use crate::session::settings::ConnectSettings;
use crate::session::state::{Action, Session};

/// What the session wants from its driver now, from [`Session::poll_output`]. Every output
/// but [`Stop`](Self::Stop) is answered with an [`Input`] before the next poll.
/// Not `non_exhaustive`: a new output is one every driver must handle.
#[derive(Debug)]
pub enum Output<'s> {
    /// Open a transport for these settings (TCP to the first hop, the proxy's tunnel, then TLS
    /// for `wss://`) within their connect timeout; answer [`Input::Opened`] or
    /// [`Input::OpenFailed`].
    Connect(&'s ConnectSettings),
    /// Write a prefix of these bytes; answer [`Input::Written`] with how many were taken,
    /// [`Input::WriteBlocked`] if the transport takes none now, or [`Input::IoError`].
    Transmit(&'s [u8]),
    /// Read into the spare room of `buf`, appending: reserve `room` bytes and read at most
    /// that much ([`Connection::read_room`](crate::protocol::Connection::read_room)); answer [`Input::Read`], [`Input::Eof`],
    /// [`Input::ReadBlocked`] if nothing is there now, or [`Input::IoError`]. An idle
    /// transport may free `buf` while it is empty.
    Read {
        /// The connection's read buffer.
        buf: &'s mut BytesMut,
        /// How much to reserve and, at most, to read.
        room: usize,
    },
    /// Close the transport (a graceful shutdown if it is quick); nothing more is written to
    /// it. Answered by polling again.
    CloseTransport,
    /// Nothing to do until `deadline` passes, the transport becomes readable (if `read`) or
    /// writable (if `write`), or a client handle sends a command (the driver's
    /// [`Link`] wakes it); then answer [`Input::Woken`]. No deadline: wait for the others
    /// only.
    Wait {
        /// When to wake at the latest.
        deadline: Option<Instant>,
        /// Wake when the transport has bytes to read (it said it had none).
        read: bool,
        /// Wake when the transport takes bytes again (it said it was full).
        write: bool,
    },
    /// The client has stopped for good: end the task or thread.
    Stop,
}

/// What happened, for [`Session::handle_input`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Input {
    /// The transport asked for by [`Output::Connect`] is open.
    Opened,
    /// It is open and the WebSocket's handshake is done too: over HTTP/2, the driver
    /// exchanged the extended CONNECT ([`ExtendedConnect`](crate::http2::ExtendedConnect))
    /// and this is its accepted response; frames flow at once.
    Upgraded(Box<Response>),
    /// It could not be opened.
    OpenFailed(Error),
    /// This many bytes of [`Output::Transmit`] were written (0: try again, e.g. after an
    /// interrupted call).
    Written(usize),
    /// The transport took none of them now.
    WriteBlocked,
    /// This many bytes were appended to [`Output::Read`]'s buffer.
    Read(usize),
    /// The peer closed the transport (end of file).
    Eof,
    /// Nothing to read now.
    ReadBlocked,
    /// Reading or writing failed.
    IoError(io::Error),
    /// The driver woke from [`Output::Wait`] (or was polled again by its executor).
    Woken,
}

impl Input {
    /// What a write of [`Output::Transmit`] that returned `result` tells the session: how
    /// many bytes were taken; a write of none, an error; `WouldBlock`, a full transport;
    /// `Interrupted`, nothing (write again).
    pub fn from_write(result: io::Result<usize>) -> Self {
        match result {
            Ok(0) => Self::IoError(io::ErrorKind::WriteZero.into()),
            Ok(n) => Self::Written(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Self::WriteBlocked,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Self::Written(0),
            Err(e) => Self::IoError(e),
        }
    }

    /// What a read of [`Output::Read`] that returned `result` tells the session: bytes read;
    /// none, the end of the stream; `WouldBlock`, nothing to read now; `Interrupted`, nothing
    /// (read again).
    pub fn from_read(result: io::Result<usize>) -> Self {
        match result {
            Ok(0) => Self::Eof,
            Ok(n) => Self::Read(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Self::ReadBlocked,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Self::Woken,
            Err(e) => Self::IoError(e),
        }
    }
}

impl<H: Handler, L: Link<Cast = H::Cast>> Session<H, L> {
    /// What to do next. Commands from client handles, timers, writes (until the transport is
    /// full), then a read, in turns, so that none starves the others.
    pub fn poll_output(&mut self, now: Instant) -> Output<'_> {
        let mut timers_ran = false;
        loop {
            if let Some(action) = self.poll_action(now) {
                return match action {
                    Action::Connect => Output::Connect(&self.settings),
                    Action::CloseTransport => Output::CloseTransport,
                    Action::Stop => Output::Stop,
                };
            }
            if std::mem::take(&mut self.io.new_turn) && self.handle_commands(now) {
                continue;
            }
            if !timers_ran && self.poll_timeout().is_some_and(|at| at <= now) {
                timers_ran = true;
                self.handle_timeout(now);
                continue;
            }
            break;
        }
        if !self.io.write_blocked && self.wants_write() {
            return Output::Transmit(self.pending_transmit(now));
        }
        if self.io.read_blocked || !self.wants_read() {
            self.release_idle_buffers();
            return Output::Wait {
                deadline: self.poll_timeout(),
                read: self.io.read_blocked && self.wants_read(),
                write: self.io.write_blocked && self.wants_write(),
            };
        }
        let room = self.read_room();
        match &mut self.conn {
            Some(conn) => Output::Read {
                buf: conn.read_buffer(),
                room,
            },
            // `wants_read` says there is a connection.
            None => Output::Wait {
                deadline: None,
                read: false,
                write: false,
            },
        }
    }

    /// Takes in what happened since the last output.
    pub fn handle_input(&mut self, input: Input, now: Instant) {
        match input {
            Input::Opened => {
                self.io = TurnState::default();
                self.transport_opened(now);
            }
            Input::Upgraded(response) => {
                self.io = TurnState::default();
                self.transport_upgraded(*response, now);
            }
            Input::OpenFailed(error) => self.transport_failed(error, now),
            Input::Written(n) => self.consume_transmit(n),
            Input::WriteBlocked => {
                self.consume_transmit(0);
                self.io.write_blocked = true;
            }
            Input::Read(_) => {
                self.handle_read(now);
                // A new turn: commands get theirs between reads.
                self.io.new_turn = true;
            }
            Input::Eof => self.handle_eof(now),
            Input::ReadBlocked => {
                self.io.read_blocked = true;
                self.release_read_buffer(now);
            }
            Input::IoError(error) => {
                if self.writing() {
                    self.consume_transmit(0);
                }
                self.handle_io_error(error, now);
            }
            Input::Woken => self.io = TurnState::default(),
        }
    }
}

/// What the driver said about the transport since it last woke.
#[derive(Debug)]
pub(crate) struct TurnState {
    /// The transport is full: no more writes until woken.
    write_blocked: bool,
    /// Nothing to read: no more reads until woken.
    read_blocked: bool,
    /// Commands are looked at before anything else.
    new_turn: bool,
}

impl Default for TurnState {
    fn default() -> Self {
        Self {
            write_blocked: false,
            read_blocked: false,
            new_turn: true,
        }
    }
}
