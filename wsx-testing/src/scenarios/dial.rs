//! Connecting to a name with several addresses: the happy-eyeballs race (an address that
//! never answers does not hold the connection up; one that refuses is passed at once), mixed
//! address families, and a typed error when every address fails. The addresses are pinned
//! with `ConnectSettings::resolve`, so no test depends on what the machine's resolver says.
//!
//! Each scenario keeps its own server on 127.0.0.2 alive to the end and uses that port on
//! 127.0.0.3 and 127.0.0.4, which nothing else binds: scenarios running side by side never
//! meet on an address.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use wsx_proto::{ConnectSettings, Error};

use super::{close_normally, T};
use crate::harness::{settings, Probe, TestAdapter, TestClient, TestOptions};
use crate::server::{BlackHole, Script, TestServer};

/// The pinned name the scenarios connect to.
const NAME: &str = "several.wsx.test";

fn ip(s: &str) -> IpAddr {
    s.parse().expect("IP address")
}

/// An echo server on 127.0.0.2 (any free port): the good address of a pinned list, and the
/// owner of the port the scenario uses on 127.0.0.3 and 127.0.0.4.
fn server_on_second_loopback_address() -> TestServer {
    TestServer::start_on(
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), 0),
        Script::echo(),
    )
}

/// Settings for `ws://NAME:PORT/` with `NAME` pinned to `addrs`.
fn pinned(port: u16, addrs: &[&str]) -> ConnectSettings {
    settings(&format!("ws://{NAME}:{port}/")).resolve(NAME, addrs.iter().map(|a| ip(a)))
}

/// One echo, then a normal close.
fn echoes<A: TestAdapter>(settings: ConnectSettings, server: &TestServer) {
    let (probe, mut events) = Probe::<A>::new();
    let client = A::start(settings, probe, TestOptions::default()).expect("connects");
    client.send_frame(wsx_proto::Frame::text("raced"), T).expect("send");
    assert_eq!(events.frame(T), wsx_proto::Frame::text("raced"));
    close_normally::<A>(&client, server, &mut events);
}

/// The first address never answers (a full accept queue drops the SYN, retried only after a
/// second); the second starts 250 ms later and wins, well within a connect timeout that one
/// address tried after the other would spend entirely on the first.
pub fn happy_eyeballs_passes_an_address_that_never_answers<A: TestAdapter>() {
    let server = server_on_second_loopback_address();
    let port = server.addr().port();
    let _hole = BlackHole::at(SocketAddr::new(ip("127.0.0.3"), port));
    let settings = pinned(port, &["127.0.0.3", "127.0.0.2"]).connect_timeout(Duration::from_millis(900));
    echoes::<A>(settings, &server);
}

/// An address that refuses, and an IPv6 one that refuses too (the v4-mapped 127.0.0.4), or
/// cannot be used where IPv6 is off, are passed at once: the families alternate, the server
/// is on the third.
pub fn connect_passes_refusing_addresses_of_both_families<A: TestAdapter>() {
    let server = server_on_second_loopback_address();
    let port = server.addr().port();
    let settings = pinned(port, &["127.0.0.3", "::ffff:127.0.0.4", "127.0.0.2"]);
    echoes::<A>(settings, &server);
    assert_eq!(server.connections(), 1);
}

/// Every address refuses: the error is the last attempt's, typed.
pub fn every_address_refusing_is_a_typed_error<A: TestAdapter>() {
    let server = server_on_second_loopback_address();
    let port = server.addr().port();
    let (probe, events) = Probe::<A>::new();
    match A::start(pinned(port, &["127.0.0.3", "127.0.0.4"]), probe, TestOptions::default()) {
        Err(Error::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused),
        other => panic!("expected Io(ConnectionRefused), got {other:?}"),
    }
    assert!(events.all().is_empty(), "no callback runs");
    drop(server);
}

/// Every address hangs: the connect timeout ends the race with `ConnectTimeout`.
pub fn connect_timeout_ends_a_race_that_nobody_wins<A: TestAdapter>() {
    let server = server_on_second_loopback_address();
    let port = server.addr().port();
    let _first = BlackHole::at(SocketAddr::new(ip("127.0.0.3"), port));
    let _second = BlackHole::at(SocketAddr::new(ip("127.0.0.4"), port));
    let timeout = Duration::from_millis(600);
    let started = std::time::Instant::now();
    let (probe, _events) = Probe::<A>::new();
    match A::start(
        pinned(port, &["127.0.0.3", "127.0.0.4"]).connect_timeout(timeout),
        probe,
        TestOptions::default(),
    ) {
        Err(Error::ConnectTimeout) => {}
        other => panic!("expected ConnectTimeout, got {other:?}"),
    }
    assert!(started.elapsed() < timeout + T, "took {:?}", started.elapsed());
    drop(server);
}
