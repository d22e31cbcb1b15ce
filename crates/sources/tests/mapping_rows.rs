//! One test per mapping row (channel + event id): hand-built records, asserted UDM fields.
//! Values are taken from real events of the shared test data where possible.

use lateral_model::{f, Field, UdmEvent};
use lateral_sources::mapping::{map_record, ROWS};
use lateral_sources::WinRecord;

const SECURITY: &str = "Security";
const SYSTEM: &str = "System";
const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";
const WMI: &str = "Microsoft-Windows-WMI-Activity/Operational";
const PS: &str = "Microsoft-Windows-PowerShell/Operational";
const WINPS: &str = "Windows PowerShell";
const WINRM: &str = "Microsoft-Windows-WinRM/Operational";
const LSM: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational";
const RCM: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational";
const RDPCORE: &str = "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational";
const TASKS: &str = "Microsoft-Windows-TaskScheduler/Operational";

fn provider_for(channel: &str) -> &'static str {
    match channel {
        SECURITY => "Microsoft-Windows-Security-Auditing",
        SYSTEM => "Service Control Manager",
        SYSMON => "Microsoft-Windows-Sysmon",
        WMI => "Microsoft-Windows-WMI-Activity",
        PS => "Microsoft-Windows-PowerShell",
        WINPS => "PowerShell",
        WINRM => "Microsoft-Windows-WinRM",
        LSM => "Microsoft-Windows-TerminalServices-LocalSessionManager",
        RCM => "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
        RDPCORE => "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS",
        TASKS => "Microsoft-Windows-TaskScheduler",
        _ => "Unknown-Provider",
    }
}

fn rec(channel: &str, id: u32, computer: &str, data: &[(&str, &str)]) -> WinRecord {
    WinRecord {
        provider: Some(provider_for(channel).to_string()),
        channel: Some(channel.to_string()),
        event_id: Some(id),
        computer: Some(computer.to_string()),
        time_micros: Some(1_552_956_089_008_933),
        record_id: Some(4242),
        data: data
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..WinRecord::default()
    }
}

fn map(r: &WinRecord) -> UdmEvent {
    let mut e = UdmEvent::new();
    map_record(r, &mut e);
    e
}

fn s(e: &UdmEvent, field: Field) -> Option<&str> {
    e.str(field)
}

fn add<'e>(e: &'e UdmEvent, key: &str) -> Option<&'e str> {
    e.additional.get(key).map(String::as_str)
}

fn loopback(e: &UdmEvent) -> bool {
    e.get(f::LOOPBACK) == Some(&lateral_model::Value::Bool(true))
}

/// Assert the fields every mapped event carries.
fn common(e: &UdmEvent, channel: &str, id: u32, event_type: &str) {
    assert_eq!(
        s(e, f::EVENT_TYPE),
        Some(event_type),
        "event type of {channel} {id}"
    );
    assert_eq!(s(e, f::PRODUCT_EVENT_TYPE), Some(id.to_string().as_str()));
    assert_eq!(e.int(f::EVENT_ID), Some(i64::from(id)));
    assert_eq!(s(e, f::CHANNEL), Some(channel));
    assert_eq!(s(e, f::PRODUCT_NAME), Some(provider_for(channel)));
    assert_eq!(s(e, f::VENDOR_NAME), Some("Microsoft"));
    assert_eq!(s(e, f::PRODUCT_LOG_ID), Some("4242"));
    assert_eq!(e.timestamp_micros(), Some(1_552_956_089_008_933));
    assert!(e.get(f::LOOPBACK).is_some(), "lateral.loopback always set");
    assert!(
        s(e, f::DESCRIPTION).is_some(),
        "description of {channel} {id}"
    );
    let log_type = match channel {
        SYSMON => "WINDOWS_SYSMON",
        PS | WINPS => "POWERSHELL",
        _ => "WINEVTLOG",
    };
    assert_eq!(s(e, f::LOG_TYPE), Some(log_type));
}

// ----- Security ---------------------------------------------------------------------------------

const SUBJECT: [(&str, &str); 4] = [
    (
        "SubjectUserSid",
        "S-1-5-21-1587066498-1489273250-1035260531-500",
    ),
    ("SubjectUserName", "Administrator"),
    ("SubjectDomainName", "EXAMPLE"),
    ("SubjectLogonId", "0x17E2D2"),
];

fn with_subject<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v: Vec<(&str, &str)> = SUBJECT.to_vec();
    v.extend_from_slice(extra);
    v
}

fn assert_subject(e: &UdmEvent) {
    assert_eq!(s(e, f::PRINCIPAL_USERID), Some("Administrator"));
    assert_eq!(s(e, f::PRINCIPAL_DOMAIN), Some("EXAMPLE"));
    assert_eq!(
        s(e, f::PRINCIPAL_SID),
        Some("S-1-5-21-1587066498-1489273250-1035260531-500")
    );
    assert_eq!(s(e, f::PRINCIPAL_LOGON_ID), Some("0x17e2d2"));
    assert!(
        add(e, "SubjectUserName").is_none(),
        "placed fields are consumed"
    );
}

#[test]
fn security_1102_log_cleared() {
    let r = rec(SECURITY, 1102, "PC01.example.corp", &SUBJECT);
    let mut r = r;
    r.provider = Some("Microsoft-Windows-Eventlog".into());
    let e = map(&r);
    assert_eq!(s(&e, f::EVENT_TYPE), Some("SYSTEM_AUDIT_LOG_WIPE"));
    assert_eq!(s(&e, f::PRINCIPAL_HOSTNAME), Some("PC01.example.corp"));
    assert_subject(&e);
}

fn logon_4624() -> Vec<(&'static str, &'static str)> {
    vec![
        ("SubjectUserSid", "S-1-0-0"),
        ("SubjectUserName", "-"),
        ("SubjectDomainName", "-"),
        ("SubjectLogonId", "0x0"),
        (
            "TargetUserSid",
            "S-1-5-21-4228717743-1032521047-1810997296-1104",
        ),
        ("TargetUserName", "pgustavo"),
        ("TargetDomainName", "THESHIRE"),
        ("TargetLogonId", "0x2074186"),
        ("LogonType", "3"),
        ("LogonProcessName", "NtLmSsp "),
        ("AuthenticationPackageName", "NTLM"),
        ("WorkstationName", "WORKSTATION5"),
        ("LogonGuid", "{00000000-0000-0000-0000-000000000000}"),
        ("LmPackageName", "NTLM V2"),
        ("KeyLength", "128"),
        ("ProcessId", "0x0"),
        ("ProcessName", "-"),
        ("IpAddress", "172.18.39.5"),
        ("IpPort", "50504"),
        ("ImpersonationLevel", "%%1833"),
    ]
}

#[test]
fn security_4624_network_logon() {
    let e = map(&rec(
        SECURITY,
        4624,
        "WORKSTATION6.theshire.local",
        &logon_4624(),
    ));
    common(&e, SECURITY, 4624, "USER_LOGIN");
    assert_eq!(s(&e, f::ACTION), Some("ALLOW"));
    assert_eq!(s(&e, f::TARGET_USERID), Some("pgustavo"));
    assert_eq!(s(&e, f::TARGET_DOMAIN), Some("THESHIRE"));
    assert_eq!(s(&e, f::TARGET_LOGON_ID), Some("0x2074186"));
    assert_eq!(s(&e, f::PRINCIPAL_IP), Some("172.18.39.5"));
    assert_eq!(e.int(f::PRINCIPAL_PORT), Some(50504));
    assert_eq!(s(&e, f::PRINCIPAL_HOSTNAME), Some("WORKSTATION5"));
    assert_eq!(s(&e, f::SRC_HOSTNAME), Some("WORKSTATION5"));
    assert_eq!(
        s(&e, f::TARGET_HOSTNAME),
        Some("WORKSTATION6.theshire.local")
    );
    assert_eq!(s(&e, f::AUTH_MECHANISM), Some("NETWORK"));
    assert_eq!(s(&e, f::AUTH_DETAILS), Some("NTLM V2"));
    assert!(!loopback(&e));
    // Placeholders are not placed; unplaced fields are kept by name.
    assert_eq!(s(&e, f::PRINCIPAL_USERID), None);
    assert_eq!(s(&e, f::PRINCIPAL_SID), None);
    assert_eq!(s(&e, f::PRINCIPAL_LOGON_ID), None);
    assert_eq!(add(&e, "SubjectUserSid"), Some("S-1-0-0"));
    assert_eq!(add(&e, "LogonType"), Some("3"), "LogonType is kept");
    assert_eq!(add(&e, "AuthenticationPackageName"), Some("NTLM"));
    assert_eq!(add(&e, "LogonProcessName"), Some("NtLmSsp"));
    assert_eq!(add(&e, "ImpersonationLevel"), Some("%%1833"));
    assert!(add(&e, "SubjectUserName").is_none(), "'-' is dropped");
    assert!(add(&e, "TargetUserName").is_none());
    assert!(add(&e, "IpAddress").is_none());
}

#[test]
fn security_4624_loopback_and_new_credentials() {
    let data = [
        ("SubjectUserName", "user01"),
        ("SubjectDomainName", "EXAMPLE"),
        ("SubjectLogonId", "0x4530F0F"),
        ("TargetUserName", "user01"),
        ("TargetDomainName", "EXAMPLE"),
        ("TargetLogonId", "0x4530F0F"),
        ("LogonType", "9"),
        ("LogonProcessName", "seclogo"),
        ("AuthenticationPackageName", "Negotiate"),
        ("WorkstationName", "-"),
        ("LmPackageName", "-"),
        ("ProcessId", "0x2b0"),
        ("ProcessName", "C:\\Windows\\System32\\svchost.exe"),
        ("IpAddress", "::1"),
        ("IpPort", "0"),
    ];
    let e = map(&rec(SECURITY, 4624, "PC01.example.corp", &data));
    assert_eq!(s(&e, f::AUTH_MECHANISM), Some("NEW_CREDENTIALS"));
    assert_eq!(s(&e, f::AUTH_DETAILS), Some("Negotiate"));
    assert_eq!(s(&e, f::PRINCIPAL_IP), Some("::1"));
    assert!(loopback(&e));
    assert_eq!(s(&e, f::PRINCIPAL_HOSTNAME), Some("PC01.example.corp"));
    assert_eq!(
        s(&e, f::PRINCIPAL_PATH),
        Some("C:\\Windows\\System32\\svchost.exe")
    );
    assert_eq!(e.int(f::PRINCIPAL_PID), Some(0x2b0));
    assert_eq!(add(&e, "LogonProcessName"), Some("seclogo"));

    // Same workstation as the logging computer: loopback too.
    let mut d = logon_4624();
    d.retain(|(k, _)| *k != "IpAddress");
    let e = map(&rec(SECURITY, 4624, "workstation5.theshire.local", &d));
    assert!(loopback(&e));
}

#[test]
fn security_4625_failed_logon() {
    let data = [
        ("TargetUserName", "admin"),
        ("TargetDomainName", "CORP"),
        ("Status", "0xc000006d"),
        ("FailureReason", "%%2313"),
        ("SubStatus", "0xc0000064"),
        ("LogonType", "3"),
        ("AuthenticationPackageName", "NTLM"),
        ("WorkstationName", "\\\\ybaARon55QykXrgu"),
        ("IpAddress", "::ffff:192.168.10.50"),
        ("IpPort", "49215"),
    ];
    let e = map(&rec(SECURITY, 4625, "VICTIM-PC", &data));
    common(&e, SECURITY, 4625, "USER_LOGIN");
    assert_eq!(s(&e, f::ACTION), Some("BLOCK"));
    assert_eq!(
        s(&e, f::SECURITY_SUMMARY),
        Some("0xc0000064: user name does not exist")
    );
    assert_eq!(s(&e, f::PRINCIPAL_IP), Some("192.168.10.50"));
    assert_eq!(s(&e, f::PRINCIPAL_HOSTNAME), Some("ybaARon55QykXrgu"));
    assert_eq!(s(&e, f::TARGET_HOSTNAME), Some("VICTIM-PC"));
    assert_eq!(add(&e, "Status"), Some("0xc000006d"));
    assert_eq!(add(&e, "SubStatus"), Some("0xc0000064"));
    assert_eq!(add(&e, "FailureReason"), Some("%%2313"));
}

#[test]
fn security_4634_logoff() {
    let data = [
        (
            "TargetUserSid",
            "S-1-5-21-81107902-1099128984-1836738286-500",
        ),
        ("TargetUserName", "Administrator"),
        ("TargetDomainName", "WINLAB.LOCAL"),
        ("TargetLogonId", "0x821aab"),
        ("LogonType", "3"),
    ];
    let e = map(&rec(SECURITY, 4634, "wind10.winlab.local", &data));
    common(&e, SECURITY, 4634, "USER_LOGOUT");
    assert_eq!(s(&e, f::TARGET_USERID), Some("Administrator"));
    assert_eq!(s(&e, f::TARGET_LOGON_ID), Some("0x821aab"));
    assert_eq!(s(&e, f::TARGET_HOSTNAME), Some("wind10.winlab.local"));
    assert_eq!(s(&e, f::AUTH_MECHANISM), Some("NETWORK"));
}

#[test]
fn security_4647_user_logoff() {
    let data = [
        ("TargetUserSid", "S-1-5-21-1-2-3-1000"),
        ("TargetUserName", "IEUser"),
        ("TargetDomainName", "IEWIN7"),
        ("TargetLogonId", "0x1D313D"),
    ];
    let e = map(&rec(SECURITY, 4647, "IEWIN7", &data));
    common(&e, SECURITY, 4647, "USER_LOGOUT");
    assert_eq!(s(&e, f::TARGET_USERID), Some("IEUser"));
    assert_eq!(s(&e, f::TARGET_SID), Some("S-1-5-21-1-2-3-1000"));
    assert_eq!(s(&e, f::TARGET_LOGON_ID), Some("0x1d313d"));
}

