//! Through real proxies: HTTP CONNECT (`pproxy`) with basic auth and SOCKS5 (`microsocks`) with
//! a username and password, for `ws://` and `wss://` (TLS inside the tunnel); every failure a
//! typed error.

use wsx_proto::{ConnectSettings, Error, Frame, Proxy, ProxyError};

use super::{close_normally, T};
use crate::harness::{settings, Probe, TestAdapter, TestClient, TestOptions};
use crate::interop::ProxyServer;
use crate::server::{refused_url, Script, TestServer};
use crate::TestPki;

fn via(scheme: &str, auth: &str, proxy: &ProxyServer) -> Proxy {
    Proxy::parse(&format!("{scheme}://{auth}127.0.0.1:{}", proxy.port())).expect("proxy URL")
}

/// One message echoed through the tunnel, then a normal close.
fn echo_through<A: TestAdapter>(settings: ConnectSettings, server: &TestServer) {
    let (probe, mut events) = Probe::<A>::new();
    let client = A::start(settings, probe, TestOptions::default()).expect("connects through the proxy");
    client.send_frame(Frame::text("through the tunnel"), T).expect("send");
    assert_eq!(events.frame(T), Frame::text("through the tunnel"));
    close_normally::<A>(&client, server, &mut events);
}

/// `ws://` and `wss://` through `proxy`.
fn both_schemes<A: TestAdapter>(proxy: Proxy) {
    let server = TestServer::echo();
    echo_through::<A>(settings(&server.url()).proxy(proxy.clone()), &server);
    let pki = TestPki::new();
    let tls = TestServer::start_tls(Script::echo(), &pki);
    let secure = settings(&tls.url()).proxy(proxy).ca_certificate(pki.ca_der.clone());
    echo_through::<A>(secure, &tls);
}

/// HTTP CONNECT with basic auth, `ws://` and `wss://`.
pub fn proxy_http_connect_with_auth<A: TestAdapter>() {
    let proxy = ProxyServer::http(Some(("me", "pa:ss")));
    both_schemes::<A>(via("http", "me:pa%3Ass@", &proxy));
}

/// SOCKS5 with a username and password, `ws://` and `wss://` (the proxy resolves the name).
pub fn proxy_socks5_with_auth<A: TestAdapter>() {
    let proxy = ProxyServer::socks5(Some(("me", "secret")));
    both_schemes::<A>(via("socks5h", "me:secret@", &proxy));
}

fn refused_with<A: TestAdapter>(settings: ConnectSettings, what: &str, check: impl FnOnce(&Error) -> bool) {
    let (probe, events) = Probe::<A>::new();
    match A::start(settings, probe, TestOptions::default()) {
        Err(e) => assert!(check(&e), "{what}: unexpected {e:?}"),
        Ok(_) => panic!("{what}: connected"),
    }
    assert!(events.all().is_empty(), "{what}: no callback runs");
}

/// Wrong or missing credentials, a proxy that is not there, and a target the proxy cannot
/// reach: each a typed error, and no callback runs.
pub fn proxy_failures_are_typed<A: TestAdapter>() {
    let server = TestServer::echo();
    let http = ProxyServer::http(Some(("me", "pw")));
    let socks = ProxyServer::socks5(Some(("me", "pw")));
    let proxy_error = |expected: ProxyError| move |e: &Error| *e == Error::Proxy(expected.clone());
    let target = || settings(&server.url());
    refused_with::<A>(
        target().proxy(via("http", "me:wrong@", &http)),
        "HTTP, wrong password",
        proxy_error(ProxyError::AuthenticationRequired),
    );
    refused_with::<A>(
        target().proxy(via("http", "", &http)),
        "HTTP, no credentials",
        proxy_error(ProxyError::AuthenticationRequired),
    );
    refused_with::<A>(
        target().proxy(via("socks5", "me:wrong@", &socks)),
        "SOCKS5, wrong password",
        proxy_error(ProxyError::AuthenticationFailed),
    );
    refused_with::<A>(
        target().proxy(via("socks5", "", &socks)),
        "SOCKS5, no credentials",
        proxy_error(ProxyError::NoAcceptableAuthMethod),
    );
    refused_with::<A>(
        settings(&refused_url()).proxy(via("socks5", "me:pw@", &socks)),
        "SOCKS5, target refused",
        |e| matches!(e, Error::Proxy(ProxyError::SocksReply(_))),
    );
    let gone = Proxy::parse(&refused_url().replace("ws://", "http://")).expect("proxy URL");
    refused_with::<A>(
        target().proxy(gone),
        "no proxy there",
        |e| matches!(e, Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused),
    );
}

/// A proxy that accepts the connection and never finishes its answer: the connect timeout
/// covers the tunnel too (`ConnectTimeout`, on time).
pub fn connect_timeout_covers_a_stalled_proxy<A: TestAdapter>() {
    let stalled = TestServer::start(Script::new(vec![]).handshake(crate::server::Handshake::SlowHeaders));
    let proxy = Proxy::parse(&stalled.url().replace("ws://", "http://")).expect("proxy URL");
    let server = TestServer::echo();
    let timeout = std::time::Duration::from_millis(400);
    let started = std::time::Instant::now();
    refused_with::<A>(
        settings(&server.url()).proxy(proxy).connect_timeout(timeout),
        "stalled proxy",
        |e| *e == Error::ConnectTimeout,
    );
    assert!(started.elapsed() < timeout * 5, "took {:?}", started.elapsed());
}

/// A name that resolves to several addresses: each is tried in turn (`localhost` may give
/// `::1` first; the server listens on 127.0.0.1 only).
pub fn connect_tries_every_resolved_address<A: TestAdapter>() {
    let server = TestServer::echo();
    let url = server.url().replace("127.0.0.1", "localhost");
    echo_through::<A>(settings(&url), &server);
}
