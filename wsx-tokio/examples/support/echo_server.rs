//! A local echo server for the examples, on tokio-tungstenite (an independent implementation).

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

/// Starts an echo server on a free loopback port and returns its URL.
pub async fn start() -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("ws://{}/", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(serve(tcp));
        }
    });
    Ok(url)
}

/// Echoes text and binary messages on one connection (plain TCP or TLS) until it closes.
/// tungstenite answers pings itself.
pub async fn serve(stream: impl AsyncRead + AsyncWrite + Unpin) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    while let Some(Ok(msg)) = ws.next().await {
        let reply = match msg {
            Message::Text(_) | Message::Binary(_) => msg,
            Message::Close(_) => {
                // tungstenite queued the close reply while reading; send it.
                let _ = ws.flush().await;
                return;
            }
            _ => continue,
        };
        if ws.send(reply).await.is_err() {
            break;
        }
    }
}
