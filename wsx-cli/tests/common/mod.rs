//! Runs the `wsx` binary as a script would: arguments, stdin, environment; collects stdout,
//! stderr and the exit code, killing it if it hangs.
#![allow(dead_code)] // Each test binary uses its own part.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a run may take before the test calls it hung.
pub const HANG: Duration = Duration::from_secs(30);

/// One finished run.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    /// Stdout as text.
    pub fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Stdout's lines.
    pub fn lines(&self) -> Vec<String> {
        self.out().lines().map(str::to_owned).collect()
    }

    /// Stdout's lines as JSON objects (every line must be one).
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.lines()
            .iter()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line:?}: {e}\n{self:?}")))
            .collect()
    }

    /// The events of this kind.
    pub fn events_of(&self, kind: &str) -> Vec<serde_json::Value> {
        self.events().into_iter().filter(|e| e["event"] == kind).collect()
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "exit code; stdout {:?}, stderr {:?}",
            self.out(),
            self.stderr
        );
        self
    }
}

/// A `wsx` command line being built.
#[derive(Debug)]
pub struct Wsx {
    command: Command,
    stdin: Option<Vec<u8>>,
}

/// `wsx ARGS`, with the proxy variables cleared.
pub fn wsx<S: AsRef<std::ffi::OsStr>>(args: impl IntoIterator<Item = S>) -> Wsx {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wsx"));
    command.args(args);
    // The machine's proxy settings must not leak in.
    for name in wsx_testing::PROXY_VARIABLES {
        command.env_remove(name);
    }
    Wsx { command, stdin: None }
}

impl Wsx {
    /// Writes `bytes` to stdin, then closes it.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.command.env(name, value);
        self
    }

    /// Starts it with stdin, stdout and stderr piped; stdin stays open unless given.
    pub fn spawn(mut self) -> Child {
        let mut child = self
            .command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start wsx");
        if let Some(bytes) = self.stdin.take() {
            let mut stdin = child.stdin.take().expect("piped stdin");
            std::thread::spawn(move || {
                let _ = stdin.write_all(&bytes);
            });
        }
        child
    }

    /// Runs it to the end (stdin empty unless given).
    pub fn run(mut self) -> Run {
        if self.stdin.is_none() {
            self.stdin = Some(Vec::new());
        }
        finish(self.spawn(), HANG)
    }
}

/// Waits for `child` (killing it after `hang`) and collects what it printed.
pub fn finish(mut child: Child, hang: Duration) -> Run {
    // A test may have taken stdout or stderr to read it itself.
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut stdout) = stdout {
            let _ = stdout.read_to_end(&mut buf);
        }
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = String::new();
        if let Some(mut stderr) = stderr {
            let _ = stderr.read_to_string(&mut buf);
        }
        buf
    });
    let deadline = Instant::now() + hang;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for wsx") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "wsx hung for {hang:?}: stdout {:?}, stderr {:?}",
                String::from_utf8_lossy(&out.join().unwrap()),
                err.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Run {
        code: status.code(),
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// Sends SIGINT to `child`, as Ctrl-C in its terminal would.
pub fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -INT failed");
}

/// Polls `check` until it holds or `within` passes.
pub fn eventually(within: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "not within {within:?}: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
