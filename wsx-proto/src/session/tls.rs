//! rustls client configuration from [`TlsOptions`], shared by every adapter.
//! rustls is itself sans-IO; this module only builds its configuration.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::Error;
use crate::session::settings::TlsOptions;

/// The rustls configuration for `options`: the given one, or the trusted roots (webpki-roots,
/// or the OS store with `native_roots`) plus the extra CA certificates, or no verification at
/// all in insecure mode; with the client certificate if one is set.
pub fn client_config(options: &TlsOptions) -> Result<Arc<ClientConfig>, Error> {
    if let Some(config) = &options.client_config {
        return Ok(config.clone());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(invalid)?;
    let builder = if options.insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
    } else {
        builder.with_root_certificates(roots(options)?)
    };
    let config = match &options.client_identity {
        None => builder.with_no_client_auth(),
        Some(identity) => {
            let chain = CertificateDer::pem_slice_iter(&identity.cert_chain_pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Error::InvalidCertificate(format!("client certificate: {e}")))?;
            if chain.is_empty() {
                return Err(Error::InvalidCertificate(
                    "client certificate: no certificate in the PEM".into(),
                ));
            }
            let key = PrivateKeyDer::from_pem_slice(&identity.private_key_pem)
                .map_err(|e| Error::InvalidCertificate(format!("client key: {e}")))?;
            builder.with_client_auth_cert(chain, key).map_err(invalid)?
        }
    };
    Ok(Arc::new(config))
}

fn invalid(e: impl std::fmt::Display) -> Error {
    Error::InvalidCertificate(e.to_string())
}

/// The trusted roots: webpki-roots or the OS store, plus the extra CA certificates.
fn roots(options: &TlsOptions) -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore::empty();
    let mut native_errors = Vec::new();
    if options.native_roots {
        let found = rustls_native_certs::load_native_certs();
        native_errors = found.errors.iter().map(ToString::to_string).collect();
        roots.add_parsable_certificates(found.certs);
    } else {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for der in &options.ca_certificates {
        roots.add(CertificateDer::from(der.clone())).map_err(invalid)?;
    }
    if roots.is_empty() {
        return Err(Error::InvalidCertificate(format!(
            "no trusted certificates: the OS store has none ({})",
            native_errors.join("; ")
        )));
    }
    Ok(roots)
}

/// The TLS server name (SNI and the name verified) for a URL host.
pub fn server_name(host: &str) -> Result<ServerName<'static>, Error> {
    ServerName::try_from(host.to_owned()).map_err(|e| Error::InvalidCertificate(e.to_string()))
}

/// Accepts any certificate, but still checks that the handshake is signed by it.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
