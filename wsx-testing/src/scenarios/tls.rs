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
