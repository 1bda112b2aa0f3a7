//! A scripted WebSocket test server on `std::net` and threads, so the tests of every adapter
//! (whatever its runtime) can use it.
//!
//! Each accepted connection answers the upgrade request as its [`Handshake`] says, then runs the
//! [`Step`]s of its [`Script`] in order. Every frame the server receives is recorded and can be
//! awaited from the test with [`TestServer::expect_frame`] and friends; every upgrade request is
//! recorded too ([`TestServer::requests`]), and connections are counted.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use wsx_proto::{accept_key, apply_mask, encode_frame, FrameHeader, OpCode};

use crate::tls::{TestPki, Transport};

/// How often blocked server threads look at the stop flag.
const POLL: Duration = Duration::from_millis(50);
/// How long a finished connection waits for the client to close before dropping the socket.
const LINGER: Duration = Duration::from_secs(3);

/// A frame the server received from the client, already unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFrame {
    /// Which connection it came on (0 for the first accepted one).
    pub conn: usize,
    /// The FIN bit.
    pub fin: bool,
    /// The RSV bits.
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// Whether the client masked it (it always must).
    pub masked: bool,
    /// The unmasked payload.
    pub payload: Bytes,
}

impl ServerFrame {
    /// The payload as text, if this is a text frame with valid UTF-8.
    pub fn text(&self) -> Option<&str> {
        match self.opcode {
            OpCode::Text => std::str::from_utf8(&self.payload).ok(),
            _ => None,
        }
    }

    /// The status code of a close frame (`None` for other frames or a close without a code).
    pub fn close_code(&self) -> Option<u16> {
        match (self.opcode, &self.payload[..]) {
            (OpCode::Close, [a, b, ..]) => Some(u16::from_be_bytes([*a, *b])),
            _ => None,
        }
    }

    /// The reason text of a close frame (empty if there is none).
    pub fn close_reason(&self) -> String {
        match self.opcode {
            OpCode::Close if self.payload.len() > 2 => String::from_utf8_lossy(&self.payload[2..]).into_owned(),
            _ => String::new(),
        }
    }
}

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
    fn wait(&self, stop: &AtomicBool) -> bool {
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
    /// Like [`Handshake::Accept`], once the gate is opened.
    AcceptWhen(Gate),
    /// Like [`Handshake::Accept`], with these bytes (e.g. [`encode`]d frames) in the same write
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

/// An upgrade request the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// E.g. `GET /chat?x=1 HTTP/1.1`.
    pub request_line: String,
    /// The headers in order, as sent.
    pub headers: Vec<(String, String)>,
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The request target, e.g. `/chat?x=1`.
    pub fn target(&self) -> &str {
        self.request_line.split(' ').nth(1).unwrap_or("")
    }
}

type ScriptFn = Box<dyn Fn(usize) -> Script + Send + Sync>;

struct Shared {
    stop: AtomicBool,
    connections: AtomicUsize,
    requests: Mutex<Vec<RecordedRequest>>,
    errors: Mutex<Vec<String>>,
    frames: Sender<ServerFrame>,
    script: ScriptFn,
    tls: Option<Arc<rustls::ServerConfig>>,
}

/// The server: listens on `127.0.0.1` on a free port until dropped.
pub struct TestServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    frames: Mutex<Receiver<ServerFrame>>,
    accept_thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for TestServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestServer")
            .field("addr", &self.addr)
            .field("connections", &self.connections())
            .finish_non_exhaustive()
    }
}

impl TestServer {
    /// Every connection runs `script`.
    pub fn start(script: Script) -> Self {
        Self::start_with(move |_| script.clone())
    }

    /// Connection `n` (counting from 0) runs `script(n)`: for reconnect tests.
    pub fn start_with(script: impl Fn(usize) -> Script + Send + Sync + 'static) -> Self {
        Self::start_inner(Box::new(script), None)
    }

    /// Every connection is TLS with `pki`'s `localhost` certificate, then runs `script`;
    /// [`url`](Self::url) is `wss://localhost:PORT/`.
    pub fn start_tls(script: Script, pki: &TestPki) -> Self {
        Self::start_inner(Box::new(move |_| script.clone()), Some(pki.server_config.clone()))
    }

