//! What every adapter's client handle shares: its status, its send errors, and the guard
//! against a callback waiting on its own client.

use std::cell::Cell;

use crate::close::CloseReason;
use crate::error::EncodeError;
use crate::frame::Frame;

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
    /// The frame was not written within the timeout.
    Timeout,
    /// `send_frame` was called from one of this client's own callbacks, which would wait for
    /// itself; reply with the frame instead.
    FromCallback,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotConnected => f.write_str("not connected"),
            Self::ConnectionFailed(Some(reason)) => write!(f, "connection failed: {reason}"),
            Self::ConnectionFailed(None) => f.write_str("connection failed"),
            Self::Encode(e) => write!(f, "frame cannot be encoded: {e}"),
            Self::Timeout => f.write_str("timed out sending the frame"),
            Self::FromCallback => f.write_str("send_frame called from the client's own callback; return Reply::Frame"),
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

impl Status {
    /// Whether a client in this status can take `frame` now; the error says why not.
    pub fn check_sendable(&self, frame: &Frame) -> Result<(), SendError> {
        frame.validate().map_err(SendError::Encode)?;
        match self {
            Status::Connected => Ok(()),
            Status::Connecting => Err(SendError::NotConnected),
            Status::Terminated(reason) => Err(SendError::ConnectionFailed(Some(reason.clone()))),
        }
    }

    /// The error for a command the connection task can no longer take.
    pub fn gone_error(&self) -> SendError {
        match self {
            Status::Terminated(reason) => SendError::ConnectionFailed(Some(reason.clone())),
            _ => SendError::ConnectionFailed(None),
        }
    }
}

thread_local! {
    /// The client whose callback is running on this thread, if any.
    static IN_CALLBACK: Cell<usize> = const { Cell::new(0) };
}

/// Marks this thread as running a client's callback until dropped, so that the client's own
/// `send_frame` can refuse instead of deadlocking. Adapters pick the id (e.g. a pointer).
#[derive(Debug)]
pub struct CallbackGuard(usize);

impl CallbackGuard {
    /// Marks the callbacks of the client identified by `client_id` as running.
    pub fn enter(client_id: usize) -> Self {
        Self(IN_CALLBACK.with(|c| c.replace(client_id)))
    }

    /// Whether a callback of `client_id` runs on this thread: a blocking send to itself would
    /// wait forever.
    pub fn is_inside(client_id: usize) -> bool {
        IN_CALLBACK.with(Cell::get) == client_id
    }
}

impl Drop for CallbackGuard {
    fn drop(&mut self) {
        IN_CALLBACK.with(|c| c.set(self.0));
    }
}
