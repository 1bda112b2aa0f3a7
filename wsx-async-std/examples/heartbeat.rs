//! A client that pings the server every 200 ms from `handle_info`, the WebSockex idiom
//! `Process.send_after(self(), :heartbeat, interval)`, and stops after five pongs.
//!
//! ```text
//! cargo run -p wsx-async-std --example heartbeat -- [URL]
//! ```

#[path = "support/echo_server.rs"]
mod echo_server;

use std::time::Duration;

use wsx_async_std::{Bytes, Client, Context, Frame, Handler, Reply, Response};

const INTERVAL: Duration = Duration::from_millis(200);

struct Heartbeat {
    sent: u32,
    pongs: u32,
}

/// The one message this client sends itself.
struct Beat;

impl Handler for Heartbeat {
    type Cast = ();
    type Info = Beat;

    fn handle_connect(&mut self, _response: &Response, ctx: &mut Context<'_, Self>) {
        ctx.send_after(INTERVAL, Beat);
    }

    fn handle_info(&mut self, _beat: Beat, ctx: &mut Context<'_, Self>) -> Reply {
        self.sent += 1;
        ctx.send_after(INTERVAL, Beat);
        Reply::Frame(Frame::Ping(Bytes::from(format!("beat {}", self.sent))))
    }

    fn handle_pong(&mut self, payload: Bytes, _ctx: &mut Context<'_, Self>) -> Reply {
        self.pongs += 1;
        println!("pong: {}", String::from_utf8_lossy(&payload));
        if self.pongs == 5 {
            Reply::Close
        } else {
            Reply::Continue
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    smol::block_on(async {
        let url = match std::env::args().nth(1) {
            Some(url) => url,
            None => echo_server::start()?,
        };
        let client = Client::start(url.as_str(), Heartbeat { sent: 0, pongs: 0 }).await?;
        println!("closed: {}", client.wait().await);
        Ok(())
    })
}
