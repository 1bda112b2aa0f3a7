//! The client connection: a state machine fed with received bytes and the time, which yields
//! events and bytes to send.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};

use super::buffer;
use super::close::{parse_close_payload, CloseFrame, CloseReason, CloseStatus};
use super::close_code::CloseCode;
use super::config::Config;
use super::deflate::codec::Deflater;
use super::deflate::DeflateParams;
use super::error::{ConnectionError, EncodeError, HandshakeError, ProtocolError, RequestError};
use super::frame::{encode_frame, Frame, OpCode};
use super::handshake::{ClientHandshake, Request, Response};
use super::keepalive::{Due, Expired, Keepalive};
use super::upgrade::{Accept, AcceptError, UpgradeRequest};

mod send;
use super::mask::random_mask_key;
use super::message::{MessageAssembler, OutgoingState};

/// Where the connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The upgrade request is out; waiting for the response.
    Connecting,
    /// Messages flow both ways.
    Open,
    /// A close frame was sent or received; waiting for the handshake and the TCP close.
    Closing,
    /// Done: flush [`Connection::poll_transmit`] and close the socket.
    Closed,
}

/// Which end of the connection this is: a client masks what it sends and reads unmasked
/// frames; a server the reverse (RFC 6455 5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The end that opened the connection.
    Client,
    /// The end that accepted it.
    Server,
}

impl Role {
    /// The key to mask a frame we send with: a client masks every frame, a server none.
    #[inline]
    fn mask_key(self) -> Option<[u8; 4]> {
        match self {
            Self::Client => Some(random_mask_key()),
            Self::Server => None,
        }
    }
}

/// What the connection has to tell its driver.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// The server accepted the upgrade. (Boxed: it happens once, and a small `Event` is
    /// cheaper to return for every frame.)
    Connected(Box<Response>),
    /// A message, fragment, ping, pong or close frame from the server. Pings are not answered
    /// automatically: send [`Frame::Pong`] with the same payload (the callback trait's
    /// default `handle_ping` does). A close frame is for information: the connection answers
    /// it itself and reports the outcome in [`Event::Closed`].
    Frame(Frame),
    /// The connection is over; this is the last event. (Boxed like `Connected`: it keeps
    /// `Event` the size of a frame, and a larger one cost measurably more per frame.)
    Closed(Box<CloseReason>),
}

/// The client side of one WebSocket connection, without any I/O.
///
/// Drive it like this: write what [`poll_transmit`](Self::poll_transmit) gives to the socket,
/// feed what the socket reads to [`receive`](Self::receive) (or [`read_buffer`](Self::read_buffer)),
/// take [`poll_event`](Self::poll_event) until it returns `None`, call
/// [`handle_timeout`](Self::handle_timeout) when [`poll_timeout`](Self::poll_timeout) passes, and
/// call [`receive_eof`](Self::receive_eof) when the socket reads end-of-file.
#[derive(Debug)]
pub struct Connection {
    role: Role,
    /// What it still needs of the [`Config`] once started (the rest went to the handshake,
    /// the assembler and keepalive): a whole `Config` is 168 bytes per connection.
    limits: Limits,
    state: Phase,
    read_buf: BytesMut,
    write_buf: BytesMut,
    assembler: MessageAssembler,
    outgoing: OutgoingState,
    /// Armed when a timer starts; becomes an `Instant` at the next call that passes `now`.
    timer: Timer,
    /// The close timeout's deadline once it runs: the linger after a completed close
    /// handshake never goes past it.
    close_deadline: Option<Instant>,
    /// Events decided outside `poll_event` (a close that ends the connection at once).
    pending: VecDeque<Event>,
    /// After a protocol error the input can no longer be framed: it is dropped.
    ignore_input: bool,
    /// The peer closed TCP, but bytes it sent before are still buffered: they are processed
    /// first, then the connection ends.
    eof_pending: bool,
    /// Bytes handed to the socket so far.
    transmitted: u64,
    /// See [`last_send_revocable`](Self::last_send_revocable).
    last_send_revocable: bool,
    /// Our side of permessage-deflate, once negotiated (boxed: most connections never have it).
    deflate: Option<Box<DeflateSend>>,
    /// Pings and dead-connection timeouts while open.
    keepalive: Keepalive,
    /// An empty read buffer the size of the last large frame is kept until then for the next
    /// one (see [`release_read_buffer`](Self::release_read_buffer)).
    warm_until: Option<Instant>,
}

