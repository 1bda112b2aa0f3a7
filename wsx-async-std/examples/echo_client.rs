//! Sends each line of stdin as a text frame and prints each text frame received, one per line.
//! At the end of input it closes with 1000 and waits for the close handshake.
//!
//! ```text
//! cargo run -p wsx-async-std --example echo_client -- [ws://host:port/path]
//! ```
//! Without a URL it starts a local echo server first.

#[path = "support/echo_server.rs"]
mod echo_server;

use std::io::Write;
use std::process::ExitCode;

use futures_lite::{io::BufReader, AsyncBufReadExt, StreamExt};
use wsx_async_std::{Client, CloseReason, Context, Frame, Handler, Reply};

/// Prints text frames to stdout.
struct Printer;

impl Handler for Printer {
    type Cast = ();
    type Info = ();

    fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        if let Frame::Text(text) = frame {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
        Reply::Continue
    }
}

fn main() -> ExitCode {
    smol::block_on(run())
}

async fn run() -> ExitCode {
    let url = match std::env::args().nth(1) {
        Some(url) => url,
        None => match echo_server::start() {
            Ok(url) => {
                eprintln!("no URL given: started a local echo server at {url}");
                url
            }
            Err(e) => {
                eprintln!("error: could not start the local echo server: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let client = match Client::start(url.as_str(), Printer).await {
        Ok(client) => client,
        Err(e) => {
            eprintln!("error: could not connect to {url}: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Stdin is blocking; `blocking::Unblock` reads it on a thread pool, on any executor.
    let mut lines = BufReader::new(blocking::Unblock::new(std::io::stdin())).lines();
    while let Some(line) = lines.next().await {
        match line {
            Ok(line) => {
                if let Err(e) = client.send(Frame::text(line)).await {
                    eprintln!("error: could not send: {e}");
                    return ExitCode::FAILURE;
                }
            }
            Err(e) => {
                eprintln!("error: reading stdin: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if let Err(e) = client.close() {
        eprintln!("error: could not close: {e}");
        return ExitCode::FAILURE;
    }
    match client.wait().await {
        reason @ (CloseReason::Local(_) | CloseReason::Remote(_)) => {
            eprintln!("closed: {reason}");
            ExitCode::SUCCESS
        }
        reason => {
            eprintln!("error: connection ended badly: {reason}");
            ExitCode::FAILURE
        }
    }
}
