//! This process's memory and limits, as the memory and soak tests measure and need them.

/// A size field of `/proc/self/status` (`"VmRSS:"`, `"VmHWM:"` for the peak), in bytes.
pub fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with(field)).expect(field);
    line.split_whitespace()
        .nth(1)
        .and_then(|kib| kib.parse::<u64>().ok())
        .expect("a size in kB")
        * 1024
}

/// The resident set size now.
pub fn rss() -> u64 {
    status_bytes("VmRSS:")
}

/// The peak resident set size so far.
pub fn peak_rss() -> u64 {
    status_bytes("VmHWM:")
}

/// Raises this process's soft limit on open files to `wanted` (at most the hard limit), for
/// tests that open many sockets; children started afterwards inherit it. Returns the limit.
pub fn raise_fd_limit(wanted: u64) -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    let current = limit.current.unwrap_or(u64::MAX);
    if current < wanted {
        limit.current = Some(limit.maximum.map_or(wanted, |max| wanted.min(max)));
        if setrlimit(Resource::Nofile, limit).is_ok() {
            return limit.current.unwrap_or(wanted);
        }
    }
    current
}
