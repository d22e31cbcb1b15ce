//! The deterministic translator behind `search_security_events`: UDM search text (or the
//! runbook dialect) is used as given; plain English in the phrasings hunters use is turned
//! into a query tree (never text with the user's words pasted in), whose echo is the
//! `udm_query` the tool returns.
//!
//! Recognised, in any order and case: an activity (PsExec/PSEXESVC service installs, WmiPrvSE
//! launching programs, `wmic ... process call create`, network connections, logins, service
//! installs, process launches, scheduled tasks, DNS, SMB, RDP, a named `.exe`), an IP address,
//! `on HOST` / `host HOST`, `user NAME` / `account NAME`, and `in the last N
//! minutes|hours|days`. Process-launch phrasings count each launch once: where the evidence
//! holds Sysmon process creation the query reads Sysmon's event 1, else Security 4688 (both
//! log the same launch).

use std::net::IpAddr;

use lateral_model::{f, Field};
use lateral_query::ast::{CmpOp, FieldRef, Node, Pred, Value};

/// What the evidence holds, where it changes the translation.
#[derive(Debug, Clone, Copy, Default)]
pub struct Hints {
    /// Sysmon event 1 (process creation) is present.
    pub sysmon_process_creation: bool,
}

/// A translation.
#[derive(Debug, Clone)]
pub struct Translation {
    pub node: Node,
    /// `in the last N hours` and the like, in hours.
    pub hours_back: Option<f64>,
}

fn eq(field: Field, v: &str) -> Node {
    Node::Pred(Pred::Compare {
        field: FieldRef::Column(field),
        op: CmpOp::Eq,
        value: Value::Str(v.to_string()),
        nocase: false,
    })
}

fn int_eq(field: Field, v: i64) -> Node {
    Node::Pred(Pred::Compare {
        field: FieldRef::Column(field),
        op: CmpOp::Eq,
        value: Value::Int(v),
        nocase: false,
    })
}

fn re(field: Field, pattern: &str) -> Node {
    Node::Pred(Pred::Compare {
        field: FieldRef::Column(field),
        op: CmpOp::Eq,
        value: Value::Regex(pattern.to_string()),
        nocase: true,
    })
}

fn any_of(nodes: Vec<Node>) -> Node {
    if nodes.len() == 1 {
        nodes.into_iter().next().unwrap_or(Node::And(Vec::new()))
    } else {
        Node::Or(nodes)
    }
}

const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";

fn one_record_per_launch(h: Hints) -> Node {
    if h.sysmon_process_creation {
        Node::And(vec![eq(f::CHANNEL, SYSMON), int_eq(f::EVENT_ID, 1)])
    } else {
        Node::And(vec![eq(f::CHANNEL, "Security"), int_eq(f::EVENT_ID, 4688)])
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Activity {
    Process,
    Service,
    Login,
    Network,
    Other,
}

/// Strip quotes and trailing punctuation from a word.
fn clean(w: &str) -> &str {
    w.trim_matches(|c: char| matches!(c, '\'' | '"' | '`' | ',' | ';' | '?' | '!' | '(' | ')'))
        .trim_end_matches('.')
}

fn is_hostname(w: &str) -> bool {
    !w.is_empty()
        && w.len() <= 253
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && w.chars().any(|c| c.is_ascii_alphabetic())
}

fn is_user(w: &str) -> bool {
    !w.is_empty()
        && w.len() <= 256
        && w.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '$' | '\\' | '@'))
}

