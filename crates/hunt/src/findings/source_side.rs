//! Source-side evidence (`wmic /node:B`, `psexec \\\\B`, 4648 to B) joined to the findings on B
//! within 10 minutes, or reported on its own.

use std::collections::{BTreeMap, BTreeSet};

use lateral_analysis as la;
use lateral_model::f;

use super::*;
use crate::hosts::HostKey;
use crate::pack::Severity;
use crate::time::{short, MINUTE};

/// (source host, target host, target as written).
type GroupKey = (Option<HostKey>, Option<HostKey>, String);
/// (row, target as written, tool, aimed at the host itself).
type SourceItem = (u32, String, la::Tool, bool);

pub(super) fn source_side(
    b: &mut Builder<'_>,
    findings: &mut Vec<Finding>,
    used: &mut BTreeSet<u32>,
) {
    let ids = [
        "wmic-remote-process-create",
        "remote-exec-command-lines",
        "powershell-wmi-cim",
        "explicit-credentials-remote",
    ];
    // (source host, target host) → rows
    let mut groups: BTreeMap<GroupKey, Vec<SourceItem>> = BTreeMap::new();
    let mut rows: BTreeSet<u32> = ids
        .iter()
        .filter_map(|id| b.inp.hits.get(*id))
        .flatten()
        .copied()
        .collect();
    // A process that loaded the Task Scheduler client and then connected to RPC on another
    // host (the `taskschd-then-rpc` sequence): a remote task registered through the COM API.
    let task_rpc: BTreeSet<u32> = b
        .inp
        .links
        .get("taskschd-then-rpc")
        .map(|v| v.iter().map(|(_, conn)| *conn).collect())
        .unwrap_or_default();
    let window_start = b.inp.window_start;
    rows.extend(
        task_rpc
            .iter()
            .copied()
            .filter(|&r| window_start.is_none_or(|s| b.ev(r).ts >= s)),
    );
    for row in rows {
        let ev = b.ev(row);
        let src = b.r.resolve(Some(ev.host()), None);
        let mut targets: Vec<(String, la::Tool, bool)> = Vec::new();
        if task_rpc.contains(&row) {
            let dst = ev
                .opt(f::TARGET_HOSTNAME)
                .or_else(|| ev.opt(f::TARGET_IP))
                .unwrap_or_default();
            targets.push((
                dst.to_string(),
                la::Tool::Other("Remote scheduled task (Task Scheduler COM API)".into()),
                ev.flag(f::LOOPBACK),
            ));
        } else if ev.is_security(4648) {
            let proc_name = lower_name(ev.s(f::PRINCIPAL_PATH));
            let tool = match proc_name.as_str() {
                "wmic.exe" => la::Tool::Wmic,
                "psexec.exe" | "psexec64.exe" => la::Tool::PsExec,
                "paexec.exe" => la::Tool::PAExec,
                "powershell.exe" | "pwsh.exe" => la::Tool::Other("PowerShell".into()),
                _ => la::Tool::Other(format!(
                    "explicit credentials ({})",
                    if proc_name.is_empty() {
                        "unknown process"
                    } else {
                        proc_name.as_str()
                    }
                )),
            };
            targets.push((
                ev.s(f::TARGET_HOSTNAME).to_string(),
                tool,
                ev.flag(f::LOOPBACK),
            ));
        } else {
            let cmd = ev
                .opt(f::TARGET_CMD)
                .or_else(|| ev.opt(f::DESCRIPTION))
                .unwrap_or("");
            let found = la::remote_targets(cmd);
            // `psexec \\B cmd /c "wmic /node:C ..."`: what follows a remote launcher runs on B,
            // so only the launcher's own target is this host's.
            let nested_after_launcher = found.first().is_some_and(|t| {
                matches!(
                    t.tool,
                    la::Tool::PsExec
                        | la::Tool::PAExec
                        | la::Tool::CsExec
                        | la::Tool::Winrs
                        | la::Tool::PowerShellRemoting
                )
            });
            for (i, t) in found.into_iter().enumerate() {
                if nested_after_launcher && i > 0 {
                    break;
                }
                targets.push((t.host, t.tool, t.loopback));
            }
        }
        for (host, tool, loopback) in targets {
            let dst = if loopback {
                src
            } else {
                b.r.resolve_at(Some(&host), Some(&host), Some(ev.ts))
            };
            let local = loopback || (dst.is_some() && dst == src);
            let dst_name = if local {
                ev.host().to_string()
            } else {
                host.clone()
            };
            groups
                .entry((src, dst, dst_name))
                .or_default()
                .push((row, host, tool, local));
        }
    }
    for ((src, dst, dst_name), items) in groups {
        let first = items.iter().map(|(r, ..)| b.ev(*r).ts).min().unwrap_or(0);
        let last = items.iter().map(|(r, ..)| b.ev(*r).ts).max().unwrap_or(0);
        let local = items.iter().all(|(.., l)| *l);
        // Only 4648 from a non-tool process: support, never a finding alone.
        let only_weak = items.iter().all(|(r, _, tool, _)| {
            b.ev(*r).is_security(4648) && matches!(tool, la::Tool::Other(_))
        });
        // The cross-host join: findings on the target within 10 minutes.
        let matched: Vec<usize> = findings
            .iter()
            .enumerate()
            .filter(|(_, fnd)| {
                fnd.kind == FindingKind::LateralMovement
                    && dst.is_some()
                    && fnd.target_key == dst
                    && fnd.first_ts - 10 * MINUTE <= last
                    && first <= fnd.last_ts + 10 * MINUTE
                    && (fnd.source_key.is_none() || fnd.source_key == src)
            })
            .map(|(i, _)| i)
            .collect();
        if !matched.is_empty() && !local {
            for i in matched {
                let src_info = src.map(|k| b.r.info(k));
                let fnd = &mut findings[i];
                if fnd.source_key.is_none() {
                    fnd.source_key = src;
                    fnd.source = src_info.map(|i| Endpoint {
                        host: i.name,
                        ips: i.ips,
                    });
                    fnd.attribution = Some(
                        "source host's own logs name the target (cross-host correlation)".into(),
                    );
                    fnd.title = fnd.title.replace(
                        "an unknown source",
                        fnd.source.as_ref().map(|s| s.host.as_str()).unwrap_or("?"),
                    );
                }
                fnd.confidence = Confidence::High;
                fnd.analysis.push(format!(
                    "Cross-host correlation: the source's own logs show the move ({}).",
                    items
                        .iter()
                        .map(|(_, _, t, _)| t.name().to_string())
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                for (r, _, tool, _) in &items {
                    let ev = b.ev(*r);
                    fnd.evidence.push(ev.evidence_ref());
                    if let Some(c) = b.command(ev) {
                        fnd.commands.push(c);
                    }
                    if (fnd.tool.is_none()
                        || fnd.tool.as_deref() == Some("WMI (Win32_Process.Create)"))
                        && !matches!(tool, la::Tool::Other(_))
                    {
                        fnd.tool = Some(tool.name().to_string());
                    }
                    used.insert(*r);
                }
                fnd.event_count = fnd.evidence.len();
                fnd.queries
                    .extend(items.iter().flat_map(|(r, ..)| entries_of(b, *r)));
            }
            continue;
        }
        if only_weak && !local {
            continue;
        }
        let src_info = src.map(|k| b.r.info(k));
        let dst_info = dst.map(|k| b.r.info(k));
        let tool = items
            .iter()
            .map(|(_, _, t, _)| t.clone())
            .find(|t| !matches!(t, la::Tool::Other(_)))
            .unwrap_or_else(|| items[0].2.clone());
        let kind = if local {
            FindingKind::LocalExecution
        } else {
            FindingKind::SourceSideMovement
        };
        let src_name = src_info
            .as_ref()
            .map(|i| i.name.clone())
            .unwrap_or_else(|| "?".into());
        let dst_display = dst_info
            .as_ref()
            .map(|i| i.name.clone())
            .unwrap_or(dst_name.clone());
        let title = if local {
            format!("{} aimed at the local host on {src_name} ({}): local activity, not lateral movement", tool.name(), items[0].1)
        } else {
            format!(
                "{} from {src_name} to {dst_display} (source-side evidence only)",
                tool.name()
            )
        };
        let mut fnd = new_finding(kind, title, first);
        fnd.last_ts = last;
        fnd.source_key = src;
        fnd.target_key = if local { src } else { dst };
        fnd.source = src_info.clone().map(|i| Endpoint {
            host: i.name,
            ips: i.ips,
        });
        fnd.target = if local {
            fnd.source.clone()
        } else {
            Some(Endpoint {
                host: dst_display.clone(),
                ips: dst_info.map(|i| i.ips).unwrap_or_default(),
            })
        };
        fnd.tool = Some(tool.name().to_string());
        let mut severity = Severity::Info;
        let mut techniques = BTreeSet::new();
        for (r, ..) in &items {
            let ev = b.ev(*r);
            for i in b.row_entries.get(r).cloned().unwrap_or_default() {
                let e = &b.entry(i).entry;
                if ids.contains(&e.id.as_str()) {
                    severity = severity.max(e.severity);
                    techniques.extend(e.techniques.iter().cloned());
                    fnd.queries.push(e.id.clone());
                }
            }
            fnd.evidence.push(ev.evidence_ref());
            if let Some(c) = b.command(ev) {
                fnd.commands.push(c);
            }
            if fnd.account.is_none() {
                fnd.account = if ev.is_security(4648) {
                    target_account(ev)
                } else {
                    principal_account(ev)
                }
                .filter(|a| !is_service_account(a));
            }
            used.insert(*r);
        }
        let by_tool = tool_techniques(&tool);
        fnd.techniques = if by_tool.is_empty() {
            techniques.into_iter().collect()
        } else {
            by_tool.iter().map(|t| t.to_string()).collect()
        };
        fnd.event_count = fnd.evidence.len();
        if local {
            fnd.severity = Severity::Low;
            fnd.confidence = Confidence::High;
            fnd.analysis.push(format!("The remote host named on the command line is the host itself ({}): this is local activity, never host-to-host movement.", items[0].1));
        } else {
            fnd.severity = severity.max(Severity::Medium);
            let target_logged = fnd
                .target_key
                .map(|k| b.r.info(k).logs_collected)
                .unwrap_or(false);
            fnd.confidence = if target_logged {
                Confidence::Low
            } else {
                Confidence::Medium
            };
            fnd.analysis.push(if target_logged {
                format!("{dst_display}'s logs are in the evidence but show no matching execution within 10 minutes: the attempt may have failed, or the target's auditing missed it.")
            } else {
                format!("{dst_display}'s logs are not in the evidence: collect them to confirm execution.")
            });
            fnd.follow_ups.push(format!(
                "Collect Security, System and Sysmon logs from {dst_display} around {}.",
                short(first)
            ));
        }
        findings.push(fnd);
    }
}

/// The techniques a source-side tool stands for.
pub(super) fn tool_techniques(tool: &la::Tool) -> &'static [&'static str] {
    use la::Tool as T;
    match tool {
        T::Wmic | T::PowerShellWmi | T::ImpacketWmiexec => &["T1047"],
        T::PsExec
        | T::PAExec
        | T::CsExec
        | T::RemCom
        | T::ImpacketPsexec
        | T::ImpacketSmbexec
        | T::MetasploitPsexec
        | T::EmpireInvokePsExec
        | T::InvokeSmbExec => &["T1021.002", "T1569.002"],
        T::Sc => &["T1569.002", "T1543.003"],
        T::Schtasks | T::ImpacketAtexec => &["T1053.005"],
        T::Other(n) if n.to_ascii_lowercase().contains("scheduled task") => &["T1053.005"],
        T::At => &["T1053.002"],
        T::Winrs | T::PowerShellRemoting => &["T1021.006"],
        T::Mmc20 | T::ShellWindows | T::ImpacketDcomexec => &["T1021.003"],
        _ => &[],
    }
}

pub(super) fn entries_of(b: &Builder<'_>, row: u32) -> Vec<String> {
    b.row_entries
        .get(&row)
        .map(|v| v.iter().map(|&i| b.entry(i).entry.id.clone()).collect())
        .unwrap_or_default()
}
