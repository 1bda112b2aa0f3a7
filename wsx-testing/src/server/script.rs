//! What a test server connection does: its [`Handshake`] and [`Step`]s, and the [`Gate`] a
//! script can wait on.

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use wsx_proto::protocol::OpCode;

use super::{ServerConn, POLL};

/// A latch the test opens to let a waiting server go on (e.g. to finish a handshake only once
/// the test has checked that the client is still connecting).
#[derive(Debug, Clone, Default)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    /// A closed gate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens the gate for good.
    pub fn open(&self) {
        let (open, cond) = &*self.0;
        *open.lock().unwrap() = true;
        cond.notify_all();
    }

    /// Whether it is open.
    pub fn is_open(&self) -> bool {
        *self.0 .0.lock().unwrap()
    }

    /// Waits until open; false if `stop` was raised first.
    pub(super) fn wait(&self, stop: &AtomicBool) -> bool {
        let (open, cond) = &*self.0;
        let mut guard = open.lock().unwrap();
        while !*guard {
            if stop.load(Ordering::Relaxed) {
                return false;
            }
            guard = cond.wait_timeout(guard, POLL).unwrap().0;
        }
        true
    }
}

/// How the server answers the upgrade request.
#[derive(Debug, Clone, Default)]
pub enum Handshake {
    /// `101 Switching Protocols` with the right accept key and an `X-Test-Server: wsx-testing`
    /// header.
    #[default]
    Accept,
    /// Like [`Handshake::Accept`], choosing this subprotocol.
    AcceptProtocol(String),
    /// Like [`Handshake::Accept`], accepting this extension (a `Sec-WebSocket-Extensions`
    /// value) whatever was offered.
    AcceptExtension(String),
    /// Like [`Handshake::Accept`], once the gate is opened.
    AcceptWhen(Gate),
    /// Like [`Handshake::Accept`], with these bytes (e.g. [`encode`](super::encode)d frames) in the same write
    /// as the response.
    AcceptWithTrailing(Vec<u8>),
    /// Closes the connection without answering.
    Hangup,
    /// Answers with this status and body instead of upgrading, then closes.
    Reject {
        /// HTTP status, e.g. 404.
        status: u16,
        /// Response body, sent in the same write as the headers.
        body: String,
    },
    /// `101` with a `Sec-WebSocket-Accept` computed from a different key.
    WrongAccept,
    /// Starts the `101` response and never finishes the header block.
    SlowHeaders,
}

/// A closure step: free use of the connection API.
pub type CustomStep = Arc<dyn Fn(&mut ServerConn) -> io::Result<()> + Send + Sync>;

/// One thing the server does after the upgrade.
#[derive(Clone)]
pub enum Step {
    /// Sends one unmasked frame.
    Send {
        /// FIN bit.
        fin: bool,
        /// Opcode.
        opcode: OpCode,
        /// Payload.
        payload: Vec<u8>,
    },
    /// Sends a masked frame, which a client must reject (1002).
    SendMasked {
        /// Opcode.
        opcode: OpCode,
        /// Payload (masked on the wire).
        payload: Vec<u8>,
    },
    /// Writes these bytes as they are.
    SendRaw(Vec<u8>),
    /// Sends a close frame, with a code and reason or with an empty payload.
    Close(Option<(u16, String)>),
    /// Until the connection ends: echoes text, binary and continuation frames as received,
    /// answers pings with pongs, and completes the close handshake.
    Echo,
    /// Like [`Step::Echo`] without echoing data: records frames, answers pings and closes.
    Listen,
    /// Records frames and never answers anything, not even a close.
    IgnoreClose,
    /// Sends the header of a 100-byte binary frame and 10 bytes of it, then drops the TCP
    /// connection.
    DropMidFrame,
    /// Closes the TCP connection at once, both directions.
    CloseTcp,
    /// Aborts the TCP connection with a reset (RST), see [`ServerConn::reset`].
    Reset,
    /// Records frames and answers nothing until the client's close frame arrives; the script
    /// ends there if the client closes TCP first.
    AwaitClose,
    /// Records frames and answers nothing (not even a close) while keeping TCP open, until the
    /// client closes TCP or this long passes; then the script goes on.
    Hold(Duration),
    /// Waits.
    Sleep(Duration),
    /// Waits until the gate is opened.
    WaitFor(Gate),
    /// Runs a closure.
    Custom(CustomStep),
}

impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Send { fin, opcode, payload } => write!(f, "Send({opcode:?}, fin={fin}, {} bytes)", payload.len()),
            Self::SendMasked { opcode, payload } => write!(f, "SendMasked({opcode:?}, {} bytes)", payload.len()),
            Self::SendRaw(b) => write!(f, "SendRaw({} bytes)", b.len()),
            Self::Close(c) => write!(f, "Close({c:?})"),
            Self::Echo => f.write_str("Echo"),
            Self::Listen => f.write_str("Listen"),
            Self::IgnoreClose => f.write_str("IgnoreClose"),
            Self::DropMidFrame => f.write_str("DropMidFrame"),
            Self::CloseTcp => f.write_str("CloseTcp"),
            Self::Reset => f.write_str("Reset"),
            Self::AwaitClose => f.write_str("AwaitClose"),
            Self::Hold(d) => write!(f, "Hold({d:?})"),
            Self::Sleep(d) => write!(f, "Sleep({d:?})"),
            Self::WaitFor(_) => f.write_str("WaitFor(gate)"),
            Self::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

impl Step {
    /// A whole text message.
    pub fn text(text: &str) -> Self {
        Self::frame(true, OpCode::Text, text.as_bytes())
    }

    /// A whole binary message.
    pub fn binary(data: &[u8]) -> Self {
        Self::frame(true, OpCode::Binary, data)
    }

    /// Any unmasked frame.
    pub fn frame(fin: bool, opcode: OpCode, payload: &[u8]) -> Self {
        Self::Send {
            fin,
            opcode,
            payload: payload.to_vec(),
        }
    }

    /// A ping.
    pub fn ping(payload: &[u8]) -> Self {
        Self::frame(true, OpCode::Ping, payload)
    }

    /// A pong.
    pub fn pong(payload: &[u8]) -> Self {
        Self::frame(true, OpCode::Pong, payload)
    }

    /// A close frame with a code and reason.
    pub fn close(code: u16, reason: &str) -> Self {
        Self::Close(Some((code, reason.to_owned())))
    }

    /// A closure step.
    pub fn custom(f: impl Fn(&mut ServerConn) -> io::Result<()> + Send + Sync + 'static) -> Self {
        Self::Custom(Arc::new(f))
    }
}

/// What one connection does: its handshake, then its steps. When the steps run out the server
/// stops writing and waits (briefly) for the client to close.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// How the upgrade request is answered.
    pub handshake: Handshake,
    /// What happens after the upgrade.
    pub steps: Vec<Step>,
}

impl Script {
    /// Accepts the upgrade, then runs `steps`.
    pub fn new(steps: Vec<Step>) -> Self {
        Self {
            handshake: Handshake::Accept,
            steps,
        }
    }

    /// Accepts and echoes.
    pub fn echo() -> Self {
        Self::new(vec![Step::Echo])
    }

    /// Answers the upgrade with `handshake` (steps run only if it upgrades).
    pub fn handshake(mut self, handshake: Handshake) -> Self {
        self.handshake = handshake;
        self
    }

    /// A server that only answers the upgrade like this.
    pub fn only(handshake: Handshake) -> Self {
        Self {
            handshake,
            steps: Vec::new(),
        }
    }
}
