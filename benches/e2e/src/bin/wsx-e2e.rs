//! Runs one client on one workload against the echo server and prints one `result` line, or
//! runs the load client against one library's server (`wsx-e2e-server`) on a server workload
//! and prints its line, or renders result lines as markdown, or writes the published report
//! (BENCHMARKS.md and its SVG charts) from a results file. Each run is its own process, so the
//! `peak_rss` of its line (`VmHWM` at the end) is that run's peak; the echo server's memory is
//! not in it.
//!
//! ```text
//! wsx-e2e run --client NAME --workload NAME --addr HOST:PORT [--server-pid PID]
//!             [--rtt-count N] [--warmup N] [--secs S] [--window-bytes N] [--conns N] [--many-conns N]
//!             [--concurrency N] [--timeout S]
//! wsx-e2e load --server NAME --workload serve-CONNS-SIZE --addr HOST:PORT --server-pid PID
//!              [--secs S] [--warmup-secs S] [--conns N] [--timeout S]
//! wsx-e2e report FILE...
//! wsx-e2e publish RESULTS.tsv --out-md FILE --charts DIR [--meta KEY=VALUE]...
//! wsx-e2e list
//! ```

use std::process::ExitCode;
use std::time::Duration;

use wsx_bench_e2e::load::{self, LoadParams};
use wsx_bench_e2e::sys::{peak_rss_bytes, raise_nofile, CpuMeter};
use wsx_bench_e2e::{
    clients, publish, report, Params, ServeWorkload, Workload, CLIENTS, MANY_CONNS, SERVERS, SERVE_WORKLOADS, WORKLOADS,
};

