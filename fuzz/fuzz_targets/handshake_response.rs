//! A connection from a fixed request, fed arbitrary bytes as the server's response in arbitrary
//! chunks. Never panics, and the events make sense: at most one `Connected` and it comes first,
//! `Closed` is the last event, and a handshake that never completes times out.
//!
//! Input layout: `[flags] [n] [n cut bytes] [response...]`. Every occurrence of `{ACCEPT}` in the
//! response is replaced by the correct `Sec-WebSocket-Accept` value for this connection's key, so
//! the fuzzer can reach the accepted path (see `seeds/handshake_response`).
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use wsx_fuzz::{for_each_chunk, key_from_request, new_connection, split_points, Input};
use wsx_proto::{protocol::accept_key, protocol::CloseReason, protocol::State, Connection, Config, Event};

const PLACEHOLDER: &[u8] = b"{ACCEPT}";

fn substitute(data: &[u8], accept: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(PLACEHOLDER) {
            out.extend_from_slice(accept);
            i += PLACEHOLDER.len();
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

#[derive(Default)]
struct Seen {
    connected: bool,
    closed: bool,
}

fn drain(conn: &mut Connection, seen: &mut Seen) {
    for _ in 0..100_000 {
        let Some(event) = conn.poll_event() else { return };
        assert!(!seen.closed, "event after Closed: {event:?}");
        match event {
            Event::Connected(response) => {
                assert!(!seen.connected, "second Connected");
                seen.connected = true;
                assert_ne!(conn.state(), State::Connecting);
                if let Some(p) = &response.subprotocol {
                    assert!(p == "chat" || p == "superchat", "unoffered subprotocol {p}");
                }
            }
            Event::Frame(frame) => assert!(seen.connected, "frame before Connected: {frame:?}"),
            Event::Closed(_) => {
                seen.closed = true;
                assert_eq!(conn.state(), State::Closed);
            }
            _ => {}
        }
    }
    panic!("poll_event never returned None");
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let flags = input.byte();
    let n = (input.byte() % 16) as usize;
    let cuts = input.take(n);
    let config = if flags & 2 != 0 {
        Config::default().max_handshake_size(32 + (flags as usize >> 2) * 8)
    } else {
        Config::default()
    };
    let handshake_timeout = config.handshake_timeout;
    let now = Instant::now();
    let (mut conn, request) = new_connection(config, now);
    let accept = accept_key(&key_from_request(&request));
    let response = substitute(input.rest(), accept.as_bytes());
    let points = split_points(&response, cuts);

    let mut seen = Seen::default();
    for_each_chunk(&response, &points, |chunk| {
        conn.receive(chunk);
        drain(&mut conn, &mut seen);
    });

    if flags & 1 != 0 {
        conn.receive_eof();
        drain(&mut conn, &mut seen);
        assert!(seen.closed, "receive_eof did not end the connection");
    }
    if conn.state() == State::Connecting {
        assert_eq!(conn.poll_timeout(), Some(now + handshake_timeout));
        conn.handle_timeout(now + handshake_timeout - Duration::from_millis(1));
        assert_eq!(conn.state(), State::Connecting, "timed out early");
        conn.handle_timeout(now + handshake_timeout);
        assert!(
            matches!(conn.poll_event(), Some(Event::Closed(reason)) if matches!(*reason, CloseReason::Error(_))),
            "handshake did not time out"
        );
        assert_eq!(conn.poll_event(), None);
    }
});
