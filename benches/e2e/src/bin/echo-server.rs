//! A WebSocket echo server for the benchmarks, with no WebSocket library: a current-thread
//! tokio runtime, one task per connection, and per read of up to 256 KiB one write carrying
//! the unmasked echo of every frame (or piece of frame) that read brought. Payloads are never
//! buffered whole, so big messages stream through.
//!
//! The same port speaks HTTP/2 to a client that opens with HTTP/2's preface (h2c with prior
//! knowledge): each WebSocket stream (RFC 8441 extended CONNECT) gets a task of its own and the
//! same echo loop ([`wsx_bench_e2e::http2`]).
//!
//! ```text
//! echo-server [--addr 127.0.0.1:0] [--port-file FILE] [--http2-stream-window BYTES]
//! ```
//! Prints `listening on ADDR` and writes the port to FILE if given. `--http2-stream-window`:
//! how far ahead of the server a client may send on each HTTP/2 stream (default 16 MiB).

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use wsx_bench_e2e::frames::{header_end, upgrade_response, Echoer};
use wsx_bench_e2e::http2::{self, H2Stream, Rewound};

/// Bytes read at once (and so about the size of one write).
const READ_SIZE: usize = 256 * 1024;
/// The same for a WebSocket of an HTTP/2 connection, whose reads take the DATA frames that
/// have come for it: smaller, since a thousand streams each allocate one (about a tenth less
/// server CPU a message in many-1k-h2 than with the socket's size).
const STREAM_READ_SIZE: usize = 32 * 1024;
/// Largest accepted upgrade request.
const MAX_REQUEST: usize = 16 * 1024;

fn main() -> io::Result<()> {
    let mut addr = "127.0.0.1:0".to_string();
    let mut port_file = None;
    let mut stream_window = http2::STREAM_WINDOW;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().expect("--addr needs a value"),
            "--port-file" => port_file = args.next(),
            "--http2-stream-window" => {
                stream_window = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--http2-stream-window needs a number of bytes")
            }
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
                        let _ = serve(sock, stream_window, &mut wire_in).await;
                        report_closed(wire_in);
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

/// What the client sent on the wire after the upgrade: `benches/run.sh` divides it by the
/// messages of a compressed run.
fn report_closed(wire_in: u64) {
    if wire_in > 0 {
        println!("closed\twire_in={wire_in}");
    }
}

async fn serve(mut sock: TcpStream, stream_window: u32, wire_in: &mut u64) -> io::Result<()> {
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
    if request.starts_with(http2::PREFACE_START) {
        let sock = Rewound::new(request.into(), sock);
        return http2::serve(sock, stream_window, serve_stream)
            .await
            .map_err(io::Error::other);
    }
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
    echo_loop(&mut sock, echo, out, READ_SIZE, wire_in).await
}

/// One WebSocket of an HTTP/2 connection, echoed like a TCP connection, then ended from both
/// sides.
async fn serve_stream(mut stream: H2Stream) {
    let mut wire_in = 0;
    let (echo, out) = (Echoer::default(), Vec::new());
    let _ = echo_loop(&mut stream, echo, out, STREAM_READ_SIZE, &mut wire_in).await;
    stream.finish().await;
    report_closed(wire_in);
}

/// Echoes what `io` brings, up to `read_size` bytes a read, `out` holding what `echo` made of
/// the bytes before, until the client's close frame (echoed, then the end of the stream) or
/// its end of the stream.
async fn echo_loop<S>(
    io: &mut S,
    mut echo: Echoer,
    mut out: Vec<u8>,
    read_size: usize,
    wire_in: &mut u64,
) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; read_size];
    out.reserve(read_size + 4096);
    loop {
        if !out.is_empty() {
            io.write_all(&out).await?;
            out.clear();
        }
        if echo.closed {
            return io.shutdown().await;
        }
        let n = io.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        *wire_in += n as u64;
        echo.feed(&buf[..n], &mut out);
    }
}