#[test]
fn security_4648_explicit_credentials() {
    let data = [
        (
            "SubjectUserSid",
            "S-1-5-21-1587066498-1489273250-1035260531-1106",
        ),
        ("SubjectUserName", "user01"),
        ("SubjectDomainName", "EXAMPLE"),
        ("SubjectLogonId", "0x18a7875"),
        ("LogonGuid", "{3523B8BE-1C1A-A740-A8C3-4CC91A5F3B14}"),
        ("TargetUserName", "administrator"),
        ("TargetDomainName", "EXAMPLE.CORP"),
        ("TargetLogonGuid", "{50419E1A-1C62-023A-239E-78C43A7792AB}"),
        ("TargetServerName", "WIN-77LTAPHIQ1R.example.corp"),
        ("TargetInfo", "RPCSS/WIN-77LTAPHIQ1R.example.corp"),
        ("ProcessId", "0x304"),
        ("ProcessName", "C:\\Windows\\System32\\svchost.exe"),
        ("IpAddress", "10.0.2.17"),
        ("IpPort", "135"),
    ];
    let e = map(&rec(SECURITY, 4648, "PC01.example.corp", &data));
    common(&e, SECURITY, 4648, "USER_LOGIN");
    assert_eq!(s(&e, f::PRINCIPAL_HOSTNAME), Some("PC01.example.corp"));
    assert_eq!(s(&e, f::PRINCIPAL_USERID), Some("user01"));
    assert_eq!(s(&e, f::PRINCIPAL_LOGON_ID), Some("0x18a7875"));
    assert_eq!(
        s(&e, f::PRINCIPAL_PATH),
        Some("C:\\Windows\\System32\\svchost.exe")
    );
    assert_eq!(e.int(f::PRINCIPAL_PID), Some(0x304));
    assert_eq!(s(&e, f::TARGET_USERID), Some("administrator"));
    assert_eq!(s(&e, f::TARGET_DOMAIN), Some("EXAMPLE.CORP"));
    assert_eq!(
        s(&e, f::TARGET_HOSTNAME),
        Some("WIN-77LTAPHIQ1R.example.corp")
    );
    assert_eq!(
        s(&e, f::TARGET_RESOURCE),
        Some("RPCSS/WIN-77LTAPHIQ1R.example.corp")
    );
    assert_eq!(s(&e, f::TARGET_IP), Some("10.0.2.17"));
    assert_eq!(e.int(f::TARGET_PORT), Some(135));
    assert_eq!(s(&e, f::PRINCIPAL_IP), None);
    assert_eq!(
        add(&e, "TargetLogonGuid"),
        Some("{50419E1A-1C62-023A-239E-78C43A7792AB}")
    );
    assert!(!loopback(&e));

    let local = [("TargetServerName", "localhost"), ("TargetUserName", "x")];
    assert!(loopback(&map(&rec(SECURITY, 4648, "PC01", &local))));
}

#[test]
fn security_4672_special_privileges() {
    let e = map(&rec(
        SECURITY,
        4672,
        "PC01.example.corp",
        &with_subject(&[(
            "PrivilegeList",
            "SeDebugPrivilege\r\n\t\t\tSeImpersonatePrivilege",
        )]),
    ));
    common(&e, SECURITY, 4672, "USER_UNCATEGORIZED");
    assert_subject(&e);
    assert_eq!(
        add(&e, "PrivilegeList"),
        Some("SeDebugPrivilege\r\n\t\t\tSeImpersonatePrivilege")
    );
}

#[test]
fn security_4688_process_creation() {
    let data = [
        ("SubjectUserSid", "S-1-5-20"),
        ("SubjectUserName", "WIN-77LTAPHIQ1R$"),
        ("SubjectDomainName", "EXAMPLE"),
        ("SubjectLogonId", "0x3e4"),
        ("NewProcessId", "0xe84"),
        ("NewProcessName", "C:\\Windows\\System32\\calc.exe"),
        ("TokenElevationType", "%%1936"),
        ("ProcessId", "0xae8"),
        ("CommandLine", "calc.exe"),
        ("TargetUserSid", "S-1-5-21-1-2-3-500"),
        ("TargetUserName", "Administrator"),
        ("TargetDomainName", "EXAMPLE"),
        ("TargetLogonId", "0x1C4B3A"),
        (
            "ParentProcessName",
            "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
        ),
        ("MandatoryLabel", "S-1-16-12288"),
    ];
    let e = map(&rec(SECURITY, 4688, "WIN-77LTAPHIQ1R.example.corp", &data));
    common(&e, SECURITY, 4688, "PROCESS_LAUNCH");
    assert_eq!(
        s(&e, f::PRINCIPAL_HOSTNAME),
        Some("WIN-77LTAPHIQ1R.example.corp")
    );
    assert_eq!(
        s(&e, f::TARGET_PATH),
        Some("C:\\Windows\\System32\\calc.exe")
    );
    assert_eq!(s(&e, f::TARGET_CMD), Some("calc.exe"));
    assert_eq!(e.int(f::TARGET_PID), Some(0xe84));
    assert_eq!(e.int(f::PRINCIPAL_PID), Some(0xae8));
    assert_eq!(
        s(&e, f::PRINCIPAL_PATH),
        Some("C:\\Windows\\System32\\wbem\\WmiPrvSE.exe")
    );
    assert_eq!(s(&e, f::PRINCIPAL_USERID), Some("WIN-77LTAPHIQ1R$"));
    assert_eq!(s(&e, f::PRINCIPAL_LOGON_ID), Some("0x3e4"));
    assert_eq!(s(&e, f::TARGET_USERID), Some("Administrator"));
    assert_eq!(s(&e, f::TARGET_LOGON_ID), Some("0x1c4b3a"));
    assert_eq!(add(&e, "TokenElevationType"), Some("%%1936"));
    assert_eq!(add(&e, "MandatoryLabel"), Some("S-1-16-12288"));
    assert!(add(&e, "NewProcessId").is_none());
}

#[test]
fn security_4689_process_exit() {
    let e = map(&rec(
        SECURITY,
        4689,
        "PC01",
        &with_subject(&[
            ("Status", "0x0"),
            ("ProcessId", "0x440"),
            ("ProcessName", "C:\\Windows\\System32\\cmd.exe"),
        ]),
    ));
    common(&e, SECURITY, 4689, "PROCESS_TERMINATION");
    assert_eq!(
        s(&e, f::TARGET_PATH),
        Some("C:\\Windows\\System32\\cmd.exe")
    );
    assert_eq!(e.int(f::TARGET_PID), Some(0x440));
    assert_eq!(add(&e, "Status"), Some("0x0"));
}

#[test]
fn security_4697_service_install() {
    let data = [
        ("SubjectUserSid", "S-1-5-21-4228717743-1032521047-1810997296-1104"),
        ("SubjectUserName", "pgustavo"),
        ("SubjectDomainName", "THESHIRE"),
        ("SubjectLogonId", "0x2990d17"),
        ("ServiceName", "Updater"),
        (
            "ServiceFileName",
            "%COMSPEC% /C start /b C:\\Windows\\System32\\WindowsPowershell\\v1.0\\powershell -noP -sta -w 1 -enc  SQBmACgA",
        ),
        ("ServiceType", "0x10"),
        ("ServiceStartType", "3"),
        ("ServiceAccount", "LocalSystem"),
    ];
    let e = map(&rec(SECURITY, 4697, "WORKSTATION6.theshire.local", &data));
    common(&e, SECURITY, 4697, "SERVICE_CREATION");
    assert_eq!(
        s(&e, f::PRINCIPAL_HOSTNAME),
        Some("WORKSTATION6.theshire.local")
    );
    assert_eq!(s(&e, f::PRINCIPAL_USERID), Some("pgustavo"));
    assert_eq!(s(&e, f::PRINCIPAL_LOGON_ID), Some("0x2990d17"));
    assert_eq!(s(&e, f::TARGET_APPLICATION), Some("Updater"));
    assert_eq!(s(&e, f::TARGET_PATH), Some("%COMSPEC%"));
    assert!(s(&e, f::TARGET_CMD).is_some_and(|c| c.ends_with("-enc  SQBmACgA")));
    assert_eq!(s(&e, f::TARGET_USERID), Some("LocalSystem"));
    assert_eq!(add(&e, "ServiceKeyName"), Some("Updater"));
    assert_eq!(add(&e, "ServiceAccount"), Some("LocalSystem"));
    assert_eq!(add(&e, "ServiceType"), Some("0x10"));
    assert_eq!(add(&e, "ServiceStartType"), Some("3"));
    assert!(add(&e, "ServiceName").is_none());
    assert!(add(&e, "ServiceFileName").is_none());
}

const TASK_XML: &str = "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\r\n<Task version=\"1.2\" xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">\r\n  <RegistrationInfo>\r\n    <Author>a-jbrown</Author>\r\n  </RegistrationInfo>\r\n  <Principals>\r\n    <Principal id=\"LocalSystem\">\r\n      <UserId>S-1-5-18</UserId>\r\n    </Principal>\r\n  </Principals>\r\n  <Actions Context=\"LocalSystem\">\r\n    <Exec>\r\n      <Command>cmd.exe</Command>\r\n      <Arguments>/C tasklist &gt; %windir%\\Temp\\CYAlyNSS.tmp 2&gt;&amp;1</Arguments>\r\n    </Exec>\r\n  </Actions>\r\n</Task>";

fn task_event(id: u32, content_field: &'static str) -> UdmEvent {
    let data = with_subject(&[("TaskName", "\\CYAlyNSS"), (content_field, TASK_XML)]);
    map(&rec(SECURITY, id, "WIN-77LTAPHIQ1R.example.corp", &data))
}

fn assert_task(e: &UdmEvent) {
    assert_subject(e);
    assert_eq!(
        s(e, f::PRINCIPAL_HOSTNAME),
        Some("WIN-77LTAPHIQ1R.example.corp")
    );
    assert_eq!(s(e, f::TARGET_RESOURCE), Some("\\CYAlyNSS"));
    assert_eq!(s(e, f::TARGET_APPLICATION), Some("\\CYAlyNSS"));
    assert_eq!(s(e, f::TARGET_PATH), Some("cmd.exe"));
    assert_eq!(
        s(e, f::TARGET_CMD),
        Some("cmd.exe /C tasklist > %windir%\\Temp\\CYAlyNSS.tmp 2>&1")
    );
    assert_eq!(s(e, f::TARGET_SID), Some("S-1-5-18"));
    assert_eq!(add(e, "Author"), Some("a-jbrown"));
}

#[test]
fn security_4698_task_created() {
    let e = task_event(4698, "TaskContent");
    common(&e, SECURITY, 4698, "SCHEDULED_TASK_CREATION");
    assert_task(&e);
    assert_eq!(
        add(&e, "TaskContent"),
        Some(TASK_XML.trim()),
        "TaskContent is kept"
    );
}

#[test]
fn security_4699_task_deleted() {
    let e = task_event(4699, "TaskContent");
    common(&e, SECURITY, 4699, "SCHEDULED_TASK_DELETION");
    assert_task(&e);
}

#[test]
fn security_4700_task_enabled() {
    let e = task_event(4700, "TaskContent");
    common(&e, SECURITY, 4700, "SCHEDULED_TASK_ENABLE");
    assert_task(&e);
}

#[test]
fn security_4701_task_disabled() {
    let e = task_event(4701, "TaskContent");
    common(&e, SECURITY, 4701, "SCHEDULED_TASK_DISABLE");
    assert_task(&e);
}

#[test]
fn security_4702_task_updated() {
    let e = task_event(4702, "TaskContentNew");
    common(&e, SECURITY, 4702, "SCHEDULED_TASK_MODIFICATION");
    assert_task(&e);
    assert!(add(&e, "TaskContentNew").is_some());
}

#[test]
fn security_4768_tgt() {
    let data = [
        ("TargetUserName", "pgustavo"),
        ("TargetDomainName", "THESHIRE.LOCAL"),
        ("TargetSid", "S-1-5-21-1-2-3-1104"),
        ("ServiceName", "krbtgt"),
        ("ServiceSid", "S-1-5-21-1-2-3-502"),
        ("TicketOptions", "0x40810010"),
        ("Status", "0x0"),
        ("TicketEncryptionType", "0x12"),
        ("PreAuthType", "2"),
        ("IpAddress", "::ffff:172.18.39.5"),
        ("IpPort", "60338"),
    ];
    let e = map(&rec(SECURITY, 4768, "MORDORDC.theshire.local", &data));
    common(&e, SECURITY, 4768, "USER_LOGIN");
    assert_eq!(s(&e, f::TARGET_USERID), Some("pgustavo"));
    assert_eq!(s(&e, f::TARGET_DOMAIN), Some("THESHIRE.LOCAL"));
    assert_eq!(s(&e, f::TARGET_SID), Some("S-1-5-21-1-2-3-1104"));
    assert_eq!(s(&e, f::TARGET_APPLICATION), Some("krbtgt"));
    assert_eq!(s(&e, f::TARGET_HOSTNAME), Some("MORDORDC.theshire.local"));
    assert_eq!(s(&e, f::PRINCIPAL_IP), Some("172.18.39.5"));
    assert_eq!(e.int(f::PRINCIPAL_PORT), Some(60338));
    assert_eq!(s(&e, f::AUTH_DETAILS), Some("Kerberos"));
    assert_eq!(s(&e, f::ACTION), Some("ALLOW"));
    assert_eq!(add(&e, "TicketEncryptionType"), Some("0x12"));
    assert_eq!(add(&e, "Status"), Some("0x0"));
}

