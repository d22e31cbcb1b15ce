//! One-line, analyst-readable summaries of events, for evidence lists and timelines.
//! Secrets on command lines are masked here, like everywhere else the hunt quotes one.

use lateral_model::f;

use crate::evidence::Ev;

/// The last component of a Windows or POSIX path.
pub(crate) fn file_name(path: &str) -> &str {
    path.rsplit(['\\', '/']).next().unwrap_or(path)
}

/// `DOMAIN\user`, or `user` without a domain; `None` without a user (placeholders included).
pub(crate) fn account_of(domain: &str, user: &str) -> Option<String> {
    if user.is_empty() || user == "-" {
        return None;
    }
    Some(if domain.is_empty() || domain == "-" {
        user.to_string()
    } else {
        format!("{domain}\\{user}")
    })
}

fn account(domain: &str, user: &str) -> String {
    account_of(domain, user).unwrap_or_default()
}

/// At most `n` characters, with an ellipsis when cut.
pub(crate) fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(n).collect();
        out.push('…');
        out
    }
}

/// `4624 logon type 3 (Kerberos) CORP\svc from 10.0.0.5 (WS01) id 0x3e1a77` and the like.
pub fn summary(ev: &Ev) -> String {
    if ev.is_capture() {
        return capture_summary(ev);
    }
    let id = ev.event_id();
    let etype = ev.s(f::EVENT_TYPE);
    let who_p = account(ev.s(f::PRINCIPAL_DOMAIN), ev.s(f::PRINCIPAL_USERID));
    let who_t = account(ev.s(f::TARGET_DOMAIN), ev.s(f::TARGET_USERID));
    let text = match etype {
        "PROCESS_LAUNCH" => {
            let parent = file_name(ev.s(f::PRINCIPAL_PATH));
            let cmd = ev
                .opt(f::TARGET_CMD)
                .unwrap_or_else(|| ev.s(f::TARGET_PATH));
            let user = if who_p.is_empty() {
                who_t.clone()
            } else {
                who_p.clone()
            };
            let mut s = format!("{parent} → {}", clip(cmd, 240));
            if let Some(pid) = ev.int(f::TARGET_PID) {
                s.push_str(&format!(" (pid {pid})"));
            }
            if !user.is_empty() {
                s.push_str(&format!(" as {user}"));
            }
            s
        }
        "USER_LOGIN" if id == 4648 => format!(
            "explicit credentials {} → {} ({}) by {} via {}",
            who_t,
            ev.s(f::TARGET_HOSTNAME),
            ev.s(f::TARGET_RESOURCE),
            who_p,
            file_name(ev.s(f::PRINCIPAL_PATH))
        ),
        "USER_LOGIN" => {
            let mut s = format!("logon {} {}", ev.s(f::AUTH_MECHANISM).to_lowercase(), who_t);
            if let Some(ip) = ev.opt(f::PRINCIPAL_IP) {
                s.push_str(&format!(" from {ip}"));
            }
            if let Some(h) = ev
                .opt(f::SRC_HOSTNAME)
                .or_else(|| ev.opt(f::PRINCIPAL_HOSTNAME))
            {
                s.push_str(&format!(" ({h})"));
            }
            if let Some(a) = ev.opt(f::AUTH_DETAILS) {
                s.push_str(&format!(" {a}"));
            }
            if let Some(l) = ev.opt(f::TARGET_LOGON_ID) {
                s.push_str(&format!(" logon id {l}"));
            }
            if ev.s(f::ACTION) == "BLOCK" {
                s.push_str(" FAILED");
            }
            s
        }
        "SERVICE_CREATION" => format!(
            "service {} installed: {}",
            ev.s(f::TARGET_APPLICATION),
            clip(ev.s(f::TARGET_CMD), 240)
        ),
        "SCHEDULED_TASK_CREATION" | "SCHEDULED_TASK_MODIFICATION" | "SCHEDULED_TASK_DELETION" => {
            format!(
                "task {} {}: {} by {}",
                ev.s(f::TARGET_RESOURCE),
                match etype {
                    "SCHEDULED_TASK_CREATION" => "created",
                    "SCHEDULED_TASK_MODIFICATION" => "updated",
                    _ => "deleted",
                },
                clip(ev.s(f::TARGET_CMD), 200),
                who_p
            )
        }
        "FILE_OPEN" | "FILE_CREATION" if id == 5145 || id == 5140 => format!(
            "{} {}{} by {} from {}",
            if id == 5140 { "share" } else { "share object" },
            ev.s(f::TARGET_RESOURCE),
            ev.opt(f::TARGET_FILE_PATH)
                .map(|p| format!("\\{p}"))
                .unwrap_or_default(),
            who_p,
            ev.s(f::PRINCIPAL_IP)
        ),
        "USER_RESOURCE_ACCESS" if id == 5140 => format!(
            "share {} connected by {} from {}",
            ev.s(f::TARGET_RESOURCE),
            who_p,
            ev.s(f::PRINCIPAL_IP)
        ),
        "NETWORK_CONNECTION" => {
            let proc_ = ev
                .opt(f::PRINCIPAL_PATH)
                .or_else(|| ev.opt(f::TARGET_PATH))
                .map(file_name)
                .unwrap_or("");
            format!(
                "{} {}:{} → {}:{} {}",
                ev.s(f::DIRECTION).to_lowercase(),
                ev.s(f::PRINCIPAL_IP),
                ev.int(f::PRINCIPAL_PORT)
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
                ev.s(f::TARGET_IP),
                ev.int(f::TARGET_PORT)
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
                proc_
            )
        }
        "FILE_CREATION" | "FILE_OPEN" => format!(
            "{} {} {}",
            file_name(ev.s(f::PRINCIPAL_PATH)),
            if etype == "FILE_CREATION" {
                "created"
            } else {
                "opened"
            },
            ev.s(f::TARGET_FILE_PATH)
        ),
        _ => ev
            .opt(f::DESCRIPTION)
            .map(|d| clip(d, 200))
            .unwrap_or_else(|| etype.to_string()),
    };
    let channel = ev.channel();
    let short_channel = channel
        .strip_prefix("Microsoft-Windows-")
        .map(|c| c.split('/').next().unwrap_or(c))
        .unwrap_or(channel);
    // Summaries quote command lines: never let a secret through.
    let text = lateral_analysis::mask_credentials(&text).text;
    format!("{short_channel} {id}: {text}")
}

