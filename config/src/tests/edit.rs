//! Token rotation, revocation and the starter file, on real files in a temp folder.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::{
    revoke_tokens, rotate_token, token, write_starter, ActivityConfig, Config, ConfigError,
    StoreBackend, StoreConfig, DEFAULT_POOL_SIZE,
};

const COMMENTED: &str = r#"# top comment
listen = "127.0.0.1:8080"   # where we listen

# Acme, our first customer.
[orgs.Acme]
display_name = "Acme Corp"  # shown in the dashboard
tokens = [
  "OLD_HASH",  # issued 2024
]   # trailing note
enabled = true

# Globex keeps its token.
[orgs.globex]
tokens = ["GLOBEX_HASH"]
"#;

fn setup(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scimd.toml");
    fs::write(&path, text).unwrap();
    (dir, path)
}

fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "scimd.toml")
        .collect()
}

#[test]
fn rotate_preserves_comments_and_other_orgs_and_invalidates_the_old_token() {
    let old = token::generate();
    let globex = token::generate();
    let text = COMMENTED
        .replace("OLD_HASH", &token::hash(&old))
        .replace("GLOBEX_HASH", &token::hash(&globex));
    let (dir, path) = setup(&text);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();

    // Case-insensitive, like every other org lookup.
    let new = rotate_token(&path, "acme").unwrap();
    assert!(new.starts_with("scimd_"));

    let written = fs::read_to_string(&path).unwrap();
    for kept in [
        "# top comment\n",
        "listen = \"127.0.0.1:8080\"   # where we listen\n",
        "\n# Acme, our first customer.\n[orgs.Acme]\n",
        "display_name = \"Acme Corp\"  # shown in the dashboard\n",
        "   # trailing note\nenabled = true\n",
        "\n# Globex keeps its token.\n[orgs.globex]\n",
    ] {
        assert!(written.contains(kept), "lost {kept:?} in:\n{written}");
    }
    assert!(written.contains(&format!(
        "tokens = [\"{}\"]   # trailing note",
        token::hash(&new)
    )));
    assert!(!written.contains(&token::hash(&old)));
    assert!(!written.contains(&new), "plaintext never reaches the file");

    let config = Config::load(&path).unwrap();
    let acme = config.org("acme").unwrap();
    assert!(acme.token_matches(&new));
    assert!(!acme.token_matches(&old));
    assert!(config.org("globex").unwrap().token_matches(&globex));

    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode, 0o600,
        "a rewritten config is private, whatever it was before"
    );
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );

    // A second rotation replaces the first.
    let newer = rotate_token(&path, "ACME").unwrap();
    let acme = Config::load(&path).unwrap().org("acme").unwrap().clone();
    assert!(acme.token_matches(&newer) && !acme.token_matches(&new));
    assert_eq!(acme.tokens.len(), 1);
}

#[test]
fn rotate_adds_tokens_where_there_were_none() {
    let rows = [
        "[orgs.acme]\ndisplay_name = \"A\"\n\n[orgs.b]\n",
        "orgs = { acme = { display_name = \"A\" } }\n",
        "orgs.acme.display_name = \"A\"\n",
    ];
    for text in rows {
        let (_dir, path) = setup(text);
        let new = rotate_token(&path, "acme").unwrap();
        let config = Config::load(&path).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert!(config.org("acme").unwrap().token_matches(&new), "{text}");
        assert_eq!(config.org("acme").unwrap().display_name, "A");
    }
}

#[test]
fn rotate_repairs_a_malformed_hash_but_not_other_errors() {
    let (_dir, path) = setup("[orgs.acme]\ntokens = [\"scimd_pasted_by_mistake\"]\n");
    let new = rotate_token(&path, "acme").unwrap();
    assert!(Config::load(&path)
        .unwrap()
        .org("acme")
        .unwrap()
        .token_matches(&new));

    let broken = "[orgs.acme]\nteam_name_max = 0\n";
    let (_dir, path) = setup(broken);
    let err = rotate_token(&path, "acme").unwrap_err();
    assert!(err.to_string().contains("orgs.acme.team_name_max"), "{err}");
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        broken,
        "nothing written"
    );
}

