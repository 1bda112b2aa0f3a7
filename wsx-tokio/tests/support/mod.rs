//! wsx-tokio as `wsx-testing` drives it: a `TestAdapter` for the behaviour suite and the soak.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::runtime::{Builder, Runtime};
use wsx_testing::{block_on, TestAdapter, TestClient, TestOptions};
use wsx_tokio::{
    client::Status, config::IntoConnectSettings, telemetry::StatsSnapshot, Client, CloseCode, CloseReason, Context,
    ContextExt, Error, Frame, Handler, SendError,
};

/// One multi-threaded runtime for all tests: clients outlive the calls that start them.
fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

/// Blocks on `future` inside the runtime's context. Unlike `Runtime::block_on` this also works
/// on a runtime thread, i.e. inside a callback (a `futures::executor::block_on` equivalent).
/// The future is made inside the context too, since tokio's timers need it when created.
fn block<F: Future>(make: impl FnOnce() -> F) -> F::Output {
    let _context = runtime().enter();
    block_on(make())
}

pub struct Tokio;

pub struct TokioClient<H: Handler>(Client<H>);

impl<H: Handler> std::fmt::Debug for TokioClient<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<H: Handler> Clone for TokioClient<H> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<H: Handler> TestClient<H> for TokioClient<H> {
    fn cast(&self, msg: H::Cast) -> Result<(), SendError> {
        self.0.cast(msg)
    }

    fn send_frame(&self, frame: Frame, timeout: Duration) -> Result<(), SendError> {
        block(|| self.0.send_frame_timeout(frame, timeout))
    }

    fn send(&self, frame: Frame) -> Result<(), SendError> {
        block(|| self.0.send(frame))
    }

    fn send_all(&self, frames: Vec<Frame>) -> Result<(), SendError> {
        block(|| self.0.send_all(frames))
    }

    fn send_uncompressed(&self, frame: Frame) -> Result<(), SendError> {
        block(|| self.0.send_uncompressed(frame))
    }

    fn send_via_sink(&self, frames: Vec<Frame>) -> Result<(), SendError> {
        use futures_util::SinkExt;
        let mut items = futures_util::stream::iter(frames.into_iter().map(Ok));
        block(|| async { self.0.sink().send_all(&mut items).await })
    }

    fn close(&self) -> Result<(), SendError> {
        self.0.close()
    }

    fn close_with(&self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        self.0.close_with(code, reason)
    }

    fn wait(&self, timeout: Duration) -> Option<CloseReason> {
        block(|| tokio::time::timeout(timeout, self.0.wait())).ok()
    }

    fn stats(&self) -> StatsSnapshot {
        self.0.stats()
    }

    fn status(&self) -> Status {
        self.0.status()
    }

    fn buffered(&self) -> wsx_testing::BufferedBytes {
        self.0.buffered_bytes()
    }
}

impl TestAdapter for Tokio {
    type Client<H: Handler> = TokioClient<H>;

    fn start<H: Handler>(
        settings: impl IntoConnectSettings,
        handler: H,
        options: TestOptions,
    ) -> Result<TokioClient<H>, Error> {
        let mut builder = wsx_tokio::Builder::new(settings)
            .async_start(options.async_start)
            .handle_initial_conn_failure(options.handle_initial_conn_failure);
        if let Some(bytes) = options.send_buffer {
            builder = builder.send_buffer(bytes);
        }
        for observer in options.observers {
            builder = builder.observer(observer);
        }
        block(|| builder.start(handler)).map(TokioClient)
    }

    fn client_from_context<H: Handler>(ctx: &Context<'_, H>) -> TokioClient<H> {
        TokioClient(ctx.client())
    }

    fn live_tasks() -> Option<usize> {
        Some(runtime().metrics().num_alive_tasks())
    }
}

/// A wsx-tokio server, for the suite.
pub struct TokioListener<H: Handler> {
    server: wsx_tokio::Server<H>,
    url: String,
}

impl<H: Handler> wsx_testing::TestListener<TokioClient<H>> for TokioListener<H> {
    fn addr(&self) -> std::net::SocketAddr {
        self.server.local_addr()
    }

    fn url(&self) -> String {
        self.url.clone()
    }

    fn clients(&self) -> Vec<TokioClient<H>> {
        self.server.clients().into_iter().map(TokioClient).collect()
    }

    fn connection_count(&self) -> usize {
        self.server.connection_count()
    }

    fn shutdown(self, deadline: Duration) -> wsx_tokio::server::ShutdownReport {
        block(|| self.server.shutdown(deadline))
    }
}

impl wsx_testing::TestServing for Tokio {
    type Listener<H: Handler> = TokioListener<H>;

    fn serve<H: Handler>(
        options: wsx_tokio::server::ServeOptions,
        tls: Option<std::sync::Arc<tokio_rustls::rustls::ServerConfig>>,
        decide: wsx_testing::Decide<H>,
    ) -> std::io::Result<TokioListener<H>> {
        let secure = tls.is_some();
        let mut builder = wsx_tokio::server::builder().options(options);
        if let Some(tls) = tls {
            builder = builder.tls(tls);
        }
        let server = block(|| builder.bind("127.0.0.1:0", move |request| decide(request)))?;
        let url = match secure {
            true => format!("wss://localhost:{}/", server.local_addr().port()),
            false => format!("ws://{}/", server.local_addr()),
        };
        Ok(TokioListener { server, url })
    }

    fn accept<H: Handler>(
        stream: std::net::TcpStream,
        options: &wsx_tokio::server::ServeOptions,
        decide: wsx_testing::Decide<H>,
    ) -> Result<TokioClient<H>, wsx_tokio::server::ServeError> {
        use wsx_tokio::server::ServeError;
        stream.set_nonblocking(true).map_err(ServeError::Io)?;
        block(|| async move {
            let tcp = tokio::net::TcpStream::from_std(stream).map_err(ServeError::Io)?;
            wsx_tokio::server::accept(tcp, options, move |request| decide(request)).await
        })
        .map(TokioClient)
    }
}