/// How long a waiting connection keeps an empty read buffer the size of its last large frame:
/// large messages often come back to back with short gaps, and a buffer freed at every gap
/// is allocated (and faulted in) again for every message.
const KEEP_WARM: Duration = Duration::from_millis(100);

/// Compressing what we send.
#[derive(Debug)]
struct DeflateSend {
    deflater: Deflater,
    /// The message in progress (ours, maybe fragmented) is compressed.
    compressing: bool,
    /// Reused output buffer of the compressor.
    compressed: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    max_handshake_size: usize,
    outgoing_frame_size: Option<usize>,
    close_timeout: Duration,
    close_linger: Duration,
}

#[derive(Debug)]
enum Phase {
    Connecting(Box<ClientHandshake>),
    Open,
    /// Our close frame is queued or sent (ours first, or our echo of the peer's); `reason` is
    /// how the connection will be reported as ended.
    Closing {
        close_received: bool,
        reason: Box<CloseReason>,
    },
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    Idle,
    /// Runs for this long from the next `now` the driver passes in.
    Pending(Duration),
    Deadline(Instant),
}

impl Connection {
    /// Starts a connection: the upgrade request is queued for [`poll_transmit`](Self::poll_transmit).
    pub fn new(request: &Request, config: Config) -> Result<Self, RequestError> {
        let mut write_buf = BytesMut::with_capacity(1024);
        let handshake = ClientHandshake::start(request, config.deflate.as_ref(), &mut write_buf)?;
        let timer = Timer::Pending(config.handshake_timeout);
        Ok(Self::with(
            &config,
            Phase::Connecting(Box::new(handshake)),
            write_buf,
            timer,
        ))
    }

    fn with(config: &Config, state: Phase, write_buf: BytesMut, timer: Timer) -> Self {
        Self {
            role: Role::Client,
            assembler: MessageAssembler::new(config),
            limits: Limits {
                max_handshake_size: config.max_handshake_size,
                outgoing_frame_size: config.outgoing_frame_size,
                close_timeout: config.close_timeout,
                close_linger: config.close_linger,
            },
            state,
            // Allocated by the first read: idle connections should cost next to nothing.
            read_buf: BytesMut::new(),
            warm_until: None,
            write_buf,
            outgoing: OutgoingState::default(),
            timer,
            close_deadline: None,
            last_send_revocable: false,
            pending: VecDeque::new(),
            ignore_input: false,
            eof_pending: false,
            transmitted: 0,
            deflate: None,
            keepalive: Keepalive::new(config),
        }
    }

    /// A connection whose opening handshake is already done: over HTTP/2, where the driver
    /// exchanged the extended CONNECT ([`ExtendedConnect`](super::handshake::ExtendedConnect))
    /// and its `response` was accepted. The first event is [`Event::Connected`] with it.
    pub fn upgraded(response: Response, config: Config) -> Self {
        let mut conn = Self::with(&config, Phase::Open, BytesMut::new(), Timer::Idle);
        conn.open_with(&response);
        conn.pending.push_back(Event::Connected(Box::new(response)));
        conn
    }

    /// The server side of a connection: accepts `request` as `accept` says (the 101 answer,
    /// with permessage-deflate answered from [`Config::deflate`] if the client offered it, is
    /// queued for [`poll_transmit`](Self::poll_transmit)). The connection is open at once; the
    /// first event is [`Event::Connected`] with the response sent. Bytes the client sent after
    /// its request go to [`receive`](Self::receive) as usual. As a server it reads masked
    /// frames only, sends unmasked ones, and closes TCP as soon as the close handshake is
    /// done (RFC 6455 7.1.1), so [`Config::close_linger`] does not apply.
    pub fn accept(request: &UpgradeRequest, accept: &Accept, config: Config) -> Result<Self, AcceptError> {
        let mut answer = BytesMut::with_capacity(256);
        let response = request.accept(accept, config.deflate.as_ref(), &mut answer)?;
        let mut conn = Self::accepted(response, config);
        conn.write_buf = answer;
        Ok(conn)
    }

