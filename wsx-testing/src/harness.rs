//! The adapter-neutral side of the suite: the blocking-style API every adapter implements for
//! the tests ([`TestAdapter`], [`TestClient`]), the handler the scenarios run ([`Probe`]), and
//! the log of its callbacks ([`Events`]).

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use bytes::Bytes;
use wsx_driver::client::BufferedBytes;
use wsx_proto::{
    client::Status, config::IntoConnectSettings, telemetry::Observer, telemetry::StatsSnapshot, telemetry::Telemetry,
    telemetry::TelemetryKind, CloseCode, CloseReason, ConnectSettings, Context, DisconnectStatus, Error, Frame,
    Handler, Reconnect, Reply, Response, SendError,
};

/// Start options, as every adapter's builder has them (the harness's own, adapter-neutral
/// form of `wsx_proto::session::StartOptions`).
#[derive(Clone, Default)]
pub struct TestOptions {
    /// Return at once and connect in the background.
    pub async_start: bool,
    /// Route a failed first connect to `handle_disconnect` instead of returning it.
    pub handle_initial_conn_failure: bool,
    /// Telemetry observers.
    pub observers: Vec<Arc<dyn Observer>>,
    /// The builder's `send_buffer` (its default when `None`).
    pub send_buffer: Option<usize>,
}

impl fmt::Debug for TestOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestOptions")
            .field("async_start", &self.async_start)
            .field("handle_initial_conn_failure", &self.handle_initial_conn_failure)
            .field("observers", &self.observers.len())
            .finish()
    }
}

impl TestOptions {
    /// Sets `async_start`.
    pub fn async_start(mut self, on: bool) -> Self {
        self.async_start = on;
        self
    }

    /// Sets `handle_initial_conn_failure`.
    pub fn handle_initial_conn_failure(mut self, on: bool) -> Self {
        self.handle_initial_conn_failure = on;
        self
    }

    /// Sets the send buffer.
    pub fn send_buffer(mut self, bytes: usize) -> Self {
        self.send_buffer = Some(bytes);
        self
    }

    /// Adds an observer.
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observers.push(observer);
        self
    }
}

/// A running client, driven with blocking calls. Async adapters block on their runtime.
/// Errors and status are wsx-proto's shared [`SendError`] and [`Status`].
pub trait TestClient<H: Handler>: Clone + fmt::Debug + Send + Sync + 'static {
    /// `cast`.
    fn cast(&self, msg: H::Cast) -> Result<(), SendError>;
    /// `send_frame` with a timeout; must also work (by failing) from the client's own callbacks.
    fn send_frame(&self, frame: Frame, timeout: Duration) -> Result<(), SendError>;
    /// The pipelined `send`.
    fn send(&self, frame: Frame) -> Result<(), SendError>;
    /// `send_all`, the batch path.
    fn send_all(&self, frames: Vec<Frame>) -> Result<(), SendError>;
    /// The frames through the client's `futures::Sink` (`SinkExt::send_all`), where the
    /// adapter has one; `send_all` otherwise.
    fn send_via_sink(&self, frames: Vec<Frame>) -> Result<(), SendError>;
    /// `send_uncompressed`: pipelined, never compressed.
    fn send_uncompressed(&self, frame: Frame) -> Result<(), SendError>;
    /// `close` (1000).
    fn close(&self) -> Result<(), SendError>;
    /// `close_with`.
    fn close_with(&self, code: CloseCode, reason: &str) -> Result<(), SendError>;
    /// Waits for the final reason, at most `timeout`.
    fn wait(&self, timeout: Duration) -> Option<CloseReason>;
    /// Frame and byte counters.
    fn stats(&self) -> StatsSnapshot;
    /// The current status.
    fn status(&self) -> Status;
    /// Outgoing bytes held in memory.
    fn buffered(&self) -> BufferedBytes;
}

/// One adapter, as the suite sees it.
pub trait TestAdapter: Sized + 'static {
    /// The adapter's client handle, wrapped.
    type Client<H: Handler>: TestClient<H>;

    /// Starts a client like the adapter's builder does.
    fn start<H: Handler>(
        settings: impl IntoConnectSettings,
        handler: H,
        options: TestOptions,
    ) -> Result<Self::Client<H>, Error>;

    /// The client handle reachable from a callback's context (the adapter's `ContextExt`).
    fn client_from_context<H: Handler>(ctx: &Context<'_, H>) -> Self::Client<H>;

    /// Tasks alive on the runtime the clients run on, where the runtime counts them (for the
    /// soak's leak check).
    fn live_tasks() -> Option<usize> {
        None
    }
}

