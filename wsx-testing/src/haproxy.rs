//! HAProxy (Debian's package, installed with apt-get on first use) as an HTTP/2 peer nobody
//! here wrote: its HTTP/2 frontend answers RFC 8441's extended CONNECT and passes the
//! WebSocket on to an HTTP/1.1 backend as an ordinary upgrade, the way WebSockets over
//! HTTP/2 reach most servers in production.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::{fmt, fs, net::SocketAddr};

use crate::interop::{apt_installed, wait_listening};
use crate::TestPki;

/// A running `haproxy` in the foreground, in front of one backend; killed on drop.
pub struct HaProxy {
    child: Child,
    port: u16,
    /// Its configuration, log and (with TLS) certificate.
    dir: PathBuf,
    tls: bool,
}

impl fmt::Debug for HaProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HaProxy")
            .field("port", &self.port)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl HaProxy {
    /// Listens on a free port of 127.0.0.1 and forwards every request to `backend` over
    /// HTTP/1.1. Without `tls`, the frontend is h2c (prior knowledge only); with it, TLS with
    /// `tls`'s `localhost` certificate and ALPN `h2,http/1.1`.
    pub fn start(backend: SocketAddr, tls: Option<&TestPki>) -> Self {
        let haproxy = apt_installed("haproxy", "-v", "haproxy");
        let port = crate::ports::unused_port();
        let dir = std::env::temp_dir().join(format!("wsx-haproxy-{}-{port}", std::process::id()));
        fs::create_dir_all(&dir).expect("a directory for haproxy");
        let bind = match tls {
            Some(pki) => {
                // haproxy reads the certificate and its key from one file.
                let pem = dir.join("localhost.pem");
                fs::write(&pem, format!("{}{}", pki.leaf_pem.0, pki.leaf_pem.1)).expect("write the certificate");
                format!("127.0.0.1:{port} ssl crt {} alpn h2,http/1.1", pem.display())
            }
            None => format!("127.0.0.1:{port} proto h2"),
        };
        let config = dir.join("haproxy.cfg");
        fs::write(&config, configuration(&bind, backend)).expect("write the haproxy configuration");
        let log = dir.join("haproxy.log");
        let log_file = fs::File::create(&log).expect("create the haproxy log");
        let child = Command::new(haproxy)
            .arg("-f")
            .arg(&config)
            .arg("-db")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("the haproxy log"))
            .stderr(log_file)
            .spawn()
            .expect("start haproxy");
        // Made before the wait, so a panic there kills haproxy too.
        let mut proxy = Self {
            child,
            port,
            dir,
            tls: tls.is_some(),
        };
        wait_listening(&mut proxy.child, port, || {
            format!(
                "haproxy -f {} ({})",
                config.display(),
                fs::read_to_string(&log).unwrap_or_default()
            )
        });
        proxy
    }

    /// The URL of `path`: `wss://localhost:PORT/path` with TLS, else `ws://127.0.0.1:PORT/path`.
    pub fn url(&self, path: &str) -> String {
        if self.tls {
            format!("wss://localhost:{}{path}", self.port)
        } else {
            format!("ws://127.0.0.1:{}{path}", self.port)
        }
    }
}

impl Drop for HaProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// One frontend on `bind`, one backend server. A WebSocket is a tunnel once upgraded, held
/// open by `timeout tunnel`, not by the request timeouts.
fn configuration(bind: &str, backend: SocketAddr) -> String {
    format!(
        "global
    nbthread 1

defaults
    mode http
    timeout connect 5s
    timeout client 1m
    timeout server 1m
    timeout tunnel 1h

frontend websockets
    bind {bind}
    default_backend server

backend server
    server backend {backend}
"
    )
}
