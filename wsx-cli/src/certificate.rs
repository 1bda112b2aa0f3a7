//! The servers' TLS: a certificate for `localhost` made at start (signed by a CA made with
//! it, whose PEM a client can trust with `wsx --ca FILE`), or the user's own PEM files.

use std::path::Path;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;

use crate::exit::{Exit, Failure};

/// A server configuration for `localhost`, `127.0.0.1` and `::1`, and the PEM of the CA that
/// signed its certificate.
pub fn made_now() -> Result<(Arc<ServerConfig>, String), Failure> {
    let fail = |e: rcgen::Error| Failure::new(Exit::Other, format!("cannot make a certificate: {e}"));
    let ca_key = KeyPair::generate().map_err(fail)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "wsx local CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let ca = ca.self_signed(&ca_key).map_err(fail)?;
    let key = KeyPair::generate().map_err(fail)?;
    let names = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
    let mut leaf = CertificateParams::new(names).map_err(fail)?;
    leaf.distinguished_name.push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf = leaf.signed_by(&key, &ca, &ca_key).map_err(fail)?;
    let chain = vec![CertificateDer::from(leaf.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    Ok((server_config(chain, key)?, ca.pem()))
}

/// A server configuration from a PEM certificate chain and its private key.
pub fn from_files(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, Failure> {
    let read = |path: &Path, e: rustls::pki_types::pem::Error| {
        Failure::new(Exit::Other, format!("cannot read {}: {e}", path.display()))
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| read(cert, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| read(cert, e))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| read(key, e))?;
    server_config(chain, key)
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, Failure> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
        .map(Arc::new)
        .map_err(|e| Failure::new(Exit::Usage, format!("unusable certificate: {e}")))
}
