//! Opening the socket (TCP with a timeout, then TLS, both blocking), then non-blocking reads
//! and writes for the connection thread's poll loop.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use std::task::{Context, Poll, Waker};

use rustls::Connection as TlsConnection;
use wsx_driver::async_io::{AsyncIo, TaskThread};
use wsx_driver::{Connected, Http2Stream, Opened, PollTransport};
use wsx_proto::session::{OpenStep, Opening};
use wsx_proto::{ConnectSettings, Error};

/// The connection thread's transport: its own socket, or a stream of an HTTP/2 connection.
pub(crate) enum Transport {
    Socket(Socket),
    /// Boxed: a plain connection then holds no room for it.
    Http2(Box<Http2Stream>),
}

/// Opens the transport: a socket of its own with std's blocking calls ([`connect`]), or, when
/// the settings try HTTP/2, with async-io's (`h2` needs non-blocking I/O with wake-ups): the
/// HTTP/2 connection's task then runs on a thread of its own, shared by the clients of its
/// origin, and this thread waits for its stream's wake-ups.
pub(crate) fn open(settings: &ConnectSettings) -> Result<Connected<Transport>, Error> {
    if !settings.tries_http2() {
        return Ok((Transport::Socket(connect(settings)?), None));
    }
    match async_io::block_on(wsx_driver::connect::<AsyncIo<TaskThread>>(settings))? {
        wsx_driver::Transport::Http2(stream, response) => Ok((Transport::Http2(Box::new(stream)), Some(response))),
        // The server chose HTTP/1.1: the socket becomes this thread's.
        wsx_driver::Transport::Socket(Opened::Plain(tcp)) => {
            let socket = Socket {
                tcp: tcp.into_inner()?,
                tls: None,
            };
            Ok((Transport::Socket(socket.polled()?), None))
        }
        wsx_driver::Transport::Socket(Opened::Tls(tls)) => {
            let (tcp, tls) = tls.into_inner();
            let socket = Socket {
                tcp: tcp.into_inner()?,
                tls: Some(Box::new(tls.into())),
            };
            Ok((Transport::Socket(socket.polled()?), None))
        }
    }
}

/// Maps a poll of an HTTP/2 stream to a non-blocking call's answer.
fn nonblocking<T>(poll: Poll<io::Result<T>>) -> io::Result<T> {
    match poll {
        Poll::Ready(result) => result,
        Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
    }
}

impl Transport {
    /// See [`Socket::read_into`]; an HTTP/2 stream wakes `waker` when it has more.
    pub(crate) fn read_into(&mut self, out: &mut bytes::BytesMut, room: usize, waker: &Waker) -> io::Result<usize> {
        match self {
            Self::Socket(socket) => socket.read_into(out, room),
            Self::Http2(stream) => nonblocking(stream.poll_read_into(&mut Context::from_waker(waker), out, room)),
        }
    }

    /// See [`Socket::write`]; an HTTP/2 stream wakes `waker` when it takes more.
    pub(crate) fn write(&mut self, data: &[u8], waker: &Waker) -> io::Result<usize> {
        match self {
            Self::Socket(socket) => socket.write(data),
            Self::Http2(stream) => nonblocking(stream.poll_write(&mut Context::from_waker(waker), data)),
        }
    }

    /// See [`Socket::flush`]; an HTTP/2 connection's task writes its streams' frames.
    pub(crate) fn flush(&mut self) -> io::Result<bool> {
        match self {
            Self::Socket(socket) => socket.flush(),
            Self::Http2(_) => Ok(true),
        }
    }

    /// See [`Socket::shutdown`]; an HTTP/2 stream ends (END_STREAM).
    pub(crate) fn shutdown(&mut self, waker: &Waker) {
        match self {
            Self::Socket(socket) => socket.shutdown(),
            Self::Http2(stream) => {
                let _ = stream.poll_shutdown(&mut Context::from_waker(waker));
            }
        }
    }

    /// The socket to wait on, if the transport is one of its own.
    pub(crate) fn socket(&self) -> Option<&Socket> {
        match self {
            Self::Socket(socket) => Some(socket),
            Self::Http2(_) => None,
        }
    }
}

/// A connected socket: plain, or with a rustls session (a client's or a server's) that the
/// connection thread drives.
pub(crate) struct Socket {
    tcp: TcpStream,
    tls: Option<Box<TlsConnection>>,
}

