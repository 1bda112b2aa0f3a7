//! Shared setup for the `wsx` benchmarks (`benches/proto.rs`): an open connection driven
//! through the handshake in memory, and server frame streams to feed it.

use std::time::Instant;

use bytes::{BufMut, BytesMut};
use wsx_proto::{
    protocol::accept_key, protocol::FrameHeader, protocol::OpCode, Config, Connection, Event, Request, WsUrl,
};

/// A connection in the `Open` state: the upgrade request was taken from `poll_transmit` and
/// answered with a 101 carrying the right `Sec-WebSocket-Accept`.
pub fn open_connection(config: Config) -> Connection {
    let url = WsUrl::parse("ws://127.0.0.1:9001/bench").expect("valid url");
    let mut conn = Connection::new(&Request::new(url), config).expect("valid request");
    let request = conn.poll_transmit(Instant::now()).expect("upgrade request queued");
    let text = std::str::from_utf8(&request).expect("ASCII request");
    let key = text
        .split("\r\n")
        .find_map(|line| line.strip_prefix("Sec-WebSocket-Key: "))
        .expect("request carries Sec-WebSocket-Key");
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(key)
    );
    conn.receive(response.as_bytes());
    match conn.poll_event() {
        Some(Event::Connected(_)) => conn,
        other => panic!("handshake failed: {other:?}"),
    }
}

/// `count` unmasked, final server frames with `opcode` and `payload`, back to back.
pub fn server_frames(opcode: OpCode, payload: &[u8], count: usize) -> Vec<u8> {
    let mut out = BytesMut::with_capacity(count * (payload.len() + wsx_proto::protocol::MAX_HEADER_LEN));
    for _ in 0..count {
        FrameHeader {
            fin: true,
            rsv: 0,
            opcode,
            mask: None,
            payload_len: payload.len() as u64,
        }
        .encode(&mut out);
        out.put_slice(payload);
    }
    out.to_vec()
}

/// Exactly `len` bytes of valid UTF-8, mostly ASCII with 2-, 3- and 4-byte code points mixed in
/// (about 23% non-ASCII bytes), the kind of text a chat or JSON API carries.
pub fn text_payload(len: usize) -> String {
    const PATTERN: &str = "Hello, wörld! {\"id\": 42, \"name\": \"κόσμε\", \"price\": \"€3\", \"emoji\": \"😀\"} ";
    let mut text = String::with_capacity(len + 4);
    while text.len() < len {
        for ch in PATTERN.chars() {
            if text.len() + ch.len_utf8() > len {
                break;
            }
            text.push(ch);
        }
        if text.len() + 4 > len {
            // Fill the last few bytes with ASCII so any length is reachable.
            while text.len() < len {
                text.push('.');
            }
        }
    }
    text
}

/// How many frames of `size` bytes make about 1 MiB (at least one).
pub fn frames_per_mib(size: usize) -> usize {
    ((1 << 20) / size).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_payload_lengths() {
        for len in [0, 1, 3, 16, 1000, 1024, 65536] {
            let t = text_payload(len);
            assert_eq!(t.len(), len);
            assert!(t.chars().any(|c| c.len_utf8() > 1) || len < 16);
        }
    }

    #[test]
    fn frames_parse() {
        let mut conn = open_connection(Config::default());
        conn.receive(&server_frames(OpCode::Binary, &[7; 300], 3));
        let mut n = 0;
        while let Some(event) = conn.poll_event() {
            assert!(matches!(event, Event::Frame(wsx_proto::Frame::Binary(ref b)) if b.len() == 300));
            n += 1;
        }
        assert_eq!(n, 3);
    }
}
