//! Frames encoded in the sender's task: a small whole message sent with `send`, `send_all` or
//! the sink is framed and masked by the caller, under the queue's lock, into one buffer shared
//! with the connection task, which then only copies the bytes. Consecutive encoded frames
//! share one queue entry, so the per-frame work of the connection task disappears.

use std::collections::VecDeque;

use bytes::BytesMut;

use wsx_proto::protocol::{buffer, encode_frame, random_mask_key, OpCode};
use wsx_proto::session::Encoded;
use wsx_proto::{Frame, Handler};

use wsx_proto::session::Command;

use crate::handle::Queued;
use crate::wait::FrameWaiter;

/// Which frames a sender encodes itself, and how.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EncodeRule {
    /// Whole messages up to this size (0: none).
    pub(crate) limit: usize,
    /// Masked, as a client's frames are (a server's are not).
    pub(crate) masked: bool,
}

/// Queues a pipelined frame: encoded into `outbox` if it is a whole message within the
/// `rule`'s limit (and tracing does not want to see every frame), else as a command.
pub(crate) fn queue_send<C>(
    commands: &mut VecDeque<Command<C, FrameWaiter>>,
    outbox: &mut BytesMut,
    frame: Frame,
    cost: usize,
    rule: EncodeRule,
) {
    match encode(outbox, frame, cost, rule) {
        Ok(run) => {
            if let Some(command) = extend_run(commands.back_mut(), run) {
                commands.push_back(command);
            }
        }
        Err(frame) => commands.push_back(Command::Send(frame, cost)),
    }
}

/// Encodes `frame` at the end of `out` as a run of one, or gives it back when the sender
/// should not encode it (see [`queue_send`]).
fn encode(out: &mut BytesMut, frame: Frame, cost: usize, rule: EncodeRule) -> Result<Encoded, Frame> {
    let (opcode, payload) = match &frame {
        Frame::Text(text) => (OpCode::Text, &text.as_bytes()[..]),
        Frame::Binary(bytes) => (OpCode::Binary, &bytes[..]),
        _ => return Err(frame),
    };
    if payload.len() > rule.limit || tracing::enabled!(target: "wsx", tracing::Level::DEBUG) {
        return Err(frame);
    }
    let start = out.len();
    encode_frame(out, true, opcode, payload, rule.masked.then(random_mask_key));
    Ok(Encoded {
        len: out.len() - start,
        frames: 1,
        payload: payload.len() as u64,
        cost,
    })
}

/// Adds `run` to the run at the back of the queue; gives back the command to push when the
/// back is something else.
fn extend_run<C>(back: Option<&mut Command<C, FrameWaiter>>, run: Encoded) -> Option<Command<C, FrameWaiter>> {
    match back {
        Some(Command::Encoded(last)) => {
            last.len += run.len;
            last.frames += run.frames;
            last.payload += run.payload;
            last.cost += run.cost;
            None
        }
        _ => Some(Command::Encoded(run)),
    }
}

/// Frames a batch sender (`send_all`, the sink) collected and has not handed over yet: the
/// small ones already encoded here, outside the queue's lock, so handing over a batch is one
/// copy of its bytes.
pub(crate) struct Batch<H: Handler> {
    commands: Vec<Queued<H>>,
    /// The bytes of the `Encoded` commands, in order.
    encoded: BytesMut,
    frames: usize,
}

impl<H: Handler> Batch<H> {
    pub(crate) fn new() -> Self {
        Self {
            commands: Vec::new(),
            encoded: BytesMut::new(),
            frames: 0,
        }
    }

    /// Frames collected.
    pub(crate) fn len(&self) -> usize {
        self.frames
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.frames == 0
    }

    /// Adds a pipelined frame that holds `cost` of the budget.
    pub(crate) fn push(&mut self, frame: Frame, cost: usize, rule: EncodeRule) {
        self.frames += 1;
        match encode(&mut self.encoded, frame, cost, rule) {
            Ok(run) => {
                if let Some(command) = extend_run(self.commands.last_mut(), run) {
                    self.commands.push(command);
                }
            }
            Err(frame) => self.commands.push(Command::Send(frame, cost)),
        }
    }

    /// Moves everything to the back of the queue and its outbox, in order.
    pub(crate) fn hand_over(&mut self, commands: &mut VecDeque<Queued<H>>, outbox: &mut BytesMut) {
        if outbox.is_empty() {
            // The connection task took everything before: the batch's bytes become the outbox.
            std::mem::swap(outbox, &mut self.encoded);
        } else {
            buffer::reserve(outbox, self.encoded.len());
            outbox.extend_from_slice(&self.encoded);
        }
        // A sink waiting for its next frames holds no buffer.
        buffer::recycle(&mut self.encoded);
        for command in self.commands.drain(..) {
            match command {
                Command::Encoded(run) => {
                    if let Some(command) = extend_run(commands.back_mut(), run) {
                        commands.push_back(command);
                    }
                }
                other => commands.push_back(other),
            }
        }
        self.clear();
    }

    /// Drops everything; returns the budget it held.
    pub(crate) fn discard(&mut self) -> usize {
        let cost = self
            .commands
            .drain(..)
            .map(|command| match command {
                Command::Send(_, cost) => cost,
                Command::Encoded(run) => run.cost,
                _ => 0,
            })
            .sum();
        self.clear();
        cost
    }

    fn clear(&mut self) {
        self.encoded.clear();
        self.frames = 0;
    }
}
