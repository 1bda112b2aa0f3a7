//! Where outgoing messages come from: lines of a pipe, bytes of a pipe, or the prompt.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use rustyline::error::ReadlineError;
use tokio::io::{AsyncBufReadExt, AsyncReadExt};
use tokio::sync::mpsc;

use crate::output::Output;

/// One item of input.
#[derive(Debug)]
pub enum Input {
    /// A line, without its line ending: a text message.
    Line(String),
    /// A read of `--binary` input: a binary message.
    Bytes(Bytes),
    /// The end of input (EOF, Ctrl-D).
    End,
    /// Reading failed.
    Failed(String),
}

/// The largest binary message one read of stdin makes.
const BINARY_CHUNK: usize = 64 * 1024;

/// Reads stdin lines (or, with `binary`, chunks of bytes) into `to`, then [`Input::End`].
pub fn spawn_pipe_reader(binary: bool, to: mpsc::Sender<Input>) {
    tokio::spawn(async move {
        let end = if binary {
            read_chunks(&to).await
        } else {
            read_lines(&to).await
        };
        let _ = to.send(end).await;
    });
}

async fn read_lines(to: &mpsc::Sender<Input>) -> Input {
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    loop {
        match lines.next_line().await {
            Ok(Some(line)) => {
                let line = line.strip_suffix('\r').map(str::to_owned).unwrap_or(line);
                if to.send(Input::Line(line)).await.is_err() {
                    return Input::End;
                }
            }
            Ok(None) => return Input::End,
            Err(e) => return Input::Failed(format!("reading stdin: {e}")),
        }
    }
}

async fn read_chunks(to: &mpsc::Sender<Input>) -> Input {
    let mut stdin = tokio::io::stdin();
    loop {
        let mut buf = BytesMut::with_capacity(BINARY_CHUNK);
        match stdin.read_buf(&mut buf).await {
            Ok(0) => return Input::End,
            Ok(_) => {
                if to.send(Input::Bytes(buf.freeze())).await.is_err() {
                    return Input::End;
                }
            }
            Err(e) => return Input::Failed(format!("reading stdin: {e}")),
        }
    }
}

/// True when stdin and stdout are a terminal: the prompt instead of a pipe.
pub fn is_interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// Where the prompt keeps its history: `$WSX_HISTORY`, else `~/.wsx_history`.
fn history_file() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("WSX_HISTORY") {
        return Some(path.into());
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".wsx_history"))
}

/// Starts the prompt on a thread of its own: lines typed go to `to`, Ctrl-C to `interrupt`
/// (at once, not behind lines still being sent), and from now on `output` prints above the
/// line being typed. After a Ctrl-C the prompt is not drawn again: the terminal is back in its
/// own mode, where a second Ctrl-C is a SIGINT.
pub fn spawn_prompt(
    output: Arc<Output>,
    to: mpsc::Sender<Input>,
    interrupt: mpsc::UnboundedSender<()>,
) -> Result<(), String> {
    let mut editor = rustyline::DefaultEditor::new().map_err(|e| format!("cannot start the prompt: {e}"))?;
    let printer = editor
        .create_external_printer()
        .map_err(|e| format!("cannot start the prompt: {e}"))?;
    output.use_printer(Box::new(printer));
    let history = history_file();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    std::thread::Builder::new()
        .name("wsx-prompt".into())
        .spawn(move || loop {
            let input = match editor.readline("> ") {
                Ok(line) => {
                    if !line.is_empty() {
                        let _ = editor.add_history_entry(line.as_str());
                        if let Some(path) = &history {
                            let _ = editor.append_history(path);
                        }
                    }
                    Input::Line(line)
                }
                Err(ReadlineError::Interrupted) => {
                    // The connection closes now. A new prompt could be drawn after the end
                    // wiped the prompt's line, in front of the shell's next line; and with no
                    // line being read, notices are printed at once, in order.
                    let _ = interrupt.send(());
                    return;
                }
                Err(ReadlineError::Eof) => Input::End,
                Err(e) => Input::Failed(format!("reading the prompt: {e}")),
            };
            let last = matches!(input, Input::End | Input::Failed(_));
            if to.blocking_send(input).is_err() || last {
                return;
            }
        })
        .map_err(|e| format!("cannot start the prompt: {e}"))?;
    Ok(())
}

/// The terminal's mode when `wsx` started, put back at exit: the prompt's thread may still be
/// in raw mode, reading a line, when the connection ends.
pub struct TerminalMode(Option<rustix::termios::Termios>);

impl TerminalMode {
    /// Saves stdin's terminal mode (nothing when stdin is no terminal).
    pub fn save() -> Self {
        Self(rustix::termios::tcgetattr(std::io::stdin()).ok())
    }
}

impl Drop for TerminalMode {
    fn drop(&mut self) {
        if let Some(mode) = &self.0 {
            let _ = rustix::termios::tcsetattr(std::io::stdin(), rustix::termios::OptionalActions::Now, mode);
        }
    }
}
