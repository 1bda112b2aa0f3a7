//! A server and its clients with the same callback trait: the server routes by path (a chat
//! room per path under `/rooms/`, 404 elsewhere), greets each client from `handle_connect`,
//! and answers every message; then a graceful shutdown closes the clients with 1001.
//!
//! ```text
//! cargo run -p wsx-tokio --example server
//! ```

use std::time::Duration;

use wsx_tokio::error::HandshakeError;
use wsx_tokio::server::{Rejection, UpgradeRequest};
use wsx_tokio::{Client, Context, Decision, Error, Frame, Handler, Reply, Response, Server};

/// One client's connection to a room.
struct Room {
    name: String,
}

impl Handler for Room {
    type Cast = ();
    type Info = ();

    fn handle_connect(&mut self, _response: &Response, ctx: &mut Context<'_, Self>) {
        let origin = ctx.request().and_then(UpgradeRequest::origin).unwrap_or("no origin");
        println!("server: a client joined {} ({origin})", self.name);
    }

    fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        match frame {
            Frame::Text(text) => Reply::Frame(Frame::text(format!("[{}] {text}", self.name))),
            _ => Reply::Continue,
        }
    }
}

/// Which request gets a connection.
fn decide(request: &UpgradeRequest) -> Decision<Room> {
    match request.path().strip_prefix("/rooms/") {
        Some(name) if !name.is_empty() => Decision::accept(Room { name: name.to_owned() }),
        _ => Decision::reject(Rejection::new(404).body("no such room")),
    }
}

/// A client that prints what it receives.
struct Member;

impl Handler for Member {
    type Cast = ();
    type Info = ();

    fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        if let Frame::Text(text) = frame {
            println!("client: {text}");
        }
        Reply::Continue
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::bind("127.0.0.1:0", decide).await?;
    let base = format!("ws://{}", server.local_addr());
    println!("server: listening on {base}/rooms/NAME");

    let client = Client::start(format!("{base}/rooms/rust"), Member).await?;
    client.send_frame(Frame::text("hello")).await?;

    match Client::start(format!("{base}/lobby"), Member).await {
        Err(Error::Handshake(HandshakeError::Rejected(rejected))) => {
            println!("client: refused with {} {}", rejected.status, rejected.reason);
        }
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }

    // Let the echo arrive, then close every connection with 1001.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let report = server.shutdown(Duration::from_secs(2)).await;
    println!("server: closed {} of {} connections", report.closed, report.open);
    println!("client: {}", client.wait().await);
    Ok(())
}
