//! Between the connection and the user's [`Handler`]: each event and command runs the right
//! callback, with its context, under the callback guard and a panic catcher; its [`Reply`] is
//! applied, traced, counted and told to the observers.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use crate::error::Error;
use crate::error::{CloseReason, ConnectionError};
use crate::protocol::close::{CloseFrame, CloseStatus};
use crate::protocol::close_code::CloseCode;
use crate::protocol::connection::{Connection, Event, State};
use crate::protocol::error::EncodeError;
use crate::protocol::frame::Frame;
use crate::session::acks::Ack;
use crate::session::handler::{Context, Handler, Reply};
use crate::session::link::{Command, Link, Waiter};
use crate::session::state::{Revocable, Session};
use crate::session::status::{SendError, Status};
use crate::session::telemetry::{FrameSummary, TelemetryKind};

/// The message of a panic payload.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
        (Some(text), _) => (*text).to_owned(),
        (_, Some(text)) => text.clone(),
        _ => "panic".to_owned(),
    }
}

impl<H: Handler, L: Link<Cast = H::Cast>> Session<H, L> {
    fn state(&self) -> Option<State> {
        self.conn.as_ref().map(|conn| conn.state())
    }

    /// Runs the callbacks for every event the connection has; returns the reason once it
    /// closed.
    pub(crate) fn poll_events(&mut self) -> Option<CloseReason> {
        while let Some(event) = self.conn.as_mut()?.poll_event() {
            match event {
                Event::Connected(response) => self.on_connected(*response),
                Event::Frame(frame) => self.on_frame(frame),
                Event::Closed(reason) => {
                    let failure = self.failure.take().map(|failure| *failure);
                    return Some(reason.map_error(|e| Error::from_connection(e, failure)));
                }
            }
        }
        None
    }

    fn on_connected(&mut self, response: crate::protocol::handshake::Response) {
        tracing::debug!(target: "wsx", subprotocol = ?response.subprotocol, http = ?response.http_version(), "successfully connected");
        self.response = Some(response.clone());
        self.opened = true;
        self.emit(TelemetryKind::Connected(&response));
        if self.request.is_some() {
            // A server's handles are out before its first callback (the listener lists them):
            // what they send from then on is sent.
            self.link.set_status(Status::Connected);
        }
        self.call(|handler, ctx| {
            handler.handle_connect(&response, ctx);
            Reply::Continue
        });
        for msg in std::mem::take(&mut self.deferred_casts) {
            self.call(|handler, ctx| handler.handle_cast(msg, ctx));
        }
        if let Some(frame) = self.deferred_close.take() {
            self.send_close(*frame);
        }
        if !self.panicked {
            self.link.set_status(Status::Connected);
            self.link.set_started(Ok(()));
        }
    }

    fn on_frame(&mut self, frame: Frame) {
        tracing::debug!(target: "wsx", frame = %FrameSummary(&frame), "received frame");
        self.link.count_in(&frame);
        self.emit(TelemetryKind::FrameReceived(&frame));
        self.call(|handler, ctx| match frame {
            Frame::Ping(payload) => {
                let reply = handler.handle_ping(payload, ctx);
                if let Reply::Frame(f) = &reply {
                    tracing::debug!(target: "wsx", frame = %FrameSummary(f), "replying from handle_ping");
                }
                reply
            }
            Frame::Pong(payload) => handler.handle_pong(payload, ctx),
            // Answered by the connection; the outcome arrives as `Closed`.
            Frame::Close(_) => Reply::Continue,
            other => handler.handle_frame(other, ctx),
        });
    }

