//! The connection thread: one per client, driving the core between the socket reader's bytes,
//! the handle's commands and the core's timers.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::task::Poll;
use std::time::{Duration, Instant};

use wsx_proto::{
    Ack, ClientConnection, CloseReason, CommandResult, Driver, Handler, Next, PendingAcks, SendError, Status,
};

use crate::client::{Client, Command, Input, Shared, WrittenTx};
use crate::stream::{self, Received, Socket};

/// Commands handled per wake-up before the socket gets a turn again.
const COMMAND_BATCH: usize = 256;
/// How long the last bytes (e.g. a close frame) may take to leave before the socket is dropped.
const FINAL_FLUSH_TIMEOUT: Duration = Duration::from_secs(1);

pub(crate) struct StartFlags {
    /// Set for a synchronous start: told the outcome of the first attempt.
    pub(crate) first_attempt: Option<mpsc::SyncSender<Result<(), CloseReason>>>,
}

/// Runs a client until `handle_disconnect` says stop, then `terminate`.
pub(crate) fn run_client<H: Handler>(
    mut handler: H,
    mut driver: Driver<H>,
    client: Client<H>,
    inbox: mpsc::Receiver<Input<H>>,
    mut flags: StartFlags,
) {
    let mut generation = 0;
    let (reason, start_failed) = loop {
        driver.connecting();
        generation += 1;
        let opened = ClientConnection::new(&driver.settings.request, driver.settings.config.clone())
            .map_err(wsx_proto::Error::from)
            .and_then(|conn| Ok((conn, stream::connect(&driver.settings)?)));
        let (reason, was_connected) = match opened {
            Ok((conn, socket)) => {
                let mut connection = Connection {
                    socket,
                    conn,
                    generation,
                    driver: &mut driver,
                    client: &client,
                    flags: &mut flags,
                    acks: PendingAcks::default(),
                    connected: false,
                };
                connection.run(&mut handler, &inbox)
            }
            Err(e) => (CloseReason::Error(e), false),
        };
        client.shared.status.update(|s| *s = Status::Connecting);
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
    drop(inbox);
    client.shared.status.update(|s| *s = Status::Terminated(reason.clone()));
    client.shared.send_slots.update(|_| {});
    if let Some(tx) = flags.first_attempt.take() {
        let _ = tx.send(Err(reason));
    }
}

struct Connection<'a, H: Handler> {
    socket: Socket,
    conn: ClientConnection,
    /// Tags this connection's reader messages; older readers' leftovers are ignored.
    generation: u64,
    driver: &'a mut Driver<H>,
    client: &'a Client<H>,
    flags: &'a mut StartFlags,
    /// Waiting `send_frame` callers and pipelined send slots, by written byte offset.
    acks: PendingAcks<WrittenTx>,
    connected: bool,
}

impl<H: Handler> Connection<'_, H> {
    fn run(&mut self, handler: &mut H, inbox: &mpsc::Receiver<Input<H>>) -> (CloseReason, bool) {
        let generation = self.generation;
        let sink = self.client.shared.inbox.clone();
        let reader = self
            .socket
            .spawn_reader(move |received| sink.send(Input::Socket(generation, received)).is_ok());
        let reason = match reader {
            Ok(()) => self.drive(handler, inbox),
            Err(e) => CloseReason::Error(e.into()),
        };
        self.shutdown(&reason);
        (reason, self.connected)
    }

    fn drive(&mut self, handler: &mut H, inbox: &mpsc::Receiver<Input<H>>) -> CloseReason {
        loop {
            if let Err(e) = self.write_pending() {
                return CloseReason::Error(e.into());
            }
            let input = match self.driver.next_deadline(&mut self.conn, Instant::now()) {
                Some(at) => match inbox.recv_timeout(at.saturating_duration_since(Instant::now())) {
                    Ok(input) => Some(input),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return CloseReason::Dropped,
                },
                None => match inbox.recv() {
                    Ok(input) => Some(input),
                    Err(_) => return CloseReason::Dropped,
                },
            };
            match input {
                None => self.driver.handle_timeout(&mut self.conn, handler, Instant::now()),
                Some(Input::Command(command)) => {
                    self.on_command(handler, command);
                    for _ in 0..COMMAND_BATCH {
                        match inbox.try_recv() {
                            Ok(Input::Command(command)) => self.on_command(handler, command),
                            Ok(Input::Socket(generation, received)) => {
                                if let Err(reason) = self.on_socket(generation, received) {
                                    return reason;
                                }
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                }
                Some(Input::Socket(generation, received)) => {
                    if let Err(reason) = self.on_socket(generation, received) {
                        return reason;
                    }
                }
            }
            let progress = self.driver.poll_events(&mut self.conn, handler);
            if progress.connected {
                self.connected = true;
                self.client.shared.status.update(|s| *s = Status::Connected);
                if let Some(tx) = self.flags.first_attempt.take() {
                    let _ = tx.send(Ok(()));
                }
            }
            if let Some(reason) = progress.closed {
                return reason;
            }
        }
    }

    /// Feeds what the reader thread read; a socket error that is not an abrupt close ends the
    /// connection with that error.
    fn on_socket(&mut self, generation: u64, received: Received) -> Result<(), CloseReason> {
        if generation != self.generation {
            return Ok(());
        }
        match received {
            Received::Bytes(raw) => match self.socket.decode(&raw, self.conn.read_buffer()) {
                Ok(false) => {}
                Ok(true) => self.conn.receive_eof(),
                Err(e) => return Err(CloseReason::Error(e.into())),
            },
            Received::Eof => self.conn.receive_eof(),
            Received::Failed(e) if wsx_proto::is_abrupt_close(&e) => self.conn.receive_eof(),
            Received::Failed(e) => return Err(CloseReason::Error(e.into())),
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

    /// Writes everything the core has queued (one write for all queued frames), then tells
    /// the waiting senders.
    fn write_pending(&mut self) -> std::io::Result<()> {
        let socket = &mut self.socket;
        let shared = &self.client.shared;
        // A blocking write takes everything (or fails), so it is always ready.
        let write = |buf: &[u8]| Poll::Ready(socket.write_all(buf).map(|()| buf.len()));
        self.acks
            .write_pending(&mut self.conn, Instant::now(), write, |ack| fire(shared, ack))?;
        Ok(())
    }

    /// Flushes what is left (typically a close frame), closes the socket, fails waiting senders.
    fn shutdown(&mut self, reason: &CloseReason) {
        self.socket.set_write_timeout(Some(FINAL_FLUSH_TIMEOUT));
        if let Some(bytes) = self.conn.poll_transmit(Instant::now()) {
            let _ = self.socket.write_all(&bytes);
        }
        self.socket.shutdown();
        for ack in self.acks.drain() {
            match ack {
                Ack::Written(tx) => {
                    let _ = tx.send(Err(SendError::ConnectionFailed(Some(reason.clone()))));
                }
                Ack::Permits(n) => self.client.shared.send_slots.update(|free| *free += n),
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
        Ack::Permits(n) => shared.send_slots.update(|free| *free += n),
    }
}
