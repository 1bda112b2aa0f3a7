//! WebSockets over HTTP/2 (RFC 8441): whether a client asks for it, which clients may share a
//! connection, and why it did not happen. The HTTP/2 framing itself is the driver's (hyperium's
//! `h2` in `wsx-driver`); the extended CONNECT request and its answer are the protocol layer's
//! ([`ExtendedConnect`](crate::protocol::handshake::ExtendedConnect)).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::session::settings::ConnectSettings;

/// Whether a client speaks HTTP/2 ([`ConnectSettings::http2`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Http2 {
    /// HTTP/1.1 only: each client its own TCP connection (the default).
    #[default]
    Off,
    /// For `wss://`, offer `h2` and `http/1.1` in ALPN; open the WebSocket with an extended
    /// CONNECT when the server chooses h2 and allows it (`SETTINGS_ENABLE_CONNECT_PROTOCOL`),
    /// otherwise with the HTTP/1.1 upgrade (over the same TLS connection when the server
    /// chose `http/1.1`). For `ws://`, HTTP/1.1: nothing tells a client a cleartext server
    /// speaks HTTP/2.
    Prefer,
    /// HTTP/2 or an error naming why ([`Http2Error`]). For `wss://`, ALPN offers only `h2`;
    /// for `ws://`, h2c with prior knowledge (RFC 9113 §3.3): the connection starts with
    /// HTTP/2's preface.
    Require,
}

/// Which clients may share an HTTP/2 connection ([`ConnectSettings::http2_pool`]): clients
/// with the same pool, origin, TLS and proxy settings share one; a pool never shares with
/// another. Cheap to copy; made with [`Http2Pool::new`] for a group of your own.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Http2Pool(u64);

impl Http2Pool {
    /// The process-wide pool (the default): every client of an origin shares.
    pub const SHARED: Self = Self(0);
    /// No sharing: each client opens a connection of its own.
    pub const UNSHARED: Self = Self(u64::MAX);

    /// A pool of its own: the clients given it (or a copy) share among themselves only.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// Whether clients of this pool share connections at all.
    pub fn shares(self) -> bool {
        self != Self::UNSHARED
    }
}

impl Default for Http2Pool {
    fn default() -> Self {
        Self::SHARED
    }
}

impl fmt::Debug for Http2Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::SHARED => f.write_str("Http2Pool::SHARED"),
            Self::UNSHARED => f.write_str("Http2Pool::UNSHARED"),
            Self(id) => write!(f, "Http2Pool({id})"),
        }
    }
}

/// What decides whether two clients may share an HTTP/2 connection: their pool and
/// [`Http2`] choice, the URL's scheme, host and port, the proxy and the TLS settings. Equal
/// keys, one connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Http2Origin {
    pool: Http2Pool,
    /// Preferring and requiring offer different ALPN, and may be answered differently.
    mode: Http2,
    secure: bool,
    host: String,
    port: u16,
    /// The proxy and the TLS settings, as text: what they are, not where they live.
    route: String,
    /// A fingerprint of the TLS settings that do not print (certificates and keys).
    tls: u64,
}

impl ConnectSettings {
    /// Whether connecting tries HTTP/2: when it is required, or preferred over TLS (where ALPN
    /// tells whether the server speaks it).
    pub fn tries_http2(&self) -> bool {
        match self.http2 {
            Http2::Require => true,
            Http2::Prefer => self.url().is_secure(),
            Http2::Off => false,
        }
    }

    /// The key of the HTTP/2 connection this client may share
    /// ([`http2_pool`](Self::http2_pool)); `None` when it must not share.
    pub fn http2_origin(&self) -> Option<Http2Origin> {
        if !self.http2_pool.shares() {
            return None;
        }
        let url = self.url();
        let proxy = self.proxy_for_connect().ok().flatten();
        let mut tls = std::collections::hash_map::DefaultHasher::new();
        self.tls.ca_certificates.hash(&mut tls);
        self.tls.client_identity.hash(&mut tls);
        #[cfg(feature = "tls")]
        self.tls
            .client_config
            .as_ref()
            .map(std::sync::Arc::as_ptr)
            .hash(&mut tls);
        Some(Http2Origin {
            pool: self.http2_pool,
            mode: self.http2,
            secure: url.is_secure(),
            host: url.host().to_ascii_lowercase(),
            port: url.port(),
            route: format!(
                "{proxy:?} {} {} {:?}",
                self.tls.insecure_skip_verify, self.tls.native_roots, self.pinned
            ),
            tls: tls.finish(),
        })
    }
}

