//! Each story read back through lateral-sources: the mapped UDM facts the hunts rely on.

mod common;

use std::collections::BTreeSet;

use common::{ends_with_ci, event_id, host, is_sysmon, str_of};
use lateral_model::{f, UdmEvent};

const DAY_US: i64 = 86_400_000_000;

fn launches(events: &[UdmEvent]) -> impl Iterator<Item = &UdmEvent> {
    events
        .iter()
        .filter(|e| str_of(e, f::EVENT_TYPE) == "PROCESS_LAUNCH")
}

fn logons(events: &[UdmEvent]) -> impl Iterator<Item = &UdmEvent> {
    events
        .iter()
        .filter(|e| str_of(e, f::CHANNEL) == "Security" && event_id(e) == 4624)
}

#[test]
fn serhatg_daily_wmic_with_a_password_and_nothing_remote() {
    let (g, events) = common::generate_and_read("serhatg");
    assert_eq!(g.files.len(), 1);
    assert!(events.iter().all(|e| host(e) == "serhatg"));

    let wmic: Vec<&UdmEvent> = launches(&events)
        .filter(|e| is_sysmon(e))
        .filter(|e| ends_with_ci(str_of(e, f::TARGET_PATH), r"\WMIC.exe"))
        .filter(|e| str_of(e, f::TARGET_CMD).contains("/password:"))
        .collect();
    assert_eq!(wmic.len(), 3);
    let days: BTreeSet<i64> = wmic
        .iter()
        .map(|e| e.timestamp_micros().unwrap() / DAY_US)
        .collect();
    assert_eq!(days.len(), 3, "three different days");
    let at = (15 * 3600 + 27 * 60 + 53) * 1_000_000;
    for e in &wmic {
        let tod = e.timestamp_micros().unwrap() % DAY_US;
        assert!((at..at + 1_000_000).contains(&tod), "at 15:27:53 UTC");
        assert!(ends_with_ci(str_of(e, f::PRINCIPAL_PATH), r"\cmd.exe"));
        assert_eq!(str_of(e, f::PRINCIPAL_USERID), "docker");
        assert_eq!(str_of(e, f::PRINCIPAL_DOMAIN), "AD");
    }
    // 4688 for the same three launches.
    let wmic_4688 = launches(&events)
        .filter(|e| event_id(e) == 4688 && ends_with_ci(str_of(e, f::TARGET_PATH), r"\WMIC.exe"))
        .count();
    assert_eq!(wmic_4688, 3);
    // cmd.exe is started by the job's PowerShell, PID 19300, itself started by the scheduler.
    let cmd: Vec<&UdmEvent> = launches(&events)
        .filter(|e| is_sysmon(e) && str_of(e, f::TARGET_CMD).starts_with("cmd.exe /c \"wmic"))
        .collect();
    assert_eq!(cmd.len(), 3);
    assert!(cmd.iter().all(|e| e.int(f::PRINCIPAL_PID) == Some(19_300)));
    let ps: Vec<&UdmEvent> = launches(&events)
        .filter(|e| is_sysmon(e) && e.int(f::TARGET_PID) == Some(19_300))
        .collect();
    assert_eq!(ps.len(), 3);
    assert!(ps
        .iter()
        .all(|e| str_of(e, f::PRINCIPAL_CMD).ends_with("-k netsvcs -p -s Schedule")));

    // Nothing of PsExec or WMI execution, no network logon from elsewhere.
    assert!(!events.iter().any(|e| {
        let t = str_of(e, f::TARGET_PATH).to_ascii_lowercase();
        t.contains("psexe") || str_of(e, f::TARGET_APPLICATION).eq_ignore_ascii_case("PSEXESVC")
    }));
    assert!(!launches(&events).any(|e| ends_with_ci(str_of(e, f::PRINCIPAL_PATH), "WmiPrvSE.exe")));
    assert!(!launches(&events).any(|e| ends_with_ci(str_of(e, f::TARGET_PATH), "notepad.exe")));
    assert!(!logons(&events).any(|e| str_of(e, f::AUTH_MECHANISM) == "NETWORK"));
    assert!(!events
        .iter()
        .any(|e| str_of(e, f::EVENT_TYPE) == "SERVICE_CREATION"));
}

