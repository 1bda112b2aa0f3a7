//! The load client of the server workloads (`serve-*`), in the manner of uWebSockets'
//! `load_test`: it opens N connections, sends one masked binary message on each, and sends a
//! connection's next message as soon as its echo is back (a ping-pong per connection, every
//! connection at once). It uses no WebSocket library: the frame is built and masked once
//! ([`crate::frames`]) and echoes are counted by their headers, in one epoll loop on one
//! thread, so that it costs little and the same whatever the server.
//!
//! After a warm-up it measures for a fixed time: the echoes, the server's CPU time
//! (`/proc/PID/stat`, all its threads; the user part apart, since on loopback the kernel's
//! TCP work for both ends is most of the system part) and, at the end with every connection open and busy, the
//! server's peak RSS against its RSS before the first connection. The server is a process of
//! its own, started afresh for each run, so its peak is this run's.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use crate::frames::{header_end, masked_frame, upgrade_request, FrameCounter, OP_BINARY};
use crate::sys::{cpu_seconds, cpu_times, peak_rss_bytes_of, rss_bytes_of};
use crate::Result;

/// The mask of every message (a fixed key, as `load_test`'s).
const KEY: [u8; 4] = [1, 2, 3, 4];
/// Bytes read at once: a whole 16 KiB echo and its header.
const READ_SIZE: usize = 64 * 1024;
/// Readiness events taken per wait.
const EVENTS: usize = 1024;
/// How long opening one connection may take.
const OPEN_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest wait for readiness, so that a server that stops answering still ends the run
/// at its time.
const MAX_WAIT: Duration = Duration::from_millis(100);

/// The knobs of one run.
#[derive(Debug, Clone)]
pub struct LoadParams {
    /// The server under test.
    pub addr: SocketAddr,
    /// Connections.
    pub conns: usize,
    /// Payload bytes of every message.
    pub size: usize,
    /// Time with every connection busy before measuring.
    pub warmup: Duration,
    /// Time measured.
    pub measure: Duration,
    /// The server's process, whose CPU time and memory are read.
    pub server_pid: Option<u32>,
}

/// What one run measured.
#[derive(Debug, Clone, Default)]
pub struct LoadResult {
    /// Connections.
    pub conns: usize,
    /// Echoes in the measured time, all connections together.
    pub msgs: u64,
    /// Payload bytes of every message.
    pub size: usize,
    /// The measured time, in seconds.
    pub secs: f64,
    /// The time to open every connection (one after the other), in seconds.
    pub open_secs: f64,
    /// The server's CPU time (user + system) in the measured time, in seconds.
    pub server_cpu_secs: Option<f64>,
    /// The user part of it: the server's own code, the kernel's TCP work left out.
    pub server_user_secs: Option<f64>,
    /// The load client's CPU time in the measured time, in seconds.
    pub client_cpu_secs: Option<f64>,
    /// The server's RSS before the first connection.
    pub server_idle_rss: Option<u64>,
    /// The server's peak RSS (`VmHWM`) at the end of the measured time.
    pub server_peak_rss: Option<u64>,
    /// Connections that had no echo in the measured time (a server that starves some).
    pub starved: usize,
}

impl LoadResult {
    /// Echoes per second.
    pub fn msgs_per_sec(&self) -> f64 {
        self.msgs as f64 / self.secs.max(1e-9)
    }

    /// The server's CPU time per echo, in microseconds.
    pub fn server_us_per_msg(&self) -> Option<f64> {
        self.per_msg_us(self.server_cpu_secs?)
    }

    /// The server's user CPU time per echo, in microseconds.
    pub fn server_user_us_per_msg(&self) -> Option<f64> {
        self.per_msg_us(self.server_user_secs?)
    }

    fn per_msg_us(&self, cpu_secs: f64) -> Option<f64> {
        (self.msgs > 0).then(|| cpu_secs / self.msgs as f64 * 1e6)
    }

    /// The server's memory per connection: its peak RSS less its idle RSS, over the
    /// connections.
    pub fn server_bytes_per_conn(&self) -> Option<f64> {
        let grown = self.server_peak_rss?.saturating_sub(self.server_idle_rss?);
        Some(grown as f64 / self.conns.max(1) as f64)
    }