#[test]
fn security_4769_service_ticket() {
    let data = [
        ("TargetUserName", "pgustavo@THESHIRE.LOCAL"),
        ("TargetDomainName", "THESHIRE.LOCAL"),
        ("ServiceName", "WORKSTATION6$"),
        ("ServiceSid", "S-1-5-21-1-2-3-1000"),
        ("TicketOptions", "0x40810000"),
        ("TicketEncryptionType", "0x12"),
        ("IpAddress", "::ffff:172.18.39.5"),
        ("IpPort", "60339"),
        ("Status", "0x0"),
    ];
    let e = map(&rec(SECURITY, 4769, "MORDORDC.theshire.local", &data));
    common(&e, SECURITY, 4769, "USER_LOGIN");
    assert_eq!(s(&e, f::TARGET_USERID), Some("pgustavo"));
    assert_eq!(s(&e, f::TARGET_DOMAIN), Some("THESHIRE.LOCAL"));
    assert_eq!(s(&e, f::TARGET_APPLICATION), Some("WORKSTATION6$"));
    assert_eq!(add(&e, "TargetUserName"), Some("pgustavo@THESHIRE.LOCAL"));
    assert_eq!(add(&e, "ServiceSid"), Some("S-1-5-21-1-2-3-1000"));
}

#[test]
fn security_4771_preauth_failed() {
    let data = [
        ("TargetUserName", "bob"),
        ("TargetSid", "S-1-5-21-1-2-3-1105"),
        ("ServiceName", "krbtgt/CORP"),
        ("Status", "0x18"),
        ("IpAddress", "::ffff:10.0.0.9"),
        ("IpPort", "50000"),
    ];
    let e = map(&rec(SECURITY, 4771, "DC1", &data));
    common(&e, SECURITY, 4771, "USER_LOGIN");
    assert_eq!(s(&e, f::ACTION), Some("BLOCK"));
    assert_eq!(
        s(&e, f::SECURITY_SUMMARY),
        Some("0x18: pre-authentication failed (wrong password)")
    );
    assert_eq!(s(&e, f::PRINCIPAL_IP), Some("10.0.0.9"));
}

#[test]
fn security_4776_ntlm_validation() {
    let data = [
        ("PackageName", "MICROSOFT_AUTHENTICATION_PACKAGE_V1_0"),
        ("TargetUserName", "pgustavo"),
        ("Workstation", "WORKSTATION5"),
        ("Status", "0x0"),
    ];
    let e = map(&rec(SECURITY, 4776, "MORDORDC.theshire.local", &data));
    common(&e, SECURITY, 4776, "USER_LOGIN");
    assert_eq!(s(&e, f::TARGET_USERID), Some("pgustavo"));
    assert_eq!(s(&e, f::PRINCIPAL_HOSTNAME), Some("WORKSTATION5"));
    assert_eq!(s(&e, f::SRC_HOSTNAME), Some("WORKSTATION5"));
    assert_eq!(s(&e, f::TARGET_HOSTNAME), Some("MORDORDC.theshire.local"));
    assert_eq!(s(&e, f::AUTH_DETAILS), Some("NTLM"));
    assert_eq!(s(&e, f::ACTION), Some("ALLOW"));
    assert_eq!(
        add(&e, "PackageName"),
        Some("MICROSOFT_AUTHENTICATION_PACKAGE_V1_0")
    );
    let failed = [("TargetUserName", "x"), ("Status", "0xC000006A")];
    let e = map(&rec(SECURITY, 4776, "DC", &failed));
    assert_eq!(s(&e, f::ACTION), Some("BLOCK"));
    assert_eq!(
        s(&e, f::SECURITY_SUMMARY),
        Some("0xC000006A: wrong password")
    );
}

#[test]
fn security_5140_share_accessed() {
    let data = with_subject(&[
        ("ObjectType", "File"),
        ("IpAddress", "10.0.2.17"),
        ("IpPort", "49237"),
        ("ShareName", "\\\\*\\ADMIN$"),
        ("ShareLocalPath", "\\??\\C:\\Windows"),
        ("AccessMask", "0x1"),
        ("AccessList", "%%4416\r\n\t\t\t\t"),
    ]);
    let e = map(&rec(SECURITY, 5140, "WIN-77LTAPHIQ1R.example.corp", &data));
    common(&e, SECURITY, 5140, "USER_RESOURCE_ACCESS");
    assert_subject(&e);
    assert_eq!(s(&e, f::PRINCIPAL_IP), Some("10.0.2.17"));
    assert_eq!(e.int(f::PRINCIPAL_PORT), Some(49237));
    assert_eq!(
        s(&e, f::TARGET_HOSTNAME),
        Some("WIN-77LTAPHIQ1R.example.corp")
    );
    assert_eq!(s(&e, f::PRINCIPAL_HOSTNAME), None);
    assert_eq!(s(&e, f::TARGET_RESOURCE), Some("\\\\*\\ADMIN$"));
    assert_eq!(s(&e, f::APP_PROTOCOL), Some("SMB"));
    assert_eq!(add(&e, "ShareLocalPath"), Some("\\??\\C:\\Windows"));
    assert_eq!(add(&e, "AccessMask"), Some("0x1"));
    assert_eq!(add(&e, "AccessList"), Some("%%4416"));
    assert_eq!(add(&e, "ObjectType"), Some("File"));
}

#[test]
fn security_5142_share_added() {
    let data = [
        (
            "SubjectUserSid",
            "S-1-5-21-3583694148-1414552638-2922671848-1000",
        ),
        ("SubjectUserName", "IEUser"),
        ("SubjectDomainName", "PC04"),
        ("SubjectLogonId", "0x128a9"),
        ("ShareName", "\\\\*\\PRINT"),
        ("ShareLocalPath", "c:\\windows\\system32"),
    ];
    let e = map(&rec(SECURITY, 5142, "PC04.example.corp", &data));
    common(&e, SECURITY, 5142, "USER_RESOURCE_CREATION");
    assert_eq!(s(&e, f::PRINCIPAL_USERID), Some("IEUser"));
    assert_eq!(s(&e, f::PRINCIPAL_HOSTNAME), Some("PC04.example.corp"));
    assert_eq!(s(&e, f::TARGET_RESOURCE), Some("\\\\*\\PRINT"));
    assert_eq!(s(&e, f::TARGET_FILE_PATH), Some("c:\\windows\\system32"));
}

#[test]
fn security_5144_share_deleted() {
    let data = with_subject(&[
        ("ShareName", "\\\\*\\staging"),
        ("ShareLocalPath", "C:\\staging"),
    ]);
    let e = map(&rec(SECURITY, 5144, "FS01", &data));
    common(&e, SECURITY, 5144, "USER_RESOURCE_DELETION");
    assert_eq!(s(&e, f::TARGET_RESOURCE), Some("\\\\*\\staging"));
}

#[test]
fn security_5145_detailed_share() {
    let data = with_subject(&[
        ("ObjectType", "File"),
        ("IpAddress", "10.0.2.16"),
        ("IpPort", "54765"),
        ("ShareName", "\\\\*\\IPC$"),
        ("ShareLocalPath", ""),
        ("RelativeTargetName", "blabla-NLLT108334-37048-stdin"),
        ("AccessMask", "0x12019f"),
        ("AccessList", "%%1538\r\n\t\t\t\t%%1541"),
        ("AccessReason", "-"),
    ]);
    let mut r = rec(SECURITY, 5145, "IEWIN7", &data);
    r.keywords = Some("0x8020000000000000".into());
    let e = map(&r);
    common(&e, SECURITY, 5145, "FILE_OPEN");
    assert_subject(&e);
    assert_eq!(s(&e, f::TARGET_RESOURCE), Some("\\\\*\\IPC$"));
    assert_eq!(
        s(&e, f::TARGET_FILE_PATH),
        Some("blabla-NLLT108334-37048-stdin")
    );
    assert_eq!(s(&e, f::PRINCIPAL_IP), Some("10.0.2.16"));
    assert_eq!(s(&e, f::TARGET_HOSTNAME), Some("IEWIN7"));
    assert_eq!(s(&e, f::ACTION), Some("ALLOW"));
    assert_eq!(add(&e, "AccessMask"), Some("0x12019f"));
    assert!(
        add(&e, "ShareLocalPath").is_none(),
        "empty values are not kept"
    );
    // NXLog writes keywords as a signed decimal; audit failure → BLOCK; ::1 → loopback.
    let mut r = rec(
        SECURITY,
        5145,
        "MSEDGEWIN10",
        &[("IpAddress", "::1"), ("ShareName", "\\\\*\\IPC$")],
    );
    r.keywords = Some("-9218868437227405312".into());
    let e = map(&r);
    assert_eq!(s(&e, f::ACTION), Some("BLOCK"));
    assert!(loopback(&e));
    assert_eq!(s(&e, f::PRINCIPAL_HOSTNAME), Some("MSEDGEWIN10"));
}

#[test]
fn security_5156_wfp_inbound_and_outbound() {
    let inbound = [
        ("ProcessID", "4"),
        ("Application", "System"),
        ("Direction", "%%14592"),
        ("SourceAddress", "172.18.39.5"),
        ("SourcePort", "50504"),
        ("DestAddress", "172.18.39.6"),
        ("DestPort", "445"),
        ("Protocol", "6"),
        ("FilterRTID", "65889"),
        ("LayerName", "%%14610"),
        ("LayerRTID", "44"),
    ];
    let e = map(&rec(
        SECURITY,
        5156,
        "WORKSTATION6.theshire.local",
        &inbound,
    ));
    common(&e, SECURITY, 5156, "NETWORK_CONNECTION");
    assert_eq!(s(&e, f::DIRECTION), Some("INBOUND"));
    assert_eq!(s(&e, f::PRINCIPAL_IP), Some("172.18.39.5"));
    assert_eq!(e.int(f::PRINCIPAL_PORT), Some(50504));
    assert_eq!(s(&e, f::TARGET_IP), Some("172.18.39.6"));
    assert_eq!(e.int(f::TARGET_PORT), Some(445));
    assert_eq!(
        s(&e, f::TARGET_HOSTNAME),
        Some("WORKSTATION6.theshire.local")
    );
    assert_eq!(s(&e, f::TARGET_PATH), Some("System"));
    assert_eq!(e.int(f::TARGET_PID), Some(4));
    assert_eq!(s(&e, f::IP_PROTOCOL), Some("TCP"));
    assert_eq!(s(&e, f::APP_PROTOCOL), Some("SMB"));
    assert_eq!(s(&e, f::ACTION), Some("ALLOW"));
    assert_eq!(add(&e, "LayerName"), Some("%%14610"));
    assert!(add(&e, "Direction").is_none());

    let outbound = [
        ("ProcessId", "3832"),
        (
            "Application",
            "\\device\\harddiskvolume2\\windows\\system32\\svchost.exe",
        ),
        ("Direction", "%%14593"),
        ("SourceAddress", "172.18.39.5"),
        ("SourcePort", "62218"),
        ("DestAddress", "172.18.38.5"),
        ("DestPort", "53"),
        ("Protocol", "17"),
    ];
    let e = map(&rec(SECURITY, 5156, "WORKSTATION5", &outbound));
    assert_eq!(s(&e, f::DIRECTION), Some("OUTBOUND"));
    assert_eq!(s(&e, f::PRINCIPAL_HOSTNAME), Some("WORKSTATION5"));
    assert_eq!(e.int(f::PRINCIPAL_PID), Some(3832));
    assert!(s(&e, f::PRINCIPAL_PATH).is_some_and(|p| p.ends_with("svchost.exe")));
    assert_eq!(s(&e, f::IP_PROTOCOL), Some("UDP"));
    assert_eq!(s(&e, f::APP_PROTOCOL), Some("DNS"));
    assert!(!loopback(&e));

    let to_self = [
        ("Direction", "%%14593"),
        ("SourceAddress", "::1"),
        ("DestAddress", "::1"),
        ("DestPort", "389"),
        ("Protocol", "99"),
    ];
    let e = map(&rec(SECURITY, 5156, "DC", &to_self));
    assert!(loopback(&e));
    assert_eq!(s(&e, f::APP_PROTOCOL), Some("LDAP"));
    assert_eq!(
        add(&e, "Protocol"),
        Some("99"),
        "unknown protocol numbers are kept"
    );
}

#[test]
fn security_5157_wfp_blocked() {
    let data = [
        (
            "Application",
            "\\device\\harddiskvolume2\\windows\\system32\\services.exe",
        ),
        ("Direction", "%%14592"),
        ("SourceAddress", "172.18.39.5"),
        ("SourcePort", "50001"),
        ("DestAddress", "172.18.39.6"),
        ("DestPort", "49666"),
        ("Protocol", "6"),
    ];
    let e = map(&rec(SECURITY, 5157, "WORKSTATION6", &data));
    common(&e, SECURITY, 5157, "NETWORK_CONNECTION");
    assert_eq!(s(&e, f::ACTION), Some("BLOCK"));
    assert_eq!(s(&e, f::DIRECTION), Some("INBOUND"));
    assert_eq!(s(&e, f::APP_PROTOCOL), None);
}

// ----- System -----------------------------------------------------------------------------------

#[test]
fn system_104_log_cleared() {
    let mut r = rec(
        SYSTEM,
        104,
        "PC01",
        &[
            ("SubjectUserName", "user01"),
            ("SubjectDomainName", "EXAMPLE"),
            ("Channel", "System"),
            ("BackupPath", ""),
        ],
    );
    r.provider = Some("Microsoft-Windows-Eventlog".into());
    r.user_sid = Some("S-1-5-21-1-2-3-1106".into());
    let e = map(&r);
    assert_eq!(s(&e, f::EVENT_TYPE), Some("SYSTEM_AUDIT_LOG_WIPE"));
    assert_eq!(s(&e, f::PRINCIPAL_USERID), Some("user01"));
    assert_eq!(s(&e, f::PRINCIPAL_SID), Some("S-1-5-21-1-2-3-1106"));
    assert_eq!(add(&e, "Channel"), Some("System"));
}

