//! `wsx echo-server`: the project's test server, echoing, recording nothing.

use std::io::Write;
use std::net::SocketAddr;

use wsx_testing::{TestPki, TestServer};

use crate::args::EchoServerArgs;
use crate::exit::{Exit, Failure};

/// Serves until the process is killed; prints the URL (and with `--tls` writes the CA) first.
pub fn run(args: EchoServerArgs) -> Result<Exit, Failure> {
    let addr = SocketAddr::new(args.host, args.port);
    // Bind first, so a port in use is a clear error rather than a panic in the server.
    drop(
        std::net::TcpListener::bind(addr)
            .map_err(|e| Failure::new(Exit::Other, format!("cannot listen on {addr}: {e}")))?,
    );
    let pki = args.tls.then(TestPki::new);
    if let (Some(pki), Some(path)) = (&pki, &args.ca_out) {
        std::fs::write(path, &pki.ca_pem)
            .map_err(|e| Failure::new(Exit::Other, format!("cannot write {}: {e}", path.display())))?;
    }
    let server = TestServer::echo_on(addr, pki.as_ref());
    let url = match (&pki, args.host.is_loopback()) {
        (Some(_), true) => format!("wss://localhost:{}/", server.addr().port()),
        (Some(_), false) => format!("wss://{}/", server.addr()),
        (None, _) => format!("ws://{}/", server.addr()),
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{url}").and_then(|()| out.flush());
    drop(out);
    loop {
        std::thread::park();
    }
}
