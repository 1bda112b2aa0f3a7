//! wsx's servers: `Server::bind` with an echo handler, on tokio (a task per connection on the
//! current-thread runtime), on smol (a task per connection on one executor thread) and on
//! threads (wsx-blocking: an accepting thread and a thread per connection).

use std::net::SocketAddr;

use wsx_tokio::{Context, Decision, Frame, Handler, Reply};

use crate::Result;

/// Echoes text and binary messages; pings and closes are the library's.
pub struct Echo;

impl Handler for Echo {
    type Cast = ();
    type Info = ();

    fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        match frame {
            Frame::Text(_) | Frame::Binary(_) => Reply::Frame(frame),
            _ => Reply::Continue,
        }
    }
}

/// wsx-tokio's server, with its default options.
pub async fn serve_tokio(addr: SocketAddr, listening: impl FnOnce(SocketAddr) -> Result<()>) -> Result<()> {
    let server = wsx_tokio::Server::bind(addr, |_request| Decision::accept(Echo)).await?;
    listening(server.local_addr())?;
    std::future::pending::<()>().await;
    drop(server);
    Ok(())
}

/// wsx-blocking's server, with its default options; this thread only keeps it.
pub fn serve_blocking(addr: SocketAddr, listening: impl FnOnce(SocketAddr) -> Result<()>) -> Result<()> {
    let server = wsx_blocking::Server::bind(addr, |_request| wsx_blocking::Decision::accept(Echo))?;
    listening(server.local_addr())?;
    loop {
        std::thread::park();
    }
}

/// wsx-async-std's server on a smol executor that this thread alone runs (the clients'
/// `wsx-async-std-local`): the listener's and the connections' tasks all on one core.
pub fn serve_smol(addr: SocketAddr, listening: impl FnOnce(SocketAddr) -> Result<()>) -> Result<()> {
    use crate::clients::wsx_async_std::{Local, LOCAL};
    use wsx_async_std::executor::Custom;
    smol::block_on(LOCAL.run(async move {
        let server = wsx_async_std::server::ServerBuilder::<Custom<Local>>::new()
            .bind(addr, |_request| wsx_async_std::Decision::accept(Echo))
            .await?;
        listening(server.local_addr())?;
        std::future::pending::<()>().await;
        drop(server);
        Ok(())
    }))
}
