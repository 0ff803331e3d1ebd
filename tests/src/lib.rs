//! What the end-to-end tests (`e2e/`) and the benchmark harness (`bench/`) share: building the
//! real `scimd` binary they both run, and a throwaway PostgreSQL cluster ([`pg`]).

pub mod pg;

use std::path::Path;
use std::process::{Command, ExitStatus};

/// Builds the `scimd` binary into `target` (`<target>/debug/scimd` or `<target>/release/scimd`)
/// with the cargo that runs this process. This package cannot name another package's binary
/// through Cargo, so it builds it.
pub fn build_scimd(target: &Path, release: bool) -> std::io::Result<ExitStatus> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-p", "scimd", "--bin", "scimd"]);
    if release {
        cmd.arg("--release");
    }
    cmd.env("CARGO_TARGET_DIR", target);
    // `cargo test` and `cargo run` give this process its package's variables; build scripts
    // that watch them (ring's watches CARGO_MANIFEST_DIR) would otherwise rebuild on every run,
    // and again at the next plain build.
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if key.starts_with("CARGO_PKG_")
            || matches!(
                key,
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_BIN_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_TARGET_TMPDIR"
                    | "CARGO_RUSTC_CURRENT_DIR"
            )
        {
            cmd.env_remove(key);
        }
    }
    cmd.status()
}
