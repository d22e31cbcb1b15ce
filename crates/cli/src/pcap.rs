//! `lateral pcap FILE...`: the investigation summary an analyst writes from packet captures
//! (attacker, first pivot, account, service executable, shares, next targets, sessions).
//! The analysis is `lateral-pcap`'s; this file only collects files and renders.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, ValueEnum};
use lateral_pcap::summary::{render_text, InvestigationSummary};

pub const PCAP_EXAMPLES: &str = "Examples:
  lateral pcap capture.pcap
  lateral pcap ../shared/data/pcap/401trg/20171220_smb_psexec_add_user.pcap --format md > psexec.md
  lateral pcap ./captures --format json

Captures (pcap or pcapng, found by content; folders are walked) are read with TCP reassembly;
SMB1/2/3, NTLMSSP, Kerberos and DCE/RPC (svcctl, atsvc, task scheduler, DCOM, WMI) are decoded.
`lateral hunt` and `lateral search` read the same captures as evidence.";

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum PcapFormat {
    Table,
    Json,
    Md,
}

#[derive(Args, Debug)]
pub struct PcapArgs {
    /// Capture files or folders.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = PcapFormat::Table)]
    format: PcapFormat,
}

fn captures(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        entries.sort();
        for e in entries {
            captures(&e, out);
        }
        return;
    }
    let mut head = [0u8; 4];
    let is_capture = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .map(|_| lateral_pcap::detect(&head).is_some())
        .unwrap_or(false);
    if is_capture {
        out.push(path.to_path_buf());
    }
}

pub fn pcap(args: PcapArgs) -> Result<ExitCode> {
    let mut files = Vec::new();
    for p in &args.paths {
        if p.is_file() && !p.is_dir() {
            // Named explicitly: read it even if detection would reject it, so the error is shown.
            files.push(p.clone());
        } else {
            captures(p, &mut files);
        }
    }
    let mut events = Vec::new();
    let mut issues = Vec::new();
    let mut stats = Vec::new();
    let mut read_any = false;
    for f in &files {
        match lateral_pcap::read_capture_file(f) {
            Ok(r) => {
                read_any |= r.stats.frames > 0;
                for i in &r.issues {
                    issues.push(format!("{}: {i}", r.file));
                }
                stats.push((r.file.clone(), r.stats.clone()));
                events.extend(r.events);
            }
            Err(e) => issues.push(e.to_string()),
        }
    }
    let summary = lateral_pcap::summarize(&events);
    match args.format {
        PcapFormat::Table => print!("{}", render_text(&summary)),
        PcapFormat::Md => print!("{}", markdown(&summary)),
        PcapFormat::Json => {
            let doc = serde_json::json!({
                "summary": summary,
                "captures": stats.iter().map(|(f, s)| serde_json::json!({"file": f, "stats": s})).collect::<Vec<_>>(),
                "issues": issues,
                "events": events.len(),
            });
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
    }
    if args.format != PcapFormat::Json {
        for i in &issues {
            eprintln!("warning: {i}");
        }
        for (f, s) in &stats {
            eprintln!(
                "{f}: {} frames, {} TCP and {} UDP flows, {} events, {} skipped or damaged frames, {} problems",
                s.frames,
                s.tcp_flows,
                s.udp_flows,
                s.events,
                s.frames_bad + s.ip_fragments,
                s.issues
            );
        }
    }
    Ok(if read_any {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

fn markdown(s: &InvestigationSummary) -> String {
    let host = |h: &lateral_pcap::summary::Host| match (&h.name, &h.name_source) {
        (Some(n), Some(src)) => format!("{n} ({}; name from {src})", h.ip),
        _ => h.ip.clone(),
    };
    let mut o =
        String::from("# Capture investigation summary\n\n| question | answer |\n|---|---|\n");
    let row = |o: &mut String, q: &str, a: String| o.push_str(&format!("| {q} | {} |\n", cell(&a)));
    row(&mut o, "Captures", s.captures.join(", "));
    row(
        &mut o,
        "Initial attacker IP",
        match (&s.attacker_ip, &s.attacker_name) {
            (Some(ip), Some(h)) => format!("{ip} ({})", host(h)),
            (Some(ip), None) => ip.clone(),
            _ => "not determined".into(),
        },
    );
    row(
        &mut o,
        "First pivot host",
        s.first_pivot
            .as_ref()
            .map(host)
            .unwrap_or_else(|| "not determined".into()),
    );
    row(
        &mut o,
        "Account used",
        match (&s.account, &s.account_source) {
            (Some(a), Some(src)) => format!("{a} (from {src})"),
            (Some(a), None) => a.clone(),
            _ => "not visible in the capture".into(),
        },
    );
    row(
        &mut o,
        "Service executable dropped",
        s.service_executable
            .as_ref()
            .map(|f| {
                format!(
                    "{} ({} bytes{}, frame {})",
                    f.path,
                    f.bytes,
                    if f.pe_header { ", PE header" } else { "" },
                    f.frame
                )
            })
            .unwrap_or_else(|| "none seen".into()),
    );
    row(
        &mut o,
        "Services created",
        if s.services.is_empty() {
            "none".into()
        } else {
            s.services
                .iter()
                .map(|v| {
                    format!(
                        "{} → {} ({}, frame {}, {})",
                        v.name.as_deref().unwrap_or("(name not visible)"),
                        v.binary_path.as_deref().unwrap_or("(binary not visible)"),
                        v.operation,
                        v.frame,
                        v.outcome
                    )
                })
                .collect::<Vec<_>>()
                .join("<br>")
        },
    );
    row(
        &mut o,
        "Other remote execution",
        if s.remote_actions.is_empty() {
            "none".into()
        } else {
            s.remote_actions
                .iter()
                .map(|a| format!("{} (frame {}, {})", a.text, a.frame, a.outcome))
                .collect::<Vec<_>>()
                .join("<br>")
        },
    );
    row(
        &mut o,
        "Shares used",
        s.shares
            .iter()
            .map(|sh| format!("{}: {}", sh.share, sh.used_for.join("; ")))
            .collect::<Vec<_>>()
            .join("<br>"),
    );
    row(
        &mut o,
        "Next targets",
        if s.next_targets.is_empty() {
            "none seen".into()
        } else {
            s.next_targets
                .iter()
                .map(host)
                .collect::<Vec<_>>()
                .join(", ")
        },
    );
    if !s.visibility_gaps.is_empty() {
        row(&mut o, "Visibility gaps", s.visibility_gaps.join("<br>"));
    }
    for se in &s.sessions {
        o.push_str(&format!(
            "\n## {} {} → {}{}\n\nAccount: {} ({})\n\n| frame | time (UTC) | what |\n|---|---|---|\n",
            se.protocol,
            se.client,
            se.server,
            se.server_name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default(),
            se.account.as_deref().unwrap_or("not visible"),
            se.auth.as_deref().unwrap_or("no authentication seen")
        ));
        for l in &se.lines {
            o.push_str(&format!(
                "| {} | {} | {} |\n",
                l.frame,
                l.time,
                cell(&l.text)
            ));
        }
    }
    o
}
