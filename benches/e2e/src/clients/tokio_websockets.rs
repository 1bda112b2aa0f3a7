//! tokio-websockets: `ClientBuilder::connect_on` over our TCP socket, split into sink and
//! stream, a reader task counting echoes, `feed` + `flush` to send.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio_websockets::{ClientBuilder, Message, WebSocketStream};

use super::{open_idle, pump_sink, stream_result, tcp};
use crate::window::Window;
use crate::{Latencies, Measurement, Params, Result, TEXT16};

async fn connect(p: &Params) -> Result<WebSocketStream<tokio::net::TcpStream>> {
    let (ws, _) = ClientBuilder::new().uri(&p.url())?.connect_on(tcp(p).await?).await?;
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
        ws.send(Message::text(TEXT16)).await?;
        match ws.next().await {
            Some(Ok(msg)) if msg.is_text() => {}
            other => return Err(format!("unexpected {other:?}").into()),
        }
        if i >= p.warmup {
            lat.record(t.elapsed());
        }
    }
    Ok(lat.finish(start.elapsed().as_secs_f64()))
}

pub async fn stream(p: &Params, size: usize) -> Result<Measurement> {
    let (mut sink, mut stream) = connect(p).await?.split();
    let window = Arc::new(Window::new(p.window(size)));
    let counter = window.clone();
    let reader = tokio::spawn(async move {
        while let Some(msg) = stream.next().await {
            let msg = msg?;
            if msg.is_binary() {
                counter.on_echo();
            }
        }
        Ok::<_, tokio_websockets::Error>(())
    });
    let payload = Bytes::from(vec![0x5a; size]);
    let start = Instant::now();
    let sent = pump_sink(&mut sink, || Message::binary(payload.clone()), &window, size, p).await;
    reader.abort();
    sent?;
    Ok(stream_result(&window, size, start))
}

pub async fn idle(p: &Params) -> Result<Measurement> {
    open_idle(p, |_| async move {
        let mut ws = connect(p).await?;
        tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} });
        Ok(())
    })
    .await
}
