//! wsx-tokio through its public API: `Client::start` with a handler whose `handle_frame`
//! counts echoes; it streams through `Client::sink` (fed and flushed like the peers' sinks),
//! and as `wsx-tokio-send` with a loop of `Client::send`. Round trips are answered from
//! `handle_frame`, and as `wsx-tokio-send` sent with `Client::send` from the caller's task.
//! Streaming over HTTP/2 ([`Params::http2`]), every client asks for `Http2::Require` in the
//! default pool, so they all share one connection.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use wsx_tokio::{deflate::DeflateConfig, frame::Utf8Bytes, Client, ConnectSettings, Frame};

use super::pinger::Pinger;
use super::{open_idle, pump_sink, stream_result, wsx_settings, Counter, Idle};
use crate::window::Window;
use crate::{clock_every, DeflatePayload, Latencies, Measurement, Params, Result, DEFLATE_LEVEL, TEXT16};

/// Round trips answered from `handle_frame` (see [`Pinger`]).
pub async fn rtt(p: &Params) -> Result<Measurement> {
    let (pinger, finished) = Pinger::new(p);
    let client = Client::start(p.url(), pinger).await?;
    let m = finished.wait().await;
    let _ = client.close();
    m
}

/// Round trips through the handle (the `wsx-tokio-send` client): `Client::send`, then wait in
/// this task for the handler to count the echo.
pub async fn rtt_send(p: &Params) -> Result<Measurement> {
    let window = Arc::new(Window::new(1));
    let client = Client::start(p.url(), Counter(window.clone())).await?;
    let msg = Frame::text(Utf8Bytes::from_static(TEXT16));
    let mut lat = Latencies::with_capacity(p.rtt_count);
    let mut start = Instant::now();
    for i in 0..(p.warmup + p.rtt_count) as u64 {
        if i == p.warmup as u64 {
            start = Instant::now();
        }
        let t = Instant::now();
        client.send(msg.clone()).await?;
        window.until(i + 1).await;
        if i >= p.warmup as u64 {
            lat.record(t.elapsed());
        }
    }
    let m = lat.finish(start.elapsed().as_secs_f64());
    let _ = client.close();
    Ok(m)
}

/// Streams through the client's `Sink`, fed and flushed like the peers' sinks.
pub async fn stream(p: &Params, size: usize) -> Result<Measurement> {
    let window = Arc::new(Window::new(p.window(size)));
    let client = start(p, Counter(window.clone())).await?;
    let msg = Frame::binary(Bytes::from(vec![0x5a; size]));
    let start = Instant::now();
    let mut sink = client.sink();
    pump_sink(&mut sink, || msg.clone(), &window, size, p).await?;
    let m = stream_result(&window, size, start);
    let _ = client.close();
    Ok(m)
}

/// Streams `payload` messages through the sink with permessage-deflate at [`DEFLATE_LEVEL`].
pub async fn deflate(p: &Params, payload: DeflatePayload) -> Result<Measurement> {
    let window = Arc::new(Window::new(p.window(payload.size())));
    let deflate = DeflateConfig::default().level(DEFLATE_LEVEL);
    let settings = ConnectSettings::new(&p.url())?.deflate(Some(deflate));
    let client = Client::start(settings, Counter(window.clone())).await?;
    let messages: Vec<Frame> = (0..64)
        .map(|n| {
            let bytes = Bytes::from(payload.message(n));
            match payload.is_text() {
                true => Frame::Text(Utf8Bytes::try_from(bytes).expect("JSON is UTF-8")),
                false => Frame::Binary(bytes),
            }
        })
        .collect();
    let start = Instant::now();
    let mut sink = client.sink();
    let mut n = 0;
    let next = || {
        n += 1;
        messages[n % 64].clone()
    };
    pump_sink(&mut sink, next, &window, payload.size(), p).await?;
    let m = stream_result(&window, payload.size(), start);
    let _ = client.close();
    Ok(m)
}

/// Streams with a loop of `Client::send` (the `wsx-tokio-send` client).
pub async fn stream_send(p: &Params, size: usize) -> Result<Measurement> {
    let window = Arc::new(Window::new(p.window(size)));
    let client = start(p, Counter(window.clone())).await?;
    let msg = Frame::binary(Bytes::from(vec![0x5a; size]));
    let clock_every = clock_every(size);
    let start = Instant::now();
    let deadline = start + p.stream_time;
    let mut sent = 0u64;
    loop {
        if p.sent_enough(sent, deadline, clock_every) {
            break;
        }
        window.room(sent).await;
        client.send(msg.clone()).await?;
        sent += 1;
    }
    window.until(sent).await;
    let m = stream_result(&window, size, start);
    let _ = client.close();
    Ok(m)
}

pub async fn idle(p: &Params) -> Result<Measurement> {
    let url = p.url();
    open_idle(p, |_| {
        let url = url.clone();
        async move { Ok(Client::start(url, Idle).await?) }
    })
    .await
}

/// Starts a streaming client with the send buffer and the HTTP version the parameters ask
/// for.
async fn start<H: wsx_tokio::Handler>(p: &Params, handler: H) -> Result<Client<H>> {
    let builder = wsx_tokio::builder(wsx_settings(p)?).send_buffer(p.wsx_send_buffer());
    Ok(builder.start(handler).await?)
}
