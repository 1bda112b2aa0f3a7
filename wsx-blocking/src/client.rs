//! The client handle: cloneable, usable from any thread; the runtime-neutral
//! [`ClientHandle`] with blocking waits.

use std::ops::Deref;
use std::time::Duration;

use wsx_proto::{ClientHandle, CloseReason, Frame, Handler, SendError};

/// Default timeout of [`Client::send_frame`].
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// A handle to a running client (WebSockex's pid): `Clone + Send + Sync`. `cast` (never
/// blocks), `close`, `close_with`, `status` and `stats` come from the [`ClientHandle`] it
/// dereferences to.
pub struct Client<H: Handler> {
    pub(crate) handle: ClientHandle<H>,
}

impl<H: Handler> Clone for Client<H> {
    fn clone(&self) -> Self {
        Self {
            handle: self.handle.clone(),
        }
    }
}

impl<H: Handler> std::fmt::Debug for Client<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.handle.fmt(f)
    }
}

impl<H: Handler> Deref for Client<H> {
    type Target = ClientHandle<H>;

    fn deref(&self) -> &ClientHandle<H> {
        &self.handle
    }
}

impl<H: Handler> Client<H> {
    /// Sends a frame and blocks until it is written to the socket, at most 5 s
    /// (WebSockex's `send_frame/2`).
    pub fn send_frame(&self, frame: Frame) -> Result<(), SendError> {
        self.handle.send_frame_blocking(frame, DEFAULT_SEND_TIMEOUT)
    }

    /// [`send_frame`](Self::send_frame) with a chosen timeout. A frame that had not started
    /// to leave when the timeout expired is withdrawn.
    pub fn send_frame_timeout(&self, frame: Frame, timeout: Duration) -> Result<(), SendError> {
        self.handle.send_frame_blocking(frame, timeout)
    }

    /// Queues a frame without waiting for it to be written: the pipelined path for many
    /// messages. Blocks only while the send budget (bytes queued, not yet written) is spent.
    pub fn send(&self, frame: Frame) -> Result<(), SendError> {
        self.handle.send_blocking(frame)
    }

    /// Blocks until the client stops for good and returns the final reason.
    pub fn wait(&self) -> CloseReason {
        self.handle
            .wait_blocking(None)
            .unwrap_or(CloseReason::Error(wsx_proto::Error::Aborted))
    }

    /// [`wait`](Self::wait) for at most `timeout`; `None` if still running.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<CloseReason> {
        self.handle.wait_blocking(Some(timeout))
    }
}
