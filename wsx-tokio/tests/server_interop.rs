//! A wsx-tokio server against clients that other people wrote: Python `websockets` and Node's
//! `ws` (scripts in `wsx-testing/interop/`, installed on first use), tokio-tungstenite in this
//! process, over TCP and TLS, and headless Chromium. Each test checks what the server's
//! handler saw, in order (the request, every message, the client's close code and reason), and
//! what the client reported seeing.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as TungsteniteCloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame as TungsteniteCloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::Connector;
use wsx_testing::{run_browser_client, run_echo_client, Peer, TestPki};
use wsx_tokio::close::{CloseFrame, CloseStatus};
use wsx_tokio::config::Config;
use wsx_tokio::deflate::DeflateConfig;
use wsx_tokio::server::{Accept, Decision, UpgradeRequest};
use wsx_tokio::{Bytes, CloseCode, CloseReason, Context, Frame, Handler, Reply, Response, Server};

/// How long the server waits for what a client does: far more than any needs here.
const T: Duration = Duration::from_secs(30);

/// The echo clients' messages (the scripts send the same), in order.
fn messages() -> Vec<Frame> {
    let big: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    vec![
        Frame::text("hello ✓"),
        Frame::binary(vec![0u8, 1, 2, 255]),
        Frame::binary(big),
        Frame::binary(Vec::new()),
        Frame::text(""),
    ]
}

/// The lines an echo client prints for [`messages`] coming back as sent.
const ECHO_LINES: [&str; 5] = [
    "echo text 9",
    "echo binary 4",
    "echo binary 1048576",
    "echo binary 0",
    "echo text 0",
];

/// What the server's handler saw of one connection.
#[derive(Clone, PartialEq)]
enum Seen {
    Connected(Connected),
    Frame(Frame),
    Ping(Bytes),
    Ended(CloseReason),
}

/// Long payloads by their length and first bytes: a failed comparison stays readable.
impl std::fmt::Debug for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const LONG: usize = 64;
        const SHOWN: usize = 16;
        match self {
            Self::Frame(Frame::Text(text)) if text.len() > LONG => {
                write!(f, "Text({} bytes, {:?}...)", text.len(), &text.as_bytes()[..SHOWN])
            }
            Self::Frame(Frame::Binary(data)) if data.len() > LONG => {
                write!(f, "Binary({} bytes, {:?}...)", data.len(), &data[..SHOWN])
            }
            Self::Connected(connected) => write!(f, "{connected:?}"),
            Self::Frame(frame) => write!(f, "{frame:?}"),
            Self::Ping(payload) => write!(f, "Ping({payload:?})"),
            Self::Ended(reason) => write!(f, "Ended({reason:?})"),
        }
    }
}

/// The request and the answer the server sent.
#[derive(Debug, Clone, PartialEq)]
struct Connected {
    path: String,
    origin: Option<String>,
    offered_subprotocols: Vec<String>,
    offered_extensions: Vec<String>,
    subprotocol: Option<String>,
    /// The extensions accepted, as the 101 wrote them.
    extensions: Vec<String>,
    deflate: bool,
}

/// Echoes text and binary messages, answers pings, and records everything.
struct Recorder(UnboundedSender<Seen>);

impl Handler for Recorder {
    type Cast = ();
    type Info = ();

    fn handle_connect(&mut self, response: &Response, ctx: &mut Context<'_, Self>) {
        let request = ctx.request().expect("a server connection has its request");
        let _ = self.0.send(Seen::Connected(Connected {
            path: request.path().to_owned(),
            origin: request.origin().map(str::to_owned),
            offered_subprotocols: request.subprotocols().to_vec(),
            offered_extensions: request.extensions().to_vec(),
            subprotocol: response.subprotocol.clone(),
            extensions: response.extensions.accepted().to_vec(),
            deflate: response.extensions.deflate().is_some(),
        }));
    }

    fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        let _ = self.0.send(Seen::Frame(frame.clone()));
        match frame {
            Frame::Text(_) | Frame::Binary(_) => Reply::Frame(frame),
            _ => Reply::Continue,
        }
    }

    fn handle_ping(&mut self, payload: Bytes, _ctx: &mut Context<'_, Self>) -> Reply {
        let _ = self.0.send(Seen::Ping(payload.clone()));
        Reply::Frame(Frame::Pong(payload))
    }

    fn terminate(&mut self, reason: &CloseReason) {
        let _ = self.0.send(Seen::Ended(reason.clone()));
    }
}

/// Accepts every request with a [`Recorder`], choosing the second subprotocol when the client
/// offers two or more.
fn decide(seen: UnboundedSender<Seen>) -> impl Fn(&UpgradeRequest) -> Decision<Recorder> + Send + Sync + 'static {
    move |request| {
        let accept = match request.subprotocols() {
            [_, second, ..] => Accept::new().subprotocol(second.clone()),
            _ => Accept::new(),
        };
        Decision::accept_with(Recorder(seen.clone()), accept)
    }
}

/// The server's config: permessage-deflate answered when `deflate` (compressing every message,
/// the empty ones too), else declined.
fn config(deflate: bool) -> Config {
    Config::default().deflate(deflate.then(|| DeflateConfig::default().threshold(0)))
}

/// An echo server on `127.0.0.1:0`, and what its handlers see.
async fn echo_server(deflate: bool) -> (Server<Recorder>, UnboundedReceiver<Seen>) {
    let (seen, seen_rx) = unbounded_channel();
    let server = wsx_tokio::server::builder()
        .config(config(deflate))
        .bind("127.0.0.1:0", decide(seen))
        .await
        .expect("bind the server");
    (server, seen_rx)
}

/// Everything the handler of the one connection saw, up to its end.
async fn seen_until_ended(seen: &mut UnboundedReceiver<Seen>) -> (Connected, Vec<Seen>) {
    let mut all = Vec::new();
    loop {
        let next = tokio::time::timeout(T, seen.recv()).await;
        let next = next.unwrap_or_else(|_| panic!("the connection did not end; the handler saw {all:?}"));
        let next = next.expect("the server's handlers are gone");
        let ended = matches!(next, Seen::Ended(_));
        all.push(next);
        if ended {
            break;
        }
    }
    match all.remove(0) {
        Seen::Connected(connected) => (connected, all),
        first => panic!("the handler saw {first:?} before the connection: {all:?}"),
    }
}

/// The client closed with `code` and `reason`, and the close handshake completed.
fn closed_by_client(code: u16, reason: &str) -> Seen {
    Seen::Ended(CloseReason::Remote(CloseStatus::Coded(CloseFrame::new(
        CloseCode(code),
        reason,
    ))))
}

/// Runs `peer`'s echo client against `server` (on a thread of its own: it blocks).
async fn echo_client(peer: Peer, server: &Server<Recorder>, path: &str, args: &[&str]) -> Vec<String> {
    let url = format!("ws://{}{path}", server.local_addr());
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_echo_client(peer, &url, &args)
    })
    .await
    .expect("the client thread")
}