/// A captured event in one line: frame, client → server, what the decoder saw, the account.
fn capture_summary(ev: &Ev) -> String {
    let who = account(ev.s(f::PRINCIPAL_DOMAIN), ev.s(f::PRINCIPAL_USERID));
    let what = ev
        .opt(f::DESCRIPTION)
        .unwrap_or_else(|| ev.s(f::PRODUCT_EVENT_TYPE));
    let mut text = format!(
        "frame {}: {} → {}: {}",
        ev.int(f::RECORD_NUMBER).unwrap_or(0),
        ev.s(f::PRINCIPAL_IP),
        ev.opt(f::TARGET_HOSTNAME)
            .unwrap_or_else(|| ev.s(f::TARGET_IP)),
        clip(what, 200)
    );
    if let Some(cmd) = ev.opt(f::TARGET_CMD) {
        if !what.contains(cmd) {
            text.push_str(&format!(" `{}`", clip(cmd, 200)));
        }
    }
    if !who.is_empty() {
        text.push_str(&format!(" as {who}"));
    }
    if let Some(a) = ev.opt(f::ACTION).filter(|a| matches!(*a, "BLOCK" | "FAIL")) {
        text.push_str(&format!(
            " [{a}: {}]",
            ev.opt(f::SECURITY_SUMMARY).unwrap_or("error")
        ));
    }
    lateral_analysis::mask_credentials(&text).text
}
