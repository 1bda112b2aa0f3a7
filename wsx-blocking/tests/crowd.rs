//! 5,000 wsx-blocking clients connected at once in one process, each holding at most two
//! descriptors (its socket and its thread's wake-up), each echoing a message; and a start that
//! runs out of descriptors says so. In a process of its own (descriptor and thread counts are
//! per process); the echo server runs in a copy of this binary.

use std::time::{Duration, Instant};

use wsx_blocking::{Client, Error, Frame};
use wsx_testing::child::serve_if_child;
use wsx_testing::memory::raise_fd_limit;
use wsx_testing::{ChildServer, Counter, TestServer};

const CLIENTS: usize = 5_000;
const SERVER_ROLE: &str = "WSX_CROWD_SERVER";

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").count()
}

fn main() {
    if serve_if_child(SERVER_ROLE, TestServer::echo) {
        return;
    }
    start_failure_carries_its_cause();
    five_thousand_clients_two_descriptors_each();
}

/// With no descriptor left for its wake-up, a start fails with the I/O error that says so.
fn start_failure_carries_its_cause() {
    let server = TestServer::echo();
    use rustix::process::{getrlimit, setrlimit, Resource};
    let saved = getrlimit(Resource::Nofile);
    let mut tight = saved;
    tight.current = Some(open_fds() as u64 + 8);
    setrlimit(Resource::Nofile, tight).expect("lower the limit");
    // Every descriptor below the limit taken, holes included.
    let mut taken = Vec::new();
    while let Ok(file) = std::fs::File::open("/dev/null") {
        taken.push(file);
    }
    let result = Client::start(server.url(), Counter::default());
    drop(taken);
    setrlimit(Resource::Nofile, saved).expect("restore the limit");
    match result {
        Err(Error::Io(e)) => assert_eq!(e.raw_os_error(), Some(24), "EMFILE expected: {e}"),
        other => panic!("expected Io(Too many open files), got {other:?}"),
    }
    eprintln!("crowd: a start out of descriptors fails with Io(EMFILE)");
}

fn five_thousand_clients_two_descriptors_each() {
    let limit = raise_fd_limit(2 * CLIENTS as u64 + 1_000);
    assert!(limit >= 2 * CLIENTS as u64 + 256, "open-file limit {limit} is too low");
    let server = ChildServer::copy_of_this_binary(SERVER_ROLE);
    let echoes = Counter::default();
    let before = open_fds();
    let t0 = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            Client::start(server.url(), echoes.clone())
                .unwrap_or_else(|e| panic!("client {i} of {CLIENTS} failed to start: {e}"))
        })
        .collect();
    let connected = t0.elapsed();
    let held = open_fds() - before;
    assert!(
        held <= 2 * CLIENTS,
        "{CLIENTS} connections hold {held} descriptors, more than two each"
    );
    for client in &clients {
        client.send(Frame::text("hello")).expect("send");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while echoes.frames() < CLIENTS {
        assert!(Instant::now() < deadline, "{} of {CLIENTS} echoes", echoes.frames());
        std::thread::sleep(Duration::from_millis(20));
    }
    for client in &clients {
        client.close().expect("close");
    }
    for client in &clients {
        assert!(
            client.wait_timeout(Duration::from_secs(30)).is_some(),
            "a client did not stop"
        );
    }
    drop(server);
    eprintln!(
        "crowd: {CLIENTS} wsx-blocking clients connected in {connected:?}, {held} descriptors \
         ({:.2} each), every echo back",
        held as f64 / CLIENTS as f64
    );
}
