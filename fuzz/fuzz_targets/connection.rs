//! An open connection, a client's (handshake done in memory with the right accept key) or a
//! server's (`Connection::accept` of a client's request), fed arbitrary bytes as the peer's
//! frames in arbitrary chunks, interleaved with `send`, `close`, `poll_transmit`,
//! `handle_timeout` and `receive_eof` as the input chooses. Never panics, and:
//! - events stop after `Closed`, and `Closed` means `State::Closed`;
//! - text messages are valid UTF-8; fragments only when `deliver_fragments` is on; a delivered
//!   close frame has a valid code;
//! - everything it transmits is a well-formed frame, masked by a client and not by a server,
//!   nothing after its close;
//! - `send` fails when the connection is not open; `receive_eof` always ends the connection.
//!
//! Input layout: `[role] [config flags] [compression flags] [op, args...]*`; see the match
//! below. With compression (permessage-deflate) negotiated, the peer's bytes go through the
//! inflater too, and our frames may carry RSV1.
#![no_main]

use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use libfuzzer_sys::fuzz_target;
use wsx_fuzz::{accepted_connection, new_connection, response_for, Input, OutgoingChecker};
use wsx_proto::{
    Bytes, Connection, CloseCode, close::CloseFrame, Config, frame::DataKind, deflate::DeflateConfig, error::EncodeError, Event, Frame,
    protocol::FrameHeader, protocol::OpCode, protocol::State,
};

struct Harness {
    conn: Connection,
    out: OutgoingChecker,
    now: Instant,
    deliver_fragments: bool,
    closed: bool,
    auto_pong: bool,
    /// The connection is a server's: the peer's frames are masked.
    server: bool,
}

impl Harness {
    fn drain(&mut self) {
        for _ in 0..1_000_000 {
            let Some(event) = self.conn.poll_event() else { return };
            assert!(!self.closed, "event after Closed: {event:?}");
            match event {
                Event::Connected(r) => panic!("second Connected: {r:?}"),
                Event::Frame(frame) => self.on_frame(frame),
                Event::Closed(_) => {
                    self.closed = true;
                    assert_eq!(self.conn.state(), State::Closed, "Closed event but state is not Closed");
                    assert_eq!(self.conn.poll_timeout(), None, "timer still armed after Closed");
                }
                _ => {}
            }
        }
        panic!("poll_event never returned None");
    }

    fn on_frame(&mut self, frame: Frame) {
        assert!(
            self.conn.state() != State::Closed,
            "frame event while Closed: {frame:?}"
        );
        match frame {
            Frame::Text(t) => {
                assert!(
                    std::str::from_utf8(t.as_bytes()).is_ok(),
                    "invalid UTF-8 delivered as text"
                );
            }
            Frame::Fragment(DataKind::Text, _) | Frame::Continuation(_) | Frame::Finish(_) | Frame::Fragment(..) => {
                assert!(self.deliver_fragments, "fragment delivered with deliver_fragments off");
            }
            Frame::Ping(p) => {
                assert!(p.len() <= 125);
                if self.auto_pong && self.conn.state() == State::Open {
                    self.conn.send(Frame::Pong(p)).expect("pong while open");
                }
            }
            Frame::Pong(p) => assert!(p.len() <= 125),
            Frame::Binary(_) => {}
            // The server's close frame, for information (the connection answers it itself).
            Frame::Close(Some(c)) => {
                assert!(
                    c.code.is_sendable(),
                    "close frame with an invalid code delivered: {c:?}"
                );
                assert!(c.reason.len() <= 123);
            }
            Frame::Close(None) => {}
            _ => {}
        }
    }

    fn transmit(&mut self) {
        while let Some(bytes) = self.conn.poll_transmit(self.now) {
            assert!(!bytes.is_empty());
            self.out.push(&bytes);
        }
    }

