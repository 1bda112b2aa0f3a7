//! A local echo server for the examples and tests, on tungstenite (an independent
//! implementation), with a thread per connection: no async runtime involved.

use std::net::{TcpListener, TcpStream};
use std::thread;

use tungstenite::Message;

/// Starts an echo server on a free loopback port and returns its URL.
pub fn start() -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("ws://{}/", listener.local_addr()?);
    thread::Builder::new().name("echo-server".into()).spawn(move || {
        for tcp in listener.incoming().flatten() {
            let _ = thread::Builder::new()
                .name("echo-connection".into())
                .spawn(move || serve(tcp));
        }
    })?;
    Ok(url)
}

fn serve(tcp: TcpStream) {
    let _ = tcp.set_nodelay(true);
    let Ok(mut ws) = tungstenite::accept(tcp) else {
        return;
    };
    loop {
        match ws.read() {
            Ok(msg @ (Message::Text(_) | Message::Binary(_))) => {
                if ws.send(msg).is_err() {
                    return;
                }
            }
            Ok(Message::Close(_)) => {
                // tungstenite queued the close reply while reading; send it, then drop TCP.
                let _ = ws.flush();
                return;
            }
            // Pings are answered by tungstenite itself.
            Ok(_) => {}
            Err(_) => return,
        }
    }
}
