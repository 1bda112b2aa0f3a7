//! The connection task: socket I/O, timers and message plumbing around the core's `Driver`.

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::AsyncWrite;
use tokio::sync::oneshot;
use tokio::time::Sleep;
use wsx_proto::{
    Ack, ClientConnection, CloseReason, CommandResult, Driver, Handler, Next, PendingAcks, SendError, Status,
};

use crate::client::{Client, Command, Shared, WrittenTx};
use crate::stream::{self, Stream};

/// How long the last bytes (e.g. a close frame) may take to leave before the socket is dropped.
const FINAL_FLUSH_TIMEOUT: Duration = Duration::from_secs(1);

pub(crate) struct StartFlags {
    /// Set for a synchronous start: told the outcome of the first attempt.
    pub(crate) first_attempt: Option<oneshot::Sender<Result<(), CloseReason>>>,
}

/// Runs a client until `handle_disconnect` says stop, then `terminate`.
///
/// The driver comes boxed and the connection is built outside the `match` on the connect
/// result: both keep the task's future small (an async fn's arguments and match temporaries
/// each take their own slot in it), which is most of an idle connection's memory.
pub(crate) async fn run_client<H: Handler>(
    mut handler: H,
    mut driver: Box<Driver<H>>,
    client: Client<H>,
    mut flags: StartFlags,
) {
    let (reason, start_failed) = loop {
        driver.connecting();
        client.shared.status.set(Status::Connecting);
        // Boxed: the connect and TLS futures are large and only live while connecting, so an
        // open (or idle) connection's task does not carry their size.
        let opened = Box::pin(async {
            let conn = ClientConnection::new(&driver.settings.request, driver.settings.config.clone())?;
            Ok::<_, wsx_proto::Error>((conn, stream::connect(&driver.settings).await?))
        });
        let mut opened = match opened.await {
            Ok((conn, stream)) => Ok(Connection::new(stream, conn, &mut driver, &client, &mut flags)),
            Err(e) => Err(e),
        };
        // Run it in place (by reference): moving it out would give it a second slot.
        let (reason, was_connected) = match &mut opened {
            Ok(connection) => connection.run(&mut handler).await,
            Err(e) => (CloseReason::Error(e.clone()), false),
        };
        drop(opened);
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
    // Refuse new commands before announcing the end, so nothing sent after `wait()` returns is
    // silently dropped.
    client.shared.commands.close();
    client.shared.send_permits.close();
    client.shared.status.set(Status::Terminated(reason.clone()));
    if let Some(tx) = flags.first_attempt.take() {
        let _ = tx.send(Err(reason));
    }
}

enum Step {
    /// Commands were taken into the batch.
    Commands,
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
    acks: PendingAcks<WrittenTx>,
    /// Commands taken from the queue in one go, handled in order.
    batch: VecDeque<Command<H>>,
    /// The time of the current wake-up: the clock is read once per loop turn.
    now: Instant,
    /// Made on first use: an idle open connection arms no timer.
    sleep: Option<Pin<Box<Sleep>>>,
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
            acks: PendingAcks::default(),
            batch: VecDeque::new(),
            now: Instant::now(),
            sleep: None,
            connected: false,
            needs_flush: false,
        }
    }

    async fn run(&mut self, handler: &mut H) -> (CloseReason, bool) {
        let mut closed = self.poll_events(handler);
        while closed.is_none() {
            self.now = Instant::now();
            let deadline = self.driver.next_deadline(&mut self.conn, self.now);
            if let Some(at) = deadline {
                let at = tokio::time::Instant::from_std(at);
                match &mut self.sleep {
                    Some(sleep) => sleep.as_mut().reset(at),
                    None => self.sleep = Some(Box::pin(tokio::time::sleep_until(at))),
                }
            }
            let step = poll_fn(|cx| self.poll_step(cx, deadline.is_some())).await;
            closed = match step {
                Step::Commands => {
                    while let Some(command) = self.batch.pop_front() {
                        self.on_command(handler, command);
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
        // Boxed for the same reason: only the last moments of a connection need it.
        Box::pin(self.shutdown(&reason)).await;
        (reason, self.connected)
    }

    fn poll_step(&mut self, cx: &mut Context<'_>, timer_armed: bool) -> Poll<Step> {
        if let Err(e) = self.poll_write(cx) {
            return Poll::Ready(Step::Failed(e));
        }
        if self.client.shared.commands.poll_take(cx, &mut self.batch).is_ready() {
            return Poll::Ready(Step::Commands);
        }
        let wanted = self.conn.bytes_wanted();
        match self.stream.poll_read_into(cx, self.conn.read_buffer(), wanted) {
            Poll::Ready(Ok(0)) => return Poll::Ready(Step::Eof),
            Poll::Ready(Ok(_)) => return Poll::Ready(Step::Read),
            Poll::Ready(Err(e)) if wsx_proto::is_abrupt_close(&e) => return Poll::Ready(Step::Eof),
            Poll::Ready(Err(e)) => return Poll::Ready(Step::Failed(e)),
            Poll::Pending => {}
        }
        if timer_armed
            && self
                .sleep
                .as_mut()
                .is_some_and(|sleep| sleep.as_mut().poll(cx).is_ready())
        {
            return Poll::Ready(Step::Timer);
        }
        Poll::Pending
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
                let _ = tx.send(Err(e));
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
                let _ = tx.send(Ok(()));
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
            tokio::io::AsyncWriteExt::shutdown(&mut self.stream).await
        };
        let _ = tokio::time::timeout(FINAL_FLUSH_TIMEOUT, flush).await;
        for ack in self.acks.drain() {
            match ack {
                Ack::Written(tx) => {
                    let _ = tx.send(Err(SendError::ConnectionFailed(Some(reason.clone()))));
                }
                Ack::Permits(n) => self.client.shared.send_permits.add_permits(n),
            }
        }
    }
}

/// Tells a `send_frame` caller its frame left, or gives pipelined `send` slots back.
fn fire<H: Handler>(shared: &Shared<H>, ack: Ack<WrittenTx>) {
    match ack {
        Ack::Written(tx) => {
            let _ = tx.send(Ok(()));
        }
        Ack::Permits(n) => shared.send_permits.add_permits(n),
    }
}