    fn send(&mut self, frame: Frame) {
        let open = self.conn.state() == State::Open;
        let oversized_control = matches!(&frame, Frame::Ping(p) | Frame::Pong(p) if p.len() > 125);
        let result = self.conn.send(frame);
        if !open && !oversized_control {
            assert!(result.is_err(), "send succeeded in state {:?}", self.conn.state());
        }
        if oversized_control {
            assert!(
                matches!(result, Err(EncodeError::ControlPayloadTooLarge(_))),
                "{result:?}"
            );
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A well-formed frame of the peer built from input bytes, so the fuzzer reaches deep states
/// easily; masked (a client's) when `masked`.
fn peer_frame(input: &mut Input<'_>, masked: bool) -> Vec<u8> {
    let b = input.byte();
    let opcode = [
        OpCode::Continuation,
        OpCode::Text,
        OpCode::Binary,
        OpCode::Close,
        OpCode::Ping,
        OpCode::Pong,
    ][(b & 0x7) as usize % 6];
    let fin = b & 0x80 != 0 || opcode.is_control();
    let len = (input.byte() % 126) as usize;
    let raw = input.take(len);
    // With bit 6 set, each input byte picks a piece of UTF-8 (whole or cut short), so text
    // messages with code points split across frames and reads come up often.
    let payload: Vec<u8> = if b & 0x40 != 0 {
        const PIECES: [&[u8]; 8] = [
            b"a",
            b"\xc3\xa9",
            b"\xe2\x82\xac",
            b"\xf0\x9f\x98\x80",
            b"\xc3",
            b"\xe2\x82",
            b"\xf0\x9f\x98",
            b"\xff",
        ];
        raw.iter()
            .flat_map(|&i| PIECES[(i & 7) as usize].iter().copied())
            .take(125)
            .collect()
    } else {
        raw.to_vec()
    };
    let mask = masked.then_some([0x37, 0xfa, 0x21, 0x3d]);
    let mut out = BytesMut::new();
    FrameHeader {
        fin,
        rsv: 0,
        opcode,
        mask,
        payload_len: payload.len() as u64,
    }
    .encode(&mut out);
    let start = out.len();
    out.put_slice(&payload);
    if let Some(key) = mask {
        wsx_proto::protocol::apply_mask(&mut out[start..], key);
    }
    out.to_vec()
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let server = input.byte() & 1 != 0;
    let flags = input.byte();
    let mut config = Config::default().deliver_fragments(flags & 1 != 0);
    if flags & 2 != 0 {
        config = config.outgoing_frame_size(Some((flags >> 4) as usize));
    }
    if flags & 4 != 0 {
        config = config
            .max_frame_size(64 + (flags >> 4) as usize * 16)
            .max_message_size(128 + (flags >> 5) as usize * 64);
    }
    let compression = input.byte();
    if compression & 1 != 0 {
        let deflate = DeflateConfig::default()
            .threshold((compression >> 1) as usize * 8)
            .client_no_context_takeover(compression & 0x80 != 0);
        config = config.deflate(Some(deflate));
    }
    let deflate = config.deflate.is_some();
    let deliver_fragments = config.deliver_fragments;
    let close_timeout = config.close_timeout;
    let now = Instant::now();
    let (conn, request) = match server {
        true => (accepted_connection(config, now), Vec::new()),
        false => new_connection(config, now),
    };
    let out = OutgoingChecker::allowing_rsv1(deflate);
    let mut h = Harness {
        conn,
        out: if server { out.for_server() } else { out },
        now,
        deliver_fragments,
        closed: false,
        auto_pong: flags & 8 != 0,
        server,
    };

    // A client's handshake, the server's response fed to it.
    if !server {
        let mut response = response_for(&request);
        if deflate {
            let end = response.len() - 2;
            response.splice(
                end..end,
                b"Sec-WebSocket-Extensions: permessage-deflate\r\n".iter().copied(),
            );
        }
        h.conn.receive(&response);
    }
    match h.conn.poll_event() {
        Some(Event::Connected(_)) => {}
        other => panic!("valid handshake not accepted: {other:?}"),
    }
    assert_eq!(h.conn.state(), State::Open);
    assert_eq!(h.conn.poll_timeout(), None, "handshake timer still armed once open");

    while !input.is_empty() {
        match input.byte() % 12 {
            // Raw bytes of the peer, short or long chunks.
            0..=2 => {
                let n = input.byte() as usize;
                h.conn.receive(input.take(n));
                h.drain();
            }
            3 => {
                let n = (input.u16() % 4096) as usize;
                h.conn.receive(input.take(n));
                h.drain();
            }
            // A well-formed frame of the peer, whole or in two reads.
            4 => {
                let frame = peer_frame(&mut input, h.server);
                h.conn.receive(&frame);
                h.drain();
            }
            5 => {
                let cut = input.byte() as usize;
                let frame = peer_frame(&mut input, h.server);
                let (a, b) = frame.split_at(cut.min(frame.len()));
                h.conn.receive(a);
                h.drain();
                h.conn.receive(b);
                h.drain();
            }
            // Data frames of ours.
            6 => {
                let kind = input.byte();
                let n = (input.byte() % 80) as usize;
                let payload = input.take(n);
                let frame = match kind % 7 {
                    0 => Frame::text(text(payload)),
                    1 => Frame::binary(Bytes::copy_from_slice(payload)),
                    2 => Frame::Fragment(DataKind::Text, Bytes::from(text(payload))),
                    3 => Frame::Fragment(DataKind::Binary, Bytes::copy_from_slice(payload)),
                    4 => Frame::Continuation(Bytes::copy_from_slice(payload)),
                    5 => Frame::Finish(Bytes::copy_from_slice(payload)),
                    _ => Frame::Close(None),
                };
                h.send(frame);
            }
            // Control frames of ours (sometimes too big).
            7 => {
                let kind = input.byte();
                let n = (input.byte() % 130) as usize;
                let payload = Bytes::copy_from_slice(input.take(n));
                h.send(if kind & 1 == 0 {
                    Frame::Ping(payload)
                } else {
                    Frame::Pong(payload)
                });
            }
            // close(), with or without a code (codes may be invalid).
            8 => {
                let kind = input.byte();
                let frame = match kind % 4 {
                    0 => None,
                    1 => Some(CloseFrame::new(CloseCode::NORMAL, "")),
                    2 => Some(CloseFrame::new(CloseCode(input.u16()), "bye")),
                    _ => {
                        let code = CloseCode(input.u16());
                        let n = (input.byte() % 130) as usize;
                        Some(CloseFrame::new(code, text(input.take(n))))
                    }
                };
                let valid = frame.as_ref().is_none_or(|f| f.validate().is_ok());
                let was_open = h.conn.state() == State::Open;
                let result = h.conn.close(frame);
                assert_eq!(result.is_ok(), valid && was_open, "close: {result:?}");
                if result.is_ok() {
                    assert_eq!(h.conn.state(), State::Closing);
                }
            }
            // Time passes (never backwards), then timers fire.
            9 => {
                let step = Duration::from_millis(u64::from(input.u16()) * 4);
                h.now += step;
                let deadline = h.conn.poll_timeout();
                h.conn.handle_timeout(h.now);
                if let Some(at) = deadline {
                    if h.now >= at {
                        assert_eq!(h.conn.state(), State::Closed, "deadline passed but not closed");
                    }
                }
                h.drain();
            }
            10 => h.transmit(),
            _ => {
                h.conn.receive_eof();
                h.drain();
                assert!(h.closed, "receive_eof did not end the connection");
            }
        }
    }

    // Wind down: flush, then the peer closes TCP; the connection must end.
    h.transmit();
    if let Some(at) = h.conn.poll_timeout() {
        assert!(at <= h.now + close_timeout, "timer further out than the close timeout");
    }
    h.conn.receive_eof();
    h.drain();
    assert!(h.closed, "receive_eof did not end the connection");
    h.transmit();
});