/// Translate plain English; `None` when nothing in it is recognised.
pub fn translate(text: &str, hints: Hints) -> Option<Translation> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = text.split_whitespace().collect();
    let lw: Vec<String> = words.iter().map(|w| clean(w).to_lowercase()).collect();
    let has = |s: &str| lower.contains(s);
    let mut conds: Vec<Node> = Vec::new();
    let mut activity = Activity::Other;

    // Activities, most specific first.
    if has("psexesvc") || has("psexec") {
        activity = Activity::Service;
        conds.push(eq(f::EVENT_TYPE, "SERVICE_CREATION"));
        conds.push(any_of(vec![
            re(f::TARGET_APPLICATION, "^PSEXESVC"),
            re(f::TARGET_PATH, r"PSEXESVC\.exe"),
        ]));
    } else if has("wmiprvse") {
        activity = Activity::Process;
        conds.push(eq(f::EVENT_TYPE, "PROCESS_LAUNCH"));
        conds.push(eq(f::PRINCIPAL_PATH, "WmiPrvSE.exe"));
        let mut children = Vec::new();
        let tokens: Vec<&str> = lower
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
            .collect();
        for (names, image) in [
            (&["cmd", "cmd.exe"][..], "cmd.exe"),
            (
                &["psh", "powershell", "powershell.exe"][..],
                "powershell.exe",
            ),
            (&["pwsh", "pwsh.exe", "psh"][..], "pwsh.exe"),
        ] {
            if tokens.iter().any(|t| names.contains(t)) {
                children.push(eq(f::TARGET_PATH, image));
            }
        }
        if !children.is_empty() {
            conds.push(any_of(children));
        }
    } else if has("wmic") {
        activity = Activity::Process;
        conds.push(eq(f::EVENT_TYPE, "PROCESS_LAUNCH"));
        conds.push(eq(f::TARGET_PATH, "wmic.exe"));
        if has("call create") || has("process call") {
            conds.push(re(f::TARGET_CMD, r"process\s+call\s+create"));
        }
        if has("/node") || has("remote") {
            conds.push(re(f::TARGET_CMD, r"/node:"));
        }
    } else if has("network connection") || has("connections") || has("connection") {
        activity = Activity::Network;
        conds.push(eq(f::EVENT_TYPE, "NETWORK_CONNECTION"));
    } else if lw.iter().any(|w| {
        matches!(
            w.as_str(),
            "login"
                | "logins"
                | "logon"
                | "logons"
                | "log-in"
                | "sign-in"
                | "sign-ins"
                | "signin"
                | "signins"
                | "authentication"
                | "authentications"
        )
    }) {
        activity = Activity::Login;
        conds.push(eq(f::EVENT_TYPE, "USER_LOGIN"));
        if has("failed") || has("failure") {
            conds.push(Node::Not(Box::new(eq(f::ACTION, "ALLOW"))));
        }
    } else if has("service install")
        || has("new service")
        || has("services installed")
        || has("service creation")
    {
        activity = Activity::Service;
        conds.push(eq(f::EVENT_TYPE, "SERVICE_CREATION"));
    } else if has("scheduled task") {
        conds.push(eq(f::EVENT_TYPE, "SCHEDULED_TASK_CREATION"));
    } else if has("dns") {
        conds.push(eq(f::EVENT_TYPE, "NETWORK_DNS"));
    } else if has("process launch")
        || has("process creation")
        || has("processes")
        || has("process start")
    {
        activity = Activity::Process;
        conds.push(eq(f::EVENT_TYPE, "PROCESS_LAUNCH"));
    }
    if has("smb") || has("port 445") {
        conds.push(int_eq(f::TARGET_PORT, 445));
    } else if has("rdp") || has("port 3389") {
        conds.push(int_eq(f::TARGET_PORT, 3389));
    } else if has("winrm") {
        conds.push(any_of(vec![
            int_eq(f::TARGET_PORT, 5985),
            int_eq(f::TARGET_PORT, 5986),
        ]));
    }
    // A named program, when no activity above named it.
    if conds.is_empty() {
        if let Some(exe) = lw.iter().find(|w| w.ends_with(".exe") && w.len() > 4) {
            activity = Activity::Process;
            conds.push(eq(f::EVENT_TYPE, "PROCESS_LAUNCH"));
            conds.push(eq(f::TARGET_PATH, exe));
        }
    }
    if activity == Activity::Process {
        conds.push(one_record_per_launch(hints));
    }

    // Entities.
    for w in &lw {
        if let Ok(ip) = w.parse::<IpAddr>() {
            let ip = ip.to_string();
            conds.push(any_of(vec![
                eq(f::PRINCIPAL_IP, &ip),
                eq(f::TARGET_IP, &ip),
                eq(f::SRC_IP, &ip),
            ]));
        }
    }
    for (i, w) in lw.iter().enumerate() {
        let next = words.get(i + 1).map(|n| clean(n));
        match (w.as_str(), next) {
            ("on" | "host" | "hostname" | "computer" | "machine", Some(h))
                if is_hostname(h) && h.parse::<IpAddr>().is_err() && !is_stop_word(h) =>
            {
                let host_fields: &[Field] = match activity {
                    Activity::Process | Activity::Service => &[f::PRINCIPAL_HOSTNAME],
                    Activity::Login => &[f::TARGET_HOSTNAME],
                    _ => &[f::PRINCIPAL_HOSTNAME, f::TARGET_HOSTNAME],
                };
                conds.push(any_of(host_fields.iter().map(|fl| eq(*fl, h)).collect()));
            }
            ("user" | "account" | "username", Some(u)) if is_user(u) && !is_stop_word(u) => {
                let user_fields: &[Field] = match activity {
                    Activity::Login => &[f::TARGET_USERID],
                    _ => &[f::PRINCIPAL_USERID, f::TARGET_USERID, f::SRC_USERID],
                };
                conds.push(any_of(user_fields.iter().map(|fl| eq(*fl, u)).collect()));
            }
            _ => {}
        }
    }
    if conds.is_empty() {
        return None;
    }
    Some(Translation {
        node: if conds.len() == 1 {
            conds.remove(0)
        } else {
            Node::And(conds)
        },
        hours_back: time_span(&lw),
    })
}

