//! Host identity: which names and addresses in the evidence are the same machine.
//!
//! Windows evidence names a host in several ways: the logging computer's FQDN
//! (`WORKSTATION6.theshire.local`), a NetBIOS workstation name in a logon (`WORKSTATION5`), an
//! IP address, the client host inside a PsExec pipe name. The resolver joins them with
//! union-find over tokens (`name:<short name>`, `ip:<address>`), using only pairings the
//! evidence itself states:
//!
//! * a logon's workstation name and its source address (4624/4625, NTLM);
//! * both ends of a Sysmon network connection (each side's host name with its address, and
//!   the logging computer with its own side's address);
//! * the client host in a PsExec pipe name with the address that opened the pipe (5145);
//! * a 4648's target server name with its address, when given.
//!
//! Short names compare case-insensitively and without the domain, so an FQDN and its
//! NetBIOS name are one host. Loopback and unspecified addresses are never joined to anything.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use lateral_model::{f, vocab};
use serde::Serialize;

use crate::evidence::Ev;

/// A resolved host: every name and address known for it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HostInfo {
    /// Display name: a logging computer's short name, else the most frequent name, else an address.
    pub name: String,
    /// Every name seen (short and fully qualified), sorted.
    pub names: Vec<String>,
    pub ips: Vec<String>,
    /// Whether the evidence holds this host's own logs.
    pub logs_collected: bool,
}

#[derive(Debug, Default)]
pub struct Resolver {
    parent: Vec<usize>,
    index: HashMap<String, usize>,
    /// Names as written, per token, with counts (for display).
    spellings: HashMap<usize, BTreeMap<String, usize>>,
    loggers: BTreeSet<usize>,
    fqdns: HashMap<usize, BTreeSet<String>>,
    /// Name/address pairings seen, with how often; applied by [`Resolver::finish`].
    pairings: BTreeMap<(usize, usize), usize>,
    /// Addresses seen with more than one host name (address reuse, DHCP, NAT).
    pub conflicts: BTreeSet<String>,
}

/// The short-name key of a host name (`ws01.corp.local` → `ws01`), or `None` for placeholders.
pub fn name_key(name: &str) -> Option<String> {
    let n = name.trim().trim_start_matches('\\').trim_end_matches('$');
    if n.is_empty()
        || n == "-"
        || n == "."
        || n.eq_ignore_ascii_case("localhost")
        || n.eq_ignore_ascii_case("null")
    {
        return None;
    }
    if vocab::normalize_ip(n).is_some_and(|ip| ip.parse::<std::net::IpAddr>().is_ok()) {
        return None;
    }
    Some(vocab::short_hostname(n).to_ascii_lowercase())
}

/// A usable (non-loopback, non-placeholder) IP address, normalised.
pub fn ip_key(ip: &str) -> Option<String> {
    let ip = vocab::normalize_ip(ip)?;
    let parsed: std::net::IpAddr = ip.parse().ok()?;
    if parsed.is_loopback() || parsed.is_unspecified() {
        return None;
    }
    Some(ip)
}

