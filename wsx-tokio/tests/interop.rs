//! wsx-tokio against an independent implementation (a tokio-tungstenite server), over plain TCP
//! and over TLS with certificates made in the test (rcgen, tokio-rustls). The trace messages are
//! checked in `tracing.rs`, a binary of its own.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, CertificateError};
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as TCloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame as TCloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use wsx_tokio::{
    close::CloseFrame, close::CloseStatus, Bytes, Client, CloseCode, CloseReason, ConnectSettings, Context, Error,
    Frame, Handler, Reply,
};

const T: Duration = Duration::from_secs(5);

/// What the client's callbacks saw.
#[derive(Debug, PartialEq)]
enum Got {
    Frame(Frame),
    Pong(Bytes),
}

/// Forwards frames and pongs to the test.
struct Recorder(UnboundedSender<Got>);

impl Handler for Recorder {
    type Cast = ();
    type Info = ();

    fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        let _ = self.0.send(Got::Frame(frame));
        Reply::Continue
    }

    fn handle_pong(&mut self, payload: Bytes, _ctx: &mut Context<'_, Self>) -> Reply {
        let _ = self.0.send(Got::Pong(payload));
        Reply::Continue
    }
}

fn recorder() -> (Recorder, UnboundedReceiver<Got>) {
    let (tx, rx) = unbounded_channel();
    (Recorder(tx), rx)
}

async fn next<T>(rx: &mut UnboundedReceiver<T>) -> T {
    tokio::time::timeout(T, rx.recv())
        .await
        .expect("timed out")
        .expect("channel closed")
}

async fn wait(client: &Client<Recorder>) -> CloseReason {
    tokio::time::timeout(T, client.wait())
        .await
        .expect("the client did not stop")
}

/// A tungstenite session: sends `opening`, then records every message it reads (into the
/// returned channel) and echoes text and binary ones, until the connection ends. Tungstenite
/// answers pings and closes itself.
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut ws: WebSocketStream<S>,
    opening: Vec<Message>,
    seen: UnboundedSender<Message>,
) {
    for msg in opening {
        if ws.send(msg).await.is_err() {
            return;
        }
    }
    while let Some(Ok(msg)) = ws.next().await {
        let echo = matches!(msg, Message::Text(_) | Message::Binary(_)).then(|| msg.clone());
        let _ = seen.send(msg);
        if let Some(echo) = echo {
            if ws.send(echo).await.is_err() {
                return;
            }
        }
    }
}

/// A tokio-tungstenite server for one connection; returns its URL and what it reads.
async fn tungstenite_server(opening: Vec<Message>) -> (String, UnboundedReceiver<Message>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let (seen_tx, seen_rx) = unbounded_channel();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let ws = tokio_tungstenite::accept_async(tcp)
            .await
            .expect("tungstenite handshake");
        serve(ws, opening, seen_tx).await;
    });
    (url, seen_rx)
}

#[tokio::test]
async fn tungstenite_echoes_text_binary_and_large() {
    let (url, mut seen) = tungstenite_server(Vec::new()).await;
    let (handler, mut got) = recorder();
    let client = Client::start(url.as_str(), handler).await.expect("connect");
    client.send_frame(Frame::text("hello ✓")).await.unwrap();
    assert_eq!(next(&mut got).await, Got::Frame(Frame::text("hello ✓")));
    client.send_frame(Frame::binary(vec![0u8, 1, 255])).await.unwrap();
    assert_eq!(next(&mut got).await, Got::Frame(Frame::binary(vec![0u8, 1, 255])));
    let big: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    client.send_frame(Frame::binary(big.clone())).await.unwrap();
    assert_eq!(next(&mut got).await, Got::Frame(Frame::binary(big)));
    assert_eq!(next(&mut seen).await, Message::text("hello ✓"));
    client.close().unwrap();
    assert_eq!(wait(&client).await, CloseReason::Local(CloseStatus::Normal));
}

#[tokio::test]
async fn tungstenite_pings_both_ways() {
    let (url, mut seen) = tungstenite_server(vec![Message::Ping(Bytes::from_static(b"from server"))]).await;
    let (handler, mut got) = recorder();
    let client = Client::start(url.as_str(), handler).await.expect("connect");
    // The default handle_ping answers the server's ping.
    assert_eq!(next(&mut seen).await, Message::Pong(Bytes::from_static(b"from server")));
    // Tungstenite answers ours.
    client
        .send_frame(Frame::Ping(Bytes::from_static(b"from client")))
        .await
        .unwrap();
    assert_eq!(next(&mut got).await, Got::Pong(Bytes::from_static(b"from client")));
    client.close().unwrap();
    assert_eq!(wait(&client).await, CloseReason::Local(CloseStatus::Normal));
}

