//! Everything needed to (re)connect: the request, the limits and the socket and TLS options.
//! Adapters read it; the callback trait hands it to `handle_disconnect`, which may change it.

use std::time::Duration;

use crate::error::Error;
use crate::protocol::config::Config;
use crate::protocol::deflate::DeflateConfig;
use crate::protocol::error::UrlError;
use crate::protocol::handshake::Request;
use crate::protocol::url::WsUrl;
use crate::session::http2::{Http2, Http2Pool};
use crate::session::proxy::Proxy;

/// How a client connects (WebSockex's `Conn`). Build with [`ConnectSettings::new`] and the
/// setters.
///
/// ```
/// use std::time::Duration;
/// let settings = wsx_proto::ConnectSettings::new("wss://example.com/feed")?
///     .header("Authorization", "Bearer token")
///     .subprotocol("v2.feed")
///     .connect_timeout(Duration::from_secs(3));
/// assert_eq!(settings.request.url.port(), 443);
/// # Ok::<(), wsx_proto::error::UrlError>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectSettings {
    /// URL, extra headers, subprotocols and extensions.
    pub request: Request,
    /// Limits, handshake and close timeouts.
    pub config: Config,
    /// How long connecting may take: name resolution, TCP, the proxy's tunnel and the TLS
    /// handshake (default 6 s).
    pub connect_timeout: Duration,
    /// `TCP_NODELAY` (default on: frames are written whole, so Nagle only adds latency).
    pub tcp_nodelay: bool,
    /// TLS options for `wss://`.
    pub tls: TlsOptions,
    /// The proxy: from the environment (default), none, or a given one.
    proxy: ProxySetting,
    /// HTTP/2 (RFC 8441): off (the default), preferred or required.
    pub http2: Http2,
    /// Which clients may share an HTTP/2 connection (default: every client of an origin).
    pub http2_pool: Http2Pool,
    /// Host names with their addresses given ([`resolve`](Self::resolve)).
    pub(crate) pinned: Vec<(String, Vec<std::net::IpAddr>)>,
}

/// TLS options. Certificates are verified against well-known roots unless you say otherwise.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct TlsOptions {
    /// Extra trusted CA certificates, DER-encoded, on top of the well-known roots.
    pub ca_certificates: Vec<Vec<u8>>,
    /// Skips certificate and hostname verification. Only for tests and trusted networks.
    pub insecure_skip_verify: bool,
    /// Trust the operating system's certificate store instead of the bundled webpki roots
    /// (the extra CA certificates are added to it either way).
    pub native_roots: bool,
    /// A client certificate chain and its private key, PEM-encoded, for servers that ask for
    /// one (mutual TLS).
    pub client_identity: Option<ClientIdentity>,
    /// A complete rustls configuration, used as given (the options above are then ignored).
    #[cfg(feature = "tls")]
    pub client_config: Option<std::sync::Arc<rustls::ClientConfig>>,
}

/// Where the proxy comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ProxySetting {
    /// The environment's, as curl reads it (the default).
    FromEnv,
    /// None at all.
    None,
    /// This one.
    Explicit(Box<Proxy>),
}

/// `localhost` (with or without its root dot), `127.0.0.0/8`, `::1`, and IPv4 loopback written
/// as an IPv6 address (`::ffff:127.0.0.1`).
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = host.strip_suffix('.').unwrap_or(host);
    name.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// A client certificate chain and private key, PEM-encoded (mutual TLS).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClientIdentity {
    /// The certificate chain, leaf first.
    pub cert_chain_pem: Vec<u8>,
    /// The private key.
    pub private_key_pem: Vec<u8>,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("ClientIdentity").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("TlsOptions");
        d.field("ca_certificates", &self.ca_certificates.len());
        d.field("insecure_skip_verify", &self.insecure_skip_verify);
        d.field("native_roots", &self.native_roots);
        d.field("client_identity", &self.client_identity.is_some());
        #[cfg(feature = "tls")]
        d.field("client_config", &self.client_config.is_some());
        d.finish()
    }
}

impl ConnectSettings {
    /// Settings for `url` with the defaults.
    pub fn new(url: &str) -> Result<Self, UrlError> {
        Ok(Self::from_url(WsUrl::parse(url)?))
    }

