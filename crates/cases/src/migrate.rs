//! Schema migrations.
//!
//! The schema version is SQLite's `PRAGMA user_version` (0 for an empty file). [`MIGRATIONS`]
//! is the ordered list; migration *n* (1-based) takes the schema from version *n-1* to *n*.
//! Opening a store applies the missing ones, in order, inside one `IMMEDIATE` transaction that
//! re-reads the version after taking the write lock, so two processes opening the same new
//! file cannot both migrate it. Each applied migration is also recorded in
//! `schema_migrations` (version, name, time). A file whose version is newer than
//! [`LATEST`] is refused rather than guessed at.
//!
//! Rules for adding one: append, never edit or reorder a released migration; a migration
//! must succeed on any database at the previous version, data included.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::error::CaseError;

/// One schema step.
pub struct Migration {
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "cases and comments",
        sql: "
CREATE TABLE cases (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    display_name  TEXT NOT NULL,
    priority      TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'Opened',
    stage         TEXT NOT NULL DEFAULT 'Triage',
    assignee      TEXT,
    description   TEXT NOT NULL DEFAULT '',
    tags          TEXT NOT NULL DEFAULT '[]',
    create_time   TEXT NOT NULL,
    update_time   TEXT NOT NULL
);
CREATE TABLE comments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id      INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    author       TEXT NOT NULL,
    comment      TEXT NOT NULL,
    create_time  TEXT NOT NULL
);
CREATE INDEX comments_by_case ON comments(case_id, id);
",
    },
    Migration {
        name: "alerts and entities",
        sql: "
CREATE TABLE alerts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id      INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    identifier   TEXT NOT NULL,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL DEFAULT '',
    severity     TEXT NOT NULL DEFAULT '',
    techniques   TEXT NOT NULL DEFAULT '[]',
    source_host  TEXT,
    target_host  TEXT,
    account      TEXT,
    tool         TEXT,
    first_seen   TEXT,
    last_seen    TEXT,
    event_count  INTEGER NOT NULL DEFAULT 0,
    evidence     TEXT NOT NULL DEFAULT '[]',
    details      TEXT NOT NULL DEFAULT '{}',
    create_time  TEXT NOT NULL,
    UNIQUE (case_id, identifier)
);
CREATE TABLE entities (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id      INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    alert_id     INTEGER REFERENCES alerts(id) ON DELETE CASCADE,
    entity_type  TEXT NOT NULL,
    identifier   TEXT NOT NULL,
    norm         TEXT NOT NULL
);
CREATE UNIQUE INDEX entities_unique ON entities(case_id, IFNULL(alert_id, 0), entity_type, norm);
CREATE INDEX entities_by_norm ON entities(norm, entity_type);
",
    },
    Migration {
        name: "incidents and case closure",
        sql: "
ALTER TABLE cases ADD COLUMN incident INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN close_reason TEXT;
ALTER TABLE cases ADD COLUMN root_cause TEXT;
CREATE INDEX cases_by_status ON cases(status, id);
",
    },
];

/// The schema version this build writes.
pub const LATEST: u32 = MIGRATIONS.len() as u32;

/// The schema version of an open database.
pub fn version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.query_row("PRAGMA user_version", [], |r| r.get::<_, u32>(0))
}

/// Bring the database to `target` (at most [`LATEST`]); returns the version found before.
pub fn migrate_to(conn: &mut Connection, path: &Path, target: u32) -> Result<u32, CaseError> {
    let sql_err = |context: &str, source| CaseError::Sql {
        path: path.to_path_buf(),
        context: context.to_string(),
        source,
    };
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| sql_err("cannot start the migration", e))?;
    let found = version(&tx).map_err(|e| sql_err("cannot read the schema version", e))?;
    if found > LATEST {
        return Err(CaseError::SchemaTooNew {
            path: path.to_path_buf(),
            found,
            supported: LATEST,
        });
    }
    if found >= target {
        return Ok(found);
    }
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version     INTEGER PRIMARY KEY,
            name        TEXT NOT NULL,
            applied_at  TEXT NOT NULL
        )",
    )
    .map_err(|e| sql_err("cannot create schema_migrations", e))?;
    for (i, m) in MIGRATIONS
        .iter()
        .enumerate()
        .take(target as usize)
        .skip(found as usize)
    {
        let v = i as u32 + 1;
        let fail = |source| CaseError::Migration {
            path: path.to_path_buf(),
            version: v,
            name: m.name,
            source,
        };
        tx.execute_batch(m.sql).map_err(fail)?;
        tx.execute(
            "INSERT OR REPLACE INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![v, m.name, crate::store::now()],
        )
        .map_err(fail)?;
        tx.pragma_update(None, "user_version", v).map_err(fail)?;
    }
    tx.commit()
        .map_err(|e| sql_err("cannot commit the migration", e))?;
    Ok(found)
}
