//! What `wsx` prints: messages on stdout (lines, raw bytes or JSON), notices on stderr, and
//! at the prompt everything through the line editor's printer, above the line being typed.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};
use wsx_tokio::{close::CloseStatus, http2::HttpVersion, CloseReason, Response};

use crate::args::BinaryOutput;

/// Prints lines above the prompt. Each message ends with its newline: while no line is being
/// read (before the first prompt, after the last) rustyline writes it as it is, and without
/// one the next prompt would draw over it.
pub type Printer = Box<dyn rustyline::ExternalPrinter + Send>;

/// The printing side of `wsx`, shared by the handler and the input loop.
pub struct Output {
    json: bool,
    binary: BinaryOutput,
    /// At the prompt: the line editor's printer. Otherwise stdout and stderr.
    printer: Mutex<Option<Printer>>,
    /// The prompt was started (it stays true after [`end_prompt`](Self::end_prompt)).
    interactive: AtomicBool,
    /// Stdout is closed (`wsx URL | head -1`): time to close.
    stdout_gone: AtomicBool,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Output")
            .field("json", &self.json)
            .finish_non_exhaustive()
    }
}

impl Output {
    /// Plain lines (or JSON with `json`) on stdout.
    pub fn new(json: bool, binary: BinaryOutput) -> Self {
        Self {
            json,
            binary,
            printer: Mutex::new(None),
            interactive: AtomicBool::new(false),
            stdout_gone: AtomicBool::new(false),
        }
    }

    /// From now on, print through the prompt's printer.
    pub fn use_printer(&self, printer: Printer) {
        *self.printer.lock().unwrap_or_else(|e| e.into_inner()) = Some(printer);
        self.interactive.store(true, Ordering::Relaxed);
    }

    /// The session is over, and the prompt's thread may still be reading a line: wipes the
    /// prompt's line and turns off the bracketed paste rustyline turned on for it, and from now
    /// on prints directly (the prompt would print too late, or never: the process is exiting).
    pub fn end_prompt(&self) {
        if self.printer.lock().unwrap_or_else(|e| e.into_inner()).take().is_some() {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(b"\r\x1b[K\x1b[?2004l").and_then(|()| out.flush());
        }
    }

    /// True once stdout refused a write.
    pub fn stdout_gone(&self) -> bool {
        self.stdout_gone.load(Ordering::Relaxed)
    }

    /// True once the prompt started (also after it ended).
    pub fn interactive(&self) -> bool {
        self.interactive.load(Ordering::Relaxed)
    }

    /// A received text message.
    pub fn text(&self, text: &str) {
        if self.json {
            self.json_line(json!({"event": "text", "len": text.len(), "data": text}));
        } else {
            self.stdout_line(text.as_bytes());
        }
    }

    /// A received binary message.
    pub fn binary(&self, data: &[u8]) {
        if self.json {
            let encoded = base64::engine::general_purpose::STANDARD.encode(data);
            return self.json_line(json!({"event": "binary", "len": data.len(), "base64": encoded}));
        }
        match self.binary {
            BinaryOutput::Raw if !self.interactive() => self.stdout_raw(data),
            BinaryOutput::Raw => self.stdout_line(&String::from_utf8_lossy(data).into_owned().into_bytes()),
            BinaryOutput::Hex => self.stdout_line(&hex(data).into_bytes()),
            BinaryOutput::Base64 => {
                self.stdout_line(&base64::engine::general_purpose::STANDARD.encode(data).into_bytes())
            }
        }
    }

    /// A ping or pong from the server (only `--json` and the prompt show them).
    pub fn control(&self, kind: &str, payload: &[u8]) {
        if self.json {
            let text = String::from_utf8_lossy(payload);
            self.json_line(json!({"event": kind, "len": payload.len(), "data": text}));
        } else {
            self.notice_at_prompt(&format!("{kind} ({} bytes)", payload.len()));
        }
    }

    /// The handshake completed.
    pub fn connected(&self, url: &str, response: &Response, reconnects: u32) {
        if self.json {
            let headers = headers_json(response.headers());
            self.json_line(json!({
                "event": "connected",
                "url": url,
                "subprotocol": response.subprotocol,
                "http_version": http_version(response),
                "headers": headers,
                "reconnects": reconnects,
            }));
            return;
        }
        let mut line = format!("connected to {url}");
        if response.http_version() == HttpVersion::Http2 {
            line += " over HTTP/2";
        }
        if let Some(protocol) = &response.subprotocol {
            line += &format!(" (subprotocol {protocol})");
        }
        if reconnects > 0 {
            line += &format!(" (reconnect #{reconnects})");
            return self.notice(&line);
        }
        self.notice_at_prompt(&line);
    }

    /// The connection ended and the client tries again after `delay`.
    pub fn reconnecting(&self, reason: &CloseReason, attempt: u32, delay: Duration) {
        if self.json {
            self.json_line(json!({
                "event": "reconnect",
                "attempt": attempt,
                "delay_ms": delay.as_millis() as u64,
                "reason": reason.to_string(),
            }));
        } else {
            self.notice(&format!(
                "{reason}; reconnecting in {} ms (attempt {attempt})",
                delay.as_millis()
            ));
        }
    }

    /// The client stopped for good.
    pub fn closed(&self, reason: &CloseReason) {
        if self.json {
            return self.json_line(close_event(reason));
        }
        if crate::exit::Exit::for_reason(reason) == crate::exit::Exit::Ok {
            self.notice_at_prompt(&format!("closed: {reason}"));
        } else {
            self.error(&format!("connection ended: {reason}"));
        }
    }

