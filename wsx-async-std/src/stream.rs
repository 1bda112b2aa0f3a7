//! The socket, opened with runtime-neutral calls only: async-io's `Async<TcpStream>` and
//! `Timer`, futures-rustls, and `blocking`'s thread pool for name resolution
//! ([`wsx_driver::async_io`]).

use wsx_driver::async_io::{AnyAsyncIo, AsyncIo, IntoAny};
use wsx_driver::{Connected, Http2Stream, Opened, Transport};

use crate::executor::Spawn;
use wsx_proto::{ConnectSettings, Error};

/// The transport: TCP, or TLS over it, or a stream of an HTTP/2 connection.
pub(crate) enum Stream {
    Socket(Opened<AnyAsyncIo>),
    /// Boxed: a plain connection then holds no room for it.
    Http2(Box<Http2Stream>),
}

/// Opens the transport: the plan is wsx-proto's, the calls async-io's; an HTTP/2 connection's
/// task runs on `S`.
pub(crate) async fn connect<S: Spawn>(settings: &ConnectSettings) -> Result<Connected<Stream>, Error> {
    Ok(match wsx_driver::connect::<AsyncIo<S>>(settings).await? {
        Transport::Socket(opened) => (Stream::Socket(opened.into_any()), None),
        Transport::Http2(stream, response) => (Stream::Http2(Box::new(stream)), Some(response)),
    })
}
