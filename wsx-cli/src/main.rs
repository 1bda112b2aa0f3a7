//! `wsx`: a WebSocket client for the command line, on wsx-tokio. `wsx --help` says it all.

mod args;
mod bench;
mod echo_server;
mod exit;
mod input;
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
    let json = cli.connect.json || matches!(&cli.command, Some(Command::Bench(b)) if b.json);
    let result = match cli.command {
        Some(Command::EchoServer(args)) => echo_server::run(args),
        Some(Command::Bench(args)) => runtime().and_then(|rt| rt.block_on(bench::run(*args))),
        None => runtime().and_then(|rt| rt.block_on(session::run(cli.connect))),
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

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::new(Exit::Other, format!("cannot start the runtime: {e}")))
}

/// `-v`: the library's debug events on stderr; `-vv`: trace. `RUST_LOG` overrides.
fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => return,
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("wsx_proto={level},wsx_tokio={level},wsx_cli={level}"))
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
