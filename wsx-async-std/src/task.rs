//! The connection task: async-io's socket and timer, given to the loop every async adapter
//! shares ([`wsx_proto::session::poll`]). Runtime-neutral: any executor can poll it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use async_io::Timer;
use futures_lite::io::{AsyncRead, AsyncWrite};
use wsx_proto::{ConnectSettings, Handler, PollTimer, PollTransport, Session};

use crate::stream::{self, Stream};

/// Free space made in the read buffer before each read.
const READ_RESERVE: usize = 16 * 1024;

/// Runs a session until it stops.
pub(crate) fn run<H: Handler>(session: Box<Session<H>>) -> impl Future<Output = ()> + Send {
    let connect = |settings: &ConnectSettings| {
        let settings = settings.clone();
        Box::pin(async move { stream::connect(&settings).await })
    };
    wsx_proto::session::poll::run_owned(session, connect, AsyncIoTimer(Timer::never(), None))
}

/// async-io's timer and the deadline it is set to.
struct AsyncIoTimer(Timer, Option<Instant>);

impl PollTimer for AsyncIoTimer {
    fn poll_until(&mut self, cx: &mut Context<'_>, at: Instant) -> Poll<()> {
        if self.1 != Some(at) {
            self.0.set_at(at);
            self.1 = Some(at);
        }
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}

impl PollTransport for Stream {
    /// With nothing buffered, a plain socket waits for readiness before the buffer is
    /// allocated, so an idle connection holds none.
    fn poll_read_into(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut bytes::BytesMut,
        wanted: usize,
    ) -> Poll<io::Result<usize>> {
        let len = buf.len();
        if let (Stream::Plain(tcp), 0) = (&*self, len) {
            ready!(tcp.poll_readable(cx))?;
        }
        // futures-io reads into initialized memory: zero the spare room first.
        buf.resize(len + wanted.max(READ_RESERVE), 0);
        let read = Pin::new(&mut *self).poll_read(cx, &mut buf[len..]);
        let n = match &read {
            Poll::Ready(Ok(n)) => *n,
            _ => 0,
        };
        buf.truncate(len + n);
        if len == 0 && read.is_pending() {
            *buf = bytes::BytesMut::new();
        }
        read
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        AsyncWrite::poll_write(Pin::new(self), cx, buf)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_flush(Pin::new(self), cx)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_close(Pin::new(self), cx)
    }
}
