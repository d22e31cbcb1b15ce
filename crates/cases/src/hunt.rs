//! From a hunt report (the JSON document `lateral hunt` writes) to what a case holds: the
//! findings as alerts with their entities, the hunt-summary comment the runbook asks for
//! (scope, every query with its hit count including the negative ones, findings, enrichment,
//! related cases, follow-ups), and the incident case `--escalate` opens.
//!
//! The report is read as JSON, not as the hunt crate's types, so this crate stays free of the
//! query engine; every field is read defensively (a missing or odd field is skipped, never a
//! panic), except that a document without a `findings` list is refused as not a hunt report.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::Value;

use crate::error::CaseError;
use crate::model::{EntityType, NewAlert, NewCase, NewEntity, Priority, RelatedCase};

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Host values that name nobody.
fn is_placeholder(v: &str) -> bool {
    matches!(v, "?" | "-" | "unknown" | "(unknown)" | "n/a")
}

fn host_entities(endpoint: Option<&Value>, out: &mut Vec<NewEntity>) -> Option<String> {
    let ep = endpoint?;
    let host = text(ep, "host").filter(|h| !is_placeholder(h));
    if let Some(h) = host {
        let kind = if h.parse::<std::net::IpAddr>().is_ok() {
            EntityType::ADDRESS
        } else {
            EntityType::HOSTNAME
        };
        out.push(NewEntity::new(kind, h));
    }
    for ip in strings(ep, "ips") {
        out.push(NewEntity::new(EntityType::ADDRESS, &ip));
    }
    host.map(String::from)
}

/// The findings of a hunt report as alerts (in report order).
pub fn alerts_from_report(report: &Value) -> Result<Vec<NewAlert>, CaseError> {
    let findings = report
        .get("findings")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            CaseError::Report(
                "not a lateral hunt report: no `findings` list (use the .json report `lateral hunt` writes)"
                    .into(),
            )
        })?;
    let mut out = Vec::with_capacity(findings.len());
    for (i, f) in findings.iter().enumerate() {
        let identifier = text(f, "id")
            .ok_or_else(|| CaseError::Report(format!("finding {} has no `id`", i + 1)))?;
        let mut entities = Vec::new();
        let source_host = host_entities(f.get("source"), &mut entities);
        let target_host = host_entities(f.get("target"), &mut entities);
        let account = text(f, "account").map(String::from);
        if let Some(a) = &account {
            entities.push(NewEntity::new(EntityType::USER, a));
        }
        entities.sort();
        entities.dedup();
        out.push(NewAlert {
            identifier: identifier.to_string(),
            name: text(f, "title").unwrap_or(identifier).to_string(),
            kind: text(f, "kind").unwrap_or("").to_string(),
            severity: text(f, "severity").unwrap_or("").to_string(),
            techniques: strings(f, "techniques"),
            source_host,
            target_host,
            account,
            tool: text(f, "tool").map(String::from),
            first_seen: text(f, "first_seen").map(String::from),
            last_seen: text(f, "last_seen").map(String::from),
            event_count: f.get("event_count").and_then(Value::as_i64).unwrap_or(0),
            entities,
            evidence: f
                .get("evidence")
                .cloned()
                .unwrap_or(Value::Array(Vec::new())),
            details: f.clone(),
        });
    }
    Ok(out)
}

/// Every host, address and account the findings name (sorted, once each): what related
/// cases are searched by.
pub fn finding_entities(alerts: &[NewAlert]) -> Vec<NewEntity> {
    let set: BTreeSet<NewEntity> = alerts.iter().flat_map(|a| a.entities.clone()).collect();
    set.into_iter().collect()
}

/// The most urgent priority the findings call for (`None` without findings of known severity).
pub fn priority_of(alerts: &[NewAlert]) -> Option<Priority> {
    alerts
        .iter()
        .filter_map(|a| Priority::from_severity(&a.severity))
        .max()
}

