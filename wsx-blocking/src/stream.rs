//! Opening the socket (TCP with a timeout, then TLS, both blocking), then non-blocking reads
//! and writes for the connection thread's poll loop.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::Instant;

use rustls::ClientConnection as TlsConnection;
use wsx_proto::session::dial::{self, Destination, DialPlan, DialStep};
use wsx_proto::{proxy::Proxy, proxy::ProxyHandshake, proxy::ProxyStep, ConnectSettings, Error, WsUrl};

/// Free space made in the read buffer before each plain read.
const READ_CHUNK: usize = 64 * 1024;

/// A connected socket: plain, or with a rustls session that the connection thread drives.
pub(crate) struct Socket {
    tcp: TcpStream,
    tls: Option<Box<TlsConnection>>,
}

/// Connects within the connect timeout (the addresses raced, happy-eyeballs style).
pub(crate) fn connect(settings: &ConnectSettings) -> Result<Socket, Error> {
    let url = settings.url();
    let deadline = Instant::now() + settings.connect_timeout;
    let (host, port, proxy) = settings.first_hop()?;
    let addrs = match settings.destination(&host, port) {
        Destination::Addresses(addrs) => addrs,
        Destination::Lookup(host, port) => resolve(&host, port, deadline)?,
    };
    let tcp = race(addrs, deadline)?;
    tcp.set_nodelay(settings.tcp_nodelay)?;
    if let Some(proxy) = &proxy {
        tunnel(&tcp, proxy, url, deadline)?;
    }
    let tls = if url.is_secure() {
        let config = wsx_proto::tls::client_config(&settings.tls)?;
        let name = wsx_proto::tls::server_name(url.host())?;
        let session = TlsConnection::new(config, name).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        Some(Box::new(session))
    } else {
        None
    };
    let mut socket = Socket { tcp, tls };
    if socket.tls.is_some() {
        socket.complete_tls_handshake(deadline)?;
    }
    // From here on the connection thread polls: reads and writes never block.
    socket.tcp.set_nonblocking(true)?;
    Ok(socket)
}

/// The addresses of `host`, resolved by the deadline: the standard library only resolves with
/// a blocking call, so the lookup runs on a thread of its own (left to finish alone if it
/// outlives the deadline).
fn resolve(host: &str, port: u16, deadline: Instant) -> Result<Vec<SocketAddr>, Error> {
    let (tx, rx) = mpsc::channel();
    let name = host.to_owned();
    std::thread::Builder::new().name("wsx-resolve".into()).spawn(move || {
        let _ = tx.send((name.as_str(), port).to_socket_addrs().map(Iterator::collect));
    })?;
    match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(addrs) => Ok(addrs?),
        Err(_) => Err(Error::ConnectTimeout),
    }
}

/// The happy-eyeballs race ([`DialPlan`]) on threads, since std's connect blocks: one thread
/// per attempt after the first address, each bounded by the deadline; the first socket to
/// connect wins, and a later one is dropped by its thread. One address is connected on this
/// thread.
fn race(addrs: Vec<SocketAddr>, deadline: Instant) -> Result<TcpStream, Error> {
    if let [addr] = addrs[..] {
        return connect_before(addr, deadline);
    }
    let (tx, rx) = mpsc::channel();
    let mut plan = DialPlan::new(addrs);
    loop {
        let now = Instant::now();
        let until = match plan.next(now) {
            DialStep::Attempt(addr) => {
                let tx = tx.clone();
                std::thread::Builder::new().name("wsx-connect".into()).spawn(move || {
                    let _ = tx.send(connect_before(addr, deadline));
                })?;
                continue;
            }
            DialStep::Failed(error) => return Err(error.unwrap_or_else(|| dial::no_addresses().into())),
            DialStep::Wait(until) => until.map_or(deadline, |at| at.min(deadline)),
        };
        match rx.recv_timeout(until.saturating_duration_since(now)) {
            Ok(Ok(tcp)) => return Ok(tcp),
            Ok(Err(e)) => plan.failed(e),
            Err(_) if Instant::now() >= deadline => return Err(Error::ConnectTimeout),
            Err(_) => {}
        }
    }
}

/// Connects to `addr` by the deadline.
fn connect_before(addr: SocketAddr, deadline: Instant) -> Result<TcpStream, Error> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Error::ConnectTimeout);
    }
    match TcpStream::connect_timeout(&addr, left) {
        Ok(tcp) => Ok(tcp),
        Err(e) if e.kind() == io::ErrorKind::TimedOut => Err(Error::ConnectTimeout),
        Err(e) => Err(e.into()),
    }
}

/// Opens the tunnel through `proxy` to the URL's host, on the blocking socket, by the deadline.
fn tunnel(mut tcp: &TcpStream, proxy: &Proxy, url: &WsUrl, deadline: Instant) -> Result<(), Error> {
    let mut handshake = ProxyHandshake::new(proxy, url.host(), url.port());
    let mut buf = [0u8; 512];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::ConnectTimeout);
        }
        tcp.set_read_timeout(Some(left))?;
        tcp.set_write_timeout(Some(left))?;
        let io_error = |e: io::Error| match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::ConnectTimeout,
            _ => e.into(),
        };
        match handshake.step()? {
            ProxyStep::Write(bytes) => tcp.write_all(&bytes).map_err(io_error)?,
            ProxyStep::Read(n) => {
                let n = tcp.read(&mut buf[..n.min(512)]).map_err(io_error)?;
                handshake.receive(&buf[..n])?;
            }
            ProxyStep::Done => break,
        }
    }
    tcp.set_read_timeout(None)?;
    tcp.set_write_timeout(None)?;
    Ok(())
}

impl Socket {
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

    /// Reads what is there into `out` (decrypting for TLS), reserving `wanted` bytes or a
    /// chunk: `Ok(0)` is end-of-file, `WouldBlock` nothing to read now.
    pub(crate) fn read_into(&mut self, out: &mut bytes::BytesMut, wanted: usize) -> io::Result<usize> {
        let Some(tls) = self.tls.as_mut() else {
            return wsx_proto::session::read_into_spare(out, wanted.max(READ_CHUNK), |spare| {
                Ok(rustix::io::read(&self.tcp, spare)?.0)
            });
        };
        // Only the socket's own `WouldBlock` may end a read without data: records without
        // application data (tickets, key updates) are followed by another socket read.
        loop {
            if tls.read_tls(&mut self.tcp)? == 0 {
                return Ok(0);
            }
            let state = tls
                .process_new_packets()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            let start = out.len();
            let n = state.plaintext_bytes_to_read();
            out.resize(start + n, 0);
            let read = tls.reader().read(&mut out[start..]).unwrap_or(0);
            out.truncate(start + read);
            // Key updates and alerts produce TLS bytes to send back.
            write_tls(tls, &mut self.tcp)?;
            if read > 0 {
                return Ok(read);
            }
            if state.peer_has_closed() {
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
