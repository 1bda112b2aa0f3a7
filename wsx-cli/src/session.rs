//! `wsx URL`: the handler that prints what arrives, and the loop that sends what is typed or
//! piped, closes at the end of input and answers Ctrl-C.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use wsx_tokio::{
    config::Backoff, Bytes, Client, CloseCode, CloseReason, Context, DisconnectStatus, Frame, Handler, Reconnect,
    Reply, Response, SendError,
};

use crate::args::ConnectArgs;
use crate::exit::{Exit, Failure};
use crate::input::{self, Input};
use crate::output::Output;
use crate::settings::connect_settings;

/// The first reconnect waits up to this long (full jitter), doubling up to [`BACKOFF_CAP`].
const BACKOFF_BASE: Duration = Duration::from_millis(100);
const BACKOFF_CAP: Duration = Duration::from_secs(10);

/// The callbacks of `wsx URL`.
struct Printer {
    output: Arc<Output>,
    url: String,
    once: bool,
    close_code: CloseCode,
    close_reason: String,
    /// With `--reconnect`.
    backoff: Option<Backoff>,
    max_reconnects: Option<u32>,
    /// Handshakes completed so far.
    connects: u32,
    /// The close is on its way: print nothing more (`--once` printed its message).
    done: bool,
    /// Whether a connection is open, for the sender (which waits while reconnecting).
    connected: watch::Sender<bool>,
}

impl Printer {
    fn close(&self) -> Reply {
        Reply::CloseWith(self.close_code, self.close_reason.clone())
    }

    /// After a message: close once the message `--once` waited for came, or stdout is gone.
    fn after_message(&mut self) -> Reply {
        if self.once || self.output.stdout_gone() {
            self.done = true;
            return self.close();
        }
        Reply::Continue
    }
}

impl Handler for Printer {
    type Cast = ();
    type Info = ();

    fn handle_connect(&mut self, response: &Response, _ctx: &mut Context<'_, Self>) {
        self.output.connected(&self.url, response, self.connects);
        self.connects += 1;
        self.connected.send_replace(true);
    }

    fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        if self.done {
            return Reply::Continue;
        }
        match frame {
            Frame::Text(text) => self.output.text(&text),
            Frame::Binary(data) => self.output.binary(&data),
            // Fragments are only delivered when asked for, and close frames end the session.
            _ => return Reply::Continue,
        }
        self.after_message()
    }

    fn handle_ping(&mut self, payload: Bytes, _ctx: &mut Context<'_, Self>) -> Reply {
        self.output.control("ping", &payload);
        Reply::Frame(Frame::Pong(payload))
    }

    fn handle_pong(&mut self, payload: Bytes, _ctx: &mut Context<'_, Self>) -> Reply {
        self.output.control("pong", &payload);
        Reply::Continue
    }

    fn handle_disconnect(&mut self, status: DisconnectStatus) -> Reconnect {
        self.connected.send_replace(false);
        let Some(backoff) = &mut self.backoff else {
            return Reconnect::Stop;
        };
        // This side asked to close: done.
        if matches!(
            status.reason,
            CloseReason::Local(_) | CloseReason::LocalTimedOut(_) | CloseReason::Crossed { .. }
        ) {
            return Reconnect::Stop;
        }
        if self.max_reconnects.is_some_and(|max| status.attempt > max) {
            return Reconnect::Stop;
        }
        let delay = backoff.next_delay(&status);
        self.output.reconnecting(&status.reason, status.attempt, delay);
        Reconnect::After(delay)
    }
}

