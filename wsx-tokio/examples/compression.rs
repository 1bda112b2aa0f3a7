//! permessage-deflate (RFC 7692): offered with `ConnectSettings::deflate`, off by default. The
//! local echo server is another implementation (yawc) that accepts the offer, inflates every
//! message and compresses its echo. The client prints what was negotiated, sends JSON that
//! compresses well, a short message (under the threshold: never compressed) and one with
//! `send_uncompressed`, and checks every echo.
//!
//! ```text
//! cargo run -p wsx-tokio --example compression
//! ```

use std::collections::VecDeque;
use std::process::ExitCode;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wsx_tokio::deflate::DeflateConfig;
use wsx_tokio::{Client, CloseCode, ConnectSettings, Context, Frame, Handler, Reply, Response};

/// Checks that each echo equals the message sent, in order, and closes after the last.
struct Checker {
    expected: VecDeque<Frame>,
    negotiated: bool,
}

impl Handler for Checker {
    type Cast = ();
    type Info = ();

    fn handle_connect(&mut self, response: &Response, _ctx: &mut Context<'_, Self>) {
        // The parameters both sides use: window bits, context takeover, level, threshold.
        let params = response.extensions.deflate();
        println!("negotiated: {params:?}");
        self.negotiated = params.is_some();
    }

    fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        if !self.negotiated || self.expected.pop_front().as_ref() != Some(&frame) {
            return Reply::CloseWith(CloseCode(4000), "unexpected echo".into());
        }
        if self.expected.is_empty() {
            println!("every echo came back intact");
            Reply::Close
        } else {
            Reply::Continue
        }
    }
}

#[tokio::main]
async fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let url = start_server().await?;
    let json: Vec<Frame> = (0..20)
        .map(|i| {
            Frame::text(format!(r#"{{"id":{i},"kind":"tick","values":[1,2,3,4],"note":"repeated text"}}"#).repeat(10))
        })
        .collect();
    let (short, secret) = (Frame::text("ok"), Frame::text("token=3f9a8c"));
    let mut expected: VecDeque<Frame> = json.iter().cloned().collect();
    expected.extend([short.clone(), secret.clone()]);

    // Level 1 (fastest) instead of 6; messages under 256 bytes go out uncompressed.
    let deflate = DeflateConfig::default().level(1).threshold(256);
    let settings = ConnectSettings::new(&url)?.deflate(Some(deflate));
    let client = Client::start(
        settings,
        Checker {
            expected,
            negotiated: false,
        },
    )
    .await?;
    client.send_all(json).await?;
    client.send(short).await?;
    // A secret never shares a compression context with attacker-chosen text (CRIME, BREACH).
    client.send_uncompressed(secret).await?;
    let reason = client.wait().await;
    println!("closed: {reason}");
    Ok(if reason.is_normal() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// An echo server on yawc that requires permessage-deflate: the upgrade is answered here (a
/// 400 without an offer), the frames by yawc.
async fn start_server() -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("ws://{}/", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(serve(tcp));
        }
    });
    Ok(url)
}

async fn serve(mut tcp: TcpStream) -> Option<()> {
    // The request head, byte by byte up to the blank line (the client sends nothing more
    // before the answer).
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(tcp.read_u8().await.ok()?);
    }
    let head = String::from_utf8_lossy(&head);
    let header = |name: &str| {
        head.lines().find_map(|line| {
            let (n, value) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    };
    let key = header("sec-websocket-key")?;
    if !header("sec-websocket-extensions").is_some_and(|offer| offer.contains("permessage-deflate")) {
        tcp.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await.ok()?;
        return None;
    }
    // Accepted with no parameters: 15-bit windows and context takeover both ways. (The
    // accept key is wsx-proto's, the sans-IO core under wsx-tokio.)
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
        wsx_proto::protocol::accept_key(key)
    );
    tcp.write_all(answer.as_bytes()).await.ok()?;
    let options = yawc::Options::default().with_balanced_compression();
    let mut ws =
        yawc::WebSocket::from_stream_with_extensions(tcp, yawc::Role::Server, Some("permessage-deflate"), options)
            .ok()?;
    // yawc answers pings and the close itself, while reading.
    while let Some(frame) = ws.next().await {
        if matches!(frame.opcode(), yawc::OpCode::Text | yawc::OpCode::Binary) {
            ws.send(frame).await.ok()?;
        }
    }
    Some(())
}
