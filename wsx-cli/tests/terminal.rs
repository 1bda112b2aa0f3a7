//! `wsx URL` at a real terminal: tmux runs it in a detached pane of a fixed size, and the
//! tests type keys and read the screen as a user would.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use wsx_testing::{Gate, Script, Step, TestServer};

/// How long the screen may take to show what is expected (2 shared cores, tests in parallel).
const WAIT: Duration = Duration::from_secs(15);

/// One apt-get at a time when tmux is missing.
static INSTALL: Mutex<()> = Mutex::new(());

fn tmux_found() -> bool {
    let version = Command::new("tmux").arg("-V").output();
    version.is_ok_and(|out| out.status.success())
}

/// tmux on the PATH, installed with apt-get if it is not: these tests never skip.
fn ensure_tmux() {
    let _one = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if tmux_found() {
        return;
    }
    for args in [&["update", "-qq"][..], &["install", "-y", "-qq", "tmux"]] {
        let status = Command::new("apt-get").args(args).status().expect("run apt-get");
        assert!(status.success(), "apt-get {args:?}: {status}");
    }
    assert!(tmux_found(), "tmux still missing after apt-get install");
}

/// A tmux server of its own (its socket in a directory of the test's, so parallel tests do not
/// meet) running one pane with `wsx URL`; killed on drop, even when the test fails.
struct Pane {
    dir: PathBuf,
}

