//! fastwebsockets, as its echo-server example: hyper's HTTP/1.1 server with upgrades on each
//! accepted socket, `upgrade::upgrade` answering the request, and the WebSocket (in a
//! `FragmentCollector`) on an `unconstrained` task of its own, writing back every text and
//! binary frame with `write_frame`.

use std::net::SocketAddr;

use bytes::Bytes;
use fastwebsockets::upgrade::{self, UpgradeFut};
use fastwebsockets::{FragmentCollector, OpCode, WebSocketError};
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use crate::Result;

pub async fn serve(addr: SocketAddr, listening: impl FnOnce(SocketAddr) -> Result<()>) -> Result<()> {
    super::accept_loop(addr, listening, |tcp| async move {
        let _ = http1::Builder::new()
            .serve_connection(TokioIo::new(tcp), service_fn(upgrade))
            .with_upgrades()
            .await;
    })
    .await
}

async fn upgrade(mut request: Request<Incoming>) -> Result<Response<Empty<Bytes>>, WebSocketError> {
    let (response, upgraded) = upgrade::upgrade(&mut request)?;
    tokio::spawn(tokio::task::unconstrained(async move {
        let _ = echo(upgraded).await;
    }));
    Ok(response)
}

async fn echo(upgraded: UpgradeFut) -> Result<(), WebSocketError> {
    let mut ws = FragmentCollector::new(upgraded.await?);
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            OpCode::Close => return Ok(()),
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
            _ => {}
        }
    }
}
