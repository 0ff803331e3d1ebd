//! The report's "machine" table: cores, CPU, memory, the temp dir's disk, the kernel and the
//! commit the daemon was built from, read from /proc, df and git.

/// The machine: cores, CPU model, memory, and the disk the temp dir is on.
pub fn machine() -> Vec<(String, String)> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or("unknown".into(), |kib| {
            format!("{:.1} GiB", kib as f64 / (1024.0 * 1024.0))
        });
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let tmp = std::env::temp_dir();
    let df = std::process::Command::new("df")
        .args(["-h", "--output=source,fstype,size"])
        .arg(&tmp)
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .last()
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        })
        .unwrap_or_else(|| "unknown".into());
    let rotational = df
        .split_whitespace()
        .next()
        .and_then(|dev| dev.strip_prefix("/dev/"))
        .and_then(|dev| std::fs::read_to_string(format!("/sys/block/{dev}/queue/rotational")).ok())
        .map_or("", |r| {
            if r.trim() == "0" {
                ", non-rotational"
            } else {
                ", rotational"
            }
        });
    vec![
        ("cores (nproc)".into(), cores.to_string()),
        ("CPU".into(), model),
        ("memory".into(), mem),
        (
            format!("disk under {}", tmp.display()),
            format!("{df}{rotational}"),
        ),
        ("OS".into(), kernel()),
        ("scimd source".into(), source()),
    ]
}

/// The commit the daemon was built from, and how many of its source files differ from it.
pub fn source() -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(head) => {
            let dirty = git(&["status", "--porcelain", "--", "daemon", "core", "config"])
                .map_or(0, |s| s.lines().count());
            format!(
                "commit {} + {dirty} uncommitted files in daemon/core/config",
                head.trim()
            )
        }
        None => "unknown (not a git checkout)".into(),
    }
}

fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| format!("Linux {}", s.trim()))
        .unwrap_or_else(|_| "unknown".into())
}