/// Runs a future to completion on this thread (a minimal `futures::executor::block_on`).
/// Async adapters use it inside callbacks, where their runtime's own `block_on` refuses to run;
/// enter the runtime's context first if the future needs its timers.
pub fn block_on<F: Future>(future: F) -> F::Output {
    struct ThreadWaker {
        thread: Thread,
        woken: AtomicBool,
    }
    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.woken.store(true, Ordering::Release);
            self.thread.unpark();
        }
    }
    let state = Arc::new(ThreadWaker {
        thread: thread::current(),
        woken: AtomicBool::new(false),
    });
    let waker = Waker::from(state.clone());
    let mut cx = TaskContext::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        while !state.woken.swap(false, Ordering::Acquire) {
            thread::park();
        }
    }
}

/// Messages the scenarios cast to a [`Probe`].
#[derive(Debug, Clone)]
pub enum Cmd {
    /// `handle_cast` returns this reply.
    Reply(Reply),
    /// `handle_cast` calls `ctx.send_after(delay, n)`; `handle_info(n)` then replies with the
    /// text `info n`.
    SendAfter(Duration, u32),
    /// `handle_cast` calls the client's blocking `send_frame` on itself (must fail with
    /// [`SendError::FromCallback`]) and records the result as [`Ev::SendResult`].
    SendFrameFromCallback(Frame),
    /// `handle_cast` casts the inner command to its own client (through the context) and
    /// records the result as [`Ev::SendResult`].
    CastToSelf(Box<Cmd>),
    /// `handle_cast` panics with this message (after recording [`Ev::Cast`]).
    Panic(String),
    /// `handle_cast` panics with a payload that is not a string (`std::panic::panic_any(42)`).
    PanicNonString,
}

/// What a [`Probe`]'s callbacks saw, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Ev {
    /// `handle_connect`.
    Connected {
        /// How many times `handle_connect` has run on this handler (state kept across reconnects).
        count: u32,
        /// The subprotocol the server chose.
        subprotocol: Option<String>,
        /// The `X-Test-Server` response header.
        server_header: Option<String>,
        /// Whether `ctx.response()` was available too.
        ctx_has_response: bool,
        /// The `Sec-WebSocket-Extensions` response header.
        extensions: Option<String>,
        /// Which HTTP opened the WebSocket.
        http_version: wsx_proto::http2::HttpVersion,
        /// On a server: the path the client asked for.
        request_path: Option<String>,
    },
    /// `handle_frame`.
    Frame(Frame),
    /// `handle_cast` (before acting on it).
    Cast,
    /// `handle_info`.
    Info(u32),
    /// `handle_pong`.
    Pong(Bytes),
    /// `handle_disconnect`.
    Disconnect {
        /// The reason.
        reason: CloseReason,
        /// The attempt number.
        attempt: u32,
        /// The URL of the settings that were used.
        url: String,
    },
    /// `terminate`.
    Terminate(CloseReason),
    /// What a callback's own `send_frame` returned.
    SendResult(Result<(), SendError>),
}

type DisconnectFn = Box<dyn FnMut(&DisconnectStatus) -> Reconnect + Send>;

/// Which [`Probe`] callbacks panic, and with what message. Each records its event first.
#[derive(Debug, Clone, Default)]
struct PanicPlan {
    connect: Option<String>,
    frame: Option<String>,
    disconnect: Option<String>,
    terminate: Option<String>,
    /// How long the callback takes before it panics.
    delay: Duration,
}

impl PanicPlan {
    /// Panics with `msg` if there is one (a `String` payload, as `panic!("{msg}")` makes).
    fn maybe(&self, msg: &Option<String>) {
        if let Some(msg) = msg {
            std::thread::sleep(self.delay);
            panic!("{msg}");
        }
    }
}

/// The handler the scenarios run: records every callback into [`Events`], echoes data frames
/// if asked, obeys [`Cmd`]s, and asks a closure what `handle_disconnect` returns (default
/// [`Reconnect::Stop`]). It keeps the default `handle_ping`, so pongs come from the trait.
/// It can be told to panic in a callback ([`Probe::panic_on_frame`] and friends,
/// [`Cmd::Panic`]).
pub struct Probe<A> {
    tx: Sender<Ev>,
    connects: u32,
    echo: bool,
    on_disconnect: DisconnectFn,
    panics: PanicPlan,
    _adapter: PhantomData<fn() -> A>,
}

