//! The session layer: one client's whole life on top of the protocol layer, still sans-IO.
//!
//! [`Session`] runs the [`Handler`] callbacks for the connection's events, connects and
//! reconnects as `handle_disconnect` decides, keeps the status, the timers, the acks of
//! `send_frame` and the send budget, and tells its driver what to do next as plain data
//! ([`Output`]); the driver answers with [`Input`]. What it shares with the client's handles
//! on other threads goes through a [`Link`] its driver provides (`wsx-driver` has the one every
//! adapter uses). Adapters only move bytes between a socket and a session.
//!
//! [`Handler`]: crate::Handler

pub(crate) mod acks;
pub(crate) mod backoff;
mod callbacks;
pub mod dial;
pub(crate) mod driver;
pub(crate) mod handler;
pub(crate) mod http2;
pub(crate) mod link;
pub mod open;
pub(crate) mod proxy;
pub(crate) mod serve;
pub(crate) mod settings;
pub(crate) mod start;
pub(crate) mod state;
pub(crate) mod status;
pub(crate) mod telemetry;
#[cfg(test)]
mod tests;
#[cfg(feature = "tls")]
pub mod tls;

pub use self::driver::{Input, Output};
pub use self::link::{Command, Encoded, Link, Waiter, ENCODE_MAX};
pub use self::open::{OpenStep, Opening};
pub use self::serve::{Decision, ServeError, ServeOptions, ShutdownReport, DEFAULT_MAX_CONNECTIONS};
pub use self::start::{StartOptions, DEFAULT_SEND_BUFFER};
pub use self::state::Session;
pub use self::status::CAST_QUEUE_LIMIT;