impl Pane {
    /// Runs `wsx url` in a 100x30 pane, then `echo EXIT=$?`, then `after`, in the same shell;
    /// the pane stays open (`sleep`) so the screen can still be read.
    fn start(test: &str, url: &str, after: &str) -> Self {
        ensure_tmux();
        let dir = std::env::temp_dir().join(format!("wsx-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let pane = Self { dir };
        let command = format!(
            "env HOME='{dir}' WSX_HISTORY='{dir}/hist' '{bin}' {url}; echo EXIT=$?; {after} sleep 30",
            dir = pane.dir.display(),
            bin = env!("CARGO_BIN_EXE_wsx"),
        );
        // `-f /dev/null`: none of the machine's tmux configuration.
        let mut args: Vec<&str> = "-f /dev/null new-session -d -s wsx -x 100 -y 30".split(' ').collect();
        args.push(&command);
        pane.tmux(&args);
        pane
    }

    /// tmux, talking to this pane's server.
    fn command(&self) -> Command {
        let mut tmux = Command::new("tmux");
        tmux.arg("-S").arg(self.dir.join("tmux"));
        tmux
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = self.command().args(args).output().expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("tmux output is UTF-8")
    }

    /// The visible lines, without trailing blanks.
    fn screen(&self) -> Vec<String> {
        let text = self.tmux(&["capture-pane", "-p", "-t", "wsx"]);
        text.lines().map(|line| line.trim_end().to_owned()).collect()
    }

    /// Types `text` as it is (`-l`: no key names).
    fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "wsx", "-l", text]);
    }

    /// Types `text` in one go (as a paste or a fast typist does) and waits until the prompt
    /// line shows all of it.
    fn type_keys(&self, text: &str) {
        self.type_text(text);
        let line = format!("> {text}");
        self.wait_until(&format!("{line:?}"), |s| last_prompt(s) == line);
    }

    /// Presses a key by its tmux name: Enter, Up, C-c, C-d.
    fn press(&self, key: &str) {
        self.tmux(&["send-keys", "-t", "wsx", key]);
    }

    /// Polls the screen until `done` holds; the screen then, or a panic showing the last one.
    fn wait_until(&self, what: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < WAIT,
                "no {what} after {WAIT:?}; the screen:\n{}",
                screen.join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the connected notice and the prompt drawn after it.
    fn wait_for_prompt(&self) {
        self.wait_until("prompt", |s| {
            let notice = s.iter().position(|l| l.starts_with("* connected to ws://127.0.0.1:"));
            notice.is_some_and(|at| s[at + 1..].iter().any(|l| l == ">"))
        });
    }

    /// Types a line not sent before and waits for its echo.
    fn send_line(&self, text: &str) {
        self.type_text(text);
        self.press("Enter");
        self.wait_until(&format!("echo of {text:?}"), |s| count(s, text) == 1);
    }

    /// Waits for `wsx` to end: the line where the shell then said `EXIT=$?`.
    fn exit_line(&self) -> String {
        let screen = self.wait_until("EXIT=", |s| s.iter().any(|l| l.contains("EXIT=")));
        screen.into_iter().find(|l| l.contains("EXIT=")).unwrap()
    }

    /// Waits for `wsx` to end: its exit code, as the shell saw it on a line of its own (no
    /// prompt left in front of it).
    fn exit_code(&self) -> i32 {
        let line = self.exit_line();
        let code = line
            .strip_prefix("EXIT=")
            .unwrap_or_else(|| panic!("exit line {line:?}"));
        code.parse().unwrap_or_else(|_| panic!("exit line {line:?}"))
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = self.command().arg("kill-server").output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How many lines are exactly `text`.
fn count(screen: &[String], text: &str) -> usize {
    screen.iter().filter(|line| *line == text).count()
}

/// The prompt line furthest down.
fn last_prompt(screen: &[String]) -> &str {
    let prompt = screen.iter().rev().find(|l| *l == ">" || l.starts_with("> "));
    prompt.map_or("", String::as_str)
}

#[test]
fn a_typed_line_is_sent_and_its_echo_printed_on_a_line_of_its_own() {
    let server = TestServer::echo();
    let pane = Pane::start("echo", &server.url(), "");
    pane.wait_for_prompt();
    pane.type_text("hello");
    pane.press("Enter");
    let screen = pane.wait_until("echo", |s| count(s, "hello") == 1);
    assert_eq!(count(&screen, "> hello"), 1, "{screen:#?}");
    let below = screen.iter().position(|l| l == "> hello") < screen.iter().position(|l| l == "hello");
    assert!(below, "the echo comes below the line typed: {screen:#?}");
    pane.press("C-d");
    assert_eq!(pane.exit_code(), 0);
}

#[test]
fn a_message_arriving_while_typing_leaves_the_line_being_typed_intact() {
    // The server pushes once the test has seen the half-typed line on the screen.
    let gate = Gate::new();
    let server = TestServer::start(Script::new(vec![
        Step::WaitFor(gate.clone()),
        Step::text("pushed"),
        Step::Echo,
    ]));
    let pane = Pane::start("typing", &server.url(), "");
    pane.wait_for_prompt();
    pane.type_keys("partial");
    gate.open();
    let screen = pane.wait_until("pushed message", |s| s.iter().any(|l| l.contains("pushed")));
    let pushed: Vec<_> = screen.iter().filter(|l| l.contains("pushed")).collect();
    assert_eq!(pushed, ["pushed"], "the message on a line of its own: {screen:#?}");
    // Redrawn below the message, once: the line as it was before is wiped, not left above.
    assert_eq!(last_prompt(&screen), "> partial", "{screen:#?}");
    assert_eq!(count(&screen, "> partial"), 1, "{screen:#?}");
    let below = screen.iter().position(|l| l == "pushed") < screen.iter().position(|l| l == "> partial");
    assert!(below, "{screen:#?}");
    pane.press("Enter");
    pane.wait_until("echo of the line", |s| count(s, "partial") == 1);
    pane.press("C-d");
    assert_eq!(pane.exit_code(), 0);
}

#[test]
fn up_recalls_earlier_lines_and_the_history_file_keeps_them() {
    let server = TestServer::echo();
    let pane = Pane::start("history", &server.url(), "");
    pane.wait_for_prompt();
    pane.send_line("first");
    pane.send_line("second");
    // One key at a time, for the reason in `type_keys`.
    pane.press("Up");
    pane.wait_until("recalled second", |s| last_prompt(s) == "> second");
    pane.press("Up");
    pane.wait_until("recalled first", |s| last_prompt(s) == "> first");
    pane.press("Enter");
    let screen = pane.wait_until("second echo of first", |s| count(s, "first") == 2);
    assert_eq!(count(&screen, "second"), 1, "{screen:#?}");
    pane.press("C-d");
    assert_eq!(pane.exit_code(), 0);
    let history = std::fs::read_to_string(pane.dir.join("hist")).expect("the history file");
    let entries: Vec<_> = history.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(entries, ["first", "second", "first"], "{history:?}");
}

#[test]
fn ctrl_c_at_the_prompt_closes_normally() {
    let server = TestServer::echo();
    let pane = Pane::start("ctrl-c", &server.url(), "");
    pane.wait_for_prompt();
    pane.press("C-c");
    pane.wait_until("closing notice", |s| s.iter().any(|l| l.starts_with("* closing")));
    // No prompt is drawn after the Ctrl-C, so none is left in front of the notices or of the
    // shell's next line.
    assert_eq!(pane.exit_line(), "EXIT=0");
    let screen = pane.screen();
    assert_eq!(count(&screen, "* closed: local, normal"), 1, "{screen:#?}");
    assert!(!screen.iter().any(|l| l.starts_with("> *")), "{screen:#?}");
    assert_eq!(server.expect_close(WAIT).close_code(), Some(1000));
}

#[test]
fn a_second_ctrl_c_quits_at_once_when_the_server_ignores_the_close() {
    let server = TestServer::start(Script::new(vec![Step::IgnoreClose]));
    let pane = Pane::start("ctrl-c-twice", &server.url(), "");
    pane.wait_for_prompt();
    pane.press("C-c");
    let screen = pane.wait_until("closing notice", |s| s.iter().any(|l| l.starts_with("* closing")));
    assert!(
        !screen.iter().any(|l| l.contains("EXIT=")),
        "still waiting for the close: {screen:#?}"
    );
    let second = Instant::now();
    pane.press("C-c");
    assert_eq!(pane.exit_code(), 130);
    // The close timeout is 5 s: quitting before it means the second Ctrl-C did it.
    assert!(second.elapsed() < Duration::from_secs(3), "took {:?}", second.elapsed());
}

#[test]
fn the_terminal_is_restored_when_the_server_closes_during_a_prompt() {
    // The server closes while the prompt is reading a line, in raw mode with bracketed paste
    // on: wsx puts the terminal back itself, as the shell's `stty -a` and `cat -v` then show.
    let gate = Gate::new();
    let server = TestServer::start(Script::new(vec![Step::WaitFor(gate.clone()), Step::close(1000, "bye")]));
    let pane = Pane::start("stty", &server.url(), "stty -a; echo STTY-END; cat -v;");
    pane.wait_for_prompt();
    gate.open();
    assert_eq!(pane.exit_code(), 0);
    let screen = pane.wait_until("stty output", |s| s.iter().any(|l| l == "STTY-END"));
    let flags: Vec<&str> = screen.iter().flat_map(|l| l.split([' ', ';'])).collect();
    for flag in ["icanon", "echo", "icrnl", "opost"] {
        let off = format!("-{flag}");
        assert!(
            flags.contains(&flag) && !flags.contains(&off.as_str()),
            "{flag}: {screen:#?}"
        );
    }
    // A paste reaches `cat` without the ESC [200~ and ESC [201~ around it.
    pane.tmux(&["set-buffer", "pasted"]);
    pane.tmux(&["paste-buffer", "-p", "-t", "wsx"]);
    pane.press("Enter");
    // Once as the terminal echoes it, once as `cat` prints it.
    pane.wait_until("paste echoed by cat", |s| count(s, "pasted") == 2);
}

#[test]
fn bench_draws_a_progress_bar_on_a_terminal_and_clears_it_for_the_table() {
    let server = TestServer::echo();
    let args = format!("bench {} --workload rtt --duration 3s", server.url());
    let pane = Pane::start("bench", &args, "");
    pane.wait_until("a progress bar", |s| {
        s.iter().any(|line| line.contains("rtt [=") && line.contains("echoed"))
    });
    let screen = pane.wait_until("EXIT=0", |s| s.iter().any(|line| line.starts_with("EXIT=")));
    assert!(screen.iter().any(|line| line == "EXIT=0"), "{screen:#?}");
    let header = screen
        .iter()
        .position(|line| line.starts_with("workload"))
        .expect("the table");
    assert!(screen[header + 1].starts_with("rtt"), "{screen:#?}");
    assert!(
        !screen.iter().any(|line| line.contains("echoed")),
        "the bar is gone: {screen:#?}"
    );
}

#[test]
fn wsx_listen_prints_what_clients_send_and_sends_what_is_typed() {
    let port = wsx_testing::unused_port();
    let url = format!("ws://127.0.0.1:{port}/");
    let pane = Pane::start("listen", &format!("listen 127.0.0.1:{port}"), "");
    pane.wait_until("listening", |s| count(s, &format!("listening on {url}")) == 1);
    let client = std::process::Command::new(env!("CARGO_BIN_EXE_wsx"))
        .args(["--no-close", "-1", &url])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start a client");
    {
        use std::io::Write;
        let mut stdin = client.stdin.as_ref().unwrap();
        stdin.write_all(b"from the client\n").unwrap();
    }
    pane.wait_until("the client's message", |s| {
        count(s, "client 1 connected (/)") == 1 && count(s, "from the client") == 1
    });
    pane.type_text("to the client");
    pane.press("Enter");
    let output = client.wait_with_output().expect("the client ends");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "to the client\n");
    assert_eq!(output.status.code(), Some(0));
    pane.wait_until("the client's close", |s| {
        s.iter().any(|l| l.starts_with("client 1 closed: "))
    });
    pane.press("C-c");
    assert_eq!(pane.exit_code(), 0);
}
