//! Other implementations as clients, for tests of a wsx server: Python `websockets` and Node's
//! `ws` running `interop/echo_client.{py,mjs}`, and headless Chromium (Debian's) running
//! `interop/browser_client.html`. Each connects, has messages echoed, closes, and reports what
//! it saw as lines of text (the scripts say which), which the test compares with what it
//! expects.
//!
//! The first test that needs one installs it: the venv and the npm prefix of
//! [`interop`](crate::interop), Chromium with apt-get.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::interop::{apt_installed, node_dir, python, scripts_dir, Peer};

/// How long a client may take, installs aside: far more than any needs here.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `peer`'s echo client against `url` with `args` (`--no-compression`, `--subprotocols
/// A,B`) and returns the lines it printed. Panics with its output if it fails or takes more
/// than 30 s.
pub fn run_echo_client(peer: Peer, url: &str, args: &[&str]) -> Vec<String> {
    let mut command = match peer {
        Peer::PythonWebsockets => {
            let mut c = Command::new(python());
            c.arg(scripts_dir().join("echo_client.py"));
            c
        }
        Peer::NodeWs => {
            let mut c = Command::new("node");
            c.arg(node_dir().join("echo_client.mjs"));
            c
        }
    };
    command.arg(url).args(args);
    let (status, stdout, stderr) = output_within(command, CLIENT_TIMEOUT);
    assert!(
        status.is_some_and(|s| s.success()),
        "the {peer:?} client {}:\n{stdout}{stderr}",
        match status {
            Some(status) => format!("failed ({status})"),
            None => format!("did not finish within {CLIENT_TIMEOUT:?}"),
        }
    );
    stdout.lines().map(str::to_owned).collect()
}

/// Runs `command` to its end, or kills it after `timeout`: its exit status (`None` if killed)
/// and what it printed.
fn output_within(mut command: Command, timeout: Duration) -> (Option<ExitStatus>, String, String) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {command:?}: {e}"));
    // Read on threads of their own, so a child that fills one pipe does not stall.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let status = wait_within(&mut child, timeout);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let text = |reader: JoinHandle<String>| reader.join().unwrap_or_default();
    (status, text(stdout), text(stderr))
}

/// `child`'s exit status, if it exits within `timeout`.
fn wait_within(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("poll the child") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Debian's `chromium`, installed with apt-get if it is not there.
fn chromium() -> &'static str {
    static CHROMIUM: OnceLock<&'static str> = OnceLock::new();
    CHROMIUM.get_or_init(|| apt_installed("chromium", "--version", "chromium"))
}

/// What a page in the browser reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserRun {
    /// The page's origin (`http://127.0.0.1:PORT`): the `Origin` of its WebSocket requests.
    pub page_origin: String,
    /// The lines the page reported.
    pub report: Vec<String>,
}

/// Opens `interop/browser_client.html` in headless Chromium with `ws_url` to connect to, and
/// returns what the page reported once its connection closed. Panics, with the end of
/// Chromium's log, if no report comes within 30 s.
pub fn run_browser_client(ws_url: &str) -> BrowserRun {
    let page = PageServer::start();
    let page_origin = format!("http://{}", page.addr);
    let browser = HeadlessChromium::open(&format!("{page_origin}/?ws={ws_url}"));
    match page.reports.recv_timeout(CLIENT_TIMEOUT) {
        Ok(report) => BrowserRun {
            page_origin,
            report: report.lines().map(str::to_owned).collect(),
        },
        Err(_) => panic!(
            "Chromium reported nothing within {CLIENT_TIMEOUT:?}; its log ends:\n{}",
            browser.log_tail()
        ),
    }
}

/// Headless Chromium showing one page, with a profile of its own; killed (with every process
/// it started) on drop.
struct HeadlessChromium {
    child: Child,
    /// The profile and the log.
    dir: PathBuf,
}

impl HeadlessChromium {
    fn open(url: &str) -> Self {
        static RUNS: AtomicU32 = AtomicU32::new(0);
        let run = RUNS.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("wsx-chromium-{}-{run}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a directory for the Chromium profile");
        let log = std::fs::File::create(dir.join("log")).expect("Chromium's log file");
        let child = Command::new(chromium())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                // Without these Chromium reaches out to the network, which is closed here, and
                // its own connections are then refused.
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ])
            .arg(format!("--user-data-dir={}", dir.join("profile").display()))
            .arg(url)
            // A group of its own: the browser starts renderer and helper processes, which
            // are killed with it.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start Chromium: {e}"));
        Self { child, dir }
    }

    /// The last lines Chromium logged.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for HeadlessChromium {
    fn drop(&mut self) {
        let group = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Plain HTTP on 127.0.0.1 for the browser: `GET /` is the page, `POST /report` the page's
/// report (sent to `reports`), anything else 404. One request per connection.
struct PageServer {
    addr: SocketAddr,
    reports: Receiver<String>,
    stop: Arc<AtomicBool>,
}

/// The most a request may hold (the page's report is a few hundred bytes).
const MAX_REQUEST: usize = 64 << 10;

impl PageServer {
    fn start() -> Self {
        let page = std::fs::read(scripts_dir().join("browser_client.html")).expect("read the page");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the page server");
        let addr = listener.local_addr().expect("the page server's address");
        let (report, reports) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let page: Arc<[u8]> = page.into();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let (page, report) = (page.clone(), report.clone());
                // Browsers open connections they may never use: each waits on its own thread.
                std::thread::spawn(move || answer(stream, &page, &report));
            }
        });
        Self { addr, reports, stop }
    }
}

impl Drop for PageServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wakes the accepting thread, which then sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Reads one request from `stream` and answers it.
fn answer(stream: TcpStream, page: &[u8], report: &Sender<String>) {
    let _ = stream.set_read_timeout(Some(CLIENT_TIMEOUT));
    let mut reader = BufReader::new(&stream);
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        match reader.read_until(b'\n', &mut head) {
            Ok(0) | Err(_) => return,
            Ok(_) if head.len() > MAX_REQUEST => return,
            Ok(_) => {}
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut headers);
    if !matches!(request.parse(&head), Ok(httparse::Status::Complete(_))) {
        return;
    }
    let content_length = request
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
        .unwrap_or(0usize)
        .min(MAX_REQUEST);
    let mut body = vec![0; content_length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let path = request.path.unwrap_or_default();
    let (status, content_type, content): (&str, &str, &[u8]) = match (request.method, path) {
        (Some("GET"), p) if p == "/" || p.starts_with("/?") => ("200 OK", "text/html; charset=utf-8", page),
        (Some("POST"), "/report") => {
            let _ = report.send(String::from_utf8_lossy(&body).into_owned());
            ("200 OK", "text/plain", b"")
        }
        _ => ("404 Not Found", "text/plain", b"not found"),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        content.len()
    );
    let mut writer = &stream;
    let _ = writer.write_all(head.as_bytes());
    let _ = writer.write_all(content);
}