/// Opens the transport within the connect timeout: the plan is wsx-proto's ([`Opening`]),
/// the calls std's, blocking, each bounded by the deadline. A lookup, and connect attempts
/// racing others, run on threads of their own (std's calls block); a lone attempt runs here.
fn connect(settings: &ConnectSettings) -> Result<Socket, Error> {
    let mut opening = Opening::new(settings, Instant::now())?;
    let deadline = opening.deadline();
    let timed_out = |e: io::Error| match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::ConnectTimeout,
        _ => e.into(),
    };
    // Made for the first attempt that needs a thread of its own: a lone attempt needs none.
    let mut race: Option<Race> = None;
    let mut tcp: Option<TcpStream> = None;
    let mut buf = [0u8; 512];
    loop {
        // Never zero: a zero socket timeout is refused (the next step times out instead).
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        let mut outcome = None;
        match opening.next(Instant::now())? {
            OpenStep::Resolve { host, port } => {
                let addrs = on_thread("wsx-resolve", left, {
                    let name = host.to_owned();
                    move || (name.as_str(), port).to_socket_addrs().map(Iterator::collect)
                })?;
                opening.resolved(addrs)?;
            }
            OpenStep::Attempt(addr) => {
                if opening.attempt_is_alone() {
                    outcome = Some(TcpStream::connect_timeout(&addr, left));
                } else {
                    let attempts = race.get_or_insert_with(mpsc::channel).0.clone();
                    std::thread::Builder::new().name("wsx-connect".into()).spawn(move || {
                        let _ = attempts.send(TcpStream::connect_timeout(&addr, left));
                    })?;
                }
            }
            OpenStep::Wait(until) => {
                let (_, outcomes) = race.as_ref().expect("a wait follows an attempt on a thread");
                outcome = outcomes
                    .recv_timeout(until.unwrap_or(deadline).saturating_duration_since(Instant::now()))
                    .ok();
            }
            OpenStep::Write(bytes) => {
                let mut tcp = tcp.as_ref().expect("a tunnel runs on a connected socket");
                tcp.set_write_timeout(Some(left))?;
                tcp.write_all(bytes).map_err(timed_out)?;
                opening.written();
            }
            OpenStep::Read(n) => {
                let mut tcp = tcp.as_ref().expect("a tunnel runs on a connected socket");
                tcp.set_read_timeout(Some(left))?;
                let n = tcp.read(&mut buf[..n.min(512)]).map_err(timed_out)?;
                opening.received(&buf[..n])?;
            }
            OpenStep::Tls { config, name } => {
                let tls = rustls::ClientConnection::new(config, name)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
                let tcp = tcp.take().expect("TLS runs on a connected socket");
                let mut socket = Socket {
                    tcp,
                    tls: Some(Box::new(tls.into())),
                };
                socket.complete_tls_handshake(deadline)?;
                return socket.polled();
            }
            OpenStep::Open => {
                let tcp = tcp.take().expect("a connected socket");
                return Socket { tcp, tls: None }.polled();
            }
        }
        match outcome {
            Some(Ok(connected)) => {
                connected.set_nodelay(opening.tcp_nodelay())?;
                opening.connected();
                tcp = Some(connected);
            }
            Some(Err(e)) => opening.attempt_failed(e),
            None => {}
        }
    }
}

/// The connect attempts racing on threads: where they send their outcome, and where it is read.
type Race = (
    mpsc::Sender<io::Result<TcpStream>>,
    mpsc::Receiver<io::Result<TcpStream>>,
);

/// Runs a blocking call on a thread of its own, for at most `timeout` (past it, the thread is
/// left to finish alone and the call times out).
fn on_thread<T: Send + 'static>(
    name: &str,
    timeout: Duration,
    call: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> Result<io::Result<T>, Error> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new().name(name.into()).spawn(move || {
        let _ = tx.send(call());
    })?;
    rx.recv_timeout(timeout).map_err(|_| Error::ConnectTimeout)
}

