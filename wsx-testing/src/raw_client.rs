//! A WebSocket client written with `std::net` and nothing else, for the server scenarios: it
//! sends exactly the bytes a scenario asks for (torn writes, unmasked frames, bad requests, a
//! request that never ends) and reads the server's answers as they are.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use wsx_proto::protocol::{accept_key, encode_frame, random_mask_key, FrameHeader, OpCode};

/// How long a raw client waits for the server.
const WAIT: Duration = Duration::from_secs(5);

/// The key every raw client sends (any 16 bytes, base64).
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// A connection to a server under test.
#[derive(Debug)]
pub struct RawClient {
    tcp: TcpStream,
    buf: BytesMut,
}

/// An HTTP answer to a request.
#[derive(Debug, Clone)]
pub struct HttpAnswer {
    /// The status code.
    pub status: u16,
    /// The header lines, as sent.
    pub headers: Vec<(String, String)>,
    /// The body (as much as arrived with `Content-Length`).
    pub body: Vec<u8>,
}

impl HttpAnswer {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A valid upgrade request for `path`, with `extra` header lines (each ending in `\r\n`).
pub fn upgrade_request(path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// A client frame: masked (as a client must) or not (as a misbehaving one does).
pub fn client_frame(opcode: OpCode, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_frame(&mut out, true, opcode, payload, masked.then(random_mask_key));
    out.to_vec()
}

impl RawClient {
    /// Connects, without sending anything.
    pub fn connect(addr: SocketAddr) -> Self {
        let tcp = TcpStream::connect(addr).expect("connect to the server under test");
        tcp.set_read_timeout(Some(WAIT)).expect("read timeout");
        tcp.set_nodelay(true).expect("nodelay");
        Self {
            tcp,
            buf: BytesMut::new(),
        }
    }

    /// Connects and completes a valid upgrade to `/`; panics unless the answer is 101 with
    /// the right `Sec-WebSocket-Accept`.
    pub fn upgrade(addr: SocketAddr) -> Self {
        let mut client = Self::connect(addr);
        client.write(upgrade_request("/", "").as_bytes());
        let answer = client.read_answer().expect("an answer to the upgrade");
        assert_eq!(answer.status, 101, "{answer:?}");
        assert_eq!(answer.header("Sec-WebSocket-Accept"), Some(accept_key(KEY).as_str()));
        client
    }

    /// Writes all of `bytes`.
    pub fn write(&mut self, bytes: &[u8]) {
        self.tcp.write_all(bytes).expect("write to the server");
    }

    /// Writes `bytes` one at a time, each its own TCP segment.
    pub fn write_torn(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.write(std::slice::from_ref(byte));
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    /// Sends one frame.
    pub fn send(&mut self, opcode: OpCode, payload: &[u8]) {
        self.write(&client_frame(opcode, payload, true));
    }

    fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.tcp.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// Reads an HTTP answer (its header block and a `Content-Length` body); `None` if the
    /// server closed first.
    pub fn read_answer(&mut self) -> Option<HttpAnswer> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut parsed = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(len) = parsed.parse(&self.buf).expect("valid HTTP from the server") {
                let headers: Vec<(String, String)> = parsed
                    .headers
                    .iter()
                    .map(|h| (h.name.to_owned(), String::from_utf8_lossy(h.value).into_owned()))
                    .collect();
                let status = parsed.code.expect("a status");
                let mut answer = HttpAnswer {
                    status,
                    headers,
                    body: Vec::new(),
                };
                self.buf.advance(len);
                let body_len: usize = answer
                    .header("Content-Length")
                    .map_or(0, |v| v.parse().expect("a length"));
                while self.buf.len() < body_len && matches!(self.fill(), Ok(1..)) {}
                answer.body = self.buf.split_to(body_len.min(self.buf.len())).to_vec();
                return Some(answer);
            }
            if !matches!(self.fill(), Ok(1..)) {
                return None;
            }
        }
    }

    /// The next frame from the server: its opcode and payload; `None` at end-of-file. Panics
    /// on a masked frame (a server must not mask).
    pub fn read_frame(&mut self) -> Option<(OpCode, Vec<u8>)> {
        loop {
            if let Ok(Some((header, len))) = FrameHeader::parse(&self.buf) {
                let total = len + header.payload_len as usize;
                if self.buf.len() >= total {
                    assert!(header.mask.is_none(), "the server masked a frame");
                    let frame = self.buf.split_to(total);
                    return Some((header.opcode, frame[len..].to_vec()));
                }
            }
            match self.fill() {
                Ok(1..) => {}
                Ok(_) => return None,
                Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionReset) => return None,
                Err(e) => panic!("reading from the server: {e}"),
            }
        }
    }

    /// The close frame's code, skipping other frames; `None` if the server closed TCP first.
    pub fn read_close(&mut self) -> Option<u16> {
        loop {
            let (opcode, payload) = self.read_frame()?;
            if opcode == OpCode::Close {
                return Some(
                    payload
                        .get(..2)
                        .map_or(1005, |code| u16::from_be_bytes([code[0], code[1]])),
                );
            }
        }
    }

    /// Whether the server closes TCP (end-of-file or a reset) within the read timeout; bytes
    /// before that are discarded.
    pub fn closed_by_server(&mut self) -> bool {
        loop {
            self.buf.clear();
            match self.fill() {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) => return e.kind() == io::ErrorKind::ConnectionReset,
            }
        }
    }

    /// The socket, for what the helpers do not cover.
    pub fn tcp(&mut self) -> &mut TcpStream {
        &mut self.tcp
    }
}
