//! Exit codes (listed in `wsx --help`) and the one-line error that goes with them.

use std::fmt;

use wsx_tokio::{close::CloseStatus, CloseReason, Error};

/// How `wsx` ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// A normal close.
    Ok = 0,
    /// Anything else that went wrong.
    Other = 1,
    /// Bad arguments.
    Usage = 2,
    /// The connection could not be made.
    Connect = 3,
    /// The server refused the handshake.
    Handshake = 4,
    /// The peer broke the protocol (or said we did).
    Protocol = 5,
    /// The connection ended without a clean close.
    Abnormal = 6,
    /// A second Ctrl-C.
    Interrupted = 130,
}

impl Exit {
    /// The exit code for a connection that ended for `reason`.
    pub fn for_reason(reason: &CloseReason) -> Self {
        match reason {
            CloseReason::Local(_) => Self::Ok,
            CloseReason::Remote(status) | CloseReason::Crossed { remote: status, .. } => Self::for_remote(status),
            CloseReason::LocalTimedOut(_) | CloseReason::Dropped => Self::Abnormal,
            CloseReason::Error(e) => Self::for_error(e),
            _ => Self::Abnormal,
        }
    }

    /// The exit code for a close frame from the server.
    fn for_remote(status: &CloseStatus) -> Self {
        match status {
            CloseStatus::Normal => Self::Ok,
            CloseStatus::Coded(frame) => match frame.code.0 {
                1000 | 1001 => Self::Ok,
                1002 | 1007 | 1009 => Self::Protocol,
                _ => Self::Abnormal,
            },
            _ => Self::Abnormal,
        }
    }

    /// The exit code for a connection that failed with `error`.
    pub fn for_error(error: &Error) -> Self {
        match error {
            Error::Url(_) | Error::Request(_) => Self::Usage,
            Error::Handshake(_) => Self::Handshake,
            Error::Protocol(_) => Self::Protocol,
            Error::PongTimeout(_) | Error::IdleTimeout(_) => Self::Abnormal,
            Error::ConnectTimeout | Error::Io(_) | Error::InvalidCertificate(_) | Error::Proxy(_) => Self::Connect,
            _ => Self::Other,
        }
    }

    /// The process exit code.
    pub fn code(self) -> std::process::ExitCode {
        std::process::ExitCode::from(self as u8)
    }
}

/// An error that ends `wsx`: a message for stderr and the exit code.
#[derive(Debug)]
pub struct Failure {
    /// What to print after `error: `.
    pub message: String,
    /// How to exit.
    pub exit: Exit,
}

impl Failure {
    /// A failure with this message and code.
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            exit,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wsx_tokio::{close::CloseFrame, error::HandshakeError, error::ProtocolError, CloseCode};

    fn remote(code: u16) -> CloseReason {
        CloseReason::Remote(CloseStatus::Coded(CloseFrame {
            code: CloseCode(code),
            reason: String::new().into(),
        }))
    }

    #[test]
    fn normal_closes_exit_zero_and_error_codes_do_not() {
        assert_eq!(Exit::for_reason(&CloseReason::Local(CloseStatus::Normal)), Exit::Ok);
        assert_eq!(Exit::for_reason(&CloseReason::Remote(CloseStatus::Normal)), Exit::Ok);
        assert_eq!(Exit::for_reason(&remote(1001)), Exit::Ok);
        assert_eq!(Exit::for_reason(&remote(1002)), Exit::Protocol);
        assert_eq!(Exit::for_reason(&remote(1011)), Exit::Abnormal);
        assert_eq!(Exit::for_reason(&remote(4000)), Exit::Abnormal);
        assert_eq!(Exit::for_reason(&CloseReason::Dropped), Exit::Abnormal);
    }

    #[test]
    fn errors_map_to_their_stage() {
        let refused = Error::Io(std::sync::Arc::new(std::io::ErrorKind::ConnectionRefused.into()));
        assert_eq!(Exit::for_error(&refused), Exit::Connect);
        assert_eq!(Exit::for_error(&Error::ConnectTimeout), Exit::Connect);
        assert_eq!(
            Exit::for_error(&Error::Handshake(HandshakeError::Incomplete)),
            Exit::Handshake
        );
        assert_eq!(
            Exit::for_error(&Error::Protocol(ProtocolError::MaskedFrame)),
            Exit::Protocol
        );
        assert_eq!(Exit::Interrupted as u8, 130);
    }
}