fn usage() -> ExitCode {
    eprintln!(
        "usage: wsx-e2e run --client NAME --workload NAME --addr HOST:PORT [--server-pid PID] [--rtt-count N] \
         [--warmup N] [--secs S] [--window-bytes N] [--conns N] [--many-conns N] [--concurrency N] [--timeout S]\n       \
         [--send-buffer BYTES (wsx clients; many-1k, many-1k-h2: 16384 unless given)]\n       \
         wsx-e2e load --server NAME --workload NAME --addr HOST:PORT --server-pid PID [--secs S] [--warmup-secs S] \
         [--conns N] [--timeout S]\n       \
         wsx-e2e report FILE...\n       \
         wsx-e2e publish RESULTS.tsv --out-md FILE --charts DIR [--meta KEY=VALUE]...\n       wsx-e2e list\n\n\
         clients: {}\nworkloads: {}\nservers: {}\nserver workloads: {}",
        CLIENTS.join(" "),
        WORKLOADS.join(" "),
        SERVERS.join(" "),
        SERVE_WORKLOADS.join(" ")
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("load") => load_cmd(&args[1..]),
        Some("report") => {
            let mut text = String::new();
            for file in &args[1..] {
                match std::fs::read_to_string(file) {
                    Ok(t) => text.push_str(&t),
                    Err(e) => {
                        eprintln!("{file}: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            }
            print!("{}", report::render(&report::parse(&text)));
            ExitCode::SUCCESS
        }
        Some("publish") => publish_cmd(&args[1..]),
        Some("list") => {
            println!(
                "clients: {}\nworkloads: {}\nservers: {}\nserver workloads: {}",
                CLIENTS.join(" "),
                WORKLOADS.join(" "),
                SERVERS.join(" "),
                SERVE_WORKLOADS.join(" ")
            );
            ExitCode::SUCCESS
        }
        _ => usage(),
    }
}

/// `publish RESULTS.tsv --out-md FILE --charts DIR [--meta KEY=VALUE]...`: the report of a
/// results file, its `meta` lines completed or overridden by `--meta`.
fn publish_cmd(args: &[String]) -> ExitCode {
    let Some((results, flags)) = args.split_first() else {
        return usage();
    };
    let (mut out_md, mut charts) = (None, None);
    let mut extra = Vec::new();
    let mut it = flags.iter();
    while let Some(flag) = it.next() {
        let Some(value) = it.next() else {
            return usage();
        };
        match flag.as_str() {
            "--out-md" => out_md = Some(value.clone()),
            "--charts" => charts = Some(value.clone()),
            "--meta" => match value.split_once('=') {
                Some((k, v)) => extra.push((k.to_string(), v.to_string())),
                None => return usage(),
            },
            _ => return usage(),
        }
    }
    let (Some(out_md), Some(charts)) = (out_md, charts) else {
        return usage();
    };
    let text = match std::fs::read_to_string(results) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{results}: {e}");
            return ExitCode::FAILURE;
        }
    };
    if report::parse(&text).is_empty() {
        eprintln!("{results}: no result lines");
        return ExitCode::FAILURE;
    }
    let mut meta = publish::parse_meta(&text);
    meta.extend(extra);
    match publish::write(&text, &meta, out_md.as_ref(), charts.as_ref()) {
        Ok(files) => {
            for f in files {
                eprintln!("wrote {}", f.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("publish: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `load --server NAME --workload NAME --addr HOST:PORT --server-pid PID ...`: the load
/// client against the server `wsx-e2e-server` runs; `--server` only names the result line.
fn load_cmd(args: &[String]) -> ExitCode {
    let (mut server, mut workload, mut addr, mut server_pid, mut conns) = (None, None, None, None, None);
    let (mut secs, mut warmup, mut timeout) = (3.0, 0.5, 120.0);
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let Some(value) = it.next() else {
            return usage();
        };
        let ok = match flag.as_str() {
            "--server" => {
                server = Some(value.clone());
                true
            }
            "--workload" => {
                workload = Some(value.clone());
                true
            }
            "--addr" => value.parse().map(|a| addr = Some(a)).is_ok(),
            "--server-pid" => value.parse::<u32>().map(|v| server_pid = Some(v)).is_ok(),
            "--conns" => value.parse::<usize>().map(|v| conns = Some(v.max(1))).is_ok(),
            "--secs" => value.parse().map(|v| secs = v).is_ok(),
            "--warmup-secs" => value.parse().map(|v| warmup = v).is_ok(),
            "--timeout" => value.parse().map(|v| timeout = v).is_ok(),
            _ => false,
        };
        if !ok {
            eprintln!("bad argument: {flag} {value}");
            return usage();
        }
    }
    let (Some(server), Some(workload_name), Some(addr)) = (server, workload, addr) else {
        return usage();
    };
    let Some(workload) = ServeWorkload::parse(&workload_name) else {
        return usage();
    };
    let (Ok(measure), Ok(warmup)) = (Duration::try_from_secs_f64(secs), Duration::try_from_secs_f64(warmup)) else {
        return usage();
    };
    let p = LoadParams {
        addr,
        conns: conns.unwrap_or(workload.conns),
        size: workload.size,
        warmup,
        measure,
        server_pid,
    };
    let want = p.conns as u64 + 256;
    if raise_nofile(want) < want {
        eprintln!("open-file limit below the {want} the load needs");
        return ExitCode::FAILURE;
    }
    let (s, w) = (server.clone(), workload_name.clone());
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs_f64(timeout));
        println!("error\tserver={s}\tworkload={w}\tmsg=timed out after {timeout} s");
        std::process::exit(3);
    });
    match load::run(&p) {
        Ok(r) => {
            println!("{}", r.line(&server, &workload_name));
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("error\tserver={server}\tworkload={workload_name}\tmsg={e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> ExitCode {
    let mut client = None;
    let mut workload = None;
    let mut addr = None;
    let mut server_pid = None;
    let mut timeout = 120.0;
    let mut p = Params {
        addr: "127.0.0.1:9001".parse().unwrap(),
        rtt_count: 20_000,
        warmup: 1_000,
        stream_time: Duration::from_secs(3),
        window_bytes: 8 << 20,
        conns: 5_000,
        open_concurrency: 64,
        stream_count: None,
        many_conns: MANY_CONNS,
        send_buffer: None,
        http2: false,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let Some(value) = it.next() else {
            return usage();
        };
        let ok = match flag.as_str() {
            "--client" => {
                client = Some(value.clone());
                true
            }
            "--workload" => {
                workload = Some(value.clone());
                true
            }
            "--addr" => value.parse().map(|a| addr = Some(a)).is_ok(),
            "--server-pid" => value.parse::<u32>().map(|v| server_pid = Some(v)).is_ok(),
            "--rtt-count" => value.parse().map(|v| p.rtt_count = v).is_ok(),
            "--warmup" => value.parse().map(|v| p.warmup = v).is_ok(),
            "--secs" => value
                .parse()
                .map(|v| p.stream_time = Duration::from_secs_f64(v))
                .is_ok(),
            "--window-bytes" => value.parse().map(|v| p.window_bytes = v).is_ok(),
            "--conns" => value.parse().map(|v| p.conns = v).is_ok(),
            "--many-conns" => value.parse().map(|v| p.many_conns = v).is_ok(),
            "--send-buffer" => value.parse().map(|v| p.send_buffer = Some(v)).is_ok(),
            "--concurrency" => value.parse().map(|v: usize| p.open_concurrency = v.max(1)).is_ok(),
            "--timeout" => value.parse().map(|v| timeout = v).is_ok(),
            _ => false,
        };
        if !ok {
            eprintln!("bad argument: {flag} {value}");
            return usage();
        }
    }
    let (Some(client), Some(workload_name), Some(addr)) = (client, workload, addr) else {
        return usage();
    };
    let Some(workload) = Workload::parse(&workload_name) else {
        return usage();
    };
    p.addr = addr;
    if matches!(workload, Workload::Many { .. }) {
        p.send_buffer.get_or_insert(wsx_bench_e2e::MANY_SEND_BUFFER);
        // A socket a connection, and wsx-blocking's wake-up descriptor.
        let want = p.many_conns as u64 * 2 + 256;
        if raise_nofile(want) < want {
            eprintln!("open-file limit below the {want} the many-connections workload needs");
            return ExitCode::FAILURE;
        }
    }
    if workload == Workload::Idle {
        // One descriptor a connection; wsx-blocking's thread adds its wake-up descriptor (two
        // a connection), so it opens as many as the limit allows.
        let per_conn = if client == "wsx-blocking" { 2 } else { 1 };
        let want = p.conns as u64 * per_conn + 256;
        let got = raise_nofile(want);
        if got < want {
            let fit = (got.saturating_sub(256) / per_conn) as usize;
            if per_conn == 1 || fit == 0 {
                eprintln!("open-file limit {got} is below the {want} the idle workload needs");
                return ExitCode::FAILURE;
            }
            eprintln!("open-file limit {got}: {fit} connections instead of {}", p.conns);
            p.conns = fit;
        }
    }
    // A watchdog: a wedged client must not wedge the whole run.
    let (c, w) = (client.clone(), workload_name.clone());
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs_f64(timeout));
        println!("error\tclient={c}\tworkload={w}\tmsg=timed out after {timeout} s");
        std::process::exit(3);
    });
    let server = server_pid.map(CpuMeter::start);
    let me = CpuMeter::start(std::process::id());
    match clients::run(&client, workload, &p) {
        Ok(mut m) => {
            // The CPU shares cover the whole run, connect included (negligible next to it).
            let server_cpu = server.and_then(|s| s.share());
            let client_cpu = me.share();
            m.peak_rss = peak_rss_bytes();
            println!("{}", m.line(&client, &workload_name, server_cpu, client_cpu));
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("error\tclient={client}\tworkload={workload_name}\tmsg={e}");
            ExitCode::FAILURE
        }
    }
}
