//! Runs the Autobahn TestSuite client cases against a fuzzing server.
//!
//! ```text
//! cargo run --release -p wsx-blocking --example autobahn_client -- ws://127.0.0.1:9001 wsx-blocking
//! ```

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use wsx_blocking::{Client, Context, Frame, Handler, Reply};

/// Echoes every message back, as the Autobahn cases expect.
struct Echo;

impl Handler for Echo {
    type Cast = ();
    type Info = ();

    fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        match frame {
            Frame::Text(_) | Frame::Binary(_) => Reply::Frame(frame),
            _ => Reply::Continue,
        }
    }
}

/// Keeps the first text message (the case count).
struct FirstText(Arc<Mutex<Option<String>>>);

impl Handler for FirstText {
    type Cast = ();
    type Info = ();

    fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        if let Frame::Text(text) = frame {
            self.0.lock().unwrap().get_or_insert(text.to_string());
        }
        Reply::Continue
    }
}

fn case_count(base: &str) -> Result<u32, String> {
    let slot = Arc::new(Mutex::new(None));
    let client = Client::start(format!("{base}/getCaseCount"), FirstText(slot.clone()))
        .map_err(|e| format!("getCaseCount: {e}"))?;
    client.wait();
    let text = slot.lock().unwrap().take().ok_or("getCaseCount sent no count")?;
    text.trim().parse().map_err(|e| format!("bad case count {text:?}: {e}"))
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let agent = args.next().unwrap_or_else(|| "wsx-blocking".into());
    let base = base.trim_end_matches('/');
    let count = match case_count(base) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("running {count} cases as {agent}");
    for case in 1..=count {
        match Client::start(format!("{base}/runCase?case={case}&agent={agent}"), Echo) {
            Ok(client) => {
                client.wait();
            }
            Err(e) => eprintln!("case {case}: {e}"),
        }
    }
    // The server writes the reports and drops this connection; its close reason does not matter.
    if let Ok(client) = Client::start(format!("{base}/updateReports?agent={agent}"), Echo) {
        client.wait();
    }
    ExitCode::SUCCESS
}