    /// The server side of a connection whose 101 answer another HTTP server sent (hyper,
    /// axum: see [`UpgradeRequest::accept_headers`]), `response` being what it sent. Open at
    /// once, like [`accept`](Self::accept)'s.
    pub fn accepted(response: Response, config: Config) -> Self {
        let mut conn = Self::with(&config, Phase::Open, BytesMut::new(), Timer::Idle);
        conn.role = Role::Server;
        conn.limits.close_linger = Duration::ZERO;
        conn.assembler.expect_masked_frames();
        conn.open_with(&response);
        conn.pending.push_back(Event::Connected(Box::new(response)));
        conn
    }

    /// The handshake is done: what the server agreed to applies from the first frame.
    fn open_with(&mut self, response: &Response) {
        self.state = Phase::Open;
        self.timer = Timer::Idle;
        if self.write_buf.is_empty() {
            // The request's buffer: an idle open connection should hold none.
            self.write_buf = BytesMut::new();
        }
        self.assembler.set_reserved_bits(response.extensions.reserved_bits());
        if let Some(params) = response.extensions.deflate() {
            // The parameters name the client's and the server's compressor; the codec's
            // `client_*` are always its own.
            let params = match self.role {
                Role::Client => *params,
                Role::Server => mirrored(params),
            };
            self.assembler.set_deflate(params);
            self.deflate = Some(Box::new(DeflateSend {
                deflater: Deflater::new(params),
                compressing: false,
                compressed: Vec::new(),
            }));
        }
    }

    /// Which end of the connection this is.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The current state.
    pub fn state(&self) -> State {
        match self.state {
            Phase::Connecting(_) => State::Connecting,
            Phase::Open => State::Open,
            Phase::Closing { .. } => State::Closing,
            Phase::Closed => State::Closed,
        }
    }

    /// Feeds bytes read from the socket. Events come out of [`poll_event`](Self::poll_event).
    pub fn receive(&mut self, data: &[u8]) {
        if !self.ignore_input && !matches!(self.state, Phase::Closed) {
            self.read_buf.extend_from_slice(data);
        }
    }

    /// The receive buffer, for drivers that read straight into it (e.g. tokio's `read_buf`)
    /// instead of calling [`receive`](Self::receive). Only append to it.
    pub fn read_buffer(&mut self) -> &mut BytesMut {
        &mut self.read_buf
    }

    /// How many more bytes the frame being received needs (0 when none is in progress).
    fn bytes_wanted(&self) -> usize {
        self.assembler.bytes_wanted(self.read_buf.len())
    }

    /// How much the next read should take: reserve this much room in
    /// [`read_buffer`](Self::read_buffer) and read at most this much. A large frame is read
    /// to its end exactly, and between large frames the next read is sized for one more like
    /// the last, so each lands whole at the start of the buffer instead of straddling two
    /// reads (which would move its first part); between small frames it is a 64 KiB chunk.
    pub fn read_room(&self) -> usize {
        self.assembler.read_room(self.read_buf.len())
    }

    /// Gives back what the receive buffer holds beyond its unprocessed bytes and the rest of
    /// the frame in progress (all of it when empty; see [`buffer::compact`]), so a waiting
    /// connection keeps at most its unfinished frame; call when a read found nothing, after
    /// [`poll_event`](Self::poll_event) returned `None`. An empty buffer that held a large
    /// frame is kept for the next one for a moment ([`poll_timeout`](Self::poll_timeout)
    /// then says when [`handle_timeout`](Self::handle_timeout) gives it back).
    ///
    /// [`buffer::compact`]: crate::protocol::buffer::compact
    pub fn release_read_buffer(&mut self, now: Instant) {
        let large = self.assembler.last_large_frame();
        if self.read_buf.is_empty() && large > 0 && self.read_buf.try_reclaim(large) {
            self.warm_until = Some(now + KEEP_WARM);
            return;
        }
        self.warm_until = None;
        let wanted = self.bytes_wanted();
        buffer::compact(&mut self.read_buf, wanted);
    }

    /// Gives back the send buffer's room if everything in it is written. Unwritten bytes keep
    /// their buffer: they wait for a full socket, which takes them soon or stays full, and
    /// copying them at every wait would churn memory for nothing.
    pub fn release_write_buffer(&mut self) {
        if self.write_buf.is_empty() {
            buffer::recycle(&mut self.write_buf);
        }
    }

    /// The socket reached end-of-file, or the peer reset it: the peer closed TCP. Before the
    /// close handshake completed that is [`CloseReason::Dropped`], even if our close frame
    /// was already sent.
    /// Bytes received before it are still processed first (a close frame and the FIN often
    /// arrive together).
    pub fn receive_eof(&mut self) {
        if !self.read_buf.is_empty() && !self.ignore_input && !matches!(self.state, Phase::Closed) {
            self.eof_pending = true;
            return;
        }
        self.end_of_input();
    }

