//! Proxies: HTTP CONNECT (with basic auth) and SOCKS5 (with username and password, names
//! resolved by the proxy), chosen explicitly or from the environment the way curl reads it.
//! The tunnel is opened sans-IO: [`ProxyHandshake`] says what to write and what it needs to
//! read; the adapter moves the bytes, then speaks TLS and WebSocket through the tunnel.

use std::fmt;

use base64::Engine as _;

use crate::protocol::url::WsUrl;

/// How to reach the server through a proxy.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    /// HTTP CONNECT or SOCKS5.
    pub kind: ProxyKind,
    /// The proxy's host.
    pub host: String,
    /// The proxy's port.
    pub port: u16,
    /// Username and password, if the proxy wants them.
    pub auth: Option<(String, String)>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the password.
        f.debug_struct("Proxy")
            .field("kind", &self.kind)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("auth", &self.auth.as_ref().map(|(user, _)| user))
            .finish()
    }
}

/// The proxy protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    /// `CONNECT host:port` (RFC 9110 9.3.6), `http://` proxies.
    HttpConnect,
    /// SOCKS5 (RFC 1928, 1929), `socks5://` and `socks5h://` proxies; the proxy resolves the
    /// name either way.
    Socks5,
}

impl Proxy {
    /// Parses `http://[user:pass@]host[:port]` (port 1080 by default, like curl),
    /// `socks5://…` or `socks5h://…` (port 1080). A URL without a scheme is HTTP.
    pub fn parse(text: &str) -> Result<Self, ProxyError> {
        let with_scheme = if text.contains("://") {
            text.to_owned()
        } else {
            format!("http://{text}")
        };
        let url = url::Url::parse(&with_scheme).map_err(|e| ProxyError::InvalidUrl(format!("{text}: {e}")))?;
        let kind = match url.scheme() {
            "http" => ProxyKind::HttpConnect,
            "socks5" | "socks5h" => ProxyKind::Socks5,
            other => return Err(ProxyError::InvalidUrl(format!("{text}: unsupported scheme {other}"))),
        };
        let host = url
            .host_str()
            .ok_or_else(|| ProxyError::InvalidUrl(format!("{text}: no host")))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let decode =
            |s: &str| percent_decode(s).ok_or_else(|| ProxyError::InvalidUrl(format!("{text}: bad percent-encoding")));
        let auth = match (url.username(), url.password()) {
            ("", None) => None,
            (user, password) => Some((decode(user)?, decode(password.unwrap_or(""))?)),
        };
        Ok(Self {
            kind,
            host,
            port: url.port().unwrap_or(1080),
            auth,
        })
    }

    /// The proxy the environment names for `url`, as curl picks it: `http_proxy` (lowercase
    /// only, as curl reads it) for `ws://`, `https_proxy`/`HTTPS_PROXY` for `wss://`, else
    /// `all_proxy`/`ALL_PROXY`; none when `no_proxy`/`NO_PROXY` matches the host (`*`, the
    /// host, or a domain it is in). `env` reads a variable (`std::env::var` in practice).
    pub fn from_env(url: &WsUrl, env: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, ProxyError> {
        let var = |names: &[&str]| names.iter().find_map(|n| env(n).filter(|v| !v.trim().is_empty()));
        if let Some(no_proxy) = var(&["no_proxy", "NO_PROXY"]) {
            if no_proxy_matches(&no_proxy, url.host()) {
                return Ok(None);
            }
        }
        let scheme_var = if url.is_secure() {
            var(&["https_proxy", "HTTPS_PROXY"])
        } else {
            var(&["http_proxy"])
        };
        scheme_var
            .or_else(|| var(&["all_proxy", "ALL_PROXY"]))
            .map(|text| Self::parse(text.trim()))
            .transpose()
    }
}

/// Whether a `no_proxy` list names `host`.
fn no_proxy_matches(list: &str, host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    list.split(',').map(str::trim).filter(|e| !e.is_empty()).any(|entry| {
        if entry == "*" {
            return true;
        }
        let entry = entry.trim_start_matches('.').to_ascii_lowercase();
        // `host:port` entries name the host; the port is not compared.
        let entry = match entry.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !name.contains(':') => name.to_owned(),
            _ => entry,
        };
        host == entry || host.ends_with(&format!(".{entry}"))
    })
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Why the tunnel through the proxy could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyError {
    /// The proxy URL is unusable.
    InvalidUrl(String),
    /// The HTTP proxy wants credentials, or refused the ones given (407).
    AuthenticationRequired,
    /// The HTTP proxy answered CONNECT with another status.
    Refused {
        /// The HTTP status.
        status: u16,
        /// Its reason phrase.
        reason: String,
    },
    /// The SOCKS5 proxy accepts none of the methods offered (no auth, or username and
    /// password when credentials are set).
    NoAcceptableAuthMethod,
    /// The SOCKS5 proxy refused the username and password.
    AuthenticationFailed,
    /// The SOCKS5 proxy could not connect (RFC 1928 6: 1 general failure, 2 not allowed,
    /// 3 network unreachable, 4 host unreachable, 5 connection refused, 6 TTL expired,
    /// 7 command not supported, 8 address type not supported).
    SocksReply(u8),
    /// The proxy's answer is not what its protocol allows.
    Malformed(String),
    /// The proxy closed the connection before the tunnel was open.
    Closed,
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl(e) => write!(f, "invalid proxy URL {e}"),
            Self::AuthenticationRequired => f.write_str("the proxy requires authentication (407)"),
            Self::Refused { status, reason } => write!(f, "the proxy refused the tunnel: {status} {reason}"),
            Self::NoAcceptableAuthMethod => f.write_str("the SOCKS5 proxy accepts none of the offered methods"),
            Self::AuthenticationFailed => f.write_str("the SOCKS5 proxy refused the username and password"),
            Self::SocksReply(code) => write!(f, "the SOCKS5 proxy could not connect (reply {code})"),
            Self::Malformed(e) => write!(f, "malformed proxy answer: {e}"),
            Self::Closed => f.write_str("the proxy closed the connection before the tunnel was open"),
        }
    }
}

