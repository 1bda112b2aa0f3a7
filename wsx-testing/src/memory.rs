//! This process's memory, as the memory tests measure it.

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