fn is_stop_word(w: &str) -> bool {
    matches!(
        w.to_ascii_lowercase().as_str(),
        "the" | "a" | "an" | "in" | "on" | "for" | "from" | "to" | "with" | "last" | "and" | "or"
    )
}

/// `last N hours` (also `past`, minutes, days, weeks); `last hour`, `today`, `yesterday`.
fn time_span(lw: &[String]) -> Option<f64> {
    for (i, w) in lw.iter().enumerate() {
        if w == "last" || w == "past" {
            let (n, unit) = match (lw.get(i + 1), lw.get(i + 2)) {
                (Some(n), Some(u)) if n.parse::<f64>().is_ok() => {
                    (n.parse::<f64>().unwrap_or(1.0), u.as_str())
                }
                (Some(u), _) => (1.0, u.as_str()),
                _ => continue,
            };
            let hours = match unit.trim_end_matches('s') {
                "minute" | "min" => n / 60.0,
                "hour" | "hr" | "h" => n,
                "day" => n * 24.0,
                "week" => n * 168.0,
                _ => continue,
            };
            if hours.is_finite() && hours > 0.0 {
                return Some(hours);
            }
        }
    }
    if lw.iter().any(|w| w == "yesterday") {
        return Some(48.0);
    }
    if lw.iter().any(|w| w == "today") {
        return Some(24.0);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn udm(text: &str, sysmon: bool) -> String {
        let t = translate(
            text,
            Hints {
                sysmon_process_creation: sysmon,
            },
        )
        .map(|t| t.node)
        .unwrap_or(Node::And(Vec::new()));
        lateral_lookup::udm_text(&t)
    }

    #[test]
    fn the_serhatg_phrasings_translate() {
        let q = udm("PSEXESVC install on serhatg.local", true);
        assert!(
            q.contains(r#"metadata.event_type = "SERVICE_CREATION""#),
            "{q}"
        );
        assert!(q.contains(r#"principal.hostname = "serhatg.local""#), "{q}");
        let q = udm("WmiPrvSE launching cmd/psh on serhatg.local", true);
        assert!(q.contains("WmiPrvSE"), "{q}");
        assert!(q.contains("cmd"), "{q}");
        assert!(q.contains("powershell"), "{q}");
        let q = udm("wmic process call create on serhatg.local", true);
        assert!(q.contains("wmic"), "{q}");
        assert!(q.contains("lateral.event_id = 1"), "{q}");
        let q = udm("wmic process call create on serhatg.local", false);
        assert!(q.contains("lateral.event_id = 4688"), "{q}");
    }

    #[test]
    fn entities_and_spans() {
        let t = translate(
            "network connections involving IP 10.0.0.5 in the last 6 hours",
            Hints::default(),
        )
        .expect("translated");
        assert_eq!(t.hours_back, Some(6.0));
        let q = lateral_lookup::udm_text(&t.node);
        assert!(q.contains(r#"target.ip = "10.0.0.5""#), "{q}");
        assert!(q.contains("NETWORK_CONNECTION"), "{q}");
        let q = udm("logins for user admin", false);
        assert!(q.contains(r#"target.user.userid = "admin""#), "{q}");
        assert!(q.contains("USER_LOGIN"), "{q}");
        assert!(translate("hello there", Hints::default()).is_none());
    }
}
