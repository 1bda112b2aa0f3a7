//! Opening a transport, decided once for every driver: where the TCP connection goes (the
//! server, or a proxy), the name lookup unless the addresses are known, the happy-eyeballs
//! race ([`DialPlan`]), the proxy's tunnel exchange, and whether TLS follows, all within the
//! connect timeout. A driver follows [`Opening::next`] and only makes the system calls each
//! step names (resolve, connect, write, read, TLS), reporting back how each went.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::session::dial::{no_addresses, Destination, DialPlan, DialStep};
use crate::session::proxy::{ProxyHandshake, ProxyStep};
use crate::session::settings::ConnectSettings;

/// What a driver does next to open the transport, from [`Opening::next`].
#[derive(Debug)]
pub enum OpenStep<'a> {
    /// Resolve this host name with the system resolver, then call
    /// [`resolved`](Opening::resolved).
    Resolve {
        /// The name.
        host: &'a str,
        /// The port the addresses get.
        port: u16,
    },
    /// Start a TCP connection attempt to this address (earlier ones may still be pending).
    /// Report a failure with [`attempt_failed`](Opening::attempt_failed), and the first
    /// attempt that connects with [`connected`](Opening::connected) (then drop the others).
    Attempt(SocketAddr),
    /// Wait for a pending attempt to finish, or until this instant (the next attempt is due
    /// then), and ask again. `None`: only the pending attempts' outcome is awaited (within the
    /// [deadline](Opening::deadline)).
    Wait(Option<Instant>),
    /// Write all of these bytes to the socket (the proxy's tunnel request), then call
    /// [`written`](Opening::written).
    Write(&'a [u8]),
    /// Read once, at most this many bytes, and hand them to [`received`](Opening::received)
    /// (none: end of stream).
    Read(usize),
    /// Run the TLS handshake over the socket with this configuration and server name; the
    /// transport is open once it completes.
    #[cfg(feature = "tls")]
    Tls {
        /// The rustls configuration ([`TlsOptions`](crate::tls::TlsOptions) made concrete),
        /// offering `h2` in ALPN when the settings ask for HTTP/2
        /// ([`Http2`](crate::http2::Http2)); the driver reads what the server chose.
        config: std::sync::Arc<rustls::ClientConfig>,
        /// The name the server's certificate must have.
        name: rustls::pki_types::ServerName<'static>,
    },
    /// The socket is the transport: open.
    Open,
}

/// How far away the deadline of a connect timeout too large for the clock is: a century.
const NO_DEADLINE: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

#[derive(Debug)]
enum Stage {
    Resolve {
        host: String,
        port: u16,
    },
    Dial(DialPlan<io::Error>),
    Tunnel {
        handshake: Box<ProxyHandshake>,
        request: Vec<u8>,
    },
    Secure,
    Open,
}

/// How one transport opens (see the module docs); made for each connect attempt of a
/// session, from its [`ConnectSettings`] (borrowed: an opening lives while it connects).
#[derive(Debug)]
pub struct Opening<'s> {
    stage: Stage,
    /// The tunnel to open once connected, if the first hop is a proxy.
    tunnel: Option<Box<ProxyHandshake>>,
    secure: bool,
    tcp_nodelay: bool,
    deadline: Instant,
    settings: &'s ConnectSettings,
}

impl<'s> Opening<'s> {
    /// The plan for `settings`, with the connect timeout counted from `now`. Fails if the
    /// proxy settings are unusable.
    pub fn new(settings: &'s ConnectSettings, now: Instant) -> Result<Self, Error> {
        let (host, port, proxy) = settings.first_hop()?;
        let url = settings.url();
        let stage = match settings.destination(&host, port) {
            Destination::Addresses(addrs) => Stage::Dial(DialPlan::new(addrs)),
            Destination::Lookup(host, port) => Stage::Resolve { host, port },
        };
        Ok(Self {
            stage,
            tunnel: proxy.map(|proxy| Box::new(ProxyHandshake::new(&proxy, url.host(), url.port()))),
            secure: url.is_secure(),
            tcp_nodelay: settings.tcp_nodelay,
            // A timeout too large for the clock means none.
            deadline: now + settings.connect_timeout.min(NO_DEADLINE),
            settings,
        })
    }

    /// When the connect timeout runs out: every step must be done by then.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the connected socket gets `TCP_NODELAY`.
    pub fn tcp_nodelay(&self) -> bool {
        self.tcp_nodelay
    }