#[test]
fn system_7000_service_failed() {
    let e = map(&rec(
        SYSTEM,
        7000,
        "WORKSTATION6",
        &[("param1", "Updater"), ("param2", "%%1053")],
    ));
    common(&e, SYSTEM, 7000, "SERVICE_START");
    assert_eq!(s(&e, f::ACTION), Some("FAIL"));
    assert_eq!(s(&e, f::TARGET_APPLICATION), Some("Updater"));
    assert_eq!(s(&e, f::SECURITY_SUMMARY), Some("%%1053"));
}

#[test]
fn system_7009_service_timeout() {
    let e = map(&rec(
        SYSTEM,
        7009,
        "WORKSTATION6",
        &[("param1", "30000"), ("param2", "Updater")],
    ));
    common(&e, SYSTEM, 7009, "SERVICE_START");
    assert_eq!(s(&e, f::TARGET_APPLICATION), Some("Updater"));
    assert_eq!(add(&e, "param1"), Some("30000"));
}

#[test]
fn system_7036_service_state() {
    let e = map(&rec(
        SYSTEM,
        7036,
        "MORDORDC",
        &[("param1", "Network Setup Service"), ("param2", "running")],
    ));
    common(&e, SYSTEM, 7036, "SERVICE_START");
    assert_eq!(s(&e, f::TARGET_APPLICATION), Some("Network Setup Service"));
    assert_eq!(add(&e, "param2"), Some("running"));
    assert_eq!(
        s(&e, f::DESCRIPTION),
        Some("The Network Setup Service service entered the running state")
    );
    let e = map(&rec(
        SYSTEM,
        7036,
        "H",
        &[("param1", "X"), ("param2", "stopped")],
    ));
    assert_eq!(s(&e, f::EVENT_TYPE), Some("SERVICE_STOP"));
    // Localised state text: the Binary (UTF-16LE "PSEXESVC/4") still says running.
    let binary = "50005300450058004500530056004300" // PSEXESVC
        .to_string()
        + "2F003400" // /4
        + "0000";
    let e = map(&rec(
        SYSTEM,
        7036,
        "H",
        &[
            ("param1", "PSEXESVC"),
            ("param2", "wird ausgeführt"),
            ("Binary", &binary),
        ],
    ));
    assert_eq!(s(&e, f::EVENT_TYPE), Some("SERVICE_START"));
    assert_eq!(add(&e, "ServiceKeyName"), Some("PSEXESVC"));
    let e = map(&rec(
        SYSTEM,
        7036,
        "H",
        &[("param1", "X"), ("param2", "paused")],
    ));
    assert_eq!(s(&e, f::EVENT_TYPE), Some("SERVICE_UNSPECIFIED"));
}

#[test]
fn system_7040_start_type_changed() {
    let mut r = rec(
        SYSTEM,
        7040,
        "WORKSTATION5",
        &[
            ("param1", "Microsoft NDIS Capture"),
            ("param2", "system start"),
            ("param3", "demand start"),
            ("param4", "NdisCap"),
        ],
    );
    r.user_sid = Some("S-1-5-18".into());
    let e = map(&r);
    common(&e, SYSTEM, 7040, "SERVICE_MODIFICATION");
    assert_eq!(s(&e, f::TARGET_APPLICATION), Some("Microsoft NDIS Capture"));
    assert_eq!(add(&e, "param3"), Some("demand start"));
    assert_eq!(add(&e, "param4"), Some("NdisCap"));
    assert_eq!(add(&e, "ServiceKeyName"), Some("NdisCap"));
    assert_eq!(s(&e, f::PRINCIPAL_SID), Some("S-1-5-18"));
}

#[test]
fn system_7045_service_installed() {
    let mut r = rec(
        SYSTEM,
        7045,
        "WIN-77LTAPHIQ1R.example.corp",
        &[
            ("ServiceName", "remotesvc"),
            ("ImagePath", "calc.exe"),
            ("ServiceType", "user mode service"),
            ("StartType", "auto start"),
            ("AccountName", "LocalSystem"),
        ],
    );
    r.user_sid = Some("S-1-5-21-1-2-3-500".into());
    let e = map(&r);
    common(&e, SYSTEM, 7045, "SERVICE_CREATION");
    assert_eq!(
        s(&e, f::PRINCIPAL_HOSTNAME),
        Some("WIN-77LTAPHIQ1R.example.corp")
    );
    assert_eq!(s(&e, f::PRINCIPAL_SID), Some("S-1-5-21-1-2-3-500"));
    assert_eq!(s(&e, f::TARGET_APPLICATION), Some("remotesvc"));
    assert_eq!(s(&e, f::TARGET_PATH), Some("calc.exe"));
    assert_eq!(s(&e, f::TARGET_CMD), Some("calc.exe"));
    assert_eq!(s(&e, f::TARGET_USERID), Some("LocalSystem"));
    assert_eq!(add(&e, "ServiceDisplayName"), Some("remotesvc"));
    assert_eq!(add(&e, "StartType"), Some("auto start"));
    assert_eq!(add(&e, "ServiceType"), Some("user mode service"));
    assert_eq!(add(&e, "AccountName"), Some("LocalSystem"));

    let e = map(&rec(
        SYSTEM,
        7045,
        "IEWIN7",
        &[(
            "ImagePath",
            "%COMSPEC% /c ping -n 1 127.0.0.1 >nul && echo 'WinPwnage' > \\\\.\\pipe\\WinPwnagePipe",
        )],
    ));
    assert_eq!(s(&e, f::TARGET_PATH), Some("%COMSPEC%"));
    let e = map(&rec(
        SYSTEM,
        7045,
        "DC",
        &[("ImagePath", "\"-Ctaskkill /f /im explorer.exe\"")],
    ));
    assert_eq!(
        s(&e, f::TARGET_PATH),
        Some("-Ctaskkill /f /im explorer.exe")
    );
    assert_eq!(
        s(&e, f::TARGET_CMD),
        Some("\"-Ctaskkill /f /im explorer.exe\"")
    );
}

#[test]
fn system_scm_ids_from_other_providers_are_generic() {
    let mut r = rec(SYSTEM, 7045, "H", &[("ServiceName", "x")]);
    r.provider = Some("Some-Other-Provider".into());
    let e = map(&r);
    assert_eq!(s(&e, f::EVENT_TYPE), Some("GENERIC_EVENT"));
    assert_eq!(add(&e, "ServiceName"), Some("x"));
}

#[test]
fn system_10016_dcom_denied() {
    let data = [
        ("param1", "application-specific"),
        ("param2", "Remote"),
        ("param3", "Launch"),
        ("param4", "{49B2791A-B1AE-4C90-9B8E-E860BA07F889}"),
        ("param5", "{7E0423CD-1119-0928-900C-E6D4A52A0715}"),
        ("param6", "MSEDGEWIN10"),
        ("param7", "IEUser"),
        ("param8", "S-1-5-21-3461203602-4096304019-2269080069-1000"),
        ("param9", "10.0.2.17"),
        ("param10", "Unavailable"),
        ("param11", "Unavailable"),
    ];
    let mut r = rec(SYSTEM, 10016, "MSEDGEWIN10", &data);
    r.provider = Some("Microsoft-Windows-DistributedCOM".into());
    let e = map(&r);
    assert_eq!(s(&e, f::EVENT_TYPE), Some("GENERIC_EVENT"));
    assert_eq!(s(&e, f::ACTION), Some("BLOCK"));
    assert_eq!(
        s(&e, f::TARGET_RESOURCE),
        Some("{49B2791A-B1AE-4C90-9B8E-E860BA07F889}")
    );
    assert_eq!(
        s(&e, f::TARGET_APPLICATION),
        Some("{7E0423CD-1119-0928-900C-E6D4A52A0715}")
    );
    assert_eq!(s(&e, f::TARGET_HOSTNAME), Some("MSEDGEWIN10"));
    assert_eq!(s(&e, f::PRINCIPAL_IP), Some("10.0.2.17"));
    assert_eq!(s(&e, f::PRINCIPAL_USERID), Some("IEUser"));
    assert_eq!(s(&e, f::PRINCIPAL_DOMAIN), Some("MSEDGEWIN10"));
    assert_eq!(
        s(&e, f::PRINCIPAL_SID),
        Some("S-1-5-21-3461203602-4096304019-2269080069-1000")
    );
    assert_eq!(add(&e, "param2"), Some("Remote"));
    assert_eq!(add(&e, "param3"), Some("Launch"));
    assert_eq!(add(&e, "param10"), Some("Unavailable"));
    assert!(!loopback(&e));
    let d = s(&e, f::DESCRIPTION).unwrap_or_default();
    assert!(
        d.contains("MMC20.Application") && d.contains("from 10.0.2.17"),
        "{d}"
    );

    let local = [
        ("param2", "Local"),
        ("param3", "Activation"),
        ("param4", "Windows.SecurityCenter.WscBrokerManager"),
        ("param5", "Unavailable"),
        ("param9", "LocalHost (Using LRPC)"),
    ];
    let mut r = rec(SYSTEM, 10016, "MSEDGEWIN10", &local);
    r.provider = Some("Microsoft-Windows-DistributedCOM".into());
    let e = map(&r);
    assert!(loopback(&e));
    assert_eq!(s(&e, f::TARGET_APPLICATION), None);
    assert_eq!(add(&e, "param5"), Some("Unavailable"));
    assert_eq!(add(&e, "param9"), Some("LocalHost (Using LRPC)"));
}

// ----- Sysmon -----------------------------------------------------------------------------------

#[test]
fn sysmon_1_process_create() {
    let data = [
        ("RuleName", ""),
        ("UtcTime", "2019-04-30 20:32:51.360"),
        ("ProcessGuid", "{365ABB72-B0E3-5CC8-0000-0010A8292200}"),
        ("ProcessId", "3788"),
        ("Image", "C:\\Windows\\System32\\cmd.exe"),
        ("CommandLine", "cmd.exe /Q /c whoami /all 1> \\\\127.0.0.1\\ADMIN$\\__1556656369.7 2>&1"),
        ("CurrentDirectory", "C:\\"),
        ("User", "IEWIN7\\IEUser"),
        ("LogonId", "0x1D313D"),
        ("IntegrityLevel", "High"),
        ("Hashes", "SHA1=0F3C4FF28F354AEDE202D54E9D1C5529A3BF87D8,MD5=5746BD7E255DD6A8AFA06F7C42C1BA41,SHA256=DB06C3534964E3FC79D2763144BA53742D7FA250CA336F4A0FE724B75AAFF386,IMPHASH=D0058544E4588B1B2290B7F4D830EB0A"),
        ("ParentProcessGuid", "{365ABB72-B0E1-5CC8-0000-00107B242200}"),
        ("ParentProcessId", "2080"),
        ("ParentImage", "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe"),
        ("ParentCommandLine", "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding"),
    ];
    let e = map(&rec(SYSMON, 1, "IEWIN7", &data));
    common(&e, SYSMON, 1, "PROCESS_LAUNCH");
    assert_eq!(s(&e, f::PRINCIPAL_HOSTNAME), Some("IEWIN7"));
    assert_eq!(
        s(&e, f::TARGET_PATH),
        Some("C:\\Windows\\System32\\cmd.exe")
    );
    assert!(s(&e, f::TARGET_CMD).is_some_and(|c| c.contains("whoami /all")));
    assert_eq!(e.int(f::TARGET_PID), Some(3788));
    assert_eq!(
        s(&e, f::TARGET_GUID),
        Some("{365ABB72-B0E3-5CC8-0000-0010A8292200}")
    );
    assert_eq!(
        s(&e, f::TARGET_SHA256),
        Some("db06c3534964e3fc79d2763144ba53742d7fa250ca336f4a0fe724b75aaff386")
    );
    assert_eq!(
        s(&e, f::TARGET_MD5),
        Some("5746bd7e255dd6a8afa06f7c42c1ba41")
    );
    assert_eq!(
        s(&e, f::TARGET_SHA1),
        Some("0f3c4ff28f354aede202d54e9d1c5529a3bf87d8")
    );
    assert_eq!(
        s(&e, f::PRINCIPAL_PATH),
        Some("C:\\Windows\\System32\\wbem\\WmiPrvSE.exe")
    );
    assert!(s(&e, f::PRINCIPAL_CMD).is_some_and(|c| c.ends_with("-Embedding")));
    assert_eq!(e.int(f::PRINCIPAL_PID), Some(2080));
    assert_eq!(
        s(&e, f::PRINCIPAL_GUID),
        Some("{365ABB72-B0E1-5CC8-0000-00107B242200}")
    );
    assert_eq!(s(&e, f::PRINCIPAL_USERID), Some("IEUser"));
    assert_eq!(s(&e, f::PRINCIPAL_DOMAIN), Some("IEWIN7"));
    assert_eq!(s(&e, f::PRINCIPAL_LOGON_ID), Some("0x1d313d"));
    assert!(
        add(&e, "Hashes").is_some_and(|h| h.contains("IMPHASH=")),
        "Hashes kept"
    );
    assert_eq!(add(&e, "IntegrityLevel"), Some("High"));
    assert_eq!(add(&e, "UtcTime"), Some("2019-04-30 20:32:51.360"));
    assert!(add(&e, "RuleName").is_none());
}

