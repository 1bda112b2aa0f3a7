//! One accepted connection: runs its [`Script`], records what the client sends, and notes when
//! the client ends TCP.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use wsx_proto::{
    protocol::accept_key, protocol::apply_mask, protocol::encode_frame, protocol::FrameHeader, protocol::OpCode,
};

use super::script::{Handshake, Script, Step};
use super::{RecordedRequest, ServerFrame, Shared, TcpEnd, LINGER, POLL};
use crate::tls::Transport;

/// The server side of one connection, for [`Step::Custom`] closures.
pub struct ServerConn {
    stream: Transport,
    index: usize,
    buf: BytesMut,
    shared: Arc<Shared>,
    close_sent: bool,
    /// The TCP connection is over: the client ended it (recorded) or the server did.
    tcp_over: bool,
}

impl fmt::Debug for ServerConn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConn")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl ServerConn {
    pub(super) fn new(stream: Transport, index: usize, shared: Arc<Shared>) -> Self {
        if let Some(tcp) = stream.tcp() {
            let _ = tcp.set_nodelay(true);
            let _ = tcp.set_read_timeout(Some(POLL));
        }
        Self {
            stream,
            index,
            buf: BytesMut::with_capacity(16 * 1024),
            shared,
            close_sent: false,
            tcp_over: false,
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
        self.write(&out)
    }

    /// Sends one masked frame (a protocol violation from a server).
    pub fn send_masked(&mut self, opcode: OpCode, payload: &[u8]) -> io::Result<()> {
        let mut out = BytesMut::new();
        encode_frame(&mut out, true, opcode, payload, Some([0x12, 0x34, 0x56, 0x78]));
        self.write(&out)
    }

    /// Writes raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write(bytes)
    }

    /// Writes all of `bytes`; a write refused because the client reset the connection records
    /// that end (and still fails).
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let result = self.stream.write_all(bytes);
        if let Err(e) = &result {
            if peer_gone(e) {
                self.client_ended(true);
            }
        }
        result
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
    /// (unmasked, bad header) is recorded in [`TestServer::errors`](super::TestServer::errors).
    pub fn recv_frame(&mut self) -> io::Result<Option<ServerFrame>> {
        loop {
            if let Some(frame) = self.parse_frame()? {
                return Ok(Some(frame));
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// Receives and records frames, answering nothing, until the client's close frame, which
    /// it returns; `None` if the client closed TCP first (or the server is stopping).
    pub fn recv_close(&mut self) -> io::Result<Option<ServerFrame>> {
        while let Some(frame) = self.recv_frame()? {
            if frame.opcode == OpCode::Close {
                return Ok(Some(frame));
            }
        }
        Ok(None)
    }

    /// Takes one whole frame out of the read buffer, records it and returns it; `None` if the
    /// buffer holds no whole frame.
    fn parse_frame(&mut self) -> io::Result<Option<ServerFrame>> {
        let (header, len) = match FrameHeader::parse(&self.buf) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return Ok(None),
            Err(e) => {
                self.error(&format!("client sent a bad frame header: {e}"));
                return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string()));
            }
        };
        let total = len + header.payload_len as usize;
        if self.buf.len() < total {
            return Ok(None);
        }
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
            at: Instant::now(),
        };
        if self.shared.record {
            let _ = self.shared.frames.send(frame.clone());
        }
        Ok(Some(frame))
    }

    /// Keeps the connection open without reading anything (a server that stopped reading),
    /// until `max` passes or the server stops.
    pub fn pause(&mut self, max: Duration) {
        let deadline = Instant::now() + max;
        while !self.stopping() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Keeps the connection open, reading and discarding, until the client closes it, `max`
    /// passes or the server stops.
    pub fn hold(&mut self, max: Duration) {
        self.drain(max);
    }

    /// Keeps the connection open and answers nothing, recording the frames the client sends,
    /// until the client closes TCP (false), `max` passes (true) or the server stops (false).
    pub fn hold_recording(&mut self, max: Duration) -> io::Result<bool> {
        let deadline = Instant::now() + max;
        loop {
            while self.parse_frame()?.is_some() {}
            if self.stopping() || self.tcp_over {
                return Ok(false);
            }
            if Instant::now() >= deadline {
                return Ok(true);
            }
            if self.read_once()? == Some(false) {
                return Ok(false);
            }
        }
    }

    /// Writes `frame` (raw bytes, e.g. [`encode`](super::encode)d) every `every`, recording what the client
    /// sends in between, until the client closes TCP or `max` passes. The client closing TCP
    /// (a failed write included) is the expected end, not an error.
    pub fn flood(&mut self, frame: &[u8], every: Duration, max: Duration) -> io::Result<()> {
        let deadline = Instant::now() + max;
        if let Some(tcp) = self.stream.tcp() {
            tcp.set_read_timeout(Some(every.max(Duration::from_millis(1))))?;
        }
        while Instant::now() < deadline && !self.stopping() && !self.tcp_over {
            match self.write(frame) {
                Ok(()) => {}
                Err(e) if peer_gone(&e) => break,
                Err(e) => return Err(e),
            }
            // Records the client's end if TCP is over.
            self.read_once()?;
            while self.parse_frame()?.is_some() {}
        }
        // After a reset, what the client sent before it may still be unread.
        while !self.stopping() && self.read_once()? == Some(true) {}
        while self.parse_frame()?.is_some() {}
        if let Some(tcp) = self.stream.tcp() {
            tcp.set_read_timeout(Some(POLL))?;
        }
        Ok(())
    }

    /// Closes the TCP connection at once, both directions (FIN: a clean EOF for the client).
    pub fn close_tcp(&mut self) {
        self.tcp_over = true;
        if let Some(tcp) = self.stream.tcp() {
            let _ = tcp.shutdown(Shutdown::Both);
        }
    }

    /// Aborts the TCP connection at once with a reset (RST, via `SO_LINGER` 0): the client's
    /// next read or write fails with "connection reset", and bytes still unsent are dropped.
    /// Nothing can be sent or received afterwards.
    pub fn reset(&mut self) {
        self.tcp_over = true;
        self.stream.reset();
    }

    /// The client ended the TCP connection: record it once (unless the server ended it first).
    fn client_ended(&mut self, reset: bool) {
        if self.tcp_over {
            return;
        }
        self.tcp_over = true;
        let end = TcpEnd {
            conn: self.index,
            at: Instant::now(),
            reset,
        };
        if self.shared.record {
            self.shared.ends.lock().unwrap().push(end);
            self.shared.ends_changed.notify_all();
        }
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
        loop {
            if self.stopping() {
                return Ok(false);
            }
            if let Some(more) = self.read_once()? {
                return Ok(more);
            }
        }
    }

    /// One read: `Some(true)` when bytes came, `Some(false)` when TCP is over (EOF or reset,
    /// recorded as the client's end), `None` when nothing came within the read timeout.
    fn read_once(&mut self) -> io::Result<Option<bool>> {
        let mut chunk = [0u8; 64 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => {
                self.client_ended(false);
                Ok(Some(false))
            }
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(Some(true))
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                ) =>
            {
                Ok(None)
            }
            Err(e) if peer_gone(&e) => {
                self.client_ended(true);
                Ok(Some(false))
            }
            Err(e) => Err(e),
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

    pub(super) fn run(&mut self, script: Script) -> io::Result<()> {
        let Some(request) = self.read_request()? else {
            return Ok(());
        };
        let key = request.header("Sec-WebSocket-Key").unwrap_or("").to_owned();
        if self.shared.record {
            self.shared.requests.lock().unwrap().push(request);
        }
        let accept_with = |protocol: Option<&str>, extensions: Option<&str>| {
            let mut head = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\nX-Test-Server: wsx-testing\r\n",
                accept_key(&key)
            );
            if let Some(p) = protocol {
                head.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
            }
            if let Some(e) = extensions {
                head.push_str(&format!("Sec-WebSocket-Extensions: {e}\r\n"));
            }
            head.push_str("\r\n");
            head
        };
        let accept = |protocol: Option<&str>| accept_with(protocol, None);
        let response = match &script.handshake {
            Handshake::Accept => accept(None),
            Handshake::AcceptProtocol(p) => accept(Some(p)),
            Handshake::AcceptExtension(e) => accept_with(None, Some(e)),
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
            Step::Reset => {
                self.reset();
                return Ok(false);
            }
            Step::AwaitClose => {
                if self.recv_close()?.is_none() {
                    return Ok(false);
                }
            }
            Step::Hold(max) => {
                if !self.hold_recording(*max)? {
                    return Ok(false);
                }
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

/// Whether a read or write failed because the peer reset or aborted the connection.
fn peer_gone(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe
    )
}
