//! Semantics: compiled filters are executed by DataFusion over a small in-memory event table,
//! and the tests assert exactly which events match.

use std::sync::Arc;

use datafusion::arrow::array::{Array, Int64Array};
use datafusion::common::Column;
use datafusion::datasource::MemTable;
use datafusion::logical_expr::Expr;
use datafusion::prelude::SessionContext;
use lateral_model::{f, schema, BatchBuilder, Field, UdmEvent};
use lateral_query::{compile, parse, udfs, Lists};

/// An event with record number `rec` and the given string fields.
fn ev(rec: i64, sets: &[(Field, &str)]) -> UdmEvent {
    let mut e = UdmEvent::new();
    e.set_int(f::RECORD_NUMBER, rec);
    for (field, value) in sets {
        e.set_str(*field, *value);
    }
    e
}

/// The record numbers of the events matching `text`, sorted.
async fn matching(events: &[UdmEvent], text: &str, lists: &Lists) -> Vec<i64> {
    let query = parse(text).unwrap_or_else(|e| panic!("parses: {text}\n{e}"));
    let expr = compile(&query, lists).unwrap_or_else(|e| panic!("compiles: {text}: {e}"));
    let direct = run(events, expr).await;
    // The echo means the same thing: it selects the same events.
    let echo = query.to_udm();
    let again = parse(&echo).unwrap_or_else(|e| panic!("echo parses: {echo}\n{e}"));
    let expr = compile(&again, lists).unwrap_or_else(|e| panic!("echo compiles: {echo}: {e}"));
    assert_eq!(
        run(events, expr).await,
        direct,
        "echo {echo} selects other events"
    );
    direct
}

async fn run(events: &[UdmEvent], expr: Expr) -> Vec<i64> {
    let mut b = BatchBuilder::new(None);
    for e in events {
        b.push(e);
    }
    let batch = b.finish().expect("batch");
    let ctx = SessionContext::new();
    for udf in udfs() {
        ctx.register_udf(udf);
    }
    let table = MemTable::try_new(schema(), vec![vec![batch]]).expect("table");
    ctx.register_table("events", Arc::new(table))
        .expect("register");
    let rec = Expr::Column(Column::new_unqualified(f::RECORD_NUMBER.name()));
    let batches = ctx
        .table("events")
        .await
        .expect("table")
        .filter(expr)
        .expect("filter")
        .select(vec![rec])
        .expect("select")
        .collect()
        .await
        .expect("executes");
    let mut out: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            let a = b
                .column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .expect("record numbers");
            (0..a.len()).map(|i| a.value(i)).collect::<Vec<_>>()
        })
        .collect();
    out.sort_unstable();
    out
}

fn none() -> Lists {
    Lists::default()
}

#[tokio::test]
async fn service_installed_with_psexesvc() {
    let events = [
        ev(
            1,
            &[
                (f::PRODUCT_EVENT_TYPE, "7045"),
                (f::TARGET_PATH, r"%SystemRoot%\PSEXESVC.exe"),
            ],
        ),
        ev(
            2,
            &[
                (f::PRODUCT_EVENT_TYPE, "4697"),
                (f::TARGET_PATH, r"C:\Windows\psexesvc.exe"),
            ],
        ),
        ev(
            3,
            &[
                (f::PRODUCT_EVENT_TYPE, "7045"),
                (f::TARGET_PATH, r"C:\Windows\other.exe"),
            ],
        ),
        ev(
            4,
            &[
                (f::PRODUCT_EVENT_TYPE, "4688"),
                (f::TARGET_PATH, r"C:\Windows\PSEXESVC.exe"),
            ],
        ),
    ];
    let text = r#"metadata.product_event_type = "ServiceInstalled" AND target.process.file.full_path CONTAINS "PSEXESVC.exe""#;
    assert_eq!(matching(&events, text, &none()).await, vec![1, 2]);
    let text = r#"metadata.product_event_type != "serviceinstalled""#;
    assert_eq!(matching(&events, text, &none()).await, vec![4]);
}

