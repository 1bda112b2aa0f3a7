//! The client handle: the runtime-neutral [`ClientHandle`](wsx_proto::ClientHandle) with
//! blocking waits.

use std::time::Duration;

use wsx_proto::{CloseReason, Frame, Handler, SendError, DEFAULT_SEND_TIMEOUT};

wsx_proto::adapter_client!();

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
    /// messages. Blocks only while the send buffer (bytes queued, not yet written) is spent.
    pub fn send(&self, frame: Frame) -> Result<(), SendError> {
        self.handle.send_blocking(frame)
    }

    /// [`send`](Self::send), never compressing this message even with permessage-deflate
    /// negotiated.
    pub fn send_uncompressed(&self, frame: Frame) -> Result<(), SendError> {
        self.handle.send_uncompressed_blocking(frame)
    }

    /// Queues every frame in order, in batches (one hand-over per batch), blocking while the
    /// send buffer is spent.
    pub fn send_all(&self, frames: impl IntoIterator<Item = Frame>) -> Result<(), SendError> {
        self.handle.send_all_blocking(frames)
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
