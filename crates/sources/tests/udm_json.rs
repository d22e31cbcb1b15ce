//! Google SecOps UDM JSON events: search-result wrapper, bare camelCase and snake_case events.

use lateral_model::{f, UdmEvent, Value as V};
use lateral_sources::udm_json::udm_from_json;
use serde_json::{json, Value};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn extra<'a>(ev: &'a UdmEvent, key: &str) -> Option<&'a str> {
    ev.additional.get(key).map(String::as_str)
}

#[test]
fn search_result_wrapper() {
    let ev = udm_from_json(&fixture("udm_search_result.json")).expect("UDM event");
    assert_eq!(
        extra(&ev, "udm.name"),
        Some("projects/lateral-demo/locations/us/instances/ebdc4bb9-878b-11e7-8455-10604b7cb5c1/events/ZCj1dBPK3mQkAAAAAAAAAA")
    );
    assert_eq!(ev.timestamp_micros(), Some(1_709_633_730_123_456));
    assert_eq!(
        ev.get(f::EVENT_TIMESTAMP),
        Some(&V::Timestamp(1_709_633_730_123_456))
    );
    assert_eq!(ev.str(f::EVENT_TYPE), Some("USER_LOGIN"));
    assert_eq!(ev.str(f::VENDOR_NAME), Some("Microsoft"));
    assert_eq!(
        ev.str(f::PRODUCT_NAME),
        Some("Microsoft-Windows-Security-Auditing")
    );
    assert_eq!(ev.str(f::PRODUCT_EVENT_TYPE), Some("4624"));
    assert_eq!(ev.str(f::PRODUCT_LOG_ID), Some("184467"));
    assert_eq!(ev.str(f::LOG_TYPE), Some("WINEVTLOG"));
    assert_eq!(ev.str(f::PRINCIPAL_HOSTNAME), Some("WS042"));
    // `ip` is repeated: the first in the field, all of them in additional.
    assert_eq!(ev.str(f::PRINCIPAL_IP), Some("10.1.2.3"));
    assert_eq!(
        extra(&ev, "principal.ip"),
        Some("10.1.2.3,FE80:0:0:0:0:0:0:1")
    );
    assert_eq!(ev.get(f::PRINCIPAL_PORT), Some(&V::Int(49832)));
    assert_eq!(ev.str(f::TARGET_HOSTNAME), Some("FS01.corp.example.com"));
    assert_eq!(ev.str(f::TARGET_DOMAIN), Some("CORP"));
    assert_eq!(ev.str(f::TARGET_USERID), Some("jsmith"));
    assert_eq!(
        ev.str(f::TARGET_SID),
        Some("S-1-5-21-3623811015-3361044348-30300820-1104")
    );
    assert_eq!(ev.str(f::APP_PROTOCOL), Some("SMB"));
    assert_eq!(ev.str(f::IP_PROTOCOL), Some("TCP"));
    assert_eq!(ev.str(f::DIRECTION), Some("INBOUND"));
    // securityResult: the first element fills the fields, the rest is kept.
    assert_eq!(ev.str(f::ACTION), Some("ALLOW"));
    assert_eq!(
        ev.str(f::SECURITY_SUMMARY),
        Some("An account was successfully logged on.")
    );
    assert_eq!(
        extra(&ev, "security_result[1].severity"),
        Some("INFORMATIONAL")
    );
    assert_eq!(
        extra(&ev, "security_result[1].summary"),
        Some("second result")
    );
    assert_eq!(ev.str(f::AUTH_MECHANISM), Some("NETWORK"));
    assert_eq!(ev.str(f::AUTH_DETAILS), Some("NTLM V2"));
    assert_eq!(extra(&ev, "extensions.auth.type"), Some("MACHINE"));
    // additional.fields in list form, under the original keys, values as logged.
    assert_eq!(extra(&ev, "LogonProcessName"), Some("NtLmSsp "));
    assert_eq!(extra(&ev, "KeyLength"), Some("128"));
    assert_eq!(extra(&ev, "ElevatedToken"), Some("true"));
    assert_eq!(extra(&ev, "Empty"), None);
    // Leaves with no catalogue field are kept under their snake_case path.
    assert_eq!(
        extra(&ev, "metadata.id"),
        Some("AAAAAKxPLqPx0Ge3hYNVdw9bYbEAAAAAAQAAAAAAAAA=")
    );
    assert_eq!(
        extra(&ev, "metadata.ingested_timestamp"),
        Some("2024-03-05T10:16:02.500Z")
    );
    assert_eq!(extra(&ev, "principal.asset.hostname"), Some("WS042"));
    assert_eq!(extra(&ev, "principal.asset.ip"), Some("10.1.2.3"));
    assert_eq!(ev.additional.len(), 12, "{:#?}", ev.additional);
    // Provenance and Windows columns are the caller's business.
    assert_eq!(ev.str(f::SOURCE_FILE), None);
    assert_eq!(ev.int(f::EVENT_ID), None);
    assert_eq!(ev.str(f::CHANNEL), None);
}

