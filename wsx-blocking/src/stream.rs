//! Opening the socket (TCP with a timeout, then TLS), and the reader thread that turns the
//! blocking socket into messages for the connection thread.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use rustls::ClientConnection as TlsConnection;
use wsx_proto::{ConnectSettings, Error};

/// How long one write may block.
const WRITE_TIMEOUT: Duration = Duration::from_millis(20);

/// What the reader thread passes on.
pub(crate) enum Received {
    Bytes(Vec<u8>),
    Eof,
    Failed(io::Error),
}

/// A connected socket: plain, or with a rustls session that the connection thread drives.
pub(crate) struct Socket {
    tcp: TcpStream,
    tls: Option<Box<TlsConnection>>,
}

/// Connects within the connect timeout (tried on each resolved address in turn).
pub(crate) fn connect(settings: &ConnectSettings) -> Result<Socket, Error> {
    let url = settings.url();
    let deadline = Instant::now() + settings.connect_timeout;
    let mut last_error = None;
    let mut tcp = None;
    for addr in (url.host(), url.port()).to_socket_addrs()? {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::ConnectTimeout);
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(stream) => {
                tcp = Some(stream);
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::TimedOut => return Err(Error::ConnectTimeout),
            Err(e) => last_error = Some(e),
        }
    }
    let tcp = match (tcp, last_error) {
        (Some(tcp), _) => tcp,
        (None, Some(e)) => return Err(e.into()),
        (None, None) => return Err(io::Error::new(io::ErrorKind::NotFound, "host has no addresses").into()),
    };
    tcp.set_nodelay(settings.tcp_nodelay)?;
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
    // A peer that stops reading blocks a write at most this long, so commands and timers
    // still get their turn.
    socket.tcp.set_write_timeout(Some(WRITE_TIMEOUT))?;
    Ok(socket)
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

    /// Starts the thread that reads the raw socket and sends what it reads to `sink`.
    pub(crate) fn spawn_reader(&self, sink: impl Fn(Received) -> bool + Send + 'static) -> io::Result<()> {
        let mut tcp = self.tcp.try_clone()?;
        std::thread::Builder::new().name("wsx-reader".into()).spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let received = match tcp.read(&mut buf) {
                    Ok(0) => Received::Eof,
                    Ok(n) => Received::Bytes(buf[..n].to_vec()),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => Received::Failed(e),
                };
                let more = matches!(received, Received::Bytes(_));
                if !sink(received) || !more {
                    return;
                }
            }
        })?;
        Ok(())
    }

    /// Turns raw bytes from the reader into WebSocket bytes (decrypting for TLS), appending to `out`.
    pub(crate) fn decode(&mut self, raw: &[u8], out: &mut bytes::BytesMut) -> io::Result<bool> {
        let Some(tls) = self.tls.as_mut() else {
            out.extend_from_slice(raw);
            return Ok(false);
        };
        let mut rest = raw;
        let mut closed = false;
        while !rest.is_empty() {
            tls.read_tls(&mut rest)?;
            let state = tls
                .process_new_packets()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            let mut n = state.plaintext_bytes_to_read();
            while n > 0 {
                let start = out.len();
                out.resize(start + n, 0);
                let read = tls.reader().read(&mut out[start..])?;
                out.truncate(start + read);
                n -= read.min(n);
                if read == 0 {
                    break;
                }
            }
            closed |= state.peer_has_closed();
        }
        // Key updates and alerts produce TLS bytes to send back.
        self.flush_tls()?;
        Ok(closed)
    }

    /// Writes a prefix of `data` (encrypting for TLS), blocking at most the socket's write
    /// timeout; TLS records that did not fit stay in the TLS session for the next call.
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

    /// Whether TLS records wait to be written.
    pub(crate) fn wants_write(&self) -> bool {
        self.tls.as_ref().is_some_and(|tls| tls.wants_write())
    }

    /// Writes the TLS records waiting; what the socket does not take within its write
    /// timeout stays queued in the TLS session.
    fn flush_tls(&mut self) -> io::Result<()> {
        if let Some(tls) = self.tls.as_mut() {
            while tls.wants_write() {
                match tls.write_tls(&mut self.tcp) {
                    Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => break,
                    result => result?,
                };
            }
        }
        Ok(())
    }

    /// Closes the socket (TLS close_notify first), which also ends the reader thread.
    pub(crate) fn shutdown(&mut self) {
        if let Some(tls) = self.tls.as_mut() {
            tls.send_close_notify();
            let _ = self.flush_tls();
        }
        let _ = self.tcp.shutdown(Shutdown::Both);
    }
}
