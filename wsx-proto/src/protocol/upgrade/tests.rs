use proptest::prelude::*;

use super::*;
use crate::protocol::deflate::DeflateParamError;
use crate::protocol::handshake::{ClientHandshake, HttpVersion, Request};
use crate::protocol::url::WsUrl;

/// The request of RFC 6455 1.3.
const SAMPLE: &str = "GET /chat?room=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
    Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";
const LIMIT: usize = 16 << 10;
/// A masked text frame "hi", as a client's first frame after its request.
const FIRST_FRAME: [u8; 8] = [0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2];

fn parse_with_limit(text: &str, limit: usize) -> Result<Option<UpgradeRequest>, BadRequest> {
    UpgradeRequest::parse(&mut BytesMut::from(text.as_bytes()), limit)
}

fn parse(text: &str) -> Result<Option<UpgradeRequest>, BadRequest> {
    parse_with_limit(text, LIMIT)
}

fn parse_ok(text: &str) -> UpgradeRequest {
    parse(text).unwrap().expect("a complete request")
}

/// SAMPLE with its `name` header line replaced by `line` (removed if empty).
fn sample_with(name: &str, line: &str) -> String {
    let mut found = false;
    let text: String = SAMPLE
        .split_inclusive("\r\n")
        .map(|l| {
            if l.to_ascii_lowercase()
                .starts_with(&format!("{}:", name.to_ascii_lowercase()))
            {
                found = true;
                if line.is_empty() {
                    String::new()
                } else {
                    format!("{line}\r\n")
                }
            } else {
                l.to_owned()
            }
        })
        .collect();
    assert!(found, "SAMPLE has no {name} line");
    text
}

/// SAMPLE with `lines` added after the request line.
fn sample_plus(lines: &str) -> String {
    SAMPLE.replacen("\r\n", &format!("\r\n{lines}"), 1)
}

fn accept_text(request: &UpgradeRequest, accept: &Accept, deflate: Option<&DeflateConfig>) -> (Response, String) {
    let mut out = BytesMut::new();
    let response = request.accept(accept, deflate, &mut out).unwrap();
    (response, String::from_utf8(out.to_vec()).unwrap())
}

fn encoded(rejection: &Rejection) -> String {
    let mut out = BytesMut::new();
    rejection.encode(&mut out);
    String::from_utf8(out.to_vec()).unwrap()
}