    /// The `result` line of `server` on `workload` (`server=` names the row).
    pub fn line(&self, server: &str, workload: &str) -> String {
        use std::fmt::Write as _;
        let mut s = format!("result\tserver={server}\tworkload={workload}");
        let mut put = |k: &str, v: f64| {
            let _ = write!(s, "\t{k}={v:.4}");
        };
        put("conns", self.conns as f64);
        put("msgs", self.msgs as f64);
        put("secs", self.secs);
        put("msgs_per_s", self.msgs_per_sec());
        put(
            "mib_per_s",
            self.msgs as f64 * self.size as f64 / (1024.0 * 1024.0) / self.secs.max(1e-9),
        );
        put("open_s", self.open_secs);
        let share = |cpu: f64| cpu / self.secs.max(1e-9);
        if let Some(cpu) = self.server_cpu_secs {
            put("server_cpu", share(cpu));
        }
        if let Some(us) = self.server_us_per_msg() {
            put("server_us_per_msg", us);
        }
        if let Some(us) = self.server_user_us_per_msg() {
            put("server_user_us_per_msg", us);
        }
        if let Some(cpu) = self.client_cpu_secs {
            put("client_cpu", share(cpu));
        }
        if let Some(b) = self.server_bytes_per_conn() {
            put("server_bytes_per_conn", b);
        }
        if self.starved > 0 {
            put("starved_conns", self.starved as f64);
        }
        for (k, v) in [
            ("server_idle_rss", self.server_idle_rss),
            ("server_peak_rss", self.server_peak_rss),
        ] {
            if let Some(b) = v {
                let _ = write!(s, "\t{k}={b}");
            }
        }
        s
    }
}

/// Runs the load: opens the connections, keeps one message in flight on each through the
/// warm-up and the measured time, and reads the server's CPU time and memory around it.
pub fn run(p: &LoadParams) -> Result<LoadResult> {
    let server_idle_rss = p.server_pid.and_then(rss_bytes_of);
    let opening = Instant::now();
    let mut conns = Vec::with_capacity(p.conns);
    for i in 0..p.conns {
        let sock = open(p.addr).map_err(|e| format!("connection {}: {e}", i + 1))?;
        conns.push(Conn {
            sock,
            echoes: FrameCounter::default(),
            unsent: 0,
            awaits_writable: false,
            echoes_before: 0,
        });
    }
    let open_secs = opening.elapsed().as_secs_f64();
    let payload = vec![0x5a; p.size];
    let frame = masked_frame(OP_BINARY, &payload, KEY);
    let mut pump = Pump {
        epoll: Epoll::new()?,
        conns,
        frame,
        echoed: 0,
    };
    pump.start()?;

    let me = std::process::id();
    let cpu = || (p.server_pid.and_then(cpu_times), cpu_seconds(me));
    let measure_from = Instant::now() + p.warmup;
    let mut buf = vec![0u8; READ_SIZE];
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; EVENTS];
    pump.run_until(measure_from, &mut buf, &mut events)?;

    let (server_cpu0, client_cpu0) = cpu();
    let (echoed0, at0) = (pump.echoed, Instant::now());
    for c in &mut pump.conns {
        c.echoes_before = c.echoes.frames;
    }
    pump.run_until(at0 + p.measure, &mut buf, &mut events)?;
    let secs = at0.elapsed().as_secs_f64();
    let (server_cpu1, client_cpu1) = cpu();
    let server_peak_rss = p.server_pid.and_then(peak_rss_bytes_of);

    let starved = pump.conns.iter().filter(|c| c.echoes.frames == c.echoes_before).count();
    let result = LoadResult {
        conns: p.conns,
        msgs: pump.echoed - echoed0,
        size: p.size,
        secs,
        open_secs,
        server_cpu_secs: server_cpu1.zip(server_cpu0).map(|(b, a)| (b.0 + b.1) - (a.0 + a.1)),
        server_user_secs: server_cpu1.zip(server_cpu0).map(|(b, a)| b.0 - a.0),
        client_cpu_secs: client_cpu1.zip(client_cpu0).map(|(b, a)| b - a),
        server_idle_rss,
        server_peak_rss,
        starved,
    };
    if result.msgs == 0 {
        return Err("no echo in the measured time".into());
    }
    Ok(result)
}

