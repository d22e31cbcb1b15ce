//! Findings that are not a target-side cluster: pass-the-hash on the source, WMI persistence,
//! credential exposure with recurring jobs, and fan-out.

use std::collections::{BTreeMap, BTreeSet};

use lateral_analysis as la;
use lateral_model::f;

use super::*;
use crate::hosts::HostKey;
use crate::pack::{Role, Severity};
use crate::time::{day, short, DAY, MINUTE, SECOND};

/// Rows with one masked command line, and what they exposed.
type ExposureRows = (Vec<u32>, Vec<la::CredentialExposure>);
/// A masked command line, its rows and what it exposed.
type CommandExposure = (String, Vec<u32>, Vec<la::CredentialExposure>);

pub(super) fn singles(b: &mut Builder<'_>, findings: &mut Vec<Finding>, used: &mut BTreeSet<u32>) {
    // Over-pass-the-hash on the source.
    for &row in b
        .inp
        .hits
        .get("pth-new-credentials-logon")
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let ev = b.ev(row);
        let key = b.r.resolve(Some(ev.host()), None);
        let info = key.map(|k| b.r.info(k));
        let user = principal_account(ev).or_else(|| target_account(ev));
        let host = info.as_ref().map(|i| i.name.clone()).unwrap_or_default();
        let mut fnd = new_finding(
            FindingKind::CredentialUse,
            format!("Pass-the-hash (new-credentials logon with seclogo) on {host}"),
            ev.ts,
        );
        fnd.source_key = key;
        fnd.source = info.map(|i| Endpoint {
            host: i.name,
            ips: i.ips,
        });
        fnd.account = user;
        fnd.techniques = vec!["T1550.002".into()];
        fnd.severity = Severity::High;
        fnd.confidence = Confidence::Medium;
        fnd.details.entry("logon process".into()).or_default().push(
            ev.additional("LogonProcessName")
                .unwrap_or("seclogo")
                .trim()
                .to_string(),
        );
        fnd.details
            .entry("process".into())
            .or_default()
            .push(ev.s(f::PRINCIPAL_PATH).to_string());
        fnd.analysis.push("Logon type 9 (NewCredentials) through seclogo is how mimikatz sekurlsa::pth and runas /netonly start a process with other credentials; network access from that process uses the injected hash. This is the source side of pass-the-hash.".into());
        fnd.follow_ups.push(format!(
            "Find the network logons made with the injected credentials from {host} after {}.",
            short(ev.ts)
        ));
        fnd.queries.push("pth-new-credentials-logon".into());
        fnd.evidence.push(ev.evidence_ref());
        fnd.event_count = 1;
        used.insert(row);
        findings.push(fnd);
    }
    // WMI event subscriptions.
    let rows = b
        .inp
        .hits
        .get("wmi-event-subscription")
        .cloned()
        .unwrap_or_default();
    let mut by_host: BTreeMap<Option<HostKey>, Vec<u32>> = BTreeMap::new();
    for row in rows {
        let k = b.r.resolve(Some(b.ev(row).host()), None);
        by_host.entry(k).or_default().push(row);
    }
    for (key, rows) in by_host {
        let info = key.map(|k| b.r.info(k));
        let first = rows.iter().map(|&r| b.ev(r).ts).min().unwrap_or(0);
        let last = rows.iter().map(|&r| b.ev(r).ts).max().unwrap_or(0);
        let host = info.as_ref().map(|i| i.name.clone()).unwrap_or_default();
        let mut fnd = new_finding(
            FindingKind::Persistence,
            format!("WMI event subscription activity on {host}"),
            first,
        );
        fnd.last_ts = last;
        fnd.target_key = key;
        fnd.target = info.map(|i| Endpoint {
            host: i.name,
            ips: i.ips,
        });
        fnd.techniques = vec!["T1546.003".into(), "T1047".into()];
        fnd.severity = Severity::Medium;
        for &r in &rows {
            let ev = b.ev(r);
            fnd.evidence.push(ev.evidence_ref());
            if let Some(n) = ev.opt(f::TARGET_RESOURCE) {
                fnd.details
                    .entry("WMI objects".into())
                    .or_default()
                    .push(n.to_string());
            }
            if fnd.account.is_none() {
                fnd.account = principal_account(ev).filter(|a| !is_service_account(a));
            }
            used.insert(r);
        }
        fnd.event_count = fnd.evidence.len();
        fnd.queries.push("wmi-event-subscription".into());
        fnd.follow_ups.push(format!("List the WMI filters, consumers and bindings on {host} (Get-WmiObject -Namespace root\\subscription)."));
        findings.push(fnd);
    }
}

