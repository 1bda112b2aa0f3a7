//! Echo and close against a local tungstenite server, under async-std, under smol, on a thread
//! of its own and on a custom executor; plus pipelined sends, `wss://` and failed starts.

#[path = "../examples/support/echo_server.rs"]
mod echo_server;

use std::future::Future;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_io::Timer;
use futures_lite::FutureExt;
use wsx_async_std::executor::Start;
use wsx_async_std::{
    client::Status, executor::AsyncStd, executor::ConnectionTask, executor::Custom, executor::OwnThread,
    executor::Smol, executor::Spawn, executor::StartFuture, Builder, Client, CloseReason, ConnectSettings, Context,
    Error, Frame, Handler, Reply, Response, SendError,
};

/// Forwards received text to the test, replies to casts with a text frame, and notes the
/// thread its callbacks run on.
struct Collector {
    texts: async_channel::Sender<String>,
    thread: Arc<Mutex<Option<String>>>,
}

impl Collector {
    fn new() -> (Self, async_channel::Receiver<String>, Arc<Mutex<Option<String>>>) {
        let (texts, rx) = async_channel::unbounded();
        let thread = Arc::new(Mutex::new(None));
        let collector = Self {
            texts,
            thread: thread.clone(),
        };
        (collector, rx, thread)
    }
}

impl Handler for Collector {
    type Cast = String;
    type Info = ();

    fn handle_connect(&mut self, _response: &Response, _ctx: &mut Context<'_, Self>) {
        *self.thread.lock().unwrap() = std::thread::current().name().map(str::to_owned);
    }

    fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        if let Frame::Text(text) = frame {
            let _ = self.texts.try_send(text.to_string());
        }
        Reply::Continue
    }

    fn handle_cast(&mut self, text: String, _ctx: &mut Context<'_, Self>) -> Reply {
        Reply::Frame(Frame::text(text))
    }
}

/// An executor this test can start a `Collector` on.
trait Exec: Start<Collector, Output = StartFuture<Collector>> {}
impl<E: Start<Collector, Output = StartFuture<Collector>>> Exec for E {}

struct Started {
    client: Client<Collector>,
    texts: async_channel::Receiver<String>,
    thread: Arc<Mutex<Option<String>>>,
}

async fn start<E: Exec>(settings: ConnectSettings) -> Started {
    let (handler, texts, thread) = Collector::new();
    let client = within(Builder::<E>::new(settings).start(handler))
        .await
        .expect("connects");
    Started { client, texts, thread }
}

/// Fails the test instead of hanging.
async fn within<T>(future: impl Future<Output = T>) -> T {
    future
        .or(async {
            Timer::after(Duration::from_secs(10)).await;
            panic!("timed out");
        })
        .await
}

/// Echo through `send_frame`, a cast and `send`, then a normal close; returns the name of the
/// thread the callbacks ran on.
async fn echo_and_close<E: Exec>() -> Option<String> {
    let url = echo_server::start().unwrap();
    let Started { client, texts, thread } = start::<E>(ConnectSettings::new(&url).unwrap()).await;
    assert_eq!(client.status(), Status::Connected);

    client.send_frame(Frame::text("hello")).await.unwrap();
    client.cast("cast".to_string()).unwrap();
    client.send(Frame::text("queued")).await.unwrap();
    assert_eq!(within(texts.recv()).await.unwrap(), "hello");
    assert_eq!(within(texts.recv()).await.unwrap(), "cast");
    assert_eq!(within(texts.recv()).await.unwrap(), "queued");

    client.close().unwrap();
    let reason = within(client.wait()).await;
    assert!(
        matches!(reason, CloseReason::Local(_)) && reason.is_normal(),
        "{reason}"
    );
    assert_eq!(client.status(), Status::Terminated(reason.clone()));
    assert_eq!(
        client.send_frame(Frame::text("late")).await,
        Err(SendError::ConnectionFailed(Some(reason)))
    );
    let stats = client.stats();
    assert_eq!((stats.frames_out, stats.frames_in), (4, 4), "{stats:?}"); // 3 texts + close, each way
    let name = thread.lock().unwrap().clone();
    name
}

#[test]
fn echo_and_close_under_async_std() {
    let thread = async_std::task::block_on(echo_and_close::<AsyncStd>());
    assert_eq!(thread.as_deref(), Some("async-std/runtime"));
}

#[test]
fn echo_and_close_under_smol() {
    let thread = smol::block_on(echo_and_close::<Smol>());
    assert!(thread.as_deref().is_some_and(|t| t.starts_with("smol")), "{thread:?}");
}

#[test]
fn echo_and_close_on_a_thread_of_its_own() {
    let thread = futures_lite::future::block_on(echo_and_close::<OwnThread>());
    assert_eq!(thread.as_deref(), Some("wsx-async-std"));
}

static EXECUTOR: smol::Executor<'static> = smol::Executor::new();

/// An executor run by the test's own thread.
enum TestExecutor {}

impl Spawn for TestExecutor {
    fn spawn(task: ConnectionTask) -> std::io::Result<()> {
        EXECUTOR.spawn(task).detach();
        Ok(())
    }
}

