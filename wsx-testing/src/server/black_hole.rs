//! An address that never answers a connect, for connect timeouts and happy-eyeballs races.

use std::net::SocketAddr;
use std::time::Duration;

/// A listener on `addr` whose accept queue is full and never drained: Linux drops further
/// SYNs, so a connection attempt to it hangs (the SYN is retried after 1 s, 3 s, ...).
#[derive(Debug)]
pub struct BlackHole {
    addr: SocketAddr,
    _listener: socket2::Socket,
    _filler: std::net::TcpStream,
}

impl BlackHole {
    /// Listens on `addr` (a port of 0 picks a free one) and fills the queue.
    pub fn at(addr: SocketAddr) -> Self {
        let listener =
            socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, None).expect("socket");
        listener.set_reuse_address(true).expect("SO_REUSEADDR");
        listener.bind(&addr.into()).expect("bind the black hole");
        // A backlog of 0 holds one connection: the filler takes it.
        listener.listen(0).expect("listen");
        let addr = listener
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .expect("the black hole's address");
        let filler = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(10)).expect("the filler connects");
        Self {
            addr,
            _listener: listener,
            _filler: filler,
        }
    }
}

impl BlackHole {
    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}
