//! Frames to messages: header checks, limits, fail-fast UTF-8 and fragment reassembly on the way
//! in; the fragmentation rules on the way out.

use bytes::{Buf, Bytes, BytesMut};

use super::config::Config;
use super::deflate::codec::{InflateError, Inflater};
use super::deflate::DeflateParams;
use super::error::{EncodeError, ProtocolError};
use super::frame::{DataKind, Frame, FrameHeader, OpCode};
use super::mask::{apply_mask, rotate_mask_key};
use super::utf8::{Utf8Bytes, Utf8Validator};

/// What a read takes at most between small frames.
pub(crate) const READ_CHUNK: usize = 64 << 10;
/// Frames from this size on are read one per read, whole: moving half a chunk costs about as
/// much as the extra system call.
const LARGE_FRAME: usize = READ_CHUNK / 2;

/// A frame whose header is parsed but whose payload has not fully arrived.
#[derive(Debug, Clone, Copy)]
struct PendingFrame {
    header: FrameHeader,
    header_len: usize,
    payload_len: usize,
    /// Text payload bytes already validated, so a partial frame is checked only once per byte.
    validated: usize,
    /// Payload bytes already unmasked (a client's frames, read by a server).
    unmasked: usize,
    is_text: bool,
}

/// Turns the read buffer into checked frames and frames into messages.
#[derive(Debug)]
pub(crate) struct MessageAssembler {
    max_frame_size: usize,
    max_message_size: usize,
    deliver_fragments: bool,
    reserved_bits: u8,
    /// Reading a client's frames (as a server): they must be masked, and are unmasked in place.
    peer_masks: bool,
    pending: Option<PendingFrame>,
    /// The length (header and payload) of the last frame: after a large one, the next read is
    /// sized for one more like it.
    last_frame: usize,
    /// The kind of the fragmented message in progress, and its length so far.
    message: Option<(DataKind, u64)>,
    /// Payload collected for the fragmented message (not used when fragments are delivered).
    collected: BytesMut,
    collected_kind: Option<DataKind>,
    utf8: Utf8Validator,
    /// The server's compressed messages inflated, once permessage-deflate is negotiated
    /// (boxed: most connections never have it).
    inflate: Option<Box<InflateState>>,
    /// The message in progress is compressed (RSV1 on its first frame).
    compressed: Option<DataKind>,
}

/// Inflating the server's messages.
#[derive(Debug)]
struct InflateState {
    inflater: Inflater,
    /// The compressed message inflated so far (whole-message delivery).
    inflated: Vec<u8>,
    /// Inflated bytes of the message delivered so far (fragment delivery).
    inflated_len: usize,
}

impl MessageAssembler {
    pub(crate) fn new(config: &Config) -> Self {
        Self {
            max_frame_size: config.max_frame_size,
            max_message_size: config.max_message_size,
            deliver_fragments: config.deliver_fragments,
            reserved_bits: 0,
            peer_masks: false,
            pending: None,
            last_frame: 0,
            message: None,
            collected: BytesMut::new(),
            collected_kind: None,
            utf8: Utf8Validator::default(),
            inflate: None,
            compressed: None,
        }
    }

    /// Inflates the server's messages from now on (and allows RSV1 on their first frames).
    pub(crate) fn set_deflate(&mut self, params: DeflateParams) {
        self.inflate = Some(Box::new(InflateState {
            inflater: Inflater::new(params),
            inflated: Vec::new(),
            inflated_len: 0,
        }));
    }

    /// Whether the inflater's zlib state is allocated.
    pub(crate) fn inflater_allocated(&self) -> bool {
        self.inflate.as_ref().is_some_and(|state| state.inflater.is_allocated())
    }

    /// Bytes still missing from the frame whose header was parsed, given `buffered` bytes.
    pub(crate) fn bytes_wanted(&self, buffered: usize) -> usize {
        self.pending
            .map_or(0, |p| (p.header_len + p.payload_len).saturating_sub(buffered))
    }

    /// How much the next read should take, given `buffered` bytes: the rest of a large frame
    /// exactly (the frame in progress, or between frames one as large as the last), so large
    /// frames each land whole at the start of the buffer instead of straddling two reads,
    /// which moves the first part of every frame; else a chunk of many small frames.
    pub(crate) fn read_room(&self, buffered: usize) -> usize {
        let frame = self
            .pending
            .map_or(self.last_large_frame(), |p| p.header_len + p.payload_len);
        let rest = frame.saturating_sub(buffered);
        if frame >= LARGE_FRAME && rest > 0 {
            rest
        } else {
            rest.max(READ_CHUNK)
        }
    }

    /// The length of the last frame if it was large, else 0.
    pub(crate) fn last_large_frame(&self) -> usize {
        if self.last_frame >= LARGE_FRAME {
            self.last_frame
        } else {
            0
        }
    }

    pub(crate) fn set_reserved_bits(&mut self, bits: u8) {
        self.reserved_bits = bits;
    }

    /// Reads a client's frames from now on: masked, unmasked here (RFC 6455 5.1, 5.3).
    pub(crate) fn expect_masked_frames(&mut self) {
        self.peer_masks = true;
    }

