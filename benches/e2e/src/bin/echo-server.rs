//! A WebSocket echo server for the benchmarks, with no WebSocket library: a current-thread
//! tokio runtime, one task per connection, and per read of up to 256 KiB one write carrying
//! the unmasked echo of every frame (or piece of frame) that read brought. Payloads are never
//! buffered whole, so big messages stream through.
//!
//! ```text
//! echo-server [--addr 127.0.0.1:0] [--port-file FILE]
//! ```
//! Prints `listening on ADDR` and writes the port to FILE if given.

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use wsx_bench_e2e::frames::{header_end, upgrade_response, Echoer};

/// Bytes read at once (and so about the size of one write).
const READ_SIZE: usize = 256 * 1024;
/// Largest accepted upgrade request.
const MAX_REQUEST: usize = 16 * 1024;

fn main() -> io::Result<()> {
    let mut addr = "127.0.0.1:0".to_string();
    let mut port_file = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().expect("--addr needs a value"),
            "--port-file" => port_file = args.next(),
            other => panic!("unknown argument {other}"),
        }
    }
    wsx_bench_e2e::sys::raise_nofile(1 << 20);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        // A deep accept queue: many-1k opens a thousand connections at once, and one that
        // overflows tokio's default of 1024 waits a second for its handshake to be retried.
        let addr: std::net::SocketAddr = addr.parse().map_err(std::io::Error::other)?;
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        let listener = socket.listen(8192)?;
        let local = listener.local_addr()?;
        println!("listening on {local}");
        if let Some(file) = port_file {
            std::fs::write(file, local.port().to_string())?;
        }
        loop {
            match listener.accept().await {
                Ok((sock, _)) => {
                    tokio::spawn(async move {
                        let mut wire_in = 0;
                        let _ = serve(sock, &mut wire_in).await;
                        // What the client sent on the wire after the upgrade: `benches/run.sh`
                        // divides it by the messages of a compressed run.
                        if wire_in > 0 {
                            println!("closed\twire_in={wire_in}");
                        }
                    });
                }
                // Out of descriptors or similar: keep serving the connections we have.
                Err(e) => {
                    eprintln!("accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            }
        }
    })
}

async fn serve(mut sock: TcpStream, wire_in: &mut u64) -> io::Result<()> {
    sock.set_nodelay(true)?;
    // The upgrade, in a small buffer: an idle connection costs the server little.
    let mut request = Vec::with_capacity(1024);
    let end = loop {
        if sock.read_buf(&mut request).await? == 0 {
            return Ok(());
        }
        if let Some(end) = header_end(&request) {
            break end;
        }
        if request.len() > MAX_REQUEST {
            return Err(io::ErrorKind::InvalidData.into());
        }
    };
    let Some(response) = upgrade_response(&request[..end]) else {
        sock.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .await?;
        return Ok(());
    };
    sock.write_all(response.as_bytes()).await?;
    let mut echo = Echoer::default();
    let mut out = Vec::new();
    echo.feed(&request[end..], &mut out);
    *wire_in += (request.len() - end) as u64;
    drop(request);
    // Big buffers only once frames flow.
    sock.readable().await?;
    let mut buf = vec![0u8; READ_SIZE];
    out.reserve(READ_SIZE + 4096);
    loop {
        if !out.is_empty() {
            sock.write_all(&out).await?;
            out.clear();
        }
        if echo.closed {
            return sock.shutdown().await;
        }
        let n = sock.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        *wire_in += n as u64;
        echo.feed(&buf[..n], &mut out);
    }
}