pub(super) fn credentials_and_recurrence(
    b: &mut Builder<'_>,
    findings: &mut Vec<Finding>,
    used: &mut BTreeSet<u32>,
) -> Vec<Recurring> {
    // Every command line among the hits, plus every process launch for recurrence.
    let hit_rows: BTreeSet<u32> = b
        .row_entries
        .iter()
        .filter(|(_, v)| v.iter().any(|&i| b.entry(i).entry.role != Role::Context))
        .map(|(r, _)| *r)
        .collect();
    // (host, user, masked command) → rows
    let mut exposures: BTreeMap<(String, String, String), ExposureRows> = BTreeMap::new();
    for &row in &hit_rows {
        let ev = b.ev(row);
        if ev.s(f::EVENT_TYPE) != "PROCESS_LAUNCH" {
            continue;
        }
        let cmd = ev.s(f::TARGET_CMD);
        let m = la::mask_credentials(cmd);
        if m.exposures.is_empty() {
            continue;
        }
        let user = principal_account(ev).unwrap_or_default();
        let slot = exposures
            .entry((host_lc(ev), user, m.text.clone()))
            .or_default();
        slot.0.push(row);
        if slot.1.is_empty() {
            slot.1 = m.exposures;
        }
    }
    // Recurring launches (a DataFusion aggregate over the hunt's hits, see
    // `correlate::run_recurrence`).
    let mut recurring: Vec<Recurring> = b
        .inp
        .recurrences
        .iter()
        .map(|r| recurring_job(b, r))
        .collect();
    recurring.sort_by(|a, b| (&a.host, &a.command_line).cmp(&(&b.host, &b.command_line)));
    recurring.dedup();

    // Group exposures by host and user: one finding per (host, user).
    let mut per_user: BTreeMap<(String, String), Vec<CommandExposure>> = BTreeMap::new();
    for ((host, user, cmd), (rows, exps)) in exposures {
        per_user
            .entry((host, user))
            .or_default()
            .push((cmd, rows, exps));
    }
    for ((_, user), items) in per_user {
        let all_rows: Vec<u32> = items
            .iter()
            .flat_map(|(_, r, _)| r.iter().copied())
            .collect();
        let first = all_rows.iter().map(|&r| b.ev(r).ts).min().unwrap_or(0);
        let last = all_rows.iter().map(|&r| b.ev(r).ts).max().unwrap_or(0);
        let ev0 = b.ev(all_rows[0]);
        let key = b.r.resolve(Some(ev0.host()), None);
        let info = key.map(|k| b.r.info(k));
        let host = info.as_ref().map(|i| i.name.clone()).unwrap_or_default();
        let exposed: BTreeSet<String> = items
            .iter()
            .flat_map(|(_, _, e)| e.iter().filter_map(|x| x.user.clone()))
            .collect();
        let mut fnd = new_finding(
            FindingKind::CredentialExposure,
            format!(
                "Credentials in a command line on {host}{}",
                if exposed.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (for {})",
                        exposed.iter().cloned().collect::<Vec<_>>().join(", ")
                    )
                }
            ),
            first,
        );
        fnd.last_ts = last;
        fnd.target_key = key;
        fnd.target = info.map(|i| Endpoint {
            host: i.name,
            ips: i.ips,
        });
        fnd.account = (!user.is_empty()).then_some(user.clone());
        fnd.techniques = vec!["T1552".into(), "T1078".into()];
        fnd.severity = Severity::Medium;
        fnd.confidence = Confidence::High;
        for (cmd, rows, exps) in &items {
            for e in exps {
                fnd.details
                    .entry("exposed".into())
                    .or_default()
                    .push(format!(
                        "{} ({}{})",
                        e.pattern,
                        e.user
                            .as_deref()
                            .map(|u| format!("account {u}, "))
                            .unwrap_or_default(),
                        if e.secret_len > 0 {
                            "password in clear, masked here"
                        } else {
                            "account name only"
                        }
                    ));
            }
            let days: BTreeSet<String> = rows.iter().map(|&r| day(b.ev(r).ts)).collect();
            // Sysmon 1 and 4688 log the same launch: count launches by second.
            let launches: BTreeSet<i64> = rows.iter().map(|&r| b.ev(r).ts / SECOND).collect();
            fnd.analysis.push(format!(
                "`{}` ran {} time(s) on {} day(s).",
                clip(cmd, 300),
                launches.len(),
                days.len()
            ));
            for &r in rows {
                let ev = b.ev(r);
                fnd.evidence.push(ev.evidence_ref());
                if let Some(c) = b.command(ev) {
                    fnd.commands.push(c);
                }
                used.insert(r);
            }
        }
        for rec in &recurring {
            if lateral_model::vocab::short_hostname(&rec.host).eq_ignore_ascii_case(&host)
                && items.iter().any(|(c, ..)| c == &rec.command_line)
            {
                fnd.analysis.push(format!(
                    "Recurring job: the same command by {} at about {} UTC on {} days ({}), launched by {} — a scheduled task, so the secret is stored in the task too.",
                    rec.user,
                    rec.time_of_day,
                    rec.days.len(),
                    rec.days.join(", "),
                    rec.parent
                ));
            }
        }
        fnd.event_count = fnd.evidence.len();
        fnd.queries.push("credentials-in-command-line".into());
        fnd.follow_ups.push("Rotate the exposed password(s) and remove them from the script or scheduled task that carries them.".into());
        if let Some(a) = &fnd.account {
            fnd.follow_ups.push(format!(
                "Compromised-account review for {a} and for the exposed account(s)."
            ));
        }
        findings.push(fnd);
    }
    recurring
}