    /// Settings for an already parsed URL.
    pub fn from_url(url: WsUrl) -> Self {
        Self {
            proxy: ProxySetting::FromEnv,
            request: Request::new(url),
            config: Config::default(),
            connect_timeout: Duration::from_secs(6),
            tcp_nodelay: true,
            tls: TlsOptions::default(),
            http2: Http2::Off,
            http2_pool: Http2Pool::SHARED,
            pinned: Vec::new(),
        }
    }

    /// The URL.
    pub fn url(&self) -> &WsUrl {
        &self.request.url
    }

    /// Adds an extra request header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.request.headers.push((name.into(), value.into()));
        self
    }

    /// Offers a subprotocol.
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> Self {
        self.request.subprotocols.push(protocol.into());
        self
    }

    /// Replaces the limits and protocol timeouts.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Offers permessage-deflate (RFC 7692) with these options, or not (`None`, the default):
    /// [`Config::deflate`].
    pub fn deflate(mut self, deflate: Option<DeflateConfig>) -> Self {
        self.config.deflate = deflate;
        self
    }

    /// Pings every `interval` while open and fails the connection with
    /// [`Error::PongTimeout`](crate::Error::PongTimeout) when nothing arrives within
    /// `pong_timeout` of one ([`Config::ping_interval`]); `handle_disconnect` sees the reason.
    pub fn keepalive(mut self, interval: Duration, pong_timeout: Duration) -> Self {
        self.config.ping_interval = Some(interval);
        self.config.pong_timeout = pong_timeout;
        self
    }

    /// Fails the connection with [`Error::IdleTimeout`](crate::Error::IdleTimeout) when no frame
    /// arrives for `timeout` while open ([`Config::idle_timeout`]).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = Some(timeout);
        self
    }

    /// Connects through this proxy (HTTP CONNECT or SOCKS5), whatever the environment says.
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = ProxySetting::Explicit(Box::new(proxy));
        self
    }

    /// Never uses a proxy, whatever the environment says.
    pub fn no_proxy(mut self) -> Self {
        self.proxy = ProxySetting::None;
        self
    }

    /// The proxy to connect through, if any: the one set, or by default the environment's
    /// (`http_proxy`, `https_proxy`, `all_proxy`, `no_proxy`, as curl reads them; see
    /// [`Proxy::from_env`]). Loopback hosts are never proxied through the environment.
    pub fn proxy_for_connect(&self) -> Result<Option<Proxy>, Error> {
        match &self.proxy {
            ProxySetting::Explicit(proxy) => Ok(Some(Proxy::clone(proxy))),
            ProxySetting::None => Ok(None),
            ProxySetting::FromEnv if is_loopback(self.url().host()) => Ok(None),
            ProxySetting::FromEnv => Ok(Proxy::from_env(self.url(), |name| std::env::var(name).ok())?),
        }
    }

    /// Where the TCP connection goes: `(host, port, proxy)`, the proxy's address when there is
    /// one ([`proxy_for_connect`](Self::proxy_for_connect)), else the server's.
    pub fn first_hop(&self) -> Result<(String, u16, Option<Proxy>), Error> {
        let proxy = self.proxy_for_connect()?;
        let (host, port) = match &proxy {
            Some(proxy) => (proxy.host.clone(), proxy.port),
            None => (self.url().host().to_owned(), self.url().port()),
        };
        Ok((host, port, proxy))
    }

    /// Connects to `host` at these addresses instead of asking the resolver (like curl's
    /// `--resolve`): for pinning a server, or testing several addresses. It applies to the
    /// host the TCP connection goes to: the proxy's when there is one. With several addresses
    /// they are raced happy-eyeballs style, like a resolver's answer.
    pub fn resolve(mut self, host: impl Into<String>, addrs: impl IntoIterator<Item = std::net::IpAddr>) -> Self {
        let host = host.into().to_ascii_lowercase();
        self.pinned.retain(|(pinned, _)| *pinned != host);
        self.pinned.push((host, addrs.into_iter().collect()));
        self
    }

    /// The addresses given for `host` with [`resolve`](Self::resolve).
    pub(crate) fn pinned_addresses(&self, host: &str) -> Option<&[std::net::IpAddr]> {
        self.pinned
            .iter()
            .find(|(pinned, _)| pinned.eq_ignore_ascii_case(host))
            .map(|(_, addrs)| &addrs[..])
    }

    /// Sets the TCP connect timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets how long to wait for the handshake response (WebSockex's `socket_recv_timeout`).
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.config.handshake_timeout = timeout;
        self
    }

    /// Sets how long the server has to finish the close handshake.
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.config.close_timeout = timeout;
        self
    }

    /// Speaks HTTP/2 when the server does ([`Http2::Prefer`]), always ([`Http2::Require`]),
    /// or never ([`Http2::Off`], the default): WebSockets over HTTP/2 streams (RFC 8441), many
    /// clients of one origin sharing a connection ([`http2_pool`](Self::http2_pool)).
    pub fn http2(mut self, http2: Http2) -> Self {
        self.http2 = http2;
        self
    }

    /// Shares HTTP/2 connections within this pool only ([`Http2Pool::new`]), or not at all
    /// ([`Http2Pool::UNSHARED`]); by default every client of an origin shares.
    pub fn http2_pool(mut self, pool: Http2Pool) -> Self {
        self.http2_pool = pool;
        self
    }

    /// Sets `TCP_NODELAY`.
    pub fn tcp_nodelay(mut self, nodelay: bool) -> Self {
        self.tcp_nodelay = nodelay;
        self
    }

    /// Trusts an extra CA certificate (DER).
    pub fn ca_certificate(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.tls.ca_certificates.push(der.into());
        self
    }

    /// Presents this client certificate (PEM: the chain, leaf first) with its private key
    /// (PEM: PKCS#8, PKCS#1 or SEC1) to servers that ask for one (mutual TLS). Parse errors
    /// come back as [`Error::InvalidCertificate`](crate::Error::InvalidCertificate) when
    /// connecting.
    pub fn client_certificate_pem(mut self, cert_chain: impl Into<Vec<u8>>, private_key: impl Into<Vec<u8>>) -> Self {
        self.tls.client_identity = Some(ClientIdentity {
            cert_chain_pem: cert_chain.into(),
            private_key_pem: private_key.into(),
        });
        self
    }

    /// Trusts the operating system's certificate store (`rustls-native-certs`) instead of the
    /// bundled webpki roots.
    pub fn native_roots(mut self, native: bool) -> Self {
        self.tls.native_roots = native;
        self
    }

    /// Turns off certificate and hostname verification. Named loudly on purpose.
    pub fn insecure_skip_verify(mut self, insecure: bool) -> Self {
        self.tls.insecure_skip_verify = insecure;
        self
    }

    /// Uses this rustls configuration for `wss://` as given.
    #[cfg(feature = "tls")]
    pub fn tls_client_config(mut self, config: std::sync::Arc<rustls::ClientConfig>) -> Self {
        self.tls.client_config = Some(config);
        self
    }
}