    fn end_of_input(&mut self) {
        self.eof_pending = false;
        let reason = match &self.state {
            Phase::Closed => return,
            Phase::Connecting(_) => CloseReason::Error(HandshakeError::Incomplete.into()),
            Phase::Open
            | Phase::Closing {
                close_received: false, ..
            } => CloseReason::Dropped,
            Phase::Closing {
                close_received: true,
                reason,
            } => CloseReason::clone(reason),
        };
        self.finish(reason);
    }

    /// The next event, or `None` when more input is needed.
    pub fn poll_event(&mut self) -> Option<Event> {
        if self.eof_pending {
            return self.poll_event_before_eof();
        }
        // Returned as it comes: an event looked at here first is built on the stack and then
        // copied, which the CPU cannot forward from its store buffer (a stall per message).
        self.poll_input()
    }

    /// [`poll_event`](Self::poll_event) once the peer closed TCP: what it sent before, then the end.
    #[cold]
    fn poll_event_before_eof(&mut self) -> Option<Event> {
        let event = self.poll_input();
        if event.is_none() {
            self.end_of_input();
            return self.pending.pop_front();
        }
        event
    }

    fn poll_input(&mut self) -> Option<Event> {
        if let Some(event) = self.pending.pop_front() {
            return Some(event);
        }
        let result = match &self.state {
            Phase::Connecting(handshake) => {
                match handshake.parse_response(&mut self.read_buf, self.limits.max_handshake_size) {
                    Ok(Some(response)) => {
                        self.open_with(&response);
                        return Some(Event::Connected(Box::new(response)));
                    }
                    Ok(None) => return None,
                    Err(e) => Err(ConnectionError::Handshake(e)),
                }
            }
            Phase::Open | Phase::Closing { .. } => return self.poll_frame(),
            Phase::Closed => {
                // Nothing more is read once closed: don't let a peer that keeps sending fill memory.
                self.read_buf.clear();
                return None;
            }
        };
        match result {
            Ok(event) => event,
            Err(error) => {
                self.fail(error);
                self.pending.pop_front()
            }
        }
    }

    /// The next frame's event. Errors end the connection here, so every return hands back
    /// the same `Option<Event>`: the hot path moves no `Result` around it.
    fn poll_frame(&mut self) -> Option<Event> {
        if self.ignore_input {
            self.read_buf.clear();
            return None;
        }
        loop {
            // Data after the peer's close is dropped (RFC 6455 5.5.1: nothing follows a close).
            let discard_data = matches!(
                self.state,
                Phase::Closing {
                    close_received: true,
                    ..
                }
            );
            let (header, payload) = match self.assembler.next_frame(&mut self.read_buf) {
                Ok(Some(frame)) => frame,
                Ok(None) => return None,
                Err(e) => return self.fail_on_input(e),
            };
            self.keepalive.heard();
            match header.opcode {
                OpCode::Close => {
                    return match self.on_close_frame(payload) {
                        Ok(frame) => Some(Event::Frame(Frame::Close(frame))),
                        Err(e) => self.fail_on_input(e),
                    };
                }
                _ if discard_data => {}
                OpCode::Ping => return Some(Event::Frame(Frame::Ping(payload))),
                OpCode::Pong => return Some(Event::Frame(Frame::Pong(payload))),
                OpCode::Text | OpCode::Binary | OpCode::Continuation => {
                    let payload = match self.assembler.unfragmented_message(&header, payload) {
                        Ok(message) => return Some(Event::Frame(message)),
                        Err(payload) => payload,
                    };
                    match self.assembler.on_data_frame(&header, payload) {
                        Ok(Some(frame)) => return Some(Event::Frame(frame)),
                        Ok(None) => {}
                        Err(e) => return self.fail_on_input(e),
                    }
                }
            }
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
        }
    }

    /// A protocol error in what the server sent: the connection fails with it, and the
    /// first event of the failure comes back.
    #[cold]
    fn fail_on_input(&mut self, error: ProtocolError) -> Option<Event> {
        self.fail(ConnectionError::Protocol(error));
        self.pending.pop_front()
    }

