//! `lateral pcap FILE...`: the investigation summary an analyst writes from packet captures
//! (attacker, first pivot, account, service executable, shares, next targets, sessions).
//! Reading and the analysis are `lateral-pcap`'s ([`lateral_pcap::analyze_paths`]); this file only renders.

use std::io::Write;
use std::path::PathBuf;
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

pub fn pcap(args: PcapArgs) -> Result<ExitCode> {
    let analysis = lateral_pcap::analyze_paths(&args.paths);
    let summary = &analysis.summary;
    match args.format {
        PcapFormat::Table => print!("{}", render_text(summary)),
        PcapFormat::Md => print!("{}", markdown(summary)),
        PcapFormat::Json => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            serde_json::to_writer_pretty(&mut out, &analysis)?;
            writeln!(out)?;
            out.flush()?;
        }
    }
    if args.format != PcapFormat::Json {
        for i in &analysis.issues {
            eprintln!("warning: {i}");
        }
        for c in &analysis.captures {
            let s = &c.stats;
            eprintln!(
                "{}: {} frames, {} TCP and {} UDP flows, {} events, {} skipped or damaged frames, {} problems",
                c.file,
                s.frames,
                s.tcp_flows,
                s.udp_flows,
                s.events,
                s.frames_bad + s.ip_fragments,
                s.issues
            );
        }
    }
    Ok(if analysis.read_any {
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
    if !s.not_listed.is_empty() {
        row(
            &mut o,
            "Not listed (size limits)",
            s.not_listed.lines().join("<br>"),
        );
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