/// Opens one connection: TCP (`TCP_NODELAY`), the upgrade, then non-blocking.
fn open(addr: SocketAddr) -> Result<TcpStream> {
    let mut sock = TcpStream::connect_timeout(&addr, OPEN_TIMEOUT)?;
    sock.set_nodelay(true)?;
    sock.set_read_timeout(Some(OPEN_TIMEOUT))?;
    sock.write_all(upgrade_request(&addr.to_string()).as_bytes())?;
    let mut response = Vec::with_capacity(256);
    let mut chunk = [0u8; 1024];
    let end = loop {
        let n = sock.read(&mut chunk)?;
        if n == 0 {
            return Err("the server closed the connection during the upgrade".into());
        }
        response.extend_from_slice(&chunk[..n]);
        if let Some(end) = header_end(&response) {
            break end;
        }
    };
    if !response.starts_with(b"HTTP/1.1 101") {
        let status = String::from_utf8_lossy(&response[..end]);
        let status = status.lines().next().unwrap_or_default();
        return Err(format!("upgrade refused: {status}").into());
    }
    // The server speaks only once spoken to.
    if end != response.len() {
        return Err("bytes after the upgrade response".into());
    }
    sock.set_read_timeout(None)?;
    sock.set_nonblocking(true)?;
    Ok(sock)
}

/// One connection of the load.
struct Conn {
    sock: TcpStream,
    echoes: FrameCounter,
    /// Bytes of the message in flight not yet written.
    unsent: usize,
    /// Registered for writability (while `unsent` is not 0).
    awaits_writable: bool,
    /// Echoes before the measured time.
    echoes_before: u64,
}

/// The connections, the message they send, and the readiness they wait on.
struct Pump {
    epoll: Epoll,
    conns: Vec<Conn>,
    frame: Vec<u8>,
    /// Echoes so far, all connections together.
    echoed: u64,
}

impl Pump {
    /// Registers every connection and sends its first message.
    fn start(&mut self) -> Result<()> {
        for i in 0..self.conns.len() {
            let fd = self.conns[i].sock.as_raw_fd();
            self.epoll
                .ctl(libc::EPOLL_CTL_ADD, fd, libc::EPOLLIN as u32, i as u64)?;
            self.send(i)?;
        }
        Ok(())
    }

    /// Starts connection `i`'s next message.
    fn send(&mut self, i: usize) -> Result<()> {
        self.conns[i].unsent = self.frame.len();
        self.write_rest(i)
    }

    /// Writes what the socket takes of connection `i`'s message; waits for writability only
    /// while some of it is left (a 16 KiB message almost always goes in one write).
    fn write_rest(&mut self, i: usize) -> Result<()> {
        let c = &mut self.conns[i];
        while c.unsent > 0 {
            match c.sock.write(&self.frame[self.frame.len() - c.unsent..]) {
                Ok(0) => return Err("the server stopped reading".into()),
                Ok(n) => c.unsent -= n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        let waiting = c.unsent > 0;
        if waiting != c.awaits_writable {
            let interest = if waiting {
                libc::EPOLLIN | libc::EPOLLOUT
            } else {
                libc::EPOLLIN
            };
            self.epoll
                .ctl(libc::EPOLL_CTL_MOD, c.sock.as_raw_fd(), interest as u32, i as u64)?;
            c.awaits_writable = waiting;
        }
        Ok(())
    }

    /// Serves readiness until `deadline`: counts echoes and answers each with the next
    /// message.
    fn run_until(&mut self, deadline: Instant, buf: &mut [u8], events: &mut [libc::epoll_event]) -> Result<()> {
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Ok(());
            }
            let ready = self.epoll.wait(events, (deadline - now).min(MAX_WAIT))?;
            for ev in &events[..ready] {
                let (i, flags) = (ev.u64 as usize, ev.events);
                if flags & libc::EPOLLOUT as u32 != 0 && self.conns[i].unsent > 0 {
                    self.write_rest(i)?;
                }
                if flags & (libc::EPOLLIN | libc::EPOLLHUP | libc::EPOLLERR) as u32 == 0 {
                    continue;
                }
                let n = match self.conns[i].sock.read(buf) {
                    Ok(0) => return Err(format!("the server closed connection {}", i + 1).into()),
                    Ok(n) => n,
                    Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => continue,
                    Err(e) => return Err(e.into()),
                };
                // One message in flight: at most one echo completes.
                if self.conns[i].echoes.feed(&buf[..n]) > 0 {
                    self.echoed += 1;
                    self.send(i)?;
                }
            }
        }
    }
}