#[test]
fn echo_and_close_on_a_custom_executor() {
    // The test's thread runs the executor while it waits for the result.
    let thread = smol::block_on(EXECUTOR.run(echo_and_close::<Custom<TestExecutor>>()));
    assert_eq!(thread.as_deref(), Some("echo_and_close_on_a_custom_executor"));
}

#[test]
fn default_executor_is_smol() {
    let url = echo_server::start().unwrap();
    let (handler, _texts, thread) = Collector::new();
    smol::block_on(async {
        let client = within(Client::start(url.as_str(), handler)).await.unwrap();
        client.close().unwrap();
        assert!(within(client.wait()).await.is_normal());
    });
    let thread = thread.lock().unwrap().clone();
    assert!(thread.as_deref().is_some_and(|t| t.starts_with("smol")), "{thread:?}");
}

async fn pipelined<E: Exec>() {
    const COUNT: usize = 10_000;
    let url = echo_server::start().unwrap();
    let Started { client, texts, .. } = start::<E>(ConnectSettings::new(&url).unwrap()).await;
    let sender = client.clone();
    let sending = async move {
        for i in 0..COUNT {
            sender.send(Frame::text(i.to_string())).await.unwrap();
        }
    };
    let receiving = async {
        for i in 0..COUNT {
            assert_eq!(texts.recv().await.unwrap(), i.to_string());
        }
    };
    within(futures_lite::future::zip(sending, receiving)).await;
    client.close().unwrap();
    assert!(within(client.wait()).await.is_normal());
    // The echoes and the server's close frame.
    assert_eq!(client.stats().frames_in, COUNT as u64 + 1);
}

#[test]
fn pipelined_sends_arrive_in_order_under_async_std() {
    async_std::task::block_on(pipelined::<AsyncStd>());
}

#[test]
fn pipelined_sends_arrive_in_order_under_smol() {
    smol::block_on(pipelined::<Smol>());
}

#[test]
fn refused_connection_is_returned_from_start() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("ws://127.0.0.1:{port}/");
    let started = [
        async_std::task::block_on(within(Builder::<AsyncStd>::new(url.as_str()).start(Collector::new().0))),
        smol::block_on(within(Builder::<Smol>::new(url.as_str()).start(Collector::new().0))),
    ];
    for started in started {
        match started {
            Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused),
            other => panic!("expected connection refused, got {other:?}"),
        }
    }
}

/// A TLS echo server (rustls + tungstenite, a thread per connection) for `localhost` with a
/// fresh self-signed certificate; returns its URL and the certificate.
fn start_tls_echo_server() -> (String, Vec<u8>) {
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_der = cert.cert.der().to_vec();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key_pair.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert_der.clone().into()], key)
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("wss://localhost:{}/", listener.local_addr().unwrap().port());
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let config = config.clone();
            std::thread::spawn(move || serve_tls(tcp, config));
        }
    });
    (url, cert_der)
}

fn serve_tls(tcp: TcpStream, config: Arc<rustls::ServerConfig>) {
    let Ok(conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    let Ok(mut ws) = tungstenite::accept(rustls::StreamOwned::new(conn, tcp)) else {
        return;
    };
    loop {
        match ws.read() {
            Ok(msg @ (tungstenite::Message::Text(_) | tungstenite::Message::Binary(_))) => {
                if ws.send(msg).is_err() {
                    return;
                }
            }
            Ok(tungstenite::Message::Close(_)) => {
                let _ = ws.flush();
                ws.get_mut().conn.send_close_notify();
                let _ = ws.flush();
                return;
            }
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

async fn tls_echo<E: Exec>() {
    let (url, cert) = start_tls_echo_server();
    // `localhost` goes through name resolution; the certificate is trusted explicitly.
    let settings = ConnectSettings::new(&url).unwrap().ca_certificate(cert);
    let Started { client, texts, .. } = start::<E>(settings).await;
    client.send_frame(Frame::text("secret")).await.unwrap();
    assert_eq!(within(texts.recv()).await.unwrap(), "secret");
    client.close().unwrap();
    let reason = within(client.wait()).await;
    assert!(reason.is_normal(), "{reason}");
}

#[test]
fn tls_echo_under_async_std() {
    async_std::task::block_on(tls_echo::<AsyncStd>());
}

#[test]
fn tls_echo_under_smol() {
    smol::block_on(tls_echo::<Smol>());
}

#[test]
fn untrusted_certificate_fails_the_start() {
    let (url, _cert) = start_tls_echo_server();
    let started = smol::block_on(within(Builder::<Smol>::new(url.as_str()).start(Collector::new().0)));
    match started {
        Err(Error::Io(e)) => assert!(e.to_string().contains("certificate"), "{e}"),
        other => panic!("expected a certificate error, got {other:?}"),
    }
}

/// The handle's futures can be spawned on multi-threaded executors.
#[allow(dead_code)]
fn handle_futures_are_send(client: Client<Collector>) {
    fn send<T: Send>(_: T) {}
    send(client.send_frame(Frame::text("x")));
    send(client.send(Frame::text("x")));
    send(client.wait());
    send(Client::start("ws://127.0.0.1:1/", Collector::new().0));
    send(Builder::<AsyncStd>::new("ws://127.0.0.1:1/").start(Collector::new().0));
}