    fn start_inner(script: ScriptFn, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the test server");
        let addr = listener.local_addr().expect("test server address");
        let (tx, rx) = mpsc::channel();
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            connections: AtomicUsize::new(0),
            requests: Mutex::new(Vec::new()),
            errors: Mutex::new(Vec::new()),
            frames: tx,
            script,
            tls,
        });
        let accept_shared = shared.clone();
        let accept_thread = thread::Builder::new()
            .name(format!("wsx-test-server-{}", addr.port()))
            .spawn(move || accept_loop(listener, accept_shared))
            .expect("spawn the test server");
        Self {
            addr,
            shared,
            frames: Mutex::new(rx),
            accept_thread: Some(accept_thread),
        }
    }

    /// An echo server.
    pub fn echo() -> Self {
        Self::start(Script::echo())
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://127.0.0.1:PORT/`, or `wss://localhost:PORT/` for a TLS server.
    pub fn url(&self) -> String {
        match self.shared.tls {
            None => format!("ws://{}/", self.addr),
            Some(_) => format!("wss://localhost:{}/", self.addr.port()),
        }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Upgrade requests received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Things the client did wrong (e.g. an unmasked frame) or scripts that failed.
    pub fn errors(&self) -> Vec<String> {
        self.shared.errors.lock().unwrap().clone()
    }

    /// The next frame received from the client (any connection), if one arrives in time.
    pub fn next_frame(&self, timeout: Duration) -> Option<ServerFrame> {
        self.frames.lock().unwrap().recv_timeout(timeout).ok()
    }

    /// The next frame received from the client; panics if none arrives in time.
    pub fn expect_frame(&self, timeout: Duration) -> ServerFrame {
        self.next_frame(timeout)
            .unwrap_or_else(|| panic!("the server received no frame within {timeout:?}"))
    }

    /// The next close frame received from the client, skipping other frames; panics if none
    /// arrives in time.
    pub fn expect_close(&self, timeout: Duration) -> ServerFrame {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_frame(left) {
                Some(frame) if frame.opcode == OpCode::Close => return frame,
                Some(_) => {}
                None => panic!("the server received no close frame within {timeout:?}"),
            }
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.accept_thread.take() {
            let _ = t.join();
        }
    }
}

/// One unmasked server frame, encoded (for [`Step::SendRaw`] bursts and
/// [`Handshake::AcceptWithTrailing`]).
pub fn encode(fin: bool, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_frame(&mut out, fin, opcode, payload, None);
    out.to_vec()
}

/// A `ws://` URL on which nothing listens: connecting is refused.
pub fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a port to release");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    format!("ws://{addr}/")
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let index = shared.connections.fetch_add(1, Ordering::SeqCst);
        let shared = shared.clone();
        let spawned = thread::Builder::new()
            .name(format!("wsx-test-conn-{index}"))
            .spawn(move || {
                let script = (shared.script)(index);
                let result = Transport::new(stream, shared.tls.as_ref())
                    .and_then(|transport| ServerConn::new(transport, index, shared.clone()).run(script));
                if let Err(e) = result {
                    if !shared.stop.load(Ordering::SeqCst) {
                        shared.errors.lock().unwrap().push(format!("connection {index}: {e}"));
                    }
                }
            });
        if spawned.is_err() {
            break;
        }
    }
}

/// The server side of one connection, for [`Step::Custom`] closures.
pub struct ServerConn {
    stream: Transport,
    index: usize,
    buf: BytesMut,
    shared: Arc<Shared>,
    close_sent: bool,
}

