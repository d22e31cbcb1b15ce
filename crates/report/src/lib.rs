//! # lateral-report
//!
//! Owns how a hunt is written down: the Markdown report (with Mermaid diagrams for the
//! workflow and the movement graph), the JSON report (the same content, machine-readable),
//! and the graph as Graphviz DOT or JSON.
//!
//! It must not compute anything about the evidence: every fact comes from the
//! [`HuntReport`] it is given, so the Markdown and the JSON can never disagree.

use std::fmt::Write;

use lateral_hunt::graph::Graph;
use lateral_hunt::HuntReport;

/// The JSON report (pretty-printed, stable key order).
pub fn json(report: &HuntReport) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// The movement graph as JSON.
pub fn graph_json(graph: &Graph) -> String {
    serde_json::to_string_pretty(graph).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn esc_dot(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The movement graph as Graphviz DOT.
pub fn graph_dot(graph: &Graph) -> String {
    let mut out = String::from(
        "digraph lateral_movement {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n",
    );
    for n in &graph.nodes {
        let shape = if n.kind == "account" {
            "ellipse"
        } else {
            "box"
        };
        let label = if n.ips.is_empty() {
            n.label.clone()
        } else {
            format!("{}\\n{}", n.label, n.ips.join(", "))
        };
        let _ = writeln!(
            out,
            "  {} [shape={shape}, label=\"{}\"];",
            n.id,
            esc_dot(&label).replace("\\\\n", "\\n")
        );
    }
    for e in &graph.edges {
        let style = match e.kind.as_str() {
            "attempt" => ", style=dashed",
            "uses" => ", style=dotted, arrowhead=none",
            _ => "",
        };
        let label = edge_label(e);
        let _ = writeln!(
            out,
            "  {} -> {} [label=\"{}\"{style}];",
            e.from,
            e.to,
            esc_dot(&label)
        );
    }
    out.push_str("}\n");
    out
}

fn edge_label(e: &lateral_hunt::graph::Edge) -> String {
    if e.kind == "uses" {
        return "account".into();
    }
    let mut parts = Vec::new();
    if !e.tools.is_empty() {
        parts.push(e.tools.join("/"));
    }
    if !e.techniques.is_empty() {
        parts.push(e.techniques.join(","));
    }
    if !e.accounts.is_empty() {
        parts.push(e.accounts.join(","));
    }
    parts.push(format!(
        "{} .. {}",
        short_time(&e.first_seen),
        short_time(&e.last_seen)
    ));
    parts.join(" | ")
}

fn short_time(iso: &str) -> String {
    iso.get(..19).unwrap_or(iso).replace('T', " ")
}

fn mermaid_text(s: &str) -> String {
    s.replace('"', "'")
        .replace(['\n', '\r'], " ")
        .replace('|', "/")
        .replace(';', ",")
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The graph as a Mermaid flowchart.
pub fn graph_mermaid(graph: &Graph) -> String {
    let mut out = String::from("flowchart LR\n");
    for n in &graph.nodes {
        let label = if n.ips.is_empty() {
            n.label.clone()
        } else {
            format!("{}<br/>{}", n.label, n.ips.join(", "))
        };
        if n.kind == "account" {
            let _ = writeln!(out, "    {}([\"{}\"])", n.id, mermaid_text(&label));
        } else {
            let _ = writeln!(out, "    {}[\"{}\"]", n.id, mermaid_text(&label));
        }
    }
    for e in &graph.edges {
        let arrow = match e.kind.as_str() {
            "attempt" => "-.->",
            "uses" => "---",
            _ => "-->",
        };
        let _ = writeln!(
            out,
            "    {} {arrow}|\"{}\"| {}",
            e.from,
            mermaid_text(&edge_label(e)),
            e.to
        );
    }
    out
}

fn workflow_mermaid(report: &HuntReport) -> String {
    let mut out = String::from("sequenceDiagram\n    participant H as Hunter\n    participant L as lateral\n    participant E as Evidence\n");
    for s in &report.workflow {
        let to = if s.step.starts_with("Scan") { "E" } else { "L" };
        let _ = writeln!(out, "    H->>{to}: {}", mermaid_text(&s.step));
        let _ = writeln!(out, "    {to}-->>H: {}", mermaid_text(&s.result));
    }
    out
}

/// The Markdown report.
pub fn markdown(r: &HuntReport) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# {}\n", r.title);
    let _ = writeln!(o, "| | |\n|---|---|");
    let _ = writeln!(o, "| Runbook | {} |", md_cell(&r.runbook));
    let _ = writeln!(o, "| Generated | {} |", r.generated);
    let _ = writeln!(
        o,
        "| Scope | {} |",
        md_cell(r.scope.as_deref().unwrap_or("all hosts in the evidence"))
    );
    let _ = writeln!(
        o,
        "| Hosts with logs | {} |",
        md_cell(&r.evidence_hosts.join(", "))
    );
    let _ = writeln!(o, "| Timeframe | {} |", md_cell(&r.window.description));
    if let Some(c) = &r.case_id {
        let _ = writeln!(o, "| Case | {} |", md_cell(c));
    }
    let _ = writeln!(o, "| Verdict | **{}** |\n", r.conclusion.verdict);

    let _ = writeln!(
        o,
        "## Objective\n\n{}\n\n**Hypothesis.** {}\n",
        r.objective, r.hypothesis
    );

    let _ = writeln!(
        o,
        "## Techniques investigated\n\n| ATT&CK | Name | Tactics |\n|---|---|---|"
    );
    for t in &r.techniques {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            t.id,
            md_cell(&t.name),
            md_cell(&t.tactics)
        );
    }

    let _ = writeln!(
        o,
        "\n## Workflow performed\n\n```mermaid\n{}```\n",
        workflow_mermaid(r)
    );

    let _ = writeln!(o, "## Queries and results\n\nEvery query of the hunt pack ran over the window; zero counts are negative results.\n");
    let _ = writeln!(
        o,
        "| # | Query | Role | Hits | Result | UDM |\n|---|---|---|---|---|---|"
    );
    for (i, q) in r.queries.iter().enumerate() {
        let _ = writeln!(
            o,
            "| {} | {} (`{}`) | {} | {} | {} | `{}` |",
            i + 1,
            md_cell(&q.name),
            q.id,
            q.role.as_str(),
            q.hits,
            md_cell(&q.status),
            md_cell(&q.udm)
        );
    }
    let _ = writeln!(
        o,
        "\n### Correlations\n\n| Correlation | Matches | What it joins or counts |\n|---|---|---|"
    );
    for c in &r.correlations {
        let _ = writeln!(
            o,
            "| `{}` | {} | {} |",
            c.id,
            c.matches,
            md_cell(&c.description)
        );
    }

    let _ = writeln!(o, "\n## Findings\n");
    if r.findings.is_empty() {
        let _ = writeln!(o, "No findings.\n");
    }
    let mut by_tech: std::collections::BTreeMap<String, Vec<&lateral_hunt::Finding>> =
        Default::default();
    for f in &r.findings {
        let key = f
            .techniques
            .first()
            .cloned()
            .unwrap_or_else(|| "other".into());
        by_tech.entry(key).or_default().push(f);
    }
    for (tech, list) in by_tech {
        let name = r
            .techniques
            .iter()
            .find(|t| t.id == tech)
            .map(|t| t.name.clone())
            .unwrap_or_default();
        let _ = writeln!(o, "### {tech} {name}\n");
        for f in list {
            let _ = writeln!(o, "#### {} {}\n", f.id, f.title);
            let _ = writeln!(o, "| | |\n|---|---|");
            let _ = writeln!(o, "| Kind | {} |", f.kind.as_str());
            let _ = writeln!(
                o,
                "| Severity / confidence | {} / {} |",
                f.severity.as_str(),
                f.confidence.as_str()
            );
            let _ = writeln!(o, "| Techniques | {} |", f.techniques.join(", "));
            if let Some(s) = &f.source {
                let _ = writeln!(o, "| Source | {} {} |", md_cell(&s.host), s.ips.join(", "));
            }
            if let Some(t) = &f.target {
                let _ = writeln!(o, "| Target | {} {} |", md_cell(&t.host), t.ips.join(", "));
            }
            if let Some(a) = &f.account {
                let _ = writeln!(o, "| Account | {} |", md_cell(a));
            }
            if let Some(t) = &f.tool {
                let _ = writeln!(o, "| Tool | {} |", md_cell(t));
            }
            if let Some(a) = &f.attribution {
                let _ = writeln!(o, "| Source attributed by | {} |", md_cell(a));
            }
            let _ = writeln!(
                o,
                "| First / last seen | {} / {} |",
                f.first_seen, f.last_seen
            );
            let _ = writeln!(o, "| Events | {} |", f.event_count);
            for (k, v) in &f.details {
                let _ = writeln!(o, "| {} | {} |", md_cell(k), md_cell(&v.join("; ")));
            }
            let _ = writeln!(o, "| Queries | {} |\n", f.queries.join(", "));
            if !f.commands.is_empty() {
                let _ = writeln!(o, "Commands:\n");
                for c in &f.commands {
                    let _ = writeln!(
                        o,
                        "- {} on {}{}{}: `{}`",
                        c.time,
                        c.host,
                        c.user
                            .as_deref()
                            .map(|u| format!(" as {u}"))
                            .unwrap_or_default(),
                        match (&c.parent, c.parent_pid) {
                            (Some(p), Some(pid)) => format!(", parent {p} (pid {pid})"),
                            (Some(p), None) => format!(", parent {p}"),
                            _ => String::new(),
                        },
                        c.command_line.replace('`', "'")
                    );
                    if !c.ancestry.is_empty() {
                        let _ = writeln!(o, "  - ancestry: {}", c.ancestry.join(" → "));
                    }
                    if let Some(d) = &c.decoded {
                        let _ = writeln!(
                            o,
                            "  - decoded PowerShell:\n\n    ```\n    {}\n    ```",
                            d.replace('\n', "\n    ")
                        );
                    }
                }
                o.push('\n');
            }
            if !f.analysis.is_empty() {
                let _ = writeln!(o, "Analysis:\n");
                for a in &f.analysis {
                    let _ = writeln!(o, "- {a}");
                }
                o.push('\n');
            }
            let _ = writeln!(o, "Evidence:\n");
            for e in f.evidence.iter().take(40) {
                let _ = writeln!(
                    o,
                    "- {} {} — `{}`{} — {}",
                    e.time,
                    e.host,
                    e.file,
                    e.record
                        .map(|r| format!(" record {r}"))
                        .or(e.offset.map(|b| format!(" byte {b}")))
                        .unwrap_or_default(),
                    md_cell(&e.summary)
                );
            }
            if f.evidence.len() > 40 {
                let _ = writeln!(o, "- … {} more in the JSON report", f.evidence.len() - 40);
            }
            o.push('\n');
        }
    }
    if !r.recurring_jobs.is_empty() {
        let _ = writeln!(o, "### Recurring jobs\n\n| Host | User | Time of day (UTC) | Days | Launched by | Command |\n|---|---|---|---|---|---|");
        for j in &r.recurring_jobs {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | `{}` |",
                md_cell(&j.host),
                md_cell(&j.user),
                j.time_of_day,
                j.days.join(", "),
                md_cell(&j.parent),
                md_cell(&j.command_line)
            );
        }
        o.push('\n');
    }

    let _ = writeln!(o, "## Movement graph\n");
    if r.graph.edges.is_empty() {
        let _ = writeln!(o, "No host-to-host movement edges.\n");
    } else {
        let _ = writeln!(o, "```mermaid\n{}```\n", graph_mermaid(&r.graph));
        for c in &r.graph.chains {
            let _ = writeln!(o, "- Chain: {}", c.join(" → "));
        }
        o.push('\n');
    }

    let _ = writeln!(o, "## Entity enrichment\n\n### Hosts\n\n| Host | Names | Addresses | Logs collected | Role | First seen | Last seen | Events by type | Accounts | Findings |\n|---|---|---|---|---|---|---|---|---|---|");
    for h in &r.hosts {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            md_cell(&h.name),
            md_cell(&h.names.join(", ")),
            h.ips.join(", "),
            if h.logs_collected { "yes" } else { "no" },
            h.role.as_deref().unwrap_or("-"),
            h.first_seen.as_deref().unwrap_or("-"),
            h.last_seen.as_deref().unwrap_or("-"),
            md_cell(
                &h.events_by_type
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            md_cell(&h.accounts.join(", ")),
            h.findings.join(", ")
        );
    }
    let _ = writeln!(o, "\n### Accounts\n\n| Account | First seen | Last seen | Events by type | Hosts | Logon sources | Findings |\n|---|---|---|---|---|---|---|");
    for a in &r.accounts {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} |",
            md_cell(&a.account),
            a.first_seen,
            a.last_seen,
            md_cell(
                &a.events_by_type
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            md_cell(&a.hosts.join(", ")),
            md_cell(&a.logon_sources.join(", ")),
            a.findings.join(", ")
        );
    }

    let _ = writeln!(
        o,
        "\n## Data coverage and visibility gaps\n\n{}\n",
        r.inventory_note
    );
    if r.gaps.is_empty() {
        let _ = writeln!(o, "No visibility gaps for this hunt.\n");
    } else {
        for g in &r.gaps {
            let _ = writeln!(o, "- {g}");
        }
        o.push('\n');
    }
    let _ = writeln!(
        o,
        "| Host | Channel | Events (id × count) | First | Last |\n|---|---|---|---|---|"
    );
    for c in &r.coverage {
        let ids = c
            .event_ids
            .iter()
            .map(|(i, n)| format!("{i}×{n}"))
            .collect::<Vec<_>>()
            .join(" ");
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} |",
            md_cell(&c.host),
            md_cell(&c.channel),
            ids,
            c.first,
            c.last
        );
    }

    let _ = writeln!(o, "\n## Conclusion\n\n{}\n", r.conclusion.summary);
    if !r.conclusion.movements.is_empty() {
        for m in &r.conclusion.movements {
            let _ = writeln!(o, "- {m}");
        }
        o.push('\n');
    }
    let _ = writeln!(o, "## Recommendations\n");
    for x in &r.recommendations {
        let _ = writeln!(o, "- {x}");
    }
    let _ = writeln!(o, "\n## Follow-up tasks\n");
    if r.follow_ups.is_empty() {
        let _ = writeln!(o, "- None.");
    }
    for x in &r.follow_ups {
        let _ = writeln!(o, "- [ ] {x}");
    }
    let e = &r.execution;
    let _ = writeln!(o, "\n## Execution details\n\n| | |\n|---|---|");
    let _ = writeln!(o, "| lateral version | {} |", e.version);
    let _ = writeln!(o, "| Started | {} |", e.started);
    let _ = writeln!(o, "| Run time | {} ms |", e.duration_ms);
    let _ = writeln!(o, "| Sources read | {} |", e.sources);
    let _ = writeln!(o, "| Records read | {} |", e.records_read);
    let _ = writeln!(
        o,
        "| Candidate events (one scan) | {}{} |",
        e.candidate_events,
        match &e.candidates_from {
            Some(t) => format!(" (held from {t})"),
            None => String::new(),
        }
    );
    let _ = writeln!(
        o,
        "| Queries / correlations | {} / {} |",
        e.queries_run, e.sequences_run
    );
    let _ = writeln!(o, "| Files skipped | {} |", e.files_skipped);
    let _ = writeln!(o, "| Records or chunks skipped | {} |", e.records_skipped);
    if !e.issues.is_empty() {
        let _ = writeln!(
            o,
            "\nProblems met while reading (the rest of each file was read):\n"
        );
        for i in &e.issues {
            let _ = writeln!(o, "- `{}` {}: {}", i.file, i.position, md_cell(&i.message));
        }
    }
    o
}
