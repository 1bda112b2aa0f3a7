//! Where connection tasks run. The task itself is runtime-neutral (async-io's reactor and
//! timers, which every async-std and smol executor shares), so choosing an executor only
//! chooses whose threads poll it. Executors are marker types, the `R` of the shared
//! [`wsx_driver::Builder`] and of the server's builder; generic code names them by [`Start`]
//! and [`Listen`].

use std::future::Future;
use std::io;
use std::marker::PhantomData;

pub use wsx_driver::serve::Listen;
pub use wsx_driver::Start;

/// What `Builder::start` returns: resolves once connected (or at once with `async_start`).
pub type StartFuture<H> = std::pin::Pin<Box<dyn Future<Output = Result<crate::Client<H>, crate::Error>> + Send>>;

/// What `ServerBuilder::bind` returns: resolves once listening.
pub type ListenFuture<H> = std::pin::Pin<Box<dyn Future<Output = io::Result<crate::Server<H>>> + Send>>;

pub use wsx_driver::async_io::{ConnectionTask, Spawn};

/// async-std's global executor (`async_std::task::spawn`). Needs the `async-std` feature, which
/// is off by default: async-std is discontinued (RUSTSEC-2025-0052), smol is its successor.
#[cfg(feature = "async-std")]
#[derive(Debug)]
pub enum AsyncStd {}

#[cfg(feature = "async-std")]
impl Spawn for AsyncStd {
    fn spawn(task: ConnectionTask) -> io::Result<()> {
        // Dropping the handle detaches the task.
        async_std::task::spawn(task);
        Ok(())
    }
}

/// smol's global executor (`smol::spawn`, with `SMOL_THREADS` threads). Needs the `smol`
/// feature (on by default).
#[cfg(feature = "smol")]
#[derive(Debug)]
pub enum Smol {}

#[cfg(feature = "smol")]
impl Spawn for Smol {
    fn spawn(task: ConnectionTask) -> io::Result<()> {
        smol::spawn(task).detach();
        Ok(())
    }
}

/// A thread of its own per client (named `wsx-async-std`), polling the task with async-io's
/// `block_on`: no executor at all.
#[derive(Debug)]
pub enum OwnThread {}

impl Spawn for OwnThread {
    fn spawn(task: ConnectionTask) -> io::Result<()> {
        std::thread::Builder::new()
            .name("wsx-async-std".into())
            .spawn(move || async_io::block_on(task))?;
        Ok(())
    }
}

/// An executor of your own: `Builder<Custom<S>>` (and `server::ServerBuilder<Custom<S>>`)
/// spawns with `S`'s [`Spawn::spawn`].
///
/// ```
/// use wsx_async_std::{Builder, executor::ConnectionTask, executor::Custom, executor::Spawn};
///
/// /// An executor the application runs on threads of its choosing.
/// static EXECUTOR: smol::Executor<'static> = smol::Executor::new();
///
/// enum Mine {}
///
/// impl Spawn for Mine {
///     fn spawn(task: ConnectionTask) -> std::io::Result<()> {
///         EXECUTOR.spawn(task).detach();
///         Ok(())
///     }
/// }
///
/// let builder = Builder::<Custom<Mine>>::new("ws://127.0.0.1:9001/");
/// let server_builder = wsx_async_std::server::ServerBuilder::<Custom<Mine>>::new();
/// # let _ = (builder, server_builder);
/// ```
pub struct Custom<S: Spawn>(PhantomData<fn() -> S>);

/// The same executor, so every marker of the table in [the crate docs](crate#executors) can
/// name where a task runs (e.g. [`server::accept_on`](crate::server::accept_on)).
impl<S: Spawn> Spawn for Custom<S> {
    fn spawn(task: ConnectionTask) -> io::Result<()> {
        S::spawn(task)
    }
}

impl<S: Spawn> std::fmt::Debug for Custom<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Custom<{}>", std::any::type_name::<S>())
    }
}

/// The executor of [`Client::start`](crate::Client::start), [`builder`](crate::builder),
/// [`Server::bind`](crate::Server::bind), [`server::builder`](crate::server::builder) and
/// [`server::accept`](crate::server::accept):
/// [`Smol`] with the `smol` feature (the default), else `AsyncStd` with the `async-std` feature,
/// else [`OwnThread`]. Turning `async-std` on beside `smol` only adds `AsyncStd` (features
/// add, they do not switch); to make it the default, turn default features off.
#[cfg(feature = "smol")]
pub type DefaultExecutor = Smol;
/// The executor of [`Client::start`](crate::Client::start), [`builder`](crate::builder),
/// [`Server::bind`](crate::Server::bind), [`server::builder`](crate::server::builder) and
/// [`server::accept`](crate::server::accept):
/// `Smol` with the `smol` feature (the default), else [`AsyncStd`] with the `async-std`
/// feature, else [`OwnThread`].
#[cfg(all(feature = "async-std", not(feature = "smol")))]
pub type DefaultExecutor = AsyncStd;
/// The executor of [`Client::start`](crate::Client::start), [`builder`](crate::builder),
/// [`Server::bind`](crate::Server::bind), [`server::builder`](crate::server::builder) and
/// [`server::accept`](crate::server::accept):
/// `Smol` with the `smol` feature (the default), else `AsyncStd` with the `async-std` feature,
/// else [`OwnThread`].
#[cfg(not(any(feature = "async-std", feature = "smol")))]
pub type DefaultExecutor = OwnThread;
