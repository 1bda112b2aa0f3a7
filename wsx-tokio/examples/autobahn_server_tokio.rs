//! Serves the Autobahn TestSuite server cases: every message echoed back.
//!
//! ```text
//! cargo run --release -p wsx-tokio --example autobahn_server_tokio -- 127.0.0.1:9001
//! kosoku -m fuzzingclient 127.0.0.1:9001
//! ```

use wsx_testing::{AutobahnServerArgs, Echo};
use wsx_tokio::Decision;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = AutobahnServerArgs::parse();
    let server = wsx_tokio::server::builder()
        .config(args.config())
        .bind(&*args.addr, |_request| Decision::accept(Echo))
        .await?;
    args.announce(server.local_addr());
    std::future::pending::<()>().await;
    Ok(())
}
