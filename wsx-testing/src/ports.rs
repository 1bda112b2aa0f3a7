//! Ports chosen by number, for servers that cannot report the port they bound (the proxies),
//! and ports held so that connections to them are refused.
//!
//! A port bound to 0 and released goes back to the kernel's ephemeral pool, and the next
//! `bind(0)` in this process (another test's server) may get it, so the proxy meant for it
//! fails to bind while the wait for it succeeds against the wrong listener; a connection from
//! an ephemeral port may even meet itself. These ports come from below the ephemeral range,
//! which `bind(0)` and outgoing connections never use, and each is handed out once per process.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};

/// The lowest port handed out (above the well-known and most registered services' ports).
const FIRST: u16 = 20_000;

/// The first port of the kernel's ephemeral range (Linux's default when it cannot be read).
fn ephemeral_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// A port on 127.0.0.1 that nothing listens on now, outside the ephemeral range, never the
/// same twice in one process.
pub fn unused_port() -> u16 {
    static HANDED_OUT: AtomicU32 = AtomicU32::new(0);
    let span = u32::from(ephemeral_start().saturating_sub(FIRST).max(1_000));
    // Processes running side by side start at different places.
    let offset = std::process::id().wrapping_mul(7_919) % span;
    for _ in 0..span {
        let n = HANDED_OUT.fetch_add(1, Ordering::Relaxed);
        let port = FIRST + ((offset + n) % span) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no unused port between {FIRST} and the ephemeral range")
}

/// A port on 127.0.0.1 where connections are refused for as long as this process runs: a
/// socket is bound to it and never listens, so the kernel resets every connection to it, and
/// nothing else (another test, another process) can bind the port meanwhile.
pub fn refused_port() -> u16 {
    use socket2::{Domain, Socket, Type};
    static HELD: std::sync::Mutex<Vec<Socket>> = std::sync::Mutex::new(Vec::new());
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("a socket");
    socket
        .bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .expect("bind 127.0.0.1:0");
    let port = socket
        .local_addr()
        .ok()
        .and_then(|addr| addr.as_socket())
        .expect("a bound address")
        .port();
    HELD.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(socket);
    port
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_bindable_and_below_the_ephemeral_range() {
        let ports: Vec<u16> = (0..50).map(|_| unused_port()).collect();
        let mut distinct = ports.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), ports.len());
        for port in ports {
            assert!((FIRST..ephemeral_start()).contains(&port), "{port}");
            TcpListener::bind(("127.0.0.1", port)).expect("bindable");
        }
    }

    #[test]
    fn a_refused_port_refuses_and_stays_taken() {
        let port = refused_port();
        let refused = std::net::TcpStream::connect(("127.0.0.1", port)).expect_err("refused");
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
        assert!(
            TcpListener::bind(("127.0.0.1", port)).is_err(),
            "nothing else can take it"
        );
        assert_ne!(refused_port(), port);
    }
}
