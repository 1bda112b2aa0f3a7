//! The connection options on the command line, turned into [`ConnectSettings`].

use std::path::Path;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use wsx_tokio::{deflate::DeflateConfig, http2::Http2, proxy::Proxy, ConnectSettings};

use crate::args::{ConnectionArgs, Http2Mode};
use crate::exit::{Exit, Failure};

/// The settings for `url` with `args`; a bad URL, header, proxy or file is a [`Failure`].
pub fn connect_settings(url: &str, args: &ConnectionArgs) -> Result<ConnectSettings, Failure> {
    let mut settings =
        ConnectSettings::new(url).map_err(|e| Failure::new(Exit::Usage, format!("invalid URL {url:?}: {e}")))?;
    for (name, value) in &args.headers {
        settings = settings.header(name, value);
    }
    if let Some(origin) = &args.origin {
        settings = settings.header("Origin", origin);
    }
    for protocol in &args.protocols {
        settings = settings.subprotocol(protocol);
    }
    for path in &args.ca {
        for der in certificates(path)? {
            settings = settings.ca_certificate(der);
        }
    }
    settings = settings.insecure_skip_verify(args.insecure);
    if let (Some(cert), Some(key)) = (&args.client_cert, &args.client_key) {
        settings = settings.client_certificate_pem(read(cert)?, read(key)?);
    }
    if let Some(proxy) = &args.proxy {
        let proxy =
            Proxy::parse(proxy).map_err(|e| Failure::new(Exit::Usage, format!("invalid proxy {proxy:?}: {e}")))?;
        settings = settings.proxy(proxy);
    }
    if args.no_proxy {
        settings = settings.no_proxy();
    }
    if args.compress {
        settings = settings.deflate(Some(DeflateConfig::default()));
    }
    settings = settings.http2(match args.http2 {
        None => Http2::Off,
        Some(Http2Mode::Prefer) => Http2::Prefer,
        Some(Http2Mode::Require) => Http2::Require,
    });
    if let Some(interval) = args.ping_interval {
        let pong_timeout = args.pong_timeout.unwrap_or(settings.config.pong_timeout);
        settings = settings.keepalive(interval, pong_timeout);
    }
    if let Some(max) = args.max_message_size {
        settings.config.max_message_size = max;
        settings.config.max_frame_size = settings.config.max_frame_size.min(max);
    }
    if let Some(timeout) = args.connect_timeout {
        settings = settings.connect_timeout(timeout);
    }
    Ok(settings)
}

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::new(Exit::Other, format!("cannot read {}: {e}", path.display())))
}

/// The certificates in a PEM file (every one), or the file itself as one DER certificate.
fn certificates(path: &Path) -> Result<Vec<Vec<u8>>, Failure> {
    let bytes = read(path)?;
    if !bytes.starts_with(b"-----") && !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        return Ok(vec![bytes]);
    }
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .map(|cert| cert.map(|cert| cert.to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            Failure::new(
                Exit::Other,
                format!("{}: not a PEM certificate file: {e}", path.display()),
            )
        })?;
    if certs.is_empty() {
        return Err(Failure::new(
            Exit::Other,
            format!("{}: no certificate in it", path.display()),
        ));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::Cli;
    use clap::Parser;

    fn settings(argv: &[&str]) -> Result<ConnectSettings, Failure> {
        let cli = Cli::try_parse_from(argv).unwrap();
        connect_settings(cli.connect.url.as_deref().unwrap(), &cli.connect.connection)
    }

    #[test]
    fn options_reach_the_settings() {
        let s = settings(&[
            "wsx",
            "wss://example.com/x",
            "-H",
            "A: 1",
            "--origin",
            "https://o",
            "--protocol",
            "p",
            "--compress",
            "--ping-interval",
            "2s",
            "--pong-timeout",
            "500ms",
            "--max-message-size",
            "1000",
            "--connect-timeout",
            "1.5",
            "-k",
        ])
        .unwrap();
        assert_eq!(s.config.max_message_size, 1000);
        assert_eq!(s.config.ping_interval, Some(std::time::Duration::from_secs(2)));
        assert_eq!(s.config.pong_timeout, std::time::Duration::from_millis(500));
        assert_eq!(s.connect_timeout, std::time::Duration::from_millis(1500));
        assert!(s.config.deflate.is_some());
        assert!(s.tls.insecure_skip_verify);
        let debug = format!("{:?}", s.request);
        assert!(debug.contains("https://o") && debug.contains("\"p\""), "{debug}");
    }

    #[test]
    fn bad_urls_and_proxies_are_usage_errors_and_missing_files_are_not() {
        assert_eq!(settings(&["wsx", "http://x/"]).unwrap_err().exit, Exit::Usage);
        assert_eq!(
            settings(&["wsx", "ws://x/", "--proxy", "ftp://p"]).unwrap_err().exit,
            Exit::Usage
        );
        let missing = settings(&["wsx", "ws://x/", "--ca", "/no/such/file.pem"]).unwrap_err();
        assert_eq!(missing.exit, Exit::Other);
        assert!(missing.message.contains("/no/such/file.pem"), "{}", missing.message);
    }

    #[test]
    fn a_pem_file_gives_every_certificate_in_it() {
        // The CA the servers' `--tls` makes (the unit tests need nothing outside the crate).
        let (_, ca_pem) = crate::certificate::made_now().unwrap();
        let ca_der = CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap().to_vec();
        let dir = std::env::temp_dir().join(format!("wsx-cli-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let two = dir.join("two.pem");
        std::fs::write(&two, format!("{ca_pem}{ca_pem}")).unwrap();
        assert_eq!(certificates(&two).unwrap(), vec![ca_der.clone(), ca_der.clone()]);
        let der = dir.join("ca.der");
        std::fs::write(&der, &ca_der).unwrap();
        assert_eq!(certificates(&der).unwrap(), vec![ca_der.clone()]);
        let broken = dir.join("broken.pem");
        std::fs::write(&broken, "-----BEGIN CERTIFICATE-----\n!!!\n").unwrap();
        assert!(certificates(&broken).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
