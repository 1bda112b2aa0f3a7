//! Mutual TLS: a local `wss://` echo server that requires a client certificate signed by its
//! CA. The client trusts that CA (`ca_certificate`) and presents its certificate and key
//! (`client_certificate_pem`); without them the server refuses the connection. The
//! certificates are made afresh at every run (rcgen).
//!
//! ```text
//! cargo run -p wsx-tokio --example client_certificate
//! ```

#[path = "support/echo_server.rs"]
#[allow(dead_code)] // its `serve` only: the TLS listener is below
mod echo_server;

use std::process::ExitCode;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use tokio::net::TcpListener;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, server::WebPkiClientVerifier, RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;
use wsx_tokio::{Client, ConnectSettings, Context, Frame, Handler, Reply};

/// Prints the echo and closes.
struct OneEcho;

impl Handler for OneEcho {
    type Cast = ();
    type Info = ();

    fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        println!("echo: {frame:?}");
        Reply::Close
    }
}

/// What the server and the client need: the CA, the server's config, the client's PEM files.
struct Pki {
    ca_der: Vec<u8>,
    server: ServerConfig,
    client_cert_pem: String,
    client_key_pem: String,
}

fn make_pki() -> Result<Pki, Box<dyn std::error::Error>> {
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca.self_signed(&ca_key)?;
    // A leaf signed by the CA, for `names`, used for `usage`.
    let leaf = |names: &[&str], usage| -> Result<_, rcgen::Error> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())?;
        params.extended_key_usages = vec![usage];
        Ok((params.signed_by(&key, &ca, &ca_key)?, key))
    };
    let (server_cert, server_key) = leaf(&["localhost"], ExtendedKeyUsagePurpose::ServerAuth)?;
    let (client_cert, client_key) = leaf(&["example client"], ExtendedKeyUsagePurpose::ClientAuth)?;

    // The server trusts client certificates signed by the same CA, and requires one.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut client_roots = RootCertStore::empty();
    client_roots.add(ca.der().clone())?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(client_roots), provider.clone()).build()?;
    let server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![CertificateDer::from(server_cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        )?;
    Ok(Pki {
        ca_der: ca.der().to_vec(),
        server,
        client_cert_pem: client_cert.pem(),
        client_key_pem: client_key.serialize_pem(),
    })
}

/// A TLS echo server for `localhost`; returns its URL.
async fn start_server(config: ServerConfig) -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("wss://localhost:{}/", listener.local_addr()?.port());
    let acceptor = TlsAcceptor::from(Arc::new(config));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                match acceptor.accept(tcp).await {
                    Ok(tls) => echo_server::serve(tls).await,
                    Err(e) => println!("server: refused a TLS client: {e}"),
                }
            });
        }
    });
    Ok(url)
}

#[tokio::main]
async fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let pki = make_pki()?;
    let url = start_server(pki.server).await?;

    // Without a client certificate: the server ends the TLS handshake.
    let anonymous = ConnectSettings::new(&url)?.ca_certificate(pki.ca_der.clone());
    let refused = Client::start(anonymous, OneEcho).await;
    match &refused {
        Err(e) => println!("without a client certificate: {e}"),
        Ok(_) => println!("without a client certificate: connected (unexpected)"),
    }

    // With it.
    let settings = ConnectSettings::new(&url)?
        .ca_certificate(pki.ca_der) // trust the server's CA (DER), besides the webpki roots
        .client_certificate_pem(pki.client_cert_pem, pki.client_key_pem);
    let client = Client::start(settings, OneEcho).await?;
    client.send_frame(Frame::text("hello over mutual TLS")).await?;
    let reason = client.wait().await;
    println!("closed: {reason}");
    Ok(if refused.is_err() && reason.is_normal() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