/// An epoll instance.
struct Epoll(libc::c_int);

impl Epoll {
    fn new() -> io::Result<Self> {
        // SAFETY: no pointers; the descriptor returned is owned by the value.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Self(fd))
    }

    fn ctl(&self, op: libc::c_int, fd: libc::c_int, events: u32, token: u64) -> io::Result<()> {
        let mut event = libc::epoll_event { events, u64: token };
        // SAFETY: `event` is a valid epoll_event for the call's duration.
        if unsafe { libc::epoll_ctl(self.0, op, fd, &mut event) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits up to `timeout` (rounded up to a millisecond) for readiness; how many events
    /// `events` holds.
    fn wait(&self, events: &mut [libc::epoll_event], timeout: Duration) -> io::Result<usize> {
        let ms = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
        let max = events.len().min(i32::MAX as usize) as libc::c_int;
        // SAFETY: `events` has room for `max` events.
        let n = unsafe { libc::epoll_wait(self.0, events.as_mut_ptr(), max, ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted {
                Ok(0)
            } else {
                Err(e)
            };
        }
        Ok(n as usize)
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: the descriptor is ours and closed once.
        unsafe { libc::close(self.0) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo server from the harness's own frame code, on a thread: the load client's loop
    /// end to end, without a library under test.
    fn echo_server() -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for sock in listener.incoming() {
                let mut sock = sock.unwrap();
                std::thread::spawn(move || {
                    let mut request = Vec::new();
                    let mut buf = vec![0u8; 64 * 1024];
                    let end = loop {
                        let n = sock.read(&mut buf).unwrap();
                        request.extend_from_slice(&buf[..n]);
                        if let Some(end) = header_end(&request) {
                            break end;
                        }
                    };
                    let response = crate::frames::upgrade_response(&request[..end]).unwrap();
                    sock.write_all(response.as_bytes()).unwrap();
                    let mut echo = crate::frames::Echoer::default();
                    let mut out = Vec::new();
                    while let Ok(n @ 1..) = sock.read(&mut buf) {
                        echo.feed(&buf[..n], &mut out);
                        if sock.write_all(&out).is_err() {
                            return;
                        }
                        out.clear();
                    }
                });
            }
        });
        addr
    }

    #[test]
    fn every_connection_ping_pongs() {
        let addr = echo_server();
        let p = LoadParams {
            addr,
            conns: 8,
            size: 16 << 10,
            warmup: Duration::from_millis(20),
            measure: Duration::from_millis(100),
            server_pid: Some(std::process::id()),
        };
        let r = run(&p).unwrap();
        assert!(r.msgs > 8, "{r:?}");
        assert_eq!(r.starved, 0, "{r:?}");
        assert!(r.server_cpu_secs.is_some() && r.server_peak_rss.is_some(), "{r:?}");
        let line = r.line("echo", "serve-100-16k");
        assert!(
            line.starts_with("result\tserver=echo\tworkload=serve-100-16k\tconns=8.0000\t"),
            "{line}"
        );
        for key in [
            "\tmsgs_per_s=",
            "\tserver_us_per_msg=",
            "\tserver_user_us_per_msg=",
            "\tserver_bytes_per_conn=",
            "\tserver_peak_rss=",
        ] {
            assert!(line.contains(key), "{key} not in {line}");
        }
    }
}
