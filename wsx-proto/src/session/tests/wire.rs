//! The server's side of the handshake and the client's frames parsed back, for the in-memory
//! tests (the session's here, the connection's in `tests/`, which include this file). The
//! including module names wsx-proto's protocol module `proto`.

use super::proto::{accept_key, apply_mask, FrameHeader};

/// Parses and unmasks everything the client sent.
pub fn sent_frames(bytes: &[u8]) -> Vec<(FrameHeader, Vec<u8>)> {
    let mut frames = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (header, len) = FrameHeader::parse(rest).unwrap().unwrap();
        let end = len + header.payload_len as usize;
        let mut payload = rest[len..end].to_vec();
        apply_mask(&mut payload, header.mask.expect("client frames are masked"));
        frames.push((header, payload));
        rest = &rest[end..];
    }
    frames
}

/// The server's 101 answer to the client's upgrade request.
#[allow(dead_code)] // not every test file uses every helper
pub fn response_to(request_bytes: &[u8]) -> Vec<u8> {
    response_with(request_bytes, "")
}

/// The server's 101 answer with extra header lines (each ending in CRLF).
pub fn response_with(request_bytes: &[u8], extra: &str) -> Vec<u8> {
    let text = std::str::from_utf8(request_bytes).unwrap();
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap();
    format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n{extra}\r\n", accept_key(key)).into_bytes()
}