    /// Runs one command from a client handle.
    pub(crate) fn on_command(&mut self, command: Command<H::Cast, L::Waiter>) {
        match command {
            // WebSockex delivers casts to a connected client only: keep them until then.
            Command::Cast(msg) => {
                self.link.cast_taken();
                match self.state() {
                    None | Some(State::Connecting) => self.deferred_casts.push(msg),
                    Some(_) => self.call(|handler, ctx| handler.handle_cast(msg, ctx)),
                }
            }
            Command::Close(frame) => match self.state() {
                None | Some(State::Connecting) => self.deferred_close = Some(Box::new(frame)),
                Some(State::Open) => self.send_close(frame),
                Some(State::Closing | State::Closed) => {}
            },
            Command::SendFrame(frame, signal) => {
                if !signal.start() {
                    return; // the caller timed out before the frame started: withdrawn
                }
                if self.state() != Some(State::Open) {
                    return signal.fill(Err(SendError::NotConnected));
                }
                let start = self.conn.as_ref().map_or(0, |conn| conn.queued_bytes());
                match self.send(&frame) {
                    Ok(()) => {
                        match &self.conn {
                            Some(conn) if conn.last_send_revocable() => {
                                self.revocable.get_or_insert_with(Box::default).push(Revocable {
                                    start,
                                    end: conn.queued_bytes(),
                                    payload: frame.payload_len() as u64,
                                    signal: signal.clone(),
                                })
                            }
                            _ => signal.commit(),
                        }
                        self.ack(Ack::Written(signal));
                    }
                    Err(e) => signal.fill(Err(SendError::Encode(e))),
                }
            }
            Command::Encoded(run) => {
                let frames = self.encoded.split_to(run.len);
                // `send_encoded` refuses unless the connection is open.
                let sent = match &mut self.conn {
                    Some(conn) => conn.send_encoded(frames),
                    None => Err(EncodeError::NotOpen),
                };
                let bytes = match sent {
                    Ok(()) => {
                        self.link.count_out(run.frames, run.payload);
                        run.len
                    }
                    Err(e) => {
                        tracing::debug!(target: "wsx", error = %e, frames = run.frames, "dropping queued frames");
                        0
                    }
                };
                self.ack(Ack::Permits { cost: run.cost, bytes });
            }
            Command::Send(frame, cost) => self.send_queued(&frame, cost, true),
            Command::SendUncompressed(frame, cost) => self.send_queued(&frame, cost, false),
        }
    }

    /// A pipelined frame: sent if open, its budget share given back once written.
    fn send_queued(&mut self, frame: &Frame, cost: usize, may_compress: bool) {
        let queued = |conn: &Option<Connection>| conn.as_ref().map_or(0, Connection::queued_bytes);
        let before = queued(&self.conn);
        let sent = match self.state() {
            Some(State::Open) => self.send_with(frame, may_compress),
            _ => Err(EncodeError::NotOpen),
        };
        if let Err(e) = sent {
            tracing::debug!(target: "wsx", error = %e, "dropping a queued frame");
        }
        let bytes = queued(&self.conn).saturating_sub(before) as usize;
        self.ack(Ack::Permits { cost, bytes });
    }

    /// Fires `ack` once the bytes queued so far are written (at once if they are).
    fn ack(&mut self, ack: Ack<L::Waiter>) {
        let ack = match &self.conn {
            Some(conn) => self.acks.ack_when_written(conn, ack),
            None => Some(ack),
        };
        match ack {
            Some(Ack::Written(signal)) => signal.fill(Ok(())),
            Some(Ack::Permits { cost, .. }) => self.link.release_budget(cost),
            None => {}
        }
    }

    /// Delivers due `send_after` messages to `handle_info` (while open).
    pub(crate) fn fire_timers(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.timers.len() && self.state() == Some(State::Open) {
            if self.timers[i].0 <= now {
                let (_, msg) = self.timers.swap_remove(i);
                self.call(|handler, ctx| handler.handle_info(msg, ctx));
            } else {
                i += 1;
            }
        }
    }

