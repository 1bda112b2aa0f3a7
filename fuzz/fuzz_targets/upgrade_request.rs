//! The server's side of the opening handshake: arbitrary bytes as a client's upgrade request,
//! with an arbitrary size limit, parsed whole and cut into arbitrary chunks. Never panics; every
//! split gives the same result; a refusal encodes to an HTTP answer with its status; an
//! accepted request is answered with a 101 that parses as HTTP and carries the right
//! `Sec-WebSocket-Accept`.
//!
//! Input layout: `[limit: u16] [flags] [n] [n cut bytes] [request...]`. Flags: bit 0 chooses the
//! first offered subprotocol, bit 1 answers permessage-deflate (see `seeds/upgrade_request`).
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use wsx_fuzz::{for_each_chunk, split_points, Input};
use wsx_proto::deflate::DeflateConfig;
use wsx_proto::protocol::accept_key;
use wsx_proto::protocol::upgrade::{Accept, BadRequest, UpgradeRequest};

/// Parses `data` fed in the chunks cut at `points`, trying after every chunk like a server
/// reading a socket; then gives the rest of the bytes to the buffer as they arrive.
fn parse_in_chunks(
    data: &[u8],
    points: &[usize],
    limit: usize,
) -> (Result<Option<UpgradeRequest>, BadRequest>, BytesMut) {
    let mut buf = BytesMut::new();
    let mut result = Ok(None);
    for_each_chunk(data, points, |chunk| {
        buf.extend_from_slice(chunk);
        if let Ok(None) = result {
            result = UpgradeRequest::parse(&mut buf, limit);
        }
    });
    (result, buf)
}

/// The header block of an HTTP response: (status, header count, length), or a panic.
fn parse_response(bytes: &[u8]) -> (u16, usize, usize) {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => (response.code.unwrap_or(0), response.headers.len(), len),
        other => panic!("not an HTTP response ({other:?}): {:?}", String::from_utf8_lossy(bytes)),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let limit = input.u16() as usize;
    let flags = input.byte();
    let n = (input.byte() % 8) as usize;
    let cuts = input.take(n);
    let request = input.rest();

    let mut whole = BytesMut::from(request);
    let parsed = UpgradeRequest::parse(&mut whole, limit);
    let (in_chunks, rest) = parse_in_chunks(request, &split_points(request, cuts), limit);
    assert_eq!(in_chunks, parsed, "a split changed the result");

    match parsed {
        Ok(None) => assert!(request.len() <= limit, "waiting for more bytes past the limit"),
        Err(bad) => {
            let mut out = BytesMut::new();
            bad.rejection().encode(&mut out);
            let (status, _, len) = parse_response(&out);
            assert_eq!(status, bad.status());
            assert!(status >= 400, "{bad:?} answered with {status}");
            assert_eq!(out.len() - len, format!("{bad}\n").len(), "body length");
        }
        Ok(Some(upgrade)) => {
            assert_eq!(rest, whole, "the bytes after the request differ");
            assert!(request.len() - whole.len() <= limit);
            let mut accept = Accept::new();
            if flags & 1 != 0 {
                if let Some(first) = upgrade.subprotocols().first() {
                    accept = accept.subprotocol(first.clone());
                }
            }
            let deflate = (flags & 2 != 0).then(DeflateConfig::default);
            let mut out = BytesMut::new();
            let response = upgrade
                .accept(&accept, deflate.as_ref(), &mut out)
                .expect("an offered subprotocol and no extra headers are always accepted");
            let (status, header_count, len) = parse_response(&out);
            assert_eq!((status, len), (101, out.len()));
            assert_eq!(response.headers().count(), header_count);
            assert_eq!(
                response.header("sec-websocket-accept"),
                Some(accept_key(upgrade.key()).as_bytes())
            );
            assert_eq!(response.subprotocol, accept.subprotocol);
            if response.extensions.deflate().is_some() {
                assert!(deflate.is_some(), "deflate answered without a config");
            }
        }
    }
});
