//! How a client starts, beside its connection settings.

use std::sync::Arc;

use crate::error::Error;
use crate::session::settings::{ConnectSettings, IntoConnectSettings};
use crate::session::telemetry::Observer;

/// How a client starts, beside its connection settings.
#[derive(Clone)]
#[non_exhaustive]
pub struct StartOptions {
    /// The connection settings, or why they could not be made.
    pub settings: Result<ConnectSettings, Error>,
    /// Return at once and connect in the background.
    pub async_start: bool,
    /// Send a failed first connect to `handle_disconnect` instead of returning it.
    pub handle_initial_conn_failure: bool,
    /// Telemetry observers.
    pub observers: Vec<Arc<dyn Observer>>,
    /// Bytes of outgoing frames that may wait unwritten (see [`StartOptions::send_buffer`]).
    pub send_buffer: usize,
}

/// The default send buffer: 1 MiB (measured: more does not stream faster on loopback, and costs memory).
pub const DEFAULT_SEND_BUFFER: usize = 1 << 20;

impl std::fmt::Debug for StartOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartOptions")
            .field("settings", &self.settings)
            .field("async_start", &self.async_start)
            .field("handle_initial_conn_failure", &self.handle_initial_conn_failure)
            .field("observers", &self.observers.len())
            .field("send_buffer", &self.send_buffer)
            .finish()
    }
}

impl StartOptions {
    /// Options for `settings` (a URL, [`WsUrl`](crate::WsUrl) or [`ConnectSettings`]), with
    /// the defaults: a synchronous start, a failed first connect returned, no observers, a
    /// [`DEFAULT_SEND_BUFFER`].
    pub fn new(settings: impl IntoConnectSettings) -> Self {
        Self {
            settings: settings.into_connect_settings().map_err(Error::from),
            async_start: false,
            handle_initial_conn_failure: false,
            observers: Vec::new(),
            send_buffer: DEFAULT_SEND_BUFFER,
        }
    }
}