#[tokio::test]
async fn services_children_not_in_the_standard_list() {
    let events = [
        ev(
            1,
            &[
                (f::EVENT_TYPE, "PROCESS_LAUNCH"),
                (f::PRINCIPAL_PATH, r"C:\WINDOWS\system32\services.exe"),
                (f::TARGET_PATH, r"C:\Windows\PSEXESVC.exe"),
            ],
        ),
        ev(
            2,
            &[
                (f::EVENT_TYPE, "PROCESS_LAUNCH"),
                (f::PRINCIPAL_PATH, r"C:\Windows\System32\services.exe"),
                (
                    f::TARGET_PATH,
                    r"C:\Windows\System32\standard_service_process1.exe",
                ),
            ],
        ),
        // A launch without a child image still passes NOT IN (missing reads as "").
        ev(
            3,
            &[
                (f::EVENT_TYPE, "PROCESS_LAUNCH"),
                (f::PRINCIPAL_PATH, r"c:\windows\system32\SERVICES.EXE"),
            ],
        ),
        ev(
            4,
            &[
                (f::EVENT_TYPE, "PROCESS_LAUNCH"),
                (f::PRINCIPAL_PATH, r"C:\Windows\System32\services.exe"),
                (f::TARGET_PATH, r"D:\apps\STANDARD_SERVICE_PROCESS2.EXE"),
            ],
        ),
        ev(
            5,
            &[
                (f::EVENT_TYPE, "PROCESS_LAUNCH"),
                (f::PRINCIPAL_PATH, r"C:\Windows\explorer.exe"),
                (f::TARGET_PATH, r"C:\Windows\PSEXESVC.exe"),
            ],
        ),
        ev(
            6,
            &[
                (f::EVENT_TYPE, "SERVICE_CREATION"),
                (f::PRINCIPAL_PATH, r"C:\Windows\System32\services.exe"),
                (f::TARGET_PATH, r"C:\Windows\PSEXESVC.exe"),
            ],
        ),
    ];
    let text = r#"metadata.event_type = "PROCESS_LAUNCH" AND principal.process.file.full_path = "C:\Windows\System32\services.exe" AND target.process.file.full_path NOT IN ("standard_service_process1.exe", "standard_service_process2.exe")"#;
    assert_eq!(matching(&events, text, &none()).await, vec![1, 3]);
    // The strict escape form means the same path.
    let text = r#"principal.process.file.full_path = "C:\\Windows\\System32\\services.exe""#;
    assert_eq!(matching(&events, text, &none()).await, vec![1, 2, 3, 4, 6]);
}

#[tokio::test]
async fn wmiprvse_spawning_shells() {
    let wmi = r"C:\Windows\System32\wbem\WmiPrvSE.exe";
    let events = [
        ev(
            1,
            &[
                (f::EVENT_TYPE, "PROCESS_LAUNCH"),
                (f::PRINCIPAL_PATH, wmi),
                (f::TARGET_PATH, r"C:\Windows\system32\cmd.exe"),
            ],
        ),
        ev(
            2,
            &[
                (f::EVENT_TYPE, "PROCESS_LAUNCH"),
                (f::PRINCIPAL_PATH, wmi),
                (f::TARGET_PATH, r"C:\Windows\System32\notepad.exe"),
            ],
        ),
        ev(
            3,
            &[
                (f::EVENT_TYPE, "process_launch"),
                (f::PRINCIPAL_PATH, r"c:\windows\system32\wbem\wmiprvse.exe"),
                (
                    f::TARGET_PATH,
                    r"C:\Windows\System32\WindowsPowerShell\v1.0\PowerShell.exe",
                ),
            ],
        ),
        ev(
            4,
            &[
                (f::EVENT_TYPE, "PROCESS_LAUNCH"),
                (f::PRINCIPAL_PATH, r"C:\Windows\explorer.exe"),
                (f::TARGET_PATH, r"C:\Windows\system32\cmd.exe"),
            ],
        ),
        // A file name merely ending in "cmd.exe" is not cmd.exe.
        ev(
            5,
            &[
                (f::EVENT_TYPE, "PROCESS_LAUNCH"),
                (f::PRINCIPAL_PATH, wmi),
                (f::TARGET_PATH, r"C:\tools\notcmd.exe"),
            ],
        ),
        // Forward slashes separate directories too; a bare name equals the whole value.
        ev(
            6,
            &[
                (f::EVENT_TYPE, "PROCESS_LAUNCH"),
                (f::PRINCIPAL_PATH, wmi),
                (f::TARGET_PATH, "C:/Windows/System32/CMD.EXE"),
            ],
        ),
        ev(
            7,
            &[
                (f::EVENT_TYPE, "PROCESS_LAUNCH"),
                (f::PRINCIPAL_PATH, wmi),
                (f::TARGET_PATH, "cmd.exe"),
            ],
        ),
    ];
    let text = r#"metadata.event_type = "PROCESS_LAUNCH" AND principal.process.file.full_path = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe" AND target.process.file.full_path IN ("cmd.exe", "powershell.exe")"#;
    assert_eq!(matching(&events, text, &none()).await, vec![1, 3, 6, 7]);
}

