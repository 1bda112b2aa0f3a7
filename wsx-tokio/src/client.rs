//! The client handle: the runtime-neutral [`ClientHandle`](wsx_proto::ClientHandle) (`send`,
//! `send_all`, `sink`, `wait`, ...), plus tokio's timer for `send_frame`'s timeout.

use std::time::Duration;

use wsx_proto::{Frame, Handler, SendError, DEFAULT_SEND_TIMEOUT};

wsx_proto::adapter_client!();

impl<H: Handler> Client<H> {
    /// Sends a frame and waits until it is written to the socket, at most 5 s
    /// (WebSockex's `send_frame/2`).
    pub async fn send_frame(&self, frame: Frame) -> Result<(), SendError> {
        self.send_frame_timeout(frame, DEFAULT_SEND_TIMEOUT).await
    }

    /// [`send_frame`](Self::send_frame) with a chosen timeout. A frame that had not started
    /// to leave when the timeout expired is withdrawn.
    pub async fn send_frame_timeout(&self, frame: Frame, timeout: Duration) -> Result<(), SendError> {
        let timeout = async {
            tokio::time::sleep(timeout).await;
        };
        self.handle.send_frame_async(frame, timeout).await
    }
}
