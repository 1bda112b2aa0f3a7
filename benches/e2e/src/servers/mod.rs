//! One echo server per library, for the server workloads (`serve-*`): each written the way
//! that library is meant to serve (its own echo example where it has one), each echoing text
//! and binary messages and leaving control frames to the library. They run on one thread: a
//! current-thread tokio runtime; wsx-blocking, which runs a thread per connection by design,
//! has `benches/run.sh` pin all its threads to one core instead.
//!
//! Every accepted socket gets `TCP_NODELAY`, as wsx sets it by default: a library that writes
//! a frame's header and payload apart would otherwise wait on a delayed ACK.

pub mod fastwebsockets;
pub mod tokio_tungstenite;
pub mod tokio_websockets;
pub mod wsx;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

use crate::Result;

/// The servers under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// `wsx_tokio::Server::bind` with an echo handler.
    WsxTokio,
    /// `wsx_blocking::Server::bind` with the same handler: a thread per connection.
    WsxBlocking,
    /// `wsx_async_std::Server::bind` with the same handler, on smol's executor (one thread).
    WsxSmol,
    /// `tokio_tungstenite::accept_async`, then its echo example's `forward`.
    TokioTungstenite,
    /// hyper's HTTP/1.1 server and `fastwebsockets::upgrade::upgrade`, as its echo example.
    Fastwebsockets,
    /// `tokio_websockets::ServerBuilder::accept`, as its echo example.
    TokioWebsockets,
}

impl ServerKind {
    /// Every server, in [`crate::SERVERS`]' order.
    pub const ALL: [Self; 6] = [
        Self::WsxTokio,
        Self::WsxBlocking,
        Self::WsxSmol,
        Self::TokioTungstenite,
        Self::Fastwebsockets,
        Self::TokioWebsockets,
    ];

    /// The name the harness knows it by.
    pub fn name(self) -> &'static str {
        match self {
            Self::WsxTokio => "wsx-tokio",
            Self::WsxBlocking => "wsx-blocking",
            Self::WsxSmol => "wsx-async-std-smol",
            Self::TokioTungstenite => "tokio-tungstenite",
            Self::Fastwebsockets => "fastwebsockets",
            Self::TokioWebsockets => "tokio-websockets",
        }
    }

    /// The server named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// Serves on `addr` until the process ends; `listening` hears the bound address once
/// connections are being accepted.
pub fn serve(kind: ServerKind, addr: SocketAddr, listening: impl FnOnce(SocketAddr) -> Result<()>) -> Result<()> {
    match kind {
        ServerKind::WsxBlocking => return wsx::serve_blocking(addr, listening),
        ServerKind::WsxSmol => return wsx::serve_smol(addr, listening),
        _ => {}
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        match kind {
            ServerKind::WsxTokio => wsx::serve_tokio(addr, listening).await,
            ServerKind::TokioTungstenite => tokio_tungstenite::serve(addr, listening).await,
            ServerKind::Fastwebsockets => fastwebsockets::serve(addr, listening).await,
            ServerKind::TokioWebsockets => tokio_websockets::serve(addr, listening).await,
            ServerKind::WsxBlocking | ServerKind::WsxSmol => unreachable!("served above"),
        }
    })
}

/// The accept loop of the servers that start from a tokio listener, as their examples do:
/// each connection served by `serve_one` on a task of its own.
async fn accept_loop<F, Fut>(
    addr: SocketAddr,
    listening: impl FnOnce(SocketAddr) -> Result<()>,
    serve_one: F,
) -> Result<()>
where
    F: Fn(TcpStream) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind(addr).await?;
    listening(listener.local_addr()?)?;
    loop {
        match listener.accept().await {
            Ok((tcp, _)) => {
                let _ = tcp.set_nodelay(true);
                tokio::spawn(serve_one(tcp));
            }
            // Out of descriptors or similar: keep serving the connections there are.
            Err(e) => {
                eprintln!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_server_has_its_name() {
        let names: Vec<&str> = ServerKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names, crate::SERVERS);
        for k in ServerKind::ALL {
            assert_eq!(ServerKind::parse(k.name()), Some(k));
        }
        assert_eq!(ServerKind::parse("io-only"), None);
    }
}