/// Why a client that [`Http2::Require`]s HTTP/2 did not get it, or how an HTTP/2 stream ended
/// without a close handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Http2Error {
    /// The TLS server did not choose `h2` in ALPN (`alpn`: what it chose, if anything).
    NotNegotiated {
        /// The protocol the server chose instead.
        alpn: Option<String>,
    },
    /// The server speaks HTTP/2 but never allowed the extended CONNECT
    /// (`SETTINGS_ENABLE_CONNECT_PROTOCOL` absent or 0).
    ExtendedConnectDisabled,
    /// The server reset the WebSocket's stream (RST_STREAM) with this error code.
    StreamReset {
        /// The HTTP/2 error code (RFC 9113 §7), e.g. 8 for CANCEL.
        code: u32,
    },
    /// The server is closing the connection (GOAWAY) and the stream did not finish.
    GoAway {
        /// The HTTP/2 error code (0: a graceful shutdown).
        code: u32,
    },
    /// The HTTP/2 connection failed: a protocol error, with the framing layer's description.
    Connection(String),
}

impl fmt::Display for Http2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotNegotiated { alpn: Some(alpn) } => {
                write!(f, "the server chose {alpn:?} in ALPN, not HTTP/2")
            }
            Self::NotNegotiated { alpn: None } => f.write_str("the server chose no protocol in ALPN, not HTTP/2"),
            Self::ExtendedConnectDisabled => {
                f.write_str("the HTTP/2 server does not allow WebSockets (no SETTINGS_ENABLE_CONNECT_PROTOCOL)")
            }
            Self::StreamReset { code } => write!(f, "the server reset the HTTP/2 stream (error code {code})"),
            Self::GoAway { code } => write!(f, "the HTTP/2 connection is going away (error code {code})"),
            Self::Connection(e) => write!(f, "HTTP/2: {e}"),
        }
    }
}

impl std::error::Error for Http2Error {}

impl From<Http2Error> for std::io::Error {
    /// For a transport's reads and writes: the session turns it back into
    /// [`Error::Http2`](crate::Error::Http2).
    fn from(e: Http2Error) -> Self {
        std::io::Error::other(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_share_by_origin_pool_and_tls() {
        let a = ConnectSettings::new("wss://example.com/a").unwrap().no_proxy();
        let b = ConnectSettings::new("wss://EXAMPLE.com:443/b?x").unwrap().no_proxy();
        assert_eq!(a.http2_origin(), b.http2_origin(), "the path does not matter");
        let other_port = ConnectSettings::new("wss://example.com:8443/").unwrap().no_proxy();
        assert_ne!(a.http2_origin(), other_port.http2_origin());
        let other_pool = a.clone().http2_pool(Http2Pool::new());
        assert_ne!(a.http2_origin(), other_pool.http2_origin());
        let ca = a.clone().ca_certificate(vec![1, 2, 3]);
        assert_ne!(
            a.http2_origin(),
            ca.http2_origin(),
            "other trusted roots, other connection"
        );
        let insecure = a.clone().insecure_skip_verify(true);
        assert_ne!(a.http2_origin(), insecure.http2_origin());
        assert_eq!(a.clone().http2_pool(Http2Pool::UNSHARED).http2_origin(), None);
        let pool = Http2Pool::new();
        assert_eq!(
            a.clone().http2_pool(pool).http2_origin(),
            b.clone().http2_pool(pool).http2_origin()
        );
    }

    #[test]
    fn io_errors_carry_http2_errors_back() {
        let io = std::io::Error::from(Http2Error::StreamReset { code: 8 });
        assert_eq!(
            crate::Error::from(io),
            crate::Error::Http2(Http2Error::StreamReset { code: 8 })
        );
    }
}