#[test]
fn rfc_sample_is_accepted() {
    let request = parse_ok(SAMPLE);
    assert_eq!(request.path(), "/chat?room=1");
    assert_eq!(request.host(), "server.example.com");
    assert_eq!(request.origin(), Some("http://example.com"));
    assert_eq!(request.key(), "dGhlIHNhbXBsZSBub25jZQ==");
    assert_eq!(request.subprotocols(), ["chat", "superchat"]);
    assert!(request.extensions().is_empty());
    assert_eq!(request.headers().count(), 7);
    assert_eq!(request.headers().next(), Some(("Host", &b"server.example.com"[..])));

    let (response, text) = accept_text(&request, &Accept::new().subprotocol("chat"), None);
    assert_eq!(
        text,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n"
    );
    assert_eq!(response.subprotocol.as_deref(), Some("chat"));
    assert_eq!(response.http_version(), HttpVersion::Http11);
    assert_eq!(
        response.header("sec-websocket-accept"),
        Some(&b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="[..])
    );
    assert_eq!(response.headers().count(), 4);
    assert_eq!(response.extensions, NegotiatedExtensions::default());
}

#[test]
fn leftovers_after_the_header_block_stay() {
    let mut buf = BytesMut::from(SAMPLE.as_bytes());
    buf.extend_from_slice(&FIRST_FRAME);
    let request = UpgradeRequest::parse(&mut buf, LIMIT).unwrap().unwrap();
    assert_eq!(&buf[..], FIRST_FRAME);
    assert_eq!(request.header("origin"), Some(&b"http://example.com"[..]));
}

#[test]
fn every_prefix_needs_more_bytes() {
    let mut full = BytesMut::from(SAMPLE.as_bytes());
    full.extend_from_slice(&FIRST_FRAME);
    let whole = parse_ok(SAMPLE);
    for split in 0..full.len() {
        let mut buf = BytesMut::from(&full[..split]);
        let early = UpgradeRequest::parse(&mut buf, LIMIT).unwrap();
        assert_eq!(early.is_some(), split >= SAMPLE.len(), "split {split}");
        buf.extend_from_slice(&full[split..]);
        let request = match early {
            Some(request) => request,
            None => UpgradeRequest::parse(&mut buf, LIMIT).unwrap().unwrap(),
        };
        assert_eq!(request, whole);
        assert_eq!(&buf[..], FIRST_FRAME);
    }
}

/// Requests that parse, fail each check, or run into the limits; the proptest cuts them anywhere.
fn split_cases() -> Vec<Vec<u8>> {
    let mut cases: Vec<Vec<u8>> = vec![
        SAMPLE.into(),
        sample_with("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8").into(),
        sample_with("Host", "").into(),
        sample_plus("X-Big: ")
            .replace("X-Big: ", &format!("X-Big: {}", "b".repeat(300)))
            .into(),
        SAMPLE.replace("GET", "PUT").into(),
        SAMPLE.replace("HTTP/1.1", "HTTP/1.0").into(),
        sample_plus("Bad Name: x\r\n").into(),
        sample_plus(&(0..130).map(|i| format!("X-{i}: v\r\n")).collect::<String>()).into(),
        format!("\r\n\r\n{SAMPLE}").into(),
    ];
    for case in &mut cases {
        case.extend_from_slice(&FIRST_FRAME);
    }
    cases
}

proptest! {
    #[test]
    fn any_split_parses_the_same(
        case in 0usize..9,
        mutation in proptest::option::of((0usize..600, any::<u8>())),
        cuts in proptest::collection::vec(0usize..700, 0..5),
        limit in prop::sample::select(vec![0usize, 40, 200, 250, 400, LIMIT]),
    ) {
        let mut input = split_cases().swap_remove(case);
        if let Some((at, byte)) = mutation {
            let at = at % input.len();
            input[at] = byte;
        }
        let mut whole = BytesMut::from(&input[..]);
        let expected = UpgradeRequest::parse(&mut whole, limit);
        if let Ok(None) = expected {
            prop_assert!(input.len() <= limit);
        }

        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (input.len() + 1)).collect();
        cuts.sort_unstable();
        cuts.push(input.len());
        let mut buf = BytesMut::new();
        let mut start = 0;
        let mut got = Ok(None);
        for cut in cuts {
            buf.extend_from_slice(&input[start..cut]);
            start = cut;
            if let Ok(None) = got {
                got = UpgradeRequest::parse(&mut buf, limit);
            }
        }
        prop_assert_eq!(&got, &expected);
        if let Ok(Some(_)) = got {
            prop_assert_eq!(buf, whole);
        }
    }
}

