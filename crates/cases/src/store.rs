//! The store: one SQLite connection per [`Store`], shared safely between threads.
//!
//! Concurrency rules (see `docs/cases.md`): the database is in WAL mode, so readers never block
//! the writer; every connection waits up to [`BUSY_TIMEOUT`] for a lock instead of failing;
//! and every write runs in an `IMMEDIATE` transaction, which takes the write lock before it
//! reads anything, so two writers (threads, connections or processes) are serialised instead
//! of one failing on a lock upgrade. A comment whose call returned `Ok` is committed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

use crate::error::CaseError;
use crate::migrate;
use crate::model::*;

/// How long a connection waits for another writer before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Default author of comments written without one.
pub const DEFAULT_AUTHOR: &str = "lateral";

/// The current time as the store writes it (RFC 3339, UTC, milliseconds).
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A case id from user text: `42`, `#42`, ` 42 `.
pub fn parse_case_id(text: &str) -> Result<i64, CaseError> {
    let t = text.trim().trim_start_matches('#');
    t.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| CaseError::Invalid(format!("{text:?} is not a case id (a positive number)")))
}

/// The case store.
pub struct Store {
    path: PathBuf,
    conn: Mutex<Connection>,
}

const CASE_COLUMNS: &str = "c.id, c.display_name, c.priority, c.status, c.stage, c.assignee, \
    c.description, c.tags, c.incident, c.close_reason, c.root_cause, \
    (SELECT count(*) FROM alerts a WHERE a.case_id = c.id), \
    (SELECT count(*) FROM comments m WHERE m.case_id = c.id), c.create_time, c.update_time";

const ALERT_COLUMNS: &str = "id, case_id, identifier, name, kind, severity, techniques, \
    source_host, target_host, account, tool, first_seen, last_seen, event_count, evidence, \
    details, create_time";

const PRIORITY_RANK: &str = "CASE c.priority WHEN 'PriorityInfo' THEN 1 WHEN 'PriorityLow' THEN 2 \
    WHEN 'PriorityMedium' THEN 3 WHEN 'PriorityHigh' THEN 4 WHEN 'PriorityCritical' THEN 5 ELSE 0 END";

fn conversion(col: usize, msg: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        col,
        rusqlite::types::Type::Text,
        Box::<dyn std::error::Error + Send + Sync>::from(msg),
    )
}

fn json_col<T: serde::de::DeserializeOwned>(row: &Row, col: usize) -> rusqlite::Result<T> {
    let text: String = row.get(col)?;
    serde_json::from_str(&text).map_err(|e| conversion(col, e.to_string()))
}

fn case_from_row(row: &Row) -> rusqlite::Result<Case> {
    let priority: String = row.get(2)?;
    let status: String = row.get(3)?;
    Ok(Case {
        id: row.get(0)?,
        display_name: row.get(1)?,
        priority: priority
            .parse()
            .map_err(|e: CaseError| conversion(2, e.to_string()))?,
        status: status
            .parse()
            .map_err(|e: CaseError| conversion(3, e.to_string()))?,
        stage: row.get(4)?,
        assignee: row.get(5)?,
        description: row.get(6)?,
        tags: json_col(row, 7)?,
        incident: row.get::<_, i64>(8)? != 0,
        close_reason: row.get(9)?,
        root_cause: row.get(10)?,
        alert_count: row.get(11)?,
        comment_count: row.get(12)?,
        create_time: row.get(13)?,
        update_time: row.get(14)?,
    })
}

fn comment_from_row(row: &Row) -> rusqlite::Result<Comment> {
    Ok(Comment {
        id: row.get(0)?,
        case_id: row.get(1)?,
        author: row.get(2)?,
        comment: row.get(3)?,
        create_time: row.get(4)?,
    })
}

fn alert_from_row(row: &Row) -> rusqlite::Result<Alert> {
    let severity: String = row.get(5)?;
    Ok(Alert {
        id: row.get(0)?,
        case_id: row.get(1)?,
        identifier: row.get(2)?,
        name: row.get(3)?,
        kind: row.get(4)?,
        priority: Priority::from_severity(&severity).unwrap_or(Priority::Unspecified),
        severity,
        techniques: json_col(row, 6)?,
        source_host: row.get(7)?,
        target_host: row.get(8)?,
        account: row.get(9)?,
        tool: row.get(10)?,
        first_seen: row.get(11)?,
        last_seen: row.get(12)?,
        event_count: row.get(13)?,
        evidence: json_col(row, 14)?,
        details: json_col(row, 15)?,
        create_time: row.get(16)?,
        entities: Vec::new(),
    })
}

/// The author as given (trimmed), or the default author when none or blank.
fn author_or_default(author: Option<&str>) -> &str {
    author
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .unwrap_or(DEFAULT_AUTHOR)
}

fn clean_tags(tags: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    tags.iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty() && seen.insert(t.to_lowercase()))
        .collect()
}

fn like_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for ch in text.trim().to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

