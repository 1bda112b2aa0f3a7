//! The frame layer: header parsing and frame encoding (RFC 6455 section 5.2).

use bytes::{BufMut, Bytes, BytesMut};

use super::close::CloseFrame;
use super::error::{EncodeError, ProtocolError};
use super::mask::extend_masked;
use super::utf8::Utf8Bytes;

/// A frame opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0x0: continues a fragmented message.
    Continuation,
    /// 0x1: UTF-8 text.
    Text,
    /// 0x2: binary data.
    Binary,
    /// 0x8: connection close.
    Close,
    /// 0x9: ping.
    Ping,
    /// 0xA: pong.
    Pong,
}

impl OpCode {
    /// Decodes the low four bits of the first header byte.
    pub fn from_u8(value: u8) -> Result<Self, ProtocolError> {
        Ok(match value {
            0x0 => Self::Continuation,
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            other => return Err(ProtocolError::ReservedOpcode(other)),
        })
    }

    /// The wire value.
    pub fn as_u8(self) -> u8 {
        match self {
            Self::Continuation => 0x0,
            Self::Text => 0x1,
            Self::Binary => 0x2,
            Self::Close => 0x8,
            Self::Ping => 0x9,
            Self::Pong => 0xA,
        }
    }

    /// Close, ping and pong are control frames.
    pub fn is_control(self) -> bool {
        matches!(self, Self::Close | Self::Ping | Self::Pong)
    }
}

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// The final fragment of a message.
    pub fin: bool,
    /// RSV1..RSV3 as the low three bits (RSV1 = 0b100).
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, if the frame is masked.
    pub mask: Option<[u8; 4]>,
    /// The payload length.
    pub payload_len: u64,
}

/// The longest possible header: 2 + 8 (length) + 4 (mask).
pub const MAX_HEADER_LEN: usize = 14;

impl FrameHeader {
    /// Parses a header from the start of `buf`. `Ok(None)` means more bytes are needed;
    /// `Ok(Some((header, len)))` gives the header and how many bytes it took.
    ///
    /// Checks only what the header alone decides: reserved opcodes, the 64-bit length's top
    /// bit, and the control-frame rules. RSV bits and masking are left to the caller, which
    /// knows the negotiated extensions and which side it is.
    #[inline]
    pub fn parse(buf: &[u8]) -> Result<Option<(Self, usize)>, ProtocolError> {
        let [first, second, ..] = *buf else {
            return Ok(None);
        };
        let fin = first & 0x80 != 0;
        let rsv = (first >> 4) & 0x07;
        let opcode = OpCode::from_u8(first & 0x0F)?;
        let masked = second & 0x80 != 0;
        let (payload_len, mut len) = match second & 0x7F {
            126 => match buf.get(2..4) {
                Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
                None => return Ok(None),
            },
            127 => match buf.get(2..10) {
                Some(b) => {
                    let mut be = [0u8; 8];
                    be.copy_from_slice(b);
                    let n = u64::from_be_bytes(be);
                    if n >> 63 != 0 {
                        return Err(ProtocolError::InvalidLength);
                    }
                    (n, 10)
                }
                None => return Ok(None),
            },
            n => (u64::from(n), 2),
        };
        if opcode.is_control() {
            if !fin {
                return Err(ProtocolError::FragmentedControlFrame);
            }
            if payload_len > 125 {
                return Err(ProtocolError::ControlFrameTooLarge(payload_len as usize));
            }
        }
        let mask = if masked {
            let Some(b) = buf.get(len..len + 4) else {
                return Ok(None);
            };
            len += 4;
            Some([b[0], b[1], b[2], b[3]])
        } else {
            None
        };
        Ok(Some((
            Self {
                fin,
                rsv,
                opcode,
                mask,
                payload_len,
            },
            len,
        )))
    }

    /// Appends the encoded header to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        let first = (u8::from(self.fin) << 7) | (self.rsv << 4) | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        out.put_u8(first);
        match self.payload_len {
            n @ 0..=125 => out.put_u8(mask_bit | n as u8),
            n @ 126..=0xFFFF => {
                out.put_u8(mask_bit | 126);
                out.put_u16(n as u16);
            }
            n => {
                out.put_u8(mask_bit | 127);
                out.put_u64(n);
            }
        }
        if let Some(key) = self.mask {
            out.put_slice(&key);
        }
    }
}

/// Appends one frame to `out`, masking the payload with `mask` if given.
///
/// Copies the payload once, into `out`, and masks it there.
#[inline]
pub fn encode_frame(out: &mut BytesMut, fin: bool, opcode: OpCode, payload: &[u8], mask: Option<[u8; 4]>) {
    encode_frame_with_rsv(out, fin, 0, opcode, payload, mask);
}

/// [`encode_frame`] with RSV bits (`rsv`, RSV1 = 0b100) set by an extension.
pub(crate) fn encode_frame_with_rsv(
    out: &mut BytesMut,
    fin: bool,
    rsv: u8,
    opcode: OpCode,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) {
    let header = FrameHeader {
        fin,
        rsv,
        opcode,
        mask,
        payload_len: payload.len() as u64,
    };
    crate::protocol::buffer::reserve(out, MAX_HEADER_LEN + payload.len());
    header.encode(out);
    match mask {
        Some(key) => extend_masked(out, payload, key),
        None => out.put_slice(payload),
    }
}

/// The kind of data a message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataKind {
    /// UTF-8 text.
    Text,
    /// Binary data.
    Binary,
}