#[test]
fn bare_camel_case_event() {
    let ev = udm_from_json(&fixture("udm_camel.json")).expect("UDM event");
    assert_eq!(ev.timestamp_micros(), Some(1_709_633_731_555_000));
    assert_eq!(ev.str(f::EVENT_TYPE), Some("SERVICE_CREATION"));
    assert_eq!(ev.str(f::PRODUCT_EVENT_TYPE), Some("7045"));
    assert_eq!(
        ev.str(f::DESCRIPTION),
        Some("A service was installed in the system.")
    );
    assert_eq!(ev.str(f::PRINCIPAL_HOSTNAME), Some("FS01.corp.example.com"));
    assert_eq!(
        ev.str(f::PRINCIPAL_SID),
        Some("S-1-5-21-3623811015-3361044348-30300820-1104")
    );
    // pid is a string in proto-JSON (int64): parsed to a number.
    assert_eq!(ev.get(f::PRINCIPAL_PID), Some(&V::Int(664)));
    assert_eq!(ev.str(f::TARGET_APPLICATION), Some("PSEXESVC"));
    assert_eq!(ev.str(f::TARGET_PATH), Some("%SystemRoot%\\PSEXESVC.exe"));
    assert_eq!(ev.str(f::TARGET_CMD), Some("%SystemRoot%\\PSEXESVC.exe"));
    assert_eq!(ev.str(f::TARGET_RESOURCE), Some("PSEXESVC"));
    assert_eq!(extra(&ev, "target.resource.resource_type"), Some("SERVICE"));
    assert_eq!(extra(&ev, "ServiceType"), Some("user mode service"));
    assert_eq!(extra(&ev, "StartType"), Some("demand start"));
    assert_eq!(extra(&ev, "AccountName"), Some("LocalSystem"));
    assert_eq!(extra(&ev, "Tags"), Some("psexec,lateral"));
    assert_eq!(extra(&ev, "Origin.Collector"), Some("forwarder-02"));
    assert_eq!(extra(&ev, "Origin.Port"), Some("10514"));
    assert_eq!(ev.additional.len(), 7, "{:#?}", ev.additional);
}

#[test]
fn bare_snake_case_event() {
    let ev = udm_from_json(&fixture("udm_snake.json")).expect("UDM event");
    // 11:17:05.250+01:00 is 10:17:05.250 UTC.
    assert_eq!(ev.timestamp_micros(), Some(1_709_633_825_250_000));
    assert_eq!(ev.str(f::EVENT_TYPE), Some("PROCESS_LAUNCH"));
    assert_eq!(ev.str(f::LOG_TYPE), Some("WINDOWS_SYSMON"));
    assert_eq!(ev.str(f::PRINCIPAL_USERID), Some("SYSTEM"));
    assert_eq!(ev.str(f::PRINCIPAL_SID), Some("S-1-5-18"));
    assert_eq!(ev.get(f::PRINCIPAL_PID), Some(&V::Int(664)));
    assert_eq!(
        ev.str(f::PRINCIPAL_GUID),
        Some("SYSMON:{7F2B1C3D-0A1B-65E7-2E01-000000000B00}")
    );
    assert_eq!(ev.str(f::PRINCIPAL_PATH), Some("C:\\Windows\\PSEXESVC.exe"));
    assert_eq!(ev.get(f::TARGET_PID), Some(&V::Int(0x1a2c)));
    assert_eq!(ev.str(f::TARGET_CMD), Some("cmd.exe /c whoami"));
    assert_eq!(
        ev.str(f::TARGET_PATH),
        Some("C:\\Windows\\System32\\cmd.exe")
    );
    assert_eq!(
        ev.str(f::TARGET_SHA256),
        Some("b99d114b267ffd068c3289199b6df95a9f9e64872d6c2b666d63974bbce75bf2")
    );
    assert_eq!(ev.str(f::ACTION), Some("ALLOW"));
    assert_eq!(ev.str(f::SECURITY_SUMMARY), Some("process launched"));
    assert_eq!(extra(&ev, "target.process.parent_process.pid"), Some("664"));
    // A plain-object `additional` (canonical Struct JSON).
    assert_eq!(extra(&ev, "IntegrityLevel"), Some("System"));
    assert_eq!(extra(&ev, "LogonId"), Some("0x3e7"));
    assert_eq!(extra(&ev, "Nested.a"), Some("1"));
    assert_eq!(extra(&ev, "Nested.b"), Some("1,2"));
    assert_eq!(ev.additional.len(), 5, "{:#?}", ev.additional);
}