/// Set WAL mode, retrying while another connection holds the lock the switch needs (the busy
/// handler does not cover every path of a journal-mode change).
fn set_wal(conn: &Connection) -> rusqlite::Result<()> {
    let mut tries = 0;
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
            Ok(_) => return Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && tries < 500 =>
            {
                tries += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(e),
        }
    }
}

impl Store {
    /// Open (creating the file and its folder when missing) and migrate to the latest schema.
    pub fn open(path: &Path) -> Result<Store, CaseError> {
        let mut conn = Self::connect(path)?;
        migrate::migrate_to(&mut conn, path, migrate::LATEST)?;
        Ok(Store {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    /// A configured connection (WAL, busy timeout, foreign keys), without migrating.
    pub fn connect(path: &Path) -> Result<Connection, CaseError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| CaseError::Folder {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let open = |source| CaseError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(open)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open)?;
        set_wal(&conn).map_err(open)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(open)?;
        Ok(conn)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic in another thread cannot leave SQLite half-written (its transaction rolls
        // back when dropped), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn err(&self, context: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> CaseError + '_ {
        let context = context.into();
        move |source| CaseError::Sql {
            path: self.path.clone(),
            context,
            source,
        }
    }

    fn no_case(&self, case_id: i64) -> CaseError {
        CaseError::NoCase {
            path: self.path.clone(),
            case_id,
        }
    }

    /// Run `f` in an IMMEDIATE transaction (the write lock is taken first).
    fn write<T>(
        &self,
        what: &str,
        f: impl FnOnce(&rusqlite::Transaction) -> Result<T, CaseError>,
    ) -> Result<T, CaseError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.err(format!("{what}: cannot take the write lock")))?;
        let out = f(&tx)?;
        tx.commit()
            .map_err(self.err(format!("{what}: cannot commit")))?;
        Ok(out)
    }

    /// The schema version of the file.
    pub fn schema_version(&self) -> Result<u32, CaseError> {
        migrate::version(&self.lock()).map_err(self.err("cannot read the schema version"))
    }

    fn case_in(&self, conn: &Connection, case_id: i64) -> Result<Case, CaseError> {
        conn.query_row(
            &format!("SELECT {CASE_COLUMNS} FROM cases c WHERE c.id = ?1"),
            [case_id],
            case_from_row,
        )
        .optional()
        .map_err(self.err(format!("cannot read case {case_id}")))?
        .ok_or_else(|| self.no_case(case_id))
    }

    /// Insert one comment in `tx`; returns its id.
    fn insert_comment(
        &self,
        tx: &rusqlite::Transaction,
        case_id: i64,
        author: &str,
        text: &str,
        time: &str,
    ) -> Result<i64, CaseError> {
        tx.execute(
            "INSERT INTO comments (case_id, author, comment, create_time) VALUES (?1, ?2, ?3, ?4)",
            params![case_id, author, text, time],
        )
        .map_err(self.err(format!("cannot add a comment to case {case_id}")))?;
        Ok(tx.last_insert_rowid())
    }

    fn touch(&self, tx: &rusqlite::Transaction, case_id: i64, time: &str) -> Result<(), CaseError> {
        let n = tx
            .execute(
                "UPDATE cases SET update_time = ?2 WHERE id = ?1",
                params![case_id, time],
            )
            .map_err(self.err(format!("cannot update case {case_id}")))?;
        if n == 0 {
            return Err(self.no_case(case_id));
        }
        Ok(())
    }

    /// Open a new case.
    pub fn create_case(&self, new: &NewCase) -> Result<Case, CaseError> {
        let name = new.display_name.trim();
        if name.is_empty() {
            return Err(CaseError::Invalid("a case needs a name".into()));
        }
        let tags = serde_json::to_string(&clean_tags(&new.tags))
            .map_err(|e| CaseError::Invalid(format!("tags: {e}")))?;
        let time = now();
        let id = self.write("create case", |tx| {
            tx.execute(
                "INSERT INTO cases (display_name, priority, status, stage, assignee, description, \
                 tags, incident, create_time, update_time) \
                 VALUES (?1, ?2, 'Opened', ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
                params![
                    name,
                    new.priority.unwrap_or(Priority::Medium).as_str(),
                    new.stage
                        .as_deref()
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .unwrap_or("Triage"),
                    new.assignee
                        .as_deref()
                        .map(str::trim)
                        .filter(|s| !s.is_empty()),
                    new.description,
                    tags,
                    new.incident,
                    time,
                ],
            )
            .map_err(self.err("cannot create the case"))?;
            Ok(tx.last_insert_rowid())
        })?;
        self.case(id)
    }

    /// One case.
    pub fn case(&self, case_id: i64) -> Result<Case, CaseError> {
        self.case_in(&self.lock(), case_id)
    }

    /// Cases matching the filter, newest first (by id).
    pub fn list_cases(&self, filter: &CaseFilter) -> Result<Vec<Case>, CaseError> {
        let mut sql = format!("SELECT {CASE_COLUMNS} FROM cases c WHERE 1 = 1");
        let mut args: Vec<SqlValue> = Vec::new();
        if let Some(s) = filter.status {
            args.push(SqlValue::Text(s.as_str().into()));
            sql.push_str(&format!(" AND c.status = ?{}", args.len()));
        }
        if let Some(p) = filter.min_priority {
            args.push(SqlValue::Integer(p as i64));
            sql.push_str(&format!(" AND ({PRIORITY_RANK}) >= ?{}", args.len()));
        }
        if let Some(text) = filter.text.as_deref().filter(|t| !t.trim().is_empty()) {
            args.push(SqlValue::Text(like_pattern(text)));
            let n = args.len();
            let mut cond = format!(
                "lower(c.display_name) LIKE ?{n} ESCAPE '\\' OR lower(c.description) LIKE ?{n} ESCAPE '\\' \
                 OR lower(c.tags) LIKE ?{n} ESCAPE '\\' OR lower(ifnull(c.assignee, '')) LIKE ?{n} ESCAPE '\\' \
                 OR EXISTS (SELECT 1 FROM entities e WHERE e.case_id = c.id AND lower(e.identifier) LIKE ?{n} ESCAPE '\\')"
            );
            if let Ok(id) = parse_case_id(text) {
                args.push(SqlValue::Integer(id));
                cond.push_str(&format!(" OR c.id = ?{}", args.len()));
            }
            sql.push_str(&format!(" AND ({cond})"));
        }
        sql.push_str(" ORDER BY c.id DESC");
        args.push(SqlValue::Integer(
            filter
                .limit
                .map(|l| i64::try_from(l).unwrap_or(i64::MAX))
                .unwrap_or(-1),
        ));
        sql.push_str(&format!(" LIMIT ?{}", args.len()));
        args.push(SqlValue::Integer(
            i64::try_from(filter.offset).unwrap_or(i64::MAX),
        ));
        sql.push_str(&format!(" OFFSET ?{}", args.len()));
        let conn = self.lock();
        let mut stmt = conn.prepare(&sql).map_err(self.err("cannot list cases"))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args), case_from_row)
            .map_err(self.err("cannot list cases"))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.err("cannot list cases"))
    }

    /// Post a comment. `author` defaults to [`DEFAULT_AUTHOR`].
    pub fn add_comment(
        &self,
        case_id: i64,
        author: Option<&str>,
        text: &str,
    ) -> Result<Comment, CaseError> {
        if text.trim().is_empty() {
            return Err(CaseError::Invalid(format!(
                "case {case_id}: an empty comment is not posted"
            )));
        }
        let author = author_or_default(author).to_string();
        let time = now();
        let id = self.write(&format!("comment on case {case_id}"), |tx| {
            self.touch(tx, case_id, &time)?;
            self.insert_comment(tx, case_id, &author, text, &time)
        })?;
        Ok(Comment {
            id,
            case_id,
            author,
            comment: text.to_string(),
            create_time: time,
        })
    }

    /// A case's comments, oldest first.
    pub fn comments(&self, case_id: i64) -> Result<Vec<Comment>, CaseError> {
        let conn = self.lock();
        self.case_in(&conn, case_id)?;
        let mut stmt = conn
            .prepare(
                "SELECT id, case_id, author, comment, create_time FROM comments \
                 WHERE case_id = ?1 ORDER BY id",
            )
            .map_err(self.err(format!("cannot read the comments of case {case_id}")))?;
        let rows = stmt
            .query_map([case_id], comment_from_row)
            .map_err(self.err(format!("cannot read the comments of case {case_id}")))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.err(format!("cannot read the comments of case {case_id}")))
    }

    /// Change a case's priority.
    pub fn set_priority(&self, case_id: i64, priority: Priority) -> Result<Case, CaseError> {
        let time = now();
        self.write(&format!("priority of case {case_id}"), |tx| {
            self.touch(tx, case_id, &time)?;
            tx.execute(
                "UPDATE cases SET priority = ?2 WHERE id = ?1",
                params![case_id, priority.as_str()],
            )
            .map_err(self.err(format!("cannot set the priority of case {case_id}")))?;
            Ok(())
        })?;
        self.case(case_id)
    }

    /// Change any of a case's status, priority, stage, assignee, description and tags in one
    /// transaction, and note what changed as a comment by `author`.
    pub fn update_case(
        &self,
        case_id: i64,
        update: &CaseUpdate,
        author: Option<&str>,
    ) -> Result<Case, CaseError> {
        if update.is_empty() {
            return Err(CaseError::Invalid(
                "nothing to update: give a status, priority, stage, assignee, description or tags"
                    .into(),
            ));
        }
        let stage = match update.stage.as_deref().map(str::trim) {
            Some("") => return Err(CaseError::Invalid("a case needs a stage".into())),
            s => s,
        };
        let tags = match &update.tags {
            Some(t) => Some(
                serde_json::to_string(&clean_tags(t))
                    .map_err(|e| CaseError::Invalid(format!("tags: {e}")))?,
            ),
            None => None,
        };
        let author = author_or_default(author);
        let mut changed = Vec::new();
        if let Some(s) = update.status {
            changed.push(format!("status {s}"));
        }
        if let Some(p) = update.priority {
            changed.push(format!("priority {}", p.as_str()));
        }
        if let Some(s) = stage {
            changed.push(format!("stage {s}"));
        }
        match update.assignee.as_deref().map(str::trim) {
            Some("") => changed.push("assignee cleared".into()),
            Some(a) => changed.push(format!("assignee {a}")),
            None => {}
        }
        if update.description.is_some() {
            changed.push("description".into());
        }
        if let Some(t) = &update.tags {
            changed.push(format!("tags [{}]", clean_tags(t).join(", ")));
        }
        let note = format!("Case updated: {}.", changed.join("; "));
        let time = now();
        self.write(&format!("update case {case_id}"), |tx| {
            self.touch(tx, case_id, &time)?;
            let fail = || self.err(format!("cannot update case {case_id}"));
            if let Some(s) = update.status {
                tx.execute(
                    "UPDATE cases SET status = ?2 WHERE id = ?1",
                    params![case_id, s.as_str()],
                )
                .map_err(fail())?;
            }
            if let Some(p) = update.priority {
                tx.execute(
                    "UPDATE cases SET priority = ?2 WHERE id = ?1",
                    params![case_id, p.as_str()],
                )
                .map_err(fail())?;
            }
            if let Some(s) = stage {
                tx.execute(
                    "UPDATE cases SET stage = ?2 WHERE id = ?1",
                    params![case_id, s],
                )
                .map_err(fail())?;
            }
            if let Some(a) = update.assignee.as_deref().map(str::trim) {
                let a = (!a.is_empty()).then_some(a);
                tx.execute(
                    "UPDATE cases SET assignee = ?2 WHERE id = ?1",
                    params![case_id, a],
                )
                .map_err(fail())?;
            }
            if let Some(d) = &update.description {
                tx.execute(
                    "UPDATE cases SET description = ?2 WHERE id = ?1",
                    params![case_id, d],
                )
                .map_err(fail())?;
            }
            if let Some(t) = &tags {
                tx.execute(
                    "UPDATE cases SET tags = ?2 WHERE id = ?1",
                    params![case_id, t],
                )
                .map_err(fail())?;
            }
            self.insert_comment(tx, case_id, author, &note, &time)?;
            Ok(())
        })?;
        self.case(case_id)
    }

    /// Close a case, recording the reason and root cause, and note it as a comment.
    pub fn close_case(
        &self,
        case_id: i64,
        reason: Option<&str>,
        root_cause: Option<&str>,
        author: Option<&str>,
    ) -> Result<Case, CaseError> {
        let time = now();
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        let root_cause = root_cause.map(str::trim).filter(|r| !r.is_empty());
        let author = author_or_default(author);
        let mut note = String::from("Case closed.");
        if let Some(r) = reason {
            note.push_str(&format!(" Reason: {r}."));
        }
        if let Some(r) = root_cause {
            note.push_str(&format!(" Root cause: {r}."));
        }
        self.write(&format!("close case {case_id}"), |tx| {
            self.touch(tx, case_id, &time)?;
            tx.execute(
                "UPDATE cases SET status = 'Closed', close_reason = ?2, root_cause = ?3 WHERE id = ?1",
                params![case_id, reason, root_cause],
            )
            .map_err(self.err(format!("cannot close case {case_id}")))?;
            self.insert_comment(tx, case_id, author, &note, &time)?;
            Ok(())
        })?;
        self.case(case_id)
    }

    /// Record entities of the case itself (not of an alert). Returns how many were new.
    pub fn add_entities(&self, case_id: i64, entities: &[NewEntity]) -> Result<usize, CaseError> {
        let time = now();
        self.write(&format!("entities of case {case_id}"), |tx| {
            self.touch(tx, case_id, &time)?;
            self.insert_entities(tx, case_id, None, entities)
        })
    }

    fn insert_entities(
        &self,
        tx: &rusqlite::Transaction,
        case_id: i64,
        alert_id: Option<i64>,
        entities: &[NewEntity],
    ) -> Result<usize, CaseError> {
        let mut added = 0;
        for e in entities {
            let identifier = e.identifier.trim();
            if identifier.is_empty() || e.entity_type.trim().is_empty() {
                continue;
            }
            added += tx
                .execute(
                    "INSERT OR IGNORE INTO entities (case_id, alert_id, entity_type, identifier, norm) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        case_id,
                        alert_id,
                        e.entity_type.trim(),
                        identifier,
                        normalise_entity(e.entity_type.trim(), identifier)
                    ],
                )
                .map_err(self.err(format!("cannot record an entity of case {case_id}")))?;
        }
        Ok(added)
    }

    /// Attach findings to a case as alerts. A finding the case already holds (same
    /// identifier) is refreshed rather than duplicated.
    pub fn attach_alerts(
        &self,
        case_id: i64,
        alerts: &[NewAlert],
    ) -> Result<AttachOutcome, CaseError> {
        let time = now();
        self.write(&format!("attach alerts to case {case_id}"), |tx| {
            self.touch(tx, case_id, &time)?;
            let mut out = AttachOutcome::default();
            for a in alerts {
                if a.identifier.trim().is_empty() {
                    return Err(CaseError::Invalid(format!(
                        "case {case_id}: an alert needs an identifier (alert {:?})",
                        a.name
                    )));
                }
                let to_json = |v: &serde_json::Value| {
                    serde_json::to_string(v).map_err(|e| CaseError::Invalid(e.to_string()))
                };
                let techniques = serde_json::to_string(&a.techniques)
                    .map_err(|e| CaseError::Invalid(e.to_string()))?;
                let evidence = to_json(&a.evidence)?;
                let details = to_json(&a.details)?;
                let existing: Option<i64> = tx
                    .query_row(
                        "SELECT id FROM alerts WHERE case_id = ?1 AND identifier = ?2",
                        params![case_id, a.identifier],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(self.err(format!("cannot read the alerts of case {case_id}")))?;
                let id = match existing {
                    Some(id) => {
                        tx.execute(
                            "UPDATE alerts SET name = ?2, kind = ?3, severity = ?4, techniques = ?5, \
                             source_host = ?6, target_host = ?7, account = ?8, tool = ?9, \
                             first_seen = ?10, last_seen = ?11, event_count = ?12, evidence = ?13, \
                             details = ?14 WHERE id = ?1",
                            params![
                                id, a.name, a.kind, a.severity, techniques, a.source_host,
                                a.target_host, a.account, a.tool, a.first_seen, a.last_seen,
                                a.event_count, evidence, details
                            ],
                        )
                        .map_err(self.err(format!("cannot update alert {id} of case {case_id}")))?;
                        tx.execute("DELETE FROM entities WHERE alert_id = ?1", [id])
                            .map_err(self.err(format!("cannot update alert {id} of case {case_id}")))?;
                        out.updated += 1;
                        id
                    }
                    None => {
                        tx.execute(
                            "INSERT INTO alerts (case_id, identifier, name, kind, severity, techniques, \
                             source_host, target_host, account, tool, first_seen, last_seen, \
                             event_count, evidence, details, create_time) \
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
                            params![
                                case_id, a.identifier, a.name, a.kind, a.severity, techniques,
                                a.source_host, a.target_host, a.account, a.tool, a.first_seen,
                                a.last_seen, a.event_count, evidence, details, time
                            ],
                        )
                        .map_err(self.err(format!("cannot add an alert to case {case_id}")))?;
                        out.added += 1;
                        tx.last_insert_rowid()
                    }
                };
                self.insert_entities(tx, case_id, Some(id), &a.entities)?;
                out.alert_ids.push(id);
            }
            Ok(out)
        })
    }

    fn alert_entities(
        &self,
        conn: &Connection,
        case_id: i64,
    ) -> Result<BTreeMap<i64, Vec<Entity>>, CaseError> {
        let mut stmt = conn
            .prepare(
                "SELECT alert_id, entity_type, identifier FROM entities \
                 WHERE case_id = ?1 AND alert_id IS NOT NULL ORDER BY alert_id, entity_type, norm",
            )
            .map_err(self.err(format!("cannot read the entities of case {case_id}")))?;
        let rows = stmt
            .query_map([case_id], |r| {
                Ok(Entity {
                    alert_id: r.get(0)?,
                    entity_type: r.get(1)?,
                    identifier: r.get(2)?,
                })
            })
            .map_err(self.err(format!("cannot read the entities of case {case_id}")))?;
        let mut out: BTreeMap<i64, Vec<Entity>> = BTreeMap::new();
        for e in rows {
            let e = e.map_err(self.err(format!("cannot read the entities of case {case_id}")))?;
            if let Some(a) = e.alert_id {
                out.entry(a).or_default().push(e);
            }
        }
        Ok(out)
    }

    fn alerts_in(&self, conn: &Connection, case_id: i64) -> Result<Vec<Alert>, CaseError> {
        let ctx = || format!("cannot read the alerts of case {case_id}");
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {ALERT_COLUMNS} FROM alerts WHERE case_id = ?1 ORDER BY id"
            ))
            .map_err(self.err(ctx()))?;
        let rows = stmt
            .query_map([case_id], alert_from_row)
            .map_err(self.err(ctx()))?;
        let mut alerts = rows
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.err(ctx()))?;
        let mut entities = self.alert_entities(conn, case_id)?;
        for a in &mut alerts {
            a.entities = entities.remove(&a.id).unwrap_or_default();
        }
        Ok(alerts)
    }

    /// A case's alerts, in the order they were attached.
    pub fn alerts(&self, case_id: i64) -> Result<Vec<Alert>, CaseError> {
        let conn = self.lock();
        self.case_in(&conn, case_id)?;
        self.alerts_in(&conn, case_id)
    }

    /// One alert, by its number or its finding identifier.
    pub fn alert(&self, case_id: i64, alert: &str) -> Result<Alert, CaseError> {
        let wanted = alert.trim();
        self.alerts(case_id)?
            .into_iter()
            .find(|a| a.identifier.eq_ignore_ascii_case(wanted) || a.id.to_string() == wanted)
            .ok_or_else(|| CaseError::NoAlert {
                path: self.path.clone(),
                case_id,
                alert_id: wanted.to_string(),
            })
    }

    fn entities_in(&self, conn: &Connection, case_id: i64) -> Result<Vec<Entity>, CaseError> {
        let ctx = || format!("cannot read the entities of case {case_id}");
        let mut stmt = conn
            .prepare(
                "SELECT entity_type, min(identifier), min(alert_id), max(alert_id IS NULL) FROM entities \
                 WHERE case_id = ?1 GROUP BY entity_type, norm ORDER BY entity_type, norm",
            )
            .map_err(self.err(ctx()))?;
        let rows = stmt
            .query_map([case_id], |r| {
                let case_level: i64 = r.get(3)?;
                Ok(Entity {
                    entity_type: r.get(0)?,
                    identifier: r.get(1)?,
                    alert_id: if case_level != 0 { None } else { r.get(2)? },
                })
            })
            .map_err(self.err(ctx()))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.err(ctx()))
    }

    /// Every entity of a case and its alerts, one per type and identifier.
    pub fn entities(&self, case_id: i64) -> Result<Vec<Entity>, CaseError> {
        let conn = self.lock();
        self.case_in(&conn, case_id)?;
        self.entities_in(&conn, case_id)
    }

    /// A case with its alerts, comments and entities, read in one snapshot.
    pub fn details(&self, case_id: i64) -> Result<CaseDetails, CaseError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction()
            .map_err(self.err(format!("cannot read case {case_id}")))?;
        let case = self.case_in(&tx, case_id)?;
        let alerts = self.alerts_in(&tx, case_id)?;
        let entities = self.entities_in(&tx, case_id)?;
        let mut stmt = tx
            .prepare(
                "SELECT id, case_id, author, comment, create_time FROM comments \
                 WHERE case_id = ?1 ORDER BY id",
            )
            .map_err(self.err(format!("cannot read the comments of case {case_id}")))?;
        let comments = stmt
            .query_map([case_id], comment_from_row)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(self.err(format!("cannot read the comments of case {case_id}")))?;
        Ok(CaseDetails {
            case,
            alerts,
            comments,
            entities,
        })
    }

    /// Cases (other than `exclude`) that name any of these entities, most shared first, then
    /// newest first. Host names compare by their first label, everything else case-insensitively;
    /// a host and an address compare by value, whatever type each case recorded.
    pub fn related_cases(
        &self,
        entities: &[NewEntity],
        exclude: Option<i64>,
        status: Option<Status>,
    ) -> Result<Vec<RelatedCase>, CaseError> {
        let norms: BTreeSet<String> = entities
            .iter()
            .filter(|e| !e.identifier.trim().is_empty())
            .map(|e| normalise_entity(e.entity_type.trim(), &e.identifier))
            .collect();
        let conn = self.lock();
        let mut shared: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
        {
            let mut stmt = conn
                .prepare("SELECT case_id, identifier FROM entities WHERE norm = ?1")
                .map_err(self.err("cannot search entities"))?;
            for norm in &norms {
                let rows = stmt
                    .query_map([norm], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                    })
                    .map_err(self.err("cannot search entities"))?;
                for row in rows {
                    let (case_id, identifier) = row.map_err(self.err("cannot search entities"))?;
                    if Some(case_id) != exclude {
                        shared.entry(case_id).or_default().insert(identifier);
                    }
                }
            }
        }
        let mut out = Vec::new();
        for (case_id, names) in shared {
            let case = self.case_in(&conn, case_id)?;
            if status.is_some_and(|s| s != case.status) {
                continue;
            }
            out.push(RelatedCase {
                case,
                shared: names.into_iter().collect(),
            });
        }
        out.sort_by(|a, b| {
            b.shared
                .len()
                .cmp(&a.shared.len())
                .then(b.case.id.cmp(&a.case.id))
        });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("sub/cases.db")).expect("open store");
        (dir, store)
    }

    fn new_case(name: &str) -> NewCase {
        NewCase {
            display_name: name.into(),
            ..NewCase::default()
        }
    }

    #[test]
    fn parse_case_id_accepts_hash_and_spaces_only_for_positive_numbers() {
        assert_eq!(parse_case_id(" #42 ").ok(), Some(42));
        assert!(parse_case_id("0").is_err());
        assert!(parse_case_id("abc").is_err());
        assert!(parse_case_id("-3").is_err());
    }

    #[test]
    fn update_changes_only_what_is_given_and_notes_it() {
        let (_d, s) = store();
        let c = s
            .create_case(&NewCase {
                display_name: "WMI".into(),
                assignee: Some("ana".into()),
                description: "first".into(),
                tags: vec!["wmi".into()],
                ..NewCase::default()
            })
            .expect("create");
        assert!(s.update_case(c.id, &CaseUpdate::default(), None).is_err());
        let u = s
            .update_case(
                c.id,
                &CaseUpdate {
                    stage: Some("Investigation".into()),
                    tags: Some(vec!["lm".into(), "LM".into(), "psexec".into()]),
                    status: Some(Status::Closed),
                    ..CaseUpdate::default()
                },
                Some("bo"),
            )
            .expect("update");
        assert_eq!(u.stage, "Investigation");
        assert_eq!(u.status, Status::Closed);
        assert_eq!(u.tags, vec!["lm".to_string(), "psexec".to_string()]);
        assert_eq!(u.assignee.as_deref(), Some("ana"), "untouched");
        assert_eq!(u.description, "first", "untouched");
        assert_eq!(u.priority, c.priority, "untouched");
        let u = s
            .update_case(
                c.id,
                &CaseUpdate {
                    assignee: Some(" ".into()),
                    description: Some("second".into()),
                    priority: Some(Priority::High),
                    status: Some(Status::Opened),
                    ..CaseUpdate::default()
                },
                None,
            )
            .expect("update");
        assert_eq!(u.assignee, None);
        assert_eq!(u.description, "second");
        assert_eq!(u.priority, Priority::High);
        assert_eq!(u.status, Status::Opened);
        let notes: Vec<String> = s
            .comments(c.id)
            .expect("comments")
            .into_iter()
            .map(|c| format!("{}: {}", c.author, c.comment))
            .collect();
        assert_eq!(
            notes,
            [
                "bo: Case updated: status Closed; stage Investigation; tags [lm, psexec].",
                "lateral: Case updated: status Opened; priority PriorityHigh; assignee cleared; description."
            ]
        );
        assert!(matches!(
            s.update_case(
                999,
                &CaseUpdate {
                    stage: Some("x".into()),
                    ..CaseUpdate::default()
                },
                None
            ),
            Err(CaseError::NoCase { .. })
        ));
        assert!(s
            .update_case(
                c.id,
                &CaseUpdate {
                    stage: Some(" ".into()),
                    ..CaseUpdate::default()
                },
                None
            )
            .is_err());
    }

    #[test]
    fn create_read_and_defaults() {
        let (_d, s) = store();
        let c = s
            .create_case(&NewCase {
                display_name: "  PsExec on SALES-PC ".into(),
                tags: vec!["lm".into(), " LM ".into(), "".into(), "psexec".into()],
                ..NewCase::default()
            })
            .expect("create");
        assert_eq!(c.display_name, "PsExec on SALES-PC");
        assert_eq!(c.priority, Priority::Medium);
        assert_eq!(c.status, Status::Opened);
        assert_eq!(c.stage, "Triage");
        assert_eq!(c.tags, vec!["lm".to_string(), "psexec".to_string()]);
        assert_eq!((c.alert_count, c.comment_count), (0, 0));
        assert_eq!(s.case(c.id).expect("read"), c);
        assert!(matches!(
            s.case(999),
            Err(CaseError::NoCase { case_id: 999, .. })
        ));
        assert!(s.create_case(&new_case("  ")).is_err());
        let v = serde_json::to_value(&c).expect("json");
        assert_eq!(v["displayName"], "PsExec on SALES-PC");
        assert_eq!(v["priority"], "PriorityMedium");
        assert_eq!(v["status"], "Opened");
    }

    #[test]
    fn comments_priority_close_and_listing_order() {
        let (_d, s) = store();
        let a = s.create_case(&new_case("first")).expect("a");
        let b = s
            .create_case(&NewCase {
                display_name: "second".into(),
                priority: Some(Priority::High),
                description: "WMI from the jump host".into(),
                ..NewCase::default()
            })
            .expect("b");
        s.add_comment(a.id, Some("ana"), "one").expect("c1");
        s.add_comment(a.id, None, "two").expect("c2");
        assert!(s.add_comment(a.id, None, "  ").is_err());
        assert!(matches!(
            s.add_comment(77, None, "x"),
            Err(CaseError::NoCase { case_id: 77, .. })
        ));
        let comments = s.comments(a.id).expect("comments");
        let texts: Vec<_> = comments.iter().map(|c| c.comment.as_str()).collect();
        assert_eq!(texts, ["one", "two"]);
        assert_eq!(comments[0].author, "ana");
        assert_eq!(comments[1].author, DEFAULT_AUTHOR);

        let list = s.list_cases(&CaseFilter::default()).expect("list");
        assert_eq!(list.iter().map(|c| c.id).collect::<Vec<_>>(), [b.id, a.id]);
        assert_eq!(list[1].comment_count, 2);

        let p = s.set_priority(a.id, Priority::Critical).expect("priority");
        assert_eq!(p.priority, Priority::Critical);
        let high = s
            .list_cases(&CaseFilter {
                min_priority: Some(Priority::High),
                ..CaseFilter::default()
            })
            .expect("list");
        assert_eq!(high.len(), 2);

        let closed = s
            .close_case(b.id, Some("NotMalicious"), Some("admin task"), None)
            .expect("close");
        assert_eq!(closed.status, Status::Closed);
        assert_eq!(closed.close_reason.as_deref(), Some("NotMalicious"));
        let last = s.comments(b.id).expect("comments");
        assert!(last[0].comment.contains("NotMalicious"), "{last:?}");
        let open = s
            .list_cases(&CaseFilter {
                status: Some(Status::Opened),
                ..CaseFilter::default()
            })
            .expect("open");
        assert_eq!(open.iter().map(|c| c.id).collect::<Vec<_>>(), [a.id]);
        let by_text = s
            .list_cases(&CaseFilter {
                text: Some("jump HOST".into()),
                ..CaseFilter::default()
            })
            .expect("text");
        assert_eq!(by_text.iter().map(|c| c.id).collect::<Vec<_>>(), [b.id]);
        // LIKE wildcards in the text are literal.
        let none = s
            .list_cases(&CaseFilter {
                text: Some("%".into()),
                ..CaseFilter::default()
            })
            .expect("text");
        assert!(none.is_empty());
        let paged = s
            .list_cases(&CaseFilter {
                limit: Some(1),
                offset: 1,
                ..CaseFilter::default()
            })
            .expect("page");
        assert_eq!(paged.iter().map(|c| c.id).collect::<Vec<_>>(), [a.id]);
    }

    fn alert(id: &str, src: &str, dst: &str) -> NewAlert {
        NewAlert {
            identifier: id.into(),
            name: format!("PsExec {src} -> {dst}"),
            kind: "lateral-movement".into(),
            severity: "high".into(),
            techniques: vec!["T1021.002".into()],
            source_host: Some(src.into()),
            target_host: Some(dst.into()),
            account: Some("CORP\\ssales".into()),
            event_count: 3,
            entities: vec![
                NewEntity::new(EntityType::HOSTNAME, src),
                NewEntity::new(EntityType::HOSTNAME, dst),
                NewEntity::new(EntityType::USER, "CORP\\ssales"),
            ],
            evidence: serde_json::json!([{"file": "a.evtx", "record": 7}]),
            details: serde_json::json!({"id": id}),
            ..NewAlert::default()
        }
    }

    #[test]
    fn alerts_attach_idempotently_with_entities_and_related_cases() {
        let (_d, s) = store();
        let a = s.create_case(&new_case("hunt")).expect("a");
        let b = s.create_case(&new_case("older")).expect("b");
        let c = s.create_case(&new_case("unrelated")).expect("c");
        s.add_entities(
            b.id,
            &[NewEntity::new(EntityType::HOSTNAME, "sales-pc.corp.local")],
        )
        .expect("entities");
        s.add_entities(c.id, &[NewEntity::new(EntityType::HOSTNAME, "hr-pc")])
            .expect("entities");
        let out = s
            .attach_alerts(
                a.id,
                &[
                    alert("F-1", "KALI", "SALES-PC"),
                    alert("F-2", "SALES-PC", "MKT-PC"),
                ],
            )
            .expect("attach");
        assert_eq!((out.added, out.updated), (2, 0));
        let again = s
            .attach_alerts(a.id, &[alert("F-2", "SALES-PC", "MKT-PC")])
            .expect("attach again");
        assert_eq!((again.added, again.updated), (0, 1));
        assert_eq!(again.alert_ids, vec![out.alert_ids[1]]);
        let alerts = s.alerts(a.id).expect("alerts");
        assert_eq!(alerts.len(), 2);
        assert_eq!(alerts[0].identifier, "F-1");
        assert_eq!(alerts[0].priority, Priority::High);
        assert_eq!(alerts[0].entities.len(), 3);
        assert_eq!(alerts[1].evidence[0]["record"], 7);
        assert_eq!(
            s.alert(a.id, "f-2").expect("by identifier").id,
            alerts[1].id
        );
        assert!(matches!(
            s.alert(a.id, "F-9"),
            Err(CaseError::NoAlert { .. })
        ));
        let ents = s.entities(a.id).expect("entities");
        // KALI, MKT-PC, SALES-PC once each, plus the account.
        assert_eq!(ents.len(), 4, "{ents:?}");
        let details = s.details(a.id).expect("details");
        assert_eq!(details.case.alert_count, 2);

        let related = s
            .related_cases(
                &[NewEntity::new(EntityType::HOSTNAME, "SALES-PC")],
                Some(a.id),
                None,
            )
            .expect("related");
        assert_eq!(related.len(), 1);
        assert_eq!(related[0].case.id, b.id);
        assert_eq!(related[0].shared, vec!["sales-pc.corp.local".to_string()]);
        s.close_case(b.id, None, None, None).expect("close");
        let open_only = s
            .related_cases(
                &[NewEntity::new(EntityType::HOSTNAME, "SALES-PC")],
                Some(a.id),
                Some(Status::Opened),
            )
            .expect("related");
        assert!(open_only.is_empty());
        // The hunt case itself is found when not excluded.
        let all = s
            .related_cases(
                &[NewEntity::new(EntityType::USER, "corp\\SSALES")],
                None,
                None,
            )
            .expect("related");
        assert_eq!(all.iter().map(|r| r.case.id).collect::<Vec<_>>(), [a.id]);
        // Searching cases by an entity.
        let found = s
            .list_cases(&CaseFilter {
                text: Some("mkt-pc".into()),
                ..CaseFilter::default()
            })
            .expect("search");
        assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), [a.id]);
        assert!(s.attach_alerts(999, &[alert("F-1", "A", "B")]).is_err());
    }
}
