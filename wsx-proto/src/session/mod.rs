//! The session layer: one client's whole life on top of the protocol layer, still sans-IO.
//!
//! [`Session`] runs the [`Handler`] callbacks for the connection's events, connects and
//! reconnects as `handle_disconnect` decides, keeps the status, the timers, the acks of
//! `send_frame` and the send budget, and tells its driver what to do next as plain data
//! ([`Output`]); the driver answers with [`Input`]. [`ClientHandle`] is the other end, shared
//! by every clone of an adapter's client. Adapters only move bytes between a socket and a
//! session.
//!
//! [`Handler`]: crate::Handler

pub(crate) mod acks;
pub(crate) mod adapter;
pub(crate) mod backoff;
mod budget;
mod callbacks;
pub mod dial;
pub(crate) mod driver;
mod gate;
pub(crate) mod guard;
pub(crate) mod handle;
pub(crate) mod handler;
mod outbox;
pub mod poll;
pub(crate) mod proxy;
pub(crate) mod settings;
pub(crate) mod sink;
mod spare;
pub(crate) mod start;
pub(crate) mod state;
pub(crate) mod status;
pub(crate) mod telemetry;
#[cfg(test)]
mod tests;
#[cfg(feature = "tls")]
pub mod tls;
pub(crate) mod wait;

pub use self::driver::{Input, Output};
pub use self::handle::{ClientHandle, SendError};
pub use self::poll::{PollTimer, PollTransport};
pub use self::spare::read_into_spare;
pub use self::start::{Builder, Start, StartOptions};
pub use self::state::Session;
pub use self::telemetry::Stats;
