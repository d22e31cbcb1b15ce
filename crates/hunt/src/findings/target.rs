//! Target-side observations, clustered per host and source, become findings.

use std::collections::{BTreeMap, BTreeSet};

use lateral_analysis as la;
use lateral_model::f;

use super::source_side::tool_techniques;
use super::*;
use crate::evidence::Ev;
use crate::pack::Severity;
use crate::time::{short, MINUTE};

/// Record a service (name, binary, what its definition betrays) on a finding; the tool it
/// points to, if any.
fn note_service(
    fnd: &mut Finding,
    name: &str,
    display: Option<&str>,
    image: &str,
) -> Option<la::Tool> {
    let class = la::classify_service(name, display, image);
    fnd.details
        .entry("service".into())
        .or_default()
        .push(name.to_string());
    fnd.details
        .entry("service binary".into())
        .or_default()
        .push(safe_command(image));
    for t in &class.traits {
        fnd.analysis
            .push(format!("Service `{name}`: {}", t.describe()));
    }
    class.tool
}

/// Which entries can make a finding on their own (others only support one).
pub(super) fn primary(id: &str) -> bool {
    !matches!(
        id,
        "svcctl-ipc-access"
            | "atsvc-ipc-access"
            | "winreg-ipc-access"
            | "pth-ntlm-network-logon"
            | "dcom-inbound-connection"
    )
}

