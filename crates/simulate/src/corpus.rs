//! Benchmark corpora (`lateral simulate --events N`): the three stories in full, plus a fleet
//! of workstations living ordinary days (the same background activity the stories are set
//! in) until the corpus holds exactly N events.
//!
//! Fleet hosts are generated one at a time and each host one day at a time; a day's events
//! are written out as soon as it is simulated, so memory holds one host-day whatever N is.
//! Host `i` is always the same host (its names, addresses and random streams are seeded from
//! its number), so the same N always writes the same bytes, and a larger N extends a smaller
//! one's fleet.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::background::{self, Dc, Profile};
use crate::host::{Account, Host, HostSpec};
use crate::time::{utc, DAY, HOUR, MIN};
use crate::{Generated, SimulateError};

/// The fleet's days: 30 days ending on the psexec-chain story's day.
const FIRST_DAY: (i32, u32, u32) = (2025, 6, 9);
const DAYS: i64 = 30;
const DOMAIN_SID: &str = "S-1-5-21-1402718530-2286530157-3170227645";
const DC: Dc = Dc {
    ip: "10.0.0.10",
    fqdn: "dc01.corp.local",
};

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SimulateError + '_ {
    move |source| SimulateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Write a corpus of `events` events into `out`: `<story>/` folders with the three stories,
/// and `fleet/ws<NNNNN>-windows.jsonl` with the background fleet. The stories are always
/// written in full, so a corpus never has fewer events than they hold.
pub fn generate_corpus(events: u64, out: &Path) -> Result<Generated, SimulateError> {
    std::fs::create_dir_all(out).map_err(io(out))?;
    let mut generated = Generated {
        files: Vec::new(),
        events: 0,
    };
    for s in crate::SCENARIOS {
        let g = crate::generate(s.name, &out.join(s.name))?;
        generated.events += g.events;
        generated.files.extend(g.files);
    }
    let fleet = out.join("fleet");
    let mut remaining = events.saturating_sub(generated.events as u64);
    let mut i = 0u32;
    while remaining > 0 {
        i += 1;
        if i == 1 {
            std::fs::create_dir_all(&fleet).map_err(io(&fleet))?;
        }
        let (n, path) = fleet_host(i, remaining, &fleet)?;
        remaining = remaining.saturating_sub(n);
        generated.events += n as usize;
        generated.files.push(path);
    }
    Ok(generated)
}

fn leak(s: String) -> &'static str {
    // A few dozen bytes per fleet host for the life of the process: host specs hold
    // `&'static str` names, as the stories' constant hosts do.
    Box::leak(s.into_boxed_str())
}

/// Simulate fleet host `i` day by day, writing at most `budget` events; returns how many were
/// written and the file.
fn fleet_host(i: u32, budget: u64, dir: &Path) -> Result<(u64, PathBuf), SimulateError> {
    let short = leak(format!("WS{i:05}"));
    let fqdn = leak(format!("ws{i:05}.corp.local"));
    let ip = leak(format!("10.1.{}.{}", 1 + (i / 250) % 250, 1 + i % 250));
    let (y, m, d) = FIRST_DAY;
    let boot = utc(y, m, d, 0, 0, 0, 0) - 2 * DAY + i64::from(i % 720) * MIN;
    let first_record = [
        100_000 + u64::from(i) * 7_919,
        5_000 + u64::from(i) * 131,
        200_000 + u64::from(i) * 4_099,
    ];
    let mut host = Host::new(HostSpec {
        short,
        fqdn,
        ip,
        domain: "CORP",
        tz_minutes: -240,
        boot,
        first_record,
    });
    let user = Account::domain_user("CORP", DOMAIN_SID, &format!("user{i:05}"), 3000 + i);
    let profile = Profile {
        sysmon_network: true,
        wmi_hosts: i.is_multiple_of(3),
        admin_chores: false,
        dc: DC,
        share_users: Vec::new(),
    };
    let path = dir.join(format!("{}-windows.jsonl", short.to_ascii_lowercase()));
    let file = std::fs::File::create(&path).map_err(io(&path))?;
    let mut w = std::io::BufWriter::new(file);
    let mut next = first_record;
    let mut written = 0u64;
    let mut session = None;
    let first_midnight = host.local_midnight(y, m, d);
    for day in 0..DAYS {
        let day0 = first_midnight + day * DAY;
        if day == 0 {
            let t = day0 + 8 * HOUR + host.rng.between(0, 30 * MIN);
            session = Some(background::sign_in(&mut host, t, &user, false));
        }
        background::day(&mut host, &profile, day0, session.as_ref(), day == 0);
        // Write what happened before the next midnight; keep what runs past it for the next
        // day's file section, so the file stays in time order.
        let cutoff = day0 + DAY;
        let last = day + 1 == DAYS;
        let (mut ready, later): (Vec<_>, Vec<_>) = std::mem::take(&mut host.events)
            .into_iter()
            .partition(|e| last || e.time < cutoff);
        host.events = later;
        ready.sort_by_key(|e| e.time);
        let room = (budget - written).min(ready.len() as u64) as usize;
        ready.truncate(room);
        let text = crate::nxlog::render_counting(fqdn, host.spec.tz_minutes, &mut ready, &mut next);
        w.write_all(text.as_bytes()).map_err(io(&path))?;
        written += room as u64;
        if written >= budget {
            break;
        }
    }
    w.flush().map_err(io(&path))?;
    Ok((written, path))
}
