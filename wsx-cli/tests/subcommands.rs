//! `wsx echo-server` (plain and TLS, talked to by `wsx` itself and by a client library) and
//! `wsx bench` (against the echo server, and against a server that does not echo).

mod common;

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::time::Duration;

use common::{finish, wsx, Run};
use wsx_testing::{Script, Step, TestServer};

/// `wsx echo-server ARGS`, killed on drop.
struct EchoServer {
    child: Child,
    url: String,
}

impl EchoServer {
    fn start(args: &[&str]) -> Self {
        let mut child = wsx(["echo-server"].iter().chain(args)).spawn();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(
            line.starts_with("ws"),
            "the echo server printed {line:?} instead of its URL"
        );
        Self {
            child,
            url: line.trim().to_owned(),
        }
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_echo_server_echoes_to_wsx_and_to_a_library_client() {
    let server = EchoServer::start(&[]);
    let run = wsx([&server.url]).stdin("one\ntwo\n").run();
    assert_eq!(run.expect_code(0).lines(), ["one", "two"]);

    let binary = wsx(["--binary", &server.url]).stdin(vec![9u8; 100_000]).run();
    assert_eq!(binary.expect_code(0).stdout, vec![9u8; 100_000]);

    // Not only wsx: the library's own client, fragments and all.
    let runtime = tokio_runtime();
    runtime.block_on(async {
        let (tx, rx) = std::sync::mpsc::channel();
        let client = wsx_tokio::Client::start(server.url.as_str(), Collect(tx))
            .await
            .unwrap();
        client.send_frame(wsx_tokio::Frame::text("library")).await.unwrap();
        let big = vec![1u8; 3 << 20];
        client.send_frame(wsx_tokio::Frame::binary(big.clone())).await.unwrap();
        let echoed = tokio::task::spawn_blocking(move || {
            (
                rx.recv_timeout(Duration::from_secs(10)),
                rx.recv_timeout(Duration::from_secs(10)),
            )
        })
        .await
        .unwrap();
        assert_eq!(echoed.0.unwrap(), wsx_tokio::Frame::text("library"));
        assert_eq!(echoed.1.unwrap(), wsx_tokio::Frame::binary(big));
        client.close().unwrap();
        assert!(client.wait().await.is_normal());
    });
}

#[test]
fn the_echo_server_listens_on_the_port_it_is_given_and_says_when_it_cannot() {
    let port = wsx_testing::unused_port();
    let server = EchoServer::start(&["--port", &port.to_string()]);
    assert_eq!(server.url, format!("ws://127.0.0.1:{port}/"));
    let taken = wsx(["echo-server", "--port", &port.to_string()]).run();
    taken.expect_code(1);
    assert!(taken.stderr.contains(&port.to_string()), "{}", taken.stderr);
}

#[test]
fn the_tls_echo_server_writes_its_ca_for_the_client() {
    let dir = std::env::temp_dir().join(format!("wsx-cli-tls-echo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    let server = EchoServer::start(&["--tls", "--ca-out", ca.to_str().unwrap()]);
    assert!(server.url.starts_with("wss://localhost:"), "{}", server.url);
    let run = wsx(["--ca", ca.to_str().unwrap(), &server.url]).stdin("secret\n").run();
    assert_eq!(run.expect_code(0).lines(), ["secret"]);
    wsx([&server.url]).run().expect_code(3);
}

#[test]
fn bench_measures_every_workload_against_an_echo_server() {
    let server = EchoServer::start(&[]);
    let run = wsx(["bench", &server.url, "--duration", "300ms", "--size", "512", "--json"]).run();
    let summaries = run.expect_code(0).lines();
    assert_eq!(summaries.len(), 3, "{run:?}");
    for (line, workload) in summaries.iter().zip(["rtt", "stream", "flood"]) {
        let s: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(s["workload"], workload);
        assert_eq!(s["size"], if workload == "rtt" { 16 } else { 512 });
        assert!(s["messages"].as_u64().unwrap() > 10, "{s}");
        assert!(s["msgs_per_s"].as_f64().unwrap() > 0.0, "{s}");
        let (p50, p99) = (s["p50_us"].as_f64().unwrap(), s["p99_us"].as_f64().unwrap());
        assert!(0.0 < p50 && p50 <= p99, "{s}");
    }
    let table = wsx(["bench", &server.url, "--workload", "rtt", "--duration", "200ms"]).run();
    let text = table.expect_code(0).out();
    assert!(text.starts_with("workload"), "{text}");
    assert!(text.lines().nth(1).unwrap().starts_with("rtt"), "{text}");
    assert!(
        !table.stderr.contains('['),
        "no progress bar when stderr is not a terminal: {}",
        table.stderr
    );
}

#[test]
fn bench_fails_clearly_against_a_server_that_does_not_echo() {
    let server = TestServer::start(Script::new(vec![Step::Listen]));
    let run: Run = finish(
        wsx(["bench", &server.url(), "--workload", "rtt", "--duration", "1s"]).spawn(),
        Duration::from_secs(40),
    );
    run.expect_code(1);
    assert!(run.stderr.contains("does the server echo"), "{}", run.stderr);
    wsx(["bench", &wsx_testing::refused_url()]).run().expect_code(3);
}

/// Passes on what arrives: the library client above.
struct Collect(std::sync::mpsc::Sender<wsx_tokio::Frame>);

impl wsx_tokio::Handler for Collect {
    type Cast = ();
    type Info = ();

    fn handle_frame(&mut self, frame: wsx_tokio::Frame, _ctx: &mut wsx_tokio::Context<'_, Self>) -> wsx_tokio::Reply {
        let _ = self.0.send(frame);
        wsx_tokio::Reply::Continue
    }
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
