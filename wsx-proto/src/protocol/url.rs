//! WebSocket URLs: `ws://` and `wss://` only (RFC 6455 section 3).

use std::fmt;
use std::str::FromStr;

use super::error::UrlError;

/// A parsed `ws://` or `wss://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsUrl {
    url: url::Url,
    host: String,
    port: u16,
}

impl WsUrl {
    /// Parses and checks a WebSocket URL.
    ///
    /// ```
    /// let url = wsx_proto::WsUrl::parse("wss://example.com/chat?room=1").unwrap();
    /// assert_eq!((url.host(), url.port(), url.resource()), ("example.com", 443, "/chat?room=1"));
    /// assert!(wsx_proto::WsUrl::parse("http://example.com").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, UrlError> {
        let url = url::Url::parse(text).map_err(UrlError::Parse)?;
        if !matches!(url.scheme(), "ws" | "wss") {
            return Err(UrlError::UnsupportedScheme(url.scheme().to_owned()));
        }
        if url.fragment().is_some() {
            return Err(UrlError::Fragment);
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(UrlError::MissingHost),
        };
        let port = url.port_or_known_default().ok_or(UrlError::MissingHost)?;
        Ok(Self { url, host, port })
    }

    /// True for `wss://`.
    pub fn is_secure(&self) -> bool {
        self.url.scheme() == "wss"
    }

    /// The host to connect to and to name in TLS: a DNS name or an IP address without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, defaulting to 80 for `ws` and 443 for `wss`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The request target: path and query, `/` when the path is empty.
    pub fn resource(&self) -> &str {
        &self.url[url::Position::BeforePath..url::Position::AfterQuery]
    }

    /// The `Host` header value: the host (IPv6 in brackets) and the port unless it is the default.
    pub fn host_header(&self) -> String {
        let host = self.url.host_str().unwrap_or(&self.host);
        match self.url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    /// The whole URL.
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }
}

impl FromStr for WsUrl {
    type Err = UrlError;
    fn from_str(s: &str) -> Result<Self, UrlError> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for WsUrl {
    type Error = UrlError;
    fn try_from(s: &str) -> Result<Self, UrlError> {
        Self::parse(s)
    }
}

impl fmt::Display for WsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_parts() {
        let u = WsUrl::parse("ws://example.com").unwrap();
        assert_eq!(
            (u.host(), u.port(), u.resource(), u.host_header(), u.is_secure()),
            ("example.com", 80, "/", "example.com".into(), false)
        );
        let u = WsUrl::parse("wss://Example.COM:8443/a/b?x=1&y=2").unwrap();
        assert_eq!(
            (u.host(), u.port(), u.resource(), u.host_header(), u.is_secure()),
            ("example.com", 8443, "/a/b?x=1&y=2", "example.com:8443".into(), true)
        );
        let u = WsUrl::parse("wss://example.com:443/").unwrap();
        assert_eq!(u.host_header(), "example.com");
    }

    #[test]
    fn ip_literals() {
        let u = WsUrl::parse("ws://127.0.0.1:9001/x").unwrap();
        assert_eq!(
            (u.host(), u.port(), u.host_header()),
            ("127.0.0.1", 9001, "127.0.0.1:9001".into())
        );
        let u = WsUrl::parse("ws://[::1]:9001/?q").unwrap();
        assert_eq!(
            (u.host(), u.resource(), u.host_header()),
            ("::1", "/?q", "[::1]:9001".into())
        );
        let u = WsUrl::parse("wss://[2001:db8::1]").unwrap();
        assert_eq!(
            (u.host(), u.port(), u.host_header()),
            ("2001:db8::1", 443, "[2001:db8::1]".into())
        );
    }

    #[test]
    fn rejects() {
        assert_eq!(
            WsUrl::parse("http://example.com"),
            Err(UrlError::UnsupportedScheme("http".into()))
        );
        assert_eq!(WsUrl::parse("ws://example.com/#frag"), Err(UrlError::Fragment));
        assert!(matches!(WsUrl::parse("not a url"), Err(UrlError::Parse(_))));
        assert!(matches!(
            WsUrl::parse("ws://"),
            Err(UrlError::Parse(_) | UrlError::MissingHost)
        ));
        assert!(matches!(WsUrl::parse("ws://[::1"), Err(UrlError::Parse(_))));
    }
}