/// Runs `wsx URL` to the end: the exit code, or the failure to print.
pub async fn run(args: ConnectArgs) -> Result<Exit, Failure> {
    let url = args
        .url
        .clone()
        .ok_or_else(|| Failure::new(Exit::Usage, "a URL is needed: wsx ws://host:port/path (see wsx --help)"))?;
    let settings = connect_settings(&url, &args.connection)?;
    let close_code = CloseCode(args.close_code);
    let output = Arc::new(Output::new(args.json, args.binary_output));
    let (connected, connected_rx) = watch::channel(false);
    let printer = Printer {
        output: output.clone(),
        url: url.clone(),
        once: args.once,
        close_code,
        close_reason: args.close_reason.clone(),
        backoff: args.reconnect.then(|| Backoff::new(BACKOFF_BASE, BACKOFF_CAP)),
        max_reconnects: args.max_reconnects,
        connects: 0,
        done: false,
        connected,
    };
    let (interrupt_tx, mut interrupts) = mpsc::unbounded_channel();
    forward_interrupts(interrupt_tx.clone())?;
    let start = wsx_tokio::builder(settings)
        .handle_initial_conn_failure(args.reconnect)
        .start(printer);
    let client = tokio::select! {
        started = start => {
            started.map_err(|e| Failure::new(Exit::for_error(&e), format!("cannot connect to {url}: {e}")))?
        }
        // Nothing to close yet: Ctrl-C while connecting quits.
        Some(()) = interrupts.recv() => return Ok(Exit::Interrupted),
    };

    let (input_tx, input_rx) = mpsc::channel(64);
    let closing = Arc::new(AtomicBool::new(false));
    let _terminal = input::TerminalMode::save();
    if input::is_interactive() && !args.json && !args.binary {
        // Before the prompt exists: printed through it while it starts, the line could land
        // after the first "> ".
        eprintln!("* connected to {url}; Ctrl-D or Ctrl-C closes");
        input::spawn_prompt(output.clone(), input_tx, interrupt_tx).map_err(|e| Failure::new(Exit::Other, e))?;
    } else {
        input::spawn_pipe_reader(args.binary, input_tx);
    }
    let (ended_tx, mut input_ended) = mpsc::channel(1);
    tokio::spawn(send_input(
        client.clone(),
        input_rx,
        connected_rx,
        output.clone(),
        closing.clone(),
        ended_tx,
    ));

    let close = || {
        closing.store(true, Ordering::Relaxed);
        let _ = client.close_with(close_code, args.close_reason.clone());
    };
    let mut close_at: Option<Instant> = None;
    let wait = client.wait();
    tokio::pin!(wait);
    let reason = loop {
        tokio::select! {
            reason = &mut wait => break reason,
            Some(()) = interrupts.recv() => {
                if closing.load(Ordering::Relaxed) {
                    output.end_prompt();
                    return Ok(Exit::Interrupted);
                }
                output.notice("closing (Ctrl-C again quits at once)");
                close();
            }
            Some(ended) = input_ended.recv() => {
                if let Err(message) = ended {
                    output.error(&message);
                    close();
                } else if !args.no_close && !args.once {
                    close_at = Some(Instant::now() + args.linger);
                }
            }
            () = sleep_until(close_at) => {
                close_at = None;
                close();
            }
        }
    };
    output.end_prompt();
    output.closed(&reason);
    Ok(Exit::for_reason(&reason))
}

/// Sends `()` to `to` on every SIGINT (Ctrl-C outside the prompt). The handler is in place
/// when this returns, so an early Ctrl-C never kills the process mid-handshake.
#[cfg(unix)]
fn forward_interrupts(to: mpsc::UnboundedSender<()>) -> Result<(), Failure> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupts =
        signal(SignalKind::interrupt()).map_err(|e| Failure::new(Exit::Other, format!("cannot handle Ctrl-C: {e}")))?;
    tokio::spawn(async move {
        while interrupts.recv().await.is_some() {
            if to.send(()).is_err() {
                return;
            }
        }
    });
    Ok(())
}

#[cfg(not(unix))]
fn forward_interrupts(to: mpsc::UnboundedSender<()>) -> Result<(), Failure> {
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            if to.send(()).is_err() {
                return;
            }
        }
    });
    Ok(())
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Sends each input as a message, waiting while a reconnect is under way; tells `ended` when
/// the input is over (`Err` when reading it failed).
async fn send_input(
    client: Client<Printer>,
    mut input: mpsc::Receiver<Input>,
    mut connected: watch::Receiver<bool>,
    output: Arc<Output>,
    closing: Arc<AtomicBool>,
    ended: mpsc::Sender<Result<(), String>>,
) {
    while let Some(item) = input.recv().await {
        let frame = match item {
            Input::Line(line) => Frame::text(line),
            Input::Bytes(bytes) => Frame::Binary(bytes),
            Input::End => break,
            Input::Failed(message) => {
                let _ = ended.send(Err(message)).await;
                return;
            }
        };
        loop {
            if connected.wait_for(|open| *open).await.is_err() {
                return;
            }
            match client.send(frame.clone()).await {
                Ok(()) => break,
                // Dropped before it left, and a reconnect is coming: send it on the next one.
                Err(SendError::NotConnected)
                    if !matches!(client.status(), wsx_tokio::client::Status::Terminated(_)) =>
                {
                    if connected.wait_for(|open| !*open).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    if !closing.load(Ordering::Relaxed)
                        && !matches!(client.status(), wsx_tokio::client::Status::Terminated(_))
                    {
                        output.error(&format!("could not send: {e}"));
                    }
                    return;
                }
            }
        }
    }
    let _ = ended.send(Ok(())).await;
}