impl std::error::Error for ProxyError {}

/// What the tunnel handshake needs next.
#[derive(Debug, PartialEq, Eq)]
pub enum ProxyStep {
    /// Write these bytes, then ask again.
    Write(Vec<u8>),
    /// Read (at most this many bytes: never past the proxy's answer), feed them to
    /// [`ProxyHandshake::receive`], then ask again.
    Read(usize),
    /// The tunnel is open: speak to the server.
    Done,
}

#[derive(Debug)]
enum Stage {
    HttpRequest,
    HttpResponse,
    SocksGreeting,
    SocksMethod,
    SocksAuth,
    SocksAuthReply,
    SocksConnect,
    /// The fixed part of the connect reply (5 bytes: up to the address length or first byte).
    SocksReplyHead,
    /// The rest of the reply: this many bytes.
    SocksReplyTail(usize),
    Done,
}

/// The client side of opening a tunnel through `proxy` to `host:port`, sans-IO.
#[derive(Debug)]
pub struct ProxyHandshake {
    proxy: Proxy,
    target: (String, u16),
    stage: Stage,
    received: Vec<u8>,
}

/// Longest HTTP CONNECT answer header accepted.
const MAX_HTTP_ANSWER: usize = 16 << 10;

impl ProxyHandshake {
    /// Starts the handshake for a tunnel to `host:port`.
    pub fn new(proxy: &Proxy, host: &str, port: u16) -> Self {
        let stage = match proxy.kind {
            ProxyKind::HttpConnect => Stage::HttpRequest,
            ProxyKind::Socks5 => Stage::SocksGreeting,
        };
        Self {
            proxy: proxy.clone(),
            target: (host.trim_start_matches('[').trim_end_matches(']').to_owned(), port),
            stage,
            received: Vec::new(),
        }
    }

