//! The WebSockex-style trace messages (target `wsx`).
//!
//! A binary of its own on purpose: tracing caches each call site's interest when the site is
//! first hit, so call sites hit concurrently by other tests (with no subscriber) while this
//! test's scoped subscriber is being installed could be cached as uninteresting, and their
//! events lost. Alone in its process, this test is the only one that hits them.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use wsx_testing::{Script, Step, TestServer};
use wsx_tokio::{close::CloseStatus, Client, CloseReason, ConnectSettings, Context, Frame, Handler, Reply};

const T: Duration = Duration::from_secs(5);

/// Forwards frames to the test.
struct Recorder(UnboundedSender<Frame>);

impl Handler for Recorder {
    type Cast = ();
    type Info = ();

    fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        let _ = self.0.send(frame);
        Reply::Continue
    }
}

fn recorder() -> (Recorder, UnboundedReceiver<Frame>) {
    let (tx, rx) = unbounded_channel();
    (Recorder(tx), rx)
}

async fn wait(client: &Client<Recorder>) -> CloseReason {
    tokio::time::timeout(T, client.wait())
        .await
        .expect("the client did not stop")
}

/// Collects the messages of events with target `wsx`.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() != "wsx" {
            return;
        }
        struct Message<'a>(&'a mut String);
        impl tracing::field::Visit for Message<'_> {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    *self.0 = format!("{value:?}");
                }
            }
        }
        let mut message = String::new();
        event.record(&mut Message(&mut message));
        self.0.lock().unwrap().push(message);
    }
}

/// Runs `f` with a `Capture` as this thread's subscriber. The test runtime is single-threaded,
/// so the client's task runs on this thread and its events are captured.
async fn captured<F: Future<Output = ()>>(f: F) -> Vec<String> {
    use tracing_subscriber::layer::SubscriberExt;
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let _default = tracing::subscriber::set_default(subscriber);
    f.await;
    let messages = capture.0.lock().unwrap().clone();
    messages
}

#[tokio::test]
async fn traces_websockex_style_messages() {
    let messages = captured(async {
        // Ping first, then echo: by the time the echo arrives the ping has been answered.
        let server = TestServer::start(Script::new(vec![Step::ping(b"hb"), Step::Echo]));
        let (handler, mut got) = recorder();
        let client = Client::start(server.url(), handler).await.expect("connect");
        client.send_frame(Frame::text("traced")).await.unwrap();
        let echoed = tokio::time::timeout(T, got.recv()).await.expect("timed out");
        assert_eq!(echoed, Some(Frame::text("traced")));
        client.close().unwrap();
        assert_eq!(wait(&client).await, CloseReason::Local(CloseStatus::Normal));

        // A server that never answers the close.
        let silent = TestServer::start(Script::new(vec![Step::IgnoreClose]));
        let settings = ConnectSettings::new(&silent.url())
            .unwrap()
            .close_timeout(Duration::from_millis(200));
        let client = Client::start(settings, recorder().0).await.expect("connect");
        client.close().unwrap();
        assert_eq!(wait(&client).await, CloseReason::LocalTimedOut(CloseStatus::Normal));
    })
    .await;
    for expected in [
        "attempting to connect",
        "successfully connected",
        "sending frame",
        "received frame",
        "replying from handle_ping",
        "closing with local reason",
        "forcefully closed",
    ] {
        assert!(
            messages.iter().any(|m| m.contains(expected)),
            "no trace message containing {expected:?} in {messages:#?}"
        );
    }
}
