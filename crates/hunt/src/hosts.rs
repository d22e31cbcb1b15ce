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
//! An address claimed by two names at the same time goes to the most frequent pairing (the
//! other is recorded as a conflict); an address claimed by different names a day or more apart
//! (lab images, DHCP reuse) is split by period, and [`Resolver::resolve_at`] picks the host
//! that held it closest to the event's time.

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
    /// Name/address pairings seen: how often, first and last time; applied by
    /// [`Resolver::finish`].
    pairings: BTreeMap<(usize, usize), (usize, i64, i64)>,
    /// Addresses that named different hosts at different times (lab images, DHCP reuse):
    /// per address, (first, last, token) of each host's period.
    epochs: HashMap<String, Vec<(i64, i64, usize)>>,
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

    /// Say that `name` and `ip` are one host (either may be missing), as seen at `at` (µs).
    pub fn pair(&mut self, name: Option<&str>, ip: Option<&str>, at: i64) {
        let a = name.and_then(|n| self.name_token(n));
        let b = ip.and_then(|i| self.ip_token(i));
        if let (Some(a), Some(b)) = (a, b) {
            let e = self.pairings.entry((a, b)).or_insert((0, at, at));
            e.0 += 1;
            e.1 = e.1.min(at);
            e.2 = e.2.max(at);
        }
    }

    /// Addresses paired with several names whose periods do not overlap (a day apart or
    /// more) get one token per period: the address means each host in its own time.
    fn split_reused_addresses(&mut self) -> BTreeSet<usize> {
        const GAP: i64 = 24 * 3_600_000_000;
        let mut by_ip: BTreeMap<usize, Vec<(i64, i64, usize)>> = BTreeMap::new();
        for (&(name, ip), &(_, first, last)) in &self.pairings {
            by_ip.entry(ip).or_default().push((first, last, name));
        }
        let mut split = BTreeSet::new();
        for (ip, mut periods) in by_ip {
            if periods.len() < 2 {
                continue;
            }
            periods.sort();
            // Each period must start a day after every earlier one ended.
            let mut ended = i64::MIN;
            let mut disjoint = true;
            for (i, (first, last, _)) in periods.iter().enumerate() {
                if i > 0 && first.saturating_sub(ended) < GAP {
                    disjoint = false;
                    break;
                }
                ended = ended.max(*last);
            }
            if !disjoint {
                continue;
            }
            let Some(addr) = self
                .index
                .iter()
                .find(|(_, &i)| i == ip)
                .map(|(t, _)| t.trim_start_matches("ip:").to_string())
            else {
                continue;
            };
            let mut list = Vec::new();
            for (first, last, name) in periods {
                let token = self.token(format!("ip:{addr}@{first}"));
                self.union(name, token);
                list.push((first, last, token));
            }
            self.epochs.insert(addr, list);
            split.insert(ip);
        }
        split
    }

    /// Join the pairings, most frequent first. An address already joined to another host
    /// name is not joined again: the same address seen with two names (lab images, DHCP
    /// reuse, NAT) must not make two machines one. Call once, after every [`Resolver::learn`].
    pub fn finish(&mut self) {
        let split = self.split_reused_addresses();
        let mut order: Vec<((usize, usize), usize)> = self
            .pairings
            .iter()
            .filter(|((_, ip), _)| !split.contains(ip))
            .map(|(k, v)| (*k, v.0))
            .collect();
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
                    self.pair(ws, ev.opt(f::PRINCIPAL_IP), ev.ts);
                }
            }
            4648 if ev.channel() == "Security" => {
                self.pair(ev.opt(f::TARGET_HOSTNAME), ev.opt(f::TARGET_IP), ev.ts);
            }
            5145 if ev.channel() == "Security" => {
                if let Some(p) = lateral_analysis::parse_exec_pipe(ev.s(f::TARGET_FILE_PATH)) {
                    self.pair(Some(&p.client_host), ev.opt(f::PRINCIPAL_IP), ev.ts);
                }
            }
            3 if ev.channel() == "Microsoft-Windows-Sysmon/Operational" => {
                self.pair(
                    ev.opt(f::PRINCIPAL_HOSTNAME),
                    ev.opt(f::PRINCIPAL_IP),
                    ev.ts,
                );
                self.pair(ev.opt(f::TARGET_HOSTNAME), ev.opt(f::TARGET_IP), ev.ts);
                // The logging computer owns its own side of the connection.
                let local_ip = if ev.s(f::DIRECTION) == "INBOUND" {
                    ev.opt(f::TARGET_IP)
                } else {
                    ev.opt(f::PRINCIPAL_IP)
                };
                if !host.is_empty() {
                    self.pair(Some(&host), local_ip, ev.ts);
                }
            }
            _ => {}
        }
    }

    /// The identity key of a host name or address (`None` for placeholders and loopback).
    pub fn resolve(&mut self, name: Option<&str>, ip: Option<&str>) -> Option<HostKey> {
        self.resolve_at(name, ip, None)
    }

    /// As [`Resolver::resolve`], for an address seen at `at`: a reused address means the host
    /// that held it closest to that time.
    pub fn resolve_at(
        &mut self,
        name: Option<&str>,
        ip: Option<&str>,
        at: Option<i64>,
    ) -> Option<HostKey> {
        let by_ip = |r: &Self, k: String| -> Option<usize> {
            if let Some(periods) = r.epochs.get(&k) {
                let t = at.unwrap_or(i64::MAX);
                let dist = |(first, last, _): &(i64, i64, usize)| {
                    if t < *first {
                        first - t
                    } else if t > *last {
                        t.saturating_sub(*last)
                    } else {
                        0
                    }
                };
                return periods.iter().min_by_key(|p| dist(p)).map(|p| p.2);
            }
            r.index.get(&format!("ip:{k}")).copied()
        };
        let t = name
            .and_then(name_key)
            .and_then(|k| self.index.get(&format!("name:{k}")).copied())
            .or_else(|| ip.and_then(ip_key).and_then(|k| by_ip(self, k)));
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
                ips.insert(ip.split('@').next().unwrap_or(ip).to_string());
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
        r.pair(Some("WORKSTATION5"), Some("172.18.39.5"), 0);
        r.pair(Some("workstation5.theshire.local"), None, 0);
        r.pair(Some("WORKSTATION6"), Some("127.0.0.1"), 0);
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
            r.pair(Some("PC01"), Some("10.0.2.15"), 0);
        }
        r.pair(Some("IEWIN7"), Some("10.0.2.15"), 1_000);
        r.pair(Some("IEWIN7"), Some("10.0.2.18"), 1_000);
        r.finish();
        let pc = r.resolve(Some("PC01"), None);
        let ie = r.resolve(Some("IEWIN7"), None);
        assert_ne!(pc, ie);
        assert_eq!(r.resolve(None, Some("10.0.2.15")), pc);
        assert_eq!(r.resolve(None, Some("10.0.2.18")), ie);
        assert!(r.conflicts.contains("10.0.2.15"));
    }

    #[test]
    fn an_address_reused_a_year_later_means_each_host_in_its_own_time() {
        const YEAR: i64 = 365 * 24 * 3_600_000_000;
        let mut r = Resolver::default();
        r.pair(Some("PC01"), Some("10.0.2.17"), 0);
        r.pair(Some("PC01"), Some("10.0.2.17"), 60_000_000);
        r.pair(Some("MSEDGEWIN10CLON"), Some("10.0.2.17"), YEAR);
        r.finish();
        let pc = r.resolve(Some("PC01"), None);
        let clon = r.resolve(Some("MSEDGEWIN10CLON"), None);
        assert_ne!(pc, clon);
        assert_eq!(r.resolve_at(None, Some("10.0.2.17"), Some(30_000_000)), pc);
        assert_eq!(r.resolve_at(None, Some("10.0.2.17"), Some(YEAR + 5)), clon);
        let info = r.info(pc.expect("known"));
        assert_eq!(info.ips, vec!["10.0.2.17"]);
        assert!(r.conflicts.is_empty());
    }
}
