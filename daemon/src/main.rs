//! The `scimd` binary: one command line for serving, the dashboard and `status`, tokens,
//! webhooks, config checks, and the store's upkeep (backup, restore, export, compact, copy,
//! org purge).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

mod cmd;

use cmd::{print_counts, store_copy, webhook_remove, webhook_test};

// glibc's malloc keeps a heap arena per thread, and the blocking pool has many threads: at 1M
// users that alone took the daemon past 500 MiB. jemalloc returns freed memory over time, and
// runs with one arena (`.cargo/config.toml`), so memory one thread freed serves the next
// thread's large request.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "scimd",
    version,
    about = "A self-hosted SCIM 2.0 provisioning server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the SCIM API (writes a starter config when the file does not exist).
    Serve {
        #[arg(long, default_value = "scimd.toml")]
        config: PathBuf,
    },
    /// Manage an org's bearer tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Watch provisioning live: the dashboard, over the running daemon's control socket.
    Tui {
        /// The control socket; defaults to the config's `socket` (`<data_dir>/scimd.sock`).
        #[arg(long)]
        socket: Option<PathBuf>,
        #[arg(long, default_value = "scimd.toml")]
        config: PathBuf,
    },
    /// Ask the running daemon how it and each org are doing: the last SCIM request, the last
    /// write, the last hour's requests, events consumers and webhooks. Exit 0 when it answers
    /// healthy, 1 when it cannot be reached, 2 when it answers unhealthy.
    Status {
        #[arg(long, default_value = "scimd.toml")]
        config: PathBuf,
        /// Print JSON (the shape in docs/operations.md) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Validate the config file and print a summary.
    CheckConfig {
        #[arg(long, default_value = "scimd.toml")]
        config: PathBuf,
    },
    /// Write a consistent copy of the redb store to a new file, while the daemon serves.
    Backup {
        /// The backup file to write; it must not exist yet.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value = "scimd.toml")]
        config: PathBuf,
    },
    /// Replace the redb store with a backup (the daemon must be stopped).
    Restore {
        /// A file written by `scimd backup`.
        #[arg(long)]
        from: PathBuf,
        #[arg(long, default_value = "scimd.toml")]
        config: PathBuf,
    },
    /// Write an org's users and teams to stdout as SCIM JSON, one resource per line, read
    /// from one snapshot.
    Export {
        #[arg(long)]
        org: String,
        /// Write exactly the lines of GET /events/v1/{org}/snapshot instead (NDJSON, with the
        /// end line and its cursor).
        #[arg(long)]
        snapshot: bool,
        #[arg(long, default_value = "scimd.toml")]
        config: PathBuf,
    },
    /// Shrink the redb file after deletes (the daemon must be stopped).
    Compact {
        #[arg(long, default_value = "scimd.toml")]
        config: PathBuf,
    },
    /// Manage the store itself.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Manage an org's webhook endpoints.
    Webhook {
        #[command(subcommand)]
        command: WebhookCommand,
    },
    /// Manage the data an org left in the store.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Delete everything the store holds of an org that is no longer in the config: users,
    /// teams, memberships, events, activity records and webhook positions. Through the
    /// running daemon when there is one.
    Purge {
        #[arg(long)]
        org: String,
        #[arg(long, default_value = "scimd.toml")]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
enum WebhookCommand {
    /// Add an endpoint to an org, with a fresh signing secret; prints the secret last.
    Add {
        #[arg(long)]
        org: String,
        /// The http(s) URL events are POSTed to.
        #[arg(long)]
        url: String,
        /// Only these event types, comma-separated (all types when omitted).
        #[arg(long, value_delimiter = ',')]
        events: Option<Vec<String>>,
        #[arg(long, default_value = "scimd.toml")]
        config: PathBuf,
    },
    /// Remove an org's endpoint by its URL; the daemon stops delivering to it once it reloads.
    Remove {
        #[arg(long)]
        org: String,
        /// The endpoint's URL, as added (compared taken apart, so a respelled scheme or host
        /// finds it too).
        #[arg(long)]
        url: String,
        #[arg(long, default_value = "scimd.toml")]
        config: PathBuf,
    },
    /// Send a signed `webhook.test` event to each of an org's endpoints and say what each
    /// answered.
    Test {
        #[arg(long)]
        org: String,
        #[arg(long, default_value = "scimd.toml")]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Copy the config's redb store (users, teams, memberships, ids, versions, timestamps,
    /// activity history) into an empty PostgreSQL database. Stop the daemon first.
    Copy {
        /// The PostgreSQL database: `postgres://user@host:port/db`. Defaults to
        /// `SCIMD_DATABASE_URL`, which is where a password belongs (a command line is seen by
        /// every user of the machine in `ps`, and kept in shell history).
        #[arg(long)]
        to: Option<String>,
        #[arg(long, default_value = "scimd.toml")]
        config: PathBuf,
    },
}

/// Which of an org's tokens a command manages.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Scope {
    /// The IdP's SCIM token (`tokens`).
    Scim,
    /// The consumer token of the events API (`event_tokens`): reads events, nothing else.
    Events,
    /// A read-only SCIM token (`read_tokens`): GET, HEAD and POST .search; writes answer 403.
    Read,
}

impl Scope {
    fn config(self) -> scimd_config::TokenScope {
        match self {
            Scope::Scim => scimd_config::TokenScope::Scim,
            Scope::Events => scimd_config::TokenScope::Events,
            Scope::Read => scimd_config::TokenScope::Read,
        }
    }
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Generate a new token for an org, invalidating every earlier one; prints it last.
    Rotate {
        #[arg(long)]
        org: String,
        #[arg(long, value_enum, default_value = "scim")]
        scope: Scope,
        #[arg(long, default_value = "scimd.toml")]
        config: PathBuf,
    },
    /// Remove every token of an org: it refuses all requests until a token is rotated in.
    Revoke {
        #[arg(long)]
        org: String,
        #[arg(long, value_enum, default_value = "scim")]
        scope: Scope,
        #[arg(long, default_value = "scimd.toml")]
        config: PathBuf,
    },
}

fn init_tracing(level: &str, json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    // Colour escapes only for a person at a terminal: a file or the journal gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    if json {
        // Flat objects (`timestamp`, `level`, `target`, `message`, then the event's own
        // fields) are what log pipelines index without a mapping; docs/operations.md lists
        // the names, which are part of the contract.
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .init();
    } else {
        builder.init();
    }
}

/// Resolves at the next SIGINT or SIGTERM.
async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

async fn shutdown_signal() {
    signal().await;
    tracing::info!("shutting down: finishing in-flight requests (a second signal exits at once)");
    // Every acknowledged write is already durable, so leaving now loses none of them.
    tokio::spawn(async {
        signal().await;
        tracing::warn!("second signal: exiting now");
        std::process::exit(130);
    });
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config } => {
            scimd::serve::ensure_config(&config)?;
            let loaded = scimd_config::Config::load(&config)?;
            init_tracing(
                &loaded.log.level,
                matches!(loaded.log.format, scimd_config::LogFormat::Json),
            );
            let rt = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
            match rt.block_on(scimd::serve::run(&config, shutdown_signal())) {
                Ok(()) => {}
                // The database's refusal (a certificate, pg_hba, a newer schema) already holds
                // its cause: one line, not anyhow's repeated "Caused by".
                Err(err @ scimd::serve::ServeError::Database { .. }) => {
                    eprintln!("Error: {err}");
                    drop(rt);
                    std::process::exit(1);
                }
                Err(err) => return Err(err.into()),
            }
        }
        Command::Token {
            command: TokenCommand::Rotate { org, scope, config },
        } => {
            let token = scimd_config::rotate_token_in(&config, &org, scope.config())
                .with_context(|| format!("rotating the token of org {org}"))?;
            // The SCIM scope's lines are a contract scripts rely on: kept word for word.
            match scope {
                Scope::Scim => println!(
                    "Rotated the token of org {org} in {}; every earlier token of {org} is now invalid.",
                    config.display()
                ),
                Scope::Events => println!(
                    "Rotated the events token of org {org} in {}; every earlier events token of \
                     {org} is now invalid. It reads GET /events/v1/{org} and nothing else.",
                    config.display()
                ),
                Scope::Read => println!(
                    "Rotated the read token of org {org} in {}; every earlier read token of \
                     {org} is now invalid. It reads /scim/v2/{org} (GET, HEAD, POST .search) \
                     and writes nothing.",
                    config.display()
                ),
            }
            println!("{token}");
        }
        Command::Token {
            command: TokenCommand::Revoke { org, scope, config },
        } => {
            scimd_config::revoke_tokens_in(&config, &org, scope.config())
                .with_context(|| format!("revoking the tokens of org {org}"))?;
            match scope {
                Scope::Scim => println!(
                    "Revoked every token of org {org}; it refuses all requests until rotated."
                ),
                Scope::Events => println!(
                    "Revoked every events token of org {org}; its events API refuses every \
                     request until one is rotated in."
                ),
                Scope::Read => println!(
                    "Revoked every read token of org {org}; its SCIM API refuses them; the \
                     org's SCIM tokens are untouched."
                ),
            }
        }
        Command::Tui { socket, config } => {
            let socket = match socket {
                Some(s) => s,
                None => {
                    scimd_config::Config::load(&config)
                        .with_context(|| {
                            format!(
                                "reading {} for the control socket path (or pass --socket)",
                                config.display()
                            )
                        })?
                        .socket
                }
            };
            // No tracing subscriber here: log lines would tear through the screen.
            scimd_tui::run(socket).context("running the dashboard")?;
        }
        Command::Status { config, json } => {
            let loaded = scimd_config::Config::load(&config)?;
            match scimd::status::ask(&loaded) {
                Ok(status) => {
                    if json {
                        println!("{}", scimd::status::to_json(&status));
                    } else {
                        print!("{}", scimd::status::table(&status));
                    }
                    if !status.daemon.healthy {
                        std::process::exit(2);
                    }
                }
                Err(why) => {
                    eprintln!("Error: {why}");
                    std::process::exit(1);
                }
            }
        }
        Command::CheckConfig { config } => match scimd_config::Config::load(&config) {
            Ok(c) => {
                println!("{}: ok", config.display());
                println!("listen: {}", c.listen);
                println!("data_dir: {}", c.data_dir.display());
                match &c.store.backend {
                    scimd_config::StoreBackend::Redb => println!("store: redb"),
                    scimd_config::StoreBackend::Postgres(pg) => println!(
                        "store: postgres {} (pool {}, tls: {})",
                        pg.redacted_url(),
                        pg.pool_size,
                        pg.tls().mode
                    ),
                }
                println!("tls: {}", if c.tls.is_some() { "on" } else { "off" });
                for org in c.orgs.values() {
                    println!(
                        "org {}: {} token(s){}",
                        org.name,
                        org.tokens.len(),
                        if org.enabled { "" } else { ", disabled" }
                    );
                }
                // The store is a second opinion: it cannot make a valid config fail.
                match scimd::admin::unconfigured_orgs(&c) {
                    Ok(orgs) => {
                        for org in orgs.unwrap_or_default() {
                            println!("{}", scimd::admin::kept_line(&org));
                        }
                    }
                    Err(err) => eprintln!("stored orgs not checked: {err}"),
                }
            }
            Err(err) => {
                eprintln!("{err}");
                std::process::exit(1);
            }
        },
        Command::Store {
            command: StoreCommand::Copy { to, config },
        } => {
            let to = match to {
                Some(to) => {
                    if scimd_config::url_has_password(&to) {
                        eprintln!(
                            "warning: --to carries a password, which other users see in `ps` \
                             and your shell keeps in its history; put the URL in {} instead",
                            scimd_config::DATABASE_URL_ENV
                        );
                    }
                    to
                }
                None => std::env::var(scimd_config::DATABASE_URL_ENV).map_err(|_| {
                    anyhow::anyhow!(
                        "give the PostgreSQL URL with --to or in {}",
                        scimd_config::DATABASE_URL_ENV
                    )
                })?,
            };
            store_copy(&config, &to)?
        }
        Command::Org {
            command: OrgCommand::Purge { org, config },
        } => {
            let loaded = scimd_config::Config::load(&config)?;
            // A refusal is one line whatever RUST_BACKTRACE says: scripts and people read it.
            let done = match scimd::admin::purge(&loaded, &org) {
                Ok(done) => done,
                Err(err) => {
                    eprintln!("Error: {err}");
                    std::process::exit(1);
                }
            };
            let p = done.purged;
            let how = if done.live {
                "through the running daemon"
            } else {
                "in the store directly (no daemon was running)"
            };
            println!(
                "Purged org {} {how}: {} users, {} teams, {} memberships, {} events, {} activity records.",
                done.org, p.users, p.teams, p.memberships, p.events, p.activity
            );
        }
        Command::Backup { out, config } => {
            let loaded = scimd_config::Config::load(&config)?;
            let done = scimd::admin::backup(&loaded, &out)?;
            let how = if done.live {
                "from the running daemon's snapshot"
            } else {
                "from the store file (no daemon was running)"
            };
            println!(
                "Wrote {} ({} bytes) {how}; it opens and holds:",
                done.path.display(),
                done.bytes
            );
            print_counts(&done.counts);
        }
        Command::Restore { from, config } => {
            let loaded = scimd_config::Config::load(&config)?;
            let done = scimd::admin::restore(&loaded, &from)?;
            println!(
                "Restored {} to {}; it holds:",
                from.display(),
                done.path.display()
            );
            print_counts(&done.counts);
            if let Some(previous) = done.previous {
                println!("The store it replaced is kept as {}.", previous.display());
            }
        }
        Command::Export {
            org,
            snapshot,
            config,
        } => {
            let loaded = scimd_config::Config::load(&config)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let form = if snapshot {
                scimd::admin::ExportForm::Snapshot
            } else {
                scimd::admin::ExportForm::Scim
            };
            let done = scimd::admin::export(&loaded, &org, form, &mut out)?;
            drop(out);
            eprintln!(
                "Exported {} users and {} teams of org {org}.",
                done.users, done.teams
            );
        }
        Command::Webhook {
            command:
                WebhookCommand::Add {
                    org,
                    url,
                    events,
                    config,
                },
        } => {
            let secret = scimd_config::add_webhook(&config, &org, &url, events.as_deref())
                .with_context(|| format!("adding a webhook to org {org}"))?;
            // Named by id and host, as everywhere else: output lands in CI logs and terminals'
            // scrollback, and the URL's path or query may hold the receiver's token.
            let added = scimd_config::Config::load(&config)
                .ok()
                .and_then(|c| {
                    let hook = c.org(&org)?.webhooks.iter().find(|h| h.url == url)?.clone();
                    Some(format!("endpoint {} ({})", hook.id(), hook.host()))
                })
                .unwrap_or_else(|| "the endpoint".to_string());
            println!(
                "Added a webhook to org {org} in {}: {added} receives {} once the daemon \
                 reloads. Its signing secret (verify the webhook-signature header with it):",
                config.display(),
                match &events {
                    Some(list) => list.join(", "),
                    None => "every event".to_string(),
                }
            );
            println!("{secret}");
        }
        Command::Webhook {
            command: WebhookCommand::Remove { org, url, config },
        } => webhook_remove(&config, &org, &url)?,
        Command::Webhook {
            command: WebhookCommand::Test { org, config },
        } => webhook_test(&config, &org)?,
        Command::Compact { config } => {
            let loaded = scimd_config::Config::load(&config)?;
            let (path, before, after) = scimd::admin::compact(&loaded)?;
            println!("Compacted {}: {before} -> {after} bytes.", path.display());
        }
    }
    Ok(())
}
