//! # wsx-async-std: WebSocket clients and servers on smol and async-io, the WebSockex way
//!
//! Write one struct that implements [`Handler`], start it with a URL, and the client connects,
//! answers pings, runs your callbacks, closes with codes and reconnects when you say so.
//!
//! ```no_run
//! use wsx_async_std::{Client, Context, Frame, Handler, Reply};
//!
//! struct Echo;
//!
//! impl Handler for Echo {
//!     type Cast = String;
//!     type Info = ();
//!
//!     fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
//!         println!("received {frame:?}");
//!         Reply::Continue
//!     }
//!
//!     fn handle_cast(&mut self, text: String, _ctx: &mut Context<'_, Self>) -> Reply {
//!         Reply::Frame(Frame::text(text))
//!     }
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::start("ws://127.0.0.1:9001/", Echo).await?;
//! client.cast("hello".to_string())?;
//! client.send_frame(Frame::text("world")).await?;
//! client.close()?;
//! println!("closed: {}", client.wait().await);
//! # Ok(()) }
//! ```
//!
//! The code above runs as it is under smol (`smol::block_on`), under async-std
//! (`async_std::task::block_on`), and from any other executor or a plain thread. The callback
//! trait and every type in it come from [`wsx_proto`]; the same handler compiles against
//! `wsx-tokio` and `wsx-blocking`.
//!
//! ## Serving
//!
//! A [`Server`] listens on a TCP address (`wss://` too, with a rustls configuration) and runs
//! the same [`Handler`] callbacks for every connection it accepts. Its `decide` function sees
//! each upgrade request and accepts it with a handler or refuses it with any HTTP answer. The
//! accept loop and the connections run on an executor, as clients do ([`server::builder`] for
//! the default one, `server::ServerBuilder::<E>::new()` for `E`); [`server::accept`] upgrades
//! a stream the application accepted itself.
//!
//! ```no_run
//! use std::time::Duration;
//! use wsx_async_std::server::{self, Rejection};
//! use wsx_async_std::{Context, Decision, Frame, Handler, Reply};
//!
//! struct Echo;
//!
//! impl Handler for Echo {
//!     type Cast = ();
//!     type Info = ();
//!
//!     fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
//!         Reply::Frame(frame)
//!     }
//! }
//!
//! smol::block_on(async {
//!     let server = server::builder()
//!         .max_connections(1000)
//!         .bind("127.0.0.1:9001", |request| match request.path() {
//!             "/echo" => Decision::accept(Echo),
//!             _ => Decision::reject(Rejection::new(404)),
//!         })
//!         .await?;
//!     println!("listening on {}", server.local_addr());
//!     // ... serving until the application stops it:
//!     let report = server.shutdown(Duration::from_secs(5)).await;
//!     println!("{} of {} connections closed in time", report.closed, report.open);
//!     Ok::<_, std::io::Error>(())
//! })?;
//! # Ok::<_, std::io::Error>(())
//! ```
//!
//! ## Executors
//!
//! Each client, and each connection of a server, runs one connection task, built only from
//! runtime-neutral pieces: async-io's `Async<TcpStream>` and `Timer` (one reactor, shared by
//! async-std and smol), futures-rustls for `wss://`, and the handle's queue and waits from
//! `wsx-driver`. Nothing in it is tied to a runtime, so the only choice left is whose threads
//! poll it. That choice is the executor type of the [`Builder`] (the `R` of the shared
//! [`wsx_driver::Builder`]), or of the [`server::ServerBuilder`]:
//!
//! | executor | spawns with | Cargo feature |
//! | --- | --- | --- |
//! | `Smol` | `smol::spawn` | `smol` (on by default) |
//! | `AsyncStd` | `async_std::task::spawn` | `async-std` (opt-in) |
//! | [`OwnThread`] | a thread of its own, async-io's `block_on` | none |
//! | [`Custom<S>`](Custom) | your [`Spawn`] impl, e.g. a `smol::Executor` of yours | none |
//!
//! [`Client::start`], [`builder`], [`Server::bind`] and [`server::builder`] use the
//! [`DefaultExecutor`]: `Smol` when its feature is on, else `AsyncStd` when its feature is on,
//! else `OwnThread`. With both features on, pick per client with
//! `Builder::<AsyncStd>::new(url)`, per server with `ServerBuilder::<AsyncStd>::new()`.
//!
//! **async-std is opt-in.** async-std is discontinued (RUSTSEC-2025-0052) and smol is its
//! successor, so the `async-std` feature is off by default. Its executor still works as
//! before (the connection task is the same on both: async-io's reactor is theirs in common):
//! `features = ["async-std"]` adds `AsyncStd` beside the default `Smol`, and
//! `default-features = false, features = ["async-std"]` makes it the default executor without
//! building smol.
//!
//! ```no_run
//! # use wsx_async_std::{Builder, Handler};
//! # struct Echo;
//! # impl Handler for Echo { type Cast = (); type Info = (); }
//! # #[cfg(feature = "async-std")]
//! async_std::task::block_on(async {
//!     let client = Builder::<wsx_async_std::executor::AsyncStd>::new("ws://127.0.0.1:9001/")
//!         .start(Echo)
//!         .await?;
//!     client.wait().await;
//!     Ok::<_, wsx_async_std::Error>(())
//! })?;
//! # Ok::<_, wsx_async_std::Error>(())
//! ```
//!
//! **Throughput of one busy connection depends on where async-io's reactor runs.** The global
//! executors of async-std and smol run tasks on worker threads while the reactor is usually
//! driven by async-io's own thread, so every readiness event crosses threads before the
//! connection task runs, and on a loaded core the two threads take turns. For the most out
//! of one core, run the connection on an executor that the thread driving the reactor also
//! runs: a `smol::Executor` inside `smol::block_on` (async-io's), the connection spawned onto
//! it with a [`Custom`] executor. The benchmarks (`wsx-async-std-local` in BENCHMARKS.md) measure
//! that layout level with wsx-tokio's current-thread runtime.
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

