//! yawc: `WebSocket::handshake` over our TCP socket (no compression but in the compressed
//! workloads, UTF-8 checked like every
//! other client, a payload limit that admits 1 MiB messages), split into sink and stream, a
//! reader task counting echoes, `feed` + `flush` to send. Over HTTP/2 ([`Params::http2`]):
//! `http2::handshake` (RFC 8441, h2c with prior knowledge) over our TCP socket, a connection
//! for each WebSocket, since yawc opens a WebSocket only on an HTTP/2 connection of its own.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use yawc::{Frame, OpCode, Options, WebSocket};

use super::{open_idle, pump_sink, stream_result, tcp};
use crate::window::Window;
use crate::{DeflatePayload, Latencies, Measurement, Params, Result, DEFLATE_LEVEL, TEXT16};

/// The options of every yawc client but the compressing one.
fn options() -> Options {
    // yawc's default payload limit (1 MiB, exclusive) would refuse the 1 MiB workload; 16 MiB
    // matches tungstenite's and wsx's frame limit.
    Options::default()
        .with_no_delay()
        .with_utf8()
        .with_limits(16 << 20, 32 << 20)
}

async fn connect(p: &Params) -> Result<WebSocket<tokio::net::TcpStream>> {
    let url = p.url().parse()?;
    Ok(WebSocket::handshake(url, tcp(p).await?, options()).await?)
}

/// A WebSocket over an HTTP/2 connection of its own (h2c with prior knowledge).
async fn connect_http2(p: &Params) -> Result<yawc::HttpWebSocket> {
    let url = p.url().parse()?;
    let request = yawc::HttpRequest::builder();
    Ok(yawc::http2::handshake(url, tcp(p).await?, options(), request).await?)
}

pub async fn rtt(p: &Params) -> Result<Measurement> {
    let mut ws = connect(p).await?;
    let mut lat = Latencies::with_capacity(p.rtt_count);
    let mut start = Instant::now();
    for i in 0..p.warmup + p.rtt_count {
        if i == p.warmup {
            start = Instant::now();
        }
        let t = Instant::now();
        ws.send(Frame::text(Bytes::from_static(TEXT16.as_bytes()))).await?;
        match ws.next().await {
            Some(frame) if frame.opcode() == OpCode::Text => {}
            other => return Err(format!("unexpected {:?}", other.map(|f| f.opcode())).into()),
        }
        if i >= p.warmup {
            lat.record(t.elapsed());
        }
    }
    Ok(lat.finish(start.elapsed().as_secs_f64()))
}

pub async fn stream(p: &Params, size: usize) -> Result<Measurement> {
    match p.http2 {
        true => stream_on(connect_http2(p).await?, p, size).await,
        false => stream_on(connect(p).await?, p, size).await,
    }
}

/// Streams over `ws`, just opened.
async fn stream_on<S>(ws: WebSocket<S>, p: &Params, size: usize) -> Result<Measurement>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (mut sink, mut stream) = ws.split();
    let window = Arc::new(Window::new(p.window(size)));
    let counter = window.clone();
    let reader = tokio::spawn(async move {
        while let Some(frame) = stream.next().await {
            if frame.opcode() == OpCode::Binary {
                counter.on_echo();
            }
        }
    });
    let payload = Bytes::from(vec![0x5a; size]);
    let start = Instant::now();
    let sent = pump_sink(&mut sink, || Frame::binary(payload.clone()), &window, size, p).await;
    reader.abort();
    sent?;
    Ok(stream_result(&window, size, start))
}

/// Streams `payload` messages with compression on at [`DEFLATE_LEVEL`], fed and flushed like
/// the other sinks.
pub async fn deflate(p: &Params, payload: DeflatePayload) -> Result<Measurement> {
    let options = Options::default()
        .with_no_delay()
        .with_utf8()
        .with_limits(16 << 20, 32 << 20)
        .with_compression_level(yawc::CompressionLevel::new(DEFLATE_LEVEL));
    let url = p.url().parse()?;
    let ws = WebSocket::handshake(url, tcp(p).await?, options).await?;
    let (mut sink, mut stream) = ws.split();
    let window = Arc::new(Window::new(p.window(payload.size())));
    let counter = window.clone();
    let reader = tokio::spawn(async move {
        while let Some(frame) = stream.next().await {
            if matches!(frame.opcode(), OpCode::Binary | OpCode::Text) {
                counter.on_echo();
            }
        }
    });
    let messages: Vec<Bytes> = (0..64).map(|n| Bytes::from(payload.message(n))).collect();
    let start = Instant::now();
    let mut n = 0;
    let next = || {
        n += 1;
        let bytes = messages[n % 64].clone();
        match payload.is_text() {
            true => Frame::text(bytes),
            false => Frame::binary(bytes),
        }
    };
    let sent = pump_sink(&mut sink, next, &window, payload.size(), p).await;
    reader.abort();
    sent?;
    Ok(stream_result(&window, payload.size(), start))
}

pub async fn idle(p: &Params) -> Result<Measurement> {
    open_idle(p, |_| async move {
        let mut ws = connect(p).await?;
        tokio::spawn(async move { while ws.next().await.is_some() {} });
        Ok(())
    })
    .await
}
