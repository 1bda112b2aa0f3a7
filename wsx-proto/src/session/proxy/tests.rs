use super::*;

fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
}

fn ws(url: &str) -> WsUrl {
    WsUrl::parse(url).unwrap()
}

#[test]
fn proxy_urls_parse_with_credentials_and_defaults() {
    let p = Proxy::parse("http://user:p%40ss@proxy.local:3128").unwrap();
    assert_eq!(
        (p.kind, p.host.as_str(), p.port, p.auth.clone()),
        (
            ProxyKind::HttpConnect,
            "proxy.local",
            3128,
            Some(("user".into(), "p@ss".into()))
        )
    );
    let p = Proxy::parse("socks5h://10.0.0.1").unwrap();
    assert_eq!((p.kind, p.port, p.auth), (ProxyKind::Socks5, 1080, None));
    assert_eq!(Proxy::parse("proxy:8080").unwrap().kind, ProxyKind::HttpConnect);
    assert!(matches!(Proxy::parse("ftp://x"), Err(ProxyError::InvalidUrl(_))));
    assert!(!format!("{:?}", Proxy::parse("http://u:secret@h").unwrap()).contains("secret"));
}

#[test]
fn environment_is_read_the_way_curl_reads_it() {
    let vars = [
        ("http_proxy", "http://plain:1"),
        ("HTTPS_PROXY", "http://secure:2"),
        ("ALL_PROXY", "socks5://all:3"),
    ];
    let pick = |url: &str, vars: &[(&str, &str)]| Proxy::from_env(&ws(url), env(vars)).unwrap().map(|p| p.host);
    assert_eq!(pick("ws://a.example/", &vars), Some("plain".into()));
    assert_eq!(pick("wss://a.example/", &vars), Some("secure".into()));
    // Uppercase HTTP_PROXY is ignored (curl does, because of CGI's HTTP_PROXY header).
    assert_eq!(pick("ws://a.example/", &[("HTTP_PROXY", "http://upper:1")]), None);
    assert_eq!(
        pick("ws://a.example/", &[("ALL_PROXY", "socks5://all:3")]),
        Some("all".into())
    );
    assert_eq!(pick("ws://a.example/", &[]), None);
}

#[test]
fn no_proxy_names_hosts_domains_and_everything() {
    let with = |no_proxy: &'static str| {
        move |url: &str| {
            let vars = [("all_proxy", "http://p:1"), ("no_proxy", no_proxy)];
            Proxy::from_env(&ws(url), env(&vars)).unwrap().is_some()
        }
    };
    let proxied = with("localhost, .internal.example,10.1.2.3:8080");
    assert!(!proxied("ws://localhost/"));
    assert!(!proxied("ws://a.internal.example/"));
    assert!(!proxied("ws://internal.example/"));
    assert!(!proxied("ws://10.1.2.3/"));
    assert!(proxied("ws://example.com/"));
    assert!(proxied("ws://notinternal.example/"));
    assert!(!with("*")("ws://anything/"));
}

/// Runs `hs` against scripted proxy answers; returns what it wrote.
fn run(hs: &mut ProxyHandshake, mut answers: &[u8]) -> Result<Vec<u8>, ProxyError> {
    let mut written = Vec::new();
    loop {
        match hs.step()? {
            ProxyStep::Write(bytes) => written.extend(bytes),
            ProxyStep::Read(n) => {
                let n = n.min(answers.len());
                hs.receive(&answers[..n])?;
                answers = &answers[n..];
            }
            ProxyStep::Done => {
                assert!(answers.is_empty(), "read past the answer: {answers:?}");
                return Ok(written);
            }
        }
    }
}

fn http(auth: bool) -> Proxy {
    Proxy::parse(if auth { "http://me:pw@p:1" } else { "http://p:1" }).unwrap()
}

#[test]
fn http_connect_with_basic_auth() {
    let mut hs = ProxyHandshake::new(&http(true), "server.example", 443);
    let written = run(&mut hs, b"HTTP/1.1 200 Connection established\r\nVia: x\r\n\r\n").unwrap();
    let text = String::from_utf8(written).unwrap();
    assert!(
        text.starts_with("CONNECT server.example:443 HTTP/1.1\r\nHost: server.example:443\r\n"),
        "{text}"
    );
    assert!(text.contains("Proxy-Authorization: Basic bWU6cHc=\r\n"), "{text}");
}

#[test]
fn http_connect_refusals_are_typed() {
    let mut hs = ProxyHandshake::new(&http(false), "s", 80);
    assert_eq!(
        run(&mut hs, b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n"),
        Err(ProxyError::AuthenticationRequired)
    );
    let mut hs = ProxyHandshake::new(&http(false), "s", 80);
    assert_eq!(
        run(&mut hs, b"HTTP/1.1 403 Forbidden\r\n\r\n"),
        Err(ProxyError::Refused {
            status: 403,
            reason: "Forbidden".into()
        })
    );
    let mut hs = ProxyHandshake::new(&http(false), "s", 80);
    assert_eq!(run(&mut hs, b"HTTP/1.1 200"), Err(ProxyError::Closed));
    let mut hs = ProxyHandshake::new(&http(false), "::1", 80);
    let written = run(&mut hs, b"HTTP/1.1 200 OK\r\n\r\n").unwrap();
    assert!(written.starts_with(b"CONNECT [::1]:80 "));
}

fn socks(auth: bool) -> Proxy {
    Proxy::parse(if auth { "socks5://me:pw@p" } else { "socks5h://p" }).unwrap()
}

#[test]
fn socks5_without_auth_sends_the_name_for_the_proxy_to_resolve() {
    let mut hs = ProxyHandshake::new(&socks(false), "srv", 9001);
    let answers = [&[5, 0][..], &[5, 0, 0, 1, 127, 0, 0, 1, 0x23, 0x29]].concat();
    let written = run(&mut hs, &answers).unwrap();
    assert_eq!(
        written,
        [&[5, 1, 0][..], &[5, 1, 0, 3, 3], b"srv", &[0x23, 0x29]].concat()
    );
}

#[test]
fn socks5_with_auth_and_a_name_in_the_reply() {
    let mut hs = ProxyHandshake::new(&socks(true), "10.0.0.9", 80);
    let answers = [&[5, 2][..], &[1, 0], &[5, 0, 0, 3, 4], b"host", &[0, 80]].concat();
    let written = run(&mut hs, &answers).unwrap();
    assert_eq!(
        written,
        [
            &[5, 2, 0, 2][..],
            &[1, 2],
            b"me",
            &[2],
            b"pw",
            &[5, 1, 0, 1, 10, 0, 0, 9, 0, 80]
        ]
        .concat()
    );
}

#[test]
fn socks5_failures_are_typed() {
    let cases: [(bool, Vec<u8>, ProxyError); 4] = [
        (false, vec![5, 0xff], ProxyError::NoAcceptableAuthMethod),
        (false, vec![5, 2], ProxyError::NoAcceptableAuthMethod),
        (true, vec![5, 2, 1, 1], ProxyError::AuthenticationFailed),
        (false, vec![5, 0, 5, 5, 0, 1, 0], ProxyError::SocksReply(5)),
    ];
    for (auth, answers, expected) in cases {
        let mut hs = ProxyHandshake::new(&socks(auth), "srv", 1);
        assert_eq!(run(&mut hs, &answers), Err(expected.clone()), "{answers:?}");
    }
}
