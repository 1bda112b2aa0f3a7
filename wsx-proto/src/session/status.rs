//! What a client handle reports: where the client is, and why a frame could not be sent.

use crate::error::CloseReason;
use crate::protocol::error::EncodeError;

/// Casts that may wait for the session; more are refused with [`SendError::QueueFull`].
pub const CAST_QUEUE_LIMIT: usize = 65_536;

/// Why a frame could not be sent.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SendError {
    /// The client is connecting, reconnecting or closing (WebSockex's `NotConnectedError`).
    NotConnected,
    /// The connection ended before the frame was written, or the client has stopped
    /// (WebSockex's `ConnError`).
    ConnectionFailed(Option<CloseReason>),
    /// The frame cannot be encoded (WebSockex's `FrameEncodeError`).
    Encode(EncodeError),
    /// The frame was not written within the timeout, and none of it ever will be: it was taken
    /// back. Sending it again sends it once.
    Timeout,
    /// The frame was not written within the timeout, but it still goes out whole: some of it
    /// had been written already, or it could not be left out of the stream (a piece of a
    /// fragmented message, or a message compressed with permessage-deflate's shared context).
    /// Sending it again would send it twice.
    TimeoutCommitted,
    /// `send_frame` was called from one of this client's own callbacks, which would wait for
    /// itself; reply with the frame instead.
    FromCallback,
    /// [`CAST_QUEUE_LIMIT`] casts are already waiting (the connection is stuck or the handler
    /// slower than its senders): `cast` never waits, so it refuses.
    QueueFull,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotConnected => f.write_str("not connected"),
            Self::ConnectionFailed(Some(reason)) => write!(f, "connection failed: {reason}"),
            Self::ConnectionFailed(None) => f.write_str("connection failed"),
            Self::Encode(e) => write!(f, "frame cannot be encoded: {e}"),
            Self::Timeout => f.write_str("timed out sending the frame (it is not sent)"),
            Self::TimeoutCommitted => f.write_str("timed out sending the frame (it is still being sent)"),
            Self::FromCallback => f.write_str("send_frame called from the client's own callback; return Reply::Frame"),
            Self::QueueFull => write!(f, "{CAST_QUEUE_LIMIT} casts are already queued"),
        }
    }
}

impl std::error::Error for SendError {}

/// Where the client is.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Opening a connection (first or reconnect).
    Connecting,
    /// The WebSocket is open.
    Connected,
    /// Stopped for good, with the final reason.
    Terminated(CloseReason),
}
