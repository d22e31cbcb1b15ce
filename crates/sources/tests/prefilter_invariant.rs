//! The engine skips records before mapping them when their possible event types cannot match a
//! query. That is only sound if `map_record` never produces a type that
//! `possible_event_types` does not list. This checks it for every mapped row, with empty data
//! and with junk data, and for unmapped records.

use lateral_model::{f, UdmEvent};
use lateral_sources::mapping::{map_record, possible_event_types, ROWS};
use lateral_sources::WinRecord;

fn check(rec: &WinRecord) {
    let mut ev = UdmEvent::new();
    map_record(rec, &mut ev);
    let got = ev.str(f::EVENT_TYPE).unwrap_or("").to_string();
    let possible = possible_event_types(rec);
    assert!(
        possible.contains(&got.as_str()),
        "channel {:?} id {:?}: mapped to {got}, pre-filter expects one of {possible:?}",
        rec.channel,
        rec.event_id
    );
}

#[test]
fn every_mapped_type_is_announced() {
    let junk = [
        "",
        "-",
        "0x",
        "%%1833",
        "999999999999999999999",
        "C:\\x",
        "\\\\*\\IPC$",
        "true",
        "<Task/>",
        "S-1-5-18",
        "::1",
        "10.0.0.1:445",
    ];
    for row in ROWS {
        for variant in 0..3 {
            let mut rec = WinRecord {
                channel: Some(row.channel.to_string()),
                event_id: Some(row.event_id),
                computer: Some("HOST".into()),
                ..WinRecord::default()
            };
            if variant > 0 {
                for (i, name) in [
                    "EventType",
                    "Initiated",
                    "LogonType",
                    "ServiceName",
                    "ImagePath",
                    "TaskName",
                    "TargetObject",
                    "Details",
                    "SourceIp",
                    "DestinationIp",
                    "Image",
                    "param1",
                    "Data",
                    "Operation",
                    "ScriptBlockText",
                    "Payload",
                    "User",
                    "Address",
                ]
                .iter()
                .enumerate()
                {
                    let v = if variant == 1 {
                        junk[i % junk.len()]
                    } else {
                        "DeleteKey"
                    };
                    rec.push_data(Some(name), v);
                }
            }
            check(&rec);
            // The same record lower-cased, as some exports write channels.
            rec.channel = rec.channel.map(|c| c.to_ascii_lowercase());
            check(&rec);
        }
    }
    for (channel, id) in [
        ("Security", 1),
        ("Application", 15457),
        ("Weird/Channel", 7),
        ("", 4624),
    ] {
        check(&WinRecord {
            channel: Some(channel.into()),
            event_id: Some(id),
            ..WinRecord::default()
        });
    }
    check(&WinRecord::default());
}
