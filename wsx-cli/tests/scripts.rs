//! `wsx URL` in scripts: pipes in and out, JSON events parsed and checked, exit codes, against
//! the project's scripted server (well-behaved and not), Python `websockets` and Node `ws`.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::time::{Duration, Instant};

use common::{eventually, finish, interrupt, wsx, HANG};
use wsx_proto::protocol::OpCode;
use wsx_testing::{Handshake, Hypercorn, Peer, PeerServer, Script, Step, TestPki, TestServer};

const T: Duration = Duration::from_secs(10);

#[test]
fn lines_in_become_messages_and_echoes_come_out_as_lines() {
    let server = TestServer::echo();
    let run = wsx([server.url()]).stdin("hello\nweb socket\r\n\nlast").run();
    run.expect_code(0);
    assert_eq!(run.lines(), ["hello", "web socket", "", "last"]);
    for expected in ["hello", "web socket", "", "last"] {
        assert_eq!(server.expect_frame(T).text(), Some(expected));
    }
    assert_eq!(
        server.expect_frame(T).close_code(),
        Some(1000),
        "closed normally at EOF"
    );
}

#[test]
fn json_reports_every_event_with_its_details() {
    let server = TestServer::start(
        Script::new(vec![Step::ping(b"are you there"), Step::binary(&[1, 2, 3]), Step::Echo])
            .handshake(Handshake::AcceptProtocol("chat.v2".into())),
    );
    let run = wsx([
        "--json",
        "--protocol",
        "chat.v1",
        "--protocol",
        "chat.v2",
        &server.url(),
    ])
    .stdin("ping me\n")
    .run();
    run.expect_code(0);
    let events = run.events();
    let kinds: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"connected"));
    assert_eq!(kinds.last(), Some(&"closed"));
    let connected = &events[0];
    assert_eq!(connected["subprotocol"], "chat.v2");
    assert_eq!(connected["headers"]["x-test-server"], "wsx-testing");
    assert_eq!(connected["reconnects"], 0);
    let ping = &run.events_of("ping")[0];
    assert_eq!(
        (ping["data"].as_str(), ping["len"].as_u64()),
        (Some("are you there"), Some(13))
    );
    let binary = &run.events_of("binary")[0];
    assert_eq!(
        (binary["base64"].as_str(), binary["len"].as_u64()),
        (Some("AQID"), Some(3))
    );
    let text = &run.events_of("text")[0];
    assert_eq!(
        (text["data"].as_str(), text["len"].as_u64()),
        (Some("ping me"), Some(7))
    );
    let closed = events.last().unwrap();
    assert_eq!(
        (closed["by"].as_str(), closed["code"].as_u64()),
        (Some("local"), Some(1000))
    );
    // The ping was answered with its payload.
    let pong = server.expect_frame(T);
    assert_eq!((pong.opcode, &pong.payload[..]), (OpCode::Pong, &b"are you there"[..]));
}

#[test]
fn headers_origin_and_subprotocols_are_in_the_request() {
    let server = TestServer::echo();
    wsx([
        "-H",
        "X-Token: abc def",
        "--header",
        "X-Second:2",
        "--origin",
        "https://app.example",
        "--protocol",
        "p1",
        &server.url(),
    ])
    .run()
    .expect_code(0);
    let request = &server.requests()[0];
    assert_eq!(request.header("X-Token"), Some("abc def"));
    assert_eq!(request.header("X-Second"), Some("2"));
    assert_eq!(request.header("Origin"), Some("https://app.example"));
    assert_eq!(request.header("Sec-WebSocket-Protocol"), Some("p1"));
}

#[test]
fn binary_input_is_sent_as_bytes_and_output_is_raw_hex_or_base64() {
    let server = TestServer::echo();
    let bytes = vec![0u8, 1, 2, 0xff, b'\n', 0x80];
    let run = wsx(["--binary", &server.url()]).stdin(bytes.clone()).run();
    run.expect_code(0);
    assert_eq!(run.stdout, bytes, "raw bytes out, no line ending added");
    let frame = server.expect_frame(T);
    assert_eq!((frame.opcode, &frame.payload[..]), (OpCode::Binary, &bytes[..]));

    let pushes = TestServer::start(Script::new(vec![Step::binary(&[0, 0xab, 0x10]), Step::Echo]));
    let hex = wsx(["--no-close", "-1", "--binary-output", "hex", &pushes.url()]).run();
    assert_eq!(hex.expect_code(0).out(), "00ab10\n");
    let base64 = wsx(["-1", "--binary-output", "base64", &pushes.url()]).run();
    assert_eq!(base64.expect_code(0).out(), "AKsQ\n");
}