    /// Runs one callback with its context, under the callback guard, and applies its reply.
    /// A panic fails the connection with [`Error::HandlerPanicked`] (close 1011), and no
    /// callback runs after it.
    fn call(&mut self, callback: impl FnOnce(&mut H, &mut Context<'_, H>) -> Reply) {
        if self.panicked {
            return;
        }
        let link = &self.link;
        let mut ctx = Context::new(
            &self.settings,
            self.response.as_ref(),
            self.request.as_deref(),
            &mut self.scheduled,
            link,
        );
        let handler = &mut self.handler;
        let outcome = link.in_callback(|| catch_unwind(AssertUnwindSafe(|| callback(handler, &mut ctx))));
        match outcome {
            Ok(reply) => self.apply_reply(reply),
            Err(payload) => {
                let message = panic_message(&*payload);
                tracing::error!(target: "wsx", %message, "a callback panicked: failing the connection");
                self.panicked = true;
                self.fail_connection(Error::HandlerPanicked(message));
            }
        }
    }

    /// Runs a callback without a context (`handle_disconnect`, `terminate`), under the guard;
    /// `Err` carries the message if it panicked.
    pub(crate) fn call_plain<T>(&mut self, callback: impl FnOnce(&mut H) -> T) -> Result<T, String> {
        let handler = &mut self.handler;
        let outcome = self
            .link
            .in_callback(|| catch_unwind(AssertUnwindSafe(|| callback(handler))));
        outcome.map_err(|payload| {
            let message = panic_message(&*payload);
            tracing::error!(target: "wsx", %message, "a callback panicked");
            self.panicked = true;
            message
        })
    }

    /// Does what a callback asked. A reply that cannot be sent fails the connection with
    /// [`Error::InvalidReply`]; a reply while the connection is not open is dropped (traced).
    fn apply_reply(&mut self, reply: Reply) {
        let frame = match reply {
            Reply::Continue => return,
            Reply::Frame(frame) => frame,
            Reply::Close => Frame::Close(Some(CloseFrame::new(CloseCode::NORMAL, ""))),
            Reply::CloseWith(code, reason) => Frame::Close(Some(CloseFrame::new(code, reason))),
        };
        match self.send(&frame) {
            Ok(()) => {}
            Err(EncodeError::NotOpen) => tracing::debug!(target: "wsx", "reply dropped: the connection is not open"),
            Err(e) => {
                tracing::warn!(target: "wsx", error = %e, "callback replied with a frame that cannot be sent");
                self.fail_connection(Error::InvalidReply(e));
            }
        }
    }

    /// Fails the connection for a reason of the client's own (close 1011): its close reason
    /// is then `error`.
    fn fail_connection(&mut self, error: Error) {
        if let Some(conn) = &mut self.conn {
            conn.fail(ConnectionError::Failed(CloseCode::INTERNAL_ERROR));
            self.failure = Some(Box::new(error));
        }
    }

    fn send_close(&mut self, frame: Option<CloseFrame>) {
        if let Err(e) = self.send(&Frame::Close(frame)) {
            tracing::debug!(target: "wsx", error = %e, "close ignored");
        }
    }

    /// Sends a frame on the connection, tracing and counting it.
    fn send(&mut self, frame: &Frame) -> Result<(), EncodeError> {
        self.send_with(frame, true)
    }

    fn send_with(&mut self, frame: &Frame, may_compress: bool) -> Result<(), EncodeError> {
        if let Frame::Close(close) = frame {
            let status = CloseStatus::from_frame(close.clone());
            tracing::debug!(target: "wsx", reason = %CloseReason::Local(status), "closing with local reason");
        } else {
            tracing::debug!(target: "wsx", frame = %FrameSummary(frame), "sending frame");
        }
        let conn = self.conn.as_mut().ok_or(EncodeError::NotOpen)?;
        if may_compress {
            conn.send(frame)?;
        } else {
            conn.send_uncompressed(frame)?;
        }
        self.link.count_out(1, frame.payload_len() as u64);
        self.emit(TelemetryKind::FrameSent(frame));
        Ok(())
    }
}
