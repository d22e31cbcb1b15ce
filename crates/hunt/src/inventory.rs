//! Which hosts are expected to administer others.
//!
//! An inventory file (CSV `host,role` with an optional header, or YAML `- host: X\n  role: Y`)
//! names each host's role: `admin-server`, `workstation`, `server` or `domain-controller`.
//! Movement from an admin server is expected administration unless other findings say
//! otherwise; movement from anything else is an unexpected source. Without an inventory a
//! stated heuristic is used instead, and the report says so.

use std::path::Path;

use serde::Deserialize;

use crate::findings::{Finding, FindingKind};
use crate::hosts::name_key;
use crate::pack::Severity;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inventory {
    pub hosts: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: line {line}: {message}")]
    Line {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}: {message}")]
    Yaml { file: String, message: String },
}

const ROLES: &[&str] = &["admin-server", "workstation", "server", "domain-controller"];

#[derive(Deserialize)]
struct YamlHost {
    host: String,
    role: String,
}

impl Inventory {
    pub fn load(path: &Path) -> Result<Inventory, InventoryError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| InventoryError::Io {
            file: file.clone(),
            source,
        })?;
        Self::parse(&text, &file)
    }

    pub fn parse(text: &str, file: &str) -> Result<Inventory, InventoryError> {
        let trimmed = text.trim_start();
        let mut hosts = Vec::new();
        if trimmed.starts_with('-') || trimmed.starts_with("hosts:") {
            #[derive(Deserialize)]
            #[serde(untagged)]
            enum Doc {
                List(Vec<YamlHost>),
                Wrapped { hosts: Vec<YamlHost> },
            }
            let doc: Doc = serde_norway::from_str(text).map_err(|e| InventoryError::Yaml {
                file: file.to_string(),
                message: e.to_string(),
            })?;
            let list = match doc {
                Doc::List(l) => l,
                Doc::Wrapped { hosts } => hosts,
            };
            for h in list {
                let role = h.role.trim().to_ascii_lowercase();
                if !ROLES.contains(&role.as_str()) {
                    return Err(InventoryError::Yaml {
                        file: file.to_string(),
                        message: format!(
                            "host {}: unknown role {role:?} (use one of {})",
                            h.host,
                            ROLES.join(", ")
                        ),
                    });
                }
                hosts.push((h.host.trim().to_string(), role));
            }
        } else {
            for (i, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let mut parts = line.split(',').map(str::trim);
                let host = parts.next().unwrap_or_default();
                let role = parts.next().unwrap_or_default().to_ascii_lowercase();
                if i == 0 && host.eq_ignore_ascii_case("host") {
                    continue;
                }
                if host.is_empty() || !ROLES.contains(&role.as_str()) {
                    return Err(InventoryError::Line {
                        file: file.to_string(),
                        line: i + 1,
                        message: format!(
                            "expected `host,role` with role one of {}",
                            ROLES.join(", ")
                        ),
                    });
                }
                hosts.push((host.to_string(), role));
            }
        }
        Ok(Inventory { hosts })
    }

    /// The role of a host known by any of these names or addresses.
    pub fn role_of(&self, name: &str, names: &[String], ips: &[String]) -> Option<String> {
        let keys: Vec<String> = std::iter::once(name)
            .chain(names.iter().map(String::as_str))
            .filter_map(name_key)
            .collect();
        self.hosts
            .iter()
            .find(|(h, _)| {
                ips.iter().any(|ip| ip == h) || name_key(h).is_some_and(|k| keys.contains(&k))
            })
            .map(|(_, r)| r.clone())
    }
}

/// Mark sources as expected or unexpected from the inventory.
pub fn apply(inv: &Inventory, findings: &mut [Finding]) {
    for fnd in findings
        .iter_mut()
        .filter(|f| f.kind.is_movement() || f.kind == FindingKind::FailedAttempt)
    {
        let Some(src) = &fnd.source else { continue };
        let role = inv.role_of(&src.host, &[], &src.ips);
        match role.as_deref() {
            Some("admin-server") => fnd.analysis.push(format!(
                "Expected source: the inventory lists {} as an admin server. Confirm the change was planned.",
                src.host
            )),
            Some(r) => {
                fnd.analysis.push(format!(
                    "Unexpected source: the inventory lists {} as a {r}, not an admin server.",
                    src.host
                ));
                fnd.severity = fnd.severity.max(Severity::High);
            }
            None => {
                fnd.analysis.push(format!(
                    "Unexpected source: {} is not in the inventory.",
                    src.host
                ));
                fnd.severity = fnd.severity.max(Severity::High);
            }
        }
    }
}

/// Without an inventory: a source is unexpected when its name looks like a workstation or
/// it is known only by an address (no name, no logs of its own in the evidence).
pub fn heuristic(findings: &mut [Finding]) {
    for fnd in findings.iter_mut().filter(|f| f.kind.is_movement()) {
        let Some(src) = &fnd.source else { continue };
        let upper = src.host.to_ascii_uppercase();
        let workstation = [
            "WS",
            "WKS",
            "WRK",
            "DESKTOP",
            "LAPTOP",
            "PC",
            "WIN10",
            "WORKSTATION",
            "CLIENT",
            "NB",
            "NLLT",
        ]
        .iter()
        .any(|p| {
            upper.starts_with(p)
                || upper.contains(&format!("-{p}"))
                || upper.ends_with(&format!("-{}", p))
        });
        let address_only = src.host.parse::<std::net::IpAddr>().is_ok();
        if workstation || address_only {
            fnd.analysis.push(format!(
                "Unexpected source (heuristic, no inventory given): {} {}; workstations and unnamed hosts do not normally administer other hosts.",
                src.host,
                if address_only { "is known only by its address" } else { "has a workstation-like name" }
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_yaml_inventories_parse_and_bad_roles_are_reported() {
        let inv = Inventory::parse(
            "host,role\nADM01,admin-server\nws01.corp.local,workstation\n",
            "inv.csv",
        )
        .expect("csv");
        assert_eq!(
            inv.role_of("WS01", &[], &[]).as_deref(),
            Some("workstation")
        );
        assert_eq!(
            inv.role_of("adm01.corp.local", &[], &[]).as_deref(),
            Some("admin-server")
        );
        let y = Inventory::parse("- host: DC01\n  role: domain-controller\n", "inv.yaml")
            .expect("yaml");
        assert_eq!(
            y.role_of("dc01", &[], &[]).as_deref(),
            Some("domain-controller")
        );
        let err = Inventory::parse("ADM01,boss\n", "inv.csv").expect_err("bad role");
        assert!(err.to_string().contains("inv.csv: line 1"), "{err}");
    }
}
