//! Frames encoded in the sender's task: a small whole message sent with `send`, `send_all` or
//! the sink is framed and masked by the caller, under the queue's lock, into one buffer shared
//! with the connection task, which then only copies the bytes. Consecutive encoded frames
//! share one queue entry, so the per-frame work of the connection task disappears.

use std::collections::VecDeque;

use bytes::BytesMut;

use crate::protocol::frame::{encode_frame, Frame, OpCode};
use crate::protocol::mask::random_mask_key;
use crate::session::handle::Command;
use crate::session::handler::Handler;

/// Messages up to this size are encoded by the sender (beyond, the copy costs more than the
/// hop it saves).
pub(crate) const ENCODE_MAX: usize = 512;

/// A run of frames in the outbox, in queue order with the other commands.
#[derive(Debug)]
pub(crate) struct Encoded {
    /// Bytes of the run in the outbox.
    pub(crate) len: usize,
    pub(crate) frames: u64,
    pub(crate) payload: u64,
    /// Send budget the run holds.
    pub(crate) cost: usize,
}

/// Queues a pipelined frame: encoded into `outbox` if it is a whole message of at most
/// `limit` bytes (and tracing does not want to see every frame), else as a command.
pub(crate) fn queue_send<H: Handler>(
    commands: &mut VecDeque<Command<H>>,
    outbox: &mut BytesMut,
    frame: Frame,
    cost: usize,
    limit: usize,
) {
    let (opcode, payload) = match &frame {
        Frame::Text(text) => (OpCode::Text, &text.as_bytes()[..]),
        Frame::Binary(bytes) => (OpCode::Binary, &bytes[..]),
        _ => return commands.push_back(Command::Send(frame, cost)),
    };
    if payload.len() > limit || tracing::enabled!(target: "wsx", tracing::Level::DEBUG) {
        return commands.push_back(Command::Send(frame, cost));
    }
    let start = outbox.len();
    encode_frame(outbox, true, opcode, payload, Some(random_mask_key()));
    let len = outbox.len() - start;
    match commands.back_mut() {
        Some(Command::Encoded(run)) => {
            run.len += len;
            run.frames += 1;
            run.payload += payload.len() as u64;
            run.cost += cost;
        }
        _ => commands.push_back(Command::Encoded(Encoded {
            len,
            frames: 1,
            payload: payload.len() as u64,
            cost,
        })),
    }
}
