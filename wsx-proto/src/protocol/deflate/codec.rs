//! Compressing and inflating message payloads (RFC 7692 7.2), with zlib-rs through flate2.
//!
//! Each side's zlib state is allocated when the first message needs it, so a connection that
//! negotiated compression but sends or receives nothing compressed pays for neither.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::{DeflateParams, MIN_BACKEND_WINDOW_BITS};

/// What every message's compressed data ends with, removed by the sender and appended back by
/// the receiver (RFC 7692 7.2.1, 7.2.2).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// An empty stored block: BFINAL 0 and BTYPE 00 (padded to the byte), LEN 0, NLEN 0xffff. What
/// a sync flush writes when nothing is pending; with the tail removed, an empty message's
/// compressed form (RFC 7692 7.2.3.6).
const EMPTY_STORED_BLOCK: [u8; 5] = [0x00, 0x00, 0x00, 0xff, 0xff];

/// The least the inflate buffer grows by (it doubles beyond that, but never past the limit),
/// so a small message that inflates to a huge one is caught at the limit, never allocated
/// first.
const INFLATE_STEP: usize = 64 << 10;

/// Our side's compressor.
#[derive(Debug)]
pub(crate) struct Deflater {
    params: DeflateParams,
    /// Allocated by the first compressed message.
    compress: Option<Box<Compress>>,
}

impl Deflater {
    pub(crate) fn new(params: DeflateParams) -> Self {
        Self { params, compress: None }
    }

    /// Whether a message with `len` payload bytes is sent compressed.
    pub(crate) fn compresses(&self, len: usize) -> bool {
        len >= self.params.threshold && self.params.client_max_window_bits >= MIN_BACKEND_WINDOW_BITS
    }

    /// Whether a message's compressed form depends on the messages before it (context
    /// takeover): then no message can be left out of the stream once compressed.
    pub(crate) fn keeps_context(&self) -> bool {
        !self.params.client_no_context_takeover
    }

    /// Compresses one piece of a message into `out` (cleared first). The message's last piece
    /// (`fin`) drops the trailing empty block and, without context takeover, resets the state.
    pub(crate) fn compress(&mut self, input: &[u8], fin: bool, out: &mut Vec<u8>) {
        let (level, bits) = (self.params.level, self.params.client_max_window_bits);
        let compress = self
            .compress
            .get_or_insert_with(|| Box::new(Compress::new_with_window_bits(Compression::new(level), false, bits)));
        out.clear();
        // Room for the worst case (stored blocks add 5 bytes per 16 KiB, Huffman-coded noise
        // about 6%), so one call compresses the whole piece: each extra call repeats the flush.
        out.reserve(input.len() + input.len() / 8 + 64);
        let start_in = compress.total_in();
        loop {
            let consumed = (compress.total_in() - start_in) as usize;
            // A sync flush never fails on valid arguments; zlib reports only buffer errors here.
            let _ = compress.compress_vec(&input[consumed..], out, FlushCompress::Sync);
            let done = (compress.total_in() - start_in) as usize == input.len();
            // The flush is complete once a call leaves output room unused.
            if done && out.len() < out.capacity() {
                break;
            }
            out.reserve(out.capacity().max(64));
        }
        // zlib writes nothing for a sync flush with no new input right after another, the
        // stream being at a block boundary already. The piece must still be a whole block: an
        // empty message, or an empty last piece, sent as nothing would have the peer read the
        // tail it appends as the start of a stored block, and the next message as its data.
        if out.is_empty() {
            out.extend_from_slice(&EMPTY_STORED_BLOCK);
        }
        if fin {
            if out.ends_with(&TAIL) {
                out.truncate(out.len() - TAIL.len());
            }
            if self.params.client_no_context_takeover {
                compress.reset();
            }
        }
    }

    /// Whether the zlib state is allocated.
    pub(crate) fn is_allocated(&self) -> bool {
        self.compress.is_some()
    }
}

/// Why an incoming compressed message could not be inflated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// The inflated message would pass the limit.
    TooLarge(u64),
    /// The data is not valid deflate, or inflating stopped making progress.
    Corrupt,
}

/// The server's side, inflated.
#[derive(Debug)]
pub(crate) struct Inflater {
    params: DeflateParams,
    /// Allocated by the first compressed message.
    decompress: Option<Box<Decompress>>,
    /// The deflate stream ended (BFINAL): the rest of this message is ignored, and the next
    /// starts afresh.
    stream_ended: bool,
}

impl Inflater {
    pub(crate) fn new(params: DeflateParams) -> Self {
        Self {
            params,
            decompress: None,
            stream_ended: false,
        }
    }

    /// Inflates one frame's payload of a compressed message, appending to `out`, which must
    /// not grow past `limit` bytes in all. The message's last frame (`fin`) gets the tail back
    /// and, without the server's context takeover, resets the state.
    pub(crate) fn inflate(
        &mut self,
        input: &[u8],
        fin: bool,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), InflateError> {
        let bits = self.params.server_max_window_bits.max(MIN_BACKEND_WINDOW_BITS);
        let decompress = self
            .decompress
            .get_or_insert_with(|| Box::new(Decompress::new_with_window_bits(false, bits)));
        for mut piece in [input, if fin { &TAIL[..] } else { &[] }] {
            // Until the piece is used up and a step left room (no output pending in zlib).
            let mut output_pending = false;
            while (!piece.is_empty() || output_pending) && !self.stream_ended {
                let filled = out.len();
                if out.capacity() == filled {
                    // Grow by doubling, a step at least, never past the limit (plus the byte
                    // that proves it broken): zlib writes only into this spare room.
                    let wanted = (filled + INFLATE_STEP).max(filled.saturating_mul(2)).min(limit + 1);
                    if wanted <= filled {
                        return Err(InflateError::TooLarge(filled as u64));
                    }
                    out.reserve_exact(wanted - filled);
                }
                let room = out.capacity() - filled;
                let (in_before, out_before) = (decompress.total_in(), decompress.total_out());
                let status = decompress.decompress_vec(piece, out, FlushDecompress::None);
                let consumed = (decompress.total_in() - in_before) as usize;
                let produced = (decompress.total_out() - out_before) as usize;
                piece = &piece[consumed..];
                output_pending = produced == room;
                match status.map_err(|_| InflateError::Corrupt)? {
                    _ if out.len() > limit => return Err(InflateError::TooLarge(out.len() as u64)),
                    Status::StreamEnd => self.stream_ended = true,
                    // Input left, yet zlib took none of it and gave nothing: it never will.
                    _ if consumed == 0 && produced == 0 && !piece.is_empty() => return Err(InflateError::Corrupt),
                    _ => {}
                }
            }
        }
        if fin {
            if self.params.server_no_context_takeover || self.stream_ended {
                decompress.reset(false);
            }
            self.stream_ended = false;
        }
        Ok(())
    }

    /// Whether the zlib state is allocated.
    pub(crate) fn is_allocated(&self) -> bool {
        self.decompress.is_some()
    }
}
