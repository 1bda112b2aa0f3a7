//! Certificates made for one test run (a CA and a `localhost` leaf it signed), and the
//! server-side TLS stream of the test server.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// A fresh CA and a server certificate for `localhost` signed by it.
#[derive(Clone)]
pub struct TestPki {
    /// The CA certificate (DER), to trust in the client.
    pub ca_der: Vec<u8>,
    /// The same CA certificate, PEM-encoded (for a file a client reads).
    pub ca_pem: String,
    pub(crate) server_config: Arc<ServerConfig>,
    /// The `localhost` certificate and its key, PEM-encoded, for servers started as programs.
    pub(crate) leaf_pem: (String, String),
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki").finish_non_exhaustive()
    }
}

/// A client certificate and its key, PEM-encoded, for mutual TLS.
#[derive(Debug, Clone)]
pub struct ClientPem {
    /// The certificate.
    pub cert: String,
    /// Its private key (PKCS#8).
    pub key: String,
}

/// A certificate with its key.
type Signed = (rcgen::Certificate, KeyPair);

fn make_ca(name: &str) -> Signed {
    let key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, name);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    (ca.self_signed(&key).expect("CA certificate"), key)
}

fn make_leaf(names: Vec<String>, usage: ExtendedKeyUsagePurpose, ca: &Signed) -> Signed {
    let key = KeyPair::generate().expect("leaf key");
    let mut leaf = CertificateParams::new(names).expect("leaf params");
    leaf.distinguished_name.push(DnType::CommonName, "wsx test leaf");
    leaf.extended_key_usages = vec![usage];
    (leaf.signed_by(&key, &ca.0, &ca.1).expect("leaf certificate"), key)
}

impl TestPki {
    /// The server's rustls configuration: the `localhost` certificate (and the client
    /// certificate check, if made by [`requiring_client_certificates`](Self::requiring_client_certificates)).
    pub fn server_config(&self) -> Arc<ServerConfig> {
        self.server_config.clone()
    }

    /// Makes the CA and the `localhost` certificate.
    pub fn new() -> Self {
        Self::build(None)
    }

    /// Like [`new`](Self::new), but the server requires a client certificate signed by its
    /// CA: returns one that is (`trusted`), and one signed by another CA (`stranger`).
    pub fn requiring_client_certificates() -> (Self, ClientPem, ClientPem) {
        let stranger_ca = make_ca("stranger CA");
        let stranger = make_leaf(vec!["client".into()], ExtendedKeyUsagePurpose::ClientAuth, &stranger_ca);
        let mut trusted = None;
        let pki = Self::build(Some(&mut |ca| {
            let leaf = make_leaf(vec!["client".into()], ExtendedKeyUsagePurpose::ClientAuth, ca);
            trusted = Some(ClientPem {
                cert: leaf.0.pem(),
                key: leaf.1.serialize_pem(),
            });
        }));
        let stranger = ClientPem {
            cert: stranger.0.pem(),
            key: stranger.1.serialize_pem(),
        };
        (pki, trusted.expect("client certificate made"), stranger)
    }

    /// The PKI; with `client_ca`, the server requires client certificates signed by the CA,
    /// and `client_ca` is given the CA to sign one.
    fn build(client_ca: Option<&mut dyn FnMut(&Signed)>) -> Self {
        let ca = make_ca("wsx test CA");
        let (cert, key) = make_leaf(vec!["localhost".to_owned()], ExtendedKeyUsagePurpose::ServerAuth, &ca);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("TLS versions");
        let builder = match client_ca {
            None => builder.with_no_client_auth(),
            Some(sign_client) => {
                sign_client(&ca);
                let mut roots = rustls::RootCertStore::empty();
                roots.add(CertificateDer::from(ca.0.der().to_vec())).expect("client CA");
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .expect("client verifier");
                builder.with_client_cert_verifier(verifier)
            }
        };
        let server_config = builder
            .with_single_cert(
                vec![CertificateDer::from(cert.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .expect("server TLS config");
        Self {
            ca_der: ca.0.der().to_vec(),
            ca_pem: ca.0.pem(),
            server_config: Arc::new(server_config),
            leaf_pem: (cert.pem(), key.serialize_pem()),
        }
    }
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}

/// The test server's socket: plain, or TLS terminated in the server thread.
pub(crate) enum Transport {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
    /// Reset by the server ([`Transport::reset`]): reads see EOF, writes fail.
    Reset,
}

impl Transport {
    pub(crate) fn new(tcp: TcpStream, tls: Option<&Arc<ServerConfig>>) -> io::Result<Self> {
        Ok(match tls {
            None => Self::Plain(tcp),
            Some(config) => {
                let session = ServerConnection::new(config.clone()).map_err(io::Error::other)?;
                Self::Tls(Box::new(StreamOwned::new(session, tcp)))
            }
        })
    }

    /// The TCP socket, unless it was reset.
    pub(crate) fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Self::Plain(tcp) => Some(tcp),
            Self::Tls(tls) => Some(&tls.sock),
            Self::Reset => None,
        }
    }

    /// Half- or fully closes the connection (TLS: close_notify first).
    pub(crate) fn shutdown(&mut self, how: Shutdown) {
        if let Self::Tls(tls) = self {
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
        if let Some(tcp) = self.tcp() {
            let _ = tcp.shutdown(how);
        }
    }

    /// Aborts the connection: with `SO_LINGER` 0, closing the socket sends a TCP reset (RST)
    /// instead of a FIN, and drops whatever was not sent yet. No TLS close_notify.
    pub(crate) fn reset(&mut self) {
        if let Some(tcp) = self.tcp() {
            let _ = socket2::SockRef::from(tcp).set_linger(Some(Duration::ZERO));
        }
        // Dropping the socket closes it, now.
        *self = Self::Reset;
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(tcp) => tcp.read(buf),
            Self::Tls(tls) => tls.read(buf),
            Self::Reset => Ok(0),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(tcp) => tcp.write(buf),
            Self::Tls(tls) => tls.write(buf),
            Self::Reset => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(tcp) => tcp.flush(),
            Self::Tls(tls) => tls.flush(),
            Self::Reset => Ok(()),
        }
    }
}
