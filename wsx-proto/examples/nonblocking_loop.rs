//! Embedding wsx-proto in your own event loop: a non-blocking `mio` socket, the core, and
//! nothing else. Starts a local echo server (tungstenite, in a thread), connects, echoes three
//! messages and closes cleanly.
//!
//! ```text
//! cargo run -p wsx-proto --example nonblocking_loop
//! ```

use std::io::{self, Read, Write};
use std::net::TcpListener;
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use wsx_proto::protocol::CloseReason;
use wsx_proto::{Config, Connection, Event, Frame, Request, WsUrl};

const SOCKET: Token = Token(0);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = start_echo_server()?;
    let url = WsUrl::parse(&format!("ws://{addr}/"))?;
    let mut conn = Connection::new(&Request::new(url), Config::default())?;
    let mut sock = TcpStream::connect(addr)?;
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut sock, SOCKET, Interest::READABLE | Interest::WRITABLE)?;
    let mut events = Events::with_capacity(16);
    let mut unsent = bytes::Bytes::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut to_send = vec!["one", "two", "three"];
    let mut echoes = 0;

    loop {
        // 1. Write what the core wants sent, as far as the socket takes it.
        if unsent.is_empty() {
            unsent = conn.poll_transmit(Instant::now()).unwrap_or_default();
        }
        while !unsent.is_empty() {
            match sock.write(&unsent) {
                Ok(n) => {
                    let _ = unsent.split_to(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::NotConnected => break,
                Err(e) => return Err(e.into()),
            }
        }
        // 2. Wait for the socket, or for the core's timer.
        let timeout = conn
            .poll_timeout()
            .map(|at| at.saturating_duration_since(Instant::now()));
        poll.poll(&mut events, timeout)?;
        conn.handle_timeout(Instant::now());
        // 3. Read everything available into the core.
        loop {
            match sock.read(&mut buf) {
                Ok(0) => {
                    conn.receive_eof();
                    break;
                }
                Ok(n) => conn.receive(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::NotConnected => break,
                Err(e) => return Err(e.into()),
            }
        }
        // 4. React to events.
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Connected(_) => {
                    println!("connected to ws://{addr}/");
                    conn.send(Frame::text(to_send.remove(0)))?;
                }
                Event::Frame(Frame::Text(text)) => {
                    println!("echo: {text}");
                    echoes += 1;
                    match to_send.pop() {
                        Some(next) => conn.send(Frame::text(next))?,
                        None => conn.close(None)?,
                    }
                }
                Event::Frame(Frame::Ping(payload)) => conn.send(Frame::Pong(payload))?,
                Event::Frame(_) => {}
                Event::Closed(reason) => {
                    println!("closed: {reason}");
                    assert_eq!(echoes, 3);
                    return match *reason {
                        CloseReason::Local(_) => Ok(()),
                        other => Err(format!("unclean close: {other}").into()),
                    };
                }
                _ => {}
            }
        }
    }
}

/// A blocking tungstenite echo server on a free port, one thread per connection.
fn start_echo_server() -> io::Result<std::net::SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let Ok(mut ws) = tungstenite::accept(stream) else {
                    return;
                };
                loop {
                    match ws.read() {
                        Ok(msg @ (tungstenite::Message::Text(_) | tungstenite::Message::Binary(_))) => {
                            if ws.send(msg).is_err() {
                                return;
                            }
                        }
                        Ok(tungstenite::Message::Close(_)) => {
                            // tungstenite queued the close reply while reading: send it before
                            // TCP closes (reading on instead can end with an error first).
                            let _ = ws.flush();
                            return;
                        }
                        Ok(_) => {}
                        Err(_) => return,
                    }
                }
            });
        }
    });
    Ok(addr)
}
