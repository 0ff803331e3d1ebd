//! Reloads as deployments do them: a file emptied while serving is rejected (and the watcher
//! lives on), a config that is a symlink reloads when its target changes, a Kubernetes
//! ConfigMap's `..data` swap reloads, and SIGHUP reloads even when no file event came.
//!
//! The old daemon (6457fe5) applied a file with no orgs (every token then refused), watched only
//! events named like the config in the config's own folder (so neither a link's target nor a
//! `..data` swap was seen), and had no SIGHUP handler (so SIGHUP killed it).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{socket_path, Ctl};
use crate::reload::{
    config, new_token, org, save_by_rename, start, start_at, status, stays_status, until_status,
    write_in_place,
};

/// A config for `org`/`hash` whose `data_dir` is `<dir>/data`, wherever the file lives.
fn config_in(dir: &Path, hash: &str) -> String {
    config("", &[org("acme", &[hash], "")]).replace(
        "data_dir = \"data\"",
        &format!("data_dir = \"{}\"", dir.join("data").display()),
    )
}

/// Points the symlink `link` at `target` in one step, as `ln -sfn` and kubelet do: a new link
/// renamed over the old one.
fn repoint(link: &Path, target: &Path) {
    let tmp = link.with_file_name(".link-tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp).expect("symlink");
    std::fs::rename(&tmp, link).expect("rename the link over");
}

#[test]
fn an_emptied_file_is_rejected_and_a_later_fix_applies() {
    let (t1, h1) = new_token();
    let (d, mut logs) = start(&config("", &[org("acme", &[&h1], "")]), &[("acme", &t1)]);
    assert_eq!(status(&d, "acme", &t1), 200);

    // A truncated save, an emptied ConfigMap: no orgs at all.
    write_in_place(&d.config, "");
    let line = logs.wait_for("config rejected");
    assert!(line.contains("no orgs"), "{line}");
    stays_status(&d, "acme", &t1, 200, "the old token after an emptied file");
    // Server keys but no org is the same.
    write_in_place(&d.config, &config("", &[]));
    let line = logs.wait_for("config rejected");
    assert!(line.contains("no orgs"), "{line}");
    stays_status(
        &d,
        "acme",
        &t1,
        200,
        "the old token after a file without orgs",
    );

    // The rejection is in the activity log too.
    let mut ctl = Ctl::connect(&socket_path(&d));
    let rejected = ctl
        .recent(100)
        .into_iter()
        .filter(|r| {
            r["resource"] == "config"
                && r["summary"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("config rejected: "))
        })
        .count();
    assert!(rejected >= 2, "{:#?}", ctl.recent(100));

    // The watcher is alive: the next valid file applies.
    let (t2, h2) = new_token();
    write_in_place(&d.config, &config("", &[org("acme", &[&h2], "")]));
    until_status(&d, "acme", &t2, 200, "the fixed file applied");
    assert_eq!(status(&d, "acme", &t1), 401);
}

#[test]
fn a_symlinked_config_reloads_when_its_target_changes_or_moves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let etc = dir.path().join("etc");
    std::fs::create_dir(&etc).expect("mkdir");
    let real = etc.join("real.toml");
    let (t1, h1) = new_token();
    write_in_place(&real, &config_in(dir.path(), &h1));
    let link = dir.path().join("scimd.toml");
    std::os::unix::fs::symlink("etc/real.toml", &link).expect("symlink");
    let (d, _logs) = start_at(dir, link.clone(), &[("acme", &t1)]);
    assert_eq!(status(&d, "acme", &t1), 200);

    // The target written in place, in a folder the link only points into.
    let (t2, h2) = new_token();
    write_in_place(&real, &config_in(d.dir.path(), &h2));
    until_status(&d, "acme", &t2, 200, "an edit of the link's target");
    assert_eq!(status(&d, "acme", &t1), 401);

    // The target saved by rename, as editors do.
    let (t3, h3) = new_token();
    save_by_rename(&real, &config_in(d.dir.path(), &h3));
    until_status(&d, "acme", &t3, 200, "a save by rename of the target");

    // The link re-pointed at a file in yet another folder; then that file edited.
    let other = d.dir.path().join("other");
    std::fs::create_dir(&other).expect("mkdir");
    let (t4, h4) = new_token();
    write_in_place(&other.join("next.toml"), &config_in(d.dir.path(), &h4));
    repoint(&link, Path::new("other/next.toml"));
    until_status(&d, "acme", &t4, 200, "the link re-pointed");
    let (t5, h5) = new_token();
    write_in_place(&other.join("next.toml"), &config_in(d.dir.path(), &h5));
    until_status(&d, "acme", &t5, 200, "an edit of the new target");
    assert_eq!(status(&d, "acme", &t3), 401);
}

