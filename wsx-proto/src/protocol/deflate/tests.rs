use super::codec::{Deflater, InflateError, Inflater};
use super::*;

fn accept(config: &DeflateConfig, params: &str) -> Result<DeflateParams, DeflateParamError> {
    config.accept(params)
}

fn invalid(param: &str, value: &str) -> DeflateParamError {
    DeflateParamError::InvalidValue {
        param: param.into(),
        value: value.into(),
    }
}

#[test]
fn offer_lists_what_was_chosen() {
    assert_eq!(
        DeflateConfig::default().offer(),
        "permessage-deflate; client_max_window_bits"
    );
    let all = DeflateConfig::default()
        .client_no_context_takeover(true)
        .server_no_context_takeover(true)
        .client_max_window_bits(Some(10))
        .server_max_window_bits(Some(8));
    assert_eq!(
        all.offer(),
        "permessage-deflate; client_no_context_takeover; server_no_context_takeover; client_max_window_bits=10; server_max_window_bits=8"
    );
}

#[test]
fn config_values_are_checked() {
    assert_eq!(
        DeflateConfig::default().client_max_window_bits(Some(8)).validate(),
        Err(invalid("client_max_window_bits", "8"))
    );
    assert_eq!(
        DeflateConfig::default().server_max_window_bits(Some(16)).validate(),
        Err(invalid("server_max_window_bits", "16"))
    );
    assert_eq!(
        DeflateConfig::default().level(10).validate(),
        Err(invalid("level", "10"))
    );
    assert_eq!(
        DeflateConfig::default().server_max_window_bits(Some(8)).validate(),
        Ok(())
    );
}

#[test]
fn plain_answer_takes_context_and_full_windows() {
    let params = accept(&DeflateConfig::default(), "").unwrap();
    assert!(!params.client_no_context_takeover && !params.server_no_context_takeover);
    assert_eq!((params.client_max_window_bits, params.server_max_window_bits), (15, 15));
}

#[test]
fn answer_parameters_are_applied() {
    let params = accept(
        &DeflateConfig::default(),
        " server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=\"9\"",
    )
    .unwrap();
    assert!(params.client_no_context_takeover && params.server_no_context_takeover);
    assert_eq!((params.client_max_window_bits, params.server_max_window_bits), (9, 10));
}

#[test]
fn our_no_context_takeover_holds_whatever_the_answer() {
    let config = DeflateConfig::default().client_no_context_takeover(true);
    assert!(accept(&config, "").unwrap().client_no_context_takeover);
}

#[test]
fn bad_answers_are_typed_errors() {
    let config = DeflateConfig::default()
        .client_max_window_bits(Some(12))
        .server_max_window_bits(Some(10));
    let cases = [
        ("x_param", DeflateParamError::UnknownParameter("x_param".into())),
        (
            "server_no_context_takeover; server_no_context_takeover",
            DeflateParamError::DuplicateParameter("server_no_context_takeover".into()),
        ),
        (
            "server_no_context_takeover=1",
            invalid("server_no_context_takeover", "1"),
        ),
        ("server_max_window_bits", invalid("server_max_window_bits", "")),
        ("server_max_window_bits=11", invalid("server_max_window_bits", "11")),
        ("server_max_window_bits=7", invalid("server_max_window_bits", "7")),
        ("server_max_window_bits=09", invalid("server_max_window_bits", "09")),
        ("client_max_window_bits=13", invalid("client_max_window_bits", "13")),
        ("client_max_window_bits=abc", invalid("client_max_window_bits", "abc")),
    ];
    for (answer, error) in cases {
        assert_eq!(accept(&config, answer), Err(error), "{answer}");
    }
}

#[test]
fn server_may_limit_its_window_unasked() {
    assert_eq!(
        accept(&DeflateConfig::default(), "server_max_window_bits=8")
            .unwrap()
            .server_max_window_bits,
        8
    );
}

fn params(config: DeflateConfig) -> DeflateParams {
    accept(&config, "").unwrap()
}

/// What the server does: raw deflate with a sync flush, tail removed.
fn server_compress(compress: &mut flate2::Compress, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 1024);
    compress
        .compress_vec(data, &mut out, flate2::FlushCompress::Sync)
        .unwrap();
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
    out.truncate(out.len() - 4);
    out
}

#[test]
fn deflater_output_inflates_with_a_plain_zlib_and_keeps_context() {
    let mut deflater = Deflater::new(params(DeflateConfig::default()));
    let mut peer = flate2::Decompress::new(false);
    let message = b"{\"id\": 1, \"name\": \"alpha\", \"tags\": [\"x\", \"y\"]}".repeat(20);
    let mut sizes = Vec::new();
    for _ in 0..3 {
        let mut out = Vec::new();
        deflater.compress(&message, true, &mut out);
        sizes.push(out.len());
        out.extend_from_slice(&[0, 0, 0xff, 0xff]);
        let mut inflated = Vec::with_capacity(message.len() * 2);
        peer.decompress_vec(&out, &mut inflated, flate2::FlushDecompress::Sync)
            .unwrap();
        assert_eq!(inflated, message);
    }
    assert!(sizes[1] < sizes[0] / 2, "context takeover shrinks repeats: {sizes:?}");
}

