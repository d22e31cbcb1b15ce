//! Schema migrations: from an empty file, from every older version with data in it, and the
//! refusal of a newer schema.

use lateral_cases::migrate::{self, LATEST, MIGRATIONS};
use lateral_cases::{CaseError, CaseFilter, NewAlert, NewCase, Priority, Status, Store};
use rusqlite::Connection;

fn tables(conn: &Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .expect("prepare");
    let rows = stmt.query_map([], |r| r.get(0)).expect("query");
    rows.collect::<Result<Vec<String>, _>>().expect("rows")
}

#[test]
fn empty_file_gets_the_latest_schema_and_a_migration_record() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("new/cases.db");
    let store = Store::open(&path).expect("open");
    assert_eq!(store.schema_version().expect("version"), LATEST);
    assert_eq!(LATEST as usize, MIGRATIONS.len());
    drop(store);
    let conn = Connection::open(&path).expect("raw");
    assert_eq!(
        tables(&conn),
        [
            "alerts",
            "cases",
            "comments",
            "entities",
            "schema_migrations"
        ]
    );
    let mut stmt = conn
        .prepare("SELECT version, name FROM schema_migrations ORDER BY version")
        .expect("prepare");
    let applied: Vec<(u32, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    let expected: Vec<(u32, String)> = MIGRATIONS
        .iter()
        .enumerate()
        .map(|(i, m)| (i as u32 + 1, m.name.to_string()))
        .collect();
    assert_eq!(applied, expected);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("journal mode");
    assert_eq!(mode, "wal");
    // Opening again is a no-op.
    let store = Store::open(&path).expect("reopen");
    assert_eq!(store.schema_version().expect("version"), LATEST);
}

/// Rows a database at `version` can hold, written with plain SQL as that version would have.
fn seed(conn: &Connection, version: u32) {
    if version >= 1 {
        conn.execute_batch(
            "INSERT INTO cases (display_name, priority, status, stage, description, tags, create_time, update_time)
               VALUES ('old case', 'PriorityHigh', 'Opened', 'Triage', 'from an old build', '[\"legacy\"]',
                       '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z');
             INSERT INTO comments (case_id, author, comment, create_time)
               VALUES (1, 'ana', 'kept across migrations', '2026-01-01T00:00:01.000Z');",
        )
        .expect("seed v1");
    }
    if version >= 2 {
        conn.execute_batch(
            "INSERT INTO alerts (case_id, identifier, name, kind, severity, create_time)
               VALUES (1, 'F-old', 'old finding', 'lateral-movement', 'high', '2026-01-01T00:00:02.000Z');
             INSERT INTO entities (case_id, alert_id, entity_type, identifier, norm)
               VALUES (1, 1, 'HOSTNAME', 'SALES-PC', 'sales-pc');",
        )
        .expect("seed v2");
    }
}

#[test]
fn every_older_version_migrates_with_its_data() {
    for start in 0..LATEST {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("cases.db");
        {
            let mut conn = Store::connect(&path).expect("connect");
            let before = migrate::migrate_to(&mut conn, &path, start).expect("old schema");
            assert_eq!(before, 0);
            assert_eq!(migrate::version(&conn).expect("version"), start);
            seed(&conn, start);
        }
        let store = Store::open(&path).unwrap_or_else(|e| panic!("from v{start}: {e}"));
        assert_eq!(
            store.schema_version().expect("version"),
            LATEST,
            "from v{start}"
        );
        if start >= 1 {
            let c = store.case(1).expect("old case survives");
            assert_eq!(c.display_name, "old case");
            assert_eq!(c.priority, Priority::High);
            assert_eq!(c.tags, ["legacy"]);
            assert!(!c.incident, "new column gets its default");
            let comments = store.comments(1).expect("comments");
            assert_eq!(comments.len(), 1);
            assert_eq!(comments[0].comment, "kept across migrations");
        }
        if start >= 2 {
            let alerts = store.alerts(1).expect("alerts");
            assert_eq!(alerts.len(), 1);
            assert_eq!(alerts[0].entities[0].identifier, "SALES-PC");
        }
        // The migrated store works fully.
        let c = store
            .create_case(&NewCase {
                display_name: format!("after v{start}"),
                incident: true,
                ..NewCase::default()
            })
            .expect("create after migrating");
        assert!(c.incident);
        store
            .attach_alerts(
                c.id,
                &[NewAlert {
                    identifier: "F-new".into(),
                    name: "new".into(),
                    ..NewAlert::default()
                }],
            )
            .expect("attach after migrating");
        let closed = store
            .close_case(c.id, Some("done"), None, None)
            .expect("close after migrating");
        assert_eq!(closed.status, Status::Closed);
        let all = store.list_cases(&CaseFilter::default()).expect("list");
        assert_eq!(all.len(), if start >= 1 { 2 } else { 1 });
    }
}

#[test]
fn a_newer_schema_is_refused_with_the_path() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("future.db");
    {
        let conn = Connection::open(&path).expect("raw");
        conn.pragma_update(None, "user_version", LATEST + 1)
            .expect("bump");
    }
    match Store::open(&path) {
        Err(e @ CaseError::SchemaTooNew { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("future.db"), "{msg}");
            assert!(msg.contains(&format!("{}", LATEST + 1)), "{msg}");
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a newer schema was accepted"),
    }
}

#[test]
fn errors_name_the_file_and_the_case() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("named.db");
    let store = Store::open(&path).expect("open");
    let err = store.add_comment(41, None, "x").expect_err("no such case");
    assert_eq!(err.case_id(), Some(41));
    let msg = err.to_string();
    assert!(msg.contains("named.db") && msg.contains("41"), "{msg}");
    // A folder where the file should be.
    let bad = dir.path().join("adir");
    std::fs::create_dir_all(&bad).expect("mkdir");
    let err = Store::open(&bad).err().expect("a folder is no database");
    assert!(err.to_string().contains("adir"), "{err}");
}
