//! Just enough RFC 6455 for the echo server and the I/O-only client: the upgrade handshake,
//! masked frames built once, and streaming frame parsers that never buffer a payload.

use base64::Engine as _;
use sha1::{Digest, Sha1};

/// Text opcode.
pub const OP_TEXT: u8 = 0x1;
/// Binary opcode.
pub const OP_BINARY: u8 = 0x2;
/// Close opcode.
pub const OP_CLOSE: u8 = 0x8;

/// The fixed key of the I/O-only client's upgrade request (the RFC's example).
pub const CLIENT_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`.
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.trim().as_bytes());
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

/// The upgrade request of the I/O-only client.
pub fn upgrade_request(host: &str) -> String {
    format!(
        "GET / HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {CLIENT_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

/// Where the header block ends (just past `\r\n\r\n`), if it is complete.
pub fn header_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// The server's answer to an upgrade request header block, or `None` if it has no key.
pub fn upgrade_response(request: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(request).ok()?;
    let key = text.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("sec-websocket-key")
            .then(|| value.trim())
    })?;
    // A client that offers permessage-deflate gets it without parameters: the echo returns
    // its own compressed frames unchanged (RSV1 kept), which its inflater reads back, since
    // both directions then use 15-bit windows and context takeover.
    let offers_deflate = text.lines().any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("sec-websocket-extensions") && value.contains("permessage-deflate")
        })
    });
    let extension = if offers_deflate {
        "Sec-WebSocket-Extensions: permessage-deflate\r\n"
    } else {
        ""
    };
    Some(format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n{extension}\r\n",
        accept_key(key)
    ))
}

/// XORs `data` with `key`, starting `offset` bytes into the payload. Works on 64-byte blocks
/// that the compiler turns into vector XORs.
pub fn apply_mask(data: &mut [u8], key: [u8; 4], offset: usize) {
    let mut k = key;
    k.rotate_left(offset % 4);
    if data.len() < 64 {
        for (i, d) in data.iter_mut().enumerate() {
            *d ^= k[i & 3];
        }
        return;
    }
    let mut block = [0u8; 64];
    for (i, b) in block.iter_mut().enumerate() {
        *b = k[i % 4];
    }
    let mut chunks = data.chunks_exact_mut(64);
    for chunk in &mut chunks {
        for (d, m) in chunk.iter_mut().zip(block.iter()) {
            *d ^= m;
        }
    }
    for (d, m) in chunks.into_remainder().iter_mut().zip(block.iter()) {
        *d ^= m;
    }
}

/// Appends a frame header; `mask` makes it a client header.
pub fn put_header(out: &mut Vec<u8>, opcode: u8, len: usize, mask: Option<[u8; 4]>) {
    let bit = if mask.is_some() { 0x80 } else { 0 };
    out.push(0x80 | opcode);
    match len {
        0..=125 => out.push(bit | len as u8),
        126..=0xFFFF => {
            out.push(bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(bit | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
}

/// One masked client frame, as the I/O-only client writes it.
pub fn masked_frame(opcode: u8, payload: &[u8], key: [u8; 4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    put_header(&mut out, opcode, payload.len(), Some(key));
    let start = out.len();
    out.extend_from_slice(payload);
    apply_mask(&mut out[start..], key, 0);
    out
}

/// A partly parsed frame header, carried across reads.
#[derive(Debug, Default)]
struct PartialHeader {
    bytes: [u8; 14],
    len: usize,
}

/// A complete header: first byte, payload length, mask key and header size.
#[derive(Debug, Clone, Copy)]
struct Header {
    first: u8,
    payload_len: u64,
    mask: Option<[u8; 4]>,
    size: usize,
}

/// Parses a header at the start of `buf`, `None` if incomplete.
fn parse_header(buf: &[u8]) -> Option<Header> {
    let (&first, rest) = buf.split_first()?;
    let &second = rest.first()?;
    let masked = second & 0x80 != 0;
    let (payload_len, mut size) = match second & 0x7F {
        126 => (u64::from(u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?)), 4),
        127 => (u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?), 10),
        n => (u64::from(n), 2),
    };
    let mask = if masked {
        let key: [u8; 4] = buf.get(size..size + 4)?.try_into().ok()?;
        size += 4;
        Some(key)
    } else {
        None
    };
    Some(Header {
        first,
        payload_len,
        mask,
        size,
    })
}

/// The echo server's per-connection state: turns masked client frames into unmasked echoes
/// as bytes arrive, without waiting for whole payloads (a 1 MiB message is echoed in pieces
/// as it streams in).
#[derive(Debug, Default)]
pub struct Echoer {
    partial: PartialHeader,
    /// Payload bytes of the current frame still to come.
    remaining: u64,
    key: [u8; 4],
    /// Payload bytes of the current frame already echoed (the mask phase).
    done: usize,
    /// A close frame is being echoed.
    closing: bool,
    /// A close frame was echoed completely: the connection ends after this batch.
    pub closed: bool,
}

impl Echoer {
    /// Echoes what `input` completes into `out`.
    pub fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        // Echoes are never longer than what came in, plus one header carried from before.
        out.reserve(input.len() + 16);
        while !input.is_empty() && !self.closed {
            if self.remaining == 0 {
                if self.partial.len == 0 {
                    input = fast_small_frames(input, out);
                    if input.is_empty() {
                        return;
                    }
                }
                let header = if self.partial.len == 0 {
                    match parse_header(input) {
                        Some(h) => {
                            input = &input[h.size..];
                            h
                        }
                        None => {
                            self.partial.bytes[..input.len()].copy_from_slice(input);
                            self.partial.len = input.len();
                            return;
                        }
                    }
                } else {
                    let take = input.len().min(14 - self.partial.len);
                    let have = self.partial.len;
                    self.partial.bytes[have..have + take].copy_from_slice(&input[..take]);
                    match parse_header(&self.partial.bytes[..have + take]) {
                        Some(h) => {
                            input = &input[h.size - have..];
                            self.partial.len = 0;
                            h
                        }
                        None => {
                            self.partial.len += take;
                            return;
                        }
                    }
                };
                let at = out.len();
                put_header(out, header.first & 0x0F, header.payload_len as usize, None);
                // Keep FIN and the RSV bits as they came.
                out[at] = header.first;
                self.remaining = header.payload_len;
                self.key = header.mask.unwrap_or([0; 4]);
                self.done = 0;
                self.closing = header.first & 0x0F == OP_CLOSE;
                if self.remaining == 0 {
                    self.closed |= self.closing;
                    continue;
                }
            }
            let take = (self.remaining.min(input.len() as u64)) as usize;
            extend_unmasked(out, &input[..take], self.key, self.done);
            input = &input[take..];
            self.done += take;
            self.remaining -= take as u64;
            if self.remaining == 0 {
                self.closed |= self.closing;
            }
        }
    }
}

/// The hot path for small messages: whole masked frames with a 7-bit length (not close) are
/// echoed straight from `input`; returns what is left for the general path.
fn fast_small_frames<'a>(mut input: &'a [u8], out: &mut Vec<u8>) -> &'a [u8] {
    while let [first, second, k0, k1, k2, k3, rest @ ..] = input {
        let len = usize::from(second & 0x7F);
        if second & 0x80 == 0 || len > 125 || rest.len() < len || first & 0x0F == OP_CLOSE {
            break;
        }
        let key = [*k0, *k1, *k2, *k3];
        out.extend_from_slice(&[*first, len as u8]);
        out.extend(rest[..len].iter().enumerate().map(|(i, b)| b ^ key[i & 3]));
        input = &rest[len..];
    }
    input
}

/// Appends `src` unmasked with `key` (starting `offset` bytes into the payload): one pass,
/// 64-byte blocks the compiler vectorizes.
fn extend_unmasked(out: &mut Vec<u8>, src: &[u8], key: [u8; 4], offset: usize) {
    let mut k = key;
    k.rotate_left(offset % 4);
    let mut block = [0u8; 64];
    for (i, b) in block.iter_mut().enumerate() {
        *b = k[i % 4];
    }
    out.reserve(src.len());
    for chunk in src.chunks(64) {
        out.extend(chunk.iter().zip(block.iter()).map(|(a, m)| a ^ m));
    }
}

/// Counts the server's (unmasked) frames in a byte stream, skipping payloads.
#[derive(Debug, Default)]
pub struct FrameCounter {
    partial: PartialHeader,
    remaining: u64,
    /// Frames completed.
    pub frames: u64,
    /// Payload bytes of completed frames.
    pub bytes: u64,
    current_len: u64,
}

impl FrameCounter {
    /// Counts what `input` completes; returns how many frames it completed.
    pub fn feed(&mut self, mut input: &[u8]) -> u64 {
        let before = self.frames;
        while !input.is_empty() {
            if self.remaining == 0 {
                let have = self.partial.len;
                let header = if have == 0 {
                    match parse_header(input) {
                        Some(h) => {
                            input = &input[h.size..];
                            h
                        }
                        None => {
                            self.partial.bytes[..input.len()].copy_from_slice(input);
                            self.partial.len = input.len();
                            break;
                        }
                    }
                } else {
                    let take = input.len().min(14 - have);
                    self.partial.bytes[have..have + take].copy_from_slice(&input[..take]);
                    match parse_header(&self.partial.bytes[..have + take]) {
                        Some(h) => {
                            input = &input[h.size - have..];
                            self.partial.len = 0;
                            h
                        }
                        None => {
                            self.partial.len += take;
                            break;
                        }
                    }
                };
                self.remaining = header.payload_len;
                self.current_len = header.payload_len;
                if self.remaining == 0 {
                    self.frames += 1;
                    continue;
                }
            }
            let take = self.remaining.min(input.len() as u64);
            input = &input[take as usize..];
            self.remaining -= take;
            if self.remaining == 0 {
                self.frames += 1;
                self.bytes += self.current_len;
            }
        }
        self.frames - before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_accept_key() {
        assert_eq!(accept_key(CLIENT_KEY), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn echo_round_trip_in_any_split() {
        let key = [1, 2, 3, 4];
        let payloads: Vec<Vec<u8>> = vec![
            b"hello".to_vec(),
            vec![7; 300],
            vec![],
            (0..70_000u32).map(|i| i as u8).collect(),
        ];
        let mut wire = Vec::new();
        for p in &payloads {
            wire.extend_from_slice(&masked_frame(OP_BINARY, p, key));
        }
        for chunk in [1, 3, 7, 64, 1000, wire.len()] {
            let mut echo = Echoer::default();
            let mut out = Vec::new();
            for piece in wire.chunks(chunk) {
                echo.feed(piece, &mut out);
            }
            let mut counter = FrameCounter::default();
            assert_eq!(counter.feed(&out), payloads.len() as u64, "chunk {chunk}");
            let mut expected = Vec::new();
            for p in &payloads {
                put_header(&mut expected, OP_BINARY, p.len(), None);
                expected.extend_from_slice(p);
            }
            assert_eq!(out, expected, "chunk {chunk}");
            let mut counter = FrameCounter::default();
            let n: u64 = out.chunks(chunk).map(|c| counter.feed(c)).sum();
            assert_eq!(n, payloads.len() as u64);
            assert_eq!(counter.bytes, payloads.iter().map(|p| p.len() as u64).sum::<u64>());
        }
    }

    #[test]
    fn close_is_echoed_and_ends() {
        let mut wire = masked_frame(OP_CLOSE, &[0x03, 0xE8], [9, 9, 9, 9]);
        wire.extend_from_slice(&masked_frame(OP_TEXT, b"late", [9, 9, 9, 9]));
        let mut echo = Echoer::default();
        let mut out = Vec::new();
        echo.feed(&wire, &mut out);
        assert!(echo.closed);
        assert_eq!(out, [0x88, 0x02, 0x03, 0xE8]);
    }

    #[test]
    fn upgrade() {
        let req = upgrade_request("127.0.0.1:1");
        let end = header_end(req.as_bytes()).unwrap();
        assert_eq!(end, req.len());
        let resp = upgrade_response(req.as_bytes()).unwrap();
        assert!(resp.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    }
}