#[test]
fn bad_requests_are_refused_with_their_status() {
    let two_keys = sample_plus("Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n");
    let cases = [
        (
            sample_plus("Bad Name: x\r\n"),
            BadRequest::Malformed("invalid header name".into()),
            400,
        ),
        (
            sample_plus("Host: other.example.com\r\n"),
            BadRequest::Malformed("more than one Host header".into()),
            400,
        ),
        (
            sample_with("Host", "Host: a b"),
            BadRequest::Malformed("the Host header is not a host".into()),
            400,
        ),
        (SAMPLE.replace("GET", "POST"), BadRequest::Method("POST".into()), 405),
        (SAMPLE.replace("GET", "get"), BadRequest::Method("get".into()), 405),
        (SAMPLE.replace("HTTP/1.1", "HTTP/1.0"), BadRequest::HttpVersion, 400),
        (sample_with("Host", ""), BadRequest::MissingHost, 400),
        (sample_with("Host", "Host:  "), BadRequest::MissingHost, 400),
        (sample_with("Upgrade", ""), BadRequest::NotUpgrade, 426),
        (sample_with("Upgrade", "Upgrade: h2c"), BadRequest::NotUpgrade, 426),
        (
            sample_with("Connection", "Connection: keep-alive"),
            BadRequest::NotConnectionUpgrade,
            400,
        ),
        (
            sample_with("Sec-WebSocket-Version", ""),
            BadRequest::UnsupportedVersion(None),
            426,
        ),
        (
            sample_with("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8"),
            BadRequest::UnsupportedVersion(Some("8".into())),
            426,
        ),
        (
            sample_plus("Sec-WebSocket-Version: 8\r\n"),
            BadRequest::UnsupportedVersion(Some("8, 13".into())),
            426,
        ),
        (sample_with("Sec-WebSocket-Key", ""), BadRequest::InvalidKey, 400),
        (two_keys, BadRequest::InvalidKey, 400),
        (
            sample_with("Sec-WebSocket-Key", "Sec-WebSocket-Key: not base64 at all!!!!!"),
            BadRequest::InvalidKey,
            400,
        ),
        // 15 bytes, and 16 bytes without padding.
        (
            sample_with("Sec-WebSocket-Key", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA"),
            BadRequest::InvalidKey,
            400,
        ),
        (
            sample_with("Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ"),
            BadRequest::InvalidKey,
            400,
        ),
    ];
    for (text, error, status) in cases {
        assert_eq!(parse(&text), Err(error.clone()), "{text}");
        assert_eq!(error.status(), status, "{error}");
        // Every answer is HTTP a client reads to its end, with the status and the body.
        let answer = encoded(&error.rejection());
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut response = httparse::Response::new(&mut headers);
        let head_len = match response.parse(answer.as_bytes()) {
            Ok(httparse::Status::Complete(n)) => n,
            other => panic!("{other:?}: {answer}"),
        };
        assert_eq!(response.code, Some(status));
        assert_eq!(answer[head_len..], format!("{error}\n"));
    }

    // Latin-1 where the handshake reads text.
    for name in ["Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions"] {
        let mut bytes = sample_plus(&format!("{name}: caf\r\n")).into_bytes();
        let at = bytes.windows(3).position(|w| w == b"caf").unwrap() + 3;
        bytes.insert(at, 0xe9);
        assert_eq!(
            UpgradeRequest::parse(&mut BytesMut::from(&bytes[..]), LIMIT),
            Err(BadRequest::Malformed(format!("{name} is not text")))
        );
    }
}

#[test]
fn rejection_bytes_carry_what_each_status_needs() {
    let body = |error: &BadRequest| format!("{error}\n");
    let version = BadRequest::UnsupportedVersion(Some("8".into()));
    assert_eq!(
        encoded(&version.rejection()),
        format!(
            "HTTP/1.1 426 Upgrade Required\r\nContent-Length: {}\r\nConnection: Upgrade, close\r\n\
             Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}",
            body(&version).len(),
            body(&version)
        )
    );
    assert_eq!(
        encoded(&BadRequest::NotUpgrade.rejection()),
        "HTTP/1.1 426 Upgrade Required\r\nContent-Length: 35\r\nConnection: Upgrade, close\r\n\
         Upgrade: websocket\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nrequest lacks `Upgrade: websocket`\n"
    );
    assert_eq!(
        encoded(&BadRequest::Method("POST".into()).rejection()),
        "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 38\r\nConnection: close\r\nAllow: GET\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nmethod \"POST\" cannot upgrade: use GET\n"
    );
    assert_eq!(
        encoded(&BadRequest::TooLarge { limit: 100 }.rejection()),
        "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 51\r\nConnection: close\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nupgrade request header block larger than 100 bytes\n"
    );
    let plain_400 = [
        BadRequest::Malformed("x".into()),
        BadRequest::HttpVersion,
        BadRequest::MissingHost,
        BadRequest::NotConnectionUpgrade,
        BadRequest::InvalidKey,
    ];
    for error in plain_400 {
        assert_eq!(
            encoded(&error.rejection()),
            format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Length: {}\r\nConnection: close\r\n\
                 Content-Type: text/plain; charset=utf-8\r\n\r\n{}",
                body(&error).len(),
                body(&error)
            )
        );
    }
}

