//! The ceiling: no WebSocket library, just the socket. Frames are masked once up front and
//! written in batches of ~256 KiB; echoes are counted by parsing headers and skipping payloads.
//! Whatever a real client does on top of this is its cost.

use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{open_idle, stream_result, tcp};
use crate::frames::{header_end, masked_frame, upgrade_request, FrameCounter, OP_BINARY, OP_TEXT};
use crate::window::Window;
use crate::{Latencies, Measurement, Params, Result, TEXT16};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
const READ_SIZE: usize = 256 * 1024;
/// Bytes of frames per write: bigger batches than the sink clients' 64 KiB flushes, since the
/// ceiling should be the best the socket can do (fewer, larger writes win at 64 KiB and up).
const WRITE_BATCH: usize = 256 * 1024;

async fn connect(p: &Params) -> Result<TcpStream> {
    let mut sock = tcp(p).await?;
    sock.write_all(upgrade_request(&p.addr.to_string()).as_bytes()).await?;
    let mut response = Vec::with_capacity(256);
    loop {
        if sock.read_buf(&mut response).await? == 0 {
            return Err("connection closed during the upgrade".into());
        }
        if let Some(end) = header_end(&response) {
            if !response.starts_with(b"HTTP/1.1 101") || end != response.len() {
                return Err("unexpected upgrade response".into());
            }
            return Ok(sock);
        }
    }
}

pub async fn rtt(p: &Params) -> Result<Measurement> {
    let mut sock = connect(p).await?;
    let frame = masked_frame(OP_TEXT, TEXT16.as_bytes(), KEY);
    let mut buf = vec![0u8; 4096];
    let mut counter = FrameCounter::default();
    let mut lat = Latencies::with_capacity(p.rtt_count);
    let mut start = Instant::now();
    for i in 0..p.warmup + p.rtt_count {
        if i == p.warmup {
            start = Instant::now();
        }
        let t = Instant::now();
        sock.write_all(&frame).await?;
        while counter.frames < i as u64 + 1 {
            let n = sock.read(&mut buf).await?;
            if n == 0 {
                return Err("server closed".into());
            }
            counter.feed(&buf[..n]);
        }
        if i >= p.warmup {
            lat.record(t.elapsed());
        }
    }
    Ok(lat.finish(start.elapsed().as_secs_f64()))
}

pub async fn stream(p: &Params, size: usize) -> Result<Measurement> {
    let (mut rd, mut wr) = connect(p).await?.into_split();
    let window = Arc::new(Window::new(p.window(size)));
    let counter = window.clone();
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; READ_SIZE];
        let mut frames = FrameCounter::default();
        loop {
            let n = rd.read(&mut buf).await?;
            if n == 0 {
                return Ok::<_, std::io::Error>(());
            }
            let done = frames.feed(&buf[..n]);
            if done > 0 {
                counter.on_echoes(done);
            }
        }
    });
    let one = masked_frame(OP_BINARY, &vec![0x5a; size], KEY);
    let batch_frames = (WRITE_BATCH / size).max(1) as u64;
    let batch = one.repeat(batch_frames as usize);
    let start = Instant::now();
    let deadline = start + p.stream_time;
    let mut sent = 0u64;
    let result: Result<()> = async {
        while Instant::now() < deadline {
            window.room(sent).await;
            let n = window.free(sent).min(batch_frames);
            wr.write_all(&batch[..n as usize * one.len()]).await?;
            sent += n;
        }
        window.until(sent).await;
        Ok(())
    }
    .await;
    reader.abort();
    result?;
    Ok(stream_result(&window, size, start))
}

pub async fn idle(p: &Params) -> Result<Measurement> {
    open_idle(p, |_| async move {
        let sock = connect(p).await?;
        tokio::spawn(async move {
            let mut byte = [0u8; 1];
            loop {
                if sock.readable().await.is_err() {
                    return;
                }
                match sock.try_read(&mut byte) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => return,
                }
            }
        });
        Ok(())
    })
    .await
}