impl Resolver {
    fn token(&mut self, t: String) -> usize {
        if let Some(&i) = self.index.get(&t) {
            return i;
        }
        let i = self.parent.len();
        self.parent.push(i);
        self.index.insert(t, i);
        i
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            // Keep the smaller index as root so results do not depend on insertion accidents.
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[hi] = lo;
        }
    }

    fn name_token(&mut self, name: &str) -> Option<usize> {
        let key = name_key(name)?;
        let i = self.token(format!("name:{key}"));
        let trimmed = name.trim().trim_start_matches('\\');
        let short = trimmed.split('.').next().unwrap_or(trimmed).to_string();
        *self
            .spellings
            .entry(i)
            .or_default()
            .entry(short)
            .or_default() += 1;
        if name.contains('.') {
            self.fqdns
                .entry(i)
                .or_default()
                .insert(name.trim().to_ascii_lowercase());
        }
        Some(i)
    }

    fn ip_token(&mut self, ip: &str) -> Option<usize> {
        let key = ip_key(ip)?;
        Some(self.token(format!("ip:{key}")))
    }

    /// Say that `name` and `ip` are one host (either may be missing).
    pub fn pair(&mut self, name: Option<&str>, ip: Option<&str>) {
        let a = name.and_then(|n| self.name_token(n));
        let b = ip.and_then(|i| self.ip_token(i));
        if let (Some(a), Some(b)) = (a, b) {
            *self.pairings.entry((a, b)).or_default() += 1;
        }
    }

    /// Join the pairings, most frequent first. An address already joined to another host
    /// name is not joined again: the same address seen with two names (lab images, DHCP
    /// reuse, NAT) must not make two machines one. Call once, after every [`Resolver::learn`].
    pub fn finish(&mut self) {
        let mut order: Vec<((usize, usize), usize)> =
            self.pairings.iter().map(|(k, v)| (*k, *v)).collect();
        order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        // Roots whose set already holds a host name.
        let mut named: BTreeSet<usize> = self
            .index
            .iter()
            .filter(|(t, _)| t.starts_with("name:"))
            .map(|(_, &i)| self.find_const(i))
            .collect();
        for ((name, ip), _) in order {
            let (rn, ri) = (self.find(name), self.find(ip));
            if rn == ri {
                continue;
            }
            if named.contains(&ri) {
                if let Some(t) = self.index.iter().find(|(_, &i)| i == ip).map(|(t, _)| t) {
                    self.conflicts
                        .insert(t.trim_start_matches("ip:").to_string());
                }
                continue;
            }
            self.union(name, ip);
            named.insert(self.find(name));
        }
        self.pairings.clear();
    }

    /// Register a computer whose own logs are in the evidence.
    pub fn logger(&mut self, name: &str) {
        if let Some(i) = self.name_token(name) {
            self.loggers.insert(i);
        }
    }

    /// Learn pairings from one event.
    pub fn learn(&mut self, ev: &Ev) {
        let host = ev.host().to_string();
        if !host.is_empty() {
            self.logger(&host);
        }
        match ev.event_id() {
            4624 | 4625 if ev.channel() == "Security" => {
                let ws = ev
                    .opt(f::SRC_HOSTNAME)
                    .or_else(|| ev.opt(f::PRINCIPAL_HOSTNAME));
                if !ev.flag(f::LOOPBACK) {
                    self.pair(ws, ev.opt(f::PRINCIPAL_IP));
                }
            }
            4648 if ev.channel() == "Security" => {
                self.pair(ev.opt(f::TARGET_HOSTNAME), ev.opt(f::TARGET_IP));
            }
            5145 if ev.channel() == "Security" => {
                if let Some(p) = lateral_analysis::parse_exec_pipe(ev.s(f::TARGET_FILE_PATH)) {
                    self.pair(Some(&p.client_host), ev.opt(f::PRINCIPAL_IP));
                }
            }
            3 if ev.channel() == "Microsoft-Windows-Sysmon/Operational" => {
                self.pair(ev.opt(f::PRINCIPAL_HOSTNAME), ev.opt(f::PRINCIPAL_IP));
                self.pair(ev.opt(f::TARGET_HOSTNAME), ev.opt(f::TARGET_IP));
                // The logging computer owns its own side of the connection.
                let local_ip = if ev.s(f::DIRECTION) == "INBOUND" {
                    ev.opt(f::TARGET_IP)
                } else {
                    ev.opt(f::PRINCIPAL_IP)
                };
                if !host.is_empty() {
                    self.pair(Some(&host), local_ip);
                }
            }
            _ => {}
        }
    }

    /// The identity key of a host name or address (`None` for placeholders and loopback).
    pub fn resolve(&mut self, name: Option<&str>, ip: Option<&str>) -> Option<HostKey> {
        let t = name
            .and_then(name_key)
            .and_then(|k| self.index.get(&format!("name:{k}")).copied())
            .or_else(|| {
                ip.and_then(ip_key)
                    .and_then(|k| self.index.get(&format!("ip:{k}")).copied())
            });
        let t = match t {
            Some(t) => t,
            None => {
                // Not seen while learning: register it so it still gets a stable key.
                let a = name.and_then(|n| self.name_token(n));
                let b = ip.and_then(|i| self.ip_token(i));
                a.or(b)?
            }
        };
        Some(HostKey(self.find(t)))
    }

    /// Everything known about one resolved host.
    pub fn info(&mut self, key: HostKey) -> HostInfo {
        let root = self.find(key.0);
        let members: Vec<(String, usize)> = self
            .index
            .iter()
            .map(|(t, &i)| (t.clone(), i))
            .collect::<Vec<_>>()
            .into_iter()
            .filter(|(_, i)| self.find_const(*i) == root)
            .collect();
        let mut names = BTreeSet::new();
        let mut ips = BTreeSet::new();
        let mut logged_name: Option<String> = None;
        let mut best: Option<(usize, String)> = None;
        let mut logs_collected = false;
        let mut sorted = members;
        sorted.sort();
        for (t, i) in &sorted {
            if let Some(ip) = t.strip_prefix("ip:") {
                ips.insert(ip.to_string());
                continue;
            }
            if self.loggers.contains(i) {
                logs_collected = true;
            }
            if let Some(sp) = self.spellings.get(i) {
                // Prefer the upper-case NetBIOS spelling, then the most frequent one.
                let pick = sp
                    .iter()
                    .max_by(|a, b| {
                        let up = |s: &str| {
                            s.chars().any(|c| c.is_ascii_uppercase())
                                && !s.chars().any(|c| c.is_ascii_lowercase())
                        };
                        (up(a.0), a.1, std::cmp::Reverse(a.0)).cmp(&(
                            up(b.0),
                            b.1,
                            std::cmp::Reverse(b.0),
                        ))
                    })
                    .map(|(s, n)| (*n, s.clone()));
                for s in sp.keys() {
                    names.insert(s.clone());
                }
                if self.loggers.contains(i) && logged_name.is_none() {
                    logged_name = pick.as_ref().map(|(_, s)| s.clone());
                }
                if let Some(p) = pick {
                    if best.as_ref().is_none_or(|b| p.0 > b.0) {
                        best = Some(p);
                    }
                }
            }
            if let Some(fq) = self.fqdns.get(i) {
                names.extend(fq.iter().cloned());
            }
        }
        let name = logged_name
            .or(best.map(|(_, s)| s))
            .or_else(|| ips.iter().next().cloned())
            .unwrap_or_default();
        HostInfo {
            name,
            names: names.into_iter().collect(),
            ips: ips.into_iter().collect(),
            logs_collected,
        }
    }

    fn find_const(&self, mut i: usize) -> usize {
        while self.parent[i] != i {
            i = self.parent[i];
        }
        i
    }
}