/// A WebSocket frame as the user sends and receives it (WebSockex's `frame()` type).
///
/// Whole messages are [`Frame::Text`] and [`Frame::Binary`]. A message can also be sent, or
/// received when [`Config::deliver_fragments`](crate::Config) is on, in pieces:
/// [`Frame::Fragment`] starts it, [`Frame::Continuation`] continues it, [`Frame::Finish`] ends it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Frame {
    /// A complete text message.
    Text(Utf8Bytes),
    /// A complete binary message.
    Binary(Bytes),
    /// The first piece of a fragmented message.
    Fragment(DataKind, Bytes),
    /// A middle piece of a fragmented message.
    Continuation(Bytes),
    /// The last piece of a fragmented message.
    Finish(Bytes),
    /// A ping with its payload (at most 125 bytes).
    Ping(Bytes),
    /// A pong with its payload (at most 125 bytes).
    Pong(Bytes),
    /// A close frame, with or without a code.
    Close(Option<CloseFrame>),
}

impl Frame {
    /// A text frame.
    pub fn text(text: impl Into<Utf8Bytes>) -> Self {
        Self::Text(text.into())
    }

    /// A binary frame.
    pub fn binary(data: impl Into<Bytes>) -> Self {
        Self::Binary(data.into())
    }

    /// The payload length in bytes.
    pub fn payload_len(&self) -> usize {
        match self {
            Self::Text(t) => t.len(),
            Self::Binary(b) | Self::Fragment(_, b) | Self::Continuation(b) | Self::Finish(b) => b.len(),
            Self::Ping(b) | Self::Pong(b) => b.len(),
            Self::Close(None) => 0,
            Self::Close(Some(c)) => 2 + c.reason.len(),
        }
    }

    /// Checks what can be checked without connection state: control payload sizes and close codes.
    pub fn validate(&self) -> Result<(), EncodeError> {
        match self {
            Self::Ping(b) | Self::Pong(b) if b.len() > 125 => Err(EncodeError::ControlPayloadTooLarge(b.len())),
            Self::Close(Some(c)) => c.validate(),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(buf: &[u8]) -> (FrameHeader, usize) {
        FrameHeader::parse(buf).unwrap().unwrap()
    }

    #[test]
    fn rfc_single_frame_unmasked_text() {
        let (h, n) = parse(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        assert_eq!(
            (h.fin, h.opcode, h.payload_len, h.mask, n),
            (true, OpCode::Text, 5, None, 2)
        );
    }

    #[test]
    fn rfc_single_frame_masked_text() {
        let mut out = BytesMut::new();
        encode_frame(&mut out, true, OpCode::Text, b"Hello", Some([0x37, 0xfa, 0x21, 0x3d]));
        assert_eq!(
            &out[..],
            &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
        );
    }

    #[test]
    fn rfc_fragmented_text() {
        let (h1, _) = parse(&[0x01, 0x03, 0x48, 0x65, 0x6c]);
        let (h2, _) = parse(&[0x80, 0x02, 0x6c, 0x6f]);
        assert_eq!((h1.fin, h1.opcode), (false, OpCode::Text));
        assert_eq!((h2.fin, h2.opcode), (true, OpCode::Continuation));
    }

    #[test]
    fn rfc_ping_and_masked_pong() {
        let (h, _) = parse(&[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        assert_eq!(h.opcode, OpCode::Ping);
        let (h, n) = parse(&[0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
        assert_eq!((h.opcode, h.mask, n), (OpCode::Pong, Some([0x37, 0xfa, 0x21, 0x3d]), 6));
    }

    #[test]
    fn rfc_256_bytes_and_64k() {
        let (h, n) = parse(&[0x82, 0x7E, 0x01, 0x00]);
        assert_eq!((h.payload_len, n), (256, 4));
        let (h, n) = parse(&[0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]);
        assert_eq!((h.payload_len, n), (65536, 10));
        let mut out = BytesMut::new();
        encode_frame(&mut out, true, OpCode::Binary, &[7u8; 256], None);
        assert_eq!(&out[..4], &[0x82, 0x7E, 0x01, 0x00]);
        out.clear();
        encode_frame(&mut out, true, OpCode::Binary, &vec![7u8; 65536], None);
        assert_eq!(&out[..10], &[0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]);
    }

    #[test]
    fn partial_headers_need_more() {
        for buf in [
            &[][..],
            &[0x82],
            &[0x82, 126, 1],
            &[0x82, 127, 0, 0, 0],
            &[0x82, 0x85, 1, 2],
        ] {
            assert_eq!(FrameHeader::parse(buf), Ok(None), "{buf:?}");
        }
    }

    #[test]
    fn header_violations() {
        assert_eq!(FrameHeader::parse(&[0x83, 0]), Err(ProtocolError::ReservedOpcode(3)));
        assert_eq!(FrameHeader::parse(&[0x8B, 0]), Err(ProtocolError::ReservedOpcode(0xB)));
        assert_eq!(
            FrameHeader::parse(&[0x09, 0]),
            Err(ProtocolError::FragmentedControlFrame)
        );
        assert_eq!(
            FrameHeader::parse(&[0x89, 126, 0, 126]),
            Err(ProtocolError::ControlFrameTooLarge(126))
        );
        assert_eq!(
            FrameHeader::parse(&[0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0]),
            Err(ProtocolError::InvalidLength)
        );
        let (h, _) = parse(&[0xC1, 0]);
        assert_eq!(h.rsv, 0b100);
    }

    #[test]
    fn validate_outgoing_frames() {
        assert_eq!(
            Frame::Ping(Bytes::from(vec![0; 126])).validate(),
            Err(EncodeError::ControlPayloadTooLarge(126))
        );
        assert_eq!(Frame::Ping(Bytes::from(vec![0; 125])).validate(), Ok(()));
        assert_eq!(Frame::Binary(Bytes::from(vec![0; 1000])).validate(), Ok(()));
    }
}
