//! A test server in a process of its own, for tests that count what their own process holds
//! (descriptors, threads, memory), which an in-process server would blur: either the
//! `wsx-echo-server` binary, or a copy of the test binary itself that serves when
//! [`serve_if_child`] finds its role set.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use wsx_proto::{Context, Frame, Handler, Reply};

use crate::server::TestServer;

/// A server in a child process; killed when dropped.
#[derive(Debug)]
pub struct ChildServer {
    child: Child,
    url: String,
}

impl ChildServer {
    /// Runs `command`, which prints its URL on the first line of its output and serves until
    /// its input closes.
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the server process");
        let mut url = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut url)
            .expect("the server's URL");
        Self {
            child,
            url: url.trim().to_owned(),
        }
    }

    /// A copy of this test binary with `role` set in its environment: its `main` calls
    /// [`serve_if_child`] first.
    pub fn copy_of_this_binary(role: &str) -> Self {
        let mut command = Command::new(std::env::current_exe().expect("the test binary"));
        command.env(role, "1");
        Self::spawn(command)
    }

    /// The server's `ws://` URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// In the copy [`ChildServer::copy_of_this_binary`] starts (`role` set): runs the server
/// `start` makes, prints its URL and serves until stdin closes, then returns true. Elsewhere
/// returns false at once.
pub fn serve_if_child(role: &str, start: impl FnOnce() -> TestServer) -> bool {
    if std::env::var_os(role).is_none() {
        return false;
    }
    serve_until_stdin_closes(&start());
    true
}

/// Prints `server`'s URL, then serves until stdin closes.
pub fn serve_until_stdin_closes(server: &TestServer) {
    println!("{}", server.url());
    let mut line = String::new();
    while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {
        line.clear();
    }
}

/// A handler that counts the frames it receives and the bytes in them, for any adapter.
#[derive(Debug, Default, Clone)]
pub struct Counter {
    /// Frames received.
    pub frames: Arc<AtomicUsize>,
    /// Payload bytes received.
    pub bytes: Arc<AtomicUsize>,
}

impl Counter {
    /// Frames received so far.
    pub fn frames(&self) -> usize {
        self.frames.load(Ordering::Relaxed)
    }

    /// Payload bytes received so far.
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }
}

impl Handler for Counter {
    type Cast = ();
    type Info = ();

    fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        self.bytes.fetch_add(frame.payload_len(), Ordering::Relaxed);
        self.frames.fetch_add(1, Ordering::Relaxed);
        Reply::Continue
    }
}