#[test]
fn camel_and_snake_spellings_give_the_same_event() {
    let camel = json!({
        "metadata": {"eventTimestamp": "2024-03-05T10:15:30Z", "eventType": "NETWORK_CONNECTION", "productEventType": "3"},
        "principal": {"ip": ["10.1.2.3"], "port": 51544, "process": {"pid": "5012", "file": {"fullPath": "C:\\Windows\\System32\\mstsc.exe"}}},
        "target": {"ip": ["10.1.2.50"], "port": 3389, "hostname": "DC01"},
        "network": {"ipProtocol": "TCP", "direction": "OUTBOUND"},
        "securityResult": [{"action": ["ALLOW"]}],
        "additional": {"fields": {"DestinationPortName": {"stringValue": "ms-wbt-server"}}}
    });
    let snake = json!({
        "metadata": {"event_timestamp": "2024-03-05T10:15:30Z", "event_type": "NETWORK_CONNECTION", "product_event_type": "3"},
        "principal": {"ip": ["10.1.2.3"], "port": 51544, "process": {"pid": "5012", "file": {"full_path": "C:\\Windows\\System32\\mstsc.exe"}}},
        "target": {"ip": ["10.1.2.50"], "port": 3389, "hostname": "DC01"},
        "network": {"ip_protocol": "TCP", "direction": "OUTBOUND"},
        "security_result": [{"action": ["ALLOW"]}],
        "additional": {"fields": {"DestinationPortName": {"string_value": "ms-wbt-server"}}}
    });
    let a = udm_from_json(&camel).expect("camel");
    let b = udm_from_json(&snake).expect("snake");
    assert_eq!(a, b);
    assert_eq!(a.str(f::TARGET_IP), Some("10.1.2.50"));
    assert_eq!(a.get(f::TARGET_PORT), Some(&V::Int(3389)));
    assert_eq!(
        a.str(f::PRINCIPAL_PATH),
        Some("C:\\Windows\\System32\\mstsc.exe")
    );
    assert_eq!(extra(&a, "DestinationPortName"), Some("ms-wbt-server"));
    assert_eq!(a.additional.len(), 1);
}

#[test]
fn ip_addresses_are_normalised_in_the_field() {
    let ev = udm_from_json(&json!({
        "metadata": {},
        "target": {"ip": ["FE80:0:0:0:0:0:0:1"]},
        "src": {"ip": "10.001.2.3"}
    }))
    .expect("UDM event");
    assert_eq!(ev.str(f::TARGET_IP), Some("fe80::1"));
    assert_eq!(extra(&ev, "target.ip"), None, "a single ip is not repeated");
    // Not an address Rust parses: kept as written.
    assert_eq!(ev.str(f::SRC_IP), Some("10.001.2.3"));
}

#[test]
fn unusable_values_are_kept_in_additional() {
    let ev = udm_from_json(&json!({
        "metadata": {"eventTimestamp": "sometime on tuesday"},
        "target": {"port": "https", "process": {"pid": 4.5}},
        "about": [{"hostname": "x1"}, {"hostname": "x2"}],
        "principal": {"mac": ["00:11:22:33:44:55"], "labels": [], "user": {"userid": null}}
    }))
    .expect("UDM event");
    assert_eq!(ev.timestamp_micros(), None);
    assert_eq!(
        extra(&ev, "metadata.event_timestamp"),
        Some("sometime on tuesday")
    );
    assert_eq!(ev.int(f::TARGET_PORT), None);
    assert_eq!(extra(&ev, "target.port"), Some("https"));
    assert_eq!(ev.int(f::TARGET_PID), None);
    assert_eq!(extra(&ev, "target.process.pid"), Some("4.5"));
    assert_eq!(extra(&ev, "about.hostname"), Some("x1"));
    assert_eq!(extra(&ev, "about[1].hostname"), Some("x2"));
    assert_eq!(extra(&ev, "principal.mac"), Some("00:11:22:33:44:55"));
    assert_eq!(ev.str(f::PRINCIPAL_USERID), None);
    assert_eq!(ev.additional.len(), 6, "{:#?}", ev.additional);
}

#[test]
fn not_udm_is_an_error() {
    let cases = [
        (json!([1, 2]), "expected a JSON object, found an array"),
        (
            json!("USER_LOGIN"),
            "expected a JSON object, found a string",
        ),
        (
            json!({"EventID": 4624, "Channel": "Security"}),
            "neither \"metadata\" nor \"udm\"",
        ),
        (json!({"name": "x", "udm": "nope"}), "\"udm\" is a string"),
        (json!({"metadata": [1]}), "\"metadata\" is an array"),
    ];
    for (value, want) in cases {
        let err = udm_from_json(&value).expect_err("not UDM");
        assert!(err.contains(want), "{value}: {err}");
    }
}

#[test]
fn wrapper_without_metadata_is_accepted() {
    let ev = udm_from_json(&json!({"name": "n1", "udm": {"principal": {"hostname": "WS1"}}}))
        .expect("UDM event");
    assert_eq!(ev.str(f::PRINCIPAL_HOSTNAME), Some("WS1"));
    assert_eq!(extra(&ev, "udm.name"), Some("n1"));
}
