//! tokio-websockets, as its echo-server example: `ServerBuilder::accept` on each accepted
//! socket (no frame-size or payload limits), then a loop that sends every text and binary
//! message back, on an `unconstrained` task like the example's.

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use tokio_websockets::{Config, Limits, ServerBuilder};

use crate::Result;

pub async fn serve(addr: SocketAddr, listening: impl FnOnce(SocketAddr) -> Result<()>) -> Result<()> {
    super::accept_loop(addr, listening, |tcp| {
        tokio::task::unconstrained(async move {
            let builder = ServerBuilder::new()
                .config(Config::default().frame_size(usize::MAX))
                .limits(Limits::unlimited());
            let Ok((_request, mut ws)) = builder.accept(tcp).await else {
                return;
            };
            while let Some(Ok(msg)) = ws.next().await {
                if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                    return;
                }
            }
        })
    })
    .await
}
