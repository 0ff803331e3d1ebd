//! A full disk under the store: a create that cannot be written is answered 507 with a SCIM
//! error, the daemon stays up, serves reads and says `degraded` on /healthz while writes are
//! refused, and once space is freed writes work again without a restart, with every earlier
//! write intact.
//!
//! Needs a small tmpfs, so it runs as root (as CI does); where mounting is impossible it says
//! why and skips. The old daemon (6457fe5) answered a failed commit 500, and redb's sticky I/O
//! failure flag then failed every later write until a restart.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::json;

use crate::harness::{assert_error, eventually, write_config_with, Client, Daemon, USER};

/// The tmpfs size.
const DISK: &str = "16m";
/// Space left free after the ballast fills the disk: a few creates fit, then redb must grow.
const SLACK: u64 = 256 << 10;
/// Creates tried at most before the disk must have filled.
const MAX_CREATES: usize = 3_000;

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path) -> Result<Tmpfs, String> {
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={DISK}"), "tmpfs"])
            .arg(at)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Fills the disk under `path` with one file, then frees [`SLACK`] of it again.
fn ballast(path: &Path) -> File {
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(path)
        .expect("ballast");
    let chunk = vec![0xa5u8; 1 << 20];
    let mut written: u64 = 0;
    // The disk is 16 MiB: a few dozen chunks at most, however it is counted.
    for _ in 0..64 {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.raw_os_error() == Some(28) => break,
            Err(e) => panic!("ballast: {e}"),
        }
    }
    assert!(written > SLACK, "the ballast wrote only {written} bytes");
    f.set_len(written - SLACK).expect("free some slack");
    f
}

fn create(c: &Client, n: usize) -> crate::harness::Resp {
    // Big enough that the slack goes in a few dozen creates.
    c.post(
        "/Users",
        &json!({"schemas": [USER], "userName": format!("u{n}@full.test"),
                "title": "d".repeat(8 << 10)}),
    )
}

#[test]
fn a_full_disk_is_507_and_writes_resume_once_space_is_freed() {
    if crate::harness::on_postgres() {
        println!("skipped: on PostgreSQL the database's disk is not the data dir");
        return;
    }
    // Dropped in reverse: the daemon first, then the mount, then its (empty) mount point.
    let mount_point = tempfile::tempdir().expect("tempdir");
    let mnt = mount_point.path().to_path_buf();
    let _tmpfs = match Tmpfs::mount(&mnt) {
        Ok(t) => t,
        Err(why) => {
            println!("skipped: cannot mount a tmpfs ({why})");
            return;
        }
    };
    let data = mnt.join("data");
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, tokens) = write_config_with(dir.path(), "", &[("acme", "")]);
    let text = std::fs::read_to_string(&config).expect("config");
    let text = text.replace(
        "data_dir = \"data\"",
        &format!("data_dir = \"{}\"", data.display()),
    );
    std::fs::write(&config, text).expect("config");
    let d = Daemon::start_in(dir, config, tokens);
    let c = d.client("acme");
    let before: Vec<String> = (0..5).map(|n| create(&c, n).expect(201).id()).collect();

    let ballast_path = mnt.join("ballast");
    let ballast_file = ballast(&ballast_path);

    let mut acked = before.clone();
    let full = (5..MAX_CREATES)
        .find_map(|n| {
            let r = create(&c, n);
            match r.status {
                201 => {
                    acked.push(r.id());
                    None
                }
                _ => Some(r),
            }
        })
        .unwrap_or_else(|| panic!("{MAX_CREATES} creates and the disk never filled"));
    println!(
        "disk full after {} creates: {} {}",
        acked.len() - before.len(),
        full.status,
        full.body
    );
    assert_error(&full, 507, None);

    // Still up. While the disk stays full, reads are served from the open file, every write
    // is refused with 507 at once (never tried, so nothing reopens), and /healthz says
    // `degraded` (a fixed word; the fault's text goes to the log only).
    let health = |d: &Daemon| {
        Client {
            base: d.origin.clone(),
            token: None,
        }
        .get("/healthz")
    };
    // The one reopen that clears redb's failure flag comes first (tens of milliseconds).
    let degraded = serde_json::json!({"status": "degraded"});
    eventually("healthz says degraded", Duration::from_secs(10), || {
        (health(&d).body == degraded).then_some(())
    });
    for round in 0..20 {
        let h = health(&d);
        assert_eq!(h.status, 503, "round {round}: {}", h.body);
        assert_eq!(h.body, serde_json::json!({"status": "degraded"}));
        assert_error(&create(&c, MAX_CREATES + 1 + round), 507, None);
        for id in &acked {
            c.get(&format!("/Users/{id}")).expect(200);
        }
        assert_eq!(c.get("/Users?count=0").expect(200).total(), acked.len() as u64);
    }

    // Space freed: writes resume without a restart.
    drop(ballast_file);
    std::fs::remove_file(&ballast_path).expect("remove the ballast");
    let n = MAX_CREATES;
    let later = eventually(
        "a create after space was freed",
        Duration::from_secs(30),
        || {
            let r = create(&c, n);
            (r.status == 201).then(|| r.id())
        },
    );
    acked.push(later);
    for id in &acked {
        c.get(&format!("/Users/{id}")).expect(200);
    }
    assert_eq!(c.get("/Users?count=0").total(), acked.len() as u64);
    let h = health(&d);
    assert_eq!(h.status, 200, "{}", h.body);

    // And the file is sound: a restart reads it all back.
    let (dir, config, tokens) = d.stop();
    let d = Daemon::start_in(dir, config, tokens);
    let c = d.client("acme");
    for id in &acked {
        c.get(&format!("/Users/{id}")).expect(200);
    }
}
