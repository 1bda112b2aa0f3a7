//! `wss://`: trusted, untrusted, mismatched and unverified certificates.

use wsx_proto::{Error, Frame};

use super::{close_normally, T};
use crate::harness::{settings, Probe, TestAdapter, TestClient, TestOptions};
use crate::server::{Script, TestServer};

/// Starts against a TLS server with `settings`; the client must fail with a certificate error.
fn tls_refused<A: TestAdapter>(settings: wsx_proto::ConnectSettings, what: &str) {
    let (probe, events) = Probe::<A>::new();
    match A::start(settings, probe, TestOptions::default()) {
        Err(Error::Io(e)) => assert!(
            e.to_string().contains("certificate"),
            "{what}: expected a certificate error, got {e}"
        ),
        other => panic!("{what}: expected a TLS error, got {other:?}"),
    }
    assert!(events.all().is_empty(), "{what}: no callback runs for a failed start");
}

/// `wss://` with the test CA trusted: the handshake and messages work over TLS.
pub fn tls_trusted_ca_echoes<A: TestAdapter>() {
    let pki = crate::TestPki::new();
    let server = TestServer::start_tls(Script::echo(), &pki);
    let (probe, mut events) = Probe::<A>::new();
    let client = A::start(
        settings(&server.url()).ca_certificate(pki.ca_der.clone()),
        probe,
        TestOptions::default(),
    )
    .expect("connects with the custom CA");
    client.send_frame(Frame::text("over tls"), T).expect("send");
    assert_eq!(events.frame(T), Frame::text("over tls"));
    close_normally::<A>(&client, &server, &mut events);
}

/// `wss://` without the test CA: the certificate is refused (verification is on by default).
pub fn tls_untrusted_ca_fails<A: TestAdapter>() {
    let pki = crate::TestPki::new();
    let server = TestServer::start_tls(Script::echo(), &pki);
    tls_refused::<A>(settings(&server.url()), "unknown CA");
    assert!(
        server.requests().is_empty(),
        "no upgrade request may leave before TLS is verified"
    );
}

/// `wss://` to a name the certificate does not cover (127.0.0.1 instead of localhost).
pub fn tls_hostname_mismatch_fails<A: TestAdapter>() {
    let pki = crate::TestPki::new();
    let server = TestServer::start_tls(Script::echo(), &pki);
    let url = format!("wss://127.0.0.1:{}/", server.addr().port());
    tls_refused::<A>(settings(&url).ca_certificate(pki.ca_der.clone()), "hostname mismatch");
}

/// `insecure_skip_verify`: an untrusted certificate for another name is accepted.
pub fn tls_insecure_mode_succeeds<A: TestAdapter>() {
    let pki = crate::TestPki::new();
    let server = TestServer::start_tls(Script::echo(), &pki);
    let url = format!("wss://127.0.0.1:{}/", server.addr().port());
    let (probe, mut events) = Probe::<A>::new();
    let client = A::start(settings(&url).insecure_skip_verify(true), probe, TestOptions::default())
        .expect("insecure mode connects");
    client.send_frame(Frame::binary(vec![1, 2, 3]), T).expect("send");
    assert_eq!(events.frame(T), Frame::binary(vec![1, 2, 3]));
    close_normally::<A>(&client, &server, &mut events);
}

/// A server that requires a client certificate: the one its CA signed is accepted (PEM
/// certificate and key, one call), none or one from another CA is refused with an error
/// from the TLS layer, and no callback runs.
pub fn mtls_client_certificate_accepted_missing_or_wrong<A: TestAdapter>() {
    let (pki, trusted, stranger) = crate::TestPki::requiring_client_certificates();
    let server = TestServer::start_tls(Script::echo(), &pki);
    let base = || settings(&server.url()).ca_certificate(pki.ca_der.clone());
    let (probe, mut events) = Probe::<A>::new();
    let client = A::start(
        base().client_certificate_pem(trusted.cert.clone(), trusted.key.clone()),
        probe,
        TestOptions::default(),
    )
    .expect("the trusted client certificate is accepted");
    client.send_frame(Frame::text("mutual"), T).expect("send");
    assert_eq!(events.frame(T), Frame::text("mutual"));
    close_normally::<A>(&client, &server, &mut events);
    for (what, settings) in [
        ("no client certificate", base()),
        (
            "a client certificate from another CA",
            base().client_certificate_pem(stranger.cert.clone(), stranger.key.clone()),
        ),
    ] {
        let (probe, events) = Probe::<A>::new();
        match A::start(settings, probe, TestOptions::default()) {
            Err(Error::Io(e)) => {
                let text = e.to_string().to_lowercase();
                assert!(text.contains("alert") || text.contains("certificate"), "{what}: {e}");
            }
            other => panic!("{what}: expected a TLS error, got {other:?}"),
        }
        assert!(events.all().is_empty(), "{what}: no callback runs");
    }
}

/// A client certificate or key that does not parse is `InvalidCertificate`, before any byte
/// is sent.
pub fn mtls_unparsable_identity_is_invalid_certificate<A: TestAdapter>() {
    let pki = crate::TestPki::new();
    let server = TestServer::start_tls(Script::echo(), &pki);
    let (probe, _events) = Probe::<A>::new();
    let s = settings(&server.url())
        .ca_certificate(pki.ca_der.clone())
        .client_certificate_pem("not a certificate", "not a key");
    match A::start(s, probe, TestOptions::default()) {
        Err(Error::InvalidCertificate(message)) => assert!(message.contains("client"), "{message}"),
        other => panic!("expected InvalidCertificate, got {other:?}"),
    }
}

/// With the OS trust store instead of the bundled roots, the test CA is still unknown (so the
/// server is refused), and trusted once added as an extra CA.
pub fn tls_native_roots_with_and_without_the_test_ca<A: TestAdapter>() {
    let pki = crate::TestPki::new();
    let server = TestServer::start_tls(Script::echo(), &pki);
    tls_refused::<A>(settings(&server.url()).native_roots(true), "OS roots only");
    let (probe, mut events) = Probe::<A>::new();
    let client = A::start(
        settings(&server.url())
            .native_roots(true)
            .ca_certificate(pki.ca_der.clone()),
        probe,
        TestOptions::default(),
    )
    .expect("OS roots plus the test CA");
    client.send_frame(Frame::text("native"), T).expect("send");
    assert_eq!(events.frame(T), Frame::text("native"));
    close_normally::<A>(&client, &server, &mut events);
}
