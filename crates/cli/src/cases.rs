//! `lateral case ...` and the case side of `lateral hunt --case / --escalate`: argument
//! handling and output around the `lateral-cases` store.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use lateral_cases::store::parse_case_id;
use lateral_cases::{
    hunt as case_hunt, CaseDetails, CaseFilter, CaseUpdate, NewCase, Priority, Status, Store,
};

pub const CASE_EXAMPLES: &str = "Examples:
  lateral case create --name 'PsExec from SALES-PC' --priority high --tags psexec,lm
  lateral case list --status opened
  lateral case comment 1 'Isolated SALES-PC' --author ana
  lateral case show 1 --format json
  lateral case attach 1 --report reports/lateral_movement_hunt_all_20261205_2300.json
  lateral case priority 1 critical
  lateral case update 1 --stage Investigation --assignee bo --tags psexec,lm,sales-pc
  lateral case close 1 --reason 'Malicious: contained'

The database is --db PATH, else $LATERAL_DB, else cases.db in the user's data folder
($XDG_DATA_HOME/lateral or ~/.local/share/lateral).";

#[derive(Args, Debug)]
pub struct DbArg {
    /// Case database (SQLite); default: $LATERAL_DB, else ~/.local/share/lateral/cases.db.
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum OutFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct CaseArgs {
    #[command(flatten)]
    db: DbArg,
    #[command(subcommand)]
    action: CaseAction,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum StatusFilter {
    Opened,
    Closed,
    All,
}

#[derive(Subcommand, Debug)]
enum CaseAction {
    /// List cases, newest first.
    #[command(
        after_help = "Examples:\n  lateral case list\n  lateral case list --status all --search sales-pc --format json"
    )]
    List {
        /// Which cases: opened (default), closed or all.
        #[arg(long, value_enum, default_value_t = StatusFilter::Opened)]
        status: StatusFilter,
        /// Only cases whose name, description, tags, assignee or entities contain this text.
        #[arg(long)]
        search: Option<String>,
        /// At most N cases.
        #[arg(long)]
        limit: Option<usize>,
        #[arg(long, value_enum, default_value_t = OutFormat::Text)]
        format: OutFormat,
    },
    /// Show a case with its alerts, entities and comments.
    #[command(
        after_help = "Examples:\n  lateral case show 1\n  lateral case show 1 --format json"
    )]
    Show {
        id: String,
        #[arg(long, value_enum, default_value_t = OutFormat::Text)]
        format: OutFormat,
    },
    /// Open a new case.
    #[command(
        after_help = "Example:\n  lateral case create --name 'WMI from the jump host' --priority high --description 'hunt 2026-12' --tags wmi,lm"
    )]
    Create {
        /// The case's display name.
        #[arg(long)]
        name: String,
        /// info, low, medium (default), high, critical (or PriorityHigh, ...).
        #[arg(long)]
        priority: Option<String>,
        #[arg(long, default_value = "")]
        description: String,
        /// Comma-separated tags.
        #[arg(long, value_delimiter = ',')]
        tags: Vec<String>,
        #[arg(long)]
        assignee: Option<String>,
        /// Default: Triage.
        #[arg(long)]
        stage: Option<String>,
        #[arg(long, value_enum, default_value_t = OutFormat::Text)]
        format: OutFormat,
    },
    /// Post a comment on a case.
    #[command(
        after_help = "Example:\n  lateral case comment 1 'SALES-PC isolated at 10:40' --author ana"
    )]
    Comment {
        id: String,
        text: String,
        /// Default: lateral.
        #[arg(long)]
        author: Option<String>,
        #[arg(long, value_enum, default_value_t = OutFormat::Text)]
        format: OutFormat,
    },
    /// Change a case's priority.
    #[command(after_help = "Example:\n  lateral case priority 1 critical")]
    Priority {
        id: String,
        /// info, low, medium, high, critical (or PriorityInfo .. PriorityCritical).
        priority: String,
    },
    /// Change a case's status, priority, stage, assignee, description or tags (only those
    /// given); the change is noted as a comment.
    #[command(
        after_help = "Examples:\n  lateral case update 1 --stage Investigation --assignee bo\n  lateral case update 1 --status closed --description 'contained at 10:40'\n  lateral case update 1 --tags psexec,lm --priority high --format json\n  lateral case update 1 --assignee ''      (clears the assignee)"
    )]
    Update {
        id: String,
        /// opened or closed.
        #[arg(long)]
        status: Option<String>,
        /// info, low, medium, high, critical (or PriorityInfo .. PriorityCritical).
        #[arg(long)]
        priority: Option<String>,
        #[arg(long)]
        stage: Option<String>,
        /// Empty clears it.
        #[arg(long)]
        assignee: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// Comma-separated; replaces the tags.
        #[arg(long, value_delimiter = ',')]
        tags: Option<Vec<String>>,
        /// Who made the change (default: lateral).
        #[arg(long)]
        author: Option<String>,
        #[arg(long, value_enum, default_value_t = OutFormat::Text)]
        format: OutFormat,
    },
    /// Close a case.
    #[command(
        after_help = "Example:\n  lateral case close 1 --reason 'NotMalicious: admin maintenance'"
    )]
    Close {
        id: String,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        root_cause: Option<String>,
        #[arg(long)]
        author: Option<String>,
    },
    /// Attach the findings of a hunt's JSON report to a case as alerts.
    #[command(
        after_help = "Example:\n  lateral case attach 1 --report reports/lateral_movement_hunt_all_20261205_2300.json"
    )]
    Attach {
        id: String,
        /// The .json report `lateral hunt` wrote.
        #[arg(long)]
        report: PathBuf,
    },
}

