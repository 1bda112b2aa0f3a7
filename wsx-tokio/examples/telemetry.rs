//! What a client tells the world: `tracing` events on target `wsx` (printed here on stderr by
//! tracing-subscriber; `RUST_LOG` changes the filter, default `wsx=debug`), telemetry
//! `Observer`s registered on the builder (every connect, frame, disconnect and the end, with a
//! timestamp, the settings and the handler's type), and the client's counters (`stats()`).
//!
//! ```text
//! cargo run -p wsx-tokio --example telemetry -- [URL]
//! ```
//! Without a URL it starts a local echo server first.

#[path = "support/echo_server.rs"]
mod echo_server;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tracing_subscriber::EnvFilter;
use wsx_tokio::telemetry::{Observer, Telemetry, TelemetryKind};
use wsx_tokio::{Context, Frame, Handler, Reply};

/// Prints every event and counts the frames received. Runs on the connection's task: quick.
#[derive(Default)]
struct Printer {
    frames_in: AtomicUsize,
}

impl Observer for Printer {
    fn observe(&self, event: &Telemetry<'_>) {
        if let TelemetryKind::FrameReceived(_) = event.kind {
            self.frames_in.fetch_add(1, Ordering::Relaxed);
        }
        println!(
            "telemetry: {} {:?} ({})",
            event.settings.url().as_str(),
            event.kind,
            event.handler
        );
    }
}

/// Closes after the first echo.
struct OneEcho;

impl Handler for OneEcho {
    type Cast = ();
    type Info = ();

    fn handle_frame(&mut self, _frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        Reply::Close
    }
}

#[tokio::main]
async fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("wsx=debug")))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let url = match std::env::args().nth(1) {
        Some(url) => url,
        None => echo_server::start().await?,
    };
    let printer = Arc::new(Printer::default());
    let client = wsx_tokio::builder(url.as_str())
        .observer(printer.clone())
        .start(OneEcho)
        .await?;
    client.send_frame(Frame::text("observed")).await?;
    let reason = client.wait().await;
    println!("stats: {:?}; closed: {reason}", client.stats());
    // The echo and the server's close frame.
    Ok(
        if reason.is_normal() && printer.frames_in.load(Ordering::Relaxed) == 2 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}
