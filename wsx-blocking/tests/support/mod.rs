//! wsx-blocking as `wsx-testing` drives it: a `TestAdapter` for the behaviour suite and the soak.

use std::time::Duration;

use wsx_blocking::{
    client::Status, config::IntoConnectSettings, telemetry::StatsSnapshot, Client, CloseCode, CloseReason, Context,
    ContextExt, Error, Frame, Handler, SendError,
};
use wsx_testing::{TestAdapter, TestClient, TestOptions};

pub struct Threads;

pub struct ThreadsClient<H: Handler>(Client<H>);

impl<H: Handler> std::fmt::Debug for ThreadsClient<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<H: Handler> Clone for ThreadsClient<H> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<H: Handler> TestClient<H> for ThreadsClient<H> {
    fn cast(&self, msg: H::Cast) -> Result<(), SendError> {
        self.0.cast(msg)
    }

    fn send_frame(&self, frame: Frame, timeout: Duration) -> Result<(), SendError> {
        self.0.send_frame_timeout(frame, timeout)
    }

    fn send(&self, frame: Frame) -> Result<(), SendError> {
        self.0.send(frame)
    }

    fn send_all(&self, frames: Vec<Frame>) -> Result<(), SendError> {
        self.0.send_all(frames)
    }

    fn send_uncompressed(&self, frame: Frame) -> Result<(), SendError> {
        self.0.send_uncompressed(frame)
    }

    fn send_via_sink(&self, frames: Vec<Frame>) -> Result<(), SendError> {
        self.0.send_all(frames)
    }

    fn close(&self) -> Result<(), SendError> {
        self.0.close()
    }

    fn close_with(&self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        self.0.close_with(code, reason)
    }

    fn wait(&self, timeout: Duration) -> Option<CloseReason> {
        self.0.wait_timeout(timeout)
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

impl TestAdapter for Threads {
    type Client<H: Handler> = ThreadsClient<H>;

    fn start<H: Handler>(
        settings: impl IntoConnectSettings,
        handler: H,
        options: TestOptions,
    ) -> Result<ThreadsClient<H>, Error> {
        let mut builder = wsx_blocking::builder(settings)
            .async_start(options.async_start)
            .handle_initial_conn_failure(options.handle_initial_conn_failure);
        if let Some(bytes) = options.send_buffer {
            builder = builder.send_buffer(bytes);
        }
        for observer in options.observers {
            builder = builder.observer(observer);
        }
        builder.start(handler).map(ThreadsClient)
    }

    fn client_from_context<H: Handler>(ctx: &Context<'_, H>) -> ThreadsClient<H> {
        ThreadsClient(ctx.client())
    }
}

/// A wsx-blocking server, for the suite.
pub struct ThreadsListener<H: Handler> {
    server: wsx_blocking::Server<H>,
    url: String,
}

impl<H: Handler> wsx_testing::TestListener<ThreadsClient<H>> for ThreadsListener<H> {
    fn addr(&self) -> std::net::SocketAddr {
        self.server.local_addr()
    }

    fn url(&self) -> String {
        self.url.clone()
    }

    fn clients(&self) -> Vec<ThreadsClient<H>> {
        self.server.clients().into_iter().map(ThreadsClient).collect()
    }

    fn connection_count(&self) -> usize {
        self.server.connection_count()
    }

    fn shutdown(self, deadline: Duration) -> wsx_blocking::server::ShutdownReport {
        self.server.shutdown(deadline)
    }
}

impl wsx_testing::TestServing for Threads {
    type Listener<H: Handler> = ThreadsListener<H>;

    fn serve<H: Handler>(
        options: wsx_blocking::server::ServeOptions,
        tls: Option<std::sync::Arc<rustls::ServerConfig>>,
        decide: wsx_testing::Decide<H>,
    ) -> std::io::Result<ThreadsListener<H>> {
        let secure = tls.is_some();
        let mut builder = wsx_blocking::server::builder().options(options);
        if let Some(tls) = tls {
            builder = builder.tls(tls);
        }
        let server = builder.bind("127.0.0.1:0", move |request| decide(request))?;
        let url = match secure {
            true => format!("wss://localhost:{}/", server.local_addr().port()),
            false => format!("ws://{}/", server.local_addr()),
        };
        Ok(ThreadsListener { server, url })
    }

    fn accept<H: Handler>(
        stream: std::net::TcpStream,
        options: &wsx_blocking::server::ServeOptions,
        decide: wsx_testing::Decide<H>,
    ) -> Result<ThreadsClient<H>, wsx_blocking::server::ServeError> {
        wsx_blocking::server::accept(stream, options, move |request| decide(request)).map(ThreadsClient)
    }
}
