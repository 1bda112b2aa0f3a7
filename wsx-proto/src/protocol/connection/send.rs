//! The sending side of [`Connection`]: frames checked, compressed when negotiated,
//! split, masked and queued for the socket.

use bytes::BytesMut;

use super::{Connection, Phase};
use crate::protocol::buffer;
use crate::protocol::error::EncodeError;
use crate::protocol::frame::{encode_frame_with_rsv, Frame, OpCode};

impl Connection {
    /// Queues a frame. Whole messages longer than
    /// [`Config::outgoing_frame_size`](crate::Config::outgoing_frame_size) are split.
    /// [`Frame::Close`] is the same as [`close`](Self::close). With permessage-deflate
    /// negotiated, data messages of at least [`DeflateConfig::threshold`](crate::deflate::DeflateConfig)
    /// bytes are compressed (a fragmented message as a whole, decided by its first piece).
    ///
    /// Takes the frame by value or by reference (`&Frame`): the payload is copied into the
    /// output buffer either way.
    pub fn send(&mut self, frame: impl std::borrow::Borrow<Frame>) -> Result<(), EncodeError> {
        self.send_inner(frame.borrow(), true)
    }

    /// [`send`](Self::send), never compressing this message (a fragmented message is decided
    /// by its first piece): for data that does not shrink, or must not share a compression
    /// context with the rest.
    pub fn send_uncompressed(&mut self, frame: impl std::borrow::Borrow<Frame>) -> Result<(), EncodeError> {
        self.send_inner(frame.borrow(), false)
    }

    fn send_inner(&mut self, frame: &Frame, may_compress: bool) -> Result<(), EncodeError> {
        self.last_send_revocable = false;
        frame.validate()?;
        if !matches!(self.state, Phase::Open) {
            return Err(EncodeError::NotOpen);
        }
        let (opcode, payload, fin) = match frame {
            Frame::Close(close) => return self.close(close.clone()),
            Frame::Text(t) => (OpCode::Text, t.as_bytes(), true),
            Frame::Binary(b) => (OpCode::Binary, b, true),
            Frame::Fragment(kind, b) => (OpCode::from(*kind), b, false),
            Frame::Continuation(b) => (OpCode::Continuation, b, false),
            Frame::Finish(b) => (OpCode::Continuation, b, true),
            Frame::Ping(b) => (OpCode::Ping, b, true),
            Frame::Pong(b) => (OpCode::Pong, b, true),
        };
        self.outgoing.check(opcode, fin)?;
        let compress = match (opcode, self.deflate.as_deref_mut()) {
            (OpCode::Text | OpCode::Binary, Some(deflate)) => {
                deflate.compressing = may_compress && deflate.deflater.compresses(payload.len());
                deflate.compressing
            }
            (OpCode::Continuation, Some(deflate)) => deflate.compressing,
            _ => false,
        };
        let mut compressed = Vec::new();
        let payload: &[u8] = match (compress, self.deflate.as_deref_mut()) {
            (true, Some(deflate)) => {
                compressed = std::mem::take(&mut deflate.compressed);
                deflate.deflater.compress(payload, fin, &mut compressed);
                &compressed
            }
            _ => payload,
        };
        // RSV1 marks a compressed message on its first frame only (RFC 7692 6).
        // A whole message, or a control frame, can be taken out of the output unwritten; not a
        // piece of a message, nor a message the compressor's shared context remembers.
        self.last_send_revocable = match (opcode, self.deflate.as_deref()) {
            (OpCode::Continuation, _) => false,
            _ if opcode.is_control() => true,
            (_, Some(deflate)) if compress => fin && !deflate.deflater.keeps_context(),
            _ => fin,
        };
        let first_rsv = if compress && opcode != OpCode::Continuation {
            0b100
        } else {
            0
        };
        match self.limits.outgoing_frame_size {
            Some(size) if !opcode.is_control() && payload.len() > size.max(1) => {
                let size = size.max(1);
                let chunks = payload.chunks(size);
                let last = chunks.len() - 1;
                for (i, chunk) in chunks.enumerate() {
                    let (chunk_opcode, rsv) = if i == 0 {
                        (opcode, first_rsv)
                    } else {
                        (OpCode::Continuation, 0)
                    };
                    let chunk_fin = fin && i == last;
                    let mask = self.role.mask_key();
                    encode_frame_with_rsv(&mut self.write_buf, chunk_fin, rsv, chunk_opcode, chunk, mask);
                }
            }
            _ => encode_frame_with_rsv(
                &mut self.write_buf,
                fin,
                first_rsv,
                opcode,
                payload,
                self.role.mask_key(),
            ),
        }
        if let (true, Some(deflate)) = (compress, self.deflate.as_deref_mut()) {
            if compressed.capacity() <= 64 << 10 {
                deflate.compressed = compressed;
            }
        }
        Ok(())
    }

    /// Whether the last frame given to [`send`](Self::send) can still be taken out of the
    /// output with [`take_back`](Self::take_back) while none of it is written: a whole
    /// message or a control frame, unless compressed with the shared context of
    /// permessage-deflate's context takeover (later messages may refer to it).
    pub fn last_send_revocable(&self) -> bool {
        self.last_send_revocable
    }

    /// Removes the bytes queued between the [`queued_bytes`](Self::queued_bytes) offsets
    /// `start` and `end` (one frame's, from before and after it was sent) if none of them has
    /// been written; the bytes after it move up. Returns whether they were removed.
    pub fn take_back(&mut self, start: u64, end: u64) -> bool {
        if start < self.transmitted || end > self.queued_bytes() || end < start {
            return false;
        }
        // In place: the buffer keeps its allocation (a frame taken back is often large, and
        // allocating anew for each would fragment the heap of a connection that stays stalled).
        let (at, len) = ((start - self.transmitted) as usize, (end - start) as usize);
        let total = self.write_buf.len();
        self.write_buf.copy_within(at + len..total, at);
        self.write_buf.truncate(total - len);
        true
    }

    /// Whether permessage-deflate was negotiated, and which of its zlib states (ours, the
    /// server's) are allocated: they are made by the first compressed message each way.
    pub fn deflate_state(&self) -> Option<(bool, bool)> {
        let deflate = self.deflate.as_ref()?;
        Some((deflate.deflater.is_allocated(), self.assembler.inflater_allocated()))
    }

    /// Queues whole data messages that were encoded elsewhere (with [`encode_frame`](crate::protocol::encode_frame), masked,
    /// FIN set, one frame each), e.g. by the thread that sent them, so the connection only
    /// copies their bytes. Refused unless open with no fragmented message of ours in progress,
    /// the checks [`send`](Self::send) makes.
    pub fn send_encoded(&mut self, frames: BytesMut) -> Result<(), EncodeError> {
        if !matches!(self.state, Phase::Open) {
            return Err(EncodeError::NotOpen);
        }
        self.outgoing.check(OpCode::Binary, true)?;
        if self.write_buf.is_empty() {
            // Nothing waits before them: the frames become the send buffer, no copy.
            buffer::recycle(&mut self.write_buf);
            self.write_buf = frames;
        } else {
            buffer::reserve(&mut self.write_buf, frames.len());
            self.write_buf.extend_from_slice(&frames);
        }
        Ok(())
    }
}