#[tokio::test]
async fn wmic_remote_process_creation() {
    let events = [
        ev(
            1,
            &[
                (f::EVENT_TYPE, "PROCESS_LAUNCH"),
                (
                    f::PRINCIPAL_CMD,
                    r#"wmic /node:10.0.2.18 process call create "cmd.exe /c whoami""#,
                ),
            ],
        ),
        ev(
            2,
            &[
                (f::EVENT_TYPE, "PROCESS_LAUNCH"),
                (
                    f::PRINCIPAL_CMD,
                    "WMIC.exe /NODE:host PROCESS CALL CREATE calc",
                ),
            ],
        ),
        ev(
            3,
            &[
                (f::EVENT_TYPE, "PROCESS_LAUNCH"),
                (f::PRINCIPAL_CMD, "wmic process list brief"),
            ],
        ),
        ev(
            4,
            &[
                (f::EVENT_TYPE, "NETWORK_CONNECTION"),
                (f::PRINCIPAL_CMD, "wmic /node:x process call create y"),
            ],
        ),
    ];
    let text = r#"metadata.event_type = "PROCESS_LAUNCH" AND principal.process.command_line CONTAINS "wmic" AND principal.process.command_line CONTAINS "/node:" AND principal.process.command_line CONTAINS "process call create""#;
    assert_eq!(matching(&events, text, &none()).await, vec![1, 2]);
    let text = "principal.process.command_line = /wmic.*process call create/ nocase";
    assert_eq!(matching(&events, text, &none()).await, vec![1, 2, 4]);
    let text = "principal.process.command_line = /wmic.*process call create/";
    assert_eq!(matching(&events, text, &none()).await, vec![1, 4]);
    let text = r#"re.regex(principal.process.command_line, `^wmic\s+/node`) = true"#;
    assert_eq!(matching(&events, text, &none()).await, vec![1, 4]);
    let text = r#"strings.contains(principal.process.command_line, "PROCESS CALL")"#;
    assert_eq!(matching(&events, text, &none()).await, vec![2]);
}

#[tokio::test]
async fn powershell_wmi_and_cim() {
    let ps = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe";
    let events = [
        ev(
            1,
            &[
                (f::EVENT_TYPE, "PROCESS_LAUNCH"),
                (f::TARGET_PATH, ps),
                (
                    f::TARGET_CMD,
                    "powershell -c invoke-wmimethod -Class Win32_Process -Name Create",
                ),
            ],
        ),
        ev(
            2,
            &[
                (f::EVENT_TYPE, "PROCESS_LAUNCH"),
                (f::TARGET_PATH, ps),
                (
                    f::TARGET_CMD,
                    "powershell Invoke-CimMethod -ClassName Win32_Process",
                ),
            ],
        ),
        ev(
            3,
            &[
                (f::EVENT_TYPE, "PROCESS_LAUNCH"),
                (f::TARGET_PATH, ps),
                (f::TARGET_CMD, "powershell Get-Process"),
            ],
        ),
        ev(
            4,
            &[
                (f::EVENT_TYPE, "PROCESS_LAUNCH"),
                (f::TARGET_PATH, r"C:\Windows\System32\cmd.exe"),
                (f::TARGET_CMD, "cmd /c Invoke-WmiMethod"),
            ],
        ),
    ];
    let text = r#"metadata.event_type = "PROCESS_LAUNCH" AND target.process.file.full_path CONTAINS "powershell.exe" AND (target.process.command_line CONTAINS "Invoke-WmiMethod" OR target.process.command_line CONTAINS "Invoke-CimMethod")"#;
    assert_eq!(matching(&events, text, &none()).await, vec![1, 2]);
}

