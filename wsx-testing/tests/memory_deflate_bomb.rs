//! A compression bomb: one message of about 1 MiB on the wire that inflates to
//! 1 GiB ends with close 1009, and the client's peak memory grows by no more than the message
//! limit (16 MiB here) and a little: it inflates in bounded steps against the limit, never the
//! whole message first. One test per binary, so the process's peak RSS is this test's.

use std::time::Duration;

use wsx_proto::protocol::OpCode;
use wsx_testing::memory::peak_rss;
use wsx_testing::{compressed_frame, deflate_bomb, Handshake, Script, Step, TestServer};
use wsx_tokio::{
    config::Config, deflate::DeflateConfig, error::ProtocolError, Client, CloseReason, ConnectSettings, Error, Handler,
};

struct Quiet;

impl Handler for Quiet {
    type Cast = ();
    type Info = ();
}

const LIMIT: usize = 16 << 20;

#[test]
fn a_gigabyte_bomb_is_refused_within_the_message_limit() {
    let bomb = deflate_bomb(1024);
    assert!(bomb.len() < 2 << 20, "{} bytes on the wire", bomb.len());
    let wire = bomb.len();
    let frame = compressed_frame(OpCode::Binary, &bomb);
    drop(bomb);
    let server = TestServer::start(
        Script::new(vec![Step::SendRaw(frame), Step::Listen])
            .handshake(Handshake::AcceptExtension("permessage-deflate".into())),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let config = Config::default()
        .max_message_size(LIMIT)
        .deflate(Some(DeflateConfig::default()));
    let settings = ConnectSettings::new(&server.url()).expect("url").config(config);
    let before = peak_rss();
    let reason = runtime.block_on(async {
        let client: Client<Quiet> = Client::start(settings, Quiet).await.expect("connect");
        client.wait().await
    });
    let grown = peak_rss().saturating_sub(before);
    match reason {
        CloseReason::Error(Error::Protocol(ProtocolError::MessageTooLarge { limit, .. })) => assert_eq!(limit, LIMIT),
        other => panic!("expected MessageTooLarge, got {other:?}"),
    }
    assert_eq!(server.expect_close(Duration::from_secs(5)).close_code(), Some(1009));
    eprintln!(
        "peak RSS grew by {:.1} MiB for a 1 GiB bomb of {wire} bytes",
        grown as f64 / (1 << 20) as f64
    );
    assert!(
        grown < (LIMIT + (8 << 20)) as u64,
        "peak RSS grew by {grown} bytes (limit {LIMIT})"
    );
}
