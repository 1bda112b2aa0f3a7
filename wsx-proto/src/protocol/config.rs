//! Limits and behaviour switches for a connection.

use std::time::Duration;

use super::deflate::DeflateConfig;

/// Connection limits and switches. Start from [`Config::default`] and adjust.
///
/// ```
/// let config = wsx_proto::Config::default().max_message_size(1 << 20).deliver_fragments(true);
/// assert_eq!(config.max_message_size, 1 << 20);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Largest accepted frame payload (default 16 MiB); larger is close 1009.
    pub max_frame_size: usize,
    /// Largest accepted message, summed over its fragments (default 64 MiB); larger is close 1009.
    pub max_message_size: usize,
    /// Largest accepted handshake response header block (default 16 KiB).
    pub max_handshake_size: usize,
    /// Split outgoing messages into frames of at most this many payload bytes (default: never).
    pub outgoing_frame_size: Option<usize>,
    /// Deliver data frames as they arrive ([`Frame::Fragment`](crate::Frame::Fragment),
    /// `Continuation`, `Finish`) instead of whole messages (default: off).
    pub deliver_fragments: bool,
    /// How long to wait for the server's handshake response (default 5 s).
    pub handshake_timeout: Duration,
    /// How long to wait for the peer to finish the close handshake before closing by force
    /// (default 5 s).
    pub close_timeout: Duration,
    /// Once the close handshake is complete, how long to wait for the server to close TCP
    /// before closing it from this side (default 500 ms; never past `close_timeout`). RFC 6455
    /// 7.1.1 lets the server close first; this bounds a server that never does.
    pub close_linger: Duration,
    /// Offer permessage-deflate (RFC 7692) with these options (default: off). Off by default:
    /// a compressing connection holds about 300 KiB of zlib state once it has used it, costs
    /// CPU on every message, and compressing secrets beside attacker-chosen data in one
    /// context leaks them (CRIME, BREACH); turn it on where bandwidth matters more.
    pub deflate: Option<DeflateConfig>,
    /// While open, send a ping this often (default: never). With [`pong_timeout`](Self::pong_timeout)
    /// it detects a dead connection: pings are queued on time even while the application
    /// sends (behind bytes already queued, which the send buffer bounds).
    pub ping_interval: Option<Duration>,
    /// After a keepalive ping, how long to wait for any frame from the server before failing
    /// the connection with [`Error::PongTimeout`](crate::Error::PongTimeout) (default 10 s).
    /// Any frame counts: a busy server's pong may queue behind its data.
    pub pong_timeout: Duration,
    /// Fail the connection with [`Error::IdleTimeout`](crate::Error::IdleTimeout) when no frame
    /// at all arrives for this long while open (default: never).
    pub idle_timeout: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            max_handshake_size: 16 << 10,
            outgoing_frame_size: None,
            deliver_fragments: false,
            handshake_timeout: Duration::from_secs(5),
            close_timeout: Duration::from_secs(5),
            close_linger: Duration::from_millis(500),
            deflate: None,
            ping_interval: None,
            pong_timeout: Duration::from_secs(10),
            idle_timeout: None,
        }
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $field:ident: $ty:ty),* $(,)?) => {$(
        $(#[$doc])*
        pub fn $field(mut self, value: $ty) -> Self {
            self.$field = value;
            self
        }
    )*};
}

impl Config {
    setters! {
        /// Sets [`Config::max_frame_size`].
        max_frame_size: usize,
        /// Sets [`Config::max_message_size`].
        max_message_size: usize,
        /// Sets [`Config::max_handshake_size`].
        max_handshake_size: usize,
        /// Sets [`Config::outgoing_frame_size`].
        outgoing_frame_size: Option<usize>,
        /// Sets [`Config::deliver_fragments`].
        deliver_fragments: bool,
        /// Sets [`Config::handshake_timeout`].
        handshake_timeout: Duration,
        /// Sets [`Config::close_timeout`].
        close_timeout: Duration,
        /// Sets [`Config::close_linger`].
        close_linger: Duration,
        /// Sets [`Config::deflate`].
        deflate: Option<DeflateConfig>,
        /// Sets [`Config::ping_interval`].
        ping_interval: Option<Duration>,
        /// Sets [`Config::pong_timeout`].
        pong_timeout: Duration,
        /// Sets [`Config::idle_timeout`].
        idle_timeout: Option<Duration>,
    }
}