    /// What to do at `now`. Fails with [`Error::ConnectTimeout`] once the deadline passed,
    /// or with why the transport cannot open.
    pub fn next(&mut self, now: Instant) -> Result<OpenStep<'_>, Error> {
        if now >= self.deadline && !matches!(self.stage, Stage::Open) {
            return Err(Error::ConnectTimeout);
        }
        if let Stage::Tunnel { handshake, request } = &mut self.stage {
            if request.is_empty() {
                match handshake.step()? {
                    ProxyStep::Write(bytes) => *request = bytes,
                    ProxyStep::Read(n) => return Ok(OpenStep::Read(n)),
                    ProxyStep::Done => self.stage = self.after_tunnel(),
                }
            }
        }
        if let Stage::Secure = self.stage {
            return self.tls_step();
        }
        match &mut self.stage {
            Stage::Resolve { host, port } => Ok(OpenStep::Resolve { host, port: *port }),
            Stage::Dial(plan) => match plan.next(now) {
                DialStep::Attempt(addr) => Ok(OpenStep::Attempt(addr)),
                DialStep::Wait(until) => Ok(OpenStep::Wait(until.filter(|at| *at < self.deadline))),
                // An attempt the system timed out did not connect in time, as ours would not.
                DialStep::Failed(Some(e)) if e.kind() == io::ErrorKind::TimedOut => Err(Error::ConnectTimeout),
                DialStep::Failed(error) => Err(error.unwrap_or_else(no_addresses).into()),
            },
            Stage::Tunnel { request, .. } => Ok(OpenStep::Write(request)),
            Stage::Secure | Stage::Open => Ok(OpenStep::Open),
        }
    }

    #[cfg(feature = "tls")]
    fn tls_step(&self) -> Result<OpenStep<'_>, Error> {
        let mut config = crate::session::tls::client_config(&self.settings.tls)?;
        // ALPN: what HTTP/2 asks for; with it off, the configuration as it is.
        let alpn: &[&[u8]] = match self.settings.http2 {
            crate::http2::Http2::Off => &[],
            crate::http2::Http2::Prefer => &[b"h2", b"http/1.1"],
            crate::http2::Http2::Require => &[b"h2"],
        };
        if !alpn.is_empty() {
            std::sync::Arc::make_mut(&mut config).alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        }
        Ok(OpenStep::Tls {
            config,
            name: crate::session::tls::server_name(self.settings.url().host())?,
        })
    }

    #[cfg(not(feature = "tls"))]
    fn tls_step(&self) -> Result<OpenStep<'_>, Error> {
        let _ = &self.settings;
        Err(io::Error::new(io::ErrorKind::Unsupported, "wss:// needs wsx-proto's `tls` feature").into())
    }

    /// The name lookup of [`OpenStep::Resolve`] finished.
    pub fn resolved(&mut self, addrs: io::Result<Vec<SocketAddr>>) -> Result<(), Error> {
        if let Stage::Resolve { .. } = self.stage {
            self.stage = Stage::Dial(DialPlan::new(addrs?));
        }
        Ok(())
    }

    /// A connection attempt of [`OpenStep::Attempt`] failed.
    pub fn attempt_failed(&mut self, error: io::Error) {
        if let Stage::Dial(plan) = &mut self.stage {
            plan.failed(error);
        }
    }

    /// Whether the attempt [`OpenStep::Attempt`] just named is the only one the race will
    /// have (no other pending, none to come): a driver may then connect on its own thread.
    pub fn attempt_is_alone(&self) -> bool {
        matches!(&self.stage, Stage::Dial(plan) if plan.is_alone())
    }

    /// An attempt connected: the race is over (drop the other attempts).
    pub fn connected(&mut self) {
        if let Stage::Dial(_) = self.stage {
            self.stage = match self.tunnel.take() {
                Some(handshake) => Stage::Tunnel {
                    handshake,
                    request: Vec::new(),
                },
                None => self.after_tunnel(),
            };
        }
    }

    /// The bytes of [`OpenStep::Write`] were written.
    pub fn written(&mut self) {
        if let Stage::Tunnel { request, .. } = &mut self.stage {
            request.clear();
        }
    }

    /// The bytes an [`OpenStep::Read`] got (empty: the proxy closed the connection).
    pub fn received(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if let Stage::Tunnel { handshake, .. } = &mut self.stage {
            handshake.receive(bytes)?;
        }
        Ok(())
    }

    fn after_tunnel(&self) -> Stage {
        if self.secure {
            Stage::Secure
        } else {
            Stage::Open
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_name_is_resolved_then_raced_then_open() {
        let t0 = Instant::now();
        let settings = ConnectSettings::new("ws://example.test:9000/").unwrap();
        let mut opening = Opening::new(&settings, t0).unwrap();
        assert!(matches!(
            opening.next(t0),
            Ok(OpenStep::Resolve {
                host: "example.test",
                port: 9000
            })
        ));
        opening
            .resolved(Ok(vec![addr("10.0.0.1:9000"), addr("[::1]:9000")]))
            .unwrap();
        assert!(matches!(opening.next(t0), Ok(OpenStep::Attempt(a)) if a == addr("10.0.0.1:9000")));
        assert!(matches!(opening.next(t0), Ok(OpenStep::Wait(_))));
        opening.attempt_failed(io::ErrorKind::ConnectionRefused.into());
        assert!(matches!(opening.next(t0), Ok(OpenStep::Attempt(a)) if a == addr("[::1]:9000")));
        opening.connected();
        assert!(matches!(opening.next(t0), Ok(OpenStep::Open)));
    }

    #[test]
    fn every_attempt_failing_fails_with_the_last_error() {
        let t0 = Instant::now();
        let settings = ConnectSettings::new("ws://127.0.0.1:9/").unwrap();
        let mut opening = Opening::new(&settings, t0).unwrap();
        assert!(matches!(opening.next(t0), Ok(OpenStep::Attempt(_))));
        opening.attempt_failed(io::ErrorKind::ConnectionRefused.into());
        let Err(Error::Io(e)) = opening.next(t0) else {
            panic!("the attempt's error")
        };
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
        let mut nothing = Opening::new(&settings, t0).unwrap();
        nothing.stage = Stage::Resolve {
            host: "x".into(),
            port: 1,
        };
        nothing.resolved(Ok(Vec::new())).unwrap();
        assert!(matches!(nothing.next(t0), Err(Error::Io(e)) if e.kind() == io::ErrorKind::NotFound));
    }

    #[test]
    fn the_connect_timeout_bounds_every_step() {
        let t0 = Instant::now();
        let settings = ConnectSettings::new("ws://example.test/")
            .unwrap()
            .connect_timeout(Duration::from_secs(2));
        let mut opening = Opening::new(&settings, t0).unwrap();
        assert_eq!(opening.deadline(), t0 + Duration::from_secs(2));
        opening.resolved(Ok(vec![addr("10.0.0.1:80")])).unwrap();
        assert!(matches!(opening.next(t0), Ok(OpenStep::Attempt(_))));
        assert!(
            matches!(opening.next(t0), Ok(OpenStep::Wait(None))),
            "one address: wait for it (within the deadline)"
        );
        assert!(matches!(
            opening.next(t0 + Duration::from_secs(2)),
            Err(Error::ConnectTimeout)
        ));
    }

    #[test]
    fn a_timeout_too_large_for_the_clock_is_none() {
        let t0 = Instant::now();
        let settings = ConnectSettings::new("ws://127.0.0.1:9/")
            .unwrap()
            .connect_timeout(Duration::MAX);
        let mut opening = Opening::new(&settings, t0).unwrap();
        assert!(opening.deadline() > t0 + Duration::from_secs(365 * 24 * 60 * 60));
        assert!(matches!(opening.next(t0), Ok(OpenStep::Attempt(_))));
    }

    #[test]
    fn an_attempt_the_system_timed_out_is_a_connect_timeout() {
        let t0 = Instant::now();
        let settings = ConnectSettings::new("ws://127.0.0.1:9/").unwrap();
        let mut opening = Opening::new(&settings, t0).unwrap();
        assert!(matches!(opening.next(t0), Ok(OpenStep::Attempt(_))));
        opening.attempt_failed(io::ErrorKind::TimedOut.into());
        assert!(matches!(opening.next(t0), Err(Error::ConnectTimeout)));
    }

    #[test]
    fn a_proxy_tunnel_runs_after_the_race_and_tls_after_the_tunnel() {
        let t0 = Instant::now();
        let proxy = crate::proxy::Proxy::parse("http://127.0.0.1:3128").unwrap();
        let settings = ConnectSettings::new("wss://example.test/").unwrap().proxy(proxy);
        let mut opening = Opening::new(&settings, t0).unwrap();
        assert!(
            matches!(opening.next(t0), Ok(OpenStep::Attempt(a)) if a == addr("127.0.0.1:3128")),
            "the TCP connection goes to the proxy"
        );
        opening.connected();
        let Ok(OpenStep::Write(request)) = opening.next(t0) else {
            panic!("the CONNECT request")
        };
        assert!(request.starts_with(b"CONNECT example.test:443 HTTP/1.1\r\n"));
        opening.written();
        let Ok(OpenStep::Read(_)) = opening.next(t0) else {
            panic!("the proxy's answer")
        };
        opening
            .received(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .unwrap();
        #[cfg(feature = "tls")]
        assert!(matches!(opening.next(t0), Ok(OpenStep::Tls { .. })));
        #[cfg(not(feature = "tls"))]
        assert!(opening.next(t0).is_err());
    }

    #[test]
    fn a_proxy_refusing_the_tunnel_fails_the_open() {
        let t0 = Instant::now();
        let proxy = crate::proxy::Proxy::parse("http://127.0.0.1:3128").unwrap();
        let settings = ConnectSettings::new("ws://example.test/").unwrap().proxy(proxy);
        let mut opening = Opening::new(&settings, t0).unwrap();
        opening.next(t0).unwrap();
        opening.connected();
        opening.next(t0).unwrap();
        opening.written();
        opening.next(t0).unwrap();
        let refused = opening.received(b"HTTP/1.1 403 Forbidden\r\n\r\n");
        assert!(
            matches!(refused, Err(Error::Proxy(_))) || matches!(opening.next(t0), Err(Error::Proxy(_))),
            "a refusal is a proxy error"
        );
    }
}