impl Socket {
    /// A socket a server accepted: TLS with `config` if given, its handshake run here within
    /// `deadline`; then non-blocking, like a client's.
    pub(crate) fn accepted(
        tcp: TcpStream,
        tls: Option<std::sync::Arc<rustls::ServerConfig>>,
        deadline: Instant,
    ) -> Result<Self, Error> {
        tcp.set_nodelay(true)?;
        let tls = match tls {
            Some(config) => {
                let tls = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
                Some(Box::new(TlsConnection::from(tls)))
            }
            None => None,
        };
        let mut socket = Self { tcp, tls };
        socket.complete_tls_handshake(deadline)?;
        socket.polled()
    }

    /// From here on the connection thread polls: reads and writes never block.
    fn polled(self) -> Result<Self, Error> {
        self.tcp.set_read_timeout(None)?;
        self.tcp.set_write_timeout(None)?;
        self.tcp.set_nonblocking(true)?;
        Ok(self)
    }

    /// Runs the TLS handshake on the calling thread, bounded by the connect deadline.
    fn complete_tls_handshake(&mut self, deadline: Instant) -> Result<(), Error> {
        let Some(tls) = self.tls.as_mut() else { return Ok(()) };
        while tls.is_handshaking() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::ConnectTimeout);
            }
            self.tcp.set_read_timeout(Some(left))?;
            match tls.complete_io(&mut self.tcp) {
                Ok(_) => {}
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    return Err(Error::ConnectTimeout)
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.tcp.set_read_timeout(None)?;
        Ok(())
    }

    /// The TCP socket, to register with the poller.
    pub(crate) fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    /// Reads what is there into `out` (decrypting for TLS), at most `room` bytes from a plain
    /// socket: `Ok(0)` is end-of-file, `WouldBlock` nothing to read now.
    pub(crate) fn read_into(&mut self, out: &mut bytes::BytesMut, room: usize) -> io::Result<usize> {
        let Some(tls) = self.tls.as_mut() else {
            return wsx_driver::read_into_spare(out, room, |spare| Ok(rustix::io::read(&self.tcp, spare)?.0));
        };
        // Only the socket's own `WouldBlock` may end a read without data: records without
        // application data (tickets, key updates) are followed by another socket read.
        // Plaintext already decrypted comes first: a server's TLS handshake may have read the
        // client's first bytes along with its last flight.
        loop {
            let state = tls
                .process_new_packets()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            let start = out.len();
            let n = state.plaintext_bytes_to_read();
            let peer_has_closed = state.peer_has_closed();
            out.resize(start + n, 0);
            let read = tls.reader().read(&mut out[start..]).unwrap_or(0);
            out.truncate(start + read);
            // Key updates and alerts produce TLS bytes to send back.
            write_tls(tls, &mut self.tcp)?;
            if read > 0 {
                return Ok(read);
            }
            if peer_has_closed || tls.read_tls(&mut self.tcp)? == 0 {
                return Ok(0);
            }
        }
    }

    /// Writes a prefix of `data` (encrypting for TLS) without blocking; TLS records the socket
    /// did not take stay in the TLS session for the next call.
    pub(crate) fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self.tls.as_mut() {
            None => self.tcp.write(data),
            Some(tls) => {
                let n = tls.writer().write(data)?;
                self.flush_tls()?;
                Ok(n)
            }
        }
    }

    /// Writes the TLS records waiting: whether none is left (the socket took them all).
    pub(crate) fn flush(&mut self) -> io::Result<bool> {
        self.flush_tls()?;
        Ok(!self.tls.as_ref().is_some_and(|tls| tls.wants_write()))
    }

    /// Writes the TLS records waiting (see [`write_tls`]).
    fn flush_tls(&mut self) -> io::Result<()> {
        match self.tls.as_mut() {
            Some(tls) => write_tls(tls, &mut self.tcp),
            None => Ok(()),
        }
    }

    /// Closes the socket (TLS close_notify first).
    pub(crate) fn shutdown(&mut self) {
        if let Some(tls) = self.tls.as_mut() {
            tls.send_close_notify();
            let _ = self.flush_tls();
        }
        let _ = self.tcp.shutdown(Shutdown::Both);
    }
}

/// Writes the TLS records waiting; what the socket does not take now stays queued in the TLS
/// session.
fn write_tls(tls: &mut TlsConnection, tcp: &mut TcpStream) -> io::Result<()> {
    while tls.wants_write() {
        match tls.write_tls(tcp) {
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => break,
            result => result?,
        };
    }
    Ok(())
}