pub mod executor;
mod read;
pub mod server;
mod stream;
mod task;

wsx_driver::adapter_root!();

pub use server::{Decision, Server};

wsx_driver::adapter_client!(async, sleep = crate::task::sleep);

#[cfg(feature = "async-std")]
use crate::executor::AsyncStd;
#[cfg(feature = "smol")]
use crate::executor::Smol;
use crate::executor::{Custom, DefaultExecutor, OwnThread, Spawn};

/// Start options: build with [`builder`] (default executor) or `Builder::<E>::new` (executor
/// `E`, see [the crate docs](crate#executors)), finish with `.start(handler).await`.
pub type Builder<E = DefaultExecutor> = wsx_driver::Builder<E>;

/// Start options for `settings` (a URL or [`ConnectSettings`]) on the [`DefaultExecutor`]:
/// async start, initial connect failure handling, telemetry observers.
pub fn builder(settings: impl config::IntoConnectSettings) -> Builder {
    Builder::new(settings)
}

use crate::executor::StartFuture;

macro_rules! impl_start {
    ($($(#[$attr:meta])* $executor:ty),* $(,)?) => {$(
        $(#[$attr])*
        impl<H: Handler> wsx_driver::Start<H> for $executor {
            type Output = StartFuture<H>;

            fn start(options: wsx_proto::session::StartOptions, handler: H) -> Self::Output {
                Box::pin(start::<$executor, H>(options, handler))
            }
        }
    )*};
}

impl_start!(
    #[cfg(feature = "async-std")]
    AsyncStd,
    #[cfg(feature = "smol")]
    Smol,
    OwnThread,
);

impl<S: Spawn, H: Handler> wsx_driver::Start<H> for Custom<S> {
    type Output = StartFuture<H>;

    fn start(options: wsx_proto::session::StartOptions, handler: H) -> Self::Output {
        Box::pin(start::<S, H>(options, handler))
    }
}

/// Starts the client, spawning its connection task with `S`; callable from any executor.
async fn start<S: Spawn, H: Handler>(
    options: wsx_proto::session::StartOptions,
    handler: H,
) -> Result<Client<H>, Error> {
    let launched = wsx_driver::launch(options, handler, |session| {
        let span = session.span().clone();
        let task = tracing::Instrument::instrument(task::run::<H, S>(Box::new(session)), span);
        Ok(S::spawn(Box::pin(task))?)
    })?;
    Ok(Client::from_handle(launched.connected().await?))
}

impl<H: Handler> Client<H> {
    /// Connects to `settings` (a URL or [`ConnectSettings`]) and runs `handler` on the
    /// [`DefaultExecutor`]; returns once connected. See [`builder`] for the other start options.
    pub async fn start(settings: impl config::IntoConnectSettings, handler: H) -> Result<Self, Error> {
        builder(settings).start(handler).await
    }
}
