//! What permessage-deflate costs per connection: 200 clients negotiate compression
//! with Node's `ws` (windows of 15 bits, context takeover both ways, the most state), sit
//! idle, then each sends one compressed message and reads its echo. A negotiated but idle
//! connection allocates no zlib state, so it costs what a plain one does; one that has
//! compressed and inflated a message holds both zlib states. One test per binary, so the
//! process's RSS is this test's.

use std::time::{Duration, Instant};

use wsx_testing::memory::rss;
use wsx_testing::{Counter, Peer, PeerServer};
use wsx_tokio::{deflate::DeflateConfig, Client, ConnectSettings, Frame};

const CONNECTIONS: usize = 200;

async fn open(url: &str, deflate: bool, echoes: &Counter) -> Vec<Client<Counter>> {
    let mut clients = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        let settings = ConnectSettings::new(url)
            .expect("url")
            .deflate(deflate.then(DeflateConfig::default));
        let client = Client::start(settings, echoes.clone()).await.expect("connect");
        clients.push(client);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    clients
}

#[test]
fn compression_costs_nothing_until_used() {
    let server = PeerServer::start(Peer::NodeWs, &[]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let echoes = Counter::default();
        // Warm up the allocator and the runtime with plain connections, then measure them.
        drop(open(&server.url(), false, &echoes).await);
        let base = rss();
        let plain = open(&server.url(), false, &echoes).await;
        let plain_cost = rss().saturating_sub(base) / CONNECTIONS as u64;
        let base = rss();
        let compressed = open(&server.url(), true, &echoes).await;
        let idle_cost = rss().saturating_sub(base) / CONNECTIONS as u64;
        let json = "{\"id\":1,\"user\":\"someone\",\"tags\":[\"alpha\",\"beta\"],\"text\":\"hello hello\"} ".repeat(12);
        for client in &compressed {
            client.send(Frame::text(json.clone())).await.expect("send");
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while echoes.frames() < CONNECTIONS {
            assert!(Instant::now() < deadline, "echoes: {}", echoes.frames());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let used_cost = rss().saturating_sub(base) / CONNECTIONS as u64;
        eprintln!(
            "per connection: plain idle {plain_cost} B, compression negotiated and idle {idle_cost} B, \
             after one compressed message each way {used_cost} B"
        );
        assert!(
            idle_cost < plain_cost + 2048,
            "an idle compressed connection costs {idle_cost} B, a plain one {plain_cost} B"
        );
        assert!(
            used_cost > idle_cost + (32 << 10),
            "zlib state after use: {used_cost} B"
        );
        assert!(used_cost < 1 << 20, "{used_cost} B per connection after one message");
        drop((plain, compressed));
    });
}