#[test]
fn once_exits_after_the_first_message_with_a_normal_close() {
    let server = TestServer::start(Script::new(vec![Step::text("first"), Step::text("second"), Step::Echo]));
    // Stdin stays open: only the message ends the run.
    let child = wsx(["-1", "--json", &server.url()]).spawn();
    let run = finish(child, HANG);
    run.expect_code(0);
    let texts: Vec<_> = run.events_of("text").iter().map(|e| e["data"].to_string()).collect();
    assert_eq!(texts, ["\"first\""]);
    assert_eq!(server.expect_close(T).close_code(), Some(1000));
}

#[test]
fn close_code_and_reason_are_sent_at_the_end() {
    let server = TestServer::echo();
    wsx(["--close-code", "4000", "--close-reason", "done here", &server.url()])
        .stdin("x\n")
        .run()
        .expect_code(0);
    assert_eq!(server.expect_frame(T).text(), Some("x"));
    let close = server.expect_frame(T);
    assert_eq!(
        (close.close_code(), close.close_reason()),
        (Some(4000), "done here".to_owned())
    );
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    for args in [
        vec!["ws://127.0.0.1:9/", "--close-code", "1005"],
        vec!["ws://127.0.0.1:9/", "--pong-timeout", "1s"],
        vec!["ws://127.0.0.1:9/", "--no-such-flag"],
        vec!["http://127.0.0.1:9/"],
        vec!["ws://127.0.0.1:9/", "-H", "no colon"],
        vec![],
    ] {
        let run = wsx(&args).run();
        run.expect_code(2);
        assert!(run.stderr.contains("error"), "{args:?}: {}", run.stderr);
    }
    let help = wsx(["--help"]).run();
    assert!(
        help.expect_code(0).out().contains("Exit codes:"),
        "the help lists the exit codes"
    );
}

#[test]
fn a_refused_connection_exits_3() {
    let run = wsx([wsx_testing::refused_url()]).run();
    run.expect_code(3);
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
    assert!(run.stderr.starts_with("error: cannot connect to"), "{}", run.stderr);
    let json = wsx(["--json", &wsx_testing::refused_url()]).run();
    let error = &json.expect_code(3).events_of("error")[0];
    assert!(error["message"].as_str().unwrap().contains("refused"), "{error}");
}

#[test]
fn the_connect_timeout_bounds_a_connect_that_never_answers() {
    let hole = wsx_testing::BlackHole::at("127.0.0.1:0".parse().unwrap());
    let start = Instant::now();
    let run = wsx(["--connect-timeout", "300ms", &format!("ws://{}/", hole.addr())]).run();
    run.expect_code(3);
    assert!(run.stderr.contains("timed out"), "{}", run.stderr);
    assert!(start.elapsed() < Duration::from_secs(4), "took {:?}", start.elapsed());
}

#[test]
fn a_refused_handshake_exits_4_and_says_what_the_server_said() {
    let server = TestServer::start(Script::only(Handshake::Reject {
        status: 403,
        body: "go away".into(),
    }));
    let run = wsx([server.url()]).run();
    run.expect_code(4);
    assert!(run.stderr.contains("403"), "{}", run.stderr);
}

#[test]
fn a_server_that_breaks_the_protocol_exits_5_after_a_1002_close() {
    let server = TestServer::start(Script::new(vec![
        Step::SendMasked {
            opcode: OpCode::Text,
            payload: b"masked".to_vec(),
        },
        Step::AwaitClose,
    ]));
    let run = finish(wsx([server.url()]).spawn(), HANG);
    run.expect_code(5);
    assert!(run.stderr.contains("masked"), "{}", run.stderr);
    assert_eq!(server.expect_close(T).close_code(), Some(1002));
}