/// Anything a client can be started with: a URL string, a parsed [`WsUrl`] or full settings.
pub trait IntoConnectSettings {
    /// Converts, parsing the URL if needed.
    fn into_connect_settings(self) -> Result<ConnectSettings, UrlError>;
}

impl IntoConnectSettings for ConnectSettings {
    fn into_connect_settings(self) -> Result<ConnectSettings, UrlError> {
        Ok(self)
    }
}

impl IntoConnectSettings for WsUrl {
    fn into_connect_settings(self) -> Result<ConnectSettings, UrlError> {
        Ok(ConnectSettings::from_url(self))
    }
}

impl IntoConnectSettings for &str {
    fn into_connect_settings(self) -> Result<ConnectSettings, UrlError> {
        ConnectSettings::new(self)
    }
}

impl IntoConnectSettings for String {
    fn into_connect_settings(self) -> Result<ConnectSettings, UrlError> {
        ConnectSettings::new(&self)
    }
}

impl IntoConnectSettings for &String {
    fn into_connect_settings(self) -> Result<ConnectSettings, UrlError> {
        ConnectSettings::new(self)
    }
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn loopback_hosts_in_every_spelling() {
        for host in [
            "localhost",
            "LocalHost",
            "localhost.",
            "127.0.0.1",
            "127.9.8.7",
            "[::1]",
            "[::ffff:127.0.0.1]",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "localhost.example",
            "mylocalhost",
            "10.0.0.1",
            "[::ffff:10.0.0.1]",
            "[::2]",
            "0.0.0.0",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
