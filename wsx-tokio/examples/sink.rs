//! Many messages through `Client::sink()`, a `futures::Sink` of frames: they are handed to the
//! connection in batches, and the sender waits whenever the send buffer (64 KiB here, set with
//! `builder(..).send_buffer(..)`) is full, so memory stays bounded however fast it sends. The
//! last message goes with `send_frame_timeout`, which returns once it is written. The handler
//! counts the echoes and closes after the last one.
//!
//! ```text
//! cargo run -p wsx-tokio --example sink -- [URL]
//! ```
//! Without a URL it starts a local echo server first.

#[path = "support/echo_server.rs"]
mod echo_server;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures_util::{stream, SinkExt};
use wsx_tokio::{Context, Frame, Handler, Reply};

/// Counts echoes; closes once `expected` have come back.
struct Counter {
    received: usize,
    expected: usize,
}

impl Handler for Counter {
    type Cast = ();
    type Info = ();

    fn handle_frame(&mut self, _frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        self.received += 1;
        if self.received == self.expected {
            Reply::Close
        } else {
            Reply::Continue
        }
    }
}

#[tokio::main]
async fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let url = match std::env::args().nth(1) {
        Some(url) => url,
        None => echo_server::start().await?,
    };
    let count = 20_000;

    let started = Instant::now();
    let client = wsx_tokio::builder(url.as_str())
        .send_buffer(64 * 1024)
        .start(Counter {
            received: 0,
            expected: count + 1,
        })
        .await?;
    let mut frames = stream::iter((0..count).map(|i| Ok(Frame::text(format!("message {i}")))));
    client.sink().send_all(&mut frames).await?;
    println!(
        "queued {count} messages; {:?} in the send buffer",
        client.buffered_bytes()
    );
    client
        .send_frame_timeout(Frame::text("the last one"), Duration::from_secs(5))
        .await?;

    let reason = client.wait().await;
    let stats = client.stats();
    println!(
        "{} frames out, {} in (the close handshake included) in {:?}; closed: {reason}",
        stats.frames_out,
        stats.frames_in,
        started.elapsed()
    );
    Ok(if reason.is_normal() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
