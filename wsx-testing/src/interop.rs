//! Other implementations as servers: Python `websockets` and Node's `ws`, each an echo server
//! with permessage-deflate on (the scripts are in `wsx-testing/interop/`), and real proxies:
//! `pproxy` (PyPI) for HTTP CONNECT, `microsocks` (Debian) for SOCKS5.
//!
//! The first test that needs one installs it: under `target/interop/` from PyPI or npm (a venv,
//! an npm prefix), microsocks with apt-get, so `cargo test` works on a fresh machine with
//! registry access. An install is built in a temporary directory and renamed into place, so a
//! half-done one is never used.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

/// Which implementation serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// Python `websockets` (asyncio server).
    PythonWebsockets,
    /// Node.js `ws`.
    NodeWs,
}

/// The versions installed: the newest of each major line the tests were written against.
const PYTHON_REQUIREMENTS: [&str; 3] = ["websockets>=14,<18", "pproxy==2.7.9", "hypercorn==0.18.0"];
const WS_REQUIREMENT: &str = "ws@8";

/// The venv's directory under `target/interop/`.
pub const PYTHON_VENV: &str = "venv-websockets-pproxy-hypercorn";

/// One install at a time in this process (test threads share the directory).
static INSTALL: Mutex<()> = Mutex::new(());

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/interop")
}

