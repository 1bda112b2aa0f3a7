//! yawc as an Autobahn client, with permessage-deflate at [`DEFLATE_LEVEL`]: the peer whose
//! 12.* wall time `benches/autobahn-deflate.sh` sets beside wsx's.
//!
//! ```text
//! yawc-autobahn ws://127.0.0.1:9001 [AGENT]
//! ```

use futures_util::{SinkExt, StreamExt};
use wsx_bench_e2e::DEFLATE_LEVEL;
use yawc::{OpCode, Options, WebSocket};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn options() -> Options {
    Options::default()
        .with_no_delay()
        .with_utf8()
        .with_limits(64 << 20, 64 << 20)
        .with_compression_level(yawc::CompressionLevel::new(DEFLATE_LEVEL))
}

/// Echoes every message until the connection ends (yawc answers the server's close itself,
/// and ends the stream once the close handshake is done).
async fn run_case(url: &str) -> Result<()> {
    let mut ws = WebSocket::connect(url.parse()?).with_options(options()).await?;
    while let Some(frame) = ws.next().await {
        if let OpCode::Text | OpCode::Binary = frame.opcode() {
            ws.send(frame).await?;
        }
    }
    Ok(())
}

async fn case_count(base: &str) -> Result<u32> {
    let mut ws = WebSocket::connect(format!("{base}/getCaseCount").parse()?).await?;
    while let Some(frame) = ws.next().await {
        if frame.opcode() == OpCode::Text {
            return Ok(std::str::from_utf8(frame.payload())?.trim().parse()?);
        }
    }
    Err("getCaseCount sent no count".into())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let agent = args.next().unwrap_or_else(|| "yawc".into());
    let count = case_count(&base).await?;
    eprintln!("running {count} cases as {agent}");
    for case in 1..=count {
        if let Err(e) = run_case(&format!("{base}/runCase?case={case}&agent={agent}")).await {
            eprintln!("case {case}: {e}");
        }
    }
    let _ = run_case(&format!("{base}/updateReports?agent={agent}")).await;
    Ok(())
}
