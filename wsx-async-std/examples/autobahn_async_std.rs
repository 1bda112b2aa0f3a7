//! Runs the Autobahn TestSuite client cases against a fuzzing server, under async-std or,
//! with `--smol`, under smol (both the caller's `block_on` and the clients' executor).
//!
//! ```text
//! cargo run --release -p wsx-async-std --example autobahn_async_std -- ws://127.0.0.1:9001 wsx-async-std [--smol] [--deflate | --deflate-no-context-takeover]
//! ```
//!
//! The flags are [`AutobahnArgs`]'s; the handlers are shared by every adapter's example.

use std::process::ExitCode;

use wsx_async_std::{executor::AsyncStd, executor::Smol, executor::Start, executor::StartFuture, Builder};
use wsx_testing::{AutobahnArgs, CaseCount, Echo};

/// An executor both handlers can be started on.
trait Executor: Start<Echo, Output = StartFuture<Echo>> + Start<CaseCount, Output = StartFuture<CaseCount>> {}
impl<E> Executor for E where
    E: Start<Echo, Output = StartFuture<Echo>> + Start<CaseCount, Output = StartFuture<CaseCount>>
{
}

async fn case_count<E: Executor>(args: &AutobahnArgs) -> Result<u32, String> {
    let counter = CaseCount::default();
    let client = Builder::<E>::new(args.case_count())
        .start(counter.clone())
        .await
        .map_err(|e| format!("getCaseCount: {e}"))?;
    client.wait().await;
    counter.count()
}

async fn run<E: Executor>(args: AutobahnArgs) -> ExitCode {
    let count = match case_count::<E>(&args).await {
        Ok(n) => n,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "running {count} cases as {} on {}",
        args.agent,
        std::any::type_name::<E>()
    );
    for case in 1..=count {
        match Builder::<E>::new(args.case(case)).start(Echo).await {
            Ok(client) => {
                client.wait().await;
            }
            Err(e) => eprintln!("case {case}: {e}"),
        }
    }
    // The server writes the reports and drops this connection; its close reason does not matter.
    if let Ok(client) = Builder::<E>::new(args.update_reports()).start(Echo).await {
        client.wait().await;
    }
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args = AutobahnArgs::parse("wsx-async-std");
    if args.smol {
        smol::block_on(run::<Smol>(args))
    } else {
        async_std::task::block_on(run::<AsyncStd>(args))
    }
}