/// What a recurring launch group says, for the report.
fn recurring_job(b: &Builder<'_>, r: &crate::correlate::Recurrence) -> Recurring {
    let ev = b.ev(r.first_row);
    let mid = (r.tod_lo + r.tod_hi) / 2;
    let secs = mid / SECOND;
    Recurring {
        host: ev.host().to_string(),
        user: principal_account(ev).unwrap_or_default(),
        command_line: safe_command(ev.s(f::TARGET_CMD)),
        days: r.days.iter().map(|d| day(d.saturating_mul(DAY))).collect(),
        time_of_day: format!(
            "{:02}:{:02}:{:02}",
            secs / 3600,
            (secs / 60) % 60,
            secs % 60
        ),
        parent: file_name(ev.s(f::PRINCIPAL_PATH)).to_string(),
    }
}

pub(super) fn fan_out(b: &mut Builder<'_>, findings: &mut Vec<Finding>) {
    const N: usize = 3;
    const T: i64 = 10 * MINUTE;
    // First-seen pairs: a network logon from the source to the target before the window.
    if let Some(start) = b.inp.window_start {
        // Network logons before the window, aggregated by DataFusion
        // (`correlate::run_prior_logons`); resolved here at their first and last time, as an
        // address may have named different hosts over time.
        let mut seen_before: BTreeSet<(HostKey, HostKey)> = BTreeSet::new();
        for p in b.inp.prior_logons {
            if p.first >= start {
                continue;
            }
            let dst = b.r.resolve(Some(&p.target), None);
            for t in [p.first, p.last] {
                let src =
                    b.r.resolve_at(p.source_name.as_deref(), p.source_ip.as_deref(), Some(t));
                if let (Some(s), Some(d)) = (src, dst) {
                    seen_before.insert((s, d));
                }
            }
        }
        for fnd in findings.iter_mut() {
            if fnd.kind != FindingKind::LateralMovement {
                continue;
            }
            if let (Some(s), Some(d)) = (fnd.source_key, fnd.target_key) {
                if seen_before.contains(&(s, d)) {
                    fnd.analysis.push("This source had already logged on to the target over the network before the hunt window.".into());
                } else {
                    fnd.analysis.push("First-seen pair: no network logon from this source to the target before the hunt window in the evidence.".into());
                    fnd.severity = fnd.severity.max(Severity::High);
                }
            }
        }
    }
    let mut by_source: BTreeMap<HostKey, Vec<(i64, HostKey, usize)>> = BTreeMap::new();
    for (i, fnd) in findings.iter().enumerate() {
        if !matches!(
            fnd.kind,
            FindingKind::LateralMovement | FindingKind::SourceSideMovement
        ) {
            continue;
        }
        if let (Some(s), Some(d)) = (fnd.source_key, fnd.target_key) {
            by_source.entry(s).or_default().push((fnd.first_ts, d, i));
        }
    }
    let mut new = Vec::new();
    for (src, mut v) in by_source {
        v.sort();
        let mut best: Option<(usize, usize)> = None;
        for a in 0..v.len() {
            let targets: BTreeSet<HostKey> = v[a..]
                .iter()
                .take_while(|x| x.0 - v[a].0 <= T)
                .map(|x| x.1)
                .collect();
            if targets.len() >= N && best.is_none_or(|(_, n)| targets.len() > n) {
                best = Some((a, targets.len()));
            }
        }
        let Some((a, count)) = best else { continue };
        let members: Vec<&(i64, HostKey, usize)> =
            v[a..].iter().take_while(|x| x.0 - v[a].0 <= T).collect();
        let info = b.r.info(src);
        let mut fnd = new_finding(
            FindingKind::FanOut,
            format!(
                "{} reached {count} hosts within {} minutes",
                info.name,
                T / MINUTE
            ),
            members[0].0,
        );
        fnd.last_ts = members.last().map(|m| m.0).unwrap_or(members[0].0);
        fnd.source_key = Some(src);
        fnd.source = Some(Endpoint {
            host: info.name.clone(),
            ips: info.ips.clone(),
        });
        fnd.severity = Severity::Critical;
        fnd.confidence = Confidence::High;
        fnd.techniques = vec!["T1021".into()];
        let mut targets = BTreeSet::new();
        for m in &members {
            let t = &findings[m.2];
            if let Some(d) = &t.target {
                targets.insert(d.host.clone());
            }
            fnd.evidence.extend(t.evidence.iter().cloned());
            fnd.queries.extend(t.queries.iter().cloned());
        }
        fnd.details
            .insert("targets".into(), targets.into_iter().collect());
        fnd.event_count = fnd.evidence.len();
        fnd.analysis.push(format!("One source moving to {N} or more distinct hosts within {} minutes is automated or hands-on-keyboard spreading.", T / MINUTE));
        fnd.follow_ups.push(format!(
            "Contain {} and every target listed; hunt each target for further hops.",
            info.name
        ));
        new.push(fnd);
    }
    // Network-logon bursts (the DataFusion threshold join) for sources not already reported.
    let mut best: BTreeMap<String, &crate::correlate::Burst> = BTreeMap::new();
    for burst in b.inp.bursts {
        let ts = b.ev(burst.first_row).ts;
        if b.inp.window_start.is_some_and(|s| ts < s) {
            continue;
        }
        let slot = best.entry(burst.actor.clone()).or_insert(burst);
        if burst.targets > slot.targets {
            *slot = burst;
        }
    }
    for (actor, burst) in best {
        let first = b.ev(burst.first_row).ts;
        let src = b.r.resolve_at(None, Some(&actor), Some(first));
        if src.is_some() && new.iter().any(|f: &Finding| f.source_key == src) {
            continue;
        }
        let mut targets = BTreeSet::new();
        let mut evidence = Vec::new();
        let mut last = first;
        let mut accounts = BTreeSet::new();
        for ev in b.inp.evs {
            if ev.ts < first
                || ev.ts - first > T
                || !ev.is_security(4624)
                || ev.s(f::AUTH_MECHANISM) != "NETWORK"
                || ev.s(f::PRINCIPAL_IP) != actor
            {
                continue;
            }
            targets.insert(ev.host().to_string());
            evidence.push(ev.evidence_ref());
            last = last.max(ev.ts);
            if let Some(a) = target_account(ev).filter(|a| !is_service_account(a)) {
                accounts.insert(a);
            }
        }
        let info = src.map(|k| b.r.info(k));
        let name = info
            .as_ref()
            .map(|i| i.name.clone())
            .unwrap_or(actor.clone());
        let mut fnd = new_finding(
            FindingKind::FanOut,
            format!(
                "{name} logged on to {} hosts over the network within {} minutes",
                burst.targets,
                T / MINUTE
            ),
            first,
        );
        fnd.last_ts = last;
        fnd.source_key = src;
        fnd.source = Some(Endpoint {
            host: name.clone(),
            ips: info.map(|i| i.ips).unwrap_or_else(|| vec![actor.clone()]),
        });
        fnd.severity = Severity::High;
        fnd.confidence = Confidence::Medium;
        fnd.techniques = vec!["T1021".into(), "T1078".into()];
        fnd.account = accounts.iter().next().cloned();
        fnd.details
            .insert("targets".into(), targets.into_iter().collect());
        if accounts.len() > 1 {
            fnd.details
                .insert("accounts".into(), accounts.into_iter().collect());
        }
        fnd.evidence = evidence;
        fnd.event_count = fnd.evidence.len();
        fnd.queries.push("network-logon-fan-out".into());
        fnd.analysis.push(format!(
            "One address authenticating to {N} or more hosts within {} minutes is the footprint of spreading or of scanning with valid credentials; no remote execution was seen with it.",
            T / MINUTE
        ));
        fnd.follow_ups.push(format!(
            "Identify the host behind {actor} and what ran on each target after the logons."
        ));
        new.push(fnd);
    }
    findings.extend(new);
}