pub(super) fn target_finding(b: &mut Builder<'_>, members: &[&Obs]) -> Option<Finding> {
    let has_primary = members
        .iter()
        .any(|o| o.entries.iter().any(|&i| primary(&b.entry(i).entry.id)));
    // Inbound DCOM connections make a finding only with a launched process, or when nothing
    // else explains them.
    if !has_primary {
        let dcom_only = members.iter().all(|o| {
            o.entries
                .iter()
                .all(|&i| b.entry(i).entry.id == "dcom-inbound-connection")
        });
        if !dcom_only {
            return None;
        }
    }
    let first = members.iter().map(|o| o.ts).min()?;
    let last = members.iter().map(|o| o.ts).max()?;
    let host = members[0].host;
    let source = members
        .iter()
        .filter_map(|o| o.source.clone())
        .max_by_key(|s| s.strength);
    // Registry writes by svchost or WmiPrvSE are only remote when something names a remote
    // writer; unattributed, they are ordinary local configuration.
    let families_here: BTreeSet<&str> = members
        .iter()
        .flat_map(|o| o.entries.iter().map(|&i| b.entry(i).entry.family.as_str()))
        .collect();
    if source.is_none() && families_here.iter().all(|f| *f == "remote-registry") {
        return None;
    }
    let target_info = host.map(|k| b.r.info(k));
    let source_info = source.as_ref().and_then(|s| s.key).map(|k| b.r.info(k));
    let local = source
        .as_ref()
        .is_some_and(|s| s.local || (s.key.is_some() && s.key == host));

    let mut fnd = new_finding(FindingKind::LateralMovement, String::new(), first);
    fnd.last_ts = last;
    fnd.target_key = host;
    fnd.source_key = source.as_ref().and_then(|s| s.key);
    fnd.target = target_info.clone().map(|i| Endpoint {
        host: i.name,
        ips: i.ips,
    });
    fnd.source = match (&source_info, &source) {
        (Some(i), _) => Some(Endpoint {
            host: i.name.clone(),
            ips: i.ips.clone(),
        }),
        (None, Some(s)) => s.name.clone().or(s.ip.clone()).map(|h| Endpoint {
            host: h,
            ips: s.ip.clone().into_iter().collect(),
        }),
        _ => None,
    };
    fnd.attribution = source.as_ref().map(|s| s.how.to_string());
    let mut accounts: BTreeMap<String, usize> = BTreeMap::new();
    for o in members {
        if let Some(a) = &o.account {
            *accounts.entry(a.clone()).or_default() += if a.ends_with('$') { 1 } else { 10 };
        }
    }
    fnd.account = accounts
        .into_iter()
        .max_by_key(|(a, n)| (*n, std::cmp::Reverse(a.clone())))
        .map(|(a, _)| a);

    let mut families = BTreeSet::new();
    let mut tool: Option<la::Tool> = None;
    let mut tool_rank = 0u8;
    let set_tool = |t: la::Tool, rank: u8, tool: &mut Option<la::Tool>, tool_rank: &mut u8| {
        if rank > *tool_rank {
            *tool = Some(t);
            *tool_rank = rank;
        }
    };
    let mut severity = Severity::Info;
    let mut techniques = BTreeSet::new();
    let mut sessions = BTreeSet::new();
    for o in members {
        let ev = b.ev(o.row);
        for &i in &o.entries {
            let e = &b.entry(i).entry;
            families.insert(e.family.clone());
            severity = severity.max(e.severity);
            techniques.extend(e.techniques.iter().cloned());
            fnd.queries.push(e.id.clone());
        }
        if let Some(&l) = b.logon_for.get(&o.row) {
            sessions.insert(b.ev(l).s(f::TARGET_LOGON_ID).to_string());
            fnd.evidence.push(b.ev(l).evidence_ref());
        }
        if let Some(&(nrow, _)) = b.near.get(&o.row) {
            fnd.evidence.push(b.ev(nrow).evidence_ref());
        }
        fnd.evidence.push(ev.evidence_ref());
        let etype = ev.s(f::EVENT_TYPE);
        if ev.is_sysmon(13) {
            let key = ev.s(f::TARGET_REG_KEY);
            let name = key.rsplit('\\').nth(1).unwrap_or_default().to_string();
            let image = ev.s(f::TARGET_REG_VALUE_DATA);
            if let Some(t) = note_service(&mut fnd, &name, None, image) {
                set_tool(t, 5, &mut tool, &mut tool_rank);
            }
        }
        if ev.is_capture() {
            if let Some(t) = capture_member(&mut fnd, ev) {
                set_tool(t.0, t.1, &mut tool, &mut tool_rank);
            }
        }
        if etype == "SERVICE_CREATION" {
            let name = ev.s(f::TARGET_APPLICATION);
            let image = ev.s(f::TARGET_CMD);
            let display = ev
                .additional("ServiceDisplayName")
                .or_else(|| ev.additional("service_display_name"));
            if name.is_empty() && image.is_empty() && ev.is_capture() {
                fnd.analysis.push(format!(
                    "A service was created over {} (frame {}) but the RPC stub is encrypted: its name and binary are not readable from the capture.",
                    ev.s(f::PRODUCT_EVENT_TYPE),
                    ev.int(f::RECORD_NUMBER).unwrap_or(0)
                ));
            } else if let Some(t) = note_service(&mut fnd, name, display, image) {
                set_tool(t, 5, &mut tool, &mut tool_rank);
            }
            if let Some(d) = la::decode_powershell(image) {
                fnd.analysis.push(format!(
                    "Decoded service command: {}",
                    safe_command(&d.decoded)
                ));
            }
            if let Some(c) = b.command(ev) {
                fnd.commands.push(c);
            }
        }
        if etype == "PROCESS_LAUNCH" {
            let cmd = ev.s(f::TARGET_CMD);
            let parent = ev.s(f::PRINCIPAL_PATH);
            if let Some(out) = la::impacket_output(cmd) {
                let t = la::impacket_exec_tool_for_parent(parent)
                    .filter(|_| matches!(out.tool, la::Tool::ImpacketWmiexec))
                    .unwrap_or(out.tool.clone());
                set_tool(t, 6, &mut tool, &mut tool_rank);
                fnd.details
                    .entry("output file".into())
                    .or_default()
                    .push(format!("\\\\{}\\{}", out.share, out.file).replace("\\\\\\", "\\\\"));
            }
            let pname = lower_name(parent);
            let cname = lower_name(ev.s(f::TARGET_PATH));
            // Empire's PowerShell launcher: `powershell -noP -sta -w 1 -enc ...`.
            let lc = cmd.to_ascii_lowercase();
            if lc.contains("-nop -sta -w 1 -enc") {
                let t = match pname.as_str() {
                    "wmiprvse.exe" => "Empire Invoke-WMI (PowerShell stager)",
                    "wsmprovhost.exe" => "Empire Invoke-PSRemoting (PowerShell stager)",
                    _ => "Empire PowerShell stager",
                };
                set_tool(la::Tool::Other(t.into()), 4, &mut tool, &mut tool_rank);
            }
            match pname.as_str() {
                "wmiprvse.exe" => set_tool(
                    la::Tool::Other("WMI (Win32_Process.Create)".into()),
                    2,
                    &mut tool,
                    &mut tool_rank,
                ),
                "mmc.exe" => set_tool(la::Tool::Mmc20, 3, &mut tool, &mut tool_rank),
                "wsmprovhost.exe" => {
                    set_tool(la::Tool::PowerShellRemoting, 3, &mut tool, &mut tool_rank)
                }
                "winrshost.exe" => set_tool(la::Tool::Winrs, 3, &mut tool, &mut tool_rank),
                _ => {}
            }
            if cname == "mshta.exe" && cmd.to_ascii_lowercase().contains("-embedding") {
                set_tool(
                    la::Tool::Other("DCOM htafile (LethalHTA)".into()),
                    3,
                    &mut tool,
                    &mut tool_rank,
                );
            }
            if cname == "mmc.exe" && cmd.to_ascii_lowercase().contains("-embedding") {
                set_tool(la::Tool::Mmc20, 3, &mut tool, &mut tool_rank);
            }
            if cname == "psexesvc.exe" {
                set_tool(la::Tool::PsExec, 4, &mut tool, &mut tool_rank);
            }
            if let Some(c) = b.command(ev) {
                fnd.commands.push(c);
            }
        }
        if etype == "NETWORK_CONNECTION" && b.has(o.row, "dcom-inbound-connection") {
            let p = lower_name(ev.s(f::TARGET_PATH));
            let t = match p.as_str() {
                "explorer.exe" => la::Tool::ShellWindows,
                "mmc.exe" => la::Tool::Mmc20,
                "mshta.exe" => la::Tool::Other("DCOM htafile (LethalHTA)".into()),
                "excel.exe" => la::Tool::Other("DCOM Excel.Application".into()),
                _ => la::Tool::Other("DCOM".into()),
            };
            set_tool(t, 2, &mut tool, &mut tool_rank);
            fnd.details
                .entry("DCOM server process".into())
                .or_default()
                .push(ev.s(f::TARGET_PATH).to_string());
        }
        if ev.is_security(5145) || ev.is_sysmon(17) || ev.is_sysmon(18) || ev.is_sysmon(11) {
            let path = ev.s(f::TARGET_FILE_PATH);
            if let Some(t) = la::tool_for_pipe(path) {
                set_tool(t, 4, &mut tool, &mut tool_rank);
            }
            if let Some(p) = la::parse_exec_pipe(path) {
                fnd.details.entry("pipes".into()).or_default().push(format!(
                    "{}-{}-{}-*",
                    p.service, p.client_host, p.client_pid
                ));
                if !p.service.eq_ignore_ascii_case("PSEXESVC") {
                    fnd.analysis.push(format!("PsExec ran under the renamed service `{}` (`-r {}`); client host {} PID {} (from the pipe name).", p.service, p.service, p.client_host, p.client_pid));
                }
            } else if ev.is_security(5145) {
                let share = ev.s(f::TARGET_RESOURCE);
                let written = write_access(ev);
                let file = path.to_string();
                if b.has(o.row, "admin-share-executable") {
                    let what = if written { "written" } else { "opened" };
                    fnd.details
                        .entry(format!("files {what} over SMB"))
                        .or_default()
                        .push(format!("{share}\\{file}"));
                    if lower_name(&file) == "remcomsvc.exe" {
                        set_tool(la::Tool::RemCom, 4, &mut tool, &mut tool_rank);
                    }
                    if lower_name(&file) == "psexesvc.exe" {
                        set_tool(la::Tool::PsExec, 4, &mut tool, &mut tool_rank);
                    }
                } else {
                    fnd.details
                        .entry("pipes and shares".into())
                        .or_default()
                        .push(format!("{share}\\{file}"));
                }
            } else if ev.is_sysmon(11) {
                fnd.details
                    .entry("files written by the SMB server".into())
                    .or_default()
                    .push(path.to_string());
                if lower_name(path) == "psexesvc.exe" {
                    set_tool(la::Tool::PsExec, 4, &mut tool, &mut tool_rank);
                }
            } else {
                fnd.details
                    .entry("pipes".into())
                    .or_default()
                    .push(path.to_string());
            }
        }
        if ev.is_security(5140) {
            fnd.details
                .entry("shares".into())
                .or_default()
                .push(ev.s(f::TARGET_RESOURCE).to_string());
        }
        if etype.starts_with("SCHEDULED_TASK") {
            let task = match ev.opt(f::TARGET_RESOURCE) {
                Some(t) => t.to_string(),
                None if ev.s(f::PRODUCT_EVENT_TYPE).starts_with("atsvc.") => {
                    format!("AT job: {}", safe_command(ev.s(f::TARGET_CMD)))
                }
                None => String::new(),
            };
            if !task.is_empty() {
                fnd.details.entry("task".into()).or_default().push(task);
            }
            if let Some(out) = la::impacket_output(ev.s(f::TARGET_CMD)) {
                set_tool(out.tool, 5, &mut tool, &mut tool_rank);
            } else {
                set_tool(
                    la::Tool::Other("remote scheduled task".into()),
                    1,
                    &mut tool,
                    &mut tool_rank,
                );
            }
            if let Some(c) = b.command(ev) {
                fnd.commands.push(c);
            }
        }
        if ev.is_system(10016) {
            fnd.details
                .entry("DCOM class".into())
                .or_default()
                .push(ev.s(f::TARGET_RESOURCE).to_string());
        }
        if b.has(o.row, "pth-ntlm-network-logon") {
            fnd.analysis.push(
                "The session's NTLM logon has key length 0, the pattern of pass-the-hash tools."
                    .into(),
            );
            techniques.insert("T1550.002".into());
        }
    }
    if !sessions.is_empty() {
        fnd.details
            .insert("logon sessions".into(), sessions.into_iter().collect());
    }
    // What ran: every process of the sessions involved (the "network logon followed by process
    // creations" view) and the children of the processes the movement started.
    let mut extra_rows: BTreeSet<u32> = BTreeSet::new();
    let member_rows: BTreeSet<u32> = members.iter().map(|o| o.row).collect();
    for o in members {
        if let Some(l) = b.logon_for.get(&o.row) {
            for &r in b.session_procs.get(l).map(Vec::as_slice).unwrap_or(&[]) {
                extra_rows.insert(r);
            }
        }
        let ev = b.ev(o.row);
        if ev.s(f::EVENT_TYPE) == "PROCESS_LAUNCH" {
            if let Some(pid) = ev.int(f::TARGET_PID) {
                let image = lower_name(ev.s(f::TARGET_PATH));
                for &r in b
                    .children
                    .get(&(host_lc(ev), pid))
                    .map(Vec::as_slice)
                    .unwrap_or(&[])
                {
                    let c = b.ev(r);
                    if c.ts >= ev.ts
                        && c.ts - ev.ts <= 15 * MINUTE
                        && lower_name(c.s(f::PRINCIPAL_PATH)) == image
                    {
                        extra_rows.insert(r);
                    }
                }
            }
        }
    }
    for r in extra_rows.difference(&member_rows) {
        let ev = b.ev(*r);
        if let Some(c) = b.command(ev) {
            fnd.commands.push(c);
        }
        fnd.evidence.push(ev.evidence_ref());
        fnd.last_ts = fnd.last_ts.max(ev.ts);
    }
    fnd.event_count = fnd.evidence.len();

    // The same encoded PowerShell on the source host: the operator's own launch of the payload.
    if let Some(src_key) = source
        .as_ref()
        .and_then(|s| s.key)
        .filter(|k| Some(*k) != host)
    {
        let encoded: BTreeSet<String> = members
            .iter()
            .filter_map(|o| la::decode_powershell(b.ev(o.row).s(f::TARGET_CMD)))
            .map(|d| d.encoded)
            .collect();
        if !encoded.is_empty() {
            let evs = b.inp.evs;
            for ev in evs {
                let cmd = ev.s(f::TARGET_CMD);
                // A substring test first: decoding every launch for every finding is costly.
                if ev.s(f::EVENT_TYPE) != "PROCESS_LAUNCH"
                    || !encoded.iter().any(|e| cmd.contains(e.as_str()))
                {
                    continue;
                }
                let Some(d) = la::decode_powershell(cmd) else {
                    continue;
                };
                if !encoded.contains(&d.encoded)
                    || b.r.resolve(Some(ev.host()), None) != Some(src_key)
                {
                    continue;
                }
                fnd.analysis.push(format!(
                    "The same encoded command ran on the source {} at {} (launched by {}): source-side evidence of the payload.",
                    ev.host(),
                    short(ev.ts),
                    file_name(ev.s(f::PRINCIPAL_PATH))
                ));
                fnd.evidence.push(ev.evidence_ref());
            }
        }
    }
    fnd.event_count = fnd.evidence.len();
    for o in members {
        let ev = b.ev(o.row);
        if b.has(o.row, "powershell-pipe-server") {
            set_tool(
                la::Tool::Other("PowerShell remoting server over a named pipe".into()),
                3,
                &mut tool,
                &mut tool_rank,
            );
        }
        if b.has(o.row, "remote-registry-write") {
            fnd.details
                .entry("registry".into())
                .or_default()
                .push(format!(
                    "{} = {}",
                    ev.s(f::TARGET_REG_KEY),
                    safe_command(ev.s(f::TARGET_REG_VALUE_DATA))
                ));
            let t = if lower_name(ev.s(f::PRINCIPAL_PATH)) == "wmiprvse.exe" {
                "WMI StdRegProv (remote registry)"
            } else {
                "Remote Registry (winreg)"
            };
            set_tool(la::Tool::Other(t.into()), 2, &mut tool, &mut tool_rank);
        }
        if ev.is("Microsoft-Windows-WinRM/Operational", 169)
            || ev.is("Microsoft-Windows-WinRM/Operational", 91)
        {
            set_tool(la::Tool::PowerShellRemoting, 1, &mut tool, &mut tool_rank);
            if let Some(a) = target_account(ev).or_else(|| principal_account(ev)) {
                fnd.details.entry("WinRM user".into()).or_default().push(a);
            }
        }
    }
    // Services with generated names created over the wire by a client that is not a known
    // tool: an SCMR client such as impacket's, as zerologon and spreading scripts use.
    if tool.is_none() {
        let names = fnd.details.get("service").cloned().unwrap_or_default();
        let captured = members.iter().any(|o| b.ev(o.row).is_capture());
        if captured && !names.is_empty() && names.iter().all(|n| generated_service_name(n)) {
            let upper = names
                .iter()
                .all(|n| n.len() <= 24 && n.bytes().all(|b| b.is_ascii_uppercase()));
            let label = if upper {
                "impacket-style SCMR client (generated service name)"
            } else {
                "SCMR client with generated service names (custom tool or spreading malware)"
            };
            set_tool(la::Tool::Other(label.into()), 1, &mut tool, &mut tool_rank);
        }
    }
    // The tool says which techniques were used more precisely than the queries that hit.
    let by_tool: &[&str] = match tool.as_ref().map(|t| t.name()) {
        Some(n) if n.contains("StdRegProv") => &["T1112", "T1047"],
        Some(n) if n.contains("winreg") => &["T1112", "T1021.002"],
        _ => tool.as_ref().map(tool_techniques).unwrap_or(&[]),
    };
    if !by_tool.is_empty() {
        let mut t: BTreeSet<String> = by_tool.iter().map(|x| x.to_string()).collect();
        for extra in ["T1570", "T1550.002", "T1021.002"] {
            let wrote =
                extra == "T1570" && fnd.details.keys().any(|k| k.starts_with("files written"));
            let pth = extra == "T1550.002" && techniques.contains(extra);
            let smb = extra == "T1021.002"
                && (fnd.details.contains_key("files written over SMB")
                    || fnd.details.contains_key("shares"));
            if wrote || pth || smb {
                t.insert(extra.to_string());
            }
        }
        techniques = t;
    }
    fnd.techniques = techniques.into_iter().collect();
    let tool_name = tool.as_ref().map(|t| t.name().to_string());
    fnd.tool = tool_name.clone();

    let mechanism = if families.contains("psexec") || families.contains("pipe") {
        "PsExec-style remote service execution"
    } else if families.contains("impacket") {
        "impacket remote execution"
    } else if families.contains("remote-service") {
        "remote service execution"
    } else if families.contains("wmi") {
        "WMI remote process creation"
    } else if families.contains("dcom") {
        "DCOM remote execution"
    } else if families.contains("task") {
        "remote scheduled task"
    } else if families.contains("winrm") {
        "WinRM remote execution"
    } else if families.contains("pipe-shell") {
        "remote shell over a named pipe"
    } else if families.contains("remote-registry") {
        "remote registry modification"
    } else if families.contains("admin-share") {
        "file transfer to an administrative share"
    } else {
        "remote execution"
    };
    let dst = fnd
        .target
        .as_ref()
        .map(|t| t.host.clone())
        .unwrap_or_else(|| "?".into());
    let with_tool = tool_name.map(|t| format!(" ({t})")).unwrap_or_default();
    let all_captured = members.iter().all(|o| b.ev(o.row).is_capture());
    // From a capture alone: a file copied to an admin share and nothing run is a tool
    // transfer (T1570), not remote execution.
    let transfer_only = all_captured && families.iter().all(|f| f == "admin-share");
    let failed_only = all_captured && families.iter().all(|f| f == "failed");
    if failed_only && !local {
        fnd.kind = FindingKind::FailedAttempt;
        let src = fnd
            .source
            .as_ref()
            .map(|s| s.host.clone())
            .unwrap_or_else(|| "an unknown source".into());
        let what = members
            .iter()
            .map(|o| b.ev(o.row).s(f::PRODUCT_EVENT_TYPE).to_string())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join(", ");
        fnd.title = format!("Failed remote execution attempt ({what}) from {src} to {dst}");
        fnd.severity = Severity::Medium;
        fnd.confidence = Confidence::High;
        for o in members {
            let ev = b.ev(o.row);
            fnd.analysis.push(format!(
                "{} at frame {} was refused by the server ({}): nothing was created.",
                ev.s(f::PRODUCT_EVENT_TYPE),
                ev.int(f::RECORD_NUMBER).unwrap_or(0),
                ev.opt(f::SECURITY_SUMMARY).unwrap_or("error")
            ));
        }
        fnd.follow_ups.push(format!(
            "Look for a successful retry from {src} against {dst} with another technique or account."
        ));
        return Some(fnd);
    }
    if local {
        fnd.kind = FindingKind::LocalExecution;
        fnd.title = format!("Local {mechanism}{with_tool} on {dst}: the source is the host itself (not lateral movement)");
        fnd.severity = severity.min(Severity::Medium);
        fnd.confidence = Confidence::High;
        fnd.analysis.push("Source and target are the same host (loopback address, the host's own address, or a PsExec pipe naming the host itself): remote-execution tooling used locally, not movement between hosts.".into());
        fnd.follow_ups.push(format!(
            "Review who ran the tool on {dst} and why (local privilege use or testing)."
        ));
    } else if families.contains("dcom") && members.iter().all(|o| b.ev(o.row).is_system(10016)) {
        fnd.kind = FindingKind::FailedAttempt;
        let src = fnd
            .source
            .as_ref()
            .map(|s| s.host.clone())
            .unwrap_or_else(|| "an unknown source".into());
        fnd.title = format!(
            "Failed DCOM lateral movement attempt from {src} to {dst} (remote launch denied)"
        );
        fnd.severity = Severity::Medium;
        fnd.confidence = Confidence::High;
        fnd.analysis.push("System 10016 shows the remote activation of a lateral-movement COM class was denied: an attempt that did not execute.".into());
        fnd.follow_ups.push(format!(
            "Look for a successful retry from {src} with another technique."
        ));
    } else {
        let src = fnd
            .source
            .as_ref()
            .map(|s| s.host.clone())
            .unwrap_or_else(|| "an unknown source".into());
        fnd.title = format!("{}{with_tool} from {src} to {dst}", capitalise(mechanism));
        if transfer_only {
            fnd.title = format!(
                "Lateral tool transfer{with_tool} from {src} to {dst}: executable copied to an administrative share, no execution seen"
            );
        }
        if source.is_none() {
            fnd.kind = FindingKind::SuspectedMovement;
            fnd.title = format!(
                "{}{with_tool} on {dst}: remote-execution traces, source not attributable",
                capitalise(mechanism)
            );
        }
        fnd.severity = if transfer_only {
            Severity::Medium
        } else {
            severity.max(Severity::High)
        };
        if transfer_only {
            fnd.techniques = vec!["T1021.002".into(), "T1570".into()];
            fnd.analysis.push("The capture shows the file written but no service, task, WMI or DCOM execution: a lateral tool transfer. Look for how it was run later (host logs of the target).".into());
        }
        fnd.confidence = match source.as_ref().map(|s| s.strength) {
            Some(3..) => Confidence::High,
            Some(_) => Confidence::Medium,
            None => Confidence::Low,
        };
        if source.is_none() {
            fnd.analysis.push(format!("No source could be attributed from the evidence on {dst}: no network logon, share access or inbound connection ties the execution to another host."));
        }
        fnd.follow_ups.push(format!(
            "Process-tree analysis on {dst} for the processes listed, from {} to {}.",
            short(fnd.first_ts),
            short(fnd.last_ts)
        ));
        if let Some(a) = &fnd.account {
            fnd.follow_ups.push(format!("Compromised-account response for {a}: where else it logged on, reset its credentials."));
        }
        if let Some(s) = &fnd.source {
            fnd.follow_ups.push(format!(
                "Collect and hunt the source host {} for how the attacker got there.",
                s.host
            ));
        }
    }
    Some(fnd)
}

