//! Built-in keepalive: `ConnectSettings::keepalive(interval, pong_timeout)` pings every
//! interval and fails the connection with `Error::PongTimeout` when nothing at all arrives
//! within the timeout of a ping. The local server answers pings for half a second, then
//! stops reading (a peer that hangs without closing TCP); the client notices within the pong
//! timeout, and `handle_disconnect` sees why (it could reconnect; here it stops).
//!
//! ```text
//! cargo run -p wsx-tokio --example keepalive
//! ```
//!
//! (`heartbeat.rs` sends its own pings from `handle_info` instead, the WebSockex idiom.)

use std::process::ExitCode;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::net::TcpListener;
use wsx_tokio::{
    Bytes, Client, CloseReason, ConnectSettings, Context, DisconnectStatus, Error, Handler, Reconnect, Reply,
};

struct Watched;

impl Handler for Watched {
    type Cast = ();
    type Info = ();

    fn handle_pong(&mut self, payload: Bytes, _ctx: &mut Context<'_, Self>) -> Reply {
        println!("pong ({} bytes): the server is alive", payload.len());
        Reply::Continue
    }

    fn handle_disconnect(&mut self, status: DisconnectStatus) -> Reconnect {
        println!("disconnected: {}", status.reason);
        Reconnect::Stop
    }
}

/// A server that answers pings (tungstenite does, while reading) for `alive`, then holds the
/// connection open without reading another byte.
async fn start_server(alive: Duration) -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("ws://{}/", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                let _ = tokio::time::timeout(alive, async { while let Some(Ok(_)) = ws.next().await {} }).await;
                println!("server: hanging");
                tokio::time::sleep(Duration::from_secs(60)).await;
            });
        }
    });
    Ok(url)
}

#[tokio::main]
async fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let url = start_server(Duration::from_millis(500)).await?;
    let settings = ConnectSettings::new(&url)?
        // A ping every 100 ms; fail if nothing comes back within 300 ms of one.
        .keepalive(Duration::from_millis(100), Duration::from_millis(300))
        // Also fail after 10 s without any frame (pings or not): a cheaper check for servers
        // that send data all the time.
        .idle_timeout(Duration::from_secs(10));
    let client = Client::start(settings, Watched).await?;
    let reason = client.wait().await;
    println!("stopped: {reason}");
    Ok(match reason {
        CloseReason::Error(Error::PongTimeout(_)) => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    })
}
