//! The real `scimd` under test: builds the release binary, writes a config with its orgs, each
//! with a fresh token, starts `scimd serve` on 127.0.0.1 port 0, times its startup, reads its
//! memory from /proc, and stops it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// The org every benchmark request goes to.
pub const ORG: &str = "bench";

/// The release `scimd` binary next to this one: `<target>/release/scimd`, built first with
/// `cargo build --release` so it is never stale. `explicit` skips the build.
pub fn scimd_bin(explicit: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p);
    }
    let exe = std::env::current_exe()?;
    // <target>/<profile>/scimd-bench -> <target>
    let target = exe
        .parent()
        .and_then(Path::parent)
        .context("the bench binary is not inside a cargo target dir")?;
    let status = scimd_tests::build_scimd(target, true).context("running cargo build")?;
    if !status.success() {
        bail!("building the release scimd failed");
    }
    Ok(target.join("release").join("scimd"))
}

/// A temp dir holding a config (the org [`ORG`] and any extra orgs, each with its own fresh
/// token, and with `--postgres` the `[store]` table) and the data dir the store goes in.
pub struct Instance {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    /// The token of [`ORG`].
    pub token: String,
    /// Every org's name and token, [`ORG`] first.
    pub tokens: Vec<(String, String)>,
}

impl Instance {
    /// An instance with the one org [`ORG`].
    pub fn new() -> anyhow::Result<Instance> {
        Instance::with_orgs(&[])
    }

    /// An instance with [`ORG`] and the orgs in `extra`. The config has nothing but `listen`,
    /// `data_dir` and the orgs, so older daemons (which refuse unknown keys) read it too.
    pub fn with_orgs(extra: &[&str]) -> anyhow::Result<Instance> {
        let dir = tempfile::Builder::new().prefix("scimd-bench-").tempdir()?;
        let mut text = String::from("listen = \"127.0.0.1:0\"\ndata_dir = \"data\"\n");
        let mut tokens = Vec::new();
        for org in std::iter::once(ORG).chain(extra.iter().copied()) {
            let token = scimd_config::token::generate();
            text.push_str(&format!(
                "\n[orgs.{org}]\ndisplay_name = \"{org} Inc\"\ntokens = [\"{}\"]\n",
                scimd_config::token::hash(&token)
            ));
            tokens.push((org.to_string(), token));
        }
        let config = dir.path().join("scimd.toml");
        std::fs::write(&config, text)?;
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data)?;
        // As `scimd serve` wants it (it warns about a data dir other local users can read).
        std::fs::set_permissions(&data, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
        Ok(Instance {
            dir,
            config,
            token: tokens[0].1.clone(),
            tokens,
        })
    }

    /// The token of `org`, when the config has it.
    pub fn token_of(&self, org: &str) -> Option<&str> {
        self.tokens
            .iter()
            .find(|(o, _)| o == org)
            .map(|(_, t)| t.as_str())
    }

    /// The store file, as `scimd serve` names it. On PostgreSQL it holds only the seed, until
    /// [`Instance::use_postgres`].
    pub fn store_path(&self) -> PathBuf {
        self.dir.path().join("data").join("scimd.redb")
    }

    /// Points the config at a PostgreSQL database: a `[store]` table after the orgs. The
    /// control socket stays in `data_dir`.
    pub fn use_postgres(&self, url: &str, pool_size: usize) -> anyhow::Result<()> {
        let mut text = std::fs::read_to_string(&self.config)?;
        text.push_str(&format!(
            "\n[store]\nbackend = \"postgres\"\nurl = {}\npool_size = {pool_size}\n",
            toml_string(url)
        ));
        std::fs::write(&self.config, text)?;
        Ok(())
    }
}

/// `s` as a TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A running daemon.
pub struct Running {
    child: Child,
    pub addr: SocketAddr,
    /// Spawn to the `scimd listening on` line.
    pub to_listening: Duration,
    /// Spawn to the first 200 from `/healthz`.
    pub to_healthy: Duration,
}

/// How a daemon went away after SIGTERM.
#[derive(Debug, Clone, Default)]
pub struct Stopped {
    pub took: Duration,
    pub status: String,
}

/// Memory of a process, from /proc/<pid>/status, in bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub rss: u64,
    /// The peak RSS so far (VmHWM).
    pub hwm: u64,
}

fn healthy(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

impl Running {
    /// Starts `scimd serve` on `inst` and waits until `/healthz` answers 200.
    pub fn start(bin: &Path, inst: &Instance) -> anyhow::Result<Running> {
        let spawned = Instant::now();
        let mut child = Command::new(bin)
            .arg("serve")
            .arg("--config")
            .arg(&inst.config)
            .current_dir(inst.dir.path())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("spawning {}", bin.display()))?;
        let out = child.stdout.take().context("daemon stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = spawned + Duration::from_secs(120);
        let addr: SocketAddr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .context("scimd did not print its listening line")?;
            if let Some(a) = line.strip_prefix("scimd listening on http://") {
                break a.trim().parse()?;
            }
        };
        let to_listening = spawned.elapsed();
        while !healthy(addr) {
            if Instant::now() > deadline {
                bail!("scimd never answered /healthz");
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let to_healthy = spawned.elapsed();
        Ok(Running {
            child,
            addr,
            to_listening,
            to_healthy,
        })
    }

    /// Resets the peak RSS (VmHWM) to the current RSS, writing 5 to `/proc/PID/clear_refs`,
    /// so a later [`Running::memory`] shows the peak of what came after.
    pub fn reset_peak(&self) -> anyhow::Result<()> {
        let path = format!("/proc/{}/clear_refs", self.child.id());
        std::fs::write(&path, "5").with_context(|| format!("writing 5 to {path}"))
    }

    pub fn memory(&self) -> Memory {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let kib = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .unwrap_or(0)
                * 1024
        };
        Memory {
            rss: kib("VmRSS:"),
            hwm: kib("VmHWM:"),
        }
    }

    /// SIGTERM, then wait (SIGKILL after 30 s). Returns how long it took to exit and
    /// how it ended.
    pub fn stop(mut self) -> anyhow::Result<Stopped> {
        let asked = Instant::now();
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = asked + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(Stopped {
                    took: asked.elapsed(),
                    status: status.to_string(),
                });
            }
            if Instant::now() > deadline {
                self.child.kill()?;
                self.child.wait()?;
                return Ok(Stopped {
                    took: asked.elapsed(),
                    status: "killed after 30 s".into(),
                });
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Only the child this harness spawned, by its own handle.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