/// `peer`'s echo client with or without permessage-deflate: every message and the ping reach
/// the handler in order, each comes back as sent, and the client's 4000 reaches the handler
/// and is answered with the same code.
async fn echo_client_round_trip(peer: Peer, compression: bool, name: &str) {
    let (server, mut seen) = echo_server(true).await;
    let args: &[&str] = if compression { &[] } else { &["--no-compression"] };
    let report = echo_client(peer, &server, "/echo?client=1", args).await;
    let (connected, handled) = seen_until_ended(&mut seen).await;

    assert_eq!(connected.path, "/echo?client=1");
    assert_eq!(connected.subprotocol, None);
    assert_eq!(
        connected.deflate, compression,
        "permessage-deflate negotiated from the offer {:?}: {:?}",
        connected.offered_extensions, connected.extensions
    );
    let mut expected: Vec<Seen> = messages().into_iter().map(Seen::Frame).collect();
    expected.push(Seen::Ping(Bytes::from(format!("{name} ping"))));
    expected.push(closed_by_client(4000, &format!("{name} done")));
    assert_eq!(handled, expected);

    let extensions = match compression {
        true => format!("extensions {}", connected.extensions.join(", ")),
        false => "extensions None".to_owned(),
    };
    let mut lines = vec!["subprotocol None".to_owned(), extensions];
    lines.extend(ECHO_LINES.map(str::to_owned));
    lines.push("pong".to_owned());
    // The server answers a close with its code alone.
    lines.push(r#"close 4000 """#.to_owned());
    assert_eq!(report, lines);
}

/// `peer`'s echo client offering two subprotocols gets the second, which the server's decide
/// function chose.
async fn echo_client_gets_the_chosen_subprotocol(peer: Peer) {
    let (server, mut seen) = echo_server(true).await;
    let report = echo_client(peer, &server, "/", &["--subprotocols", "wsx.first,wsx.second"]).await;
    let (connected, _) = seen_until_ended(&mut seen).await;
    assert_eq!(connected.offered_subprotocols, ["wsx.first", "wsx.second"]);
    assert_eq!(connected.subprotocol.as_deref(), Some("wsx.second"));
    assert_eq!(report[0], "subprotocol wsx.second");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_client_with_deflate() {
    echo_client_round_trip(Peer::PythonWebsockets, true, "python").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_client_without_compression() {
    echo_client_round_trip(Peer::PythonWebsockets, false, "python").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_client_gets_the_chosen_subprotocol() {
    echo_client_gets_the_chosen_subprotocol(Peer::PythonWebsockets).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_client_with_deflate() {
    echo_client_round_trip(Peer::NodeWs, true, "node").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_client_without_compression() {
    echo_client_round_trip(Peer::NodeWs, false, "node").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_client_gets_the_chosen_subprotocol() {
    echo_client_gets_the_chosen_subprotocol(Peer::NodeWs).await;
}

// ---------------------------------------------------------------------------------------------
// tokio-tungstenite, in process

/// The next message a tungstenite client reads.
async fn next_message<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>) -> Message
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    tokio::time::timeout(T, ws.next())
        .await
        .expect("the server did not answer")
        .expect("the connection ended")
        .expect("a message")
}

/// Drives a tungstenite client through text, binary (1 MiB and empty too), a ping and a close
/// with 4000, checking each answer; returns the server's close frame.
async fn tungstenite_round_trip<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>) -> TungsteniteCloseFrame
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    for frame in messages() {
        let message = match frame {
            Frame::Text(text) => Message::text(text.as_str()),
            Frame::Binary(data) => Message::binary(data),
            other => unreachable!("{other:?}"),
        };
        ws.send(message.clone()).await.expect("send");
        assert_eq!(next_message(ws).await, message);
    }
    ws.send(Message::Ping(Bytes::from_static(b"tungstenite ping")))
        .await
        .expect("send the ping");
    assert_eq!(
        next_message(ws).await,
        Message::Pong(Bytes::from_static(b"tungstenite ping"))
    );
    let close = TungsteniteCloseFrame {
        code: TungsteniteCloseCode::from(4000),
        reason: "tungstenite done".into(),
    };
    ws.send(Message::Close(Some(close))).await.expect("send the close");
    let answer = match next_message(ws).await {
        Message::Close(Some(frame)) => frame,
        other => panic!("expected the server's close, got {other:?}"),
    };
    // The server then closes TCP.
    assert!(tokio::time::timeout(T, ws.next()).await.expect("TCP closed").is_none());
    answer
}

/// What the handler of a tungstenite client's connection must have seen.
fn tungstenite_seen() -> Vec<Seen> {
    let mut expected: Vec<Seen> = messages().into_iter().map(Seen::Frame).collect();
    expected.push(Seen::Ping(Bytes::from_static(b"tungstenite ping")));
    expected.push(closed_by_client(4000, "tungstenite done"));
    expected
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tungstenite_client() {
    let (server, mut seen) = echo_server(true).await;
    let url = format!("ws://{}/tungstenite", server.local_addr());
    let (mut ws, response) = tokio_tungstenite::connect_async(url).await.expect("connect");
    // Tungstenite offers no extensions: none is answered.
    assert_eq!(response.headers().get("sec-websocket-extensions"), None);
    let close = tungstenite_round_trip(&mut ws).await;
    assert_eq!((u16::from(close.code), close.reason.as_str()), (4000, ""));

    let (connected, handled) = seen_until_ended(&mut seen).await;
    assert_eq!(connected.path, "/tungstenite");
    assert!(!connected.deflate);
    assert_eq!(handled, tungstenite_seen());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tungstenite_client_over_tls() {
    let pki = TestPki::new();
    let (seen_tx, mut seen) = unbounded_channel();
    let server = wsx_tokio::server::builder()
        .tls(pki.server_config())
        .bind("127.0.0.1:0", decide(seen_tx))
        .await
        .expect("bind the TLS server");

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(pki.ca_der.clone()))
        .expect("the test CA");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client_config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let url = format!("wss://localhost:{}/tls", server.local_addr().port());
    let connector = Connector::Rustls(Arc::new(client_config));
    let (mut ws, _) = tokio_tungstenite::connect_async_tls_with_config(url, None, false, Some(connector))
        .await
        .expect("connect over TLS, trusting the test CA");
    let close = tungstenite_round_trip(&mut ws).await;
    assert_eq!((u16::from(close.code), close.reason.as_str()), (4000, ""));

    let (connected, handled) = seen_until_ended(&mut seen).await;
    assert_eq!(connected.path, "/tls");
    assert_eq!(handled, tungstenite_seen());
}

// ---------------------------------------------------------------------------------------------
// Headless Chromium

/// Chromium's page (`browser_client.html`) against the server with permessage-deflate on or
/// off: the page's messages, its verdict and its 4001 reach the handler in order, and the page
/// saw every echo, the extension the server answered, and a clean close.
async fn chromium_round_trip(deflate: bool) {
    let (server, mut seen) = echo_server(deflate).await;
    let url = format!("ws://{}/chromium", server.local_addr());
    let run = tokio::task::spawn_blocking(move || run_browser_client(&url))
        .await
        .expect("the browser thread");
    let (connected, handled) = seen_until_ended(&mut seen).await;

    assert_eq!(connected.path, "/chromium");
    assert_eq!(connected.origin.as_deref(), Some(run.page_origin.as_str()));
    // Chromium always offers permessage-deflate.
    assert!(
        connected
            .offered_extensions
            .first()
            .is_some_and(|offer| offer.starts_with("permessage-deflate")),
        "{:?}",
        connected.offered_extensions
    );
    assert_eq!(connected.deflate, deflate, "{:?}", connected.extensions);
    let big: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    let expected = vec![
        Seen::Frame(Frame::text("hello from chromium ✓")),
        Seen::Frame(Frame::binary(vec![0u8, 1, 2, 255])),
        Seen::Frame(Frame::binary(big)),
        Seen::Frame(Frame::binary(Vec::new())),
        Seen::Frame(Frame::text("")),
        Seen::Frame(Frame::text("ok")),
        closed_by_client(4001, "chromium done"),
    ];
    assert_eq!(handled, expected);

    let extensions = match deflate {
        true => format!("extensions {}", connected.extensions.join(", ")),
        false => "extensions None".to_owned(),
    };
    let lines = [
        extensions.as_str(),
        "echo text 23",
        "echo binary 4",
        "echo binary 1048576",
        "echo binary 0",
        "echo text 0",
        r#"close 4001 "" clean=true"#,
    ];
    assert_eq!(run.report, lines);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_client_with_deflate() {
    chromium_round_trip(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_client_without_deflate() {
    chromium_round_trip(false).await;
}