pub(crate) fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// Runs `command`, panicking with its output if it fails.
fn run(mut command: Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `dir`, made by `build` in a temporary directory first unless it already exists.
fn installed(dir: &Path, build: impl FnOnce(&Path)) -> PathBuf {
    let _one = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if !dir.exists() {
        let temp = dir.with_extension(format!("tmp{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&temp);
        std::fs::create_dir_all(&temp).expect("create the install directory");
        build(&temp);
        if std::fs::rename(&temp, dir).is_err() {
            // Another process finished first.
            let _ = std::fs::remove_dir_all(&temp);
        }
    }
    dir.to_path_buf()
}

/// The venv's python, with `websockets`, `pproxy` and `hypercorn` installed.
pub(crate) fn python() -> PathBuf {
    // Named after what it holds: a new requirement makes a new venv.
    let venv = installed(&interop_dir().join(PYTHON_VENV), |temp| {
        let mut venv = Command::new("python3");
        venv.args(["-m", "venv"]).arg(temp);
        run(venv, "python3 -m venv");
        let mut pip = Command::new(temp.join("bin/python"));
        pip.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
            .args(PYTHON_REQUIREMENTS);
        run(pip, "pip install websockets pproxy hypercorn");
    });
    // A venv's python finds its packages from where it is: one moved into place still works.
    venv.join("bin/python")
}

/// A directory holding `node_modules/ws` and the scripts (the echo server and client).
pub(crate) fn node_dir() -> PathBuf {
    let dir = installed(&interop_dir().join("node"), |temp| {
        let mut npm = Command::new("npm");
        npm.args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(temp)
            .arg(WS_REQUIREMENT);
        run(npm, "npm install ws");
    });
    // ES modules resolve `ws` from the script's own directory, so the scripts run from here.
    for script in ["echo_server.mjs", "echo_client.mjs"] {
        copy_into_place(&scripts_dir().join(script), &dir.join(script));
    }
    dir
}

/// Copies `from` to `to` through a temporary file, so a script another test is starting is
/// never read half-written.
fn copy_into_place(from: &Path, to: &Path) {
    static COPIES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COPIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let temp = to.with_extension(format!("tmp{}-{n}", std::process::id()));
    std::fs::copy(from, &temp).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    std::fs::rename(&temp, to).unwrap_or_else(|e| panic!("rename into {}: {e}", to.display()));
}

/// A running echo server of another implementation; killed on drop.
#[derive(Debug)]
pub struct PeerServer {
    child: Child,
    port: u16,
}

impl PeerServer {
    /// Starts `peer`'s echo server with `args` (`--no-context-takeover`, `--window-bits N`)
    /// and waits until it listens.
    pub fn start(peer: Peer, args: &[&str]) -> Self {
        let mut command = match peer {
            Peer::PythonWebsockets => {
                let mut c = Command::new(python());
                c.arg(scripts_dir().join("echo_server.py"));
                c
            }
            Peer::NodeWs => {
                let mut c = Command::new("node");
                c.arg(node_dir().join("echo_server.mjs"));
                c
            }
        };
        let mut child = command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start the {peer:?} server: {e}"));
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        BufReader::new(stdout).read_line(&mut line).expect("read the port");
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{peer:?} server printed {line:?} instead of its port"));
        Self { child, port }
    }

    /// `ws://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.port)
    }

    /// `127.0.0.1:PORT`, for a proxy in front of it.
    pub fn addr(&self) -> std::net::SocketAddr {
        (std::net::Ipv4Addr::LOCALHOST, self.port).into()
    }
}

impl Drop for PeerServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `microsocks` on the PATH, installed with apt-get if it is not.
fn microsocks() -> &'static str {
    apt_installed("microsocks", "-h", "microsocks")
}

/// `program` on the PATH, installed from Debian's `package` with apt-get if running it with
/// `probe` fails to start.
pub(crate) fn apt_installed(program: &'static str, probe: &str, package: &str) -> &'static str {
    let _one = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let found = Command::new(program)
        .arg(probe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        let mut update = Command::new("apt-get");
        update.args(["update", "-qq"]);
        run(update, "apt-get update");
        let mut install = Command::new("apt-get");
        install.args(["install", "-y", "-qq", package]);
        run(install, &format!("apt-get install {package}"));
    }
    program
}

/// Every environment variable a client reads its proxy from, both spellings: what a test
/// clears so the machine's own settings do not leak in.
pub const PROXY_VARIABLES: [&str; 8] = [
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// A real proxy server on loopback; killed on drop.
#[derive(Debug)]
pub struct ProxyServer {
    child: Child,
    port: u16,
}

impl ProxyServer {
    /// An HTTP CONNECT proxy (`pproxy`), requiring `user:password` basic auth if given.
    pub fn http(auth: Option<(&str, &str)>) -> Self {
        let port = crate::ports::unused_port();
        let mut listen = format!("http://127.0.0.1:{port}");
        if let Some((user, password)) = auth {
            listen.push_str(&format!("#{user}:{password}"));
        }
        let mut command = Command::new(python());
        command.args(["-m", "pproxy", "-l", &listen]);
        Self::spawn(command, port)
    }

    /// A SOCKS5 proxy (`microsocks`), requiring a username and password if given.
    pub fn socks5(auth: Option<(&str, &str)>) -> Self {
        let port = crate::ports::unused_port();
        let mut command = Command::new(microsocks());
        command.args(["-i", "127.0.0.1", "-p", &port.to_string()]);
        if let Some((user, password)) = auth {
            command.args(["-u", user, "-P", password]);
        }
        Self::spawn(command, port)
    }

    fn spawn(command: Command, port: u16) -> Self {
        Self {
            child: spawn_listening(command, port),
            port,
        }
    }

    /// The proxy's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for ProxyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `command`, quiet, and waits until it listens on `port`.
fn spawn_listening(mut command: Command, port: u16) -> Child {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        // microsocks logs every connection there.
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {command:?}: {e}"));
    wait_listening(&mut child, port, || format!("{command:?}"));
    child
}

/// Waits until something listens on `port` on 127.0.0.1; panics, describing `child` with
/// `describe`, if it exits first or 10 s pass.
pub(crate) fn wait_listening(child: &mut Child, port: u16, describe: impl Fn() -> String) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{} exited ({status}) before it listened on {port}", describe());
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} did not listen on {port}",
            describe()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Python's `hypercorn` (an ASGI server speaking HTTP/1.1, HTTP/2 over TLS and h2c, with
/// WebSockets over both) serving `interop/asgi_echo.py`; killed on drop.
#[derive(Debug)]
pub struct Hypercorn {
    child: Child,
    port: u16,
    /// The certificate and key files, with TLS.
    files: Option<PathBuf>,
}

impl Hypercorn {
    /// Serves on a free port: over TLS with `pki`'s `localhost` certificate (ALPN `h2` and
    /// `http/1.1`), else in cleartext (HTTP/1.1, and h2c with prior knowledge).
    pub fn start(tls: Option<&crate::TestPki>) -> Self {
        let port = crate::ports::unused_port();
        let mut command = Command::new(python());
        command
            .current_dir(scripts_dir())
            // One process (no worker process), so killing it leaves nothing behind.
            .args(["-m", "hypercorn", "--workers", "0", "--bind"])
            .arg(format!("127.0.0.1:{port}"));
        let files = tls.map(|pki| {
            let dir = std::env::temp_dir().join(format!("wsx-hypercorn-{}-{port}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("a directory for the certificate");
            std::fs::write(dir.join("cert.pem"), &pki.leaf_pem.0).expect("write the certificate");
            std::fs::write(dir.join("key.pem"), &pki.leaf_pem.1).expect("write the key");
            command.arg("--certfile").arg(dir.join("cert.pem"));
            command.arg("--keyfile").arg(dir.join("key.pem"));
            dir
        });
        command.arg("asgi_echo:app");
        Self {
            child: spawn_listening(command, port),
            port,
            files,
        }
    }

    /// The URL of `path`: `wss://localhost:PORT/path` with TLS, else `ws://127.0.0.1:PORT/path`.
    pub fn url(&self, path: &str) -> String {
        match self.files {
            Some(_) => format!("wss://localhost:{}{path}", self.port),
            None => format!("ws://127.0.0.1:{}{path}", self.port),
        }
    }
}

impl Drop for Hypercorn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = &self.files {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
