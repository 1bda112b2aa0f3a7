//! How bytes reach a session's read buffer, for the client's transport and the server's
//! alike: a plain socket reads straight into the buffer's spare room; a futures-io stream
//! (TLS, or a stream the application hands over) through a scratch buffer.

use std::io;
use std::net::TcpStream;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use async_io::Async;
use bytes::BytesMut;
use futures_lite::io::AsyncRead;

/// The scratch buffer's size: one read of a futures-io stream.
const SCRATCH: usize = 64 * 1024;

/// Reads at most `room` bytes of a plain socket into `buf`'s spare room, the way async-io's
/// own `poll_read` does: try, and on `WouldBlock` wait for readiness. With nothing buffered
/// it waits for readiness before any buffer is allocated, so an idle connection holds none.
pub(crate) fn poll_read_plain(
    tcp: &Async<TcpStream>,
    cx: &mut Context<'_>,
    buf: &mut BytesMut,
    room: usize,
) -> Poll<io::Result<usize>> {
    if buf.capacity() == 0 {
        ready!(tcp.poll_readable(cx))?;
    }
    loop {
        let read = wsx_driver::read_into_spare(buf, room, |spare| Ok(rustix::io::read(tcp.get_ref(), spare)?.0));
        match read {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => ready!(tcp.poll_readable(cx))?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            read => return Poll::Ready(read),
        }
    }
}

/// A reusable read buffer for futures-io streams: futures-io reads into initialized memory,
/// so reading into a scratch zeroed once and copying out is cheaper than zeroing spare room
/// in the session's buffer before every read.
#[derive(Default)]
pub(crate) struct ReadScratch {
    /// Zeroed once, when a read finds data; freed when the stream goes idle.
    bytes: Vec<u8>,
}

impl ReadScratch {
    /// Reads from `stream` and appends what came to `buf`.
    pub(crate) fn poll_read_into<R: AsyncRead + Unpin + ?Sized>(
        &mut self,
        stream: &mut R,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
        room: usize,
    ) -> Poll<io::Result<usize>> {
        if self.bytes.is_empty() {
            self.bytes = vec![0; SCRATCH];
        }
        let read = Pin::new(stream).poll_read(cx, &mut self.bytes);
        match &read {
            Poll::Ready(Ok(n)) => {
                // Room for the rest of the frame at once: no regrowth (and copy) per read.
                wsx_proto::protocol::buffer::reserve(buf, room.max(*n));
                buf.extend_from_slice(&self.bytes[..*n]);
            }
            // The session gives an empty read buffer back itself.
            Poll::Pending if buf.is_empty() => self.bytes = Vec::new(),
            _ => {}
        }
        read
    }
}
