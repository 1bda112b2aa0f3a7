//! Runs the Autobahn TestSuite client cases against a fuzzing server.
//!
//! ```text
//! cargo run --release -p wsx-blocking --example autobahn_blocking -- ws://127.0.0.1:9001 wsx-blocking [--deflate | --deflate-no-context-takeover]
//! ```
//!
//! The flags are [`AutobahnArgs`]'s; the handlers are shared by every adapter's example.

use std::process::ExitCode;

use wsx_blocking::Client;
use wsx_testing::{AutobahnArgs, CaseCount, Echo};

fn case_count(args: &AutobahnArgs) -> Result<u32, String> {
    let counter = CaseCount::default();
    let client = Client::start(args.case_count(), counter.clone()).map_err(|e| format!("getCaseCount: {e}"))?;
    client.wait();
    counter.count()
}

fn main() -> ExitCode {
    let args = AutobahnArgs::parse("wsx-blocking");
    let count = match case_count(&args) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("running {count} cases as {}", args.agent);
    for case in 1..=count {
        match Client::start(args.case(case), Echo) {
            Ok(client) => {
                client.wait();
            }
            Err(e) => eprintln!("case {case}: {e}"),
        }
    }
    // The server writes the reports and drops this connection; its close reason does not matter.
    if let Ok(client) = Client::start(args.update_reports(), Echo) {
        client.wait();
    }
    ExitCode::SUCCESS
}
