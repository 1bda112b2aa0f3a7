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
    send: SendStream<Bytes>,
    recv: RecvStream,
    /// Received and not yet handed to the session (a DATA frame larger than its read).
    received: Bytes,
    /// END_STREAM sent.
    finished: bool,
    /// Keeps the shared connection counted as in use.
    _lease: Lease,
}

impl Http2Stream {
    pub(super) fn new(send: SendStream<Bytes>, recv: RecvStream, lease: Lease) -> Self {
        Self {
            send,
            recv,
            received: Bytes::new(),
            finished: false,
            _lease: lease,
        }
    }
}

impl PollTransport for Http2Stream {
    fn poll_read_into(&mut self, cx: &mut Context<'_>, buf: &mut BytesMut, room: usize) -> Poll<io::Result<usize>> {
        if self.received.is_empty() {
            match self.recv.poll_data(cx) {
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
        let _ = self.recv.flow_control().release_capacity(n);
        Poll::Ready(Ok(n))
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        while self.send.capacity() == 0 {
            self.send.reserve_capacity(buf.len());
            match self.send.poll_capacity(cx) {
                Poll::Ready(Some(Ok(_))) => {}
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(io_error(e))),
                Poll::Ready(None) => return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
                Poll::Pending => return Poll::Pending,
            }
        }
        let n = self.send.capacity().min(buf.len());
        self.send
            .send_data(Bytes::copy_from_slice(&buf[..n]), false)
            .map_err(io_error)?;
        Poll::Ready(Ok(n))
    }

    /// The connection's task writes the frames: nothing to flush here.
    fn poll_flush(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Ends the stream (END_STREAM), the HTTP/2 form of a FIN.
    fn poll_shutdown(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.finished {
            self.finished = true;
            // A stream the server already reset has nothing to end.
            let _ = self.send.send_data(Bytes::new(), true);
        }
        Poll::Ready(Ok(()))
    }
}

/// An HTTP/2 error as the session reads it: the socket's own error as it was (a reset is a
/// dropped connection), a stream reset or GOAWAY from the server as [`Http2Error`].
pub(super) fn io_error(e: h2::Error) -> io::Error {
    if e.is_io() {
        return e.into_io().expect("an I/O error");
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
