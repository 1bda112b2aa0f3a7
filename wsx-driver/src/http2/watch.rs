//! A connection's incoming bytes, watched for GOAWAY. RFC 9113 §6.8: a client that received
//! GOAWAY opens no new stream on that connection; `h2`'s client neither refuses new streams
//! after one nor tells its user it came, and a server ignores a stream opened after it (the
//! client would wait out its handshake timeout). The frames' boundaries are all it reads.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::pool::{self, Key, Shared};

/// HTTP/2's frame header: a 24-bit length, the type, flags and the stream (RFC 9113 §4.1).
const HEADER: usize = 9;
const GOAWAY: u8 = 0x7;

/// `io` for `h2`, retiring its connection from the pool at the server's first GOAWAY.
pub(super) struct GoAwayWatch<Io> {
    io: Io,
    connection: Arc<Shared>,
    key: Option<Key>,
    /// The frame header being read, and how much of it has come.
    header: [u8; HEADER],
    have: usize,
    /// What is left of the current frame's payload.
    payload: usize,
}

impl<Io> GoAwayWatch<Io> {
    pub(super) fn new(io: Io, connection: Arc<Shared>, key: Option<Key>) -> Self {
        Self {
            io,
            connection,
            key,
            header: [0; HEADER],
            have: 0,
            payload: 0,
        }
    }

    /// Follows the frames through `bytes`, the next ones the server sent. (The server's side
    /// of a connection is frames from its first byte: its preface is a SETTINGS frame.)
    fn watch(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.payload > 0 {
                let skipped = self.payload.min(bytes.len());
                self.payload -= skipped;
                bytes = &bytes[skipped..];
                continue;
            }
            let taken = (HEADER - self.have).min(bytes.len());
            self.header[self.have..self.have + taken].copy_from_slice(&bytes[..taken]);
            self.have += taken;
            bytes = &bytes[taken..];
            if self.have == HEADER {
                self.have = 0;
                self.payload =
                    usize::from(self.header[0]) << 16 | usize::from(self.header[1]) << 8 | usize::from(self.header[2]);
                if self.header[3] == GOAWAY {
                    match &self.key {
                        Some(key) => pool::retire(key, &self.connection),
                        None => pool::close(&self.connection),
                    }
                }
            }
        }
    }
}

impl<Io: AsyncRead + Unpin> AsyncRead for GoAwayWatch<Io> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = read {
            this.watch(&buf.filled()[before..]);
        }
        read
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for GoAwayWatch<Io> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, payload: usize) -> Vec<u8> {
        let mut bytes = vec![
            (payload >> 16) as u8,
            (payload >> 8) as u8,
            payload as u8,
            kind,
            0,
            0,
            0,
            0,
            0,
        ];
        bytes.resize(HEADER + payload, 0x07);
        bytes
    }

    #[test]
    fn goaway_is_found_whatever_the_reads_split() {
        // A payload full of 0x07 bytes (GOAWAY's type) must not be taken for a header.
        let mut stream = frame(0x4, 18);
        stream.extend(frame(0x0, 70_000));
        stream.extend(frame(0x6, 8));
        let before = stream.len();
        stream.extend(frame(GOAWAY, 8));
        for split in [1, 2, 5, 9, 10, 4096, stream.len()] {
            let shared = Shared::new();
            let mut watch = GoAwayWatch::new((), shared.clone(), None);
            for (i, chunk) in stream.chunks(split).enumerate() {
                let end = (i * split + chunk.len()).min(stream.len());
                watch.watch(chunk);
                assert_eq!(shared.is_closed(), end >= before + HEADER, "split {split}, at {end}");
            }
            assert!(shared.is_closed(), "split {split}");
        }
    }
}
