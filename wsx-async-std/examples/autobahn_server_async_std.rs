//! Serves the Autobahn TestSuite server cases: every message echoed back, under async-std or,
//! with `--smol`, under smol (both the caller's `block_on` and the connections' executor).
//!
//! ```text
//! cargo run --release -p wsx-async-std --example autobahn_server_async_std -- 127.0.0.1:9001 [--smol]
//! kosoku -m fuzzingclient 127.0.0.1:9001
//! ```

use wsx_async_std::executor::{AsyncStd, Listen, ListenFuture, Smol};
use wsx_async_std::server::{ServerBuilder, UpgradeRequest};
use wsx_async_std::Decision;
use wsx_testing::{AutobahnServerArgs, Echo};

/// Every case's connection is accepted.
type Decide = fn(&UpgradeRequest) -> Decision<Echo>;

async fn serve<E: Listen<Echo, Decide, Output = ListenFuture<Echo>>>(args: AutobahnServerArgs) -> std::io::Result<()> {
    let decide: Decide = |_request| Decision::accept(Echo);
    let server = ServerBuilder::<E>::new()
        .config(args.config())
        .bind(&*args.addr, decide)
        .await?;
    args.announce(server.local_addr());
    std::future::pending::<()>().await;
    Ok(())
}

fn main() -> std::io::Result<()> {
    let args = AutobahnServerArgs::parse();
    if args.smol {
        smol::block_on(serve::<Smol>(args))
    } else {
        async_std::task::block_on(serve::<AsyncStd>(args))
    }
}