#[test]
fn checks_run_in_order() {
    // Everything wrong; each fix reveals the next check.
    let mut text =
        "POST / HTTP/1.0\r\nUpgrade: h2c\r\nConnection: close\r\nSec-WebSocket-Version: 7\r\n\r\n".to_owned();
    let steps: [(BadRequest, &str, &str); 7] = [
        (BadRequest::Method("POST".into()), "POST", "GET"),
        (BadRequest::HttpVersion, "HTTP/1.0", "HTTP/1.1"),
        (BadRequest::MissingHost, "Upgrade:", "Host: h\r\nUpgrade:"),
        (BadRequest::NotUpgrade, "h2c", "websocket"),
        (BadRequest::NotConnectionUpgrade, "close", "upgrade"),
        (
            BadRequest::UnsupportedVersion(Some("7".into())),
            "Version: 7",
            "Version: 13",
        ),
        (
            BadRequest::InvalidKey,
            "\r\n\r\n",
            "\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        ),
    ];
    for (error, from, to) in steps {
        assert_eq!(parse(&text), Err(error), "{text}");
        text = text.replacen(from, to, 1);
    }
    assert!(parse(&text).unwrap().is_some(), "{text}");
}

#[test]
fn size_limit() {
    let len = SAMPLE.len();
    assert!(parse_with_limit(SAMPLE, len).unwrap().is_some());
    assert_eq!(
        parse_with_limit(SAMPLE, len - 1),
        Err(BadRequest::TooLarge { limit: len - 1 })
    );
    // Incomplete: more bytes are waited for up to the limit, and no further.
    let partial = &SAMPLE[..100];
    assert_eq!(parse_with_limit(partial, 100), Ok(None));
    assert_eq!(parse_with_limit(partial, 99), Err(BadRequest::TooLarge { limit: 99 }));
    // Bytes after a complete request do not count.
    let mut with_frames = BytesMut::from(SAMPLE.as_bytes());
    with_frames.extend_from_slice(&[0; 100]);
    assert!(UpgradeRequest::parse(&mut with_frames, len).unwrap().is_some());
    assert_eq!(with_frames.len(), 100);

    let headers = |n: usize| (0..n).map(|i| format!("X-{i}: v\r\n")).collect::<String>();
    assert!(parse(&sample_plus(&headers(128 - 7))).unwrap().is_some());
    assert_eq!(
        parse(&sample_plus(&headers(128 - 6))),
        Err(BadRequest::TooLarge { limit: LIMIT })
    );
}

#[test]
fn header_names_and_tokens_are_case_insensitive() {
    let text = "GET / HTTP/1.1\r\nhOST: h:8080\r\nupgrade: WebSocket\r\nCONNECTION: keep-alive, UPGRADE\r\n\
                sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nSEC-WEBSOCKET-VERSION: 13\r\n\
                sec-websocket-protocol: Chat\r\n\r\n";
    let request = parse_ok(text);
    assert_eq!(request.host(), "h:8080");
    assert_eq!(request.header("Upgrade"), Some(&b"WebSocket"[..]));
    assert_eq!(request.header("x-absent"), None);
    assert_eq!(request.origin(), None);
    assert_eq!(request.subprotocols(), ["Chat"]);
    // Subprotocols are compared exactly.
    assert_eq!(
        request.accept(&Accept::new().subprotocol("chat"), None, &mut BytesMut::new()),
        Err(AcceptError::UnofferedSubprotocol("chat".into()))
    );
    // Tokens may be in any line of their header.
    let split_lines = sample_with("Connection", "Connection: keep-alive\r\nConnection: Upgrade");
    assert!(parse(&split_lines).unwrap().is_some());
    let split_upgrade = sample_with("Upgrade", "Upgrade: h2c\r\nUpgrade: foo, websocket");
    assert!(parse(&split_upgrade).unwrap().is_some());
}

#[test]
fn offers_from_several_lines() {
    let text = sample_plus(
        "Sec-WebSocket-Protocol: a, b\r\nsec-websocket-protocol: c,, d \r\n\
         Sec-WebSocket-Extensions: foo; x=\"a,b\", permessage-deflate; client_max_window_bits\r\n\
         Sec-WebSocket-Extensions: bar\r\n",
    );
    let request = parse_ok(&text);
    assert_eq!(request.subprotocols(), ["a", "b", "c", "d", "chat", "superchat"]);
    assert_eq!(
        request.extensions(),
        ["foo; x=\"a,b\"", "permessage-deflate; client_max_window_bits", "bar"]
    );
}

#[test]
fn empty_lines_before_the_request_line_are_skipped() {
    let request = parse_ok(&format!("\r\n\n{SAMPLE}"));
    assert_eq!(request, parse_ok(SAMPLE));
}

#[test]
fn accept_refuses_what_it_cannot_write() {
    let request = parse_ok(SAMPLE);
    let refused = [
        (
            Accept::new().subprotocol("other"),
            None,
            AcceptError::UnofferedSubprotocol("other".into()),
        ),
        (
            Accept::new().header("Bad Name", "v"),
            None,
            AcceptError::InvalidHeaderName("Bad Name".into()),
        ),
        (
            Accept::new().header("X-A", "a\r\nEvil: 1"),
            None,
            AcceptError::InvalidHeaderValue("X-A".into()),
        ),
        (
            Accept::new().header("sec-websocket-accept", "x"),
            None,
            AcceptError::ReservedHeader("sec-websocket-accept".into()),
        ),
        (
            Accept::new().header("Connection", "close"),
            None,
            AcceptError::ReservedHeader("Connection".into()),
        ),
        (
            Accept::new().header("Content-Length", "0"),
            None,
            AcceptError::ReservedHeader("Content-Length".into()),
        ),
        (
            Accept::new(),
            Some(DeflateConfig::default().level(10)),
            AcceptError::InvalidDeflateConfig(DeflateParamError::InvalidValue {
                param: "level".into(),
                value: "10".into(),
            }),
        ),
    ];
    for (accept, deflate, error) in refused {
        let mut out = BytesMut::new();
        assert_eq!(request.accept(&accept, deflate.as_ref(), &mut out), Err(error));
        assert!(out.is_empty(), "nothing is written on an error");
    }
}

#[test]
fn accept_writes_extra_headers_and_only_deflate() {
    let request = parse_ok(&sample_plus(
        "Sec-WebSocket-Extensions: x-webkit-deflate-frame, permessage-deflate; server_no_context_takeover\r\n",
    ));
    let accept = Accept::new().header("Set-Cookie", "id=1").header("Server", "wsx");
    let (response, text) = accept_text(&request, &accept, Some(&DeflateConfig::default()));
    assert!(
        text.ends_with(
            "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\
             Set-Cookie: id=1\r\nServer: wsx\r\n\r\n"
        ),
        "{text}"
    );
    assert_eq!(response.header("server"), Some(&b"wsx"[..]));
    assert_eq!(response.subprotocol, None);
    assert_eq!(
        response.extensions.accepted(),
        ["permessage-deflate; server_no_context_takeover"]
    );
    assert!(response.extensions.deflate().unwrap().server_no_context_takeover);

    // Without a server config, or without an offer, no extension is answered.
    let (response, text) = accept_text(&request, &Accept::new(), None);
    assert!(!text.contains("Sec-WebSocket-Extensions"), "{text}");
    assert_eq!(response.extensions, NegotiatedExtensions::default());
    let (_, text) = accept_text(&parse_ok(SAMPLE), &Accept::new(), Some(&DeflateConfig::default()));
    assert!(!text.contains("Sec-WebSocket-Extensions"), "{text}");
}

#[test]
fn invalid_deflate_offer_falls_back_to_the_next() {
    let request = parse_ok(&sample_plus(
        "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=7, \
         permessage-deflate; client_max_window_bits=11\r\n",
    ));
    let (response, text) = accept_text(&request, &Accept::new(), Some(&DeflateConfig::default()));
    assert!(
        text.contains("\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=11\r\n"),
        "{text}"
    );
    assert_eq!(response.extensions.deflate().unwrap().client_max_window_bits, 11);
}

/// The client's request for `client_deflate` and `protocols`, answered by the server with
/// `accept` and `server_deflate`, then read back by the client. `edit` may change the request
/// on the way.
fn round_trip(
    client_deflate: Option<&DeflateConfig>,
    server_deflate: Option<&DeflateConfig>,
    protocols: &[&str],
    accept: &Accept,
    edit: impl Fn(String) -> String,
) -> (Response, Response) {
    let mut request =
        Request::new(WsUrl::parse("ws://example.com:9000/chat?x=1").unwrap()).header("Origin", "http://example.com");
    request.extensions.push("x-custom; a=1".into());
    for protocol in protocols {
        request = request.subprotocol(*protocol);
    }
    let mut wire = BytesMut::new();
    let client = ClientHandshake::start(&request, client_deflate, &mut wire).unwrap();
    let mut wire = BytesMut::from(edit(String::from_utf8(wire.to_vec()).unwrap()).as_bytes());
    wire.extend_from_slice(&FIRST_FRAME);

    let upgrade = UpgradeRequest::parse(&mut wire, LIMIT).unwrap().unwrap();
    assert_eq!(&wire[..], FIRST_FRAME);
    assert_eq!((upgrade.path(), upgrade.host()), ("/chat?x=1", "example.com:9000"));
    assert_eq!(upgrade.origin(), Some("http://example.com"));
    assert_eq!(upgrade.subprotocols(), protocols);

    let mut answer = BytesMut::new();
    let server_response = upgrade.accept(accept, server_deflate, &mut answer).unwrap();
    answer.extend_from_slice(&[0x81, 0x00]);
    let client_response = client.parse_response(&mut answer, LIMIT).unwrap().unwrap();
    assert_eq!(&answer[..], [0x81, 0x00]);
    (client_response, server_response)
}

#[test]
fn the_client_reads_back_what_the_server_wrote() {
    let none = Accept::new();
    let (client, server) = round_trip(None, None, &[], &none, |r| r);
    assert_eq!(client, server);
    assert_eq!(client.extensions, NegotiatedExtensions::default());

    let chat = Accept::new().subprotocol("v2").header("X-Server", "wsx");
    let (client, server) = round_trip(None, Some(&DeflateConfig::default()), &["v1", "v2"], &chat, |r| r);
    assert_eq!(client, server);
    assert_eq!(client.subprotocol.as_deref(), Some("v2"));
    assert_eq!(client.header("x-server"), Some(&b"wsx"[..]));
    assert!(client.extensions.deflate().is_none(), "not offered");

    let (client, server) = round_trip(Some(&DeflateConfig::default()), None, &["v1"], &none, |r| r);
    assert_eq!(client, server);
    assert!(client.extensions.deflate().is_none(), "not accepted");
}

#[test]
fn deflate_is_agreed_on_both_ends() {
    let windows = [None, Some(9), Some(12), Some(15)];
    let mut agreed = 0;
    for client_bits in windows {
        for server_bits in [None, Some(8), Some(11)] {
            for flags in 0..16 {
                let client = DeflateConfig::default()
                    .client_no_context_takeover(flags & 1 != 0)
                    .server_no_context_takeover(flags & 2 != 0)
                    .client_max_window_bits(client_bits)
                    .server_max_window_bits(server_bits);
                let server = DeflateConfig::default()
                    .client_no_context_takeover(flags & 4 != 0)
                    .server_no_context_takeover(flags & 8 != 0)
                    .client_max_window_bits(windows[flags % 4])
                    .server_max_window_bits(server_bits.map(|b| b + 1).or(windows[flags % 3]));
                let accept = Accept::new().subprotocol("v1");
                let (client_response, server_response) =
                    round_trip(Some(&client), Some(&server), &["v1"], &accept, |r| r);
                assert_eq!(client_response, server_response, "{client:?} / {server:?}");
                let params = client_response.extensions.deflate().expect("deflate agreed");
                assert_eq!(
                    params.client_no_context_takeover,
                    client.client_no_context_takeover || server.client_no_context_takeover
                );
                assert_eq!(
                    params.server_no_context_takeover,
                    client.server_no_context_takeover || server.server_no_context_takeover
                );
                agreed += 1;
            }
        }
    }
    assert_eq!(agreed, 4 * 3 * 16);
}

#[test]
fn an_invalid_first_offer_is_skipped_on_both_ends() {
    let client = DeflateConfig::default().client_max_window_bits(Some(12));
    let bad_first = |request: String| {
        request.replace(
            "Sec-WebSocket-Extensions: ",
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=16, ",
        )
    };
    let (client_response, server_response) = round_trip(
        Some(&client),
        Some(&DeflateConfig::default().client_max_window_bits(Some(10))),
        &[],
        &Accept::new(),
        bad_first,
    );
    assert_eq!(client_response, server_response);
    assert_eq!(
        client_response.extensions.accepted(),
        ["permessage-deflate; client_max_window_bits=10"]
    );
}

#[test]
fn rejection_encoding() {
    let rejection = Rejection::new(403)
        .header("X-Reason", "no")
        .header("Bad Name", "dropped")
        .header("X-Evil", "a\r\nInjected: 1")
        .header("content-length", "999")
        .header("Transfer-Encoding", "chunked")
        .header("Connection", "keep-alive")
        .body("go away");
    assert_eq!(
        encoded(&rejection),
        "HTTP/1.1 403 Forbidden\r\nContent-Length: 7\r\nConnection: close\r\nX-Reason: no\r\n\r\ngo away"
    );
    assert_eq!(
        encoded(&Rejection::new(599)),
        "HTTP/1.1 599 \r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    // Not a final status: a client would wait for another answer.
    assert!(encoded(&Rejection::new(101)).starts_with("HTTP/1.1 500 Internal Server Error\r\n"));
    assert!(encoded(&Rejection::new(1000)).starts_with("HTTP/1.1 500 Internal Server Error\r\n"));
    assert_eq!(
        encoded(&Rejection::new(204).body("ignored")),
        "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(
        encoded(&Rejection::new(302).header("Location", "/elsewhere")),
        "HTTP/1.1 302 Found\r\nContent-Length: 0\r\nConnection: close\r\nLocation: /elsewhere\r\n\r\n"
    );
}
