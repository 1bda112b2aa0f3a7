//! Runs the Autobahn TestSuite client cases against a fuzzing server, under async-std or,
//! with `--smol`, under smol (both the caller's `block_on` and the clients' executor).
//!
//! ```text
//! cargo run --release -p wsx-async-std --example autobahn_client -- ws://127.0.0.1:9001 wsx-async-std [--smol]
//! ```

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use wsx_async_std::{AsyncStd, Builder, Context, Frame, Handler, Reply, Smol, StartFuture};
use wsx_proto::Start;

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

/// An executor both handlers can be started on.
trait Executor: Start<Echo, Output = StartFuture<Echo>> + Start<FirstText, Output = StartFuture<FirstText>> {}
impl<E> Executor for E where
    E: Start<Echo, Output = StartFuture<Echo>> + Start<FirstText, Output = StartFuture<FirstText>>
{
}

async fn case_count<E: Executor>(base: &str) -> Result<u32, String> {
    let slot = Arc::new(Mutex::new(None));
    let client = Builder::<E>::new(format!("{base}/getCaseCount"))
        .start(FirstText(slot.clone()))
        .await
        .map_err(|e| format!("getCaseCount: {e}"))?;
    client.wait().await;
    let text = slot.lock().unwrap().take().ok_or("getCaseCount sent no count")?;
    text.trim().parse().map_err(|e| format!("bad case count {text:?}: {e}"))
}

async fn run<E: Executor>(base: String, agent: String) -> ExitCode {
    let base = base.trim_end_matches('/');
    let count = match case_count::<E>(base).await {
        Ok(n) => n,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("running {count} cases as {agent} on {}", std::any::type_name::<E>());
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        match Builder::<E>::new(url).start(Echo).await {
            Ok(client) => {
                client.wait().await;
            }
            Err(e) => eprintln!("case {case}: {e}"),
        }
    }
    // The server writes the reports and drops this connection; its close reason does not matter.
    let url = format!("{base}/updateReports?agent={agent}");
    if let Ok(client) = Builder::<E>::new(url).start(Echo).await {
        client.wait().await;
    }
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let mut smol = false;
    let mut args = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--smol" => smol = true,
            _ => args.push(arg),
        }
    }
    let mut args = args.into_iter();
    let base = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let agent = args.next().unwrap_or_else(|| "wsx-async-std".into());
    if smol {
        smol::block_on(run::<Smol>(base, agent))
    } else {
        async_std::task::block_on(run::<AsyncStd>(base, agent))
    }
}
