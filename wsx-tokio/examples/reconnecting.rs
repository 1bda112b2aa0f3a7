//! A client that reconnects when the server goes away: `handle_disconnect` returns
//! `Reconnect` and the handler's state survives. The local server sends the first two
//! connections away with 1001 and serves the third.
//!
//! ```text
//! cargo run -p wsx-tokio --example reconnecting
//! ```

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::protocol::{frame::coding::CloseCode, CloseFrame};
use tokio_tungstenite::tungstenite::Message;
use wsx_tokio::{Client, Context, DisconnectStatus, Frame, Handler, Reconnect, Reply, Response};

struct Persistent {
    connects: u32,
}

impl Handler for Persistent {
    type Cast = ();
    type Info = ();

    fn handle_connect(&mut self, _response: &Response, _ctx: &mut Context<'_, Self>) {
        self.connects += 1;
        println!("connected (connection #{})", self.connects);
    }

    fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        println!("received {frame:?}");
        Reply::Close
    }

    fn handle_disconnect(&mut self, status: DisconnectStatus) -> Reconnect {
        println!("disconnected: {} (attempt {})", status.reason, status.attempt);
        if status.attempt <= 5 && !status.reason.is_normal() {
            Reconnect::Reconnect
        } else {
            Reconnect::Stop
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("ws://{}/", listener.local_addr()?);
    let served = Arc::new(AtomicU32::new(0));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let n = served.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                if n < 2 {
                    let away = CloseFrame {
                        code: CloseCode::Away,
                        reason: "restarting".into(),
                    };
                    let _ = ws.close(Some(away)).await;
                } else {
                    let _ = ws.send(Message::text("welcome back")).await;
                }
                while let Some(Ok(_)) = ws.next().await {}
            });
        }
    });
    let client = Client::start(url.as_str(), Persistent { connects: 0 }).await?;
    println!("stopped: {}", client.wait().await);
    Ok(())
}
