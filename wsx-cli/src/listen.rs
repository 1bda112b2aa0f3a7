//! `wsx listen ADDR`: a WebSocket server for the command line. Every message a client sends
//! is printed (a line of text, or JSON with `--json`); each line of standard input is sent to
//! every connected client; `--echo` also sends each message back to its sender. Ctrl-C
//! closes every connection with 1001 and exits.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};
use tokio::io::AsyncBufReadExt;
use wsx_tokio::config::Config;
use wsx_tokio::deflate::DeflateConfig;
use wsx_tokio::server::UpgradeRequest;
use wsx_tokio::{CloseReason, Context, Decision, Frame, Handler, Reply, Response};

use crate::args::{BinaryOutput, ListenArgs};
use crate::exit::{Exit, Failure};

/// How long Ctrl-C's graceful shutdown waits for clients to answer the close.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(2);

/// What every connection's handler prints to.
struct Printer {
    json: bool,
    binary: BinaryOutput,
    /// One writer at a time: lines of different clients never interleave.
    stdout: Mutex<std::io::Stdout>,
}

impl Printer {
    /// A message or event: a JSON line with `--json`, else `text` on stdout (`None`: a
    /// notice, on stderr).
    fn print(&self, event: Value, text: Option<&[u8]>) {
        let mut out = self.stdout.lock().unwrap_or_else(|e| e.into_inner());
        let _ = match (self.json, text) {
            (true, _) => writeln!(out, "{event}"),
            (false, Some(bytes)) => out.write_all(bytes),
            (false, None) => {
                let message = event["message"].as_str().unwrap_or_default().to_owned();
                return eprintln!("{message}");
            }
        };
        let _ = out.flush();
    }

    /// A received binary message as `--binary-output` says, one line unless raw.
    fn binary_text(&self, bytes: &[u8]) -> Vec<u8> {
        match self.binary {
            BinaryOutput::Raw => bytes.to_vec(),
            BinaryOutput::Hex => {
                format!("{}\n", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()).into_bytes()
            }
            BinaryOutput::Base64 => {
                format!("{}\n", base64::engine::general_purpose::STANDARD.encode(bytes)).into_bytes()
            }
        }
    }
}

/// One client's connection.
struct Connection {
    id: u64,
    path: String,
    echo: bool,
    printer: Arc<Printer>,
}

impl Handler for Connection {
    type Cast = ();
    type Info = ();

    fn handle_connect(&mut self, response: &Response, _ctx: &mut Context<'_, Self>) {
        let event = json!({
            "event": "connected",
            "client": self.id,
            "path": self.path,
            "subprotocol": response.subprotocol,
            "message": format!("client {} connected ({})", self.id, self.path),
        });
        self.printer.print(event, None);
    }

    fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        let (event, text) = match &frame {
            Frame::Text(text) => (
                json!({"event": "text", "client": self.id, "data": text.as_str()}),
                format!("{}\n", text.as_str()).into_bytes(),
            ),
            Frame::Binary(bytes) => (
                json!({
                    "event": "binary",
                    "client": self.id,
                    "data": base64::engine::general_purpose::STANDARD.encode(bytes),
                }),
                self.printer.binary_text(bytes),
            ),
            _ => return Reply::Continue,
        };
        self.printer.print(event, Some(&text));
        if self.echo {
            Reply::Frame(frame)
        } else {
            Reply::Continue
        }
    }

    fn terminate(&mut self, reason: &CloseReason) {
        let event = json!({
            "event": "closed",
            "client": self.id,
            "reason": reason.to_string(),
            "message": format!("client {} closed: {reason}", self.id),
        });
        self.printer.print(event, None);
    }
}

/// Serves until Ctrl-C.
pub async fn run(args: ListenArgs) -> Result<Exit, Failure> {
    let printer = Arc::new(Printer {
        json: args.json,
        binary: args.binary_output,
        stdout: Mutex::new(std::io::stdout()),
    });
    let config = Config::default().deflate(Some(DeflateConfig::default()));
    let mut builder = wsx_tokio::server::builder().config(config);
    let tls = match (&args.tls_cert, &args.tls_key, args.tls) {
        (Some(cert), Some(key), _) => Some(crate::certificate::from_files(cert, key)?),
        (_, _, true) => {
            let (config, ca_pem) = crate::certificate::made_now()?;
            if let Some(path) = &args.ca_out {
                std::fs::write(path, ca_pem)
                    .map_err(|e| Failure::new(Exit::Other, format!("cannot write {}: {e}", path.display())))?;
            }
            Some(config)
        }
        _ => None,
    };
    let secure = tls.is_some();
    if let Some(tls) = tls {
        builder = builder.tls(tls);
    }
    let next_id = AtomicU64::new(1);
    let (echo, decide_printer) = (args.echo, printer.clone());
    let decide = move |request: &UpgradeRequest| {
        Decision::accept(Connection {
            id: next_id.fetch_add(1, Ordering::Relaxed),
            path: request.path().to_owned(),
            echo,
            printer: decide_printer.clone(),
        })
    };
    let server = builder
        .bind(args.addr.as_str(), decide)
        .await
        .map_err(|e| Failure::new(Exit::Other, format!("cannot listen on {}: {e}", args.addr)))?;
    let addr = server.local_addr();
    let host = match (secure, addr.ip().is_loopback()) {
        (true, true) => format!("localhost:{}", addr.port()),
        _ => addr.to_string(),
    };
    let url = format!("{}://{host}/", if secure { "wss" } else { "ws" });
    printer.print(
        json!({"event": "listening", "url": url, "message": format!("listening on {url}")}),
        None,
    );
    let broadcast = async {
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            for client in server.clients() {
                // A client that is closing refuses: nothing to tell the user.
                let _ = client.send(Frame::text(line.clone())).await;
            }
        }
        // The end of input ends nothing: the server serves until interrupted.
        std::future::pending::<()>().await;
    };
    tokio::select! {
        _ = broadcast => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    let report = server.shutdown(SHUTDOWN_DEADLINE).await;
    printer.print(
        json!({
            "event": "shutdown",
            "open": report.open,
            "closed": report.closed,
            "aborted": report.aborted,
            "message": format!("closed {} of {} connections", report.closed, report.open),
        }),
        None,
    );
    Ok(Exit::Ok)
}
