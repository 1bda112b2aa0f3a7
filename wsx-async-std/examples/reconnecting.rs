//! A client that reconnects when the server goes away: `handle_disconnect` returns
//! `Reconnect` and the handler's state survives. The local server sends the first two
//! connections away with 1001 and serves the third. Runs under smol, on smol's executor.
//!
//! ```text
//! cargo run -p wsx-async-std --example reconnecting
//! ```

use std::net::TcpListener;

use tungstenite::protocol::{frame::coding::CloseCode, CloseFrame};
use tungstenite::Message;
use wsx_async_std::{executor::Smol, Builder, Context, DisconnectStatus, Frame, Handler, Reconnect, Reply, Response};

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

/// A tungstenite server on a thread: the first two connections are sent away, the third is
/// greeted.
fn start_server() -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("ws://{}/", listener.local_addr()?);
    std::thread::spawn(move || {
        for (n, tcp) in listener.incoming().flatten().enumerate() {
            std::thread::spawn(move || {
                let Ok(mut ws) = tungstenite::accept(tcp) else {
                    return;
                };
                if n < 2 {
                    let away = CloseFrame {
                        code: CloseCode::Away,
                        reason: "restarting".into(),
                    };
                    let _ = ws.close(Some(away));
                } else {
                    let _ = ws.send(Message::text("welcome back"));
                }
                // Reading answers the client's close and flushes ours, until the end.
                while ws.read().is_ok() {}
            });
        }
    });
    Ok(url)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    smol::block_on(async {
        let url = start_server()?;
        let client = Builder::<Smol>::new(url.as_str())
            .start(Persistent { connects: 0 })
            .await?;
        println!("stopped: {}", client.wait().await);
        Ok(())
    })
}