#[test]
fn deflater_without_context_takeover_resets_per_message() {
    let mut deflater = Deflater::new(params(DeflateConfig::default().client_no_context_takeover(true)));
    let message = b"the same words again and again ".repeat(10);
    let (mut first, mut second) = (Vec::new(), Vec::new());
    deflater.compress(&message, true, &mut first);
    deflater.compress(&message, true, &mut second);
    assert_eq!(first, second, "no context: the same message compresses the same");
    // Each message inflates on its own, with a fresh inflater.
    let mut inflater = Inflater::new(params(DeflateConfig::default().server_no_context_takeover(true)));
    let mut out = Vec::new();
    inflater.inflate(&second, true, &mut out, 1 << 20).unwrap();
    assert_eq!(out, message);
}

#[test]
fn threshold_and_window_8_send_uncompressed() {
    let deflater = Deflater::new(params(DeflateConfig::default().threshold(100)));
    assert!(!deflater.compresses(99));
    assert!(deflater.compresses(100));
    let narrow = accept(&DeflateConfig::default(), "client_max_window_bits=8").unwrap();
    assert!(!Deflater::new(narrow).compresses(1 << 20));
}

#[test]
fn inflater_takes_context_across_messages_and_fragments() {
    let mut server = flate2::Compress::new(flate2::Compression::default(), false);
    let mut inflater = Inflater::new(params(DeflateConfig::default()));
    for round in 0..3 {
        let message = format!("round {round}: ").into_bytes().repeat(50);
        let wire = server_compress(&mut server, &message);
        let (a, b) = wire.split_at(wire.len() / 3);
        let mut out = Vec::new();
        inflater.inflate(a, false, &mut out, 1 << 20).unwrap();
        inflater.inflate(b, true, &mut out, 1 << 20).unwrap();
        assert_eq!(out, message);
    }
}

#[test]
fn window_8_from_the_server_inflates() {
    // zlib-rs refuses window bits 8; the inflater uses 9, which reads data written with 8.
    let answer = accept(&DeflateConfig::default(), "server_max_window_bits=8").unwrap();
    let mut server = flate2::Compress::new_with_window_bits(flate2::Compression::default(), false, 9);
    let mut inflater = Inflater::new(answer);
    let message = b"abcdefgh".repeat(300);
    let mut out = Vec::new();
    inflater
        .inflate(&server_compress(&mut server, &message), true, &mut out, 1 << 20)
        .unwrap();
    assert_eq!(out, message);
}

#[test]
fn a_bomb_stops_at_the_limit_without_allocating_it() {
    let mut server = flate2::Compress::new(flate2::Compression::fast(), false);
    let bomb = server_compress(&mut server, &vec![0u8; 16 << 20]);
    assert!(bomb.len() < 200 << 10, "{} bytes on the wire", bomb.len());
    let mut inflater = Inflater::new(params(DeflateConfig::default()));
    let mut out = Vec::new();
    let limit = 1 << 20;
    assert_eq!(
        inflater.inflate(&bomb, true, &mut out, limit),
        Err(InflateError::TooLarge(limit as u64 + 1))
    );
    assert!(out.capacity() <= limit + 1, "held {} bytes", out.capacity());
}

#[test]
fn garbage_is_corrupt_not_a_hang() {
    let mut inflater = Inflater::new(params(DeflateConfig::default()));
    let mut out = Vec::new();
    assert_eq!(
        inflater.inflate(&[0xff; 64], true, &mut out, 1 << 20),
        Err(InflateError::Corrupt)
    );
}

#[test]
fn output_larger_than_a_step_is_all_delivered() {
    let mut server = flate2::Compress::new(flate2::Compression::default(), false);
    let message: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let wire = server_compress(&mut server, &message);
    let mut inflater = Inflater::new(params(DeflateConfig::default()));
    let mut out = Vec::new();
    inflater.inflate(&wire, true, &mut out, 1 << 20).unwrap();
    assert_eq!(out, message);
}

/// Inflates each of `messages` (each a list of pieces, the last one `fin`) as a plain zlib
/// peer does, in one stream: the pieces' output, then the tail the sender removed.
fn round_trip_through_plain_zlib(deflater: &mut Deflater, messages: &[&[&[u8]]]) {
    let mut peer = flate2::Decompress::new(false);
    for pieces in messages {
        let mut sent = Vec::new();
        for (i, piece) in pieces.iter().enumerate() {
            let mut out = Vec::new();
            deflater.compress(piece, i + 1 == pieces.len(), &mut out);
            sent.extend_from_slice(&out);
        }
        sent.extend_from_slice(&[0, 0, 0xff, 0xff]);
        let mut inflated = Vec::with_capacity(1024);
        peer.decompress_vec(&sent, &mut inflated, flate2::FlushDecompress::Sync)
            .unwrap();
        assert_eq!(inflated, pieces.concat(), "after {messages:?}");
    }
}

#[test]
fn empty_messages_compress_to_an_empty_block_after_others() {
    // A sync flush with no new input right after another makes zlib write nothing: the empty
    // message must still be an empty block, or the peer's inflater reads the next message's
    // data as the rest of a block.
    let mut deflater = Deflater::new(params(DeflateConfig::default().threshold(0)));
    round_trip_through_plain_zlib(
        &mut deflater,
        &[&[b""], &[b"hello"], &[b""], &[b""], &[b"hello"], &[b""]],
    );
}

#[test]
fn a_message_whose_last_piece_is_empty_inflates() {
    let mut deflater = Deflater::new(params(DeflateConfig::default()));
    round_trip_through_plain_zlib(
        &mut deflater,
        &[&[b"first piece", b""], &[b"next", b"", b""], &[b"after"]],
    );
}