/// Open the store at --db / $LATERAL_DB / the default path.
pub fn open_store(db: Option<&Path>) -> Result<Store> {
    let path = lateral_cases::resolve_db_path(db.map(Path::to_path_buf))?;
    Ok(Store::open(&path)?)
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn case(a: CaseArgs) -> Result<ExitCode> {
    let store = open_store(a.db.db.as_deref())?;
    match a.action {
        CaseAction::List {
            status,
            search,
            limit,
            format,
        } => {
            let filter = CaseFilter {
                status: match status {
                    StatusFilter::Opened => Some(Status::Opened),
                    StatusFilter::Closed => Some(Status::Closed),
                    StatusFilter::All => None,
                },
                text: search,
                limit,
                ..CaseFilter::default()
            };
            let cases = store.list_cases(&filter)?;
            if format == OutFormat::Json {
                print_json(&serde_json::json!({ "cases": cases }))?;
            } else if cases.is_empty() {
                println!("no cases ({})", store.path().display());
            } else {
                println!(
                    "{:>5}  {:<18} {:<7} {:<10} {:>6} {:>8}  {:<24}  NAME",
                    "ID", "PRIORITY", "STATUS", "STAGE", "ALERTS", "COMMENTS", "UPDATED"
                );
                for c in &cases {
                    println!(
                        "{:>5}  {:<18} {:<7} {:<10} {:>6} {:>8}  {:<24}  {}",
                        c.id,
                        c.priority.as_str(),
                        c.status.as_str(),
                        c.stage,
                        c.alert_count,
                        c.comment_count,
                        c.update_time,
                        c.display_name
                    );
                }
            }
        }
        CaseAction::Show { id, format } => {
            let details = store.details(parse_case_id(&id)?)?;
            if format == OutFormat::Json {
                print_json(&details)?;
            } else {
                print_details(&details);
            }
        }
        CaseAction::Create {
            name,
            priority,
            description,
            tags,
            assignee,
            stage,
            format,
        } => {
            let priority = priority
                .as_deref()
                .map(str::parse::<Priority>)
                .transpose()?;
            let c = store.create_case(&NewCase {
                display_name: name,
                priority,
                stage,
                assignee,
                description,
                tags,
                incident: false,
            })?;
            if format == OutFormat::Json {
                print_json(&c)?;
            } else {
                println!(
                    "created case #{}: {} ({}, {})",
                    c.id,
                    c.display_name,
                    c.priority,
                    store.path().display()
                );
            }
        }
        CaseAction::Comment {
            id,
            text,
            author,
            format,
        } => {
            let c = store.add_comment(parse_case_id(&id)?, author.as_deref(), &text)?;
            if format == OutFormat::Json {
                print_json(&c)?;
            } else {
                println!("comment #{} posted on case #{}", c.id, c.case_id);
            }
        }
        CaseAction::Priority { id, priority } => {
            let c = store.set_priority(parse_case_id(&id)?, priority.parse()?)?;
            println!("case #{} priority is now {}", c.id, c.priority);
        }
        CaseAction::Update {
            id,
            status,
            priority,
            stage,
            assignee,
            description,
            tags,
            author,
            format,
        } => {
            let update = CaseUpdate {
                status: status.as_deref().map(str::parse::<Status>).transpose()?,
                priority: priority
                    .as_deref()
                    .map(str::parse::<Priority>)
                    .transpose()?,
                stage,
                assignee,
                description,
                tags,
            };
            let c = store.update_case(parse_case_id(&id)?, &update, author.as_deref())?;
            if format == OutFormat::Json {
                print_json(&c)?;
            } else {
                println!(
                    "case #{} updated: {} | {} | stage {} | assignee {} | tags {}",
                    c.id,
                    c.status,
                    c.priority,
                    c.stage,
                    c.assignee.as_deref().unwrap_or("-"),
                    if c.tags.is_empty() {
                        "-".to_string()
                    } else {
                        c.tags.join(", ")
                    }
                );
            }
        }
        CaseAction::Close {
            id,
            reason,
            root_cause,
            author,
        } => {
            let c = store.close_case(
                parse_case_id(&id)?,
                reason.as_deref(),
                root_cause.as_deref(),
                author.as_deref(),
            )?;
            println!("case #{} closed", c.id);
        }
        CaseAction::Attach { id, report } => {
            let case_id = parse_case_id(&id)?;
            let text = std::fs::read_to_string(&report)
                .with_context(|| format!("cannot read {}", report.display()))?;
            let doc: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", report.display()))?;
            let alerts = case_hunt::alerts_from_report(&doc)
                .with_context(|| format!("{}", report.display()))?;
            let out = store.attach_alerts(case_id, &alerts)?;
            println!(
                "case #{case_id}: {} alert(s) attached ({} new, {} refreshed) from {}",
                out.alert_ids.len(),
                out.added,
                out.updated,
                report.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_details(d: &CaseDetails) {
    let c = &d.case;
    println!("Case #{}: {}", c.id, c.display_name);
    println!(
        "priority {} | status {} | stage {}{}",
        c.priority,
        c.status,
        c.stage,
        if c.incident { " | incident" } else { "" }
    );
    if let Some(a) = &c.assignee {
        println!("assignee: {a}");
    }
    println!("created {} | updated {}", c.create_time, c.update_time);
    if !c.tags.is_empty() {
        println!("tags: {}", c.tags.join(", "));
    }
    if let Some(r) = &c.close_reason {
        println!("close reason: {r}");
    }
    if let Some(r) = &c.root_cause {
        println!("root cause: {r}");
    }
    if !c.description.is_empty() {
        println!("\n{}", c.description);
    }
    println!("\nAlerts ({}):", d.alerts.len());
    for a in &d.alerts {
        println!(
            "  {:>3}  {} [{}] {} ({}{})",
            a.id,
            a.identifier,
            if a.severity.is_empty() {
                "?"
            } else {
                &a.severity
            },
            one_line(&a.name),
            a.kind,
            if a.techniques.is_empty() {
                String::new()
            } else {
                format!("; {}", a.techniques.join(", "))
            }
        );
    }
    println!("\nEntities ({}):", d.entities.len());
    for e in &d.entities {
        println!("  {:<13} {}", e.entity_type, e.identifier);
    }
    println!("\nComments ({}):", d.comments.len());
    for m in &d.comments {
        println!("  #{} {} at {}:", m.id, m.author, m.create_time);
        for line in m.comment.lines() {
            println!("    {line}");
        }
    }
}

/// What `lateral hunt` does with the case store.
pub struct HuntCaseOptions {
    pub db: Option<PathBuf>,
    pub case_id: Option<i64>,
    pub escalate: bool,
}

impl HuntCaseOptions {
    pub fn wanted(&self) -> bool {
        self.case_id.is_some() || self.escalate
    }
}

/// Check before the hunt runs that the case exists (a typo should not cost a scan).
pub fn check_hunt_case(opts: &HuntCaseOptions) -> Result<()> {
    if let Some(id) = opts.case_id {
        open_store(opts.db.as_deref())?.case(id)?;
    }
    Ok(())
}

/// After the hunt: post the summary and attach the findings to --case; with --escalate and
/// confirmed movement, open an incident case. Messages go to `out`.
pub fn after_hunt(
    opts: &HuntCaseOptions,
    report_json: &str,
    out: &mut dyn FnMut(String),
) -> Result<()> {
    if !opts.wanted() {
        return Ok(());
    }
    let report: serde_json::Value =
        serde_json::from_str(report_json).context("the hunt report is not JSON")?;
    let store = open_store(opts.db.as_deref())?;
    let alerts = case_hunt::alerts_from_report(&report)?;
    let entities = case_hunt::finding_entities(&alerts);
    if let Some(case_id) = opts.case_id {
        let related = store.related_cases(&entities, Some(case_id), None)?;
        let comment = case_hunt::summary_comment(&report, &related);
        let posted = store.add_comment(case_id, Some("lateral hunt"), &comment)?;
        let attached = store.attach_alerts(case_id, &alerts)?;
        out(format!(
            "case #{case_id}: hunt summary posted (comment #{}), {} finding(s) attached as alerts ({} new), {} related case(s)",
            posted.id,
            attached.alert_ids.len(),
            attached.added,
            related.len()
        ));
    }
    if opts.escalate {
        match case_hunt::escalation_case(&report, opts.case_id) {
            None => out(
                "escalation: no confirmed host-to-host movement, no incident case opened".into(),
            ),
            Some(new) => {
                let incident = store.create_case(&new)?;
                let related = store.related_cases(&entities, Some(incident.id), None)?;
                let comment = case_hunt::summary_comment(&report, &related);
                store.add_comment(incident.id, Some("lateral hunt"), &comment)?;
                let attached = store.attach_alerts(incident.id, &alerts)?;
                if let Some(from) = opts.case_id {
                    store.add_comment(
                        from,
                        Some("lateral hunt"),
                        &format!(
                            "Escalated: incident case #{} \"{}\" ({}) opened from this hunt.",
                            incident.id, incident.display_name, incident.priority
                        ),
                    )?;
                }
                out(format!(
                    "escalation: opened incident case #{} \"{}\" ({}), {} alert(s) attached",
                    incident.id,
                    incident.display_name,
                    incident.priority,
                    attached.alert_ids.len()
                ));
            }
        }
    }
    Ok(())
}
