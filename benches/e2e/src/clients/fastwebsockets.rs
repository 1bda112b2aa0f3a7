//! fastwebsockets: `handshake::client` (hyper) over our TCP socket; for streaming the socket is
//! split (`WebSocket::split` with `tokio::io::split`), a reader task counts echoes and the
//! writer sends with `write_frame`, which writes each frame at once (the crate has no
//! batching send path).

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use fastwebsockets::{handshake, Frame, OpCode, Payload, WebSocket, WebSocketError};
use http_body_util::Empty;
use hyper::header::{CONNECTION, UPGRADE};
use hyper::upgrade::Upgraded;
use hyper::Request;
use hyper_util::rt::TokioIo;

use super::{open_idle, stream_result, tcp};
use crate::window::Window;
use crate::{clock_every, Latencies, Measurement, Params, Result, TEXT16};

/// hyper's executor on the tokio runtime, as in the crate's examples.
struct SpawnExecutor;

impl<Fut> hyper::rt::Executor<Fut> for SpawnExecutor
where
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    fn execute(&self, fut: Fut) {
        tokio::spawn(fut);
    }
}

async fn connect(p: &Params) -> Result<WebSocket<TokioIo<Upgraded>>> {
    let req = Request::builder()
        .method("GET")
        .uri(p.url())
        .header("Host", p.addr.to_string())
        .header(UPGRADE, "websocket")
        .header(CONNECTION, "upgrade")
        .header("Sec-WebSocket-Key", handshake::generate_key())
        .header("Sec-WebSocket-Version", "13")
        .body(Empty::<Bytes>::new())?;
    let (ws, _) = handshake::client(&SpawnExecutor, req, tcp(p).await?).await?;
    Ok(ws)
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
        ws.write_frame(Frame::text(Payload::Borrowed(TEXT16.as_bytes())))
            .await?;
        let frame = ws.read_frame().await?;
        if frame.opcode != OpCode::Text {
            return Err(format!("unexpected {:?}", frame.opcode).into());
        }
        if i >= p.warmup {
            lat.record(t.elapsed());
        }
    }
    Ok(lat.finish(start.elapsed().as_secs_f64()))
}

pub async fn stream(p: &Params, size: usize) -> Result<Measurement> {
    let (mut rx, mut tx) = connect(p).await?.split(tokio::io::split);
    let window = Arc::new(Window::new(p.window(size)));
    let counter = window.clone();
    let reader = tokio::spawn(async move {
        loop {
            // The echo server sends no pings, so there is nothing obligated to send back.
            let frame = rx.read_frame::<_, WebSocketError>(&mut |_| async { Ok(()) }).await?;
            match frame.opcode {
                OpCode::Binary => counter.on_echo(),
                OpCode::Close => return Ok::<_, WebSocketError>(()),
                _ => {}
            }
        }
    });
    let payload = vec![0x5a; size];
    let clock_every = clock_every(size);
    let start = Instant::now();
    let deadline = start + p.stream_time;
    let mut sent = 0u64;
    let result: Result<()> = async {
        loop {
            if p.sent_enough(sent, deadline, clock_every) {
                break;
            }
            window.room(sent).await;
            tx.write_frame(Frame::binary(Payload::Borrowed(&payload))).await?;
            sent += 1;
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
        let mut ws = connect(p).await?;
        tokio::spawn(async move { while ws.read_frame().await.is_ok() {} });
        Ok(())
    })
    .await
}