    /// Takes the next complete frame off the front of `buf`, checked against the protocol and
    /// the limits. Text is validated as it arrives, before the frame is complete.
    #[inline]
    pub(crate) fn next_frame(&mut self, buf: &mut BytesMut) -> Result<Option<(FrameHeader, Bytes)>, ProtocolError> {
        let mut pending = match self.pending {
            Some(p) => p,
            None => match FrameHeader::parse(buf)? {
                Some((header, header_len)) => self.check_header(header, header_len)?,
                None => return Ok(None),
            },
        };
        let available = buf.len() - pending.header_len;
        if let Some(key) = pending.header.mask {
            // Unmasked as it arrives, so text is validated on the real bytes.
            let upto = available.min(pending.payload_len);
            let start = pending.header_len + pending.unmasked;
            apply_mask(
                &mut buf[start..pending.header_len + upto],
                rotate_mask_key(key, pending.unmasked),
            );
            pending.unmasked = upto;
        }
        if pending.is_text {
            let upto = available.min(pending.payload_len);
            let start = pending.header_len + pending.validated;
            self.utf8
                .feed(&buf[start..pending.header_len + upto])
                .map_err(|_| ProtocolError::InvalidUtf8)?;
            pending.validated = upto;
        }
        if available < pending.payload_len {
            self.pending = Some(pending);
            return Ok(None);
        }
        self.pending = None;
        let header = pending.header;
        if pending.is_text && header.fin {
            self.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        let len = pending.header_len + pending.payload_len;
        self.last_frame = len;
        // Zero-copy: the payload is a slice of the read buffer (its header skipped on the
        // frozen `Bytes`, a plain pointer step).
        let mut frame = buf.split_to(len).freeze();
        frame.advance(pending.header_len);
        Ok(Some((header, frame)))
    }

    #[inline]
    fn check_header(&mut self, header: FrameHeader, header_len: usize) -> Result<PendingFrame, ProtocolError> {
        if header.rsv & !self.reserved_bits != 0 {
            return Err(ProtocolError::ReservedBits(header.rsv));
        }
        match (header.mask.is_some(), self.peer_masks) {
            (true, false) => return Err(ProtocolError::MaskedFrame),
            (false, true) => return Err(ProtocolError::UnmaskedFrame),
            _ => {}
        }
        let rsv1 = header.rsv & 0b100 != 0;
        if rsv1 && !matches!(header.opcode, OpCode::Text | OpCode::Binary) {
            return Err(ProtocolError::CompressedNonFirstFrame);
        }
        if header.payload_len > self.max_frame_size as u64 {
            return Err(ProtocolError::FrameTooLarge {
                size: header.payload_len,
                limit: self.max_frame_size,
            });
        }
        let kind = match (header.opcode, self.message) {
            (OpCode::Text | OpCode::Binary, Some(_)) => return Err(ProtocolError::ExpectedContinuation),
            (OpCode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation),
            (OpCode::Text, None) => Some((DataKind::Text, 0)),
            (OpCode::Binary, None) => Some((DataKind::Binary, 0)),
            (OpCode::Continuation, Some(message)) => Some(message),
            _ => None,
        };
        let mut is_text = false;
        if let Some((kind, so_far)) = kind {
            if matches!(header.opcode, OpCode::Text | OpCode::Binary) {
                self.compressed = rsv1.then_some(kind);
            }
            let size = so_far + header.payload_len;
            // A compressed message's limit applies to its inflated size, checked as it inflates.
            if size > self.max_message_size as u64 && self.compressed.is_none() {
                return Err(ProtocolError::MessageTooLarge {
                    size,
                    limit: self.max_message_size,
                });
            }
            self.message = (!header.fin).then_some((kind, size));
            is_text = kind == DataKind::Text && self.compressed.is_none();
        }
        Ok(PendingFrame {
            header,
            header_len,
            payload_len: header.payload_len as usize,
            validated: 0,
            unmasked: 0,
            is_text,
        })
    }

    /// The frame as a whole message if it is one: unfragmented and uncompressed, the common
    /// case, taken before [`on_data_frame`](Self::on_data_frame) so the message goes straight
    /// into its event. (Through `on_data_frame`'s result it would be stored piecewise and then
    /// copied whole, a load the CPU cannot forward from its store buffer.)
    #[inline(always)]
    pub(crate) fn unfragmented_message(&self, header: &FrameHeader, payload: Bytes) -> Result<Frame, Bytes> {
        match data_kind(header.opcode) {
            Some(kind) if header.fin && self.compressed.is_none() => Ok(whole_message(kind, payload)),
            _ => Err(payload),
        }
    }

    /// Turns a checked data frame into what the user sees: a whole message, a fragment, or
    /// nothing yet (a piece collected for later). Copies a fragmented payload once.
    #[inline]
    pub(crate) fn on_data_frame(
        &mut self,
        header: &FrameHeader,
        payload: Bytes,
    ) -> Result<Option<Frame>, ProtocolError> {
        let kind = data_kind(header.opcode);
        if let Some(compressed_kind) = self.compressed {
            return self.on_compressed_frame(compressed_kind, kind.is_some(), header.fin, &payload);
        }
        if self.deliver_fragments {
            return Ok(Some(match (kind, header.fin) {
                (Some(kind), true) => whole_message(kind, payload),
                (Some(kind), false) => Frame::Fragment(kind, payload),
                (None, false) => Frame::Continuation(payload),
                (None, true) => Frame::Finish(payload),
            }));
        }
        match (kind, header.fin) {
            (Some(kind), true) => Ok(Some(whole_message(kind, payload))),
            (Some(kind), false) => {
                self.collected_kind = Some(kind);
                self.collected.clear();
                self.collected.extend_from_slice(&payload);
                Ok(None)
            }
            (None, fin) => {
                self.collected.extend_from_slice(&payload);
                if !fin {
                    return Ok(None);
                }
                let kind = self
                    .collected_kind
                    .take()
                    .ok_or(ProtocolError::UnexpectedContinuation)?;
                Ok(Some(whole_message(kind, self.collected.split().freeze())))
            }
        }
    }
}

impl MessageAssembler {
    /// A frame of a compressed message: inflated in bounded steps against the message limit,
    /// text validated as it inflates.
    fn on_compressed_frame(
        &mut self,
        kind: DataKind,
        first: bool,
        fin: bool,
        payload: &[u8],
    ) -> Result<Option<Frame>, ProtocolError> {
        let Some(state) = self.inflate.as_deref_mut() else {
            return Err(ProtocolError::ReservedBits(0b100));
        };
        let InflateState {
            inflater,
            inflated,
            inflated_len,
        } = state;
        let limit = self.max_message_size;
        let too_large = |e| match e {
            InflateError::TooLarge(size) => ProtocolError::MessageTooLarge { size, limit },
            InflateError::Corrupt => ProtocolError::InvalidCompressedData,
        };
        if self.deliver_fragments {
            if first {
                *inflated_len = 0;
            }
            let mut out = Vec::new();
            inflater
                .inflate(payload, fin, &mut out, limit - *inflated_len)
                .map_err(|e| match too_large(e) {
                    ProtocolError::MessageTooLarge { size, limit } => ProtocolError::MessageTooLarge {
                        size: size + *inflated_len as u64,
                        limit,
                    },
                    other => other,
                })?;
            *inflated_len += out.len();
            check_text(&mut self.utf8, kind, &out, fin)?;
            let out = Bytes::from(out);
            return Ok(Some(match (first, fin) {
                (true, true) => whole_message(kind, out),
                (true, false) => Frame::Fragment(kind, out),
                (false, false) => Frame::Continuation(out),
                (false, true) => Frame::Finish(out),
            }));
        }
        if first {
            inflated.clear();
        }
        let before = inflated.len();
        if let Err(e) = inflater.inflate(payload, fin, inflated, limit) {
            *inflated = Vec::new();
            return Err(too_large(e));
        }
        check_text(&mut self.utf8, kind, &inflated[before..], fin)?;
        if !fin {
            return Ok(None);
        }
        let message = Bytes::from(std::mem::take(inflated));
        Ok(Some(whole_message(kind, message)))
    }
}

/// Validates a compressed text message's bytes as they inflate.
fn check_text(utf8: &mut Utf8Validator, kind: DataKind, inflated: &[u8], fin: bool) -> Result<(), ProtocolError> {
    if kind == DataKind::Text {
        utf8.feed(inflated).map_err(|_| ProtocolError::InvalidUtf8)?;
        if fin {
            utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
        }
    }
    Ok(())
}

/// The kind of message a first frame starts (`None`: a continuation or a control frame).
#[inline]
fn data_kind(opcode: OpCode) -> Option<DataKind> {
    match opcode {
        OpCode::Text => Some(DataKind::Text),
        OpCode::Binary => Some(DataKind::Binary),
        _ => None,
    }
}

/// A complete message; text was validated by `next_frame`.
#[inline]
fn whole_message(kind: DataKind, payload: Bytes) -> Frame {
    match kind {
        DataKind::Text => Frame::Text(Utf8Bytes::from_validated(payload)),
        DataKind::Binary => Frame::Binary(payload),
    }
}

/// The sending side's fragmentation rules.
#[derive(Debug, Default)]
pub(crate) struct OutgoingState {
    message_in_progress: bool,
}

impl OutgoingState {
    /// Checks that a frame with `opcode` and `fin` may be sent now, and records it.
    pub(crate) fn check(&mut self, opcode: OpCode, fin: bool) -> Result<(), EncodeError> {
        match opcode {
            OpCode::Text | OpCode::Binary if self.message_in_progress => Err(EncodeError::MessageInProgress),
            OpCode::Text | OpCode::Binary => {
                self.message_in_progress = !fin;
                Ok(())
            }
            OpCode::Continuation if !self.message_in_progress => Err(EncodeError::NoMessageInProgress),
            OpCode::Continuation => {
                self.message_in_progress = !fin;
                Ok(())
            }
            _ => Ok(()),
        }
    }
}
