//! Serves the Autobahn TestSuite server cases: every message echoed back.
//!
//! ```text
//! cargo run --release -p wsx-blocking --example autobahn_server_blocking -- 127.0.0.1:9001
//! kosoku -m fuzzingclient 127.0.0.1:9001
//! ```

use wsx_blocking::Decision;
use wsx_testing::{AutobahnServerArgs, Echo};

fn main() -> std::io::Result<()> {
    let args = AutobahnServerArgs::parse();
    let server = wsx_blocking::server::builder()
        .config(args.config())
        .bind(&*args.addr, |_request| Decision::accept(Echo))?;
    args.announce(server.local_addr());
    loop {
        std::thread::park();
    }
}
