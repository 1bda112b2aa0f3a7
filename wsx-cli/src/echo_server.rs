//! `wsx echo-server`: the library's server, echoing every message.

use std::io::Write;
use std::net::SocketAddr;

use wsx_tokio::{Context, Decision, Frame, Handler, Reply};

use crate::args::EchoServerArgs;
use crate::exit::{Exit, Failure};

/// Echoes text and binary messages; pings are answered by the default `handle_ping`.
struct Echo;

impl Handler for Echo {
    type Cast = ();
    type Info = ();

    fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        Reply::Frame(frame)
    }
}

/// Serves until the process is killed; prints the URL (and with `--tls` writes the CA) first.
pub async fn run(args: EchoServerArgs) -> Result<Exit, Failure> {
    let addr = SocketAddr::new(args.host, args.port);
    let mut builder = wsx_tokio::server::builder();
    if args.tls {
        let (config, ca_pem) = crate::certificate::made_now()?;
        if let Some(path) = &args.ca_out {
            std::fs::write(path, ca_pem)
                .map_err(|e| Failure::new(Exit::Other, format!("cannot write {}: {e}", path.display())))?;
        }
        builder = builder.tls(config);
    }
    let server = builder
        .bind(addr, |_request| Decision::accept(Echo))
        .await
        .map_err(|e| Failure::new(Exit::Other, format!("cannot listen on {addr}: {e}")))?;
    let bound = server.local_addr();
    let url = match (args.tls, args.host.is_loopback()) {
        (true, true) => format!("wss://localhost:{}/", bound.port()),
        (true, false) => format!("wss://{bound}/"),
        (false, _) => format!("ws://{bound}/"),
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{url}").and_then(|()| out.flush());
    drop(out);
    std::future::pending::<()>().await;
    Ok(Exit::Ok)
}
