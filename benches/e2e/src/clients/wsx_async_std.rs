//! wsx-async-std through its public API, on both of its executors: the same handlers as
//! wsx-tokio (round trips answered from `handle_frame`), its `Sink` to stream, the workload
//! spawned on the executor as an application's tasks are (so it shares the executor's threads
//! with the connection task, as on tokio's runtime). `wsx-async-std` starts with
//! `Builder::<AsyncStd>` (async-std's global executor, from the crate's opt-in `async-std`
//! feature); `wsx-async-std-smol` with `Builder::<Smol>` (smol's global executor, the crate's
//! default). `wsx-async-std-local` runs everything on
//! the benchmark's one thread, as wsx-tokio's current-thread runtime does: a `smol::Executor`
//! that only this thread runs, inside async-io's `block_on` (which drives the reactor while the
//! tasks wait), the connection spawned onto it through `Builder::<Custom<Local>>`. The window's
//! waits are tokio `Notify` futures, which need no tokio runtime.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use wsx_async_std::{
    executor::AsyncStd, executor::ConnectionTask, executor::Custom, executor::Smol, executor::Spawn, Builder, Client,
    ConnectSettings, Error, Frame, Handler,
};

use super::pinger::Pinger;
use super::{open_idle_with, pump_sink, stream_result, wsx_settings, Counter, Idle};
use crate::window::Window;
use crate::{Measurement, Params, Result, Workload};

/// What differs between the two executors: how a client starts, how the workload is driven
/// and how to sleep.
pub trait Executor {
    /// Connects to `settings` and runs `handler` on this executor, with this send buffer.
    fn start<H: Handler>(
        settings: ConnectSettings,
        send_buffer: usize,
        handler: H,
    ) -> impl Future<Output = Result<Client<H>, Error>> + Send;
    /// Runs `fut` as a task of this executor and waits for it.
    fn run<T: Send + 'static>(fut: impl Future<Output = T> + Send + 'static) -> T;
    /// Waits `d`.
    fn sleep(d: Duration) -> impl Future<Output = ()> + Send;
}

impl Executor for AsyncStd {
    fn start<H: Handler>(
        settings: ConnectSettings,
        send_buffer: usize,
        handler: H,
    ) -> impl Future<Output = Result<Client<H>, Error>> + Send {
        Builder::<AsyncStd>::new(settings)
            .send_buffer(send_buffer)
            .start(handler)
    }

    fn run<T: Send + 'static>(fut: impl Future<Output = T> + Send + 'static) -> T {
        async_std::task::block_on(async_std::task::spawn(fut))
    }

    fn sleep(d: Duration) -> impl Future<Output = ()> + Send {
        async_std::task::sleep(d)
    }
}

impl Executor for Smol {
    fn start<H: Handler>(
        settings: ConnectSettings,
        send_buffer: usize,
        handler: H,
    ) -> impl Future<Output = Result<Client<H>, Error>> + Send {
        Builder::<Smol>::new(settings).send_buffer(send_buffer).start(handler)
    }

    fn run<T: Send + 'static>(fut: impl Future<Output = T> + Send + 'static) -> T {
        smol::block_on(smol::spawn(fut))
    }

    async fn sleep(d: Duration) {
        smol::Timer::after(d).await;
    }
}

/// An executor only the benchmark's thread runs (see the module's docs).
pub enum Local {}

pub(crate) static LOCAL: smol::Executor<'static> = smol::Executor::new();

impl Spawn for Local {
    fn spawn(task: ConnectionTask) -> std::io::Result<()> {
        LOCAL.spawn(task).detach();
        Ok(())
    }
}

impl Executor for Local {
    fn start<H: Handler>(
        settings: ConnectSettings,
        send_buffer: usize,
        handler: H,
    ) -> impl Future<Output = Result<Client<H>, Error>> + Send {
        Builder::<Custom<Local>>::new(settings)
            .send_buffer(send_buffer)
            .start(handler)
    }

    fn run<T: Send + 'static>(fut: impl Future<Output = T> + Send + 'static) -> T {
        smol::block_on(LOCAL.run(fut))
    }

    async fn sleep(d: Duration) {
        smol::Timer::after(d).await;
    }
}

/// Runs `workload` on executor `E`.
pub fn run<E: Executor + 'static>(workload: Workload, p: &Params) -> Result<Measurement> {
    let p = p.clone();
    E::run(async move {
        match workload {
            Workload::Rtt => rtt::<E>(&p).await,
            Workload::Stream(size) | Workload::Flood(size) => stream::<E>(&p, size).await,
            Workload::Idle => idle::<E>(&p).await,
            Workload::Deflate(_) => Err("measured on wsx-tokio only: the codec is the same".into()),
            Workload::Many { .. } => super::many(&p, || stream::<E>(&p, crate::MANY_SIZE)).await,
        }
    })
}

/// Round trips answered from `handle_frame` (see [`Pinger`]).
async fn rtt<E: Executor>(p: &Params) -> Result<Measurement> {
    let (pinger, finished) = Pinger::new(p);
    let client = E::start(ConnectSettings::new(&p.url())?, p.wsx_send_buffer(), pinger).await?;
    let m = finished.wait().await;
    let _ = client.close();
    m
}

/// Streams through the client's `Sink`, fed and flushed like the peers' sinks.
async fn stream<E: Executor>(p: &Params, size: usize) -> Result<Measurement> {
    let window = Arc::new(Window::new(p.window(size)));
    let client = E::start(wsx_settings(p)?, p.wsx_send_buffer(), Counter(window.clone())).await?;
    let msg = Frame::binary(Bytes::from(vec![0x5a; size]));
    let start = Instant::now();
    let mut sink = client.sink();
    pump_sink(&mut sink, || msg.clone(), &window, size, p).await?;
    let m = stream_result(&window, size, start);
    let _ = client.close();
    Ok(m)
}

async fn idle<E: Executor>(p: &Params) -> Result<Measurement> {
    let (settings, send_buffer) = (ConnectSettings::new(&p.url())?, p.wsx_send_buffer());
    open_idle_with(
        p,
        |_| {
            let settings = settings.clone();
            async move { Ok(E::start(settings, send_buffer, Idle).await?) }
        },
        E::sleep,
    )
    .await
}
