//! `wsx listen ADDR` as a script runs it: what clients send is printed (JSON lines here),
//! standard input goes to every client, `--echo`, `--tls`, and Ctrl-C's graceful shutdown.
//! The clients are `wsx URL` itself.

mod common;

use std::io::{BufRead, BufReader, Lines, Write};
use std::process::{Child, ChildStdout};
use std::time::Duration;

use common::{finish, interrupt, wsx, HANG};
use serde_json::Value;

/// `wsx listen 127.0.0.1:0 --json ARGS`, its URL read from its first event.
struct Listener {
    child: Child,
    events: Lines<BufReader<ChildStdout>>,
    url: String,
}

impl Listener {
    fn start(args: &[&str]) -> Self {
        let mut child = wsx(["listen", "127.0.0.1:0", "--json"].iter().chain(args)).spawn();
        let events = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut listener = Self {
            child,
            events,
            url: String::new(),
        };
        let listening = listener.next_event();
        assert_eq!(listening["event"], "listening", "{listening}");
        listener.url = listening["url"].as_str().unwrap().to_owned();
        listener
    }

    fn next_event(&mut self) -> Value {
        let line = self.events.next().expect("an event line").expect("stdout");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON: {line:?}: {e}"))
    }

    /// Writes a line to its standard input.
    fn type_line(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn messages_are_printed_and_standard_input_reaches_every_client() {
    let mut listener = Listener::start(&[]);
    let url = format!("{}chat", listener.url);
    // A client that prints the first message it gets, then closes normally.
    let waiting = wsx(["-1", url.as_str()]).spawn();
    let connected = listener.next_event();
    assert_eq!(
        (&connected["event"], &connected["client"], &connected["path"]),
        (&"connected".into(), &1.into(), &"/chat".into()),
        "{connected}"
    );
    listener.type_line("to every client");
    let run = finish(waiting, HANG);
    assert_eq!(run.expect_code(0).lines(), ["to every client"]);
    assert_eq!(listener.next_event()["event"], "closed");

    let run = wsx([url.as_str()]).stdin("one\ntwo\n").run();
    run.expect_code(0);
    assert!(run.stdout.is_empty(), "no echo without --echo: {run:?}");
    let events: Vec<Value> = (0..4).map(|_| listener.next_event()).collect();
    let kinds: Vec<_> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["connected", "text", "text", "closed"], "{events:?}");
    assert_eq!((&events[1]["data"], &events[2]["data"]), (&"one".into(), &"two".into()));
    assert_eq!(events[1]["client"], 2);

    let run = wsx(["--binary", url.as_str()]).stdin(vec![1u8, 2, 3]).run();
    run.expect_code(0);
    let binary = (0..2).map(|_| listener.next_event()).find(|e| e["event"] == "binary");
    assert_eq!(binary.expect("a binary event")["data"], "AQID");
}

#[test]
fn echo_sends_every_message_back() {
    let listener = Listener::start(&["--echo"]);
    let run = wsx([listener.url.as_str()]).stdin("ping\npong\n").run();
    assert_eq!(run.expect_code(0).lines(), ["ping", "pong"]);
}

#[test]
fn tls_with_a_certificate_made_at_start() {
    let dir = std::env::temp_dir().join(format!("wsx-listen-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    let listener = Listener::start(&["--echo", "--tls", "--ca-out", ca.to_str().unwrap()]);
    assert!(listener.url.starts_with("wss://localhost:"), "{}", listener.url);
    let run = wsx(["--ca", ca.to_str().unwrap(), listener.url.as_str()])
        .stdin("secret\n")
        .run();
    assert_eq!(run.expect_code(0).lines(), ["secret"]);
    let untrusted = wsx([listener.url.as_str()]).stdin("secret\n").run();
    untrusted.expect_code(3);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ctrl_c_closes_every_client_with_going_away() {
    let mut listener = Listener::start(&[]);
    let client = wsx([listener.url.as_str(), "--no-close", "--json"]).spawn();
    assert_eq!(listener.next_event()["event"], "connected");
    interrupt(&listener.child);
    let run = finish(client, HANG);
    let close = run.expect_code(0).events_of("closed");
    assert_eq!(close.len(), 1, "{run:?}");
    assert_eq!(
        (&close[0]["code"], &close[0]["by"]),
        (&1001.into(), &"remote".into()),
        "{run:?}"
    );
    let shutdown = std::iter::from_fn(|| Some(listener.next_event()))
        .find(|e| e["event"] == "shutdown")
        .unwrap();
    assert_eq!(
        (&shutdown["open"], &shutdown["closed"]),
        (&1.into(), &1.into()),
        "{shutdown}"
    );
    let mut status = None;
    common::eventually(Duration::from_secs(10), "the listener exits", || {
        status = listener.child.try_wait().unwrap();
        status.is_some()
    });
    assert_eq!(status.unwrap().code(), Some(0));
}
