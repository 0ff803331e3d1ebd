//! A throwaway PostgreSQL cluster for the tests: `initdb` into a temp dir, `postgres` on a
//! free loopback port, a fresh database per daemon. It never outlives the test process: a
//! watchdog shell stops it and removes its dir once the process is gone, even after a panic
//! or a kill -9, since a static cluster is never dropped.
//!
//! [`PgCluster::start_tls`] starts a cluster of a test's own that takes TLS connections only,
//! with a certificate from a [`TestCa`] the tests make.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The superuser the tests connect as (trust authentication, loopback only).
const USER: &str = "scimd_test";
/// How long the server may take to accept connections.
const READY: Duration = Duration::from_secs(60);

/// A running cluster; dropping it stops the server and removes its dir.
pub struct PgCluster {
    bin: PathBuf,
    dir: PathBuf,
    user: Option<&'static str>,
    port: u16,
    child: Mutex<Option<Child>>,
    next_db: AtomicUsize,
    /// The CA file that signed the server's certificate, on a TLS-only cluster.
    ca_file: Option<PathBuf>,
}

/// The role a TLS-only cluster lets in with a password (SCRAM) rather than trust, so a test
/// can check SCRAM's channel binding over the session; it has to be created first.
pub const SCRAM_USER: &str = "scimd_scram";
/// The role of a TLS cluster that logs in by client certificate alone (`cert` in
/// `pg_hba.conf`; the certificate's CN is the role).
pub const CERT_USER: &str = "scimdcert";

/// A certificate authority made for a test: what a cluster's certificate is signed by, and
/// what a client is told to trust.
pub struct TestCa {
    params: rcgen::CertificateParams,
    key: rcgen::KeyPair,
    pem: String,
}

impl TestCa {
    /// A fresh CA whose name is `name` (two CAs of one test must differ in name, or a verifier
    /// takes one for the other and reports a bad signature instead of an unknown issuer).
    pub fn new(name: &str) -> Result<TestCa, String> {
        let err = |e: rcgen::Error| format!("making the test CA {name}: {e}");
        let key = rcgen::KeyPair::generate().map_err(err)?;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let pem = params.self_signed(&key).map_err(err)?.pem();
        Ok(TestCa { params, key, pem })
    }

    /// The CA's certificate, PEM.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// A certificate for `names` (host names or IP addresses) signed by this CA, and its key,
    /// both PEM.
    pub fn issue(&self, names: &[&str]) -> Result<(String, String), String> {
        let err = |e: rcgen::Error| format!("issuing a certificate for {names:?}: {e}");
        let key = rcgen::KeyPair::generate().map_err(err)?;
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = rcgen::CertificateParams::new(names.clone()).map_err(err)?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, names.join(","));
        let issuer = rcgen::Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).map_err(err)?;
        Ok((cert.pem(), key.serialize_pem()))
    }
}

