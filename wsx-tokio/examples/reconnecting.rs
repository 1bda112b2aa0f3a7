//! A client that comes back when the server goes away: `handle_disconnect` waits a
//! `Backoff` delay (doubling from 50 ms up to 1 s, with full jitter) and reconnects, and the
//! handler's state survives across connections. The local server sends the first two
//! connections away with 1001 and greets the third; the client closes once greeted.
//!
//! ```text
//! cargo run -p wsx-tokio --example reconnecting
//! ```

use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::protocol::{frame::coding::CloseCode, CloseFrame};
use tokio_tungstenite::tungstenite::Message;
use wsx_tokio::config::Backoff;
use wsx_tokio::{Client, Context, DisconnectStatus, Frame, Handler, Reconnect, Reply, Response};

struct Persistent {
    connects: u32,
    backoff: Backoff,
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
        // Our own close (or a normal one from the server) ends the client; anything else
        // reconnects, up to five failed attempts in a row.
        if status.reason.is_normal() || status.attempt > 5 {
            return Reconnect::Stop;
        }
        // `self.backoff.reconnect(&status)` in one call; spelled out here to print the delay.
        let delay = self.backoff.next_delay(&status);
        println!(
            "disconnected: {} (attempt {}), again in {delay:?}",
            status.reason, status.attempt
        );
        Reconnect::After(delay)
    }
}

#[tokio::main]
async fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
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
    let handler = Persistent {
        connects: 0,
        backoff: Backoff::new(Duration::from_millis(50), Duration::from_secs(1)),
    };
    let client = Client::start(url.as_str(), handler).await?;
    let reason = client.wait().await;
    println!("stopped: {reason}");
    // Greeted on the third connection, then closed by us.
    Ok(if reason.is_normal() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
