//! wsx-blocking through its public API: the same handler as wsx-tokio, `Client::send` from the
//! benchmark thread. The adapter runs one connection thread per client.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use wsx_blocking::{Client, Frame, Utf8Bytes};

use super::{idle_result, Counter, Idle};
use crate::window::Window;
use crate::{clock_every, Latencies, Measurement, Params, Result, TEXT16};

pub fn rtt(p: &Params) -> Result<Measurement> {
    let window = Arc::new(Window::new(1));
    let client = Client::start(p.url(), Counter(window.clone()))?;
    let msg = Frame::text(Utf8Bytes::from_static(TEXT16));
    let mut lat = Latencies::with_capacity(p.rtt_count);
    let mut start = Instant::now();
    for i in 0..(p.warmup + p.rtt_count) as u64 {
        if i == p.warmup as u64 {
            start = Instant::now();
        }
        let t = Instant::now();
        client.send(msg.clone())?;
        window.until_blocking(i + 1);
        if i >= p.warmup as u64 {
            lat.record(t.elapsed());
        }
    }
    let m = lat.finish(start.elapsed().as_secs_f64());
    let _ = client.close();
    Ok(m)
}

pub fn stream(p: &Params, size: usize) -> Result<Measurement> {
    let window = Arc::new(Window::new(p.window(size)));
    let client = Client::start(p.url(), Counter(window.clone()))?;
    let msg = Frame::binary(Bytes::from(vec![0x5a; size]));
    let clock_every = clock_every(size);
    let start = Instant::now();
    let deadline = start + p.stream_time;
    let mut sent = 0u64;
    loop {
        if sent.is_multiple_of(clock_every) && Instant::now() >= deadline {
            break;
        }
        window.room_blocking(sent);
        client.send(msg.clone())?;
        sent += 1;
    }
    window.until_blocking(sent);
    let m = super::stream_result(&window, size, start);
    let _ = client.close();
    Ok(m)
}

/// Opens the connections one after the other (each `start` blocks until connected).
pub fn idle(p: &Params) -> Result<Measurement> {
    let url = p.url();
    let mut kept = Vec::with_capacity(p.conns);
    let before = crate::sys::rss_bytes();
    let start = Instant::now();
    for _ in 0..p.conns {
        kept.push(Client::start(url.as_str(), Idle)?);
    }
    let secs = start.elapsed().as_secs_f64();
    std::thread::sleep(super::IDLE_SETTLE);
    let after = crate::sys::rss_bytes();
    Ok(idle_result(p.conns, secs, before, after))
}
