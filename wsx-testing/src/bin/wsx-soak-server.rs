//! The soak test's server, in its own process: the scripted test server echoing, each
//! connection reset after a lifetime between 3 and 30 s (spread by its index), so about a tenth
//! of a steady population drops every 3 s. Prints its URL, then serves until stdin closes.

use std::time::{Duration, Instant};

use wsx_proto::OpCode;
use wsx_testing::{Script, Step, TestServer};

fn main() {
    let server = TestServer::start(Script::new(vec![Step::custom(|conn| {
        let life = Duration::from_millis(3_000 + (conn.index() as u64 * 7_919) % 27_000);
        let until = Instant::now() + life;
        while Instant::now() < until {
            let Some(frame) = conn.recv_frame()? else { return Ok(()) };
            match frame.opcode {
                OpCode::Text | OpCode::Binary => conn.send_frame(true, frame.opcode, &frame.payload)?,
                OpCode::Ping => conn.send_frame(true, OpCode::Pong, &frame.payload)?,
                OpCode::Close => {
                    conn.send_close(Some((1000, "")))?;
                    return Ok(());
                }
                _ => {}
            }
        }
        conn.reset();
        Ok(())
    })]));
    println!("{}", server.url());
    let mut line = String::new();
    while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {
        line.clear();
    }
}
