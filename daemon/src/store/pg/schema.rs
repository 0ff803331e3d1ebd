//! The PostgreSQL schema as numbered migrations, applied in order at start under an advisory
//! lock (so daemons starting together never race), each in its own transaction and recorded in
//! `scimd_schema`. A database whose schema is newer than this binary knows is refused.
//!
//! Text columns that scimd orders by use `COLLATE "C"`: byte order, the order of Rust's string
//! comparison, which cursors and the page-end cache rely on.

/// The migrations, oldest first; migration `n` is `MIGRATIONS[n - 1]`. Never edit a shipped
/// one: add the next.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the directory.
    r#"
    CREATE TABLE scimd_users (
        org text COLLATE "C" NOT NULL,
        id text COLLATE "C" NOT NULL,
        name_key text COLLATE "C",
        external_id text COLLATE "C",
        attrs json NOT NULL,
        created text NOT NULL,
        modified text NOT NULL,
        version bigint NOT NULL,
        PRIMARY KEY (org, id)
    );
    CREATE UNIQUE INDEX scimd_users_name ON scimd_users (org, name_key);
    CREATE INDEX scimd_users_external_id ON scimd_users (org, external_id);
    CREATE TABLE scimd_user_emails (
        org text COLLATE "C" NOT NULL,
        email text COLLATE "C" NOT NULL,
        id text COLLATE "C" NOT NULL,
        PRIMARY KEY (org, email, id)
    );
    CREATE TABLE scimd_groups (
        org text COLLATE "C" NOT NULL,
        id text COLLATE "C" NOT NULL,
        name_key text COLLATE "C",
        external_id text COLLATE "C",
        attrs json NOT NULL,
        created text NOT NULL,
        modified text NOT NULL,
        version bigint NOT NULL,
        PRIMARY KEY (org, id)
    );
    CREATE UNIQUE INDEX scimd_groups_name ON scimd_groups (org, name_key);
    CREATE INDEX scimd_groups_external_id ON scimd_groups (org, external_id);
    CREATE TABLE scimd_members (
        org text COLLATE "C" NOT NULL,
        gid text COLLATE "C" NOT NULL,
        uid text COLLATE "C" NOT NULL,
        display text NOT NULL,
        PRIMARY KEY (org, gid, uid)
    );
    CREATE INDEX scimd_members_by_user ON scimd_members (org, uid, gid);
    CREATE TABLE scimd_counts (
        org text COLLATE "C" NOT NULL,
        name text COLLATE "C" NOT NULL,
        n bigint NOT NULL,
        PRIMARY KEY (org, name)
    );
    CREATE TABLE scimd_meta (
        key text PRIMARY KEY,
        value bigint NOT NULL
    );
    "#,
    // 2: the activity log the dashboards of every daemon follow.
    r#"
    CREATE TABLE scimd_activity (
        seq bigint PRIMARY KEY,
        at timestamptz NOT NULL,
        record json NOT NULL
    );
    CREATE INDEX scimd_activity_at ON scimd_activity (at);
    INSERT INTO scimd_meta (key, value) VALUES ('activity_last_seq', 0)
        ON CONFLICT (key) DO NOTHING;
    "#,
    // 3: the change feed (an outbox written in the change's transaction), and each org's
    // event counter: its row lock orders the numbers across daemons.
    r#"
    CREATE TABLE scimd_events (
        org text COLLATE "C" NOT NULL,
        seq bigint NOT NULL,
        id text NOT NULL,
        time text NOT NULL,
        at timestamptz NOT NULL,
        kind text NOT NULL,
        data text NOT NULL,
        PRIMARY KEY (org, seq)
    );
    CREATE TABLE scimd_event_seq (
        org text COLLATE "C" PRIMARY KEY,
        last_seq bigint NOT NULL,
        pruned bigint NOT NULL DEFAULT 0
    );
    "#,
    // 4: each webhook endpoint's delivery state, and the lease of the daemon delivering to
    // it (until `lease_until`, by the database's clock).
    r#"
    CREATE TABLE scimd_webhooks (
        org text COLLATE "C" NOT NULL,
        endpoint text COLLATE "C" NOT NULL,
        state text NOT NULL,
        lease_owner text,
        lease_until timestamptz,
        PRIMARY KEY (org, endpoint)
    );
    "#,
    // 5: a user's create as one call that answers instead of failing, the one way a user is
    // written. The group-commit writer sends a lone create ahead of later work and reads the
    // answer as the batch ends, so a name taken meanwhile (or any value the database refuses)
    // must not break the batch's transaction: the handler's block is a subtransaction of its
    // own.
    r#"
    CREATE FUNCTION scimd_create_user(
        p_org text, p_id text, p_name text, p_ext text, p_attrs text,
        p_created text, p_modified text, p_version bigint, p_emails text[]
    ) RETURNS text LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO scimd_users (org, id, name_key, external_id, attrs, created, modified, version)
            VALUES (p_org, p_id, p_name, p_ext, p_attrs::json, p_created, p_modified, p_version);
        INSERT INTO scimd_user_emails (org, email, id)
            SELECT p_org, e, p_id FROM unnest(p_emails) AS e ON CONFLICT DO NOTHING;
        RETURN NULL;
    EXCEPTION WHEN OTHERS THEN
        RETURN SQLSTATE || ' ' || SQLERRM;
    END
    $$;
    "#,
    // 6: each membership carries its team's displayName (`team`), in the index by user, so a
    // user's teams (a GET's `groups`, a page's) are read from that index alone: no join to
    // the teams, no second read of the heap. Triggers keep it true whoever writes, a daemon
    // from before this migration included: a membership written without it takes the
    // team's name, and a team's rename renames its memberships. `team` is NULL only for a
    // membership of a team that does not exist.
    r#"
    CREATE FUNCTION scimd_team_name(attrs json) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN json_typeof(attrs->'displayName') = 'string'
            THEN attrs->>'displayName' ELSE '' END
    $$;
    ALTER TABLE scimd_members ADD COLUMN team text;
    UPDATE scimd_members m SET team = scimd_team_name(g.attrs)
        FROM scimd_groups g WHERE g.org = m.org AND g.id = m.gid;
    DROP INDEX scimd_members_by_user;
    CREATE INDEX scimd_members_by_user ON scimd_members (org, uid, gid) INCLUDE (team);
    CREATE FUNCTION scimd_member_team() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        SELECT scimd_team_name(g.attrs) INTO NEW.team
            FROM scimd_groups g WHERE g.org = NEW.org AND g.id = NEW.gid;
        RETURN NEW;
    END
    $$;
    CREATE TRIGGER scimd_member_team BEFORE INSERT ON scimd_members
        FOR EACH ROW WHEN (NEW.team IS NULL) EXECUTE FUNCTION scimd_member_team();
    CREATE FUNCTION scimd_team_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE scimd_members SET team = scimd_team_name(NEW.attrs)
            WHERE org = NEW.org AND gid = NEW.id;
        RETURN NULL;
    END
    $$;
    CREATE TRIGGER scimd_team_renamed AFTER UPDATE ON scimd_groups
        FOR EACH ROW WHEN (scimd_team_name(OLD.attrs) IS DISTINCT FROM scimd_team_name(NEW.attrs))
        EXECUTE FUNCTION scimd_team_renamed();
    "#,
];

/// The schema version this binary writes.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The advisory lock key migrations hold ("scimd" in ASCII).
pub(super) const MIGRATION_LOCK: i64 = 0x0073_6369_6d64;

/// The table of applied migrations.
pub(super) const SCHEMA_TABLE: &str = "CREATE TABLE IF NOT EXISTS scimd_schema (
    version bigint PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)";
