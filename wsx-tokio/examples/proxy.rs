//! Connects through a proxy: `ConnectSettings::proxy(Proxy::parse(url)?)` with an HTTP CONNECT
//! proxy (`http://[user:pass@]host:port`) or a SOCKS5 one (`socks5://` or `socks5h://`, the
//! proxy resolves the name either way). Without a proxy URL it starts a tiny HTTP CONNECT
//! proxy of its own (below) and checks that the connection went through it.
//!
//! ```text
//! cargo run -p wsx-tokio --example proxy -- [PROXY_URL]
//! ```
//!
//! The echo server is always a local one. Loopback hosts are never proxied through the
//! environment's `http_proxy`/`https_proxy`/`all_proxy`; a proxy given with `.proxy(..)` is
//! always used.

#[path = "support/echo_server.rs"]
mod echo_server;

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wsx_tokio::proxy::Proxy;
use wsx_tokio::{Client, ConnectSettings, Context, Frame, Handler, Reply};

/// Prints the echo and closes.
struct OneEcho;

impl Handler for OneEcho {
    type Cast = ();
    type Info = ();

    fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        println!("echo: {frame:?}");
        Reply::Close
    }
}

/// A minimal HTTP CONNECT proxy: reads `CONNECT host:port HTTP/1.1` and its headers, connects
/// to the target, answers 200 and copies bytes both ways. Counts the tunnels it opened.
async fn start_connect_proxy(tunnels: Arc<AtomicUsize>) -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let tunnels = tunnels.clone();
            tokio::spawn(async move {
                // Byte by byte up to the blank line, so that no byte of the tunnel is read here.
                let mut head = Vec::new();
                while !head.ends_with(b"\r\n\r\n") {
                    match client.read_u8().await {
                        Ok(byte) => head.push(byte),
                        Err(_) => return,
                    }
                }
                let head = String::from_utf8_lossy(&head);
                let Some(target) = head.strip_prefix("CONNECT ").and_then(|rest| rest.split(' ').next()) else {
                    let _ = client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n").await;
                    return;
                };
                let Ok(mut server) = TcpStream::connect(target).await else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                println!("proxy: tunnel to {target}");
                tunnels.fetch_add(1, Ordering::SeqCst);
                if client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .is_ok()
                {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    Ok(url)
}

#[tokio::main]
async fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let url = echo_server::start().await?;
    let tunnels = Arc::new(AtomicUsize::new(0));
    let proxy_url = match std::env::args().nth(1) {
        Some(proxy_url) => proxy_url,
        None => start_connect_proxy(tunnels.clone()).await?,
    };
    let settings = ConnectSettings::new(&url)?.proxy(Proxy::parse(&proxy_url)?);
    let client = Client::start(settings, OneEcho).await?;
    client.send_frame(Frame::text("through the tunnel")).await?;
    let reason = client.wait().await;
    println!("closed: {reason} (via {proxy_url})");
    // Our own proxy must have carried the connection; a given one is trusted to have.
    let tunnelled = std::env::args().nth(1).is_some() || tunnels.load(Ordering::SeqCst) == 1;
    Ok(if reason.is_normal() && tunnelled {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