#[test]
fn unknown_org_and_missing_file_are_errors() {
    let (_dir, path) = setup("[orgs.acme]\n");
    let err = rotate_token(&path, "globex").unwrap_err();
    assert!(matches!(&err, ConfigError::UnknownOrg(name) if name == "globex"));
    assert_eq!(err.to_string(), "no org named `globex` in the config file");
    assert!(matches!(
        revoke_tokens(&path, "globex"),
        Err(ConfigError::UnknownOrg(_))
    ));

    let (_dir, path) = setup("listen = \"127.0.0.1:1\"\n");
    assert!(matches!(
        rotate_token(&path, "acme"),
        Err(ConfigError::UnknownOrg(_))
    ));

    let (_dir, path) = setup("[orgs.acme\n");
    assert!(matches!(
        rotate_token(&path, "acme"),
        Err(ConfigError::Parse { .. })
    ));

    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("scimd.toml");
    assert!(matches!(
        rotate_token(&missing, "acme"),
        Err(ConfigError::Io { .. })
    ));
    assert!(!missing.exists());
}

#[test]
fn revoke_empties_the_list_and_refuses_every_token() {
    let one = token::generate();
    let two = token::generate();
    let text = format!(
        "# keep me\n[orgs.acme]\ntokens = [{:?}, {:?}]  # note\n",
        token::hash(&one),
        token::hash(&two)
    );
    let (_dir, path) = setup(&text);
    revoke_tokens(&path, "acme").unwrap();
    let written = fs::read_to_string(&path).unwrap();
    assert_eq!(written, "# keep me\n[orgs.acme]\ntokens = []  # note\n");
    let acme = Config::load(&path).unwrap().org("acme").unwrap().clone();
    assert!(acme.tokens.is_empty());
    assert!(!acme.token_matches(&one) && !acme.token_matches(&two));
}

#[test]
fn rotate_through_a_symlink_edits_the_target() {
    let (dir, real) = setup("[orgs.acme]\n");
    let link = dir.path().join("link.toml");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let new = rotate_token(&link, "acme").unwrap();
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(Config::load(&real)
        .unwrap()
        .org("acme")
        .unwrap()
        .token_matches(&new));
}

#[test]
fn starter_config_loads_and_its_token_matches() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("etc").join("scimd.toml");
    let token = write_starter(&path).unwrap();
    assert!(token.starts_with("scimd_"));

    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let text = fs::read_to_string(&path).unwrap();
    assert!(!text.contains(&token));
    for documented in [
        "# public_url = ",
        "# socket = ",
        "# [log]",
        "# [tls]",
        "# [activity]",
        "# [store]",
        "SCIMD_DATABASE_URL",
        "scimd token rotate",
    ] {
        assert!(text.contains(documented), "starter lacks {documented:?}");
    }

    let config = Config::load(&path).unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.data_dir, dir.path().join("etc").join("data"));
    assert_eq!(config.orgs.len(), 1);
    let example = config.org("example").unwrap();
    assert_eq!(example.display_name, "Example");
    assert!(example.token_matches(&token));
    assert!(example.enabled);

    // Uncommenting every example line in place gives a valid file that sets every key.
    let uncommented: String = text
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(example) if example.contains(" = ") || example.starts_with('[') => example,
            _ => line,
        })
        .map(|line| format!("{line}\n"))
        .collect();
    let full = Config::from_toml_str(&uncommented, &path).unwrap();
    assert_eq!(full.public_url.as_deref(), Some("https://scim.example.com"));
    assert_eq!(full.socket, dir.path().join("etc/data/scimd.sock"));
    assert_eq!(
        full.tls.as_ref().unwrap().key,
        dir.path().join("etc/key.pem")
    );
    assert_eq!(full.org("example").unwrap(), example);
    assert_eq!(full.activity, ActivityConfig::default());
    assert_eq!(
        config.store,
        StoreConfig::default(),
        "the starter keeps redb"
    );
    let StoreBackend::Postgres(postgres) = &full.store.backend else {
        panic!("{:?}", full.store);
    };
    assert_eq!(postgres.url, "postgres://scimd@db.internal:5432/scimd");
    assert_eq!(postgres.pool_size, DEFAULT_POOL_SIZE);

    let again = write_starter(&path).unwrap_err();
    assert!(
        matches!(&again, ConfigError::Io { source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists)
    );
    assert!(
        example.token_matches(&token),
        "the existing file is untouched"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn a_rewritten_config_keeps_its_owner_when_root_rewrites_it() {
    use std::os::unix::fs::MetadataExt;
    let text = COMMENTED
        .replace("OLD_HASH", &token::hash(&token::generate()))
        .replace("GLOBEX_HASH", &token::hash(&token::generate()));
    let (_dir, path) = setup(&text);
    // Only root can give a file away: elsewhere there is nothing to keep.
    if std::os::unix::fs::chown(&path, Some(4242), Some(4343)).is_err() {
        return;
    }
    rotate_token(&path, "acme").unwrap();
    let meta = fs::metadata(&path).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (4242, 4343));
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
}
