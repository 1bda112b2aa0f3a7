//! What the harness reads from Linux: memory, CPU time, file-descriptor limits.

use std::time::Instant;

/// This process's resident set size in bytes (`VmRSS` of `/proc/self/status`).
pub fn rss_bytes() -> Option<u64> {
    status_bytes("self", "VmRSS:")
}

/// This process's peak resident set size so far in bytes (`VmHWM` of `/proc/self/status`).
pub fn peak_rss_bytes() -> Option<u64> {
    status_bytes("self", "VmHWM:")
}

/// Process `pid`'s resident set size in bytes (`VmRSS` of `/proc/PID/status`).
pub fn rss_bytes_of(pid: u32) -> Option<u64> {
    status_bytes(&pid.to_string(), "VmRSS:")
}

/// Process `pid`'s peak resident set size so far in bytes (`VmHWM` of `/proc/PID/status`).
pub fn peak_rss_bytes_of(pid: u32) -> Option<u64> {
    status_bytes(&pid.to_string(), "VmHWM:")
}

/// A `KEY:  N kB` line of `/proc/PROCESS/status`, in bytes.
fn status_bytes(process: &str, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{process}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// CPU time (user + system) of process `pid` so far, in seconds (`/proc/PID/stat`): every
/// thread's, those that ended included.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let (user, system) = cpu_times(pid)?;
    Some(user + system)
}

/// User and system CPU time of process `pid` so far, in seconds, as [`cpu_seconds`] counts.
pub fn cpu_times(pid: u32) -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: the fields we want follow the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the man page (utime, stime) are 11 and 12 after the name and state.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some((utime / ticks, stime / ticks))
}

/// CPU share of a process over an interval: start with [`CpuMeter::start`], end with
/// [`CpuMeter::share`] (1.0 = one core busy the whole time).
#[derive(Debug, Clone, Copy)]
pub struct CpuMeter {
    pid: u32,
    cpu: Option<f64>,
    at: Instant,
}

impl CpuMeter {
    /// Starts measuring `pid`.
    pub fn start(pid: u32) -> Self {
        Self {
            pid,
            cpu: cpu_seconds(pid),
            at: Instant::now(),
        }
    }

    /// The share of one core used since `start`.
    pub fn share(&self) -> Option<f64> {
        let wall = self.at.elapsed().as_secs_f64();
        Some((cpu_seconds(self.pid)? - self.cpu?) / wall.max(1e-9))
    }
}

/// Raises the soft limit on open files to at least `wanted` (up to the hard limit); returns
/// the soft limit in force afterwards.
pub fn raise_nofile(wanted: u64) -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit to fill in and then pass back.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur < wanted {
            let new = libc::rlimit {
                rlim_cur: wanted.min(lim.rlim_max),
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &new) == 0 {
                lim = new;
            }
        }
    }
    lim.rlim_cur
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_is_at_least_current() {
        let (now, peak) = (rss_bytes().unwrap(), peak_rss_bytes().unwrap());
        assert!(peak >= now && now > 0, "VmHWM {peak} < VmRSS {now}");
        let me = std::process::id();
        assert!(rss_bytes_of(me).is_some_and(|b| b > 0));
        assert!(peak_rss_bytes_of(me).is_some_and(|b| b > 0));
    }
}