impl<A> fmt::Debug for Probe<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Probe")
            .field("connects", &self.connects)
            .field("echo", &self.echo)
            .field("panics", &self.panics)
            .finish_non_exhaustive()
    }
}

impl<A: TestAdapter> Probe<A> {
    /// A probe and the log it writes to.
    pub fn new() -> (Self, Events) {
        let (tx, rx) = mpsc::channel();
        let probe = Self {
            tx,
            connects: 0,
            echo: false,
            on_disconnect: Box::new(|_| Reconnect::Stop),
            panics: PanicPlan::default(),
            _adapter: PhantomData,
        };
        (probe, Events::new(rx))
    }

    /// Replies to every text or binary message with the same message.
    pub fn echo(mut self) -> Self {
        self.echo = true;
        self
    }

    /// Decides what `handle_disconnect` returns.
    pub fn on_disconnect(mut self, f: impl FnMut(&DisconnectStatus) -> Reconnect + Send + 'static) -> Self {
        self.on_disconnect = Box::new(f);
        self
    }

    /// `handle_connect` panics with `msg`, after recording [`Ev::Connected`].
    pub fn panic_on_connect(mut self, msg: &str) -> Self {
        self.panics.connect = Some(msg.to_owned());
        self
    }

    /// `handle_frame` panics with `msg`, after recording [`Ev::Frame`] (and without echoing).
    pub fn panic_on_frame(mut self, msg: &str) -> Self {
        self.panics.frame = Some(msg.to_owned());
        self
    }

    /// `handle_disconnect` panics with `msg`, after recording [`Ev::Disconnect`].
    pub fn panic_on_disconnect(mut self, msg: &str) -> Self {
        self.panics.disconnect = Some(msg.to_owned());
        self
    }

    /// `terminate` panics with `msg`, after recording [`Ev::Terminate`].
    pub fn panic_on_terminate(mut self, msg: &str) -> Self {
        self.panics.terminate = Some(msg.to_owned());
        self
    }

    /// Each planned panic comes after the callback has taken `delay` (a slow callback, or a
    /// panic hook printing a backtrace).
    pub fn panic_after(mut self, delay: Duration) -> Self {
        self.panics.delay = delay;
        self
    }

    fn record(&self, ev: Ev) {
        let _ = self.tx.send(ev);
    }
}

impl<A: TestAdapter> Handler for Probe<A> {
    type Cast = Cmd;
    type Info = u32;

    fn handle_connect(&mut self, response: &Response, ctx: &mut Context<'_, Self>) {
        self.connects += 1;
        self.record(Ev::Connected {
            count: self.connects,
            subprotocol: response.subprotocol.clone(),
            server_header: response
                .header("X-Test-Server")
                .map(|v| String::from_utf8_lossy(v).into_owned()),
            ctx_has_response: ctx.response() == Some(response),
            extensions: response
                .header("Sec-WebSocket-Extensions")
                .map(|v| String::from_utf8_lossy(v).into_owned()),
            http_version: response.http_version(),
            request_path: ctx.request().map(|request| request.path().to_owned()),
        });
        self.panics.maybe(&self.panics.connect);
    }

    fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        self.record(Ev::Frame(frame.clone()));
        self.panics.maybe(&self.panics.frame);
        match frame {
            Frame::Text(_) | Frame::Binary(_) if self.echo => Reply::Frame(frame),
            _ => Reply::Continue,
        }
    }

    fn handle_cast(&mut self, msg: Cmd, ctx: &mut Context<'_, Self>) -> Reply {
        self.record(Ev::Cast);
        match msg {
            Cmd::Reply(reply) => reply,
            Cmd::SendAfter(delay, n) => {
                ctx.send_after(delay, n);
                Reply::Continue
            }
            Cmd::SendFrameFromCallback(frame) => {
                let client = A::client_from_context(ctx);
                let result = client.send_frame(frame, Duration::from_secs(2));
                self.record(Ev::SendResult(result));
                Reply::Continue
            }
            Cmd::CastToSelf(inner) => {
                let result = A::client_from_context(ctx).cast(*inner);
                self.record(Ev::SendResult(result));
                Reply::Continue
            }
            Cmd::Panic(msg) => panic!("{msg}"),
            Cmd::PanicNonString => std::panic::panic_any(42u32),
        }
    }

    fn handle_info(&mut self, n: u32, _ctx: &mut Context<'_, Self>) -> Reply {
        self.record(Ev::Info(n));
        Reply::Frame(Frame::text(format!("info {n}")))
    }

    fn handle_pong(&mut self, payload: Bytes, _ctx: &mut Context<'_, Self>) -> Reply {
        self.record(Ev::Pong(payload));
        Reply::Continue
    }

    fn handle_disconnect(&mut self, status: DisconnectStatus) -> Reconnect {
        self.record(Ev::Disconnect {
            reason: status.reason.clone(),
            attempt: status.attempt,
            url: status.settings.url().as_str().to_owned(),
        });
        self.panics.maybe(&self.panics.disconnect);
        (self.on_disconnect)(&status)
    }

    fn terminate(&mut self, reason: &CloseReason) {
        self.record(Ev::Terminate(reason.clone()));
        self.panics.maybe(&self.panics.terminate);
    }
}

