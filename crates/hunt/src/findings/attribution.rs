//! Who acted: sources named by events, sessions, pipes and neighbours; accounts; process
//! ancestry; commands as findings quote them.

use std::collections::{BTreeMap, HashMap};

use lateral_analysis as la;
use lateral_model::f;

use super::*;
use crate::evidence::Ev;
use crate::time::MINUTE;

impl<'a> Builder<'a> {
    pub(super) fn ev(&self, row: u32) -> &'a Ev {
        &self.inp.evs[row as usize]
    }

    pub(super) fn entry(&self, i: usize) -> &'a crate::pack::CompiledEntry {
        &self.inp.pack.entries[i]
    }

    pub(super) fn has(&self, row: u32, id: &str) -> bool {
        self.entry_of
            .get(id)
            .is_some_and(|i| self.row_entries.get(&row).is_some_and(|v| v.contains(i)))
    }

    pub(super) fn new(inp: &'a Inputs<'a>) -> Builder<'a> {
        let mut r = Resolver::default();
        for ev in inp.evs {
            r.learn(ev);
        }
        r.finish();
        let entry_of = inp
            .pack
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.entry.id.as_str(), i))
            .collect::<HashMap<_, _>>();
        let mut row_entries: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for (id, rows) in inp.hits {
            if let Some(&i) = entry_of.get(id.as_str()) {
                for &row in rows {
                    row_entries.entry(row).or_default().push(i);
                }
            }
        }
        let mut b = Builder {
            inp,
            r,
            entry_of,
            row_entries,
            logon_for: HashMap::new(),
            near: HashMap::new(),
            inbound: HashMap::new(),
            procs: HashMap::new(),
            children: HashMap::new(),
            session_procs: HashMap::new(),
            kdc_clients: Vec::new(),
        };
        // Session links: keep the latest logon before the activity.
        for seq in [
            "session-processes",
            "session-processes-4688",
            "session-activity",
            "logon-then-service",
        ] {
            for &(l, act) in inp.links.get(seq).map(Vec::as_slice).unwrap_or(&[]) {
                let better = match b.logon_for.get(&act) {
                    Some(&old) => inp.evs[l as usize].ts > inp.evs[old as usize].ts,
                    None => true,
                };
                if better {
                    b.logon_for.insert(act, l);
                }
            }
        }
        for (seq, how) in [
            ("svcctl-then-service", "svcctl opened over IPC$ just before"),
            (
                "share-write-then-service",
                "its binary was written over SMB just before",
            ),
            (
                "share-write-then-launch",
                "its image was written over SMB just before",
            ),
            (
                "rpc-then-wmiprvse-child",
                "inbound RPC connection just before",
            ),
            (
                "logon-then-service-7045",
                "network logon on the host just before",
            ),
        ] {
            for &(l, act) in inp.links.get(seq).map(Vec::as_slice).unwrap_or(&[]) {
                let better = match b.near.get(&act) {
                    Some(&(old, _)) => inp.evs[l as usize].ts > inp.evs[old as usize].ts,
                    None => true,
                };
                if better {
                    b.near.insert(act, (l, how));
                }
            }
        }
        for ev in inp.evs {
            if ev.is_capture()
                && ev.s(f::PRODUCT_EVENT_TYPE).starts_with("KRB_")
                && ev.opt(f::TARGET_USERID).is_some()
            {
                b.kdc_clients.push(ev.row);
            }
            let inbound_logon = ev.is_security(4624)
                && ev.s(f::AUTH_MECHANISM) == "NETWORK"
                && !ev.flag(f::LOOPBACK)
                && ev.opt(f::PRINCIPAL_IP).is_some();
            let inbound_conn = ev.s(f::EVENT_TYPE) == "NETWORK_CONNECTION"
                && ev.s(f::DIRECTION) == "INBOUND"
                && !ev.flag(f::LOOPBACK)
                && matches!(ev.int(f::TARGET_PORT), Some(445 | 139 | 135 | 5985 | 5986));
            if inbound_logon || inbound_conn {
                if let Some(k) = b.r.resolve(Some(ev.host()), None) {
                    b.inbound.entry(k).or_default().push((ev.ts, ev.row));
                }
            }
            if ev.s(f::EVENT_TYPE) == "PROCESS_LAUNCH" {
                if let Some(pid) = ev.int(f::TARGET_PID) {
                    b.procs.entry((host_lc(ev), pid)).or_default().push(ev.row);
                }
                if let Some(ppid) = ev.int(f::PRINCIPAL_PID) {
                    b.children
                        .entry((host_lc(ev), ppid))
                        .or_default()
                        .push(ev.row);
                }
                if let Some(&l) = b.logon_for.get(&ev.row) {
                    b.session_procs.entry(l).or_default().push(ev.row);
                }
            }
        }
        for v in b.inbound.values_mut() {
            v.sort_unstable();
        }
        b
    }

    /// The source a remote-actor event names itself.
    pub(super) fn direct_source(&mut self, ev: &Ev) -> Option<Source> {
        if ev.is_capture() {
            return self.capture_source(ev);
        }
        let remote_named = match ev.event_id() {
            4624 | 4625 | 5140 | 5145 => ev.is_security(ev.event_id()),
            10016 => ev.is_system(10016),
            3 => ev.is_sysmon(3) && ev.s(f::DIRECTION) == "INBOUND",
            _ => false,
        };
        if !remote_named {
            return None;
        }
        let ip = ev.opt(f::PRINCIPAL_IP).map(str::to_string);
        let name = ev
            .opt(f::SRC_HOSTNAME)
            .or_else(|| {
                if ev.event_id() == 3 || ev.event_id() == 4624 || ev.event_id() == 4625 {
                    ev.opt(f::PRINCIPAL_HOSTNAME)
                } else {
                    None
                }
            })
            .map(str::to_string);
        let name = name.filter(|n| crate::hosts::name_key(n).is_some());
        if ip.is_none() && name.is_none() {
            return None;
        }
        let local = ev.flag(f::LOOPBACK);
        let key = if local {
            self.r.resolve(Some(ev.host()), None)
        } else {
            self.r
                .resolve_at(name.as_deref(), ip.as_deref(), Some(ev.ts))
        };
        let account = if ev.event_id() == 4624 || ev.event_id() == 4625 {
            target_account(ev)
        } else {
            principal_account(ev).or_else(|| target_account(ev))
        }
        .filter(|a| !is_service_account(a));
        Some(Source {
            key,
            name,
            ip,
            how: "named in the event",
            strength: 4,
            local,
            account,
        })
    }

    /// A captured event's actor is the client of its connection: its address, the NTLM
    /// workstation it gave (unless generated) and the session's account.
    fn capture_source(&mut self, ev: &Ev) -> Option<Source> {
        let ip = ev.opt(f::PRINCIPAL_IP).map(str::to_string);
        let name = ev
            .opt(f::PRINCIPAL_HOSTNAME)
            .filter(|n| {
                crate::hosts::name_key(n).is_some() && !crate::hosts::generated_workstation(n)
            })
            .map(str::to_string);
        if ip.is_none() && name.is_none() {
            return None;
        }
        let key = self
            .r
            .resolve_at(name.as_deref(), ip.as_deref(), Some(ev.ts));
        let target = self.r.resolve_at(
            ev.opt(f::TARGET_HOSTNAME),
            ev.opt(f::TARGET_IP),
            Some(ev.ts),
        );
        let local = ev.flag(f::LOOPBACK)
            || (ip.is_some() && ip.as_deref() == ev.opt(f::TARGET_IP))
            || (key.is_some() && key == target);
        let account = self.capture_account(ev);
        Some(Source {
            key,
            name,
            ip,
            how: "client of the captured connection",
            strength: 4,
            local,
            account,
        })
    }

    /// The account of a captured action: the session's NTLM account, else the client named in
    /// the Kerberos tickets the same client obtained from a KDC shortly before (preferring a
    /// ticket for the server acted on).
    pub(super) fn capture_account(&self, ev: &Ev) -> Option<String> {
        let own = if ev.s(f::EVENT_TYPE) == "USER_LOGIN" {
            target_account(ev)
        } else {
            principal_account(ev).or_else(|| target_account(ev))
        };
        if let Some(a) = own.filter(|a| !is_service_account(a)) {
            return Some(a);
        }
        let client = ev.opt(f::PRINCIPAL_IP)?;
        let server = crate::hosts::name_key(ev.host());
        let mut best: Option<(bool, i64, String)> = None;
        for &r in &self.kdc_clients {
            let k = self.ev(r);
            if k.s(f::PRINCIPAL_IP) != client || k.ts > ev.ts + MINUTE || ev.ts - k.ts > 10 * MINUTE
            {
                continue;
            }
            let Some(user) = target_account(k).filter(|a| !is_service_account(a)) else {
                continue;
            };
            // `cifs/dc1.contoso.local`, `HOST/admin-pc`: the service host after the slash.
            let for_server = server.is_some()
                && k.opt(f::TARGET_URL)
                    .and_then(|u| u.split('/').nth(1))
                    .and_then(crate::hosts::name_key)
                    == server;
            let cand = (for_server, k.ts, user);
            if best.as_ref().is_none_or(|b| (cand.0, cand.1) > (b.0, b.1)) {
                best = Some(cand);
            }
        }
        best.map(|(_, _, u)| u)
    }

    pub(super) fn logon_source(
        &mut self,
        logon_row: u32,
        how: &'static str,
        strength: u8,
    ) -> Option<Source> {
        let lev = self.ev(logon_row);
        let mut s = self.direct_source(lev)?;
        s.how = how;
        s.strength = strength;
        Some(s)
    }

    pub(super) fn pipe_source(&mut self, ev: &Ev) -> Option<Source> {
        let p = la::parse_exec_pipe(ev.pipe_name())?;
        let key = self.r.resolve(Some(&p.client_host), None);
        Some(Source {
            key,
            name: Some(p.client_host),
            ip: None,
            how: "client host named in the PsExec pipe",
            strength: 3,
            local: false,
            account: None,
        })
    }

    pub(super) fn attribute(&mut self, row: u32) -> Option<Source> {
        let ev = self.ev(row);
        if let Some(s) = self.direct_source(ev) {
            return Some(s);
        }
        if let Some(&l) = self.logon_for.get(&row) {
            if let Some(s) = self.logon_source(l, "network logon session with the same logon id", 4)
            {
                return Some(s);
            }
        }
        if let Some(s) = self.pipe_source(ev) {
            return Some(s);
        }
        if let Some(&(n, how)) = self.near.get(&row) {
            let nev = self.ev(n);
            if let Some(mut s) = self.direct_source(nev) {
                s.how = how;
                s.strength = 2;
                return Some(s);
            }
            if let Some(&l) = self.logon_for.get(&n) {
                if let Some(s) = self.logon_source(l, how, 2) {
                    return Some(s);
                }
            }
        }
        // The nearest inbound SMB/RPC connection or network logon within two minutes (Sysmon
        // logs a connection when it sees it, which can be after the process it caused).
        let host = self.r.resolve(Some(ev.host()), None)?;
        let cands = self.inbound.get(&host)?;
        // Prefer the last one before the execution; only then the first one after.
        let before = cands
            .iter()
            .filter(|(t, _)| *t <= ev.ts && ev.ts - *t <= 2 * MINUTE)
            .max_by_key(|(t, r)| (*t, std::cmp::Reverse(*r)))
            .copied();
        let after = || {
            cands
                .iter()
                .filter(|(t, _)| *t > ev.ts && *t - ev.ts <= 2 * MINUTE)
                .min_by_key(|(t, r)| (*t, *r))
                .copied()
        };
        let nearest = before.or_else(after);
        if let Some((_, r)) = nearest {
            let mut s = self.direct_source(self.ev(r))?;
            s.how = "inbound SMB/RPC connection or network logon on the host within two minutes";
            s.strength = 1;
            return Some(s);
        }
        None
    }

    pub(super) fn account(&self, row: u32) -> Option<String> {
        let ev = self.ev(row);
        if ev.is_capture() {
            return self.capture_account(ev);
        }
        let logon = self.logon_for.get(&row).map(|&l| self.ev(l));
        let candidates = [
            logon.and_then(target_account),
            if ev.is_security(4624) {
                target_account(ev)
            } else {
                None
            },
            principal_account(ev),
            target_account(ev),
        ];
        let mut fallback = None;
        for c in candidates.into_iter().flatten() {
            if is_service_account(&c) {
                continue;
            }
            if c.ends_with('$') {
                fallback.get_or_insert(c);
                continue;
            }
            return Some(c);
        }
        fallback
    }

    pub(super) fn ancestry(&self, ev: &Ev) -> Vec<String> {
        let mut chain = vec![file_name(ev.s(f::TARGET_PATH)).to_string()];
        let mut cur = ev;
        let host = host_lc(ev);
        for _ in 0..8 {
            let parent_name = file_name(cur.s(f::PRINCIPAL_PATH)).to_string();
            if parent_name.is_empty() {
                break;
            }
            chain.push(parent_name.clone());
            let stop = [
                "services.exe",
                "wmiprvse.exe",
                "explorer.exe",
                "svchost.exe",
                "wsmprovhost.exe",
                "winrshost.exe",
                "mmc.exe",
            ];
            if stop.contains(&parent_name.to_ascii_lowercase().as_str()) {
                break;
            }
            let Some(ppid) = cur.int(f::PRINCIPAL_PID) else {
                break;
            };
            let found = self.procs.get(&(host.clone(), ppid)).and_then(|rows| {
                rows.iter()
                    .map(|&r| self.ev(r))
                    .filter(|p| {
                        p.ts <= cur.ts
                            && lower_name(p.s(f::TARGET_PATH)) == parent_name.to_ascii_lowercase()
                    })
                    .max_by_key(|p| p.ts)
            });
            match found {
                Some(p) => cur = p,
                None => break,
            }
        }
        if let Some(&l) = self.logon_for.get(&ev.row) {
            let lev = self.ev(l);
            chain.push(format!(
                "logon session {} ({})",
                lev.s(f::TARGET_LOGON_ID),
                lev.s(f::AUTH_MECHANISM).to_lowercase()
            ));
        }
        chain.reverse();
        chain
    }

    pub(super) fn command(&self, ev: &Ev) -> Option<CommandInfo> {
        let (cmd, user, pid, parent, ppid) = match ev.s(f::EVENT_TYPE) {
            "PROCESS_LAUNCH" => (
                ev.opt(f::TARGET_CMD).or_else(|| ev.opt(f::TARGET_PATH))?,
                principal_account(ev).or_else(|| target_account(ev)),
                ev.int(f::TARGET_PID),
                ev.opt(f::PRINCIPAL_PATH).map(str::to_string),
                ev.int(f::PRINCIPAL_PID),
            ),
            "SERVICE_CREATION" | "SCHEDULED_TASK_CREATION" | "SCHEDULED_TASK_MODIFICATION" => (
                ev.opt(f::TARGET_CMD)?,
                principal_account(ev),
                None,
                None,
                None,
            ),
            _ => return None,
        };
        let decoded = la::decode_powershell(cmd).map(|d| {
            let mut text = safe_command(&d.decoded);
            for n in d.nested {
                text.push_str("\n--- nested payload ---\n");
                text.push_str(&safe_command(&n));
            }
            text
        });
        Some(CommandInfo {
            time: iso(ev.ts),
            host: ev.host().to_string(),
            user,
            pid,
            parent,
            parent_pid: ppid,
            command_line: safe_command(cmd),
            decoded,
            ancestry: if ev.s(f::EVENT_TYPE) == "PROCESS_LAUNCH" {
                self.ancestry(ev)
            } else {
                Vec::new()
            },
        })
    }
}