#[test]
fn a_message_over_the_limit_exits_5_after_a_1009_close() {
    let server = TestServer::start(Script::new(vec![Step::binary(&[7; 2000]), Step::AwaitClose]));
    let run = finish(wsx(["--max-message-size", "1000", &server.url()]).spawn(), HANG);
    run.expect_code(5);
    assert_eq!(server.expect_close(T).close_code(), Some(1009));
    assert!(run.stdout.is_empty(), "nothing of the oversize message is printed");
}

#[test]
fn abnormal_ends_exit_6() {
    let coded = TestServer::start(Script::new(vec![Step::close(1011, "server broke"), Step::AwaitClose]));
    let run = finish(wsx(["--json", &coded.url()]).spawn(), HANG);
    run.expect_code(6);
    let closed = &run.events_of("closed")[0];
    assert_eq!(
        (closed["by"].as_str(), closed["code"].as_u64()),
        (Some("remote"), Some(1011))
    );
    assert_eq!(closed["reason"], "server broke");

    let dropped = TestServer::start(Script::new(vec![Step::CloseTcp]));
    let run = finish(wsx([dropped.url()]).spawn(), HANG);
    run.expect_code(6);
    assert!(run.stderr.contains("error: connection ended"), "{}", run.stderr);

    let going_away = TestServer::start(Script::new(vec![Step::close(1001, "restart"), Step::AwaitClose]));
    finish(wsx([going_away.url()]).spawn(), HANG).expect_code(0);
}

#[test]
fn keepalive_pings_and_fails_a_server_that_stops_answering() {
    let silent = TestServer::start(Script::new(vec![Step::Hold(Duration::from_secs(20))]));
    let start = Instant::now();
    let run = finish(
        wsx(["--ping-interval", "200ms", "--pong-timeout", "300ms", &silent.url()]).spawn(),
        HANG,
    );
    run.expect_code(6);
    assert!(run.stderr.contains("ping"), "{}", run.stderr);
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
    assert_eq!(silent.expect_frame(T).opcode, OpCode::Ping);

    let answering = TestServer::echo();
    let mut child = wsx(["--json", "--ping-interval", "100ms", &answering.url()]).spawn();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("\"pong\"") {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "stdout ended before a pong");
    }
    drop(child.stdin.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn reconnect_backs_off_counts_attempts_and_sends_on_the_new_connection() {
    let server = TestServer::start_with(|n| match n {
        0 => Script::new(vec![Step::CloseTcp]),
        1 => Script::only(Handshake::Reject {
            status: 503,
            body: String::new(),
        }),
        _ => Script::echo(),
    });
    let mut child = wsx(["--reconnect", "--json", &server.url()]).spawn();
    eventually(T, "three connections", || server.connections() == 3);
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "after").unwrap();
    drop(stdin);
    let run = finish(child, HANG);
    run.expect_code(0);
    let attempts: Vec<_> = run
        .events_of("reconnect")
        .iter()
        .map(|e| e["attempt"].as_u64().unwrap())
        .collect();
    assert_eq!(attempts, [1, 2]);
    let reconnects: Vec<_> = run
        .events_of("connected")
        .iter()
        .map(|e| e["reconnects"].as_u64().unwrap())
        .collect();
    assert_eq!(reconnects, [0, 1]);
    assert_eq!(run.events_of("text")[0]["data"], "after");
}

#[test]
fn reconnect_gives_up_after_max_reconnects_failures_in_a_row() {
    let server = TestServer::start(Script::only(Handshake::Reject {
        status: 503,
        body: String::new(),
    }));
    let run = wsx(["--reconnect", "--max-reconnects", "2", &server.url()]).run();
    run.expect_code(4);
    assert_eq!(server.connections(), 3, "the first attempt and two more");
    let attempts: Vec<_> = run.stderr.lines().filter(|l| l.contains("reconnecting in")).collect();
    assert_eq!(attempts.len(), 2, "{}", run.stderr);
    assert!(
        attempts[0].ends_with("(attempt 1)") && attempts[1].ends_with("(attempt 2)"),
        "{attempts:?}"
    );
}