/// The log a [`Probe`] writes: wait for events, and keep all of them for counting.
#[derive(Debug)]
pub struct Events {
    rx: Receiver<Ev>,
    seen: Vec<Ev>,
    /// Index in `seen` of the first event not yet consumed by `wait_for`.
    cursor: usize,
    disconnected: bool,
}

impl Events {
    fn new(rx: Receiver<Ev>) -> Self {
        Self {
            rx,
            seen: Vec::new(),
            cursor: 0,
            disconnected: false,
        }
    }

    fn pull(&mut self, deadline: Instant) -> bool {
        if self.disconnected {
            return false;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(left) {
            Ok(ev) => {
                self.seen.push(ev);
                true
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => {
                self.disconnected = true;
                false
            }
        }
    }

    /// The first event after the last one matched for which `f` returns `Some`; events before
    /// it are skipped (but stay in [`all`](Self::all)). Panics with the log on timeout.
    pub fn wait_for<T>(&mut self, what: &str, timeout: Duration, mut f: impl FnMut(&Ev) -> Option<T>) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            while self.cursor < self.seen.len() {
                let i = self.cursor;
                self.cursor += 1;
                if let Some(t) = f(&self.seen[i]) {
                    return t;
                }
            }
            // `pull` fails on timeout, or when the handler is gone and nothing more can come.
            if !self.pull(deadline) {
                panic!("no {what} within {timeout:?}; callbacks so far: {:#?}", self.seen);
            }
        }
    }

    /// Waits for a data frame delivered to `handle_frame`.
    pub fn frame(&mut self, timeout: Duration) -> Frame {
        self.wait_for("handle_frame", timeout, |ev| match ev {
            Ev::Frame(f) => Some(f.clone()),
            _ => None,
        })
    }

    /// Collects everything still to come, until the handler is dropped or `grace` passes.
    pub fn drain(&mut self, grace: Duration) -> &[Ev] {
        let deadline = Instant::now() + grace;
        while self.pull(deadline) {}
        &self.seen
    }

    /// Every event received so far.
    pub fn all(&self) -> &[Ev] {
        &self.seen
    }

    /// How many events received so far (including any already queued) match.
    pub fn count(&mut self, f: impl Fn(&Ev) -> bool) -> usize {
        while !self.disconnected {
            match self.rx.try_recv() {
                Ok(ev) => self.seen.push(ev),
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => self.disconnected = true,
            }
        }
        self.seen.iter().filter(|e| f(e)).count()
    }
}

/// Counts telemetry events by kind, in order.
#[derive(Debug, Default)]
pub struct TelemetryLog(Mutex<Vec<&'static str>>);

impl TelemetryLog {
    /// The kinds seen so far, in order: `connected`, `disconnected`, `frame_received`,
    /// `frame_sent`, `terminate`.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.0.lock().unwrap().clone()
    }

    /// How many of `kind`.
    pub fn count(&self, kind: &str) -> usize {
        self.0.lock().unwrap().iter().filter(|k| **k == kind).count()
    }
}

impl Observer for TelemetryLog {
    fn observe(&self, event: &Telemetry<'_>) {
        let kind = match event.kind {
            TelemetryKind::Connected(_) => "connected",
            TelemetryKind::Disconnected(_) => "disconnected",
            TelemetryKind::FrameReceived(_) => "frame_received",
            TelemetryKind::FrameSent(_) => "frame_sent",
            TelemetryKind::Terminate(_) => "terminate",
            _ => "other",
        };
        self.0.lock().unwrap().push(kind);
    }
}

/// Settings for `url`, panicking on a bad URL (for test servers' URLs).
pub fn settings(url: &str) -> ConnectSettings {
    ConnectSettings::new(url).expect("test URL")
}