/// A resolved host (the root of its identity set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostKey(pub usize);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_addresses_join_and_loopback_never_does() {
        let mut r = Resolver::default();
        r.logger("WORKSTATION6.theshire.local");
        r.pair(Some("WORKSTATION5"), Some("172.18.39.5"));
        r.pair(Some("workstation5.theshire.local"), None);
        r.pair(Some("WORKSTATION6"), Some("127.0.0.1"));
        r.finish();
        let a = r.resolve(Some("Workstation5.theshire.local"), None);
        let b = r.resolve(None, Some("172.18.39.5"));
        assert_eq!(a, b);
        let c = r.resolve(Some("WORKSTATION6"), None).expect("known");
        assert_ne!(Some(c), a);
        assert_eq!(r.resolve(None, Some("127.0.0.1")), None);
        let info = r.info(a.expect("known"));
        assert_eq!(info.name, "WORKSTATION5");
        assert_eq!(info.ips, vec!["172.18.39.5"]);
        assert!(!info.logs_collected);
        assert!(r.info(c).logs_collected);
    }

    #[test]
    fn an_address_seen_with_two_names_joins_only_the_most_frequent() {
        let mut r = Resolver::default();
        for _ in 0..3 {
            r.pair(Some("PC01"), Some("10.0.2.15"));
        }
        r.pair(Some("IEWIN7"), Some("10.0.2.15"));
        r.pair(Some("IEWIN7"), Some("10.0.2.18"));
        r.finish();
        let pc = r.resolve(Some("PC01"), None);
        let ie = r.resolve(Some("IEWIN7"), None);
        assert_ne!(pc, ie);
        assert_eq!(r.resolve(None, Some("10.0.2.15")), pc);
        assert_eq!(r.resolve(None, Some("10.0.2.18")), ie);
        assert!(r.conflicts.contains("10.0.2.15"));
    }
}