#[test]
fn wmi_spread_wmiprvse_runs_the_encoded_commands_on_two_targets() {
    let (g, events) = common::generate_and_read("wmi-spread");
    assert_eq!(g.files.len(), 3);
    let hosts: BTreeSet<String> = events.iter().map(host).collect();
    assert_eq!(
        hosts,
        ["venus", "wrk-btun", "wrk-klagerf"]
            .map(String::from)
            .into_iter()
            .collect()
    );
    // The collection gap.
    assert!(!events.iter().any(|e| is_sysmon(e) && event_id(e) == 3));
    assert!(events.iter().any(|e| is_sysmon(e) && event_id(e) == 1));

    let mut encoded_remote = BTreeSet::new();
    for target in ["venus", "wrk-klagerf"] {
        let ps: Vec<&UdmEvent> = launches(&events)
            .filter(|e| is_sysmon(e) && host(e) == target)
            .filter(|e| ends_with_ci(str_of(e, f::PRINCIPAL_PATH), r"\WmiPrvSE.exe"))
            .collect();
        assert_eq!(ps.len(), 2, "{target}: two WMI executions");
        for e in &ps {
            assert!(ends_with_ci(str_of(e, f::TARGET_PATH), r"\powershell.exe"));
            let cmd = str_of(e, f::TARGET_CMD);
            assert!(
                cmd.starts_with("powershell.exe -nop -w hidden -enc "),
                "{cmd}"
            );
            encoded_remote.insert(cmd.to_string());
            assert_eq!(str_of(e, f::PRINCIPAL_USERID), "btun-adm");
            // The launch runs in a network logon from wrk-btun on the same host.
            let lid = str_of(e, f::PRINCIPAL_LOGON_ID);
            let logon = logons(&events)
                .find(|l| host(l) == target && str_of(l, f::TARGET_LOGON_ID) == lid)
                .unwrap_or_else(|| panic!("{target}: no 4624 for {lid}"));
            assert_eq!(str_of(logon, f::PRINCIPAL_IP), "10.20.30.41");
            assert_eq!(str_of(logon, f::AUTH_MECHANISM), "NETWORK");
            assert!(events.iter().any(|x| host(x) == target
                && event_id(x) == 4672
                && str_of(x, f::PRINCIPAL_LOGON_ID) == lid));
        }
    }
    assert_eq!(encoded_remote.len(), 2, "two distinct encoded commands");
    assert!(!launches(&events)
        .any(|e| host(e) == "wrk-btun"
            && ends_with_ci(str_of(e, f::PRINCIPAL_PATH), r"\WmiPrvSE.exe")));
    // The same commands on wrk-btun, launched from cmd.exe, earlier.
    let first_remote = launches(&events)
        .filter(|e| ends_with_ci(str_of(e, f::PRINCIPAL_PATH), r"\WmiPrvSE.exe"))
        .filter_map(|e| e.timestamp_micros())
        .min()
        .unwrap();
    let local: Vec<&UdmEvent> = launches(&events)
        .filter(|e| is_sysmon(e) && host(e) == "wrk-btun")
        .filter(|e| encoded_remote.contains(str_of(e, f::TARGET_CMD)))
        .collect();
    assert_eq!(local.len(), 2);
    for e in local {
        assert!(ends_with_ci(str_of(e, f::PRINCIPAL_PATH), r"\cmd.exe"));
        assert!(e.timestamp_micros().unwrap() < first_remote);
    }
    // NTLM from WRK-BTUN on wrk-klagerf, Kerberos on venus.
    assert!(logons(&events).any(|e| host(e) == "wrk-klagerf"
        && str_of(e, f::PRINCIPAL_HOSTNAME) == "WRK-BTUN"
        && str_of(e, f::AUTH_DETAILS) == "NTLM V2"));
    assert!(logons(&events).any(|e| host(e) == "venus"
        && str_of(e, f::PRINCIPAL_IP) == "10.20.30.41"
        && str_of(e, f::AUTH_DETAILS) == "Kerberos"));
}

