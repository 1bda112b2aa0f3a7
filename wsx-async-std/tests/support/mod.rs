//! wsx-async-std as `wsx-testing` drives it, twice: clients and servers on async-std's
//! executor driven with async-std's `block_on`, and clients and servers on smol's executor
//! driven with smol's `block_on`.

/// A `wsx_testing::TestAdapter` and `TestServing` for the executor `$executor`, blocking with
/// `$block_on`, as `$suite::Adapter`.
macro_rules! adapter {
    ($suite:ident, $executor:ty, $block_on:path) => {
        pub mod $suite {
            use std::sync::Arc;
            use std::time::Duration;

            use async_io::Timer;
            use futures_lite::FutureExt;
            use wsx_async_std::server::{ServeOptions, ServerBuilder, ShutdownReport};
            use wsx_async_std::{
                client::Status, config::IntoConnectSettings, telemetry::StatsSnapshot, Builder, Client, CloseCode,
                CloseReason, Context, ContextExt, Error, Frame, Handler, SendError, Server,
            };
            use wsx_testing::{Decide, TestAdapter, TestClient, TestListener, TestOptions, TestServing};

            pub struct Adapter;

            pub struct TestHandle<H: Handler>(Client<H>);

            impl<H: Handler> std::fmt::Debug for TestHandle<H> {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    self.0.fmt(f)
                }
            }

            impl<H: Handler> Clone for TestHandle<H> {
                fn clone(&self) -> Self {
                    Self(self.0.clone())
                }
            }

            impl<H: Handler> TestClient<H> for TestHandle<H> {
                fn cast(&self, msg: H::Cast) -> Result<(), SendError> {
                    self.0.cast(msg)
                }

                fn send_frame(&self, frame: Frame, timeout: Duration) -> Result<(), SendError> {
                    // From a callback this returns `FromCallback` at the first poll.
                    $block_on(self.0.send_frame_timeout(frame, timeout))
                }

                fn send(&self, frame: Frame) -> Result<(), SendError> {
                    $block_on(self.0.send(frame))
                }

                fn send_all(&self, frames: Vec<Frame>) -> Result<(), SendError> {
                    $block_on(self.0.send_all(frames))
                }

                fn send_uncompressed(&self, frame: Frame) -> Result<(), SendError> {
                    $block_on(self.0.send_uncompressed(frame))
                }

                fn send_via_sink(&self, frames: Vec<Frame>) -> Result<(), SendError> {
                    use futures_util::SinkExt;
                    let mut items = futures_util::stream::iter(frames.into_iter().map(Ok));
                    $block_on(async { self.0.sink().send_all(&mut items).await })
                }

                fn close(&self) -> Result<(), SendError> {
                    self.0.close()
                }

                fn close_with(&self, code: CloseCode, reason: &str) -> Result<(), SendError> {
                    self.0.close_with(code, reason)
                }

                fn wait(&self, timeout: Duration) -> Option<CloseReason> {
                    let timed_out = async {
                        Timer::after(timeout).await;
                        None
                    };
                    $block_on(async { Some(self.0.wait().await) }.or(timed_out))
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

            impl TestAdapter for Adapter {
                type Client<H: Handler> = TestHandle<H>;

                fn start<H: Handler>(
                    settings: impl IntoConnectSettings,
                    handler: H,
                    options: TestOptions,
                ) -> Result<TestHandle<H>, Error> {
                    let mut builder = Builder::<$executor>::new(settings)
                        .async_start(options.async_start)
                        .handle_initial_conn_failure(options.handle_initial_conn_failure);
                    if let Some(bytes) = options.send_buffer {
                        builder = builder.send_buffer(bytes);
                    }
                    for observer in options.observers {
                        builder = builder.observer(observer);
                    }
                    $block_on(builder.start(handler)).map(TestHandle)
                }

                fn client_from_context<H: Handler>(ctx: &Context<'_, H>) -> TestHandle<H> {
                    TestHandle(ctx.client())
                }
            }

            /// A server on the same executor, for the suite.
            pub struct Listener<H: Handler> {
                server: Server<H>,
                url: String,
            }

            impl<H: Handler> TestListener<TestHandle<H>> for Listener<H> {
                fn addr(&self) -> std::net::SocketAddr {
                    self.server.local_addr()
                }

                fn url(&self) -> String {
                    self.url.clone()
                }

                fn clients(&self) -> Vec<TestHandle<H>> {
                    self.server.clients().into_iter().map(TestHandle).collect()
                }

                fn connection_count(&self) -> usize {
                    self.server.connection_count()
                }

                fn shutdown(self, deadline: Duration) -> ShutdownReport {
                    $block_on(self.server.shutdown(deadline))
                }
            }

            impl TestServing for Adapter {
                type Listener<H: Handler> = Listener<H>;

                fn serve<H: Handler>(
                    options: ServeOptions,
                    tls: Option<Arc<rustls::ServerConfig>>,
                    decide: Decide<H>,
                ) -> std::io::Result<Listener<H>> {
                    let secure = tls.is_some();
                    let mut builder = ServerBuilder::<$executor>::new().options(options);
                    if let Some(tls) = tls {
                        builder = builder.tls(tls);
                    }
                    let server = $block_on(builder.bind("127.0.0.1:0", move |request| decide(request)))?;
                    let url = match secure {
                        true => format!("wss://localhost:{}/", server.local_addr().port()),
                        false => format!("ws://{}/", server.local_addr()),
                    };
                    Ok(Listener { server, url })
                }

                fn accept<H: Handler>(
                    stream: std::net::TcpStream,
                    options: &ServeOptions,
                    decide: Decide<H>,
                ) -> Result<TestHandle<H>, wsx_async_std::server::ServeError> {
                    use wsx_async_std::server::ServeError;
                    $block_on(async move {
                        let tcp = async_io::Async::new(stream).map_err(ServeError::Io)?;
                        wsx_async_std::server::accept_on::<$executor, _, _, _>(tcp, options, move |request| {
                            decide(request)
                        })
                        .await
                    })
                    .map(TestHandle)
                }
            }
        }
    };
}

adapter!(
    async_std_executor,
    wsx_async_std::executor::AsyncStd,
    async_std::task::block_on
);
adapter!(smol_executor, wsx_async_std::executor::Smol, smol::block_on);
