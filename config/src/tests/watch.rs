//! The live-reload watcher on real folders: in-place writes, save by rename, broken files,
//! vanishing files, writes that change nothing, configs that are symlinks (to another folder, or
//! Kubernetes' `..data` layout) and forced reloads. Every wait is a deadline, never a sleep.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

use crate::{Config, ConfigError, Watcher};

/// Generous, because CI machines stall; a passing run never waits this long.
const DEADLINE: Duration = Duration::from_secs(10);

type Events = Receiver<Result<Config, ConfigError>>;

fn start(text: &str) -> (tempfile::TempDir, PathBuf, Watcher, Events) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scimd.toml");
    fs::write(&path, text).unwrap();
    let (watcher, rx) = watch(&path);
    (dir, path, watcher, rx)
}

fn watch(path: &Path) -> (Watcher, Events) {
    let (tx, rx) = mpsc::channel();
    let watcher = Watcher::spawn(path, move |result| {
        let _ = tx.send(result);
    })
    .unwrap();
    (watcher, rx)
}

fn next(rx: &Events) -> Result<Config, ConfigError> {
    match rx.recv_timeout(DEADLINE) {
        Ok(result) => result,
        Err(e) => panic!("no reload within {DEADLINE:?}: {e}"),
    }
}

fn org_names(config: &Config) -> Vec<&str> {
    config.orgs.keys().map(String::as_str).collect()
}

fn replace_by_rename(path: &Path, text: &str) {
    let tmp = path.with_file_name(".scimd.toml.swp");
    fs::write(&tmp, text).unwrap();
    fs::rename(&tmp, path).unwrap();
}

#[test]
fn in_place_write_reloads() {
    let (_dir, path, _watcher, rx) = start("[orgs.a]\n");
    fs::write(&path, "[orgs.a]\n[orgs.b]\n").unwrap();
    let config = next(&rx).unwrap();
    assert_eq!(org_names(&config), ["a", "b"]);
    assert_eq!(config.path, path);
}

#[test]
fn save_by_rename_reloads() {
    let (_dir, path, _watcher, rx) = start("[orgs.a]\n");
    replace_by_rename(&path, "[orgs.renamed]\n");
    assert_eq!(org_names(&next(&rx).unwrap()), ["renamed"]);
    // The watch survives the rename: the next save is seen too.
    replace_by_rename(&path, "[orgs.again]\n");
    assert_eq!(org_names(&next(&rx).unwrap()), ["again"]);
}

#[test]
fn broken_file_reports_the_error_then_the_fix() {
    let (_dir, path, _watcher, rx) = start("[orgs.a]\n");
    fs::write(&path, "[orgs.a]\nteam_name_max = 0\n").unwrap();
    let err = next(&rx).unwrap_err().to_string();
    assert!(err.contains(":2:17: orgs.a.team_name_max: "), "{err}");

    fs::write(&path, "[orgs.a\n").unwrap();
    assert!(matches!(next(&rx), Err(ConfigError::Parse { .. })));

    fs::write(&path, "[orgs.a]\nteam_name_max = 5\n").unwrap();
    let config = next(&rx).unwrap();
    assert_eq!(config.org("a").unwrap().team_name_max, 5);
}

#[test]
fn unchanged_bytes_do_not_reload() {
    let text = "[orgs.a]\n";
    let (_dir, path, _watcher, rx) = start(text);
    // Rewriting the same bytes and touching the file are events, but not changes: if either
    // produced a callback, it would arrive before the real change below and fail the assert.
    fs::write(&path, text).unwrap();
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(SystemTime::now())
        .unwrap();
    replace_by_rename(&path, text);
    fs::write(&path, "[orgs.changed]\n").unwrap();
    assert_eq!(org_names(&next(&rx).unwrap()), ["changed"]);
}

#[test]
fn a_file_that_vanishes_briefly_is_not_an_error() {
    let (_dir, path, _watcher, rx) = start("[orgs.a]\n");
    fs::remove_file(&path).unwrap();
    fs::write(&path, "[orgs.back]\n").unwrap();
    assert_eq!(org_names(&next(&rx).unwrap()), ["back"]);
}

#[test]
fn a_file_that_stays_gone_is_reported_then_its_return_is_seen() {
    let text = "[orgs.a]\n";
    let (_dir, path, _watcher, rx) = start(text);
    fs::remove_file(&path).unwrap();
    match next(&rx) {
        Err(ConfigError::Io { source, path: p }) => {
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            assert_eq!(p, path);
        }
        other => panic!("{other:?}"),
    }
    // Same bytes as before the removal, yet reported: the running config must learn the file
    // is back.
    fs::write(&path, text).unwrap();
    assert_eq!(org_names(&next(&rx).unwrap()), ["a"]);
}

