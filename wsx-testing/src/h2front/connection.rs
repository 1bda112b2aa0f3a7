//! Accepting connections: TLS and ALPN, the HTTP/2 connection task, and the raw pass-through
//! for TLS clients that did not negotiate `h2`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::timeout;
use tokio_rustls::TlsAcceptor;

use super::{stream, Command, FrontState};

/// How long a client may take over the TLS handshake or the HTTP/2 preface and SETTINGS.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts until the listener fails (the front's drop ends it sooner, with the runtime).
pub(super) async fn accept_loop(listener: std::net::TcpListener, state: Arc<FrontState>) {
    let Ok(listener) = TcpListener::from_std(listener) else {
        return;
    };
    let tls = state.options.tls.as_ref().map(|pki| {
        let mut config = (*pki.server_config).clone();
        config.alpn_protocols = state.options.alpn.clone();
        TlsAcceptor::from(Arc::new(config))
    });
    loop {
        let tcp = match listener.accept().await {
            Ok((tcp, _)) => tcp,
            // E.g. too many open files: wait instead of spinning.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        state.connections.fetch_add(1, Ordering::SeqCst);
        // Subscribed before the task runs, so a command sent after this connection was
        // counted reaches it.
        let commands = state.commands.subscribe();
        tokio::spawn(serve_connection(tcp, tls.clone(), state.clone(), commands));
    }
}

async fn serve_connection(
    tcp: TcpStream,
    tls: Option<TlsAcceptor>,
    state: Arc<FrontState>,
    commands: broadcast::Receiver<Command>,
) {
    let Some(acceptor) = tls else {
        return serve_h2(tcp, state, commands).await;
    };
    let Ok(Ok(tls)) = timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await else {
        return;
    };
    let negotiated_h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    if negotiated_h2 {
        serve_h2(tls, state, commands).await;
    } else {
        pass_through(tls, state, commands).await;
    }
}

/// Drives one HTTP/2 connection: accepts its streams (each served by a task of its own) and
/// applies the handle's connection commands.
async fn serve_h2<T>(io: T, state: Arc<FrontState>, mut commands: broadcast::Receiver<Command>)
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let handshake = state.options.h2_builder().handshake::<_, Bytes>(io);
    let Ok(Ok(mut connection)) = timeout(HANDSHAKE_TIMEOUT, handshake).await else {
        return;
    };
    /// Counts the connection as open while it runs.
    struct Open(Arc<FrontState>);
    impl Drop for Open {
        fn drop(&mut self) {
            self.0.open_h2_connections.fetch_sub(1, Ordering::SeqCst);
        }
    }
    state.open_h2_connections.fetch_add(1, Ordering::SeqCst);
    let _open = Open(state.clone());
    // Polling `accept` is also what drives the connection's I/O for every stream task: the
    // loop must keep running (even after GOAWAY) until it returns `None`.
    loop {
        tokio::select! {
            next = connection.accept() => match next {
                Some(Ok((request, respond))) => {
                    state.streams.fetch_add(1, Ordering::SeqCst);
                    let stream_commands = state.commands.subscribe();
                    let open = stream::OpenStream::new(state.clone());
                    tokio::spawn(stream::serve_stream(request, respond, stream_commands, open));
                }
                Some(Err(_)) | None => return,
            },
            command = commands.recv() => match command {
                Ok(Command::GoAway) => {
                    connection.graceful_shutdown();
                    state.goaways.fetch_add(1, Ordering::SeqCst);
                }
                // Dropping the connection closes the socket and fails every stream on it.
                Ok(Command::AbortConnections) | Err(RecvError::Closed) => return,
                Ok(Command::ResetStreams(_)) | Err(RecvError::Lagged(_)) => {}
            },
        }
    }
}

/// Copies bytes between a TLS client that did not choose `h2` and the backend, unchanged.
async fn pass_through<T>(mut client: T, state: Arc<FrontState>, mut commands: broadcast::Receiver<Command>)
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let Some(backend) = state.options.backend else {
        return;
    };
    let Ok(Ok(mut backend)) = timeout(HANDSHAKE_TIMEOUT, TcpStream::connect(backend)).await else {
        return;
    };
    let _ = backend.set_nodelay(true);
    let copy = tokio::io::copy_bidirectional(&mut client, &mut backend);
    tokio::pin!(copy);
    loop {
        tokio::select! {
            _ = &mut copy => return,
            command = commands.recv() => match command {
                Ok(Command::AbortConnections) | Err(RecvError::Closed) => return,
                _ => {}
            },
        }
    }
}