#[tokio::test]
async fn tungstenite_server_closes_with_code() {
    let close = Message::Close(Some(TCloseFrame {
        code: TCloseCode::from(4000),
        reason: "server bye".into(),
    }));
    let (url, mut seen) = tungstenite_server(vec![close]).await;
    let (handler, _got) = recorder();
    let client = Client::start(url.as_str(), handler).await.expect("connect");
    let expected = CloseStatus::Coded(CloseFrame::new(CloseCode(4000), "server bye"));
    assert_eq!(wait(&client).await, CloseReason::Remote(expected));
    match next(&mut seen).await {
        Message::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 4000),
        other => panic!("expected the client's close echo, got {other:?}"),
    }
}

#[tokio::test]
async fn tungstenite_sees_client_close_code() {
    let (url, mut seen) = tungstenite_server(Vec::new()).await;
    let (handler, _got) = recorder();
    let client = Client::start(url.as_str(), handler).await.expect("connect");
    client.close_with(CloseCode(4001), "done").unwrap();
    match next(&mut seen).await {
        Message::Close(Some(frame)) => {
            assert_eq!((u16::from(frame.code), frame.reason.as_str()), (4001, "done"))
        }
        other => panic!("expected a close, got {other:?}"),
    }
    let expected = CloseStatus::Coded(CloseFrame::new(CloseCode(4001), "done"));
    assert_eq!(wait(&client).await, CloseReason::Local(expected));
}

// ---------------------------------------------------------------------------------------------
// TLS

/// A CA, and a TLS acceptor for a `localhost` certificate it signed.
struct Pki {
    ca_der: Vec<u8>,
    acceptor: TlsAcceptor,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "wsx test CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).unwrap();

    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    leaf.distinguished_name.push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = leaf.signed_by(&key, &ca_cert, &ca_key).unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    Pki {
        ca_der: ca_cert.der().to_vec(),
        acceptor: TlsAcceptor::from(Arc::new(config)),
    }
}

/// A TLS echo server (tokio-rustls in front of tokio-tungstenite); returns its port.
async fn tls_server(acceptor: TlsAcceptor) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // Failed TLS handshakes are what some tests expect.
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let Ok(ws) = tokio_tungstenite::accept_async(tls).await else {
                    return;
                };
                serve(ws, Vec::new(), unbounded_channel().0).await;
            });
        }
    });
    port
}

async fn tls_round_trip(settings: ConnectSettings) {
    let (handler, mut got) = recorder();
    let client = Client::start(settings, handler).await.expect("TLS connect");
    client.send_frame(Frame::text("over TLS")).await.unwrap();
    assert_eq!(next(&mut got).await, Got::Frame(Frame::text("over TLS")));
    client.close().unwrap();
    assert_eq!(wait(&client).await, CloseReason::Local(CloseStatus::Normal));
}

/// The rustls certificate error inside a failed connect.
fn certificate_error(result: Result<Client<Recorder>, Error>) -> CertificateError {
    let Err(Error::Io(e)) = result else {
        panic!("expected a TLS I/O error, got {result:?}");
    };
    match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::InvalidCertificate(c)) => c.clone(),
        _ => panic!("expected a certificate error, got {e:?}"),
    }
}

#[tokio::test]
async fn tls_with_custom_ca_succeeds() {
    let pki = pki();
    let port = tls_server(pki.acceptor).await;
    let settings = ConnectSettings::new(&format!("wss://localhost:{port}/"))
        .unwrap()
        .ca_certificate(pki.ca_der);
    tls_round_trip(settings).await;
}

#[tokio::test]
async fn tls_without_ca_fails() {
    let pki = pki();
    let port = tls_server(pki.acceptor).await;
    let result = Client::start(format!("wss://localhost:{port}/"), recorder().0).await;
    assert_eq!(certificate_error(result), CertificateError::UnknownIssuer);
}

#[tokio::test]
async fn tls_hostname_mismatch_fails() {
    let pki = pki();
    let port = tls_server(pki.acceptor).await;
    // The certificate is for `localhost`, not for the IP address.
    let settings = ConnectSettings::new(&format!("wss://127.0.0.1:{port}/"))
        .unwrap()
        .ca_certificate(pki.ca_der);
    let error = certificate_error(Client::start(settings, recorder().0).await);
    assert!(
        matches!(
            error,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn tls_insecure_mode_succeeds() {
    let pki = pki();
    let port = tls_server(pki.acceptor).await;
    // Neither the CA nor the name would pass verification.
    let settings = ConnectSettings::new(&format!("wss://127.0.0.1:{port}/"))
        .unwrap()
        .insecure_skip_verify(true);
    tls_round_trip(settings).await;
}
