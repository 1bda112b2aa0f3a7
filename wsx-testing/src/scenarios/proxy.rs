//! Through real proxies: HTTP CONNECT (`pproxy`) with basic auth and SOCKS5 (`microsocks`) with
//! a username and password, for `ws://` and `wss://` (TLS inside the tunnel); every failure a
//! typed error.

use wsx_proto::{proxy::Proxy, proxy::ProxyError, ConnectSettings, Error, Frame};

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

/// The caller's promise that a scenario runs in a test binary of its own, with nothing else in
/// the process: scenarios that change process-wide state take it.
#[derive(Debug, Clone, Copy)]
pub struct OwnProcess;

/// The proxy from the environment, the way curl reads it, through real proxies: `http_proxy`
/// for `ws://`, `HTTPS_PROXY` for `wss://`, `ALL_PROXY` when neither is set, `NO_PROXY`
/// exempting a host, `no_proxy()` ignoring the environment. Loopback hosts are never proxied
/// from the environment, so the target is a TEST-NET address (RFC 5737) that the proxies'
/// typed refusals (credentials missing) prove was never reached directly.
///
/// It sets process environment variables: run it alone, in a test binary of its own, before
/// anything else reads the environment (which [`OwnProcess`] promises; it also keeps it out of
/// [`behaviour_suite!`](crate::behaviour_suite)).
pub fn proxy_from_the_environment<A: TestAdapter>(_: OwnProcess) {
    const TARGET: &str = "192.0.2.1";
    let http = ProxyServer::http(Some(("me", "pw")));
    let socks = ProxyServer::socks5(Some(("me", "pw")));
    let timeout = std::time::Duration::from_millis(300);
    let target = |scheme: &str| settings(&format!("{scheme}://{TARGET}:9/")).connect_timeout(timeout);
    let set = |name: &str, value: Option<String>| match value {
        // Racy only against other threads reading the environment: run alone (see above).
        Some(value) => std::env::set_var(name, value),
        None => std::env::remove_var(name),
    };
    for name in crate::interop::PROXY_VARIABLES {
        set(name, None);
    }
    let http_url = format!("http://127.0.0.1:{}", http.port());
    let socks_url = format!("socks5://127.0.0.1:{}", socks.port());

    set("http_proxy", Some(http_url.clone()));
    refused_with::<A>(target("ws"), "ws:// through http_proxy", |e| {
        *e == Error::Proxy(ProxyError::AuthenticationRequired)
    });
    set("HTTPS_PROXY", Some(socks_url.clone()));
    refused_with::<A>(target("wss"), "wss:// through HTTPS_PROXY", |e| {
        *e == Error::Proxy(ProxyError::NoAcceptableAuthMethod)
    });
    set("http_proxy", None);
    set("HTTPS_PROXY", None);
    set("ALL_PROXY", Some(http_url));
    refused_with::<A>(target("wss"), "wss:// through ALL_PROXY", |e| {
        *e == Error::Proxy(ProxyError::AuthenticationRequired)
    });
    // Exempt, or told to ignore the environment: a direct attempt, which never answers
    // (or is unreachable), but is no proxy's refusal.
    let direct = |e: &Error| matches!(e, Error::ConnectTimeout | Error::Io(_));
    set("NO_PROXY", Some(format!("example.com, {TARGET}")));
    refused_with::<A>(target("ws"), "ws:// to a NO_PROXY host", direct);
    set("NO_PROXY", None);
    refused_with::<A>(target("ws").no_proxy(), "no_proxy() ignores ALL_PROXY", direct);
    set("ALL_PROXY", None);
}
