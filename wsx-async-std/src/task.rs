//! The connection task: socket I/O, timers and message plumbing around the core's `Driver`.
//! Runtime-neutral: it needs only a waker, so any executor can poll it.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use async_io::Timer;
use futures_lite::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use futures_lite::FutureExt;
use wsx_proto::{
    Ack, ClientConnection, CloseReason, CommandResult, Driver, Error, Handler, Next, PendingAcks, SendError, Status,
};

use crate::client::{Client, Command, Shared, WrittenTx};
use crate::stream::{self, Stream};

/// Commands handled per wake-up before the socket gets a turn again.
const COMMAND_BATCH: usize = 256;
/// Free space made in the read buffer before each read.
const READ_RESERVE: usize = 16 * 1024;
/// How long the last bytes (e.g. a close frame) may take to leave before the socket is dropped.
const FINAL_FLUSH_TIMEOUT: Duration = Duration::from_secs(1);

/// The command channel; pinned because its receiver is a stream that is not `Unpin`.
type Commands<H> = Pin<Box<async_channel::Receiver<Command<H>>>>;

pub(crate) struct StartFlags {
    /// Set for a synchronous start: told the outcome of the first attempt.
    pub(crate) first_attempt: Option<async_channel::Sender<Result<(), CloseReason>>>,
}

/// Runs a client until `handle_disconnect` says stop, then `terminate`.
pub(crate) async fn run_client<H: Handler>(
    mut handler: H,
    mut driver: Driver<H>,
    client: Client<H>,
    commands: async_channel::Receiver<Command<H>>,
    mut flags: StartFlags,
) {
    let mut commands: Commands<H> = Box::pin(commands);
    let mut unfinished = Unfinished(Some(client.clone()));
    let (reason, start_failed) = loop {
        driver.connecting();
        client.shared.status.set(Status::Connecting);
        let opened = async {
            let conn = ClientConnection::new(&driver.settings.request, driver.settings.config.clone())?;
            Ok::<_, Error>((conn, stream::connect(&driver.settings).await?))
        };
        let (reason, was_connected) = match opened.await {
            Ok((conn, stream)) => {
                let mut connection = Connection::new(stream, conn, &mut driver, &client, &mut flags);
                connection.run(&mut handler, &mut commands).await
            }
            Err(e) => (CloseReason::Error(e), false),
        };
        client.shared.status.set(Status::Connecting);
        match driver.disconnected(&mut handler, reason, was_connected) {
            Next::Reconnect => {}
            Next::Stop(reason) => break (reason, false),
            Next::StartFailed(reason) => break (reason, true),
        }
    };
    if !start_failed {
        driver.terminate(&mut handler, &reason);
    }
    unfinished.0 = None;
    // Refuse new commands before announcing the end, so nothing sent after `wait()` returns is
    // silently dropped.
    commands.close();
    client.shared.send_permits.close();
    client.shared.status.set(Status::Terminated(reason.clone()));
    if let Some(tx) = flags.first_attempt.take() {
        let _ = tx.try_send(Err(reason));
    }
}

/// Set while the task runs: if it is dropped before the end (a callback panicked, or the
/// executor was shut down), the client is marked terminated so `wait` and `send` don't hang.
struct Unfinished<H: Handler>(Option<Client<H>>);

impl<H: Handler> Drop for Unfinished<H> {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            let error = io::Error::other("the connection task stopped before terminating (a callback panicked?)");
            client.shared.commands.close();
            client.shared.send_permits.close();
            client
                .shared
                .status
                .set(Status::Terminated(CloseReason::Error(Error::Io(Arc::new(error)))));
        }
    }
}

enum Step<H: Handler> {
    Command(Command<H>),
    Read,
    Eof,
    Timer,
    Failed(io::Error),
}

