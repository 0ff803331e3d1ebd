//! Whether the config file shows its secrets to other users of the machine: a file readable by
//! group or others (`mode & 0o044`) that holds a webhook signing secret or a database password
//! (`[store] url` with one) is worth a warning, at start and on every reload. Tokens are only
//! stored as hashes and do not count.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::model::Config;
use crate::store::url_has_password;

/// Which of the file's secrets a reader of `text` would learn, in words; empty when none.
fn secrets_in(config: &Config, text: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    if config.orgs.values().any(|org| !org.webhooks.is_empty()) {
        found.push("a webhook signing secret");
    }
    // The URL as written in the file: one from the environment is not the file's to expose.
    let written_url = text
        .parse::<toml::Table>()
        .ok()
        .and_then(|t| t.get("store")?.get("url")?.as_str().map(str::to_owned));
    if written_url.is_some_and(|url| url_has_password(&url)) {
        found.push("a database password");
    }
    found
}

/// The warning to log when `config`'s file is readable by group or others and holds a
/// secret; None when it is private enough, holds none, or cannot be read.
pub fn exposed_secrets(config: &Config) -> Option<String> {
    let path: &Path = &config.path;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    if mode & 0o044 == 0 {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let found = secrets_in(config, &text);
    if found.is_empty() {
        return None;
    }
    Some(format!(
        "{} is readable by group or others (mode {:03o}) and holds {}: run chmod 600 {0}",
        path.display(),
        mode & 0o777,
        found.join(" and ")
    ))
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    const HOOK: &str = r#"
[orgs.acme]
[[orgs.acme.webhooks]]
url = "https://hooks.example.com/x"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
"#;

    fn written(text: &str, mode: u32) -> (tempfile::TempDir, Config) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scimd.toml");
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        let config = Config::from_toml_str(text, &path).unwrap();
        (dir, config)
    }

    #[test]
    fn a_readable_file_with_a_secret_is_named_with_its_mode() {
        let (_dir, config) = written(HOOK, 0o644);
        let warning = exposed_secrets(&config).unwrap();
        assert!(warning.contains("mode 644"), "{warning}");
        assert!(warning.contains("a webhook signing secret"), "{warning}");
        assert!(!warning.contains("whsec_"), "{warning}");
        // Group-readable is enough.
        let (_dir, config) = written(HOOK, 0o640);
        assert!(exposed_secrets(&config).is_some());
    }

    #[test]
    fn a_private_file_or_one_without_secrets_says_nothing() {
        let (_dir, config) = written(HOOK, 0o600);
        assert_eq!(exposed_secrets(&config), None);
        let (_dir, config) = written("[orgs.acme]\n", 0o644);
        assert_eq!(exposed_secrets(&config), None);
    }

    #[test]
    fn a_database_password_counts_only_when_the_file_has_it() {
        let text =
            "[store]\nbackend = \"postgres\"\nurl = \"postgres://u:pw@db/scimd\"\n[orgs.acme]\n";
        let (_dir, config) = written(text, 0o604);
        let warning = exposed_secrets(&config).unwrap();
        assert!(warning.contains("a database password"), "{warning}");
        assert!(!warning.contains("pw@"), "{warning}");
        let text =
            "[store]\nbackend = \"postgres\"\nurl = \"postgres://u@db/scimd\"\n[orgs.acme]\n";
        let (_dir, config) = written(text, 0o644);
        assert_eq!(exposed_secrets(&config), None);
    }
}
