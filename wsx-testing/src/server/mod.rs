//! A scripted WebSocket test server on `std::net` and threads, so the tests of every adapter
//! (whatever its runtime) can use it.
//!
//! Each accepted connection answers the upgrade request as its [`Handshake`] says, then runs the
//! [`Step`]s of its [`Script`] in order. Every frame the server receives is recorded and can be
//! awaited from the test with [`TestServer::expect_frame`] and friends; every upgrade request is
//! recorded too ([`TestServer::requests`]), and connections are counted, and so is the moment
//! the client ended each TCP connection ([`TestServer::expect_tcp_end`]), so a scenario can check
//! that the client closed the socket itself and when.

mod black_hole;
mod conn;
mod script;

pub use self::black_hole::BlackHole;
pub use self::conn::ServerConn;
pub use self::script::{CustomStep, Gate, Handshake, Script, Step};

use std::fmt;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use wsx_proto::{protocol::encode_frame, protocol::FrameHeader, protocol::OpCode};

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
    /// When the server had read the whole frame.
    pub at: Instant,
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

/// How the client ended a TCP connection, as the server saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpEnd {
    /// Which connection (0 for the first accepted one).
    pub conn: usize,
    /// When the server saw it.
    pub at: Instant,
    /// A reset (RST, e.g. the client closed with data unread) rather than a clean EOF (FIN).
    pub reset: bool,
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
    /// TCP connections the client ended, in the order seen.
    ends: Mutex<Vec<TcpEnd>>,
    ends_changed: Condvar,
    connections: AtomicUsize,
    requests: Mutex<Vec<RecordedRequest>>,
    errors: Mutex<Vec<String>>,
    frames: Sender<ServerFrame>,
    /// Whether frames, requests, TCP ends and errors are kept (for the tests to look at).
    record: bool,
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
        Self::start_inner(Box::new(script), None, None, LOOPBACK, true)
    }

    /// Every connection runs `script` on a socket whose kernel receive buffer is `bytes` (set
    /// before `listen`, so the window it advertises is small from the start). For servers
    /// that stop reading: with the default buffer Linux may reopen a zero window once, some
    /// hundred milliseconds later, as it compacts what it holds, and a stalled client moves
    /// again.
    pub fn start_with_receive_buffer(script: Script, bytes: usize) -> Self {
        Self::start_inner(Box::new(move |_| script.clone()), None, Some(bytes), LOOPBACK, true)
    }

    /// Every connection is TLS with `pki`'s `localhost` certificate, then runs `script`;
    /// [`url`](Self::url) is `wss://localhost:PORT/`.
    pub fn start_tls(script: Script, pki: &TestPki) -> Self {
        Self::start_inner(
            Box::new(move |_| script.clone()),
            Some(pki.server_config.clone()),
            None,
            LOOPBACK,
            true,
        )
    }

    /// Listens on `addr` (a port of 0 picks a free one), e.g. another loopback address such as
    /// 127.0.0.2, for clients given several addresses.
    pub fn start_on(addr: SocketAddr, script: Script) -> Self {
        Self::start_inner(Box::new(move |_| script.clone()), None, None, addr, true)
    }

    /// An echo server on `addr` that records nothing, for long runs (`wsx echo-server`): a
    /// recording server keeps every payload it received until it is dropped. TLS with `pki`'s
    /// `localhost` certificate when given.
    pub fn echo_on(addr: SocketAddr, pki: Option<&TestPki>) -> Self {
        let tls = pki.map(|pki| pki.server_config.clone());
        Self::start_inner(Box::new(|_| Script::echo()), tls, None, addr, false)
    }

    fn start_inner(
        script: ScriptFn,
        tls: Option<Arc<rustls::ServerConfig>>,
        receive_buffer: Option<usize>,
        bind: SocketAddr,
        record: bool,
    ) -> Self {
        let listener = listen(bind, receive_buffer).expect("bind the test server");
        let addr = listener.local_addr().expect("test server address");
        let (tx, rx) = mpsc::channel();
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            ends: Mutex::new(Vec::new()),
            ends_changed: Condvar::new(),
            connections: AtomicUsize::new(0),
            requests: Mutex::new(Vec::new()),
            errors: Mutex::new(Vec::new()),
            frames: tx,
            record,
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

    /// When the client ended TCP connection `conn` (EOF or reset, as the server read it), if it
    /// does within `timeout`. An end the server caused itself ([`Step::CloseTcp`],
    /// [`Step::Reset`]) is not the client's and never shows up here.
    pub fn tcp_end(&self, conn: usize, timeout: Duration) -> Option<TcpEnd> {
        let deadline = Instant::now() + timeout;
        let mut ends = self.shared.ends.lock().unwrap();
        loop {
            if let Some(end) = ends.iter().find(|e| e.conn == conn) {
                return Some(*end);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            ends = self.shared.ends_changed.wait_timeout(ends, left).unwrap().0;
        }
    }

    /// Like [`tcp_end`](Self::tcp_end); panics if the client keeps connection `conn` open
    /// longer than `timeout`.
    pub fn expect_tcp_end(&self, conn: usize, timeout: Duration) -> TcpEnd {
        self.tcp_end(conn, timeout)
            .unwrap_or_else(|| panic!("the client did not close TCP connection {conn} within {timeout:?}"))
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

/// The header of an unmasked frame announcing `declared_len` payload bytes, followed by `sent`
/// of them (for torn frames, or a header alone with `sent` 0).
pub fn partial_frame(opcode: OpCode, declared_len: u64, sent: usize) -> Vec<u8> {
    let mut out = BytesMut::new();
    FrameHeader {
        fin: true,
        rsv: 0,
        opcode,
        mask: None,
        payload_len: declared_len,
    }
    .encode(&mut out);
    out.resize(out.len() + sent, 7);
    out.to_vec()
}

/// A `ws://` URL on which nothing listens: connecting is refused, for as long as the process
/// runs (see [`refused_port`](crate::ports::refused_port)).
pub fn refused_url() -> String {
    format!("ws://127.0.0.1:{}/", crate::ports::refused_port())
}

/// A deflate stream (raw, the trailing empty block removed, as RFC 7692 sends it) of `mib`
/// MiB of zeros, about 1 KiB per MiB: the second and later MiB compress to the same bytes,
/// so the stream is built from two compressed pieces instead of compressing it all.
pub fn deflate_bomb(mib: usize) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let zeros = vec![0u8; 1 << 20];
    let mut compress = Compress::new(Compression::best(), false);
    let mut piece = || {
        let mut out = Vec::with_capacity(64 << 10);
        compress
            .compress_vec(&zeros, &mut out, FlushCompress::Sync)
            .expect("compress");
        out
    };
    let (first, steady) = (piece(), piece());
    assert_eq!(
        piece(),
        steady,
        "zeros compress to the same bytes once the window is full"
    );
    let mut bomb = first;
    for _ in 1..mib {
        bomb.extend_from_slice(&steady);
    }
    bomb.truncate(bomb.len() - 4);
    bomb
}

/// One unmasked, compressed (RSV1) data frame with FIN set.
pub fn compressed_frame(opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    FrameHeader {
        fin: true,
        rsv: 0b100,
        opcode,
        mask: None,
        payload_len: payload.len() as u64,
    }
    .encode(&mut out);
    out.extend_from_slice(payload);
    out.to_vec()
}

/// Where test servers listen unless told otherwise: a free port on 127.0.0.1.
const LOOPBACK: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

/// A listener on `addr`, with the receive buffer its connections inherit.
fn listen(addr: SocketAddr, receive_buffer: Option<usize>) -> std::io::Result<TcpListener> {
    let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, None)?;
    if let Some(bytes) = receive_buffer {
        socket.set_recv_buffer_size(bytes)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
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
                    if shared.record && !shared.stop.load(Ordering::SeqCst) {
                        shared.errors.lock().unwrap().push(format!("connection {index}: {e}"));
                    }
                }
            });
        if spawned.is_err() {
            break;
        }
    }
}