#[test]
fn other_files_in_the_folder_are_ignored() {
    let (dir, path, _watcher, rx) = start("[orgs.a]\n");
    fs::write(dir.path().join("other.toml"), "garbage [").unwrap();
    fs::write(dir.path().join("scimd.toml.bak"), "garbage [").unwrap();
    fs::write(&path, "[orgs.b]\n").unwrap();
    assert_eq!(org_names(&next(&rx).unwrap()), ["b"]);
}

#[test]
fn dropping_the_watcher_stops_callbacks() {
    let (_dir, path, watcher, rx) = start("[orgs.a]\n");
    drop(watcher);
    fs::write(&path, "[orgs.b]\n").unwrap();
    // The callback (and with it the sender) is dropped once the watch threads end.
    match rx.recv_timeout(DEADLINE) {
        Err(RecvTimeoutError::Disconnected) => {}
        other => panic!("expected the callback to be dropped, got {other:?}"),
    }
}

#[test]
fn a_symlink_to_another_folder_reloads_when_its_target_changes() {
    let root = tempfile::tempdir().unwrap();
    let (conf, elsewhere) = (root.path().join("etc"), root.path().join("srv"));
    fs::create_dir(&conf).unwrap();
    fs::create_dir(&elsewhere).unwrap();
    let target = elsewhere.join("real.toml");
    fs::write(&target, "[orgs.a]\n").unwrap();
    let path = conf.join("scimd.toml");
    symlink(&target, &path).unwrap();
    let (_watcher, rx) = watch(&path);

    // Nothing happens in the config's own folder: only the target's folder sees these.
    fs::write(&target, "[orgs.edited]\n").unwrap();
    let config = next(&rx).unwrap();
    assert_eq!(org_names(&config), ["edited"]);
    assert_eq!(config.path, path, "the path as given, not the target");
    replace_by_rename(&target, "[orgs.renamed]\n");
    assert_eq!(org_names(&next(&rx).unwrap()), ["renamed"]);
}

#[test]
fn a_chain_of_symlinks_is_followed_and_repointing_it_moves_the_watch() {
    let root = tempfile::tempdir().unwrap();
    let [a, b, c] = ["a", "b", "c"].map(|name| {
        let dir = root.path().join(name);
        fs::create_dir(&dir).unwrap();
        dir
    });
    fs::write(c.join("real.toml"), "[orgs.one]\n").unwrap();
    fs::write(b.join("other.toml"), "[orgs.other]\n").unwrap();
    // a/scimd.toml -> ../b/link.toml -> c/real.toml, relative and absolute links mixed.
    symlink(c.join("real.toml"), b.join("link.toml")).unwrap();
    let path = a.join("scimd.toml");
    symlink("../b/link.toml", &path).unwrap();
    let (_watcher, rx) = watch(&path);

    fs::write(c.join("real.toml"), "[orgs.two]\n").unwrap();
    assert_eq!(org_names(&next(&rx).unwrap()), ["two"]);

    // Re-point the middle link at a file in b, atomically (new link renamed over the old).
    symlink("other.toml", b.join("link.tmp")).unwrap();
    fs::rename(b.join("link.tmp"), b.join("link.toml")).unwrap();
    assert_eq!(org_names(&next(&rx).unwrap()), ["other"]);
    // c's file is no longer what the config reads: writing it reloads nothing, and the next
    // reload is b's.
    fs::write(c.join("real.toml"), "[orgs.stale]\n").unwrap();
    fs::write(b.join("other.toml"), "[orgs.three]\n").unwrap();
    assert_eq!(org_names(&next(&rx).unwrap()), ["three"]);
}

/// A ConfigMap volume the way the kubelet lays it out: `scimd.toml -> ..data/scimd.toml`,
/// `..data -> ..<timestamp>`, with the files in the timestamped folder.
struct ConfigMapVolume {
    dir: tempfile::TempDir,
    current: String,
    generation: u32,
}