/// Whether the report concludes host-to-host movement was confirmed.
pub fn movement_confirmed(report: &Value) -> bool {
    report
        .get("conclusion")
        .and_then(|c| c.get("movement_found"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The incident case `lateral hunt --escalate` opens: `None` unless host-to-host movement was
/// confirmed. Its priority follows the most severe finding.
pub fn escalation_case(report: &Value, from_case: Option<i64>) -> Option<NewCase> {
    if !movement_confirmed(report) {
        return None;
    }
    let alerts = alerts_from_report(report).ok()?;
    let chains: Vec<String> = array(report.get("graph").unwrap_or(&Value::Null), "chains")
        .iter()
        .filter_map(Value::as_array)
        .map(|c| {
            c.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" → ")
        })
        .filter(|c| !c.is_empty())
        .collect();
    let movements: Vec<&Value> = alerts
        .iter()
        .filter(|a| a.kind == "lateral-movement")
        .map(|a| &a.details)
        .collect();
    let path = chains.first().cloned().or_else(|| {
        movements.first().map(|f| {
            let host = |k: &str| {
                f.get(k)
                    .and_then(|e| text(e, "host"))
                    .unwrap_or("?")
                    .to_string()
            };
            format!("{} → {}", host("source"), host("target"))
        })
    })?;
    let mut tags: Vec<String> = vec!["lateral-movement".into(), "incident".into()];
    let techniques: BTreeSet<String> = alerts
        .iter()
        .filter(|a| a.kind == "lateral-movement")
        .flat_map(|a| a.techniques.clone())
        .collect();
    tags.extend(techniques);
    let conclusion = report
        .get("conclusion")
        .and_then(|c| text(c, "summary"))
        .unwrap_or("Host-to-host lateral movement was confirmed.");
    let mut description = format!(
        "{conclusion}\n\nOpened by `lateral hunt --escalate` from \"{}\" ({}).",
        text(report, "title").unwrap_or("lateral-movement hunt"),
        text(report, "generated").unwrap_or("unknown time")
    );
    if let Some(c) = from_case {
        let _ = write!(description, " Hunt case: #{c}.");
    }
    Some(NewCase {
        display_name: format!("Lateral movement: {path}"),
        priority: Some(priority_of(&alerts).unwrap_or(Priority::High)),
        stage: Some("Incident".into()),
        assignee: None,
        description,
        tags,
        incident: true,
    })
}

fn endpoint_label(f: &Value, key: &str) -> String {
    match f.get(key) {
        Some(ep) => {
            let host = text(ep, "host").unwrap_or("?");
            let ips = strings(ep, "ips");
            if ips.is_empty() || ips.iter().any(|i| i == host) {
                host.to_string()
            } else {
                format!("{host} ({})", ips.join(", "))
            }
        }
        None => "?".into(),
    }
}

/// The hunt-summary comment: scope, every query with its hit count (the negative results
/// listed explicitly), correlations, findings, enrichment, related cases, conclusion and
/// follow-ups. `related` are the other cases that share hosts or accounts with the findings.
pub fn summary_comment(report: &Value, related: &[RelatedCase]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Lateral Movement Hunt (PsExec/WMI) Summary");
    if let Some(g) = text(report, "generated") {
        let _ = writeln!(s, "Generated: {g} by lateral");
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "Scope:");
    let scope = text(report, "scope").unwrap_or("all hosts in the evidence");
    let _ = writeln!(s, "- Scope: {scope}");
    if let Some(w) = report.get("window").and_then(|w| text(w, "description")) {
        let _ = writeln!(s, "- Window: {w}");
    }
    let hosts = strings(report, "evidence_hosts");
    if !hosts.is_empty() {
        let _ = writeln!(s, "- Hosts with evidence: {}", hosts.join(", "));
    }
    if let Some(h) = text(report, "hypothesis") {
        let _ = writeln!(s, "- Hypothesis: {h}");
    }

    let queries = array(report, "queries");
    let hits_of = |q: &Value| q.get("hits").and_then(Value::as_u64).unwrap_or(0);
    let (with, without): (Vec<&Value>, Vec<&Value>) = queries.iter().partition(|q| hits_of(q) > 0);
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Queries ({} run, {} with hits, {} with no hits):",
        queries.len(),
        with.len(),
        without.len()
    );
    let line = |s: &mut String, q: &Value| {
        let id = text(q, "id").unwrap_or("?");
        let name = text(q, "name").unwrap_or(id);
        let hits = hits_of(q);
        let mut l = format!(
            "- {name} [{id}]: {hits} hit{}",
            if hits == 1 { "" } else { "s" }
        );
        let hosts = strings(q, "hosts");
        if !hosts.is_empty() {
            let _ = write!(l, " on {}", hosts.join(", "));
        }
        if let Some(st) = text(q, "status").filter(|st| st.starts_with("not evaluable")) {
            let _ = write!(l, " ({st})");
        }
        let _ = writeln!(s, "{l}");
    };
    if !with.is_empty() {
        let _ = writeln!(s, "With hits:");
        for q in &with {
            line(&mut s, q);
        }
    }
    if !without.is_empty() {
        let _ = writeln!(s, "Negative results (0 hits):");
        for q in &without {
            line(&mut s, q);
        }
    }
    let correlations = array(report, "correlations");
    if !correlations.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(s, "Correlations:");
        for c in correlations {
            let _ = writeln!(
                s,
                "- {}: {} match(es)",
                text(c, "id").unwrap_or("?"),
                c.get("matches").and_then(Value::as_u64).unwrap_or(0)
            );
        }
    }

    let findings = array(report, "findings");
    let _ = writeln!(s);
    let _ = writeln!(s, "Findings ({}):", findings.len());
    if findings.is_empty() {
        let _ = writeln!(s, "- none");
    }
    for f in findings {
        let mut l = format!(
            "- {} [{}] {}: {} → {}",
            text(f, "id").unwrap_or("?"),
            text(f, "severity").unwrap_or("?"),
            text(f, "title").unwrap_or(""),
            endpoint_label(f, "source"),
            endpoint_label(f, "target"),
        );
        if let Some(a) = text(f, "account") {
            let _ = write!(l, ", account {a}");
        }
        if let Some(t) = text(f, "tool") {
            let _ = write!(l, ", tool {t}");
        }
        let techniques = strings(f, "techniques");
        if !techniques.is_empty() {
            let _ = write!(l, ", {}", techniques.join(", "));
        }
        if let (Some(a), Some(b)) = (text(f, "first_seen"), text(f, "last_seen")) {
            let _ = write!(l, "; {a} .. {b}");
        }
        if let Some(n) = f.get("event_count").and_then(Value::as_u64) {
            let _ = write!(l, ", {n} event(s)");
        }
        let _ = writeln!(s, "{l}");
    }
    let chains = array(report.get("graph").unwrap_or(&Value::Null), "chains");
    for c in chains.iter().filter_map(Value::as_array) {
        let hops: Vec<&str> = c.iter().filter_map(Value::as_str).collect();
        if !hops.is_empty() {
            let _ = writeln!(s, "- chain: {}", hops.join(" → "));
        }
    }

    let host_rows = array(report, "hosts");
    let accounts = array(report, "accounts");
    let involved: Vec<&Value> = host_rows
        .iter()
        .filter(|h| !array(h, "findings").is_empty())
        .collect();
    let involved_accounts: Vec<&Value> = accounts
        .iter()
        .filter(|a| !array(a, "findings").is_empty())
        .collect();
    let _ = writeln!(s);
    let _ = writeln!(s, "Enrichment:");
    if involved.is_empty() && involved_accounts.is_empty() {
        let _ = writeln!(s, "- no host or account is named by a finding");
    }
    for h in involved {
        let mut l = format!("- host {}", text(h, "name").unwrap_or("?"));
        let ips = strings(h, "ips");
        if !ips.is_empty() {
            let _ = write!(l, " ({})", ips.join(", "));
        }
        if let Some(r) = text(h, "role") {
            let _ = write!(l, ", role {r}");
        }
        if let (Some(a), Some(b)) = (text(h, "first_seen"), text(h, "last_seen")) {
            let _ = write!(l, ", seen {a} .. {b}");
        }
        if h.get("logs_collected").and_then(Value::as_bool) == Some(false) {
            l.push_str(", no logs collected");
        }
        let acc = strings(h, "accounts");
        if !acc.is_empty() {
            let _ = write!(l, ", accounts {}", acc.join(", "));
        }
        let _ = writeln!(s, "{l}");
    }
    for a in involved_accounts {
        let mut l = format!("- account {}", text(a, "account").unwrap_or("?"));
        let hosts = strings(a, "hosts");
        if !hosts.is_empty() {
            let _ = write!(l, " on {}", hosts.join(", "));
        }
        let sources = strings(a, "logon_sources");
        if !sources.is_empty() {
            let _ = write!(l, ", logons from {}", sources.join(", "));
        }
        let _ = writeln!(s, "{l}");
    }

    let _ = writeln!(s);
    let _ = writeln!(s, "Related cases:");
    if related.is_empty() {
        let _ = writeln!(s, "- none share a host or account with the findings");
    }
    for r in related {
        let _ = writeln!(
            s,
            "- #{} \"{}\" ({}, {}): shares {}",
            r.case.id,
            r.case.display_name,
            r.case.priority,
            r.case.status,
            r.shared.join(", ")
        );
    }

    if let Some(c) = report.get("conclusion") {
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "Conclusion ({}): {}",
            text(c, "verdict").unwrap_or("?"),
            text(c, "summary").unwrap_or("")
        );
    }
    let gaps = strings(report, "gaps");
    if !gaps.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(s, "Visibility gaps:");
        for g in gaps {
            let _ = writeln!(s, "- {g}");
        }
    }
    let mut follow: Vec<String> = strings(report, "follow_ups");
    for r in strings(report, "recommendations") {
        if !follow.contains(&r) {
            follow.push(r);
        }
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "Follow-on:");
    if follow.is_empty() {
        let _ = writeln!(s, "- none");
    }
    for x in follow {
        let _ = writeln!(s, "- {x}");
    }
    s.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report() -> Value {
        json!({
            "title": "Lateral movement hunt",
            "generated": "2026-12-05 23:00 UTC",
            "scope": null,
            "window": {"description": "all time"},
            "evidence_hosts": ["SALES-PC", "MARKETING-PC"],
            "queries": [
                {"id": "psexec-service", "name": "PsExec service installed", "hits": 2, "hosts": ["SALES-PC"], "status": "hits"},
                {"id": "wmi-child", "name": "WmiPrvSE child shell", "hits": 0, "hosts": [], "status": "no hits"},
                {"id": "dcom-mmc", "name": "MMC20 DCOM", "hits": 0, "hosts": [], "status": "not evaluable: needs Sysmon 1"}
            ],
            "findings": [
                {"id": "F-1", "kind": "lateral-movement", "title": "PsExec", "severity": "high",
                 "techniques": ["T1021.002", "T1569.002"],
                 "source": {"host": "KALI", "ips": ["10.0.0.130"]},
                 "target": {"host": "SALES-PC", "ips": ["10.0.0.5"]},
                 "account": "CORP\\ssales", "tool": "PsExec",
                 "first_seen": "a", "last_seen": "b", "event_count": 4,
                 "evidence": [{"file": "x.json", "record": 1}]},
                {"id": "F-2", "kind": "credential-exposure", "title": "Password on a command line",
                 "severity": "critical", "techniques": [], "target": {"host": "?"}, "evidence": []}
            ],
            "graph": {"chains": [["KALI", "SALES-PC", "MARKETING-PC"]]},
            "conclusion": {"movement_found": true, "verdict": "escalate", "summary": "Movement found."},
            "follow_ups": ["Trace the PsExec session"],
            "recommendations": ["Reset ssales"]
        })
    }

    #[test]
    fn findings_become_alerts_with_entities() {
        let alerts = alerts_from_report(&report()).expect("alerts");
        assert_eq!(alerts.len(), 2);
        let a = &alerts[0];
        assert_eq!(a.identifier, "F-1");
        assert_eq!(a.source_host.as_deref(), Some("KALI"));
        assert_eq!(a.evidence[0]["record"], 1);
        let names: Vec<_> = a.entities.iter().map(|e| e.identifier.as_str()).collect();
        assert_eq!(
            names,
            ["10.0.0.130", "10.0.0.5", "KALI", "SALES-PC", "CORP\\ssales"]
        );
        // A placeholder host is not an entity.
        assert!(alerts[1].entities.is_empty());
        assert_eq!(alerts[1].target_host, None);
        assert_eq!(priority_of(&alerts), Some(Priority::Critical));
    }

    #[test]
    fn a_document_without_findings_is_refused() {
        assert!(matches!(
            alerts_from_report(&json!({"events": []})),
            Err(CaseError::Report(_))
        ));
        assert!(alerts_from_report(&json!({"findings": [{"title": "no id"}]})).is_err());
        assert_eq!(
            alerts_from_report(&json!({"findings": []})).ok(),
            Some(vec![])
        );
    }

    #[test]
    fn summary_lists_negative_queries_findings_and_related_cases() {
        let related = vec![];
        let text = summary_comment(&report(), &related);
        assert!(
            text.contains("Queries (3 run, 1 with hits, 2 with no hits)"),
            "{text}"
        );
        let neg = text
            .split("Negative results (0 hits):")
            .nth(1)
            .expect("negatives");
        assert!(
            neg.contains("WmiPrvSE child shell [wmi-child]: 0 hits"),
            "{text}"
        );
        assert!(neg.contains("MMC20 DCOM [dcom-mmc]: 0 hits (not evaluable: needs Sysmon 1)"));
        assert!(text.contains("PsExec service installed [psexec-service]: 2 hits on SALES-PC"));
        assert!(text.contains(
            "F-1 [high] PsExec: KALI (10.0.0.130) → SALES-PC (10.0.0.5), account CORP\\ssales"
        ));
        assert!(text.contains("chain: KALI → SALES-PC → MARKETING-PC"));
        assert!(text.contains("Related cases:\n- none"));
        assert!(text.contains("- Trace the PsExec session\n- Reset ssales"));
    }

    #[test]
    fn escalation_only_with_confirmed_movement_and_priority_of_worst_finding() {
        let c = escalation_case(&report(), Some(3)).expect("escalates");
        assert_eq!(
            c.display_name,
            "Lateral movement: KALI → SALES-PC → MARKETING-PC"
        );
        assert_eq!(c.priority, Some(Priority::Critical));
        assert!(c.incident);
        assert!(c.tags.contains(&"T1021.002".to_string()));
        assert!(c.description.contains("#3"));
        let mut quiet = report();
        quiet["conclusion"]["movement_found"] = json!(false);
        assert!(escalation_case(&quiet, None).is_none());
    }
}