    fn authority(&self) -> String {
        let (host, port) = &self.target;
        if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        }
    }

    /// What to do next.
    pub fn step(&mut self) -> Result<ProxyStep, ProxyError> {
        let need = |have: usize, want: usize| ProxyStep::Read(want.saturating_sub(have).max(1));
        Ok(match self.stage {
            Stage::HttpRequest => {
                let authority = self.authority();
                let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
                if let Some((user, password)) = &self.proxy.auth {
                    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                    request.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
                }
                request.push_str("\r\n");
                self.stage = Stage::HttpResponse;
                ProxyStep::Write(request.into_bytes())
            }
            // One byte at a time would be slow only for a long header; 4 bytes always fit
            // before the end marker can complete.
            Stage::HttpResponse => ProxyStep::Read(1),
            Stage::SocksGreeting => {
                self.stage = Stage::SocksMethod;
                match self.proxy.auth {
                    None => ProxyStep::Write(vec![5, 1, 0]),
                    Some(_) => ProxyStep::Write(vec![5, 2, 0, 2]),
                }
            }
            Stage::SocksMethod => need(self.received.len(), 2),
            Stage::SocksAuth => {
                let (user, password) = self.proxy.auth.clone().unwrap_or_default();
                if user.len() > 255 || password.len() > 255 {
                    return Err(ProxyError::InvalidUrl(
                        "SOCKS5 username or password over 255 bytes".into(),
                    ));
                }
                let mut auth = vec![1, user.len() as u8];
                auth.extend_from_slice(user.as_bytes());
                auth.push(password.len() as u8);
                auth.extend_from_slice(password.as_bytes());
                self.stage = Stage::SocksAuthReply;
                ProxyStep::Write(auth)
            }
            Stage::SocksAuthReply => need(self.received.len(), 2),
            Stage::SocksConnect => {
                let (host, port) = &self.target;
                let mut request = vec![5, 1, 0];
                match host.parse::<std::net::IpAddr>() {
                    Ok(std::net::IpAddr::V4(ip)) => {
                        request.push(1);
                        request.extend_from_slice(&ip.octets());
                    }
                    Ok(std::net::IpAddr::V6(ip)) => {
                        request.push(4);
                        request.extend_from_slice(&ip.octets());
                    }
                    Err(_) if host.len() <= 255 => {
                        request.extend_from_slice(&[3, host.len() as u8]);
                        request.extend_from_slice(host.as_bytes());
                    }
                    Err(_) => return Err(ProxyError::InvalidUrl("host name over 255 bytes".into())),
                }
                request.extend_from_slice(&port.to_be_bytes());
                self.stage = Stage::SocksReplyHead;
                ProxyStep::Write(request)
            }
            Stage::SocksReplyHead => need(self.received.len(), 5),
            Stage::SocksReplyTail(n) => need(self.received.len(), n),
            Stage::Done => ProxyStep::Done,
        })
    }

    /// Bytes read from the proxy (never more than the last [`ProxyStep::Read`] asked for).
    pub fn receive(&mut self, bytes: &[u8]) -> Result<(), ProxyError> {
        if bytes.is_empty() {
            return Err(ProxyError::Closed);
        }
        self.received.extend_from_slice(bytes);
        match self.stage {
            Stage::HttpResponse => self.on_http_answer(),
            Stage::SocksMethod if self.received.len() >= 2 => {
                let method = self.take(2)[1];
                self.stage = match (method, &self.proxy.auth) {
                    (0, _) => Stage::SocksConnect,
                    (2, Some(_)) => Stage::SocksAuth,
                    (0xff, _) | (2, None) => return Err(ProxyError::NoAcceptableAuthMethod),
                    (other, _) => return Err(ProxyError::Malformed(format!("SOCKS5 method {other}"))),
                };
                Ok(())
            }
            Stage::SocksAuthReply if self.received.len() >= 2 => {
                match self.take(2)[1] {
                    0 => self.stage = Stage::SocksConnect,
                    _ => return Err(ProxyError::AuthenticationFailed),
                }
                Ok(())
            }
            Stage::SocksReplyHead if self.received.len() >= 5 => {
                let head = self.take(5);
                if head[0] != 5 {
                    return Err(ProxyError::Malformed(format!("SOCKS version {}", head[0])));
                }
                if head[1] != 0 {
                    return Err(ProxyError::SocksReply(head[1]));
                }
                // The bound address: IPv4 (4 + port), a name (length byte, read, + port) or IPv6.
                let rest = match head[3] {
                    1 => 4 + 2 - 1,
                    3 => head[4] as usize + 2,
                    4 => 16 + 2 - 1,
                    other => return Err(ProxyError::Malformed(format!("SOCKS5 address type {other}"))),
                };
                self.stage = Stage::SocksReplyTail(rest);
                Ok(())
            }
            Stage::SocksReplyTail(n) if self.received.len() >= n => {
                self.take(n);
                self.stage = Stage::Done;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        self.received.drain(..n).collect()
    }

    fn on_http_answer(&mut self) -> Result<(), ProxyError> {
        if !self.received.ends_with(b"\r\n\r\n") {
            if self.received.len() > MAX_HTTP_ANSWER {
                return Err(ProxyError::Malformed("answer header too large".into()));
            }
            return Ok(());
        }
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&self.received) {
            Ok(httparse::Status::Complete(_)) => {}
            Ok(httparse::Status::Partial) => return Ok(()),
            Err(e) => return Err(ProxyError::Malformed(e.to_string())),
        }
        match response.code {
            Some(200..=299) => {
                self.received.clear();
                self.stage = Stage::Done;
                Ok(())
            }
            Some(407) => Err(ProxyError::AuthenticationRequired),
            Some(status) => Err(ProxyError::Refused {
                status,
                reason: response.reason.unwrap_or("").to_owned(),
            }),
            None => Err(ProxyError::Malformed("no status".into())),
        }
    }
}

#[cfg(test)]
mod tests;