/// The directory holding `initdb`, `postgres` and `psql`: on `PATH`, else Debian's
/// `/usr/lib/postgresql/<version>/bin`, highest version first.
fn bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    dirs.sort_by_key(|d| {
        let version = d.parent().and_then(Path::file_name);
        version.and_then(|v| v.to_str()?.parse::<u32>().ok())
    });
    dirs.reverse();
    if let Some(path) = std::env::var_os("PATH") {
        // `initdb` is only on PATH where someone linked it there; psql alone is not enough.
        // A link on PATH (Debian links a few tools into /usr/local/bin) leads to the real dir.
        for d in std::env::split_paths(&path) {
            if let Ok(real) = std::fs::canonicalize(d.join("initdb")) {
                if let Some(parent) = real.parent() {
                    dirs.insert(0, parent.to_path_buf());
                }
            }
        }
    }
    dirs.into_iter().find(|d| {
        ["initdb", "postgres", "psql"]
            .iter()
            .all(|tool| d.join(tool).exists())
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// initdb and postgres refuse to run as root: under root they run as this user.
fn run_as() -> Option<&'static str> {
    if !is_root() {
        return None;
    }
    let has = |u: &str| {
        Command::new("id")
            .arg(u)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    Some(if has("postgres") {
        "postgres"
    } else {
        "nobody"
    })
}

/// `program` with `args`, as the unprivileged user when this process is root.
fn command(program: &Path, user: Option<&str>) -> Command {
    match user {
        Some(u) => {
            let mut c = Command::new("setpriv");
            c.args([
                format!("--reuid={u}"),
                format!("--regid={u}"),
                "--init-groups".into(),
                "--".into(),
            ])
            .arg(program);
            c
        }
        None => Command::new(program),
    }
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

impl PgCluster {
    /// Creates and starts a cluster in a fresh temp dir.
    pub fn start() -> Result<PgCluster, String> {
        Self::start_with(None)
    }

    /// Creates and starts a cluster that takes TLS connections only (`hostssl` lines alone in
    /// pg_hba.conf), serving a certificate for `localhost` and 127.0.0.1 signed by `ca`.
    /// [`PgCluster::ca_file`] is where `ca`'s certificate is, for `sslrootcert`.
    pub fn start_tls(ca: &TestCa) -> Result<PgCluster, String> {
        Self::start_with(Some(ca))
    }

    fn start_with(tls: Option<&TestCa>) -> Result<PgCluster, String> {
        let bin = bin_dir().ok_or(
            "PostgreSQL is not installed: no initdb found on PATH or under \
             /usr/lib/postgresql/*/bin (apt-get install -y postgresql)",
        )?;
        let user = run_as();
        let dir = tempfile::Builder::new()
            .prefix("scimd-pg-")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?
            .keep();
        if let Some(u) = user {
            let chown = Command::new("chown")
                .arg("-R")
                .arg(format!("{u}:"))
                .arg(&dir)
                .status();
            if !chown.is_ok_and(|s| s.success()) {
                return Err(format!("cannot chown {} to {u}", dir.display()));
            }
        }
        let data = dir.join("data");
        let out = command(&bin.join("initdb"), user)
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", USER, "-E", "UTF8", "--no-sync"])
            .arg("--locale=C")
            .output()
            .map_err(|e| format!("running initdb: {e}"))?;
        if !out.status.success() {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(format!(
                "initdb failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let ca_file = match tls {
            Some(ca) => match serve_tls_only(&dir, &data, ca, user) {
                Ok(file) => Some(file),
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&dir);
                    return Err(e);
                }
            },
            None => None,
        };
        let mut last = String::new();
        for _ in 0..5 {
            let cluster = PgCluster {
                bin: bin.clone(),
                dir: dir.clone(),
                user,
                port: free_port()?,
                child: Mutex::new(None),
                next_db: AtomicUsize::new(0),
                ca_file: ca_file.clone(),
            };
            let started = cluster.spawn().and_then(|()| cluster.wait_ready());
            match started {
                Ok(()) => return Ok(cluster),
                Err(e) => {
                    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
                    last = format!("{e}\n{log}");
                    cluster.kill_server();
                    // Its dir is reused by the next try.
                    std::mem::forget(cluster);
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        Err(format!("postgres did not start: {last}"))
    }

    /// Starts the server process on this cluster's port and data, with its watchdog.
    fn spawn(&self) -> Result<(), String> {
        let log = self.dir.join("server.log");
        let log_file = std::fs::File::create(&log).map_err(|e| format!("log file: {e}"))?;
        if let Some(u) = self.user {
            let _ = Command::new("chown").arg(u).arg(&log).status();
        }
        let child = command(&self.bin.join("postgres"), self.user)
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-k"])
            .arg(&self.dir)
            // Many daemons with small pools run at once; fsync stays on (durability is what
            // the tests check), the rest is sized for a test box.
            .args(["-c", "max_connections=500", "-c", "shared_buffers=32MB"])
            .args([
                "-c",
                "synchronous_commit=on",
                "-c",
                "log_min_messages=warning",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("starting postgres: {e}"))?;
        watchdog(child.id(), &self.dir);
        if let Ok(mut guard) = self.child.lock() {
            *guard = Some(child);
        }
        Ok(())
    }

    /// Stops the server now, as a crash or an outage would (its data stays).
    pub fn stop_now(&self) {
        self.kill_server();
    }

    /// Starts the server again on the same port and data, after [`PgCluster::stop_now`].
    pub fn restart(&self) -> Result<(), String> {
        self.spawn()?;
        self.wait_ready()
    }

    /// Polls until the server accepts a query, or fails with why.
    fn wait_ready(&self) -> Result<(), String> {
        let deadline = Instant::now() + READY;
        loop {
            if let Ok(mut guard) = self.child.lock() {
                if let Some(child) = guard.as_mut() {
                    if let Ok(Some(status)) = child.try_wait() {
                        return Err(format!("postgres exited: {status}"));
                    }
                }
            }
            let tried = match TcpStream::connect(("127.0.0.1", self.port)) {
                Ok(_) => self.psql("postgres", "SELECT 1").map(|_| ()),
                Err(e) => Err(e.to_string()),
            };
            let why = match tried {
                Ok(()) => return Ok(()),
                Err(why) => why,
            };
            if Instant::now() > deadline {
                return Err(format!(
                    "postgres did not accept connections in time: {why}"
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The cluster every test of this process shares, started on first use.
    pub fn shared() -> Result<&'static PgCluster, String> {
        static SHARED: OnceLock<Result<PgCluster, String>> = OnceLock::new();
        SHARED
            .get_or_init(PgCluster::start)
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The file holding the certificate of the CA that signed this cluster's, on a TLS-only
    /// cluster.
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// The server's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's log (its stderr): what a test reads to see the statements a database
    /// with `log_statement` set ran.
    pub fn log_file(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// A URL for database `db`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{db}", self.port)
    }

    /// Runs `sql` in database `db` with psql; returns its unaligned output.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER])
            .args(["-d", db, "-c", sql])
            .output()
            .map_err(|e| format!("running psql: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(format!(
                "psql failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// Creates a fresh, uniquely named database and returns its URL.
    pub fn create_database(&self) -> Result<String, String> {
        let n = self.next_db.fetch_add(1, Ordering::SeqCst);
        let name = format!("scimd_{}_{n}", std::process::id());
        self.psql("postgres", &format!("CREATE DATABASE {name}"))?;
        Ok(self.url(&name))
    }

    fn kill_server(&self) {
        if let Ok(mut guard) = self.child.lock() {
            if let Some(mut child) = guard.take() {
                // SIGINT is postgres's fast shutdown; SIGKILL if it does not go in time.
                let _ = Command::new("kill")
                    .args(["-INT", &child.id().to_string()])
                    .status();
                let deadline = Instant::now() + Duration::from_secs(10);
                while Instant::now() < deadline {
                    if let Ok(Some(_)) = child.try_wait() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.kill_server();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Sets up the cluster in `data` to take TLS connections only: a server certificate signed by
/// `ca`, `ssl = on`, and `hostssl` lines alone in pg_hba.conf, so a plain connection is refused
/// by the server itself. Returns the file holding `ca`'s certificate, in `dir`.
fn serve_tls_only(
    dir: &Path,
    data: &Path,
    ca: &TestCa,
    user: Option<&str>,
) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let write = |path: &Path, text: &str, mode: u32| -> Result<(), String> {
        std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
        // The server refuses a key others can read, and one it does not own.
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| format!("chmod {}: {e}", path.display()))?;
        if let Some(u) = user {
            let chown = Command::new("chown")
                .arg(format!("{u}:"))
                .arg(path)
                .status();
            if !chown.is_ok_and(|s| s.success()) {
                return Err(format!("cannot chown {} to {u}", path.display()));
            }
        }
        Ok(())
    };
    let (cert, key) = ca.issue(&["localhost", "127.0.0.1"])?;
    write(&data.join("server.crt"), &cert, 0o644)?;
    write(&data.join("server.key"), &key, 0o600)?;
    let conf = data.join("postgresql.conf");
    let mut text =
        std::fs::read_to_string(&conf).map_err(|e| format!("reading {}: {e}", conf.display()))?;
    // The CA also signs client certificates: the server asks for one, and verifies it
    // where `pg_hba.conf` says `cert`.
    write(&data.join("root.crt"), ca.pem(), 0o644)?;
    text.push_str(
        "\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n\
         ssl_ca_file = 'root.crt'\n",
    );
    write(&conf, &text, 0o600)?;
    // First match wins: the SCRAM role first, then everyone by trust, TLS only; no `host`
    // line, so the server refuses a plain connection with its own FATAL. The Unix socket
    // stays open for nothing but psql's own use here (it connects over TCP anyway).
    let hba = format!(
        "local all all trust\n\
         hostssl all {SCRAM_USER} 127.0.0.1/32 scram-sha-256\n\
         hostssl all {CERT_USER} 127.0.0.1/32 cert\n\
         hostssl all all 127.0.0.1/32 trust\n\
         hostssl all all ::1/128 trust\n"
    );
    write(&data.join("pg_hba.conf"), &hba, 0o600)?;
    let ca_file = dir.join("ca.pem");
    write(&ca_file, ca.pem(), 0o644)?;
    Ok(ca_file)
}

/// Starts a shell that waits for this process to end, then stops the server `pid` and removes
/// `dir`: what cleans up the shared cluster, which no destructor reaches.
fn watchdog(pid: u32, dir: &Path) {
    let me = std::process::id();
    // The pid is signalled only while it is still this cluster's server (its command line
    // names the dir), never a process that reused the number.
    let dir = dir.display();
    let script = format!(
        "while kill -0 {me} 2>/dev/null; do sleep 1; done; \
         ours() {{ tr '\\0' ' ' < /proc/{pid}/cmdline 2>/dev/null | grep -qF '{dir}'; }}; \
         ours && kill -INT {pid} 2>/dev/null; i=0; \
         while ours && [ $i -lt 50 ]; do sleep 0.2; i=$((i+1)); done; \
         ours && kill -9 {pid} 2>/dev/null; rm -rf '{dir}'"
    );
    let _ = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

/// The shared cluster, or None when PostgreSQL is unavailable here and this is not CI (the
/// reason is printed, and the caller skips). Under `CI=true` an unavailable PostgreSQL
/// fails the run, so CI cannot pass without the PostgreSQL tests.
pub fn require() -> Option<&'static PgCluster> {
    match PgCluster::shared() {
        Ok(c) => Some(c),
        Err(why) => {
            let why = format!("PostgreSQL tests skipped: {why}");
            assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
            eprintln!("{why}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_serves_fresh_databases_and_stops_when_dropped() {
        let cluster = match PgCluster::start() {
            Ok(c) => c,
            Err(why) => {
                assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
                eprintln!("skipped: {why}");
                return;
            }
        };
        let a = cluster.create_database().expect("db a");
        let b = cluster.create_database().expect("db b");
        assert_ne!(a, b);
        let name = a.rsplit('/').next().expect("db name");
        assert_eq!(cluster.psql(name, "SELECT 1").expect("query"), "1");
        let (port, dir) = (cluster.port(), cluster.dir.clone());
        drop(cluster);
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
        assert!(!dir.exists());
    }

    #[test]
    fn a_tls_cluster_takes_tls_sessions_and_hands_out_its_ca() {
        let ca = TestCa::new("scimd test CA").expect("CA");
        let cluster = match PgCluster::start_tls(&ca) {
            Ok(c) => c,
            Err(why) => {
                assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
                eprintln!("skipped: {why}");
                return;
            }
        };
        let url = cluster.create_database().expect("db");
        let name = url.rsplit('/').next().expect("db name");
        // psql's default sslmode (prefer) finds TLS on; pg_hba would refuse it otherwise.
        let ssl = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
        assert_eq!(cluster.psql(name, ssl).expect("query"), "t");
        let file = cluster.ca_file().expect("a CA file");
        assert_eq!(std::fs::read_to_string(file).expect("CA"), ca.pem());
    }
}
