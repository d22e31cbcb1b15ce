//! The threshold join (one source, many hosts) on hand-built network logons.

use std::io::Write;

use lateral_engine::{Engine, WindowSpec};
use lateral_hunt::pack::Pack;
use lateral_hunt::{FindingKind, HuntRequest};

fn logon(host: &str, time: &str, ip: &str, logon_id: &str) -> String {
    serde_json::json!({
        "@timestamp": time,
        "EventID": 4624,
        "Channel": "Security",
        "Hostname": host,
        "SourceName": "Microsoft-Windows-Security-Auditing",
        "TargetUserName": "svc-scan",
        "TargetDomainName": "CORP",
        "TargetLogonId": logon_id,
        "LogonType": "3",
        "IpAddress": ip,
        "IpPort": "50123",
        "AuthenticationPackageName": "NTLM",
        "WorkstationName": "-"
    })
    .to_string()
}

async fn hunt(lines: &[String]) -> lateral_hunt::HuntReport {
    let dir = tempfile_dir();
    let path = dir.join("logons.jsonl");
    let mut f = std::fs::File::create(&path).expect("create");
    for l in lines {
        writeln!(f, "{l}").expect("write");
    }
    drop(f);
    let engine = Engine::open(&[path]).expect("engine");
    let pack = Pack::load(&[]).expect("pack");
    let req = HuntRequest {
        window: WindowSpec {
            all: true,
            ..Default::default()
        },
        scope: None,
        hypothesis: None,
        case_id: None,
        inventory: None,
    };
    let report = lateral_hunt::run(&engine, &pack, &req).await.expect("hunt");
    let _ = std::fs::remove_dir_all(&dir);
    report
}

fn tempfile_dir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "lateral-fanout-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

#[tokio::test]
async fn three_hosts_in_ten_minutes_is_a_fan_out_and_two_is_not() {
    let lines = vec![
        logon(
            "A.corp.local",
            "2024-05-01T10:00:00.000Z",
            "10.9.9.9",
            "0x1001",
        ),
        logon(
            "B.corp.local",
            "2024-05-01T10:03:00.000Z",
            "10.9.9.9",
            "0x1002",
        ),
        logon(
            "C.corp.local",
            "2024-05-01T10:08:00.000Z",
            "10.9.9.9",
            "0x1003",
        ),
        // Another source reaching two hosts only.
        logon(
            "A.corp.local",
            "2024-05-01T11:00:00.000Z",
            "10.8.8.8",
            "0x2001",
        ),
        logon(
            "B.corp.local",
            "2024-05-01T11:01:00.000Z",
            "10.8.8.8",
            "0x2002",
        ),
        // The first source again, much later: outside the burst.
        logon(
            "D.corp.local",
            "2024-05-01T12:00:00.000Z",
            "10.9.9.9",
            "0x1004",
        ),
    ];
    let report = hunt(&lines).await;
    let fans: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::FanOut)
        .collect();
    assert_eq!(
        fans.len(),
        1,
        "{:#?}",
        report.findings.iter().map(|f| &f.title).collect::<Vec<_>>()
    );
    let fan = fans[0];
    assert_eq!(
        fan.source.as_ref().map(|s| s.ips.clone()),
        Some(vec!["10.9.9.9".to_string()])
    );
    assert_eq!(
        fan.details.get("targets").cloned().unwrap_or_default(),
        vec!["A.corp.local", "B.corp.local", "C.corp.local"]
    );
    assert_eq!(fan.account.as_deref(), Some("CORP\\svc-scan"));
    let c = report
        .correlations
        .iter()
        .find(|c| c.id == "network-logon-fan-out")
        .expect("threshold reported");
    assert_eq!(c.matches, 1);
}
