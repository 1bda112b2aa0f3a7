//! `wsx` over TLS (a CA file, insecure mode, client certificates) and through real proxies
//! (pproxy for HTTP CONNECT, microsocks for SOCKS5; given, from the environment, or bypassed).

mod common;

use std::path::PathBuf;

use common::wsx;
use wsx_testing::{ProxyServer, Script, TestPki, TestServer};

/// A directory of its own for this test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wsx-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

#[test]
fn a_ca_file_makes_the_server_trusted_and_insecure_skips_the_check() {
    let pki = TestPki::new();
    let server = TestServer::start_tls(Script::echo(), &pki);
    let ca = scratch("ca").join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();

    let trusted = wsx(["--ca", ca.to_str().unwrap(), &server.url()])
        .stdin("over tls\n")
        .run();
    assert_eq!(trusted.expect_code(0).lines(), ["over tls"]);

    let untrusted = wsx([server.url()]).stdin("x\n").run();
    untrusted.expect_code(3);
    assert!(untrusted.stderr.contains("certificate"), "{}", untrusted.stderr);

    let insecure = wsx(["--insecure", &server.url()]).stdin("anyway\n").run();
    assert_eq!(insecure.expect_code(0).lines(), ["anyway"]);

    let missing = wsx(["--ca", "/no/such/ca.pem", &server.url()]).run();
    missing.expect_code(1);
    assert!(missing.stderr.contains("/no/such/ca.pem"), "{}", missing.stderr);
}

#[test]
fn a_client_certificate_is_presented_when_the_server_asks() {
    let (pki, trusted, stranger) = TestPki::requiring_client_certificates();
    let server = TestServer::start_tls(Script::echo(), &pki);
    let dir = scratch("mtls");
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let ca = write("ca.pem", &pki.ca_pem);
    let (cert, key) = (write("cert.pem", &trusted.cert), write("key.pem", &trusted.key));
    let (bad_cert, bad_key) = (write("bad.pem", &stranger.cert), write("bad-key.pem", &stranger.key));

    let run = wsx(["--ca", &ca, "--client-cert", &cert, "--client-key", &key, &server.url()])
        .stdin("mutual\n")
        .run();
    assert_eq!(run.expect_code(0).lines(), ["mutual"]);

    // TLS 1.3 refuses a client certificate after the client thinks the handshake is done,
    // so the refusal arrives as the WebSocket handshake starts: never a normal close.
    for args in [
        vec!["--ca", &ca],
        vec!["--ca", &ca, "--client-cert", &bad_cert, "--client-key", &bad_key],
    ] {
        let run = wsx(args.iter().copied().chain([server.url().as_str()]))
            .stdin("x\n")
            .run();
        assert!(
            matches!(run.code, Some(3 | 4)),
            "{args:?}: refused as a connect or handshake failure: {run:?}"
        );
        assert!(run.stdout.is_empty(), "{run:?}");
    }
}

#[test]
fn a_given_proxy_carries_the_connection_with_its_credentials() {
    let server = TestServer::echo();
    for (scheme, proxy) in [
        ("http", ProxyServer::http(Some(("me", "pw")))),
        ("socks5", ProxyServer::socks5(Some(("me", "pw")))),
    ] {
        // Refused first: pproxy lets an address in without credentials once it has
        // authenticated.
        let without = format!("{scheme}://127.0.0.1:{}", proxy.port());
        let refused = wsx(["--proxy", &without, &server.url()]).run();
        refused.expect_code(3);
        assert!(refused.stderr.contains("proxy"), "{scheme}: {}", refused.stderr);

        let with_auth = format!("{scheme}://me:pw@127.0.0.1:{}", proxy.port());
        let run = wsx(["--proxy", &with_auth, &server.url()]).stdin("tunnelled\n").run();
        assert_eq!(run.expect_code(0).lines(), ["tunnelled"], "{scheme}");
    }
    assert_eq!(
        server.connections(),
        2,
        "only the authenticated tunnels reached the server"
    );
}

#[test]
fn the_environment_proxy_is_used_unless_no_proxy_says_otherwise() {
    let proxy = ProxyServer::http(Some(("me", "pw")));
    let env_proxy = format!("http://127.0.0.1:{}", proxy.port());
    // A name, not a loopback address (loopback never goes through the environment's proxy),
    // that does not resolve: only the proxy's refusal mentions a proxy.
    let url = "ws://wsx-env-test.invalid:9/";

    let through = wsx(["--connect-timeout", "2s", url])
        .env("http_proxy", &env_proxy)
        .run();
    through.expect_code(3);
    assert!(
        through.stderr.contains("proxy"),
        "went through the proxy: {}",
        through.stderr
    );

    let exempt = wsx(["--connect-timeout", "2s", url])
        .env("http_proxy", &env_proxy)
        .env("no_proxy", ".invalid")
        .run();
    exempt.expect_code(3);
    assert!(
        !exempt.stderr.contains("proxy"),
        "connected directly: {}",
        exempt.stderr
    );

    let bypassed = wsx(["--no-proxy", "--connect-timeout", "2s", url])
        .env("http_proxy", &env_proxy)
        .run();
    bypassed.expect_code(3);
    assert!(
        !bypassed.stderr.contains("proxy"),
        "connected directly: {}",
        bypassed.stderr
    );
}
