//! One library's WebSocket echo server, for the server workloads: `benches/run.sh` starts one
//! for each run, pinned to one core, and `wsx-e2e load` measures it from outside (its CPU time
//! and memory from `/proc`), so the server does nothing but serve until it is killed.
//!
//! ```text
//! wsx-e2e-server --server NAME [--addr 127.0.0.1:0] [--port-file FILE]
//! ```
//! Prints `listening on ADDR` and writes the port to FILE if given.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;

use wsx_bench_e2e::servers::{self, ServerKind};
use wsx_bench_e2e::SERVERS;

fn usage() -> ExitCode {
    eprintln!(
        "usage: wsx-e2e-server --server NAME [--addr 127.0.0.1:0] [--port-file FILE]\n\nservers: {}",
        SERVERS.join(" ")
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut kind = None;
    let mut addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut port_file = None;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let Some(value) = it.next() else {
            return usage();
        };
        let ok = match flag.as_str() {
            "--server" => ServerKind::parse(value).map(|k| kind = Some(k)).is_some(),
            "--addr" => value.parse().map(|a| addr = a).is_ok(),
            "--port-file" => {
                port_file = Some(value.clone());
                true
            }
            _ => false,
        };
        if !ok {
            eprintln!("bad argument: {flag} {value}");
            return usage();
        }
    }
    let Some(kind) = kind else {
        return usage();
    };
    // A socket a connection, and wsx-blocking's wake-up descriptor for each.
    wsx_bench_e2e::sys::raise_nofile(1 << 20);
    let listening = |local: SocketAddr| {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {local}")?;
        out.flush()?;
        if let Some(file) = &port_file {
            std::fs::write(file, local.port().to_string())?;
        }
        Ok(())
    };
    match servers::serve(kind, addr, listening) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}: {e}", kind.name());
            ExitCode::FAILURE
        }
    }
}
