//! Close codes, close frame payloads, and the reasons a connection ended.

use std::fmt;

use super::close_code::CloseCode;
use super::error::{ConnectionError, EncodeError, ProtocolError};
use super::utf8::Utf8Bytes;

/// The code and reason carried by a close frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// The UTF-8 reason, at most 123 bytes.
    pub reason: Utf8Bytes,
}

impl CloseFrame {
    /// A close frame with `code` and `reason`; checked when it is encoded.
    pub fn new(code: CloseCode, reason: impl Into<Utf8Bytes>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }

    /// Checks that the frame may be sent: a sendable code and a payload of at most 125 bytes.
    pub fn validate(&self) -> Result<(), EncodeError> {
        if !self.code.is_sendable() {
            return Err(EncodeError::InvalidCloseCode(self.code.0));
        }
        if self.reason.len() > 123 {
            return Err(EncodeError::CloseReasonTooLong(self.reason.len()));
        }
        Ok(())
    }
}

/// Parses a received close payload. `None` means the peer sent no status code.
pub fn parse_close_payload(payload: bytes::Bytes) -> Result<Option<CloseFrame>, ProtocolError> {
    match payload.len() {
        0 => Ok(None),
        1 => Err(ProtocolError::InvalidClosePayload),
        _ => {
            let code = CloseCode(u16::from_be_bytes([payload[0], payload[1]]));
            if !code.is_sendable() {
                return Err(ProtocolError::InvalidCloseCode(code.0));
            }
            let reason = Utf8Bytes::try_from(payload.slice(2..)).map_err(|_| ProtocolError::InvalidUtf8)?;
            Ok(Some(CloseFrame { code, reason }))
        }
    }
}

/// How one side ended the close handshake: without a code (or 1000 without a reason), or with one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseStatus {
    /// No status code, or 1000 with an empty reason (WebSockex's `:normal`).
    Normal,
    /// A status code and its reason (WebSockex's `code, message`).
    Coded(CloseFrame),
}

impl CloseStatus {
    /// The status a close frame payload stands for.
    pub fn from_frame(frame: Option<CloseFrame>) -> Self {
        match frame {
            Some(f) if f.code != CloseCode::NORMAL || !f.reason.is_empty() => Self::Coded(f),
            _ => Self::Normal,
        }
    }

    /// The close code: 1000 for [`CloseStatus::Normal`].
    pub fn code(&self) -> CloseCode {
        match self {
            Self::Normal => CloseCode::NORMAL,
            Self::Coded(f) => f.code,
        }
    }
}

/// Why a connection ended (WebSockex's `close_reason`).
///
/// Every adapter reports the same reason for the same exchange:
///
/// | what happened | reason |
/// |---|---|
/// | we closed, the server answered (echo) | `Local(what we sent)` |
/// | we closed, the server sent its own, different close code before seeing ours | `Crossed { local, remote }` |
/// | we closed, no answer within `close_timeout` | `LocalTimedOut(what we sent)` |
/// | the server closed first | `Remote(what it sent)` |
/// | TCP ended (EOF or reset) before the close handshake completed, even after our close frame went out | `Dropped` |
/// | we failed the connection (protocol error, bad reply, panicking callback) or it could not be made | `Error(e)` |
///
/// Once the close handshake is complete the client waits at most
/// [`Config::close_linger`](crate::Config::close_linger) for the server to close TCP, then
/// closes it itself; the reason is the handshake's either way.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CloseReason<E = ConnectionError> {
    /// This side closed and the peer completed the close handshake.
    Local(CloseStatus),
    /// This side closed, but the peer did not answer within the close timeout, so the
    /// connection was closed by force.
    LocalTimedOut(CloseStatus),
    /// Both sides closed at once: this side sent `local` first, then the peer's own close
    /// frame arrived with a different code (RFC 6455 7.1.5: the connection's close code is
    /// the one in the first close frame received, `remote`).
    Crossed {
        /// What this side sent.
        local: CloseStatus,
        /// What the peer sent.
        remote: CloseStatus,
    },
    /// The peer closed with a close frame.
    Remote(CloseStatus),
    /// The connection ended without a completed close handshake: the peer dropped TCP (EOF or
    /// reset) without a close frame, or before answering ours (WebSockex's `{:remote, :closed}`).
    Dropped,
    /// The connection failed (WebSockex's `{:error, e}`): a [`ConnectionError`] where the
    /// protocol ended it, the client's [`Error`](crate::Error) in a client's reason.
    Error(E),
}