#[test]
fn ctrl_c_closes_normally_and_a_second_one_quits_at_once() {
    let server = TestServer::echo();
    let mut child = wsx(["--json", &server.url()]).spawn();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.contains("\"connected\""), "{line}");
    interrupt(&child);
    assert_eq!(server.expect_close(T).close_code(), Some(1000));
    assert_eq!(child.wait().unwrap().code(), Some(0));

    // A server that never answers the close: the second Ctrl-C does not wait for its timeout.
    let deaf = TestServer::start(Script::new(vec![Step::IgnoreClose]));
    let child = wsx([deaf.url()]).spawn();
    eventually(T, "connected", || deaf.connections() == 1);
    std::thread::sleep(Duration::from_millis(300));
    interrupt(&child);
    assert_eq!(deaf.expect_close(T).close_code(), Some(1000));
    let start = Instant::now();
    interrupt(&child);
    let run = finish(child, HANG);
    run.expect_code(130);
    assert!(start.elapsed() < Duration::from_secs(2), "took {:?}", start.elapsed());
}

#[test]
fn a_closed_stdout_ends_the_session() {
    let server = TestServer::echo();
    let mut child = wsx([server.url()]).spawn();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    writeln!(stdin, "one").unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "one\n");
    // `wsx URL | head -1`: the reader is gone; the next echo finds stdout closed.
    drop(stdout);
    writeln!(stdin, "two").unwrap();
    let run = finish(child, HANG);
    run.expect_code(0);
    assert_eq!(server.expect_frame(T).text(), Some("one"));
    assert_eq!(server.expect_frame(T).text(), Some("two"));
    assert_eq!(server.expect_close(T).close_code(), Some(1000));
}

#[test]
fn python_websockets_echoes_with_linger_and_compression() {
    let server = PeerServer::start(Peer::PythonWebsockets, &[]);
    let lines: String = (0..50).map(|i| format!("message {i}\n")).collect();
    let run = wsx(["--linger", "1s", &server.url()]).stdin(lines.clone()).run();
    run.expect_code(0);
    assert_eq!(run.out(), lines);

    let run = wsx(["--json", "--compress", "--linger", "1s", &server.url()])
        .stdin("squeeze squeeze squeeze\n")
        .run();
    run.expect_code(0);
    let connected = &run.events_of("connected")[0];
    let extensions = connected["headers"]["sec-websocket-extensions"]
        .as_str()
        .unwrap_or_default();
    assert!(extensions.contains("permessage-deflate"), "{connected}");
    assert_eq!(run.events_of("text")[0]["data"], "squeeze squeeze squeeze");
}

#[test]
fn node_ws_echoes() {
    let server = PeerServer::start(Peer::NodeWs, &[]);
    let run = wsx(["--compress", &server.url()]).stdin("from wsx\nto node\n").run();
    run.expect_code(0);
    assert_eq!(run.lines(), ["from wsx", "to node"]);
}

#[test]
fn http2_over_h2c_and_tls_with_hypercorn_and_its_version_in_json() {
    let h2c = Hypercorn::start(None);
    let run = wsx(["--http2=require", "--json", "--linger", "500ms", &h2c.url("/echo")])
        .stdin("over h2c\n")
        .run();
    run.expect_code(0);
    assert_eq!(run.events_of("connected")[0]["http_version"], "2");
    assert_eq!(run.events_of("text")[0]["data"], "over h2c");

    let pki = TestPki::new();
    let tls = Hypercorn::start(Some(&pki));
    let ca = std::env::temp_dir().join(format!("wsx-cli-h2-ca-{}.pem", std::process::id()));
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let ca = ca.to_str().unwrap();
    for (flags, version) in [(&["--http2"][..], "2"), (&[][..], "1.1")] {
        let mut args = vec!["--json", "--ca", ca, "--linger", "500ms"];
        args.extend_from_slice(flags);
        let url = tls.url("/echo");
        args.push(&url);
        let run = wsx(args).stdin("over TLS\n").run();
        run.expect_code(0);
        assert_eq!(run.events_of("connected")[0]["http_version"], version, "{flags:?}");
        assert_eq!(run.events_of("text")[0]["data"], "over TLS");
    }
    let _ = std::fs::remove_file(ca);
}

#[test]
fn verbose_turns_on_the_library_trace() {
    let server = TestServer::echo();
    let quiet = wsx([server.url()]).run();
    assert_eq!(quiet.expect_code(0).stderr, "");
    let verbose = wsx(["-v", &server.url()]).run();
    assert!(verbose.expect_code(0).stderr.contains("DEBUG"), "{}", verbose.stderr);
}