/// One connection's worth of state.
struct Connection<'a, H: Handler> {
    stream: Stream,
    conn: ClientConnection,
    driver: &'a mut Driver<H>,
    client: &'a Client<H>,
    flags: &'a mut StartFlags,
    /// Alternates which of the socket and the commands is polled first, so neither starves.
    read_first: bool,
    /// Bytes handed out by the core and not yet written, in order.
    acks: PendingAcks<WrittenTx>,
    /// The time of the current wake-up: the clock is read once per loop turn.
    now: Instant,
    timer: Timer,
    /// The deadline `timer` is set to, if any.
    armed: Option<Instant>,
    connected: bool,
    needs_flush: bool,
}

impl<'a, H: Handler> Connection<'a, H> {
    fn new(
        stream: Stream,
        conn: ClientConnection,
        driver: &'a mut Driver<H>,
        client: &'a Client<H>,
        flags: &'a mut StartFlags,
    ) -> Self {
        Self {
            stream,
            conn,
            driver,
            client,
            flags,
            read_first: false,
            acks: PendingAcks::default(),
            now: Instant::now(),
            timer: Timer::never(),
            armed: None,
            connected: false,
            needs_flush: false,
        }
    }

    async fn run(&mut self, handler: &mut H, commands: &mut Commands<H>) -> (CloseReason, bool) {
        let mut closed = self.poll_events(handler);
        while closed.is_none() {
            self.now = Instant::now();
            self.arm_timer();
            let step = poll_fn(|cx| self.poll_step(cx, commands)).await;
            closed = match step {
                Step::Command(command) => {
                    self.on_command(handler, command);
                    for _ in 0..COMMAND_BATCH {
                        match commands.try_recv() {
                            Ok(command) => self.on_command(handler, command),
                            Err(_) => break,
                        }
                    }
                    self.poll_events(handler)
                }
                Step::Read => self.poll_events(handler),
                Step::Eof => {
                    self.conn.receive_eof();
                    self.poll_events(handler)
                }
                Step::Timer => {
                    self.driver.handle_timeout(&mut self.conn, handler, Instant::now());
                    self.poll_events(handler)
                }
                Step::Failed(e) => Some(CloseReason::Error(e.into())),
            };
        }
        let reason = closed.unwrap_or(CloseReason::Dropped);
        self.shutdown(&reason).await;
        (reason, self.connected)
    }

    /// Sets the timer to the earliest deadline: the core's (handshake, close) or a callback's.
    fn arm_timer(&mut self) {
        let deadline = self.driver.next_deadline(&mut self.conn, self.now);
        if deadline != self.armed {
            match deadline {
                Some(at) => self.timer.set_at(at),
                None => self.timer = Timer::never(),
            }
            self.armed = deadline;
        }
    }

    fn poll_step(&mut self, cx: &mut Context<'_>, commands: &mut Commands<H>) -> Poll<Step<H>> {
        if let Err(e) = self.poll_write(cx) {
            return Poll::Ready(Step::Failed(e));
        }
        self.read_first = !self.read_first;
        if self.read_first {
            if let Poll::Ready(step) = self.poll_read(cx) {
                return Poll::Ready(step);
            }
        }
        // The client holds a sender, so the channel never reports its end here.
        if let Poll::Ready(Some(command)) = futures_lite::Stream::poll_next(commands.as_mut(), cx) {
            return Poll::Ready(Step::Command(command));
        }
        if !self.read_first {
            if let Poll::Ready(step) = self.poll_read(cx) {
                return Poll::Ready(step);
            }
        }
        if self.armed.is_some() && Pin::new(&mut self.timer).poll(cx).is_ready() {
            self.armed = None;
            return Poll::Ready(Step::Timer);
        }
        Poll::Pending
    }