    fn on_close_frame(&mut self, payload: Bytes) -> Result<Option<CloseFrame>, ProtocolError> {
        let frame = parse_close_payload(payload)?;
        let received = frame.clone();
        let remote = CloseStatus::from_frame(frame);
        let reason = match std::mem::replace(&mut self.state, Phase::Closed) {
            Phase::Open => {
                // Echo the status code (RFC 6455 section 5.5.1), without the reason.
                let echo = received.as_ref().map(|f| CloseFrame::new(f.code, ""));
                self.queue_close_frame(echo.as_ref());
                CloseReason::Remote(remote)
            }
            Phase::Closing {
                close_received: false,
                reason,
            } => match *reason {
                // Ours went first; an answer with another code is the peer's own close.
                CloseReason::Local(local) if local.code() != remote.code() => CloseReason::Crossed { local, remote },
                reason => reason,
            },
            other => {
                self.state = other;
                return Ok(received);
            }
        };
        // Both close frames are out: the handshake is complete, only TCP is left to close.
        self.state = Phase::Closing {
            close_received: true,
            reason: Box::new(reason),
        };
        self.timer = Timer::Pending(self.limits.close_linger);
        Ok(received)
    }

    /// Starts the close handshake: queues a close frame (`None` sends one without a code) and
    /// waits for the server's close and TCP close, at most [`Config::close_timeout`].
    pub fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), EncodeError> {
        if let Some(f) = &frame {
            f.validate()?;
        }
        if !matches!(self.state, Phase::Open) {
            return Err(EncodeError::NotOpen);
        }
        self.queue_close_frame(frame.as_ref());
        self.state = Phase::Closing {
            close_received: false,
            reason: Box::new(CloseReason::Local(CloseStatus::from_frame(frame))),
        };
        Ok(())
    }

    /// Fails the connection with `error` (RFC 6455 7.1.7; WebSockex's `{:error, e}`): if no
    /// close frame was sent yet, queues one with the error's code (1011 for errors that are not
    /// the peer's fault), and ends at once with [`CloseReason::Error`]. The driver flushes the
    /// close frame and closes TCP; it does not wait for a peer that broke the protocol.
    pub fn fail(&mut self, error: ConnectionError) {
        if let Phase::Open = self.state {
            let code = match &error {
                ConnectionError::Protocol(e) => e.close_code(),
                ConnectionError::Failed(code) => *code,
                _ => CloseCode::INTERNAL_ERROR,
            };
            self.queue_close_frame(Some(&CloseFrame::new(code, "")));
        }
        self.ignore_input = true;
        self.read_buf.clear();
        self.finish(CloseReason::Error(error));
    }

    fn queue_close_frame(&mut self, frame: Option<&CloseFrame>) {
        let mut payload = BytesMut::new();
        if let Some(f) = frame {
            payload.extend_from_slice(&f.code.0.to_be_bytes());
            payload.extend_from_slice(f.reason.as_bytes());
        }
        encode_frame(&mut self.write_buf, true, OpCode::Close, &payload, self.role.mask_key());
        if self.close_deadline.is_none() {
            self.timer = Timer::Pending(self.limits.close_timeout);
        }
    }

    fn finish(&mut self, reason: CloseReason) {
        self.state = Phase::Closed;
        self.timer = Timer::Idle;
        self.pending.push_back(Event::Closed(Box::new(reason)));
    }

    /// Bytes to write to the socket, all frames queued so far in one buffer; `now` starts the
    /// handshake and close timers when their bytes leave. The simple form of
    /// [`pending_transmit`](Self::pending_transmit) + [`consume_transmit`](Self::consume_transmit),
    /// which write from the connection's own buffer without allocating.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Bytes> {
        self.start_pending_timer(now);
        if self.write_buf.is_empty() {
            return None;
        }
        self.transmitted += self.write_buf.len() as u64;
        Some(self.write_buf.split().freeze())
    }

    /// The bytes waiting to be written, all queued frames in one contiguous slice (empty when
    /// there are none); `now` starts the handshake and close timers. Write a prefix of it to the
    /// socket, then call [`consume_transmit`](Self::consume_transmit) with its length. The
    /// buffer is reused, so a busy connection does not allocate per write.
    pub fn pending_transmit(&mut self, now: Instant) -> &[u8] {
        self.start_pending_timer(now);
        &self.write_buf
    }

    /// `n` bytes of [`pending_transmit`](Self::pending_transmit) were written.
    pub fn consume_transmit(&mut self, n: usize) {
        let n = n.min(self.write_buf.len());
        self.write_buf.advance(n);
        self.transmitted += n as u64;
    }

    /// Bytes queued and not yet handed to the socket.
    pub fn unwritten_bytes(&self) -> usize {
        self.write_buf.len()
    }

    /// Whether there are bytes to write.
    pub fn wants_write(&self) -> bool {
        !self.write_buf.is_empty()
    }

    /// Bytes queued for the socket since the connection was made (written or not): a frame
    /// queued now is written once [`transmitted_bytes`](Self::transmitted_bytes) reaches this.
    pub fn queued_bytes(&self) -> u64 {
        self.transmitted + self.write_buf.len() as u64
    }

    /// Bytes handed to the socket so far (consumed or taken with `poll_transmit`).
    pub fn transmitted_bytes(&self) -> u64 {
        self.transmitted
    }

    /// Starts a timer armed since the last call: the handshake timeout, the close timeout, or
    /// the linger after a completed close handshake (which never ends past the close
    /// timeout). Every call that passes `now` does this; drivers that only write in place call
    /// it once per loop turn, before asking for the deadline.
    pub fn start_pending_timer(&mut self, now: Instant) {
        if let Phase::Open = self.state {
            self.keepalive.observe(now);
        }
        let Timer::Pending(duration) = self.timer else { return };
        let mut at = now + duration;
        match (&self.state, self.close_deadline) {
            (Phase::Connecting(_), _) => {}
            (_, Some(close_deadline)) => at = at.min(close_deadline),
            (_, None) => self.close_deadline = Some(at),
        }
        self.timer = Timer::Deadline(at);
    }

    /// When the close timeout ends, once a close handshake started.
    pub fn close_deadline(&self) -> Option<Instant> {
        self.close_deadline
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let timer = match self.timer {
            Timer::Deadline(at) => Some(at),
            _ => None,
        };
        let timer = timer.into_iter().chain(self.warm_until).min();
        match self.state {
            Phase::Open => timer.into_iter().chain(self.keepalive.deadline()).min(),
            _ => timer,
        }
    }

    /// Advances timers to `now`: an unanswered handshake fails, a close handshake the server
    /// did not finish ends the connection (to be closed by force), and while open, keepalive
    /// sends its ping or fails a connection that went quiet ([`Config::ping_interval`]).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.warm_until.is_some_and(|at| now >= at) {
            self.warm_until = None;
            if self.read_buf.is_empty() {
                buffer::recycle(&mut self.read_buf);
            }
        }
        if let Phase::Open = self.state {
            match self.keepalive.on_timeout(now) {
                Due::Nothing => {}
                Due::Ping(payload) => {
                    encode_frame(&mut self.write_buf, true, OpCode::Ping, &payload, self.role.mask_key());
                }
                Due::Expired(expired) => {
                    return self.fail(match expired {
                        Expired::Pong(t) => ConnectionError::PongTimeout(t),
                        Expired::Idle(t) => ConnectionError::IdleTimeout(t),
                    });
                }
            }
        }
        let Timer::Deadline(at) = self.timer else { return };
        if now < at {
            return;
        }
        let reason = match &self.state {
            Phase::Connecting(_) => CloseReason::Error(HandshakeError::TimedOut.into()),
            Phase::Closing { close_received, reason } => match (close_received, &**reason) {
                (false, CloseReason::Local(status)) => CloseReason::LocalTimedOut(status.clone()),
                (_, reason) => reason.clone(),
            },
            Phase::Open | Phase::Closed => return,
        };
        self.finish(reason);
    }
}

/// The parameters with the client's and the server's sides swapped: what a server's codec,
/// which takes `client_*` as its own, runs with.
fn mirrored(params: &DeflateParams) -> DeflateParams {
    DeflateParams {
        client_no_context_takeover: params.server_no_context_takeover,
        server_no_context_takeover: params.client_no_context_takeover,
        client_max_window_bits: params.server_max_window_bits,
        server_max_window_bits: params.client_max_window_bits,
        ..*params
    }
}

impl From<super::frame::DataKind> for OpCode {
    fn from(kind: super::frame::DataKind) -> Self {
        match kind {
            super::frame::DataKind::Text => OpCode::Text,
            super::frame::DataKind::Binary => OpCode::Binary,
        }
    }
}