#[tokio::test]
async fn smb_connection_to_a_host() {
    let events = [
        ev(
            1,
            &[
                (f::EVENT_TYPE, "NETWORK_CONNECTION"),
                (f::TARGET_PORT, "445"),
                (f::TARGET_IP, "10.0.2.18"),
            ],
        ),
        ev(
            2,
            &[
                (f::EVENT_TYPE, "NETWORK_CONNECTION"),
                (f::TARGET_PORT, "139"),
                (f::TARGET_IP, "10.0.2.18"),
            ],
        ),
        ev(
            3,
            &[
                (f::EVENT_TYPE, "NETWORK_CONNECTION"),
                (f::TARGET_PORT, "445"),
                (f::TARGET_IP, "10.0.2.19"),
            ],
        ),
        ev(
            4,
            &[
                (f::EVENT_TYPE, "PROCESS_LAUNCH"),
                (f::TARGET_PORT, "445"),
                (f::TARGET_IP, "10.0.2.18"),
            ],
        ),
        ev(5, &[(f::EVENT_TYPE, "NETWORK_CONNECTION")]),
    ];
    let text = r#"metadata.event_type = "NETWORK_CONNECTION" AND target.port = 445 AND target.ip = "10.0.2.18""#;
    assert_eq!(matching(&events, text, &none()).await, vec![1]);
    assert_eq!(
        matching(&events, r#"target.port = "445""#, &none()).await,
        vec![1, 3, 4]
    );
    assert_eq!(
        matching(&events, "target.port < 445", &none()).await,
        vec![2, 5]
    );
    assert_eq!(
        matching(&events, "target.port != 445", &none()).await,
        vec![2, 5]
    );
    assert_eq!(
        matching(&events, "target.port IN (139, 0x1bd)", &none()).await,
        vec![1, 2, 3, 4]
    );
    // Implicit AND and lower-case keywords.
    let text = r#"target.ip = "10.0.2.18" target.port = 445 and not metadata.event_type = "process_launch""#;
    assert_eq!(matching(&events, text, &none()).await, vec![1]);
    // OR binds looser than AND.
    let text = r#"target.port = 139 OR target.port = 445 AND target.ip = "10.0.2.19""#;
    assert_eq!(matching(&events, text, &none()).await, vec![2, 3]);
}

#[tokio::test]
async fn host_names_match_short_and_fully_qualified() {
    let events = [
        ev(1, &[(f::PRINCIPAL_HOSTNAME, "WORKSTATION6")]),
        ev(2, &[(f::PRINCIPAL_HOSTNAME, "workstation6.theshire.local")]),
        ev(3, &[(f::PRINCIPAL_HOSTNAME, "workstation7.theshire.local")]),
        ev(4, &[(f::PRINCIPAL_HOSTNAME, "Workstation6.other.local")]),
        ev(5, &[]),
        ev(6, &[(f::PRINCIPAL_HOSTNAME, "HTTP-SERVER")]),
    ];
    let fqdn = r#"principal.hostname = "workstation6.theshire.local""#;
    assert_eq!(matching(&events, fqdn, &none()).await, vec![1, 2]);
    let short = r#"principal.hostname = "WORKSTATION6""#;
    assert_eq!(matching(&events, short, &none()).await, vec![1, 2, 4]);
    let ne = r#"principal.hostname != "http-server" nocase"#;
    assert_eq!(matching(&events, ne, &none()).await, vec![1, 2, 3, 4, 5]);
    let mut lists = Lists::default();
    lists.insert(
        "admin_hosts",
        vec!["workstation7".into(), "HTTP-SERVER.theshire.local".into()],
    );
    let text = "not principal.hostname in %admin_hosts";
    assert_eq!(matching(&events, text, &lists).await, vec![1, 2, 4, 5]);
    let text = "principal.hostname IN @admin_hosts";
    assert_eq!(matching(&events, text, &lists).await, vec![3, 6]);
}

#[tokio::test]
async fn users_compare_case_insensitively_by_user_part() {
    let events = [
        ev(1, &[(f::TARGET_USERID, "Alice")]),
        ev(2, &[(f::TARGET_USERID, "bob")]),
        ev(3, &[]),
    ];
    for text in [
        r#"target.user.userid = "THESHIRE\alice""#,
        r#"target.user.userid = "alice@theshire.local""#,
        r#"target.user.userid = "ALICE""#,
    ] {
        assert_eq!(matching(&events, text, &none()).await, vec![1], "{text}");
    }
    let mut lists = Lists::default();
    lists.insert("admins", vec![r"THESHIRE\Alice".into(), "carol".into()]);
    assert_eq!(
        matching(&events, "target.user.userid NOT IN @admins", &lists).await,
        vec![2, 3]
    );
}

#[tokio::test]
async fn text_fields_are_case_sensitive_unless_nocase() {
    let events = [
        ev(1, &[(f::TARGET_CMD, "cmd.exe /c whoami")]),
        ev(2, &[(f::TARGET_CMD, "CMD.EXE /C WHOAMI")]),
        ev(3, &[(f::EVENT_TYPE, "PROCESS_LAUNCH")]),
    ];
    let exact = r#"target.process.command_line = "cmd.exe /c whoami""#;
    assert_eq!(matching(&events, exact, &none()).await, vec![1]);
    assert_eq!(
        matching(&events, &format!("{exact} nocase"), &none()).await,
        vec![1, 2]
    );
    assert_eq!(
        matching(&events, &format!("NOT {exact}"), &none()).await,
        vec![2, 3]
    );
    // Enumerations compare case-insensitively.
    let text = r#"metadata.event_type = "process_launch""#;
    assert_eq!(matching(&events, text, &none()).await, vec![3]);
    // Missing text reads as "".
    let text = r#"target.process.command_line = """#;
    assert_eq!(matching(&events, text, &none()).await, vec![3]);
    // Anchored and plain regexes.
    assert_eq!(
        matching(&events, "target.process.command_line = /^cmd/", &none()).await,
        vec![1]
    );
    assert_eq!(
        matching(&events, "target.process.command_line = /WHOAMI$/", &none()).await,
        vec![2]
    );
    assert_eq!(
        matching(
            &events,
            "target.process.command_line != /whoami/ nocase",
            &none()
        )
        .await,
        vec![3]
    );
}

#[tokio::test]
async fn addresses_and_ranges() {
    let events = [
        ev(1, &[(f::PRINCIPAL_IP, "10.1.2.3")]),
        ev(2, &[(f::PRINCIPAL_IP, "192.168.1.1")]),
        ev(3, &[(f::PRINCIPAL_IP, "fe80::90e:17af:263c:5209")]),
        ev(4, &[]),
    ];
    let text = r#"net.ip_in_range_cidr(principal.ip, "10.0.0.0/8")"#;
    assert_eq!(matching(&events, text, &none()).await, vec![1]);
    let text = r#"net.ip_in_range_cidr(principal.ip, "10.0.0.0/8") = false"#;
    assert_eq!(matching(&events, text, &none()).await, vec![2, 3, 4]);
    let text = r#"net.ip_in_range_cidr(principal.ip, "fe80::/10")"#;
    assert_eq!(matching(&events, text, &none()).await, vec![3]);
    let mut lists = Lists::default();
    lists.insert(
        "internal",
        vec!["192.168.0.0/16".into(), "fe80::/10".into()],
    );
    lists.insert("empty", vec![]);
    assert_eq!(
        matching(&events, "principal.ip in cidr %internal", &lists).await,
        vec![2, 3]
    );
    assert_eq!(
        matching(&events, "principal.ip NOT IN cidr @internal", &lists).await,
        vec![1, 4]
    );
    assert_eq!(
        matching(&events, "principal.ip in %empty", &lists).await,
        Vec::<i64>::new()
    );
    assert_eq!(
        matching(&events, "principal.ip not in %empty", &lists).await,
        vec![1, 2, 3, 4]
    );
}

#[tokio::test]
async fn reference_lists_of_paths_patterns_and_numbers() {
    let events = [
        ev(
            1,
            &[
                (f::TARGET_PATH, r"C:\Windows\PSEXESVC.exe"),
                (f::TARGET_PORT, "445"),
                (f::TARGET_CMD, "PsExec64 -s"),
            ],
        ),
        ev(
            2,
            &[
                (f::TARGET_PATH, r"C:\Tools\X.exe"),
                (f::TARGET_PORT, "139"),
                (f::TARGET_CMD, "x.exe"),
            ],
        ),
        ev(
            3,
            &[
                (f::TARGET_PATH, r"C:\Windows\notepad.exe"),
                (f::TARGET_PORT, "3389"),
            ],
        ),
    ];
    let mut lists = Lists::default();
    lists.insert(
        "tools",
        vec!["psexesvc.exe".into(), r"c:\tools\x.exe".into()],
    );
    lists.insert("ports", vec!["445".into(), "0x8b".into()]);
    lists.insert("pats", vec!["^psexec".into(), "/s$".into()]);
    assert_eq!(
        matching(&events, "target.process.file.full_path in %tools", &lists).await,
        vec![1, 2]
    );
    assert_eq!(
        matching(&events, "target.port in %ports", &lists).await,
        vec![1, 2]
    );
    assert_eq!(
        matching(
            &events,
            "target.process.command_line in regex %pats",
            &lists
        )
        .await,
        Vec::<i64>::new()
    );
    assert_eq!(
        matching(
            &events,
            "target.process.command_line in regex %pats nocase",
            &lists
        )
        .await,
        vec![1]
    );
}

#[tokio::test]
async fn additional_fields_by_key() {
    let mut logon = ev(1, &[]);
    logon.additional.insert("LogonType".into(), "3".into());
    let mut other = ev(2, &[]);
    other.additional.insert("LogonType".into(), "10".into());
    let events = [logon, other, ev(3, &[])];
    for text in [
        r#"additional.fields["LogonType"] = "3""#,
        r#"additional.fields.LogonType = 3"#,
    ] {
        assert_eq!(matching(&events, text, &none()).await, vec![1], "{text}");
    }
    let text = r#"additional.fields["LogonType"] != "3""#;
    assert_eq!(matching(&events, text, &none()).await, vec![2, 3]);
    let text = r#"additional.fields["Missing"] = """#;
    assert_eq!(matching(&events, text, &none()).await, vec![1, 2, 3]);
}

#[tokio::test]
async fn times_flags_and_descriptions() {
    let mut a = ev(1, &[(f::DESCRIPTION, "Get-WmiObject Win32_Process")]);
    a.set_timestamp_micros(1_714_568_400_000_000); // 2024-05-01T13:00:00Z
    let mut b = ev(2, &[]);
    b.set_timestamp_micros(1_714_568_400_500_000); // half a second later
    b.set_bool(f::LOOPBACK, true);
    let mut c = ev(3, &[]);
    c.set_timestamp_micros(1_714_568_401_000_000);
    let events = [a, b, c];
    let text = r#"metadata.event_timestamp >= "2024-05-01T13:00:00.5Z""#;
    assert_eq!(matching(&events, text, &none()).await, vec![2, 3]);
    let text = r#"metadata.event_timestamp < "2024-05-01T15:00:01+02:00""#;
    assert_eq!(matching(&events, text, &none()).await, vec![1, 2]);
    assert_eq!(
        matching(
            &events,
            "metadata.event_timestamp.seconds = 1714568400",
            &none()
        )
        .await,
        vec![1, 2]
    );
    assert_eq!(
        matching(
            &events,
            "metadata.event_timestamp.seconds > 1714568400",
            &none()
        )
        .await,
        vec![3]
    );
    assert_eq!(
        matching(
            &events,
            "metadata.event_timestamp.seconds <= 1714568400",
            &none()
        )
        .await,
        vec![1, 2]
    );
    assert_eq!(
        matching(&events, "lateral.loopback = true", &none()).await,
        vec![2]
    );
    assert_eq!(
        matching(&events, "lateral.loopback != true", &none()).await,
        vec![1, 3]
    );
    let text = r#"description CONTAINS "get-wmiobject""#;
    assert_eq!(matching(&events, text, &none()).await, vec![1]);
}

#[tokio::test]
async fn runbook_raw_strings_and_unc_paths() {
    let events = [
        ev(1, &[(f::TARGET_FILE_PATH, r"\\127.0.0.1\ADMIN$")]),
        ev(2, &[(f::TARGET_FILE_PATH, r"\\127.0.0.1\C$")]),
    ];
    let text = r#"target.file.full_path = "\\127.0.0.1\ADMIN$""#;
    assert_eq!(matching(&events, text, &none()).await, vec![1]);
    let text = r#"target.file.full_path = "\\\\127.0.0.1\\admin$""#;
    assert_eq!(matching(&events, text, &none()).await, vec![1]);
}

#[tokio::test]
async fn many_alternatives_execute() {
    let events = [
        ev(1, &[(f::TARGET_PORT, "4999")]),
        ev(2, &[(f::TARGET_PORT, "70000")]),
    ];
    let text = (0..5000)
        .map(|i| format!("target.port = {i}"))
        .collect::<Vec<_>>()
        .join(" OR ");
    assert_eq!(matching(&events, &text, &none()).await, vec![1]);
}

#[tokio::test]
async fn the_cidr_udf_is_registered_by_name() {
    let ctx = SessionContext::new();
    for udf in udfs() {
        ctx.register_udf(udf);
    }
    let batches = ctx
        .sql("SELECT lateral_ip_in_cidr('10.1.2.3', '192.168.0.0/16', '10.0.0.0/8') AS a, lateral_ip_in_cidr('::1', '10.0.0.0/8') AS b")
        .await
        .expect("plans")
        .collect()
        .await
        .expect("runs");
    let a = batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<datafusion::arrow::array::BooleanArray>()
        .expect("bool");
    let b = batches[0]
        .column(1)
        .as_any()
        .downcast_ref::<datafusion::arrow::array::BooleanArray>()
        .expect("bool");
    assert!(a.value(0));
    assert!(!b.value(0));
}

/// Alternations of literals compile to literal tests, other patterns to `lateral_regex_like`:
/// both must select exactly what the regular expression selects, with and without `nocase`.
#[tokio::test]
async fn regular_expressions_select_what_the_regex_selects() {
    let lines = [
        r"C:\Windows\PSEXESVC.exe",
        r"C:\Windows\psexesvc.EXE -d",
        "PSEXESVC",
        r"x\PSEXESVC",
        "evil.DLL",
        "a.exe.txt",
        "RemCom_svc",
        "run PAExec-123 now",
        "paexec",
        "csexec",
        "csexec.log",
        "",
        "(a",
        "b)",
        "x)y",
        r"\\host\ADMIN$",
        "MMC20.Application",
        "shellwindows",
        "nothing here",
    ];
    let events: Vec<UdmEvent> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| ev(i as i64, &[(f::TARGET_CMD, l)]))
        .collect();
    let patterns = [
        r"RemCom_|^PAExec|csexec$",
        r"\.(exe|dll|sys)$",
        r"\.(?:exe|dll)",
        r"(^|\\)PSEXESVC$",
        r"^(PSEXESVC|RemCom_|PAExec|csexec)",
        r"MMC20|ShellWindows|ShellBrowserWindow",
        r"\(a|b\)",
        r"(x\)y|z)",
        r"\\(ADMIN|C)\$$",
        r"nothing|",
        // Not literals: evaluated by `lateral_regex_like`.
        r"PSEXESVC\.(exe|EXE)\s+-d",
        r"^[a-z]+$",
        r"(?:ps)?exe.{0,3}svc",
        r"\\\\[^\\]+\\ADMIN\$",
    ];
    for p in patterns {
        for nocase in [false, true] {
            let re = regex::RegexBuilder::new(p)
                .case_insensitive(nocase)
                .build()
                .expect("pattern");
            let want: Vec<i64> = lines
                .iter()
                .enumerate()
                .filter(|(_, l)| re.is_match(l))
                .map(|(i, _)| i as i64)
                .collect();
            let text = format!(
                "target.process.command_line = /{}/{}",
                p,
                if nocase { " nocase" } else { "" }
            );
            assert_eq!(matching(&events, &text, &none()).await, want, "{text}");
        }
    }
}