    /// Reads straight into the core's receive buffer. With nothing buffered, a plain socket
    /// waits for readiness before the buffer is allocated, so an idle connection holds none.
    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<Step<H>> {
        let room = self.conn.bytes_wanted().max(READ_RESERVE);
        let buf = self.conn.read_buffer();
        let len = buf.len();
        if let (Stream::Plain(tcp), 0) = (&self.stream, len) {
            if let Err(e) = ready!(tcp.poll_readable(cx)) {
                return Poll::Ready(Step::Failed(e));
            }
        }
        // futures-io reads into initialized memory: zero the spare room first.
        buf.resize(len + room, 0);
        let read = Pin::new(&mut self.stream).poll_read(cx, &mut buf[len..]);
        let n = match &read {
            Poll::Ready(Ok(n)) => *n,
            _ => 0,
        };
        buf.truncate(len + n);
        if len == 0 && read.is_pending() {
            self.conn.release_read_buffer();
        }
        read.map(|result| match result {
            Ok(0) => Step::Eof,
            Ok(_) => Step::Read,
            Err(e) if wsx_proto::is_abrupt_close(&e) => Step::Eof,
            Err(e) => Step::Failed(e),
        })
    }

    /// Writes as much of the connection's output as the socket takes, straight from the
    /// connection's buffer (every frame queued since the last write goes in one call), firing
    /// acks as bytes leave.
    fn poll_write(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let stream = &mut self.stream;
        let shared = &self.client.shared;
        let write = |buf: &[u8]| Pin::new(&mut *stream).poll_write(cx, buf);
        if self
            .acks
            .write_pending(&mut self.conn, self.now, write, |ack| fire(shared, ack))?
        {
            self.needs_flush = true;
        }
        if self.needs_flush {
            match Pin::new(&mut self.stream).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.needs_flush = false,
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => {}
            }
        }
        Ok(())
    }

    fn on_command(&mut self, handler: &mut H, command: Command<H>) {
        match self
            .driver
            .handle_command(&mut self.conn, handler, &mut self.acks, command)
        {
            CommandResult::Done => {}
            CommandResult::FireNow(ack) => fire(&self.client.shared, ack),
            CommandResult::Refused(tx, e) => {
                let _ = tx.try_send(Err(e));
            }
        }
    }

    /// Runs callbacks for every event the core has; returns the reason once it is closed.
    fn poll_events(&mut self, handler: &mut H) -> Option<CloseReason> {
        let progress = self.driver.poll_events(&mut self.conn, handler);
        if progress.connected {
            self.connected = true;
            self.client.shared.status.set(Status::Connected);
            if let Some(tx) = self.flags.first_attempt.take() {
                let _ = tx.try_send(Ok(()));
            }
        }
        progress.closed
    }

    /// Flushes what is left (typically a close frame), closes the socket, fails waiting senders.
    async fn shutdown(&mut self, reason: &CloseReason) {
        self.now = Instant::now();
        let flush = async {
            poll_fn(|cx| match self.poll_write(cx) {
                Err(e) => Poll::Ready(Err(e)),
                Ok(()) if !self.conn.wants_write() && !self.needs_flush => Poll::Ready(Ok(())),
                Ok(()) => Poll::Pending,
            })
            .await?;
            self.stream.close().await
        };
        let give_up = async {
            Timer::after(FINAL_FLUSH_TIMEOUT).await;
            Ok(())
        };
        let _ = flush.or(give_up).await;
        for ack in self.acks.drain() {
            match ack {
                Ack::Written(tx) => {
                    let _ = tx.try_send(Err(SendError::ConnectionFailed(Some(reason.clone()))));
                }
                Ack::Permits(n) => self.client.shared.send_permits.add(n),
            }
        }
    }
}

/// Tells a `send_frame` caller its frame left, or gives pipelined `send` slots back.
fn fire<H: Handler>(shared: &Shared<H>, ack: Ack<WrittenTx>) {
    match ack {
        Ack::Written(tx) => {
            let _ = tx.try_send(Ok(()));
        }
        Ack::Permits(n) => shared.send_permits.add(n),
    }
}
