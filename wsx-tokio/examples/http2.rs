//! WebSockets over HTTP/2 (RFC 8441): three clients of one origin, each a stream of one shared
//! HTTP/2 connection.
//!
//! ```text
//! cargo run -p wsx-tokio --example http2 -- [URL]
//! ```
//! Without a URL it starts a local RFC 8441 echo server (h2c) and checks that the three clients
//! came over one TCP connection. With a `wss://` URL HTTP/2 is preferred (ALPN); with a `ws://`
//! one it is required, with prior knowledge (h2c).

#[path = "support/h2_echo_server.rs"]
mod h2_echo_server;

use std::process::ExitCode;
use std::sync::atomic::Ordering;

use wsx_tokio::http2::{Http2, HttpVersion};
use wsx_tokio::{Client, ConnectSettings, Context, Frame, Handler, Reply, Response};

/// Prints what comes back.
struct Printer(usize);

impl Handler for Printer {
    type Cast = ();
    type Info = ();

    fn handle_connect(&mut self, response: &Response, _ctx: &mut Context<'_, Self>) {
        let over = match response.http_version() {
            HttpVersion::Http2 => "HTTP/2",
            _ => "HTTP/1.1",
        };
        println!("client {} connected over {over}", self.0);
    }

    fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        if let Frame::Text(text) = frame {
            println!("client {} got {text:?}", self.0);
        }
        Reply::Continue
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let (url, local) = match std::env::args().nth(1) {
        Some(url) => (url, None),
        None => match h2_echo_server::start().await {
            Ok((url, connections)) => {
                eprintln!("no URL given: started a local RFC 8441 echo server at {url}");
                (url, Some(connections))
            }
            Err(e) => {
                eprintln!("error: could not start the local server: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let http2 = if url.starts_with("wss://") {
        Http2::Prefer
    } else {
        Http2::Require
    };
    let mut clients = Vec::new();
    for i in 1..=3 {
        // Same origin, same settings: the clients share one HTTP/2 connection.
        let settings = match ConnectSettings::new(&format!("{}/feed/{i}", url.trim_end_matches('/'))) {
            Ok(settings) => settings.http2(http2),
            Err(e) => {
                eprintln!("error: invalid URL {url:?}: {e}");
                return ExitCode::FAILURE;
            }
        };
        match Client::start(settings, Printer(i)).await {
            Ok(client) => clients.push(client),
            Err(e) => {
                eprintln!("error: could not connect: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    for (i, client) in clients.iter().enumerate() {
        let _ = client.send(Frame::text(format!("hello from client {}", i + 1))).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    for client in &clients {
        let _ = client.close();
        let _ = client.wait().await;
    }
    if let Some(connections) = local {
        let connections = connections.load(Ordering::SeqCst);
        println!("3 clients, {connections} TCP connection(s)");
        if connections != 1 {
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