#[test]
fn psexec_chain_two_hops_with_ssales() {
    let (g, events) = common::generate_and_read("psexec-chain");
    assert_eq!(g.files.len(), 2);
    for target in ["sales-pc", "marketing-pc"] {
        let created: Vec<&UdmEvent> = events
            .iter()
            .filter(|e| host(e) == target && str_of(e, f::EVENT_TYPE) == "SERVICE_CREATION")
            .collect();
        assert_eq!(created.len(), 2, "{target}: 4697 and 7045");
        assert!(created
            .iter()
            .all(|e| str_of(e, f::TARGET_APPLICATION) == "PSEXESVC"));
        assert!(launches(&events).any(|e| host(e) == target
            && is_sysmon(e)
            && ends_with_ci(str_of(e, f::PRINCIPAL_PATH), r"\services.exe")
            && ends_with_ci(str_of(e, f::TARGET_PATH), r"\PSEXESVC.exe")));
        assert!(events.iter().any(|e| host(e) == target
            && event_id(e) == 5145
            && str_of(e, f::TARGET_FILE_PATH) == "PSEXESVC.exe"));
    }
    let from = |ip: &str, target: &str| {
        logons(&events)
            .filter(|e| str_of(e, f::PRINCIPAL_IP) == ip && host(e) == target)
            .inspect(|e| {
                assert_eq!(str_of(e, f::TARGET_USERID), "ssales");
                assert_eq!(str_of(e, f::AUTH_MECHANISM), "NETWORK");
            })
            .count()
    };
    assert_eq!(from("10.0.0.130", "sales-pc"), 1);
    assert_eq!(from("10.0.0.133", "marketing-pc"), 1);
    assert!(logons(&events).any(|e| str_of(e, f::PRINCIPAL_HOSTNAME) == "KALI-ATTACK"));
    // The second hop starts on SALES-PC from the shell PSEXESVC started there.
    let psexec = launches(&events)
        .find(|e| is_sysmon(e) && ends_with_ci(str_of(e, f::TARGET_PATH), r"\PsExec.exe"))
        .expect("PsExec launch");
    assert_eq!(host(psexec), "sales-pc");
    assert_eq!(
        str_of(psexec, f::TARGET_CMD),
        r"PsExec.exe \\MARKETING-PC -accepteula cmd.exe"
    );
    assert_eq!(str_of(psexec, f::PRINCIPAL_USERID), "ssales");
    let shell_guid = str_of(psexec, f::PRINCIPAL_GUID);
    let shell = launches(&events)
        .find(|e| is_sysmon(e) && str_of(e, f::TARGET_GUID) == shell_guid)
        .expect("shell launch");
    assert!(ends_with_ci(
        str_of(shell, f::PRINCIPAL_PATH),
        r"\PSEXESVC.exe"
    ));
    assert!(events.iter().any(|e| host(e) == "sales-pc"
        && event_id(e) == 4648
        && str_of(e, f::TARGET_HOSTNAME) == "MARKETING-PC"));
    assert!(events.iter().any(|e| host(e) == "sales-pc"
        && is_sysmon(e)
        && event_id(e) == 3
        && str_of(e, f::TARGET_IP) == "10.0.0.131"
        && e.int(f::TARGET_PORT) == Some(445)
        && str_of(e, f::DIRECTION) == "OUTBOUND"));
    assert!(events.iter().any(|e| host(e) == "marketing-pc"
        && is_sysmon(e)
        && event_id(e) == 3
        && str_of(e, f::PRINCIPAL_IP) == "10.0.0.133"
        && str_of(e, f::DIRECTION) == "INBOUND"));
    let pipes: BTreeSet<&str> = events
        .iter()
        .filter(|e| is_sysmon(e) && event_id(e) == 17)
        .map(|e| str_of(e, f::TARGET_FILE_PATH))
        .filter(|p| p.starts_with(r"\PSEXESVC"))
        .collect();
    assert!(pipes.contains(r"\PSEXESVC-KALI-ATTACK-2876-stdin"));
    assert!(pipes
        .iter()
        .any(|p| p.starts_with(r"\PSEXESVC-SALES-PC-") && p.ends_with("-stderr")));
}
