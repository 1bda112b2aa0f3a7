//! wsx-blocking through its public API: the same handlers as wsx-tokio; it streams with
//! `Client::send` from the benchmark thread and answers round trips from `handle_frame`. The
//! adapter runs one connection thread per client.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use wsx_blocking::{Client, Frame};

use super::pinger::Pinger;
use super::{idle_result, Counter, Idle};
use crate::window::Window;
use crate::{clock_every, Measurement, Params, Result};

/// Round trips answered from `handle_frame` (see [`Pinger`]), on the connection thread.
pub fn rtt(p: &Params) -> Result<Measurement> {
    let (pinger, finished) = Pinger::new(p);
    let client = Client::start(p.url(), pinger)?;
    let m = finished.wait_blocking();
    let _ = client.close();
    m
}

pub fn stream(p: &Params, size: usize) -> Result<Measurement> {
    let window = Arc::new(Window::new(p.window(size)));
    let client = wsx_blocking::builder(super::wsx_settings(p)?)
        .send_buffer(p.wsx_send_buffer())
        .start(Counter(window.clone()))?;
    let msg = Frame::binary(Bytes::from(vec![0x5a; size]));
    let clock_every = clock_every(size);
    let start = Instant::now();
    let deadline = start + p.stream_time;
    let mut sent = 0u64;
    loop {
        if p.sent_enough(sent, deadline, clock_every) {
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
