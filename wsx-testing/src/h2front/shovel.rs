//! The relay of an upgraded stream: DATA to the backend socket and the backend's bytes back
//! as DATA, each side held to the other's pace by HTTP/2 flow control.

use std::future::poll_fn;
use std::io;

use bytes::{Bytes, BytesMut};
use h2::{Reason, RecvStream, SendStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::broadcast::{self, error::RecvError};

use super::Command;

/// The most read from the backend at once (and so held before the client takes it).
const READ_CHUNK: usize = 16 * 1024;

/// The next [`Command::ResetStreams`] for this stream; pending forever once the handle's
/// channel is gone.
pub(super) async fn next_reset(commands: &mut broadcast::Receiver<Command>) -> Reason {
    loop {
        match commands.recv().await {
            Ok(Command::ResetStreams(reason)) => return reason,
            Ok(_) | Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => std::future::pending::<()>().await,
        }
    }
}

/// Sends `data` as DATA frames no larger than the capacity the client granted, so h2 never
/// buffers more than that.
pub(super) async fn send_all(send: &mut SendStream<Bytes>, mut data: Bytes, end_of_stream: bool) -> Result<(), ()> {
    while !data.is_empty() {
        send.reserve_capacity(data.len());
        let granted = match send.capacity() {
            0 => match poll_fn(|cx| send.poll_capacity(cx)).await {
                Some(Ok(granted)) => granted,
                Some(Err(_)) | None => return Err(()),
            },
            ready => ready,
        };
        let chunk = data.split_to(granted.min(data.len()));
        send.send_data(chunk, false).map_err(drop)?;
    }
    if end_of_stream {
        send.send_data(Bytes::new(), true).map_err(drop)?;
    }
    Ok(())
}

/// How the client-to-backend direction ended.
enum Upstream {
    /// The client ended the stream (the backend's write side is shut down): the other
    /// direction may go on.
    Done,
    /// The client reset the stream or the connection is gone.
    ClientGone,
}

/// What the relay waited for.
enum Event {
    Upstream(Upstream),
    Capacity(Option<Result<usize, h2::Error>>),
    BackendRead(io::Result<usize>),
    ClientGone,
    Reset(Reason),
}

/// Relays until both directions ended, the client reset the stream (or lost the connection),
/// the backend failed (RST_STREAM CONNECT_ERROR, RFC 9113 §8.5) or the handle reset the
/// stream. With `stall`, DATA from the client is never read nor its capacity released.
pub(super) async fn relay(
    recv: RecvStream,
    mut send: SendStream<Bytes>,
    backend: TcpStream,
    early_bytes: Bytes,
    stall: bool,
    mut commands: broadcast::Receiver<Command>,
) {
    let (mut backend_read, backend_write) = backend.into_split();
    // Owns its halves (no borrow of `send`), so the loop below can use `send` between waits.
    let upstream = client_to_backend(recv, backend_write, stall);
    tokio::pin!(upstream);
    let mut upstream_done = false;
    let mut backend_eof_sent = false;
    // Read from the backend, not yet sent: never more than one read.
    let mut pending = early_bytes;
    let mut buf = BytesMut::new();
    while !(upstream_done && backend_eof_sent) {
        let event = if !pending.is_empty() {
            send.reserve_capacity(pending.len());
            match send.capacity() {
                0 => tokio::select! {
                    up = &mut upstream, if !upstream_done => Event::Upstream(up),
                    granted = poll_fn(|cx| send.poll_capacity(cx)) => Event::Capacity(granted),
                    reason = next_reset(&mut commands) => Event::Reset(reason),
                },
                ready => Event::Capacity(Some(Ok(ready))),
            }
        } else if !backend_eof_sent {
            buf.reserve(READ_CHUNK);
            tokio::select! {
                up = &mut upstream, if !upstream_done => Event::Upstream(up),
                read = backend_read.read_buf(&mut buf) => Event::BackendRead(read),
                _ = poll_fn(|cx| send.poll_reset(cx)) => Event::ClientGone,
                reason = next_reset(&mut commands) => Event::Reset(reason),
            }
        } else {
            tokio::select! {
                up = &mut upstream, if !upstream_done => Event::Upstream(up),
                _ = poll_fn(|cx| send.poll_reset(cx)) => Event::ClientGone,
                reason = next_reset(&mut commands) => Event::Reset(reason),
            }
        };
        match event {
            Event::Upstream(Upstream::Done) => upstream_done = true,
            Event::Upstream(Upstream::ClientGone) | Event::ClientGone => return,
            Event::Capacity(Some(Ok(granted))) => {
                let chunk = pending.split_to(granted.min(pending.len()));
                if send.send_data(chunk, false).is_err() {
                    return;
                }
            }
            Event::Capacity(Some(Err(_)) | None) => return,
            Event::BackendRead(Ok(0)) => {
                if send.send_data(Bytes::new(), true).is_err() {
                    return;
                }
                backend_eof_sent = true;
            }
            Event::BackendRead(Ok(_)) => pending = buf.split().freeze(),
            Event::BackendRead(Err(_)) => return send.send_reset(Reason::CONNECT_ERROR),
            Event::Reset(reason) => return send.send_reset(reason),
        }
    }
}

/// Writes the client's DATA to the backend. Capacity is released only once the bytes are in
/// the backend socket: a backend that stops reading closes this stream's window (and no
/// other's, beyond the connection window the unread bytes take).
async fn client_to_backend(mut recv: RecvStream, mut backend: OwnedWriteHalf, stall: bool) -> Upstream {
    if stall {
        // Keeps `recv` (and so the stream's unread DATA and window) as it is.
        std::future::pending::<()>().await;
    }
    let mut backend_takes_bytes = true;
    while let Some(data) = recv.data().await {
        let Ok(data) = data else {
            return Upstream::ClientGone;
        };
        // A backend that closed or reset gets nothing more; its end reaches the client
        // through the other direction. The stream keeps being read (and its DATA dropped)
        // rather than dropped: h2 would still count the small DATA frames of a dropped
        // stream against the connection's budget (see `FrontOptions::data_frame_budget`).
        if backend_takes_bytes && backend.write_all(&data).await.is_err() {
            backend_takes_bytes = false;
        }
        let _ = recv.flow_control().release_capacity(data.len());
    }
    let _ = backend.shutdown().await;
    Upstream::Done
}
