//! A local echo server for the examples, on tungstenite (an independent implementation), one
//! thread per connection.

use std::net::TcpListener;

/// Starts an echo server on a free loopback port and returns its URL.
pub fn start() -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("ws://{}/", listener.local_addr()?);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let Ok(mut ws) = tungstenite::accept(stream) else {
                    return;
                };
                while let Ok(msg) = ws.read() {
                    if (msg.is_text() || msg.is_binary()) && ws.send(msg).is_err() {
                        break;
                    }
                }
                // tungstenite answered the close while reading; flush it and let TCP close.
                let _ = ws.flush();
            });
        }
    });
    Ok(url)
}
