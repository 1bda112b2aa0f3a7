//! Runs the Autobahn TestSuite client cases against a fuzzing server.
//!
//! ```text
//! cargo run --release -p wsx-tokio --example autobahn_tokio -- ws://127.0.0.1:9001 wsx-tokio [--deflate | --deflate-no-context-takeover] [--http2]
//! ```
//!
//! The flags are [`AutobahnArgs`]'s; the handlers are shared by every adapter's example.

use std::process::ExitCode;

use wsx_testing::{AutobahnArgs, CaseCount, Echo};
use wsx_tokio::Client;

async fn case_count(args: &AutobahnArgs) -> Result<u32, String> {
    let counter = CaseCount::default();
    let client = Client::start(args.case_count(), counter.clone())
        .await
        .map_err(|e| format!("getCaseCount: {e}"))?;
    client.wait().await;
    counter.count()
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = AutobahnArgs::parse("wsx-tokio");
    let count = match case_count(&args).await {
        Ok(n) => n,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("running {count} cases as {}", args.agent);
    for case in 1..=count {
        match Client::start(args.case(case), Echo).await {
            Ok(client) => {
                client.wait().await;
            }
            Err(e) => eprintln!("case {case}: {e}"),
        }
    }
    // The server writes the reports and drops this connection; its close reason does not matter.
    if let Ok(client) = Client::start(args.update_reports(), Echo).await {
        client.wait().await;
    }
    ExitCode::SUCCESS
}