#[test]
fn sysmon_utc_time_is_the_fallback_timestamp() {
    let mut r = rec(SYSMON, 1, "H", &[("UtcTime", "2019-04-30 20:32:51.360")]);
    r.time_micros = None;
    let e = map(&r);
    assert_eq!(e.timestamp_micros(), Some(1_556_656_371_360_000));
}

fn sysmon3(computer: &str, data: &[(&str, &str)]) -> UdmEvent {
    map(&rec(SYSMON, 3, computer, data))
}

#[test]
fn sysmon_3_outbound() {
    let e = sysmon3(
        "MSEDGEWIN10",
        &[
            ("ProcessGuid", "{747F3D96-0000}"),
            ("ProcessId", "5000"),
            (
                "Image",
                "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            ),
            ("User", "MSEDGEWIN10\\IEUser"),
            ("Protocol", "tcp"),
            ("Initiated", "true"),
            ("SourceIsIpv6", "false"),
            ("SourceIp", "10.0.2.15"),
            ("SourceHostname", "MSEDGEWIN10.home"),
            ("SourcePort", "50007"),
            ("DestinationIp", "10.0.2.17"),
            ("DestinationHostname", "MSEDGEWIN10CLONE"),
            ("DestinationPort", "135"),
            ("DestinationPortName", "epmap"),
        ],
    );
    common(&e, SYSMON, 3, "NETWORK_CONNECTION");
    assert_eq!(s(&e, f::DIRECTION), Some("OUTBOUND"));
    assert_eq!(s(&e, f::PRINCIPAL_HOSTNAME), Some("MSEDGEWIN10"));
    assert_eq!(s(&e, f::PRINCIPAL_IP), Some("10.0.2.15"));
    assert_eq!(e.int(f::PRINCIPAL_PORT), Some(50007));
    assert!(s(&e, f::PRINCIPAL_PATH).is_some_and(|p| p.ends_with("powershell.exe")));
    assert_eq!(e.int(f::PRINCIPAL_PID), Some(5000));
    assert_eq!(s(&e, f::PRINCIPAL_USERID), Some("IEUser"));
    assert_eq!(s(&e, f::TARGET_IP), Some("10.0.2.17"));
    assert_eq!(s(&e, f::TARGET_HOSTNAME), Some("MSEDGEWIN10CLONE"));
    assert_eq!(e.int(f::TARGET_PORT), Some(135));
    assert_eq!(s(&e, f::IP_PROTOCOL), Some("TCP"));
    assert_eq!(s(&e, f::APP_PROTOCOL), Some("DCERPC"));
    assert_eq!(add(&e, "SourceHostname"), Some("MSEDGEWIN10.home"));
    assert_eq!(add(&e, "DestinationPortName"), Some("epmap"));
    assert!(!loopback(&e));
}

#[test]
fn sysmon_3_inbound_remote_logged_as_source() {
    // Newer Sysmon: the remote client is Source.
    let e = sysmon3(
        "MSEDGEWIN10",
        &[
            ("Image", "System"),
            ("ProcessId", "4"),
            ("User", "NT AUTHORITY\\SYSTEM"),
            ("Protocol", "tcp"),
            ("Initiated", "false"),
            ("SourceIp", "10.0.2.15"),
            ("SourceHostname", "LAPTOP-JU4M3I0E"),
            ("SourcePort", "57238"),
            ("DestinationIp", "10.0.2.18"),
            ("DestinationHostname", "MSEDGEWIN10"),
            ("DestinationPort", "445"),
        ],
    );
    assert_eq!(s(&e, f::DIRECTION), Some("INBOUND"));
    assert_eq!(s(&e, f::PRINCIPAL_IP), Some("10.0.2.15"));
    assert_eq!(s(&e, f::PRINCIPAL_HOSTNAME), Some("LAPTOP-JU4M3I0E"));
    assert_eq!(e.int(f::PRINCIPAL_PORT), Some(57238));
    assert_eq!(s(&e, f::TARGET_IP), Some("10.0.2.18"));
    assert_eq!(s(&e, f::TARGET_HOSTNAME), Some("MSEDGEWIN10"));
    assert_eq!(e.int(f::TARGET_PORT), Some(445));
    assert_eq!(s(&e, f::TARGET_PATH), Some("System"));
    assert_eq!(e.int(f::TARGET_PID), Some(4));
    assert_eq!(s(&e, f::TARGET_USERID), Some("SYSTEM"));
    assert_eq!(s(&e, f::TARGET_DOMAIN), Some("NT AUTHORITY"));
    assert_eq!(s(&e, f::PRINCIPAL_PATH), None);
    assert_eq!(s(&e, f::APP_PROTOCOL), Some("SMB"));
}

#[test]
fn sysmon_3_inbound_local_logged_as_source() {
    // Older Sysmon (IEWIN7): the local listener is Source, the remote client Destination.
    let e = sysmon3(
        "IEWIN7",
        &[
            ("Image", "System"),
            ("Initiated", "false"),
            ("SourceIp", "10.0.2.18"),
            ("SourceHostname", "IEWIN7"),
            ("SourcePort", "445"),
            ("DestinationIp", "10.0.2.19"),
            ("DestinationHostname", ""),
            ("DestinationPort", "45616"),
        ],
    );
    assert_eq!(s(&e, f::PRINCIPAL_IP), Some("10.0.2.19"));
    assert_eq!(e.int(f::PRINCIPAL_PORT), Some(45616));
    assert_eq!(s(&e, f::TARGET_IP), Some("10.0.2.18"));
    assert_eq!(e.int(f::TARGET_PORT), Some(445));
    assert_eq!(s(&e, f::TARGET_HOSTNAME), Some("IEWIN7"));
    assert_eq!(s(&e, f::PRINCIPAL_HOSTNAME), None);
    // Both sides loopback, no host names: the lower (listening) port is local.
    let e = sysmon3(
        "IEWIN7",
        &[
            ("Initiated", "false"),
            ("SourceIp", "127.0.0.1"),
            ("SourcePort", "445"),
            ("DestinationIp", "127.0.0.1"),
            ("DestinationPort", "49162"),
        ],
    );
    assert_eq!(e.int(f::PRINCIPAL_PORT), Some(49162));
    assert_eq!(e.int(f::TARGET_PORT), Some(445));
    assert!(loopback(&e));
}

#[test]
fn sysmon_5_process_terminated() {
    let data = [
        ("ProcessGuid", "{39e4a257-40a6-5f8d-a205-000000000700}"),
        ("ProcessId", "824"),
        ("Image", "C:\\Windows\\System32\\reg.exe"),
    ];
    let e = map(&rec(SYSMON, 5, "WORKSTATION5", &data));
    common(&e, SYSMON, 5, "PROCESS_TERMINATION");
    assert_eq!(
        s(&e, f::TARGET_PATH),
        Some("C:\\Windows\\System32\\reg.exe")
    );
    assert_eq!(e.int(f::TARGET_PID), Some(824));
}

#[test]
fn sysmon_7_image_loaded() {
    let data = [
        ("ProcessId", "644"),
        ("Image", "C:\\Windows\\System32\\lsass.exe"),
        ("ImageLoaded", "\\\\172.16.66.254\\shared\\lsadb.dll"),
        (
            "Hashes",
            "SHA256=9DDAE70F550B452ABE3C75A6036845ABD4134F858C1DEC3343762D97A9CF8450",
        ),
        ("Signed", "false"),
    ];
    let e = map(&rec(SYSMON, 7, "02694w-win10.threebeesco.com", &data));
    common(&e, SYSMON, 7, "PROCESS_MODULE_LOAD");
    assert_eq!(
        s(&e, f::PRINCIPAL_PATH),
        Some("C:\\Windows\\System32\\lsass.exe")
    );
    assert_eq!(
        s(&e, f::TARGET_FILE_PATH),
        Some("\\\\172.16.66.254\\shared\\lsadb.dll")
    );
    assert_eq!(
        s(&e, f::TARGET_SHA256),
        None,
        "a module's hash is not the process's"
    );
    assert!(add(&e, "Hashes").is_some());
    assert_eq!(add(&e, "Signed"), Some("false"));
}

#[test]
fn sysmon_8_create_remote_thread() {
    let data = [
        (
            "SourceProcessGuid",
            "{67e11d8c-77ef-5fd2-4c14-000000000700}",
        ),
        ("SourceProcessId", "5604"),
        ("SourceImage", "C:\\Windows\\System32\\csrss.exe"),
        (
            "TargetProcessGuid",
            "{67e11d8c-e2c7-5fdd-a596-000000000700}",
        ),
        ("TargetProcessId", "1140"),
        (
            "TargetImage",
            "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        ),
        ("NewThreadId", "1728"),
        ("StartAddress", "0x00007FFEA99B61E0"),
        ("StartFunction", "CtrlRoutine"),
    ];
    let e = map(&rec(SYSMON, 8, "WORKSTATION5", &data));
    common(&e, SYSMON, 8, "PROCESS_INJECTION");
    assert_eq!(
        s(&e, f::PRINCIPAL_PATH),
        Some("C:\\Windows\\System32\\csrss.exe")
    );
    assert_eq!(e.int(f::PRINCIPAL_PID), Some(5604));
    assert!(s(&e, f::TARGET_PATH).is_some_and(|p| p.ends_with("powershell.exe")));
    assert_eq!(e.int(f::TARGET_PID), Some(1140));
    assert_eq!(
        s(&e, f::TARGET_GUID),
        Some("{67e11d8c-e2c7-5fdd-a596-000000000700}")
    );
    assert_eq!(add(&e, "StartFunction"), Some("CtrlRoutine"));
}

#[test]
fn sysmon_10_process_access() {
    let data = [
        (
            "SourceProcessGUID",
            "{365ABB72-3D05-5D0B-0000-001004220D00}",
        ),
        ("SourceProcessId", "816"),
        ("SourceThreadId", "2000"),
        ("SourceImage", "C:\\Windows\\system32\\lsass.exe"),
        (
            "TargetProcessGUID",
            "{365ABB72-3ECE-5D0B-0000-00107F7F1A00}",
        ),
        ("TargetProcessId", "1284"),
        ("TargetImage", "C:\\Windows\\system32\\NETSTAT.EXE"),
        ("GrantedAccess", "0x1fffff"),
        ("CallTrace", "C:\\Windows\\SYSTEM32\\ntdll.dll+4530c"),
        ("SourceUser", "NT AUTHORITY\\SYSTEM"),
        ("TargetUser", "IEWIN7\\IEUser"),
    ];
    let e = map(&rec(SYSMON, 10, "IEWIN7", &data));
    common(&e, SYSMON, 10, "PROCESS_OPEN");
    assert_eq!(
        s(&e, f::PRINCIPAL_PATH),
        Some("C:\\Windows\\system32\\lsass.exe")
    );
    assert_eq!(
        s(&e, f::PRINCIPAL_GUID),
        Some("{365ABB72-3D05-5D0B-0000-001004220D00}")
    );
    assert_eq!(
        s(&e, f::TARGET_PATH),
        Some("C:\\Windows\\system32\\NETSTAT.EXE")
    );
    assert_eq!(s(&e, f::PRINCIPAL_USERID), Some("SYSTEM"));
    assert_eq!(s(&e, f::TARGET_USERID), Some("IEUser"));
    assert_eq!(add(&e, "GrantedAccess"), Some("0x1fffff"));
    assert_eq!(add(&e, "SourceThreadId"), Some("2000"));
}

#[test]
fn sysmon_11_file_created() {
    let data = [
        ("ProcessId", "4"),
        ("Image", "System"),
        ("TargetFilename", "C:\\Windows\\PSEXESVC.exe"),
        ("CreationUtcTime", "2020-08-27 11:40:56.397"),
    ];
    let e = map(&rec(SYSMON, 11, "04246w-win10.threebeesco.com", &data));
    common(&e, SYSMON, 11, "FILE_CREATION");
    assert_eq!(s(&e, f::PRINCIPAL_PATH), Some("System"));
    assert_eq!(e.int(f::PRINCIPAL_PID), Some(4));
    assert_eq!(
        s(&e, f::TARGET_FILE_PATH),
        Some("C:\\Windows\\PSEXESVC.exe")
    );
    assert_eq!(add(&e, "CreationUtcTime"), Some("2020-08-27 11:40:56.397"));
}

#[test]
fn sysmon_12_registry_object() {
    let data = [
        ("EventType", "CreateKey"),
        ("Image", "C:\\Windows\\system32\\wbem\\wmiprvse.exe"),
        ("TargetObject", "HKLM\\SOFTWARE"),
    ];
    let e = map(&rec(SYSMON, 12, "MSEDGEWIN10", &data));
    common(&e, SYSMON, 12, "REGISTRY_CREATION");
    assert_eq!(s(&e, f::TARGET_REG_KEY), Some("HKLM\\SOFTWARE"));
    assert_eq!(s(&e, f::TARGET_REG_VALUE_NAME), None);
    assert_eq!(add(&e, "EventType"), Some("CreateKey"));
    let e = map(&rec(
        SYSMON,
        12,
        "H",
        &[("EventType", "DeleteValue"), ("TargetObject", "HKLM\\x\\y")],
    ));
    assert_eq!(s(&e, f::EVENT_TYPE), Some("REGISTRY_DELETION"));
}

#[test]
fn sysmon_13_registry_value_set() {
    let data = [
        ("EventType", "SetValue"),
        ("ProcessId", "500"),
        ("Image", "C:\\Windows\\system32\\services.exe"),
        (
            "TargetObject",
            "HKLM\\System\\CurrentControlSet\\services\\hello\\ImagePath",
        ),
        (
            "Details",
            "%%COMSPEC%% /b /c start /b /min powershell.exe -nop",
        ),
    ];
    let e = map(&rec(SYSMON, 13, "IEWIN7", &data));
    common(&e, SYSMON, 13, "REGISTRY_MODIFICATION");
    assert_eq!(
        s(&e, f::TARGET_REG_KEY),
        Some("HKLM\\System\\CurrentControlSet\\services\\hello\\ImagePath")
    );
    assert_eq!(s(&e, f::TARGET_REG_VALUE_NAME), Some("ImagePath"));
    assert_eq!(
        s(&e, f::TARGET_REG_VALUE_DATA),
        Some("%%COMSPEC%% /b /c start /b /min powershell.exe -nop")
    );
    assert_eq!(
        s(&e, f::PRINCIPAL_PATH),
        Some("C:\\Windows\\system32\\services.exe")
    );
}

#[test]
fn sysmon_14_registry_renamed() {
    let data = [
        ("EventType", "RenameKey"),
        ("TargetObject", "HKLM\\Software\\Old"),
        ("NewName", "HKLM\\Software\\New"),
    ];
    let e = map(&rec(SYSMON, 14, "H", &data));
    common(&e, SYSMON, 14, "REGISTRY_MODIFICATION");
    assert_eq!(s(&e, f::TARGET_REG_KEY), Some("HKLM\\Software\\Old"));
    assert_eq!(add(&e, "NewName"), Some("HKLM\\Software\\New"));
}

#[test]
fn sysmon_17_pipe_created() {
    let data = [
        ("EventType", "CreatePipe"),
        ("ProcessGuid", "{747F3D96-96A8-5F70-0000-0010C0F02D00}"),
        ("ProcessId", "1120"),
        ("PipeName", "\\svchost-MSEDGEWIN10-8116-stdin"),
        ("Image", "C:\\Windows\\svchost.exe"),
    ];
    let e = map(&rec(SYSMON, 17, "MSEDGEWIN10", &data));
    common(&e, SYSMON, 17, "FILE_CREATION");
    assert_eq!(
        s(&e, f::TARGET_FILE_PATH),
        Some("\\svchost-MSEDGEWIN10-8116-stdin")
    );
    assert_eq!(s(&e, f::PRINCIPAL_PATH), Some("C:\\Windows\\svchost.exe"));
    assert_eq!(e.int(f::PRINCIPAL_PID), Some(1120));
}

#[test]
fn sysmon_18_pipe_connected() {
    let data = [
        ("EventType", "ConnectPipe"),
        ("ProcessId", "8116"),
        ("PipeName", "\\svchost"),
        ("Image", "C:\\Windows\\system32\\PsExec.exe"),
    ];
    let e = map(&rec(SYSMON, 18, "MSEDGEWIN10", &data));
    common(&e, SYSMON, 18, "FILE_OPEN");
    assert_eq!(s(&e, f::TARGET_FILE_PATH), Some("\\svchost"));
    assert_eq!(
        s(&e, f::PRINCIPAL_PATH),
        Some("C:\\Windows\\system32\\PsExec.exe")
    );
}

#[test]
fn sysmon_19_wmi_filter() {
    let data = [
        ("EventType", "WmiFilterEvent"),
        ("Operation", "Created"),
        ("User", "CORP\\admin"),
        ("EventNamespace", "\"root\\\\cimv2\""),
        ("Name", "\"Updater\""),
        (
            "Query",
            "\"SELECT * FROM __InstanceModificationEvent WITHIN 60\"",
        ),
    ];
    let e = map(&rec(SYSMON, 19, "H", &data));
    common(&e, SYSMON, 19, "GENERIC_EVENT");
    assert_eq!(s(&e, f::TARGET_RESOURCE), Some("\"Updater\""));
    assert_eq!(
        s(&e, f::DESCRIPTION),
        Some("\"SELECT * FROM __InstanceModificationEvent WITHIN 60\"")
    );
    assert_eq!(s(&e, f::PRINCIPAL_USERID), Some("admin"));
    assert_eq!(add(&e, "Operation"), Some("Created"));
    assert_eq!(add(&e, "EventNamespace"), Some("\"root\\\\cimv2\""));
}

#[test]
fn sysmon_20_wmi_consumer() {
    let data = [
        ("Operation", "Created"),
        ("User", "CORP\\admin"),
        ("Name", "\"Updater\""),
        ("Type", "Command Line"),
        ("Destination", "\"cmd.exe /c calc.exe\""),
    ];
    let e = map(&rec(SYSMON, 20, "H", &data));
    common(&e, SYSMON, 20, "GENERIC_EVENT");
    assert_eq!(s(&e, f::TARGET_RESOURCE), Some("\"Updater\""));
    assert_eq!(s(&e, f::TARGET_CMD), Some("\"cmd.exe /c calc.exe\""));
    assert_eq!(s(&e, f::DESCRIPTION), Some("\"cmd.exe /c calc.exe\""));
    assert_eq!(add(&e, "Type"), Some("Command Line"));
}

#[test]
fn sysmon_21_wmi_binding() {
    let data = [
        ("Operation", "Created"),
        ("User", "CORP\\admin"),
        (
            "Consumer",
            "\"CommandLineEventConsumer.Name=\\\"Updater\\\"\"",
        ),
        ("Filter", "\"__EventFilter.Name=\\\"Updater\\\"\""),
    ];
    let e = map(&rec(SYSMON, 21, "H", &data));
    common(&e, SYSMON, 21, "GENERIC_EVENT");
    assert_eq!(
        s(&e, f::TARGET_RESOURCE),
        Some("\"CommandLineEventConsumer.Name=\\\"Updater\\\"\"")
    );
    assert!(s(&e, f::DESCRIPTION).is_some_and(|d| d.contains("__EventFilter")));
    assert_eq!(
        add(&e, "Filter"),
        Some("\"__EventFilter.Name=\\\"Updater\\\"\"")
    );
}

#[test]
fn sysmon_22_dns_query() {
    let data = [
        ("ProcessId", "7256"),
        ("Image", "C:\\Users\\wardog\\Downloads\\PSTools\\PsExec.exe"),
        ("QueryName", "WORKSTATION5"),
        ("QueryStatus", "0"),
        ("QueryResults", "192.168.2.5;"),
    ];
    let e = map(&rec(SYSMON, 22, "WORKSTATION5", &data));
    common(&e, SYSMON, 22, "NETWORK_DNS");
    assert_eq!(s(&e, f::TARGET_HOSTNAME), Some("WORKSTATION5"));
    assert_eq!(s(&e, f::TARGET_URL), Some("WORKSTATION5"));
    assert_eq!(s(&e, f::APP_PROTOCOL), Some("DNS"));
    assert_eq!(add(&e, "QueryResults"), Some("192.168.2.5;"));
    assert_eq!(add(&e, "QueryStatus"), Some("0"));
}

#[test]
fn sysmon_23_file_deleted() {
    let data = [
        ("Image", "C:\\Windows\\explorer.exe"),
        ("User", "NT AUTHORITY\\SYSTEM"),
        ("TargetFilename", "C:\\Windows\\Temp\\x.cap"),
        ("IsExecutable", "false"),
        ("Archived", "true"),
    ];
    let e = map(&rec(SYSMON, 23, "H", &data));
    common(&e, SYSMON, 23, "FILE_DELETION");
    assert_eq!(s(&e, f::TARGET_FILE_PATH), Some("C:\\Windows\\Temp\\x.cap"));
    assert_eq!(add(&e, "Archived"), Some("true"));
}

#[test]
fn sysmon_26_file_delete_logged() {
    let e = map(&rec(SYSMON, 26, "H", &[("TargetFilename", "C:\\x.exe")]));
    common(&e, SYSMON, 26, "FILE_DELETION");
    assert_eq!(s(&e, f::TARGET_FILE_PATH), Some("C:\\x.exe"));
}

// ----- WMI-Activity -----------------------------------------------------------------------------

#[test]
fn wmi_5857_provider_started() {
    let data = [
        ("ProviderName", "StdProv"),
        ("Code", "0x0"),
        ("HostProcess", "wmiprvse.exe"),
        ("ProcessID", "5580"),
        ("ProviderPath", "C:\\Windows\\System32\\wbem\\stdprov.dll"),
    ];
    let e = map(&rec(WMI, 5857, "MSEDGEWIN10", &data));
    common(&e, WMI, 5857, "PROCESS_MODULE_LOAD");
    assert_eq!(s(&e, f::PRINCIPAL_PATH), Some("wmiprvse.exe"));
    assert_eq!(e.int(f::PRINCIPAL_PID), Some(5580));
    assert_eq!(s(&e, f::TARGET_RESOURCE), Some("StdProv"));
    assert_eq!(
        s(&e, f::TARGET_FILE_PATH),
        Some("C:\\Windows\\System32\\wbem\\stdprov.dll")
    );
    assert_eq!(add(&e, "Code"), Some("0x0"));
}

#[test]
fn wmi_5858_client_failure() {
    let data = [
        ("Id", "{00000000-0000-0000-0000-000000000000}"),
        ("ClientMachine", "WORKSTATION5"),
        ("User", "THESHIRE\\pgustavo"),
        ("ClientProcessId", "1234"),
        ("Component", "Unknown"),
        (
            "Operation",
            "Start IWbemServices::ExecMethod - root\\cimv2 : Win32_Process::Create",
        ),
        ("ResultCode", "0x80041003"),
        ("PossibleCause", "Unknown"),
    ];
    let e = map(&rec(WMI, 5858, "WORKSTATION6.theshire.local", &data));
    common(&e, WMI, 5858, "GENERIC_EVENT");
    assert_eq!(s(&e, f::PRINCIPAL_HOSTNAME), Some("WORKSTATION5"));
    assert_eq!(
        s(&e, f::TARGET_HOSTNAME),
        Some("WORKSTATION6.theshire.local")
    );
    assert_eq!(s(&e, f::PRINCIPAL_USERID), Some("pgustavo"));
    assert_eq!(s(&e, f::PRINCIPAL_DOMAIN), Some("THESHIRE"));
    assert_eq!(e.int(f::PRINCIPAL_PID), Some(1234));
    assert_eq!(s(&e, f::ACTION), Some("FAIL"));
    assert_eq!(s(&e, f::SECURITY_SUMMARY), Some("0x80041003"));
    assert!(s(&e, f::DESCRIPTION).is_some_and(|d| d.contains("Win32_Process::Create")));
    assert!(!loopback(&e));
}

#[test]
fn wmi_5860_temporary_subscription() {
    let data = [
        ("NamespaceName", "//./root/CIMV2"),
        ("Query", "SELECT * FROM Win32_ProcessStartTrace"),
        ("User", "CORP\\admin"),
        ("Processid", "2222"),
        ("MachineName", "HOST1"),
        ("PossibleCause", "Temporary"),
    ];
    let e = map(&rec(WMI, 5860, "HOST1.corp.local", &data));
    common(&e, WMI, 5860, "GENERIC_EVENT");
    assert_eq!(
        s(&e, f::DESCRIPTION),
        Some("SELECT * FROM Win32_ProcessStartTrace")
    );
    assert_eq!(s(&e, f::TARGET_RESOURCE), Some("//./root/CIMV2"));
    assert_eq!(s(&e, f::PRINCIPAL_USERID), Some("admin"));
    assert_eq!(e.int(f::PRINCIPAL_PID), Some(2222));
    assert_eq!(s(&e, f::PRINCIPAL_HOSTNAME), Some("HOST1"));
    assert!(loopback(&e), "the subscription came from the host itself");
    assert_eq!(add(&e, "PossibleCause"), Some("Temporary"));
}

#[test]
fn wmi_5861_permanent_binding() {
    let cause = "Binding EventFilter: \ninstance of __EventFilter\n{\n\tCreatorSID = {1, 5};\n\tEventNamespace = \"root/cimv2\";\n\tName = \"Updater\";\n\tQuery = \"SELECT * FROM __InstanceModificationEvent\";\n\tQueryLanguage = \"WQL\";\n};\nPerm. Consumer: \ninstance of CommandLineEventConsumer\n{\n\tCommandLineTemplate = \"C:\\\\Windows\\\\System32\\\\cmd.exe /c calc.exe\";\n\tExecutablePath = \"C:\\\\Windows\\\\System32\\\\cmd.exe\";\n\tName = \"Updater\";\n};\n";
    let data = [
        ("Namespace", "//./root/subscription"),
        ("ESS", "Updater"),
        ("CONSUMER", "CommandLineEventConsumer=\"Updater\""),
        ("PossibleCause", cause),
    ];
    let e = map(&rec(WMI, 5861, "H", &data));
    common(&e, WMI, 5861, "GENERIC_EVENT");
    assert_eq!(
        s(&e, f::TARGET_RESOURCE),
        Some("CommandLineEventConsumer=\"Updater\"")
    );
    assert_eq!(
        s(&e, f::TARGET_CMD),
        Some("C:\\Windows\\System32\\cmd.exe /c calc.exe")
    );
    assert_eq!(
        s(&e, f::TARGET_PATH),
        Some("C:\\Windows\\System32\\cmd.exe")
    );
    assert!(s(&e, f::DESCRIPTION).is_some_and(|d| d.starts_with("Binding EventFilter")));
    assert_eq!(add(&e, "ESS"), Some("Updater"));
    assert_eq!(add(&e, "Namespace"), Some("//./root/subscription"));
}

// ----- PowerShell -------------------------------------------------------------------------------

#[test]
fn powershell_4103_module_logging() {
    let ctx = "        Severity = Informational\r\n        Host Name = ServerRemoteHost\r\n        Host Version = 5.1.18362.752\r\n        Host Application = C:\\Windows\\system32\\wsmprovhost.exe -Embedding\r\n        Command Name = Start-Sleep\r\n        Script Name = C:\\x.ps1\r\n        User = THESHIRE\\pgustavo\r\n        Connected User = THESHIRE\\admin\r\n        Shell ID = Microsoft.PowerShell\r\n";
    let data = [
        ("ContextInfo", ctx),
        ("UserData", ""),
        (
            "Payload",
            "CommandInvocation(Start-Sleep): \"Start-Sleep\"\r\n",
        ),
    ];
    let mut r = rec(PS, 4103, "WORKSTATION6", &data);
    r.user_sid = Some("S-1-5-21-1-2-3-1104".into());
    let e = map(&r);
    common(&e, PS, 4103, "PROCESS_UNCATEGORIZED");
    assert_eq!(
        s(&e, f::DESCRIPTION),
        Some("CommandInvocation(Start-Sleep): \"Start-Sleep\"")
    );
    assert_eq!(
        s(&e, f::PRINCIPAL_CMD),
        Some("C:\\Windows\\system32\\wsmprovhost.exe -Embedding")
    );
    assert_eq!(s(&e, f::PRINCIPAL_USERID), Some("pgustavo"));
    assert_eq!(s(&e, f::PRINCIPAL_DOMAIN), Some("THESHIRE"));
    assert_eq!(s(&e, f::PRINCIPAL_SID), Some("S-1-5-21-1-2-3-1104"));
    assert_eq!(s(&e, f::SRC_USERID), Some("admin"));
    assert_eq!(s(&e, f::TARGET_FILE_PATH), Some("C:\\x.ps1"));
    assert!(add(&e, "ContextInfo").is_some(), "ContextInfo is kept");
}

#[test]
fn powershell_4104_script_block() {
    let data = [
        ("MessageNumber", "1"),
        ("MessageTotal", "1"),
        (
            "ScriptBlockText",
            "If($PSVErSiOnTablE.PSVERsIOn.Major -GE 3){}",
        ),
        ("ScriptBlockId", "{0ad9f0e4-8e5c-4c5d-9b0c-4d2b0f1c9a11}"),
        ("Path", ""),
    ];
    let mut r = rec(PS, 4104, "WORKSTATION6", &data);
    r.user_sid = Some("S-1-5-18".into());
    let e = map(&r);
    common(&e, PS, 4104, "PROCESS_UNCATEGORIZED");
    assert_eq!(
        s(&e, f::DESCRIPTION),
        Some("If($PSVErSiOnTablE.PSVERsIOn.Major -GE 3){}")
    );
    assert_eq!(s(&e, f::PRINCIPAL_SID), Some("S-1-5-18"));
    assert_eq!(s(&e, f::PRINCIPAL_HOSTNAME), Some("WORKSTATION6"));
    assert_eq!(s(&e, f::TARGET_FILE_PATH), None);
    assert_eq!(
        add(&e, "ScriptBlockId"),
        Some("{0ad9f0e4-8e5c-4c5d-9b0c-4d2b0f1c9a11}")
    );
    assert!(add(&e, "ScriptBlockText").is_none());
}

const CLASSIC_BLOCK: &str = "\tNewEngineState=Available\r\n\tPreviousEngineState=None\r\n\r\n\tSequenceNumber=13\r\n\r\n\tHostName=ServerRemoteHost\r\n\tHostVersion=1.0.0.0\r\n\tHostId=3b5c2c1c\r\n\tHostApplication=C:\\Windows\\system32\\wsmprovhost.exe -Embedding\r\n\tEngineVersion=5.1\r\n\tRunspaceId=x\r\n\tPipelineId=\r\n\tCommandName=\r\n\tCommandType=\r\n\tScriptName=\r\n\tCommandPath=\r\n\tCommandLine=";

#[test]
fn windows_powershell_400_engine_started() {
    let data = [
        ("Data", "Available"),
        ("Data2", "None"),
        ("Data3", CLASSIC_BLOCK),
    ];
    let e = map(&rec(WINPS, 400, "DC1", &data));
    common(&e, WINPS, 400, "PROCESS_UNCATEGORIZED");
    assert_eq!(
        s(&e, f::TARGET_CMD),
        Some("C:\\Windows\\system32\\wsmprovhost.exe -Embedding")
    );
    assert_eq!(add(&e, "Data"), Some("Available"));
    assert!(add(&e, "Data3").is_some());
}

#[test]
fn windows_powershell_403_engine_stopped() {
    let data = [
        ("Data", "Stopped"),
        ("Data2", "Available"),
        ("Data3", CLASSIC_BLOCK),
    ];
    let e = map(&rec(WINPS, 403, "DC1", &data));
    common(&e, WINPS, 403, "PROCESS_UNCATEGORIZED");
    assert!(s(&e, f::TARGET_CMD).is_some());
}

#[test]
fn windows_powershell_600_provider_started() {
    let data = [
        ("Data", "Registry"),
        ("Data2", "Started"),
        ("Data3", CLASSIC_BLOCK),
    ];
    let e = map(&rec(WINPS, 600, "DC1", &data));
    common(&e, WINPS, 600, "PROCESS_UNCATEGORIZED");
    assert!(s(&e, f::TARGET_CMD).is_some());
}

#[test]
fn windows_powershell_800_pipeline() {
    let block = "\tDetailSequence=1\r\n\tDetailTotal=1\r\n\r\n\tSequenceNumber=21\r\n\r\n\tUserId=CORP\\admin\r\n\tHostName=ConsoleHost\r\n\tHostApplication=powershell.exe -enc SQBFAFgA\r\n\tCommandLine=Invoke-Mimikatz -DumpCreds";
    let data = [
        ("Data", "Invoke-Mimikatz -DumpCreds"),
        ("Data2", block),
        ("Data3", "CommandInvocation(Invoke-Mimikatz)"),
    ];
    let e = map(&rec(WINPS, 800, "WS1", &data));
    common(&e, WINPS, 800, "PROCESS_UNCATEGORIZED");
    assert_eq!(
        s(&e, f::PRINCIPAL_CMD),
        Some("powershell.exe -enc SQBFAFgA")
    );
    assert_eq!(s(&e, f::PRINCIPAL_USERID), Some("admin"));
    assert_eq!(s(&e, f::DESCRIPTION), Some("Invoke-Mimikatz -DumpCreds"));
}

// ----- WinRM --------------------------------------------------------------------------------------

#[test]
fn winrm_6_session_created() {
    let conn = "dc1.insecurebank.local/wsman?PSVersion=5.1.17763.1";
    let mut r = rec(WINRM, 6, "WS1", &[("connection", conn)]);
    r.user_sid = Some("S-1-5-21-1-2-3-500".into());
    let e = map(&r);
    common(&e, WINRM, 6, "NETWORK_CONNECTION");
    assert_eq!(s(&e, f::TARGET_HOSTNAME), Some("dc1.insecurebank.local"));
    assert_eq!(s(&e, f::TARGET_URL), Some(conn));
    assert_eq!(s(&e, f::PRINCIPAL_HOSTNAME), Some("WS1"));
    assert_eq!(s(&e, f::DIRECTION), Some("OUTBOUND"));
    assert_eq!(s(&e, f::PRINCIPAL_SID), Some("S-1-5-21-1-2-3-500"));
    let e = map(&rec(
        WINRM,
        6,
        "WS1",
        &[("connection", "http://10.0.0.5:5985/wsman")],
    ));
    assert_eq!(s(&e, f::TARGET_IP), Some("10.0.0.5"));
    assert_eq!(s(&e, f::TARGET_URL), Some("http://10.0.0.5:5985/wsman"));
    let e = map(&rec(WINRM, 6, "WS1", &[("connection", "localhost")]));
    assert!(loopback(&e));
}

#[test]
fn winrm_91_shell_created() {
    let mut r = rec(
        WINRM,
        91,
        "DC1.insecurebank.local",
        &[
            (
                "resourceUri",
                "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd",
            ),
            ("shellId", "A1B2"),
        ],
    );
    r.user_sid = Some("S-1-5-21-738609754-2819869699-4189121830-500".into());
    let e = map(&r);
    common(&e, WINRM, 91, "USER_RESOURCE_ACCESS");
    assert_eq!(
        s(&e, f::TARGET_URL),
        Some("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd")
    );
    assert_eq!(s(&e, f::TARGET_HOSTNAME), Some("DC1.insecurebank.local"));
    assert_eq!(
        s(&e, f::PRINCIPAL_SID),
        Some("S-1-5-21-738609754-2819869699-4189121830-500")
    );
    assert_eq!(add(&e, "shellId"), Some("A1B2"));
    // Only the undecoded payload (ProcessingErrorData): the URI is recovered from it.
    let payload = "68007400740070003A002F002F0073006300680065006D00610073002E006D006900630072006F0073006F00660074002E0063006F006D002F007700620065006D002F00770073006D0061006E002F0031002F00770069006E0064006F00770073002F007300680065006C006C002F0063006D0064000000";
    let e = map(&rec(
        WINRM,
        91,
        "DC1",
        &[
            ("ErrorCode", "15005"),
            ("DataItemName", "shellId"),
            ("EventPayload", payload),
        ],
    ));
    assert_eq!(
        s(&e, f::TARGET_URL),
        Some("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd")
    );
    assert_eq!(add(&e, "EventPayload"), Some(payload));
}

#[test]
fn winrm_169_authenticated() {
    let data = [
        ("username", "iewin7\\ieuser"),
        ("authenticationMechanism", "NTLM"),
    ];
    let e = map(&rec(WINRM, 169, "IEWIN7", &data));
    common(&e, WINRM, 169, "USER_LOGIN");
    assert_eq!(s(&e, f::TARGET_USERID), Some("ieuser"));
    assert_eq!(s(&e, f::TARGET_DOMAIN), Some("iewin7"));
    assert_eq!(s(&e, f::AUTH_DETAILS), Some("NTLM"));
    assert_eq!(s(&e, f::ACTION), Some("ALLOW"));
    assert_eq!(s(&e, f::TARGET_HOSTNAME), Some("IEWIN7"));
}

// ----- Terminal Services / RDP --------------------------------------------------------------------

fn lsm(id: u32, address: &str) -> UdmEvent {
    let data = [
        ("User", "MSEDGEWIN10\\IEUser"),
        ("SessionID", "2"),
        ("Address", address),
    ];
    map(&rec(LSM, id, "MSEDGEWIN10", &data))
}

#[test]
fn lsm_21_session_logon() {
    let e = lsm(21, "10.0.2.16");
    common(&e, LSM, 21, "USER_LOGIN");
    assert_eq!(s(&e, f::TARGET_USERID), Some("IEUser"));
    assert_eq!(s(&e, f::TARGET_DOMAIN), Some("MSEDGEWIN10"));
    assert_eq!(s(&e, f::PRINCIPAL_IP), Some("10.0.2.16"));
    assert_eq!(s(&e, f::TARGET_HOSTNAME), Some("MSEDGEWIN10"));
    assert_eq!(s(&e, f::APP_PROTOCOL), Some("RDP"));
    assert_eq!(s(&e, f::AUTH_MECHANISM), Some("REMOTE_INTERACTIVE"));
    assert_eq!(add(&e, "SessionID"), Some("2"));
    let e = lsm(21, "LOCAL");
    assert!(loopback(&e));
    assert_eq!(s(&e, f::PRINCIPAL_HOSTNAME), Some("MSEDGEWIN10"));
    assert_eq!(s(&e, f::AUTH_MECHANISM), None);
    assert_eq!(add(&e, "Address"), Some("LOCAL"));
}

#[test]
fn lsm_23_session_logoff() {
    let e = lsm(23, "");
    common(&e, LSM, 23, "USER_LOGOUT");
    assert_eq!(s(&e, f::TARGET_USERID), Some("IEUser"));
}

#[test]
fn lsm_24_session_disconnected() {
    let e = lsm(24, "10.0.2.16");
    common(&e, LSM, 24, "USER_LOGOUT");
    assert_eq!(s(&e, f::PRINCIPAL_IP), Some("10.0.2.16"));
    assert_eq!(s(&e, f::AUTH_MECHANISM), None);
}

#[test]
fn lsm_25_session_reconnected() {
    let e = lsm(25, "10.0.2.16");
    common(&e, LSM, 25, "USER_LOGIN");
    assert_eq!(s(&e, f::PRINCIPAL_IP), Some("10.0.2.16"));
}

#[test]
fn rcm_1149_authentication_succeeded() {
    let data = [
        ("Param1", "IEUser"),
        ("Param2", "MSEDGEWIN10"),
        ("Param3", "10.0.2.16"),
    ];
    let e = map(&rec(RCM, 1149, "MSEDGEWIN10", &data));
    common(&e, RCM, 1149, "USER_LOGIN");
    assert_eq!(s(&e, f::TARGET_USERID), Some("IEUser"));
    assert_eq!(s(&e, f::TARGET_DOMAIN), Some("MSEDGEWIN10"));
    assert_eq!(s(&e, f::PRINCIPAL_IP), Some("10.0.2.16"));
    assert_eq!(s(&e, f::APP_PROTOCOL), Some("RDP"));
}

#[test]
fn rdpcore_131_connection_accepted() {
    let e = map(&rec(
        RDPCORE,
        131,
        "MSEDGEWIN10",
        &[("ConnType", "TCP"), ("ClientIP", "10.0.2.16:52202")],
    ));
    common(&e, RDPCORE, 131, "NETWORK_CONNECTION");
    assert_eq!(s(&e, f::PRINCIPAL_IP), Some("10.0.2.16"));
    assert_eq!(e.int(f::PRINCIPAL_PORT), Some(52202));
    assert_eq!(s(&e, f::IP_PROTOCOL), Some("TCP"));
    assert_eq!(s(&e, f::DIRECTION), Some("INBOUND"));
    assert_eq!(s(&e, f::TARGET_HOSTNAME), Some("MSEDGEWIN10"));
    let e = map(&rec(
        RDPCORE,
        131,
        "MSEDGEWIN10",
        &[("ConnType", "UDP"), ("ClientIP", "[10.0.2.16]:59407")],
    ));
    assert_eq!(s(&e, f::PRINCIPAL_IP), Some("10.0.2.16"));
    assert_eq!(e.int(f::PRINCIPAL_PORT), Some(59407));
    assert_eq!(s(&e, f::IP_PROTOCOL), Some("UDP"));
}

#[test]
fn rdpcore_140_bad_password() {
    let e = map(&rec(RDPCORE, 140, "SRV", &[("IPString", "203.0.113.9")]));
    common(&e, RDPCORE, 140, "USER_LOGIN");
    assert_eq!(s(&e, f::ACTION), Some("BLOCK"));
    assert_eq!(s(&e, f::PRINCIPAL_IP), Some("203.0.113.9"));
}

// ----- TaskScheduler ------------------------------------------------------------------------------

const TASK: &str = "\\Microsoft\\Windows\\SoftwareProtectionPlatform\\EventCacheManager";

#[test]
fn tasks_106_registered() {
    let e = map(&rec(
        TASKS,
        106,
        "WORKSTATION6",
        &[("TaskName", TASK), ("UserContext", "S-1-5-18")],
    ));
    common(&e, TASKS, 106, "SCHEDULED_TASK_CREATION");
    assert_eq!(s(&e, f::TARGET_RESOURCE), Some(TASK));
    assert_eq!(s(&e, f::TARGET_APPLICATION), Some(TASK));
    assert_eq!(s(&e, f::PRINCIPAL_SID), Some("S-1-5-18"));
    let e = map(&rec(
        TASKS,
        106,
        "W",
        &[("TaskName", TASK), ("UserContext", "THESHIRE\\pgustavo")],
    ));
    assert_eq!(s(&e, f::PRINCIPAL_USERID), Some("pgustavo"));
}

#[test]
fn tasks_129_process_launched() {
    let data = [
        (
            "TaskName",
            "\\Microsoft\\Windows\\Workplace Join\\Automatic-Device-Join",
        ),
        ("Path", "%SystemRoot%\\System32\\dsregcmd.exe"),
        ("ProcessID", "4096"),
        ("Priority", "16384"),
    ];
    let e = map(&rec(TASKS, 129, "W", &data));
    common(&e, TASKS, 129, "PROCESS_LAUNCH");
    assert_eq!(
        s(&e, f::TARGET_PATH),
        Some("%SystemRoot%\\System32\\dsregcmd.exe")
    );
    assert_eq!(e.int(f::TARGET_PID), Some(4096));
    assert_eq!(add(&e, "Priority"), Some("16384"));
}

#[test]
fn tasks_140_updated() {
    let e = map(&rec(
        TASKS,
        140,
        "W",
        &[("TaskName", TASK), ("UserName", "S-1-5-18")],
    ));
    common(&e, TASKS, 140, "SCHEDULED_TASK_MODIFICATION");
    assert_eq!(s(&e, f::PRINCIPAL_SID), Some("S-1-5-18"));
}

#[test]
fn tasks_141_deleted() {
    let e = map(&rec(
        TASKS,
        141,
        "W",
        &[("TaskName", TASK), ("UserName", "CORP\\admin")],
    ));
    common(&e, TASKS, 141, "SCHEDULED_TASK_DELETION");
    assert_eq!(s(&e, f::PRINCIPAL_USERID), Some("admin"));
}

#[test]
fn tasks_200_action_started() {
    let data = [
        ("TaskName", "\\LMST"),
        ("ActionName", "C:\\Windows\\system32\\cmd.exe"),
        ("TaskInstanceId", "{1}"),
    ];
    let e = map(&rec(TASKS, 200, "W", &data));
    common(&e, TASKS, 200, "PROCESS_LAUNCH");
    assert_eq!(
        s(&e, f::TARGET_PATH),
        Some("C:\\Windows\\system32\\cmd.exe")
    );
    assert_eq!(s(&e, f::TARGET_RESOURCE), Some("\\LMST"));
}

// ----- Generic, robustness, table and documentation -------------------------------------------

#[test]
fn unknown_events_are_generic_with_everything_kept() {
    let mut r = rec(
        "Application",
        18454,
        "MSEDGEWIN10",
        &[("Data", "root"), ("Data2", " [CLIENT: 10.0.2.17]")],
    );
    r.provider = Some("MSSQLSERVER".into());
    r.user_sid = Some("S-1-5-21-1-2-3-1001".into());
    r.extra = vec![(
        "Message".into(),
        "\nLogin succeeded for user 'root'.\nmore".into(),
    )];
    let e = map(&r);
    assert_eq!(s(&e, f::EVENT_TYPE), Some("GENERIC_EVENT"));
    assert_eq!(s(&e, f::PRINCIPAL_HOSTNAME), Some("MSEDGEWIN10"));
    assert_eq!(s(&e, f::PRINCIPAL_SID), Some("S-1-5-21-1-2-3-1001"));
    assert_eq!(add(&e, "Data"), Some("root"));
    assert_eq!(add(&e, "Data2"), Some("[CLIENT: 10.0.2.17]"));
    assert_eq!(
        s(&e, f::DESCRIPTION),
        Some("Login succeeded for user 'root'.")
    );
    assert_eq!(s(&e, f::LOG_TYPE), Some("WINEVTLOG"));
    assert!(!loopback(&e));

    // Known channel, unknown id; no channel, no id at all.
    let e = map(&rec(
        SECURITY,
        4661,
        "H",
        &[("ObjectName", "DC=example,DC=corp")],
    ));
    assert_eq!(s(&e, f::EVENT_TYPE), Some("GENERIC_EVENT"));
    assert_eq!(add(&e, "ObjectName"), Some("DC=example,DC=corp"));
    let e = map(&WinRecord::default());
    assert_eq!(s(&e, f::EVENT_TYPE), Some("GENERIC_EVENT"));
    assert_eq!(s(&e, f::CHANNEL), None);
}

#[test]
fn lower_case_and_forwarded_channels() {
    let mut r = rec(SECURITY, 4624, "WORKSTATION6", &logon_4624());
    r.channel = Some("security".into());
    let e = map(&r);
    assert_eq!(s(&e, f::CHANNEL), Some("Security"));
    assert_eq!(s(&e, f::EVENT_TYPE), Some("USER_LOGIN"));
    r.channel = Some("ForwardedEvents".into());
    let e = map(&r);
    assert_eq!(s(&e, f::CHANNEL), Some("ForwardedEvents"));
    assert_eq!(
        s(&e, f::EVENT_TYPE),
        Some("USER_LOGIN"),
        "mapped by provider"
    );
}

/// Every field name any row looks at, so the garbage test reaches every code path.
const FIELD_NAMES: &[&str] = &[
    "SubjectUserSid",
    "SubjectUserName",
    "SubjectDomainName",
    "SubjectLogonId",
    "TargetUserSid",
    "TargetSid",
    "TargetUserName",
    "TargetDomainName",
    "TargetLogonId",
    "LogonType",
    "AuthenticationPackageName",
    "LmPackageName",
    "WorkstationName",
    "Workstation",
    "IpAddress",
    "IpPort",
    "ProcessName",
    "ProcessId",
    "ProcessID",
    "Status",
    "SubStatus",
    "FailureCode",
    "TargetServerName",
    "TargetInfo",
    "NewProcessName",
    "NewProcessId",
    "CommandLine",
    "ParentProcessName",
    "ServiceName",
    "ServiceFileName",
    "ServiceAccount",
    "TaskName",
    "TaskContent",
    "TaskContentNew",
    "ClientProcessId",
    "ShareName",
    "ShareLocalPath",
    "RelativeTargetName",
    "Application",
    "Direction",
    "SourceAddress",
    "SourcePort",
    "DestAddress",
    "DestPort",
    "Protocol",
    "ImagePath",
    "AccountName",
    "param1",
    "param2",
    "param3",
    "param4",
    "param5",
    "param6",
    "param7",
    "param8",
    "param9",
    "Binary",
    "Image",
    "ProcessGuid",
    "User",
    "LogonId",
    "Hashes",
    "ParentImage",
    "ParentCommandLine",
    "ParentProcessId",
    "ParentProcessGuid",
    "Initiated",
    "SourceIp",
    "SourceHostname",
    "DestinationIp",
    "DestinationHostname",
    "DestinationPort",
    "ImageLoaded",
    "SourceImage",
    "SourceProcessId",
    "SourceProcessGuid",
    "SourceUser",
    "TargetImage",
    "TargetProcessId",
    "TargetProcessGuid",
    "TargetUser",
    "TargetFilename",
    "EventType",
    "TargetObject",
    "Details",
    "PipeName",
    "Name",
    "Query",
    "Destination",
    "Consumer",
    "Filter",
    "QueryName",
    "UtcTime",
    "HostProcess",
    "ProviderName",
    "ProviderPath",
    "ClientMachine",
    "ResultCode",
    "Operation",
    "Namespace",
    "Processid",
    "MachineName",
    "CONSUMER",
    "PossibleCause",
    "ContextInfo",
    "Payload",
    "ScriptBlockText",
    "Path",
    "Data",
    "Data2",
    "Data3",
    "connection",
    "resourceUri",
    "EventPayload",
    "username",
    "authenticationMechanism",
    "Address",
    "Param1",
    "Param2",
    "Param3",
    "ClientIP",
    "ConnType",
    "IPString",
    "UserContext",
    "UserName",
    "ActionName",
];

const GARBAGE: &[&str] = &[
    "",
    "-",
    " ",
    "\"",
    "\"\"",
    "\\",
    "\\\\",
    "0x",
    "0xFFFFFFFFFFFFFFFFFFFF",
    "-1",
    "99999999999999999999999",
    "é\u{301}😀\u{0}",
    "[",
    "[::1",
    "]:",
    ":::::",
    "%%",
    "&#xD800;&#99999999;&",
    "<Command>",
    "<Command/><Arguments>",
    "<Exec><Command>\"</Command></Exec>",
    "HostApplication=",
    "=\n=\r\n",
    "S-1-",
    "@",
    "a\\b\\c\\",
    "CommandLineTemplate = \"\\",
    "C:\\é é.exe x",
    "%X%\\",
    "68007400",
    "FFFE",
];

#[test]
fn garbage_never_panics() {
    let channels = [
        SECURITY,
        SYSTEM,
        SYSMON,
        WMI,
        PS,
        WINPS,
        WINRM,
        LSM,
        RCM,
        RDPCORE,
        TASKS,
        "Application",
        "security",
        "",
    ];
    let ids: Vec<u32> = ROWS
        .iter()
        .map(|r| r.event_id)
        .chain([0, u32::MAX])
        .collect();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for channel in channels {
        for &id in &ids {
            for round in 0..6 {
                let data: Vec<(&str, &str)> = FIELD_NAMES
                    .iter()
                    .map(|n| (*n, GARBAGE[(next() % GARBAGE.len() as u64) as usize]))
                    .collect();
                let mut r = rec(channel, id, GARBAGE[round % GARBAGE.len()], &data);
                r.keywords = Some(GARBAGE[(next() % GARBAGE.len() as u64) as usize].into());
                r.user_sid = Some(GARBAGE[round].into());
                if round == 5 {
                    r.provider = None;
                    r.computer = None;
                }
                let e = map(&r);
                assert!(s(&e, f::EVENT_TYPE).is_some());
            }
        }
    }
}

#[test]
fn every_row_maps_to_its_event_type() {
    for row in ROWS {
        let mut r = rec(row.channel, row.event_id, "HOST", &[]);
        if row.channel == SYSTEM {
            r.provider = match row.event_id {
                10016 => Some("Microsoft-Windows-DistributedCOM".into()),
                104 => Some("Microsoft-Windows-Eventlog".into()),
                _ => r.provider,
            };
        }
        let e = map(&r);
        let t = s(&e, f::EVENT_TYPE).unwrap_or_default();
        assert!(
            row.event_types.split(" / ").any(|x| x == t),
            "{} {} gave {t}, table says {}",
            row.channel,
            row.event_id,
            row.event_types
        );
        assert!(
            s(&e, f::DESCRIPTION).is_some(),
            "{} {}",
            row.channel,
            row.event_id
        );
        if t == "GENERIC_EVENT" {
            // Rows that are generic by type still get their own description.
            assert!(s(&e, f::PRINCIPAL_HOSTNAME).is_some() || s(&e, f::TARGET_HOSTNAME).is_some());
        }
    }
}

#[test]
fn every_row_has_a_test_and_a_documented_line() {
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/mapping.md");
    let text = std::fs::read_to_string(&docs).expect("docs/mapping.md");
    let tests = include_str!("mapping_rows.rs");
    for row in ROWS {
        let line = format!("| {} | {} |", row.channel, row.event_id);
        assert!(text.contains(&line), "docs/mapping.md lacks a row `{line}`");
        let doc_line = text
            .lines()
            .find(|l| l.starts_with(&line))
            .unwrap_or_default();
        assert!(
            doc_line.contains(row.event_types),
            "docs row `{line}` must name {}",
            row.event_types
        );
        let prefix = match row.channel {
            SECURITY => "security_",
            SYSTEM => "system_",
            SYSMON => "sysmon_",
            WMI => "wmi_",
            PS => "powershell_",
            WINPS => "windows_powershell_",
            WINRM => "winrm_",
            LSM => "lsm_",
            RCM => "rcm_",
            RDPCORE => "rdpcore_",
            _ => "tasks_",
        };
        let test_name = format!("fn {prefix}{}_", row.event_id);
        assert!(tests.contains(&test_name), "no test `{test_name}...`");
    }
}
