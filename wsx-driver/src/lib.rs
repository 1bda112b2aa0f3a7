//! # wsx-driver: a wsx-proto session on any runtime
//!
//! [`wsx_proto::Session`] is sans-IO and single-threaded; a client's users are not: its
//! `Client` is cloned into tasks and threads that send, cast, close and wait while the session
//! runs on its own task or thread. This crate is everything between them, written once for
//! every adapter and tied to no runtime:
//!
//! * [`ClientHandle`]: the state every clone of a `Client` shares with its session (the
//!   session's [`Link`](wsx_proto::session::Link)): a command queue, the status, the send
//!   budget, the counters; its waits are futures and blocking waits at once;
//! * [`ClientSink`](client::ClientSink) and `send_all`: frames queued many at a time;
//! * [`run`]: the loop an async adapter runs, over its socket ([`PollTransport`]) and timer
//!   ([`PollTimer`]); [`open`]: opening its transport (lookup, the happy-eyeballs race, the
//!   proxy tunnel, TLS) with the runtime's calls ([`Dial`]);
//! * [`Builder`]: start options, finished by an adapter's runtime ([`Start`]);
//! * the macros that define an adapter's `Client` and crate root, so that every adapter
//!   offers the same names.
//!
//! Users depend on an adapter (`wsx-tokio`, `wsx-async-std`, `wsx-blocking`), not on this
//! crate.
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

mod adapter;
#[cfg(feature = "async-io")]
pub mod async_io;
mod budget;
mod gate;
mod guard;
mod handle;
mod http2;
mod open;
mod outbox;
mod poll;
pub mod serve;
mod sink;
mod spare;
mod start;
mod stats;
mod sync;
mod wait;

#[cfg(all(test, loom))]
mod loom_tests;

pub use wsx_proto;

pub use crate::handle::ClientHandle;
pub use crate::http2::{connect, Http2Runtime, Http2Stream, Transport};
pub use crate::open::{open, Dial, Opened};
pub use crate::poll::{run, run_accepted, run_owned, Connected, PollTimer, PollTransport};
pub use crate::spare::read_into_spare;
pub use crate::start::{launch, Builder, Launched, Start};
pub use crate::wait::FrameWaiter;

/// A session driven by this crate: its link is a [`ClientHandle`].
pub type Session<H> = wsx_proto::Session<H, ClientHandle<H>>;

/// A session for `handler` with `options`, and the client handle it shares with its users.
/// Fails if the settings are unusable (a bad URL or header).
pub fn session<H: wsx_proto::Handler>(
    options: wsx_proto::session::StartOptions,
    handler: H,
) -> Result<(Session<H>, ClientHandle<H>), wsx_proto::Error> {
    let handle = ClientHandle::new(options.send_buffer);
    let session = wsx_proto::Session::new(options, handler, handle.clone())?;
    Ok((session, handle))
}

/// A running client's state and the types its methods return.
pub mod client {
    pub use crate::handle::BufferedBytes;
    pub use crate::sink::ClientSink;
    pub use wsx_proto::client::{DisconnectStatus, Status};
}

/// How a client connects and what it allows, in three places by what they are about:
/// [`Config`](config::Config), the protocol's limits and timers (what a bare connection
/// needs); [`ConnectSettings`](config::ConnectSettings), one connection (URL, request, TLS,
/// proxy, TCP, and its `Config`, with shortcut setters that write into it), which
/// `handle_disconnect` may replace between reconnects; and the [`Builder`],
/// the client's life (start mode, send buffer, observers), which no reconnect changes.
pub mod config {
    pub use crate::adapter::DEFAULT_SEND_TIMEOUT;
    pub use wsx_proto::config::{
        Backoff, Config, ConnectSettings, IntoConnectSettings, Request, WsUrl, CAST_QUEUE_LIMIT, DEFAULT_SEND_BUFFER,
    };
}

/// What every adapter's crate root re-exports (`wsx_driver::adapter_root!();`): the names a
/// first program uses, and the modules for the rest. Written once, so the adapters cannot
/// drift apart.
/// What every adapter's `Server<H>` has alike (its `local_addr` and `connections` fields):
/// `Debug`, the address, the handles, the count.
#[doc(hidden)]
#[macro_export]
macro_rules! adapter_server {
    () => {
        impl<H: $crate::wsx_proto::Handler> ::std::fmt::Debug for Server<H> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct("Server")
                    .field("local_addr", &self.local_addr)
                    .field("connections", &self.connections)
                    .finish()
            }
        }

        impl<H: $crate::wsx_proto::Handler> Server<H> {
            /// The address it listens on (with the port the system chose for port 0).
            pub fn local_addr(&self) -> ::std::net::SocketAddr {
                self.local_addr
            }

            /// Handles to the open connections.
            pub fn clients(&self) -> ::std::vec::Vec<Client<H>> {
                self.connections
                    .handles()
                    .into_iter()
                    .map(Client::from_handle)
                    .collect()
            }

            /// Connections held now: open ones and handshakes in progress.
            pub fn connection_count(&self) -> usize {
                self.connections.len()
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! adapter_root {
    () => {
        pub use $crate::wsx_proto::{
            close, deflate, error, frame, http2, proxy, telemetry, tls, Bytes, CloseCode, CloseReason, ConnectSettings,
            Context, DisconnectStatus, Error, Frame, Handler, Reconnect, Reply, Response, SendError,
        };
        pub use $crate::{client, config};
    };
}
