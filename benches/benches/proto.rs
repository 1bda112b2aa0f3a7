//! Micro-benchmarks of the sans-IO core at payload sizes 16 B, 1 KiB, 64 KiB and 1 MiB.
//!
//! - `parse_binary` / `parse_text`: an open connection is fed a buffer of unmasked server
//!   frames (about 1 MiB of payload, at least one frame) with `receive`, then `poll_event` until
//!   `None`, counting the events. Includes the copy into the read buffer; text includes UTF-8
//!   validation.
//! - `encode_mask`: `send(Frame::Binary)` then `poll_transmit`, for as many frames (~1 MiB).
//! - `apply_mask` over one buffer, and `memcpy` (`copy_from_slice`) of the same size as the
//!   physical reference (64-byte-aligned buffers, placed to avoid 4K aliasing).
//! - `utf8_validator` (`Utf8Validator::feed` + `finish`), `utf8_simdutf8`, `utf8_std` on the
//!   same text.
//!
//! Throughput is payload bytes. Run: `cargo bench -p wsx-benches --bench proto` (add `-- --quick`
//! for a smoke run).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use wsx_benches::{frames_per_mib, open_connection, server_frames, text_payload};
use wsx_proto::{protocol::apply_mask, protocol::OpCode, protocol::Utf8Validator, Bytes, Config, Frame};

const SIZES: [(usize, &str); 4] = [(16, "16B"), (1 << 10, "1KiB"), (64 << 10, "64KiB"), (1 << 20, "1MiB")];

fn parse(c: &mut Criterion, name: &str, opcode: OpCode) {
    let mut group = c.benchmark_group(name);
    for (size, label) in SIZES {
        let payload = if opcode == OpCode::Text {
            text_payload(size).into_bytes()
        } else {
            vec![0x5a; size]
        };
        let count = frames_per_mib(size);
        let wire = server_frames(opcode, &payload, count);
        let mut conn = open_connection(Config::default());
        group.throughput(Throughput::Bytes((size * count) as u64));
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| {
                conn.receive(black_box(&wire));
                let mut events = 0usize;
                while let Some(event) = conn.poll_event() {
                    black_box(&event);
                    events += 1;
                }
                assert_eq!(events, count);
                events
            })
        });
    }
    group.finish();
}

fn parse_binary(c: &mut Criterion) {
    parse(c, "parse_binary", OpCode::Binary);
}

fn parse_text(c: &mut Criterion) {
    parse(c, "parse_text", OpCode::Text);
}

fn encode_mask(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode_mask");
    for (size, label) in SIZES {
        let payload = Bytes::from(vec![0x5a; size]);
        let count = frames_per_mib(size);
        let mut conn = open_connection(Config::default());
        let now = Instant::now();
        group.throughput(Throughput::Bytes((size * count) as u64));
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| {
                let mut sent = 0usize;
                for _ in 0..count {
                    conn.send(Frame::Binary(payload.clone())).expect("open");
                    let out = conn.poll_transmit(now).expect("frame queued");
                    sent += black_box(out).len();
                }
                sent
            })
        });
    }
    group.finish();
}

/// `size` bytes at a 64-byte-aligned offset of `buf`, plus, when `second` is set, another
/// `size` bytes starting 2112 bytes (mod 4096) after the first. Keeping the copy's source and
/// destination off the same 4 KiB offset avoids 4K aliasing, which on this kind of CPU slows
/// `memcpy` down by 4-8x (separate `vec!`s landed 16 bytes apart mod 4096 in a first run).
fn aligned_regions(buf: &mut [u8], size: usize) -> (&mut [u8], &mut [u8]) {
    let base = buf.as_ptr().align_offset(64);
    let gap = size.next_multiple_of(4096) + 2048 + 64;
    let (a, b) = buf[base..].split_at_mut(gap);
    (&mut a[..size], &mut b[..size])
}

fn mask_and_memcpy(c: &mut Criterion) {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut group = c.benchmark_group("apply_mask");
    for (size, label) in SIZES {
        let mut storage = vec![0x5a; 2 * size + 16 * 1024];
        let (buf, _) = aligned_regions(&mut storage, size);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| apply_mask(black_box(&mut *buf), black_box(key)))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("memcpy");
    for (size, label) in SIZES {
        let mut storage = vec![0x5a; 2 * size + 16 * 1024];
        let (src, dst) = aligned_regions(&mut storage, size);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| black_box(&mut *dst).copy_from_slice(black_box(&*src)))
        });
    }
    group.finish();
}

fn utf8(c: &mut Criterion) {
    let texts: Vec<(String, &str, usize)> = SIZES
        .iter()
        .map(|&(size, label)| (text_payload(size), label, size))
        .collect();

    let mut group = c.benchmark_group("utf8_validator");
    for (text, label, size) in &texts {
        group.throughput(Throughput::Bytes(*size as u64));
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| {
                let mut v = Utf8Validator::default();
                v.feed(black_box(text.as_bytes())).is_ok() && v.finish().is_ok()
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("utf8_simdutf8");
    for (text, label, size) in &texts {
        group.throughput(Throughput::Bytes(*size as u64));
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| simdutf8::basic::from_utf8(black_box(text.as_bytes())).is_ok())
        });
    }
    group.finish();

    let mut group = c.benchmark_group("utf8_std");
    for (text, label, size) in &texts {
        group.throughput(Throughput::Bytes(*size as u64));
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| std::str::from_utf8(black_box(text.as_bytes())).is_ok())
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = parse_binary, parse_text, encode_mask, mask_and_memcpy, utf8
}
criterion_main!(benches);