impl<E> CloseReason<E> {
    /// The same reason with its error turned into another.
    pub fn map_error<F>(self, f: impl FnOnce(E) -> F) -> CloseReason<F> {
        match self {
            Self::Local(s) => CloseReason::Local(s),
            Self::LocalTimedOut(s) => CloseReason::LocalTimedOut(s),
            Self::Crossed { local, remote } => CloseReason::Crossed { local, remote },
            Self::Remote(s) => CloseReason::Remote(s),
            Self::Dropped => CloseReason::Dropped,
            Self::Error(e) => CloseReason::Error(f(e)),
        }
    }

    /// True for a close that both sides agreed on with code 1000 or no code.
    pub fn is_normal(&self) -> bool {
        matches!(
            self,
            Self::Local(CloseStatus::Normal) | Self::Remote(CloseStatus::Normal)
        )
    }
}

impl<E: fmt::Display> fmt::Display for CloseReason<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = |f: &mut fmt::Formatter<'_>, side: &str, s: &CloseStatus| match s {
            CloseStatus::Normal => write!(f, "{side}, normal"),
            CloseStatus::Coded(c) => write!(f, "{side}, {} {:?}", c.code, c.reason.as_str()),
        };
        match self {
            Self::Local(s) => status(f, "local", s),
            Self::LocalTimedOut(s) => {
                status(f, "local", s)?;
                f.write_str(" (forcefully closed: the server took too long to close)")
            }
            Self::Crossed { local, remote } => {
                status(f, "local", local)?;
                f.write_str("; ")?;
                status(f, "remote", remote)
            }
            Self::Remote(s) => status(f, "remote", s),
            Self::Dropped => f.write_str("remote, closed without a close frame"),
            Self::Error(e) => write!(f, "error: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn payload(code: u16, reason: &[u8]) -> Bytes {
        let mut v = code.to_be_bytes().to_vec();
        v.extend_from_slice(reason);
        Bytes::from(v)
    }

    #[test]
    fn sendable_ranges() {
        for code in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999,
        ] {
            assert!(CloseCode(code).is_sendable(), "{code}");
        }
        for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535] {
            assert!(!CloseCode(code).is_sendable(), "{code}");
        }
    }

    #[test]
    fn parses_payloads() {
        assert_eq!(parse_close_payload(Bytes::new()), Ok(None));
        assert_eq!(
            parse_close_payload(Bytes::from_static(&[3])),
            Err(ProtocolError::InvalidClosePayload)
        );
        assert_eq!(
            parse_close_payload(payload(1005, b"")),
            Err(ProtocolError::InvalidCloseCode(1005))
        );
        assert_eq!(
            parse_close_payload(payload(5000, b"")),
            Err(ProtocolError::InvalidCloseCode(5000))
        );
        assert_eq!(
            parse_close_payload(payload(1000, b"\xff")),
            Err(ProtocolError::InvalidUtf8)
        );
        let frame = parse_close_payload(payload(4001, "bye ✓".as_bytes())).unwrap().unwrap();
        assert_eq!(frame.code, CloseCode(4001));
        assert_eq!(frame.reason.as_str(), "bye ✓");
        let invalid_utf8 = ProtocolError::InvalidUtf8;
        assert_eq!(invalid_utf8.close_code(), CloseCode::INVALID_PAYLOAD);
    }

    #[test]
    fn status_normal_vs_coded() {
        assert_eq!(CloseStatus::from_frame(None), CloseStatus::Normal);
        assert_eq!(
            CloseStatus::from_frame(Some(CloseFrame::new(CloseCode::NORMAL, ""))),
            CloseStatus::Normal
        );
        let coded = CloseStatus::from_frame(Some(CloseFrame::new(CloseCode::NORMAL, "done")));
        assert!(matches!(coded, CloseStatus::Coded(_)));
        assert_eq!(
            CloseStatus::from_frame(Some(CloseFrame::new(CloseCode(4000), ""))).code(),
            CloseCode(4000)
        );
    }

    #[test]
    fn validate_outgoing() {
        assert_eq!(
            CloseFrame::new(CloseCode(1006), "").validate(),
            Err(EncodeError::InvalidCloseCode(1006))
        );
        assert_eq!(
            CloseFrame::new(CloseCode::NORMAL, "x".repeat(124)).validate(),
            Err(EncodeError::CloseReasonTooLong(124))
        );
        assert_eq!(CloseFrame::new(CloseCode::NORMAL, "x".repeat(123)).validate(), Ok(()));
    }
}