pub(super) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Whether a 5145's access mask or list includes writing data.
pub(super) fn write_access(ev: &Ev) -> bool {
    if let Some(mask) = ev.additional("AccessMask") {
        let m = mask
            .trim()
            .trim_start_matches("0x")
            .trim_start_matches("0X");
        if let Ok(v) = u64::from_str_radix(m, 16) {
            // WriteData/AddFile 0x2, AppendData 0x4.
            return v & 0x6 != 0;
        }
    }
    ev.additional("AccessList")
        .is_some_and(|l| l.contains("%%4417") || l.contains("%%4418") || l.contains("WriteData"))
}

/// What a captured event adds to a finding (files written, shares, pipes, DCOM classes); the
/// tool it points to with its rank.
fn capture_member(fnd: &mut Finding, ev: &Ev) -> Option<(la::Tool, u8)> {
    let mut tool = None;
    let share = ev.s(f::TARGET_RESOURCE);
    match ev.s(f::EVENT_TYPE) {
        "FILE_CREATION" => {
            let path = ev.s(f::TARGET_FILE_PATH);
            let mut note = path.to_string();
            if let Some(n) = ev.additional("bytes_written") {
                note.push_str(&format!(" ({n} bytes"));
                if ev.additional("pe_header_seen") == Some("true") {
                    note.push_str(", PE header");
                }
                note.push(')');
            }
            fnd.details
                .entry("files written over SMB".into())
                .or_default()
                .push(note);
            match lower_name(path).as_str() {
                "psexesvc.exe" => tool = Some((la::Tool::PsExec, 4)),
                "remcomsvc.exe" => tool = Some((la::Tool::RemCom, 4)),
                _ => {}
            }
        }
        "FILE_OPEN" => {
            let pipe = ev.pipe_name();
            if let Some(t) = la::tool_for_pipe(pipe) {
                tool = Some((t, 4));
            }
            let shown = match la::parse_exec_pipe(pipe) {
                Some(p) => format!("{}-{}-{}-*", p.service, p.client_host, p.client_pid),
                None => pipe.to_string(),
            };
            fnd.details.entry("pipes".into()).or_default().push(shown);
        }
        "SCHEDULED_TASK_CREATION" | "SCHEDULED_TASK_MODIFICATION"
            if ev.s(f::PRODUCT_EVENT_TYPE).starts_with("atsvc.") =>
        {
            tool = Some((la::Tool::At, 2));
        }
        "GENERIC_EVENT" | "PROCESS_LAUNCH" => {
            let class = ev.s(f::TARGET_APPLICATION);
            if !class.is_empty() {
                fnd.details
                    .entry("DCOM class".into())
                    .or_default()
                    .push(class.to_string());
            }
            let lc = class.to_ascii_lowercase();
            let op = ev.s(f::PRODUCT_EVENT_TYPE).to_ascii_lowercase();
            tool = if lc.contains("mmc20") {
                Some((la::Tool::Mmc20, 3))
            } else if lc.contains("shellwindows") || lc.contains("shellbrowserwindow") {
                Some((la::Tool::ShellWindows, 3))
            } else if lc.contains("excel") {
                Some((la::Tool::Other("DCOM Excel.Application".into()), 3))
            } else if op.contains("execmethod") || lc.contains("wbem") {
                Some((la::Tool::Other("WMI (Win32_Process.Create)".into()), 2))
            } else {
                None
            };
        }
        _ => {}
    }
    if !share.is_empty() && share.starts_with("\\\\") {
        fnd.details
            .entry("shares".into())
            .or_default()
            .push(share.to_string());
    }
    tool
}

/// A service name a tool generated: random letters (`PLYteGjx`), 20 upper-case letters
/// (`MNHHCLPEEJKJIICCIEFH`), or a long run of random letters and digits.
fn generated_service_name(name: &str) -> bool {
    let n = name.trim();
    la::is_random_name(n)
        || (n.len() >= 16
            && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && n.bytes().filter(u8::is_ascii_digit).count() >= 4)
        || (n.len() >= 16 && n.bytes().all(|b| b.is_ascii_uppercase()))
}