/// One ConfigMap version: a `..<timestamp>` folder with the file in it.
fn configmap_version(cm: &Path, n: u32, text: &str) -> PathBuf {
    let version = cm.join(format!("..2026_01_0{n}_00_00_00.00000000{n}"));
    std::fs::create_dir(&version).expect("mkdir");
    write_in_place(&version.join("scimd.toml"), text);
    version
}

#[test]
fn a_kubernetes_configmap_swap_reloads() {
    let dir = tempfile::tempdir().expect("tempdir");
    // What kubelet makes of a ConfigMap volume: the file is a link through `..data`, itself a
    // link to the current version's folder.
    let cm = dir.path().join("cm");
    std::fs::create_dir(&cm).expect("mkdir");
    let (t1, h1) = new_token();
    let v1 = configmap_version(&cm, 1, &config_in(dir.path(), &h1));
    std::os::unix::fs::symlink(v1.file_name().expect("name"), cm.join("..data")).expect("..data");
    let path = cm.join("scimd.toml");
    std::os::unix::fs::symlink("..data/scimd.toml", &path).expect("link");
    let (d, _logs) = start_at(dir, path, &[("acme", &t1)]);
    assert_eq!(status(&d, "acme", &t1), 200);

    // An update: a new version folder, `..data` swapped to it by rename, the old one removed.
    let mut old = v1;
    let mut tokens = vec![t1];
    for n in 2..=3 {
        let (t, h) = new_token();
        let v = configmap_version(&cm, n, &config_in(d.dir.path(), &h));
        repoint(&cm.join("..data"), Path::new(v.file_name().expect("name")));
        std::fs::remove_dir_all(&old).expect("remove the old version");
        until_status(&d, "acme", &t, 200, &format!("ConfigMap update {n}"));
        for earlier in &tokens {
            assert_eq!(status(&d, "acme", earlier), 401);
        }
        tokens.push(t);
        old = v;
    }
}

/// Undoes a bind mount when dropped.
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn sighup_reloads_and_keeps_the_running_config_when_the_file_is_bad() {
    let (t1, h1) = new_token();
    let (d, mut logs) = start(&config("", &[org("acme", &[&h1], "")]), &[("acme", &t1)]);
    assert_eq!(status(&d, "acme", &t1), 200);

    // An emptied file, rejected once by the watcher and again at SIGHUP.
    write_in_place(&d.config, "");
    logs.wait_for("config rejected");
    d.signal("HUP");
    logs.wait_for("SIGHUP: reloading the config");
    let line = logs.wait_for("config rejected");
    assert!(line.contains("no orgs"), "{line}");
    stays_status(
        &d,
        "acme",
        &t1,
        200,
        "the old token after SIGHUP with an empty file",
    );

    // A change no file event tells of: a file from an unwatched folder bind-mounted over the
    // config (a network file system is like that). Only SIGHUP can bring it in.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let next = elsewhere.path().join("next.toml");
    let (t2, h2) = new_token();
    write_in_place(&next, &config("", &[org("acme", &[&h2], "")]));
    let mounted = Command::new("mount")
        .arg("--bind")
        .arg(&next)
        .arg(&d.config)
        .output()
        .expect("run mount");
    let _unmount;
    if mounted.status.success() {
        _unmount = Unmount(d.config.clone());
        stays_status(&d, "acme", &t2, 401, "a change without a file event");
        // (So the steady check saw the daemon's view, not a failed mount.)
        assert_eq!(
            std::fs::read(&d.config).expect("read"),
            std::fs::read(&next).expect("read")
        );
    } else {
        println!(
            "bind mount impossible here ({}); changing the file in place instead",
            String::from_utf8_lossy(&mounted.stderr).trim()
        );
        write_in_place(&d.config, &config("", &[org("acme", &[&h2], "")]));
    }
    d.signal("HUP");
    until_status(&d, "acme", &t2, 200, "the change brought in by SIGHUP");
    assert_eq!(status(&d, "acme", &t1), 401);
}
