//! tokio-tungstenite, as its echo-server example: `accept_async` on each accepted socket, the
//! WebSocket split, and its text and binary messages forwarded into the sink (`forward` feeds
//! each one and flushes when no other is ready).

use std::net::SocketAddr;

use futures_util::{future, StreamExt, TryStreamExt};

use crate::Result;

pub async fn serve(addr: SocketAddr, listening: impl FnOnce(SocketAddr) -> Result<()>) -> Result<()> {
    super::accept_loop(addr, listening, |tcp| async move {
        let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
            return;
        };
        let (write, read) = ws.split();
        let _ = read
            .try_filter(|msg| future::ready(msg.is_text() || msg.is_binary()))
            .forward(write)
            .await;
    })
    .await
}
