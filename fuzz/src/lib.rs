//! Helpers shared by the fuzz targets in `fuzz_targets/`.

use std::time::Instant;

use wsx_proto::{
    protocol::accept_key, protocol::apply_mask, protocol::parse_close_payload, server::Accept, server::UpgradeRequest, Bytes, Connection, Config, protocol::FrameHeader, protocol::OpCode, Request, WsUrl,
};

/// Reads the fuzz input front to back; runs out gracefully (zeros / empty slices).
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// Wraps the raw fuzz input.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// Whether everything was consumed.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next byte, 0 when the input is exhausted.
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// The next big-endian u16 (missing bytes read as 0).
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }

    /// Up to `n` bytes (fewer at the end of the input).
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }

    /// Everything that is left.
    pub fn rest(&mut self) -> &'a [u8] {
        self.take(self.data.len())
    }
}

/// Splits `data` into chunks at the cut points chosen by `cuts` (each byte is a position,
/// scaled to the length of `data`). Chunks may be empty.
pub fn split_points(data: &[u8], cuts: &[u8]) -> Vec<usize> {
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|&c| {
            if data.is_empty() {
                0
            } else {
                c as usize * data.len() / 255
            }
        })
        .collect();
    points.sort_unstable();
    points
}

/// Calls `f` with each chunk of `data` as cut at `points` (sorted, each <= data.len()).
pub fn for_each_chunk(data: &[u8], points: &[usize], mut f: impl FnMut(&[u8])) {
    let mut start = 0;
    for &p in points {
        let p = p.clamp(start, data.len());
        f(&data[start..p]);
        start = p;
    }
    f(&data[start..]);
}

/// The fixed request every connection target uses.
pub fn request() -> Request {
    let url = WsUrl::parse("ws://example.com:9001/chat?room=1").expect("valid url");
    Request::new(url)
        .subprotocol("chat")
        .subprotocol("superchat")
        .header("Origin", "http://example.com")
}

/// Pulls the `Sec-WebSocket-Key` value out of the upgrade request bytes.
pub fn key_from_request(request: &[u8]) -> String {
    let text = std::str::from_utf8(request).expect("upgrade request is ASCII");
    let line = text
        .split("\r\n")
        .find(|l| l.to_ascii_lowercase().starts_with("sec-websocket-key:"))
        .expect("request has Sec-WebSocket-Key");
    line["sec-websocket-key:".len()..].trim().to_owned()
}

/// A valid 101 response for the request `request` (the bytes from the first poll_transmit).
pub fn response_for(request: &[u8]) -> Vec<u8> {
    let accept = accept_key(&key_from_request(request));
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    )
    .into_bytes()
}

/// A new connection plus the upgrade request it queued.
pub fn new_connection(config: Config, now: Instant) -> (Connection, Vec<u8>) {
    let mut conn = Connection::new(&request(), config).expect("fixed request is valid");
    let req = conn.poll_transmit(now).expect("upgrade request is queued").to_vec();
    assert!(
        conn.poll_transmit(now).is_none(),
        "poll_transmit hands out everything at once"
    );
    (conn, req)
}

/// A server's connection that accepted the request of a client with `config` (so it offers
/// permessage-deflate when the config has it), its 101 answer already taken.
pub fn accepted_connection(config: Config, now: Instant) -> Connection {
    let (_, request) = new_connection(config.clone(), now);
    let mut buf = bytes::BytesMut::from(&request[..]);
    let upgrade = UpgradeRequest::parse(&mut buf, 16 << 10)
        .expect("the client's request is valid")
        .expect("whole");
    let mut conn = Connection::accept(&upgrade, &Accept::new(), config).expect("accepted");
    let answer = conn.poll_transmit(now).expect("the 101 answer is queued");
    assert!(answer.starts_with(b"HTTP/1.1 101 "));
    conn
}

/// Checks a connection's outgoing byte stream after the handshake: every frame must parse, be
/// masked by a client and not by a server, use no RSV bits (but RSV1 on a data frame with
/// compression), and a close frame ends the stream.
#[derive(Default)]
pub struct OutgoingChecker {
    /// Compression was negotiated: RSV1 may mark a message's first frame.
    allow_rsv1: bool,
    /// A server's stream: no frame is masked.
    server: bool,
    buf: Vec<u8>,
    /// Payload bytes of the current frame still to skip.
    skip: u64,
    closed: bool,
}

impl OutgoingChecker {
    /// A checker that allows RSV1 on first data frames when `allow` (compression negotiated).
    pub fn allowing_rsv1(allow: bool) -> Self {
        Self {
            allow_rsv1: allow,
            ..Self::default()
        }
    }

    /// The same for a server's stream: frames unmasked.
    pub fn for_server(mut self) -> Self {
        self.server = true;
        self
    }

    /// Adds bytes the connection handed to `poll_transmit` and checks every complete frame.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        loop {
            if self.skip > 0 {
                let n = (self.skip as usize).min(self.buf.len());
                self.buf.drain(..n);
                self.skip -= n as u64;
                if self.skip > 0 {
                    return;
                }
            }
            let parsed = FrameHeader::parse(&self.buf);
            let (header, len) = match parsed {
                Ok(Some(h)) => h,
                Ok(None) => return,
                Err(e) => panic!(
                    "client sent an invalid frame header: {e:?} in {:02x?}",
                    &self.buf[..self.buf.len().min(14)]
                ),
            };
            assert!(!self.closed, "client sent a frame after its close frame: {header:?}");
            assert_eq!(header.mask.is_none(), self.server, "masking against the role: {header:?}");
            let first_data = matches!(header.opcode, OpCode::Text | OpCode::Binary);
            let allowed = if self.allow_rsv1 && first_data { 0b100 } else { 0 };
            assert_eq!(header.rsv & !allowed, 0, "client frame with RSV bits: {header:?}");
            if header.opcode == OpCode::Close {
                let end = len + header.payload_len as usize;
                if self.buf.len() < end {
                    return; // wait for the whole close payload
                }
                let mut payload = self.buf[len..end].to_vec();
                apply_mask(&mut payload, header.mask.unwrap_or_default());
                if let Err(e) = parse_close_payload(Bytes::from(payload.clone())) {
                    panic!("client sent a close payload it would itself reject: {e:?} {payload:02x?}");
                }
                self.closed = true;
            }
            self.buf.drain(..len);
            self.skip = header.payload_len;
            if self.skip == 0 && self.buf.is_empty() {
                return;
            }
        }
    }
}