impl ConfigMapVolume {
    fn new(text: &str) -> ConfigMapVolume {
        let dir = tempfile::tempdir().unwrap();
        let current = ConfigMapVolume::write_generation(dir.path(), 0, text);
        symlink(&current, dir.path().join("..data")).unwrap();
        symlink("..data/scimd.toml", dir.path().join("scimd.toml")).unwrap();
        ConfigMapVolume {
            dir,
            current,
            generation: 0,
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("scimd.toml")
    }

    fn write_generation(dir: &Path, generation: u32, text: &str) -> String {
        let name = format!("..2026_12_02_10_00_0{generation}.{generation}23456789");
        fs::create_dir(dir.join(&name)).unwrap();
        fs::write(dir.join(&name).join("scimd.toml"), text).unwrap();
        name
    }

    /// The kubelet's atomic update: a new timestamped folder, a `..data_tmp` link to it, the
    /// link renamed over `..data`, then the old folder removed.
    fn update(&mut self, text: &str) {
        self.generation += 1;
        let dir = self.dir.path();
        let next = ConfigMapVolume::write_generation(dir, self.generation, text);
        symlink(&next, dir.join("..data_tmp")).unwrap();
        fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
        fs::remove_dir_all(dir.join(&self.current)).unwrap();
        self.current = next;
    }
}

#[test]
fn a_kubernetes_configmap_swap_reloads() {
    let mut volume = ConfigMapVolume::new("[orgs.a]\n");
    let (_watcher, rx) = watch(&volume.path());

    volume.update("[orgs.a]\n[orgs.b]\n");
    let config = next(&rx).unwrap();
    assert_eq!(org_names(&config), ["a", "b"]);
    assert_eq!(config.path, volume.path());

    // A second swap: the watch followed the first one rather than staying on the deleted folder.
    volume.update("[orgs.c]\n");
    assert_eq!(org_names(&next(&rx).unwrap()), ["c"]);

    // The kubelet never writes in place, but the new folder is watched like any target's.
    fs::write(
        volume.dir.path().join(&volume.current).join("scimd.toml"),
        "[orgs.in-place]\n",
    )
    .unwrap();
    assert_eq!(org_names(&next(&rx).unwrap()), ["in-place"]);
}

#[test]
fn swaps_and_touches_that_keep_the_bytes_do_not_reload() {
    let text = "[orgs.a]\n";
    let mut volume = ConfigMapVolume::new(text);
    let (_watcher, rx) = watch(&volume.path());
    // Each of these is an event in a watched folder, none a change: any callback they caused
    // would arrive before the real change below and fail the assert.
    volume.update(text);
    let target = volume.dir.path().join(&volume.current).join("scimd.toml");
    fs::File::options()
        .write(true)
        .open(&target)
        .unwrap()
        .set_modified(SystemTime::now())
        .unwrap();
    fs::write(volume.dir.path().join("unrelated"), "x").unwrap();
    volume.update("[orgs.changed]\n");
    assert_eq!(org_names(&next(&rx).unwrap()), ["changed"]);
}

#[test]
fn reload_now_reports_unchanged_bytes_and_broken_files_again() {
    let (_dir, path, watcher, rx) = start("[orgs.a]\n");
    watcher.reload_now().unwrap();
    assert_eq!(org_names(&next(&rx).unwrap()), ["a"]);

    fs::write(&path, "[orgs.a\n").unwrap();
    assert!(matches!(next(&rx), Err(ConfigError::Parse { .. })));
    // What SIGHUP is for on a broken file: the error again, not silence.
    watcher.reload_now().unwrap();
    assert!(matches!(next(&rx), Err(ConfigError::Parse { .. })));

    fs::write(&path, "[orgs.fixed]\n").unwrap();
    assert_eq!(org_names(&next(&rx).unwrap()), ["fixed"]);
}

#[test]
fn reload_now_sees_what_no_event_announced_and_its_bytes_count_as_seen() {
    // scimd.toml -> x/link/real.toml, with x/link -> y1. Re-pointing x/link is an event only in
    // x, which is on no path the watcher resolves: the one change a reload_now must catch.
    let root = tempfile::tempdir().unwrap();
    let [conf, x, y1, y2] = ["conf", "x", "y1", "y2"].map(|name| {
        let dir = root.path().join(name);
        fs::create_dir(&dir).unwrap();
        dir
    });
    fs::write(y1.join("real.toml"), "[orgs.one]\n").unwrap();
    fs::write(y2.join("real.toml"), "[orgs.two]\n").unwrap();
    symlink(&y1, x.join("link")).unwrap();
    let path = conf.join("scimd.toml");
    symlink(x.join("link").join("real.toml"), &path).unwrap();
    let (watcher, rx) = watch(&path);

    symlink(&y2, x.join("link.tmp")).unwrap();
    fs::rename(x.join("link.tmp"), x.join("link")).unwrap();
    watcher.reload_now().unwrap();
    assert_eq!(org_names(&next(&rx).unwrap()), ["two"]);

    // The forced reload moved the watch to y2 and recorded its bytes: touching the file there is
    // no reload, editing it is.
    let target = y2.join("real.toml");
    fs::File::options()
        .write(true)
        .open(&target)
        .unwrap()
        .set_modified(SystemTime::now())
        .unwrap();
    fs::write(&target, "[orgs.three]\n").unwrap();
    assert_eq!(org_names(&next(&rx).unwrap()), ["three"]);
}

#[test]
fn reload_now_fails_once_the_reload_thread_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scimd.toml");
    fs::write(&path, "[orgs.a]\n").unwrap();
    let watcher =
        Watcher::spawn(&path, |_| panic!("a callback that panics ends the thread")).unwrap();
    watcher.reload_now().unwrap();
    let deadline = Instant::now() + DEADLINE;
    while watcher.reload_now().is_ok() {
        assert!(
            Instant::now() < deadline,
            "the reload thread is still running"
        );
        std::thread::yield_now();
    }
    let err = watcher.reload_now().unwrap_err().to_string();
    assert!(err.contains("the reload thread has stopped"), "{err}");
}

#[test]
fn a_watcher_can_be_shared_with_a_signal_handler() {
    fn shared<T: Send + Sync>() {}
    shared::<Watcher>();
}
