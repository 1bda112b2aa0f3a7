//! The connection task: async-io's socket and timer, given to the loop every async adapter
//! shares ([`wsx_driver::run`]). Runtime-neutral: any executor can poll it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use async_io::Timer;
use futures_lite::io::AsyncWrite;
use wsx_driver::{Opened, PollTimer, PollTransport, Session};
use wsx_proto::{ConnectSettings, Handler};

use crate::executor::Spawn;
use crate::read::{poll_read_plain, ReadScratch};
use crate::stream::{self, Stream};

/// Runs a session until it stops; an HTTP/2 connection it opens runs its task on `S` too.
pub(crate) fn run<H: Handler, S: Spawn>(session: Box<Session<H>>) -> impl Future<Output = ()> + Send {
    let connect = |settings: &ConnectSettings| {
        let settings = settings.clone();
        Box::pin(async move {
            let (stream, upgraded) = stream::connect::<S>(&settings).await?;
            let transport = Transport {
                stream,
                scratch: ReadScratch::default(),
            };
            Ok((transport, upgraded))
        })
    };
    wsx_driver::run_owned(session, connect, AsyncIoTimer::new())
}

/// async-io's timer as a future of `()`, for the client's timeouts.
pub(crate) async fn sleep(duration: std::time::Duration) {
    Timer::after(duration).await;
}

/// async-io's timer and the deadline it is set to.
pub(crate) struct AsyncIoTimer(Timer, Option<Instant>);

impl AsyncIoTimer {
    pub(crate) fn new() -> Self {
        Self(Timer::never(), None)
    }
}

impl PollTimer for AsyncIoTimer {
    fn poll_until(&mut self, cx: &mut Context<'_>, at: Instant) -> Poll<()> {
        if self.1 != Some(at) {
            self.0.set_at(at);
            self.1 = Some(at);
        }
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }

    fn disarm(&mut self) {
        if self.1.take().is_some() {
            // Dropping the armed timer takes it out of the reactor's timer list.
            self.0 = Timer::never();
        }
    }
}

/// The socket, and for TLS a reusable read buffer ([`ReadScratch`]); a plain socket reads
/// straight into the session's buffer.
struct Transport {
    stream: Stream,
    scratch: ReadScratch,
}

impl PollTransport for Transport {
    /// With nothing buffered, a plain socket waits for readiness before any buffer is
    /// allocated, so an idle connection holds none.
    fn poll_read_into(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut bytes::BytesMut,
        room: usize,
    ) -> Poll<io::Result<usize>> {
        match &mut self.stream {
            Stream::Socket(Opened::Plain(tcp)) => poll_read_plain(tcp, cx, buf, room),
            Stream::Socket(Opened::Tls(tls)) => self.scratch.poll_read_into(tls, cx, buf, room),
            Stream::Http2(stream) => stream.poll_read_into(cx, buf, room),
        }
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match &mut self.stream {
            Stream::Socket(Opened::Plain(s)) => Pin::new(s).poll_write(cx, buf),
            Stream::Socket(Opened::Tls(s)) => Pin::new(s).poll_write(cx, buf),
            Stream::Http2(stream) => stream.poll_write(cx, buf),
        }
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.stream {
            Stream::Socket(Opened::Plain(s)) => Pin::new(s).poll_flush(cx),
            Stream::Socket(Opened::Tls(s)) => Pin::new(s).poll_flush(cx),
            Stream::Http2(stream) => stream.poll_flush(cx),
        }
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.stream {
            Stream::Socket(Opened::Plain(s)) => Pin::new(s).poll_close(cx),
            Stream::Socket(Opened::Tls(s)) => Pin::new(s).poll_close(cx),
            Stream::Http2(stream) => stream.poll_shutdown(cx),
        }
    }
}