    /// An error: a JSON event, or one `error:` line on stderr.
    pub fn error(&self, message: &str) {
        if self.json {
            self.json_line(json!({"event": "error", "message": message}));
        } else {
            self.notice(&format!("error: {message}"));
        }
    }

    /// A notice for the user: on stderr, or above the prompt.
    pub fn notice(&self, line: &str) {
        if self.json {
            return;
        }
        let mut printer = self.printer.lock().unwrap_or_else(|e| e.into_inner());
        match printer.as_mut() {
            Some(printer) => {
                let _ = printer.print(format!("* {line}\n"));
            }
            // After the prompt, notices keep the prompt's look.
            None if self.interactive() => eprintln!("* {line}"),
            None => eprintln!("{line}"),
        }
    }

    /// A notice only worth showing at the prompt.
    fn notice_at_prompt(&self, line: &str) {
        if self.interactive() {
            self.notice(line);
        }
    }

    fn json_line(&self, value: Value) {
        self.stdout_line(value.to_string().as_bytes());
    }

    fn stdout_line(&self, line: &[u8]) {
        let mut printer = self.printer.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(printer) = printer.as_mut() {
            let _ = printer.print(format!("{}\n", String::from_utf8_lossy(line)));
            return;
        }
        let mut out = std::io::stdout().lock();
        let written = out
            .write_all(line)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush());
        if written.is_err() {
            self.stdout_gone.store(true, Ordering::Relaxed);
        }
    }

    fn stdout_raw(&self, data: &[u8]) {
        let mut out = std::io::stdout().lock();
        if out.write_all(data).and_then(|()| out.flush()).is_err() {
            self.stdout_gone.store(true, Ordering::Relaxed);
        }
    }
}

/// The `closed` JSON event: who closed, the code and reason, or the error.
pub fn close_event(reason: &CloseReason) -> Value {
    let status = |by: &str, status: &CloseStatus| match status {
        CloseStatus::Normal => json!({"event": "closed", "by": by, "code": 1000, "reason": ""}),
        CloseStatus::Coded(frame) => {
            json!({"event": "closed", "by": by, "code": frame.code.0, "reason": &*frame.reason})
        }
        _ => json!({"event": "closed", "by": by}),
    };
    let mut event = match reason {
        CloseReason::Local(s) => status("local", s),
        CloseReason::Remote(s) => status("remote", s),
        CloseReason::Crossed { remote, .. } => status("both", remote),
        CloseReason::LocalTimedOut(s) => {
            let mut event = status("local", s);
            event["timed_out"] = json!(true);
            event
        }
        CloseReason::Dropped => json!({"event": "closed", "by": "none", "code": 1006, "reason": "dropped"}),
        CloseReason::Error(e) => json!({"event": "closed", "by": "error", "code": 1006, "error": e.to_string()}),
        other => json!({"event": "closed", "by": "none", "code": 1006, "reason": other.to_string()}),
    };
    event["exit"] = json!(crate::exit::Exit::for_reason(reason) as u8);
    event
}

fn hex(data: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(data.len() * 2);
    for b in data {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Response headers as a JSON object keyed by lowercase name; a repeated header's values are
/// joined with ", ", as HTTP combines field lines (RFC 9110, section 5.3).
fn headers_json<'a>(headers: impl Iterator<Item = (&'a str, &'a [u8])>) -> serde_json::Map<String, Value> {
    let mut map = serde_json::Map::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value);
        match map.entry(name.to_ascii_lowercase()) {
            serde_json::map::Entry::Vacant(entry) => {
                entry.insert(Value::from(value));
            }
            serde_json::map::Entry::Occupied(mut entry) => {
                let joined = format!("{}, {value}", entry.get().as_str().unwrap_or_default());
                entry.insert(Value::from(joined));
            }
        }
    }
    map
}

/// Which HTTP opened the WebSocket, as HTTP names its versions.
fn http_version(response: &Response) -> &'static str {
    match response.http_version() {
        HttpVersion::Http2 => "2",
        _ => "1.1",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wsx_tokio::{close::CloseFrame, CloseCode, Error};

    #[test]
    fn repeated_headers_are_joined_not_lost() {
        let headers: [(&str, &[u8]); 3] = [("Vary", b"Origin"), ("X-One", b"1"), ("vary", b"Accept")];
        let map = headers_json(headers.into_iter());
        assert_eq!(map["vary"], "Origin, Accept");
        assert_eq!(map["x-one"], "1");
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn close_events_say_who_closed_with_what() {
        let remote = CloseReason::Remote(CloseStatus::Coded(CloseFrame {
            code: CloseCode(4001),
            reason: "bye".into(),
        }));
        let event = close_event(&remote);
        assert_eq!(event["by"], "remote");
        assert_eq!(event["code"], 4001);
        assert_eq!(event["reason"], "bye");
        assert_eq!(event["exit"], 6);
        let local = close_event(&CloseReason::Local(CloseStatus::Normal));
        assert_eq!(
            (local["by"].as_str(), local["code"].as_u64(), local["exit"].as_u64()),
            (Some("local"), Some(1000), Some(0))
        );
        let dropped = close_event(&CloseReason::Dropped);
        assert_eq!(
            (dropped["by"].as_str(), dropped["code"].as_u64()),
            (Some("none"), Some(1006))
        );
        let failed = close_event(&CloseReason::Error(Error::ConnectTimeout));
        assert_eq!(
            (failed["by"].as_str(), failed["exit"].as_u64()),
            (Some("error"), Some(3))
        );
        assert!(failed["error"].as_str().unwrap().contains("time"), "{failed}");
    }

    #[test]
    fn hex_is_lowercase_pairs() {
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
    }
}
