//! One WebSocket's HTTP/2 stream as a session's transport: DATA frames in and out, within
//! HTTP/2's flow control.

use std::io;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use h2::{RecvStream, SendStream};

use wsx_proto::http2::Http2Error;

use super::pool::Lease;
use crate::PollTransport;

/// A WebSocket's stream of a (maybe shared) HTTP/2 connection. Writes take only what the
/// stream's flow-control window allows, so a server that stops reading this stream blocks
/// this client's writes (and so its senders, through the send budget) and nothing else;
/// reads give the window back only as the session takes the bytes.
#[derive(Debug)]
pub struct Http2Stream {
    /// Taken by `drop` when the stream must linger.
    halves: Option<Halves>,
    /// Received and not yet handed to the session (a DATA frame larger than its read).
    received: Bytes,
}

#[derive(Debug)]
struct Halves {
    send: SendStream<Bytes>,
    recv: RecvStream,
    /// END_STREAM sent.
    finished: bool,
    /// Keeps the shared connection counted as in use.
    lease: Lease,
}

impl Http2Stream {
    pub(super) fn new(send: SendStream<Bytes>, recv: RecvStream, lease: Lease) -> Self {
        let halves = Halves {
            send,
            recv,
            finished: false,
            lease,
        };
        Self {
            halves: Some(halves),
            received: Bytes::new(),
        }
    }

    fn halves(&mut self) -> &mut Halves {
        self.halves.as_mut().expect("a stream's halves until it is dropped")
    }
}

impl Drop for Http2Stream {
    /// A stream the server has not ended yet lingers in its connection's task: dropped now,
    /// `h2` would reset it and throw away what it has not written yet (our close frame and
    /// END_STREAM among it), where a TCP socket would still send it.
    fn drop(&mut self) {
        let Some(mut halves) = self.halves.take() else { return };
        finish(&mut halves);
        if halves.recv.is_end_stream() {
            return;
        }
        let connection = halves.lease.connection().clone();
        connection.linger(Lingering {
            send: halves.send,
            recv: halves.recv,
            _lease: halves.lease,
        });
    }
}

/// Sends END_STREAM, once.
fn finish(halves: &mut Halves) {
    if !std::mem::replace(&mut halves.finished, true) {
        // A stream the server already reset has nothing to end.
        let _ = halves.send.send_data(Bytes::new(), true);
    }
}

/// A dropped stream waiting for the server to end its side, for at most
/// [`LINGER`](super::pool::LINGER): what it sends is read and thrown away.
#[derive(Debug)]
pub(crate) struct Lingering {
    send: SendStream<Bytes>,
    recv: RecvStream,
    _lease: Lease,
}

impl Lingering {
    /// Ready once the server has ended the stream (or reset it, or the connection failed).
    pub(crate) fn poll_done(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            match self.recv.poll_data(cx) {
                Poll::Ready(Some(Ok(data))) => {
                    let _ = self.recv.flow_control().release_capacity(data.len());
                }
                Poll::Ready(_) => return Poll::Ready(()),
                Poll::Pending => {
                    // A reset ends it too, with nothing left to read.
                    return match self.send.poll_reset(cx) {
                        Poll::Ready(_) => Poll::Ready(()),
                        Poll::Pending => Poll::Pending,
                    };
                }
            }
        }
    }
}

impl PollTransport for Http2Stream {
    fn poll_read_into(&mut self, cx: &mut Context<'_>, buf: &mut BytesMut, room: usize) -> Poll<io::Result<usize>> {
        let halves = self.halves.as_mut().expect("a stream's halves until it is dropped");
        if self.received.is_empty() {
            match halves.recv.poll_data(cx) {
                Poll::Ready(Some(Ok(data))) => self.received = data,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(io_error(e))),
                // END_STREAM: the server's end of the WebSocket, like a TCP FIN.
                Poll::Ready(None) => return Poll::Ready(Ok(0)),
                Poll::Pending => return Poll::Pending,
            }
        }
        let n = room.max(1).min(self.received.len());
        wsx_proto::protocol::buffer::reserve(buf, n);
        buf.extend_from_slice(&self.received[..n]);
        self.received.advance(n);
        // The bytes are the session's now: the server may send as many more.
        let _ = halves.recv.flow_control().release_capacity(n);
        Poll::Ready(Ok(n))
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let send = &mut self.halves().send;
        while send.capacity() == 0 {
            send.reserve_capacity(buf.len());
            match send.poll_capacity(cx) {
                Poll::Ready(Some(Ok(_))) => {}
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(io_error(e))),
                Poll::Ready(None) => return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
                Poll::Pending => return Poll::Pending,
            }
        }
        let n = send.capacity().min(buf.len());
        send.send_data(Bytes::copy_from_slice(&buf[..n]), false)
            .map_err(io_error)?;
        Poll::Ready(Ok(n))
    }

    /// The connection's task writes the frames: nothing to flush here.
    fn poll_flush(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Ends the stream (END_STREAM), the HTTP/2 form of a FIN.
    fn poll_shutdown(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        finish(self.halves());
        Poll::Ready(Ok(()))
    }
}

/// An HTTP/2 error as the session reads it: the socket's own error as it was (a reset is a
/// dropped connection), a stream reset or GOAWAY from the server as [`Http2Error`]; a
/// CONNECT_ERROR reset is a proxy's word for its TCP connection to the server reset (RFC 9113
/// §8.5), so a dropped connection too.
pub(super) fn io_error(e: h2::Error) -> io::Error {
    if e.is_io() {
        return e.into_io().expect("an I/O error");
    }
    if e.is_reset() && e.is_remote() && e.reason() == Some(h2::Reason::CONNECT_ERROR) {
        return io::Error::new(io::ErrorKind::ConnectionReset, http2_error(&e));
    }
    io::Error::from(http2_error(&e))
}

/// What `e` says about the stream or the connection.
pub(super) fn http2_error(e: &h2::Error) -> Http2Error {
    let code = e.reason().map_or(0, u32::from);
    if e.is_go_away() && e.is_remote() {
        Http2Error::GoAway { code }
    } else if e.is_reset() && e.is_remote() {
        Http2Error::StreamReset { code }
    } else {
        Http2Error::Connection(e.to_string())
    }
}
