//! What every adapter's `Client` is made of, written once: the same names and meanings on every
//! runtime, `async` where the runtime is async and blocking where it is not, and nothing of the
//! other kind reachable from it.

use std::time::Duration;

/// Default timeout of every adapter's `send_frame`.
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// Defines an adapter's `Client<H>` around the runtime-neutral [`ClientHandle`] and its
/// `ContextExt` (the client from a callback's context).
///
/// * `adapter_client!(async, sleep = path::to::sleep)`: the waiting methods are `async fn`s;
///   `sleep(Duration)` is the runtime's timer future, for the timeouts.
/// * `adapter_client!(blocking)`: the waiting methods block the calling thread.
///
/// [`ClientHandle`]: crate::ClientHandle
#[doc(hidden)]
#[macro_export]
macro_rules! adapter_client {
    (async, sleep = $sleep:path) => {
        $crate::adapter_client!(@common);

        impl<H: $crate::wsx_proto::Handler> Client<H> {
            /// Queues a frame without waiting for it to be written: the pipelined path for many
            /// messages. Waits only while the send buffer (bytes queued, not yet written) is
            /// spent; frames queued together go out in one write.
            pub async fn send(&self, frame: $crate::wsx_proto::Frame) -> ::std::result::Result<(), $crate::wsx_proto::SendError> {
                self.handle.send(frame).await
            }

            /// [`send`](Self::send), never compressing this message even with
            /// permessage-deflate negotiated (for data that does not shrink, or that must not
            /// share a compression context with the rest, e.g. a secret beside
            /// attacker-chosen text).
            pub async fn send_uncompressed(
                &self,
                frame: $crate::wsx_proto::Frame,
            ) -> ::std::result::Result<(), $crate::wsx_proto::SendError> {
                self.handle.send_uncompressed(frame).await
            }

            /// Queues every frame in order, in batches (one hand-over per batch), waiting
            /// while the send buffer is spent. A frame that cannot be sent stops it: the
            /// frames before it are queued, the error is returned.
            pub async fn send_all(
                &self,
                frames: impl IntoIterator<Item = $crate::wsx_proto::Frame>,
            ) -> ::std::result::Result<(), $crate::wsx_proto::SendError> {
                self.handle.send_all(frames).await
            }

            /// A [`Sink`](futures_sink::Sink) of frames for this client, for
            /// `SinkExt::send_all`, `feed` and `send`: frames are collected and handed to the
            /// connection in one go at every flush, and `poll_ready` waits while the send
            /// buffer is spent. Closing the sink flushes it; it does not close the connection.
            pub fn sink(&self) -> $crate::client::ClientSink<H> {
                self.handle.sink()
            }

            /// Sends a frame and waits until it is written to the socket, at most
            /// [`DEFAULT_SEND_TIMEOUT`](crate::config::DEFAULT_SEND_TIMEOUT) (WebSockex's
            /// `send_frame/2`).
            pub async fn send_frame(&self, frame: $crate::wsx_proto::Frame) -> ::std::result::Result<(), $crate::wsx_proto::SendError> {
                self.send_frame_timeout(frame, $crate::config::DEFAULT_SEND_TIMEOUT).await
            }

            /// [`send_frame`](Self::send_frame) with a chosen timeout. On
            /// [`SendError::Timeout`](crate::SendError::Timeout) the error says whether any of
            /// the frame had been written; if none had, it is never sent.
            pub async fn send_frame_timeout(
                &self,
                frame: $crate::wsx_proto::Frame,
                timeout: ::std::time::Duration,
            ) -> ::std::result::Result<(), $crate::wsx_proto::SendError> {
                self.handle.send_frame_async(frame, $sleep(timeout)).await
            }

            /// Waits until the client stops for good and returns the final reason.
            pub async fn wait(&self) -> $crate::wsx_proto::CloseReason {
                self.handle.wait().await
            }

            /// [`wait`](Self::wait) for at most `timeout`; `None` if still running.
            pub async fn wait_timeout(&self, timeout: ::std::time::Duration) -> Option<$crate::wsx_proto::CloseReason> {
                self.handle.wait_or(async { $sleep(timeout).await; }).await
            }
        }
    };
    (blocking) => {
        $crate::adapter_client!(@common);

        impl<H: $crate::wsx_proto::Handler> Client<H> {
            /// Queues a frame without waiting for it to be written: the pipelined path for many
            /// messages. Blocks only while the send buffer (bytes queued, not yet written) is
            /// spent; frames queued together go out in one write.
            pub fn send(&self, frame: $crate::wsx_proto::Frame) -> ::std::result::Result<(), $crate::wsx_proto::SendError> {
                self.handle.send_blocking(frame)
            }

            /// [`send`](Self::send), never compressing this message even with
            /// permessage-deflate negotiated (for data that does not shrink, or that must not
            /// share a compression context with the rest, e.g. a secret beside
            /// attacker-chosen text).
            pub fn send_uncompressed(&self, frame: $crate::wsx_proto::Frame) -> ::std::result::Result<(), $crate::wsx_proto::SendError> {
                self.handle.send_uncompressed_blocking(frame)
            }

            /// Queues every frame in order, in batches (one hand-over per batch), blocking
            /// while the send buffer is spent. A frame that cannot be sent stops it: the
            /// frames before it are queued, the error is returned.
            pub fn send_all(
                &self,
                frames: impl IntoIterator<Item = $crate::wsx_proto::Frame>,
            ) -> ::std::result::Result<(), $crate::wsx_proto::SendError> {
                self.handle.send_all_blocking(frames)
            }

            /// Sends a frame and blocks until it is written to the socket, at most
            /// [`DEFAULT_SEND_TIMEOUT`](crate::config::DEFAULT_SEND_TIMEOUT) (WebSockex's
            /// `send_frame/2`).
            pub fn send_frame(&self, frame: $crate::wsx_proto::Frame) -> ::std::result::Result<(), $crate::wsx_proto::SendError> {
                self.send_frame_timeout(frame, $crate::config::DEFAULT_SEND_TIMEOUT)
            }

            /// [`send_frame`](Self::send_frame) with a chosen timeout. On
            /// [`SendError::Timeout`](crate::SendError::Timeout) the error says whether any of
            /// the frame had been written; if none had, it is never sent.
            pub fn send_frame_timeout(
                &self,
                frame: $crate::wsx_proto::Frame,
                timeout: ::std::time::Duration,
            ) -> ::std::result::Result<(), $crate::wsx_proto::SendError> {
                self.handle.send_frame_blocking(frame, timeout)
            }

            /// Blocks until the client stops for good and returns the final reason.
            pub fn wait(&self) -> $crate::wsx_proto::CloseReason {
                self.handle
                    .wait_blocking(None)
                    .unwrap_or($crate::wsx_proto::CloseReason::Error($crate::wsx_proto::Error::Aborted))
            }

            /// [`wait`](Self::wait) for at most `timeout`; `None` if still running.
            pub fn wait_timeout(&self, timeout: ::std::time::Duration) -> Option<$crate::wsx_proto::CloseReason> {
                self.handle.wait_blocking(Some(timeout))
            }
        }
    };
    (@common) => {
        /// A handle to a running client (WebSockex's pid): `Clone + Send + Sync`; every clone
        /// drives the same connection.
        pub struct Client<H: $crate::wsx_proto::Handler> {
            handle: $crate::ClientHandle<H>,
        }

        impl<H: $crate::wsx_proto::Handler> Clone for Client<H> {
            fn clone(&self) -> Self {
                Self {
                    handle: self.handle.clone(),
                }
            }
        }

        impl<H: $crate::wsx_proto::Handler> ::std::fmt::Debug for Client<H> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Debug::fmt(&self.handle, f)
            }
        }

        impl<H: $crate::wsx_proto::Handler> Client<H> {
            #[allow(dead_code)]
            pub(crate) fn from_handle(handle: $crate::ClientHandle<H>) -> Self {
                Self { handle }
            }

            #[allow(dead_code)]
            pub(crate) fn handle(&self) -> &$crate::ClientHandle<H> {
                &self.handle
            }

            /// Delivers `msg` to the handler's `handle_cast` (WebSockex's `cast/2`). Never
            /// waits. Casts sent while connecting are delivered once connected. At most
            /// [`CAST_QUEUE_LIMIT`](crate::config::CAST_QUEUE_LIMIT) casts wait; beyond,
            /// [`SendError::QueueFull`](crate::SendError::QueueFull).
            pub fn cast(&self, msg: H::Cast) -> ::std::result::Result<(), $crate::wsx_proto::SendError> {
                self.handle.cast(msg)
            }

            /// Starts the close handshake with 1000 (normal closure). Never waits: see
            /// [`wait`](Self::wait) for the end.
            pub fn close(&self) -> ::std::result::Result<(), $crate::wsx_proto::SendError> {
                self.handle.close()
            }

            /// Starts the close handshake with a code and reason (checked: a code a client
            /// may not send, or a reason over 123 bytes, is refused).
            pub fn close_with(
                &self,
                code: $crate::wsx_proto::CloseCode,
                reason: impl Into<String>,
            ) -> ::std::result::Result<(), $crate::wsx_proto::SendError> {
                self.handle.close_with(code, reason)
            }

            /// Where the client is: connecting, connected, or stopped with its reason.
            pub fn status(&self) -> $crate::client::Status {
                self.handle.status()
            }

            /// Frames and bytes in and out so far, over all connections.
            pub fn stats(&self) -> $crate::wsx_proto::telemetry::StatsSnapshot {
                self.handle.stats()
            }

            /// Outgoing bytes held in memory now (bounded by the send buffer plus one frame).
            pub fn buffered_bytes(&self) -> $crate::client::BufferedBytes {
                self.handle.buffered_bytes()
            }
        }

        /// Reaching this adapter's [`Client`] from a callback's context.
        pub trait ContextExt<H: $crate::wsx_proto::Handler> {
            /// The running client's handle, e.g. to give to another task or thread.
            fn client(&self) -> Client<H>;
        }

        impl<H: $crate::wsx_proto::Handler> ContextExt<H> for $crate::wsx_proto::Context<'_, H> {
            fn client(&self) -> Client<H> {
                // Every session an adapter starts links to its client handle.
                let handle = self.link().downcast_ref::<$crate::ClientHandle<H>>();
                Client {
                    handle: handle.expect("a context of this adapter's session").clone(),
                }
            }
        }
    };
}
