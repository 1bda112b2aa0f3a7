//! `wsx`: a WebSocket client and server for the command line, on wsx-tokio. `wsx --help`
//! says it all.

mod args;
mod bench;
mod certificate;
mod echo_server;
mod exit;
mod input;
mod listen;
mod output;
mod session;
mod settings;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::exit::{Exit, Failure};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.connect.verbose);
    let json = cli.connect.json
        || matches!(&cli.command, Some(Command::Bench(b)) if b.json)
        || matches!(&cli.command, Some(Command::Listen(l)) if l.json);
    let result = match cli.command {
        Some(Command::EchoServer(args)) => on_runtime(echo_server::run(args)),
        Some(Command::Listen(args)) => on_runtime(listen::run(args)),
        Some(Command::Bench(args)) => on_runtime(bench::run(*args)),
        None => on_runtime(session::run(cli.connect)),
    };
    match result {
        Ok(exit) => exit.code(),
        Err(failure) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"event": "error", "message": failure.message, "exit": failure.exit as u8})
                );
            }
            eprintln!("error: {failure}");
            failure.exit.code()
        }
    }
}

/// Runs `job` on a tokio runtime, and leaves without waiting for the thread that reads stdin
/// (blocked in a read that only the end of input finishes).
fn on_runtime(job: impl std::future::Future<Output = Result<Exit, Failure>>) -> Result<Exit, Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::new(Exit::Other, format!("cannot start the runtime: {e}")))?;
    let result = runtime.block_on(job);
    runtime.shutdown_background();
    result
}

/// `-v`: the library's debug events (target `wsx`) on stderr; `-vv`: trace. `RUST_LOG`
/// overrides.
fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => return,
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!(
            "wsx={level},wsx_proto={level},wsx_tokio={level},wsx_cli={level}"
        ))
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