impl fmt::Debug for ServerConn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConn")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl ServerConn {
    fn new(stream: Transport, index: usize, shared: Arc<Shared>) -> Self {
        let _ = stream.tcp().set_nodelay(true);
        let _ = stream.tcp().set_read_timeout(Some(POLL));
        Self {
            stream,
            index,
            buf: BytesMut::with_capacity(16 * 1024),
            shared,
            close_sent: false,
        }
    }

    /// Which connection this is (0 for the first).
    pub fn index(&self) -> usize {
        self.index
    }

    /// Sends one unmasked frame.
    pub fn send_frame(&mut self, fin: bool, opcode: OpCode, payload: &[u8]) -> io::Result<()> {
        let mut out = BytesMut::new();
        encode_frame(&mut out, fin, opcode, payload, None);
        if opcode == OpCode::Close {
            self.close_sent = true;
        }
        self.stream.write_all(&out)
    }

    /// Sends one masked frame (a protocol violation from a server).
    pub fn send_masked(&mut self, opcode: OpCode, payload: &[u8]) -> io::Result<()> {
        let mut out = BytesMut::new();
        encode_frame(&mut out, true, opcode, payload, Some([0x12, 0x34, 0x56, 0x78]));
        self.stream.write_all(&out)
    }

    /// Writes raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Sends a close frame: with a code and reason, or with an empty payload.
    pub fn send_close(&mut self, close: Option<(u16, &str)>) -> io::Result<()> {
        let mut payload = Vec::new();
        if let Some((code, reason)) = close {
            payload.extend_from_slice(&code.to_be_bytes());
            payload.extend_from_slice(reason.as_bytes());
        }
        self.send_frame(true, OpCode::Close, &payload)
    }

    /// Whether this side has sent a close frame.
    pub fn close_sent(&self) -> bool {
        self.close_sent
    }

    /// Receives the next frame from the client and records it; `None` when the client closed
    /// the TCP connection (or the server is stopping). A frame the client should not have sent
    /// (unmasked, bad header) is recorded in [`TestServer::errors`].
    pub fn recv_frame(&mut self) -> io::Result<Option<ServerFrame>> {
        loop {
            match FrameHeader::parse(&self.buf) {
                Ok(Some((header, len))) => {
                    let total = len + header.payload_len as usize;
                    if self.buf.len() >= total {
                        let mut frame = self.buf.split_to(total);
                        let mut payload = frame.split_off(len);
                        if let Some(key) = header.mask {
                            apply_mask(&mut payload, key);
                        } else {
                            self.error("client sent an unmasked frame");
                        }
                        let frame = ServerFrame {
                            conn: self.index,
                            fin: header.fin,
                            rsv: header.rsv,
                            opcode: header.opcode,
                            masked: header.mask.is_some(),
                            payload: payload.freeze(),
                        };
                        let _ = self.shared.frames.send(frame.clone());
                        return Ok(Some(frame));
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    self.error(&format!("client sent a bad frame header: {e}"));
                    return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string()));
                }
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// Keeps the connection open, reading and discarding, until the client closes it, `max`
    /// passes or the server stops.
    pub fn hold(&mut self, max: Duration) {
        self.drain(max);
    }

    /// Closes the TCP connection at once, both directions.
    pub fn close_tcp(&mut self) {
        let _ = self.stream.tcp().shutdown(Shutdown::Both);
    }

    fn error(&self, what: &str) {
        self.shared
            .errors
            .lock()
            .unwrap()
            .push(format!("connection {}: {what}", self.index));
    }

    fn stopping(&self) -> bool {
        self.shared.stop.load(Ordering::SeqCst)
    }

    /// Reads more into the buffer; false at EOF, on a reset, or when stopping.
    fn fill(&mut self) -> io::Result<bool> {
        let mut chunk = [0u8; 64 * 1024];
        loop {
            if self.stopping() {
                return Ok(false);
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(true);
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe
                    ) =>
                {
                    return Ok(false)
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads and discards until the client closes, `max` passes, or the server stops.
    fn drain(&mut self, max: Duration) {
        let deadline = Instant::now() + max;
        while Instant::now() < deadline {
            self.buf.clear();
            match self.fill() {
                Ok(true) => {}
                Ok(false) | Err(_) => return,
            }
        }
    }

    /// Stops writing, then waits for the client to close (so it sees a clean EOF, not a reset).
    fn finish(&mut self) {
        self.stream.shutdown(Shutdown::Write);
        self.drain(LINGER);
    }

    fn run(&mut self, script: Script) -> io::Result<()> {
        let Some(request) = self.read_request()? else {
            return Ok(());
        };
        let key = request.header("Sec-WebSocket-Key").unwrap_or("").to_owned();
        self.shared.requests.lock().unwrap().push(request);
        let accept = |protocol: Option<&str>| {
            let mut head = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\nX-Test-Server: wsx-testing\r\n",
                accept_key(&key)
            );
            if let Some(p) = protocol {
                head.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
            }
            head.push_str("\r\n");
            head
        };
        let response = match &script.handshake {
            Handshake::Accept => accept(None),
            Handshake::AcceptProtocol(p) => accept(Some(p)),
            Handshake::AcceptWhen(gate) => {
                if !gate.wait(&self.shared.stop) {
                    return Ok(());
                }
                accept(None)
            }
            Handshake::AcceptWithTrailing(bytes) => {
                let mut response = accept(None).into_bytes();
                response.extend_from_slice(bytes);
                self.stream.write_all(&response)?;
                return self.run_steps(&script.steps);
            }
            Handshake::Hangup => {
                self.close_tcp();
                return Ok(());
            }
            Handshake::Reject { status, body } => {
                let reason = match status {
                    400 => "Bad Request",
                    403 => "Forbidden",
                    404 => "Not Found",
                    500 => "Internal Server Error",
                    503 => "Service Unavailable",
                    _ => "Error",
                };
                let response = format!(
                    "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                self.stream.write_all(response.as_bytes())?;
                self.finish();
                return Ok(());
            }
            Handshake::WrongAccept => format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
                accept_key("dGhlIHNhbXBsZSBub25jZQ==")
            ),
            Handshake::SlowHeaders => {
                self.stream
                    .write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n")?;
                self.drain(Duration::from_secs(60));
                return Ok(());
            }
        };
        self.stream.write_all(response.as_bytes())?;
        if matches!(script.handshake, Handshake::WrongAccept) {
            self.drain(LINGER);
            return Ok(());
        }
        self.run_steps(&script.steps)
    }

    fn run_steps(&mut self, steps: &[Step]) -> io::Result<()> {
        for step in steps {
            if self.stopping() || !self.run_step(step)? {
                return Ok(());
            }
        }
        self.finish();
        Ok(())
    }

    /// Reads the upgrade request; `None` if the client went away first.
    fn read_request(&mut self) -> io::Result<Option<RecordedRequest>> {
        let end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if self.buf.len() > 64 * 1024 {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "request too large"));
            }
            if !self.fill()? {
                return Ok(None);
            }
        };
        let head = self.buf.split_to(end);
        let text = String::from_utf8_lossy(&head);
        let mut lines = text.split("\r\n");
        let request_line = lines.next().unwrap_or("").to_owned();
        let headers = lines
            .filter(|l| !l.is_empty())
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        Ok(Some(RecordedRequest { request_line, headers }))
    }

    /// Runs one step; false when the connection is over.
    fn run_step(&mut self, step: &Step) -> io::Result<bool> {
        match step {
            Step::Send { fin, opcode, payload } => self.send_frame(*fin, *opcode, payload)?,
            Step::SendMasked { opcode, payload } => self.send_masked(*opcode, payload)?,
            Step::SendRaw(bytes) => self.send_raw(bytes)?,
            Step::Close(close) => self.send_close(close.as_ref().map(|(c, r)| (*c, r.as_str())))?,
            Step::Echo => {
                self.serve(true)?;
                return Ok(false);
            }
            Step::Listen => {
                self.serve(false)?;
                return Ok(false);
            }
            Step::IgnoreClose => {
                while self.recv_frame()?.is_some() {}
                return Ok(false);
            }
            Step::DropMidFrame => {
                let mut out = BytesMut::new();
                FrameHeader {
                    fin: true,
                    rsv: 0,
                    opcode: OpCode::Binary,
                    mask: None,
                    payload_len: 100,
                }
                .encode(&mut out);
                out.extend_from_slice(&[7u8; 10]);
                self.send_raw(&out)?;
                self.close_tcp();
                return Ok(false);
            }
            Step::CloseTcp => {
                self.close_tcp();
                return Ok(false);
            }
            Step::Sleep(d) => thread::sleep(*d),
            Step::WaitFor(gate) => {
                if !gate.wait(&self.shared.stop) {
                    return Ok(false);
                }
            }
            Step::Custom(f) => f(self)?,
        }
        Ok(true)
    }

    /// The echo and listen loops; returns when the connection is over.
    fn serve(&mut self, echo: bool) -> io::Result<()> {
        while let Some(frame) = self.recv_frame()? {
            match frame.opcode {
                OpCode::Text | OpCode::Binary | OpCode::Continuation if echo => {
                    self.send_frame(frame.fin, frame.opcode, &frame.payload)?
                }
                OpCode::Ping => self.send_frame(true, OpCode::Pong, &frame.payload)?,
                OpCode::Close => {
                    if !self.close_sent {
                        // Echo the status code, as RFC 6455 section 5.5.1 suggests.
                        let code = frame.payload.get(..2).unwrap_or(&[]).to_vec();
                        self.send_frame(true, OpCode::Close, &code)?;
                    }
                    self.finish();
                    return Ok(());
                }
                _ => {}
            }
        }
        Ok(())
    }
}
