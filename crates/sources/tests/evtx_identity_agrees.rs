//! A record's identity read from its template values (without rendering it) must be exactly
//! the identity read from the rendered JSON, on every record of every shared EVTX sample; and
//! the template route must answer for nearly all of them, or it saves nothing.

use evtx::{EvtxParser, ParserSettings};
use lateral_sources::evtx_fast::identity_from_json_bytes;
use lateral_sources::evtx_identity::identity;
use lateral_sources::WinRecord;

/// The identity fields the pre-filter and the coverage counts use.
type Identity = (
    Option<String>,
    Option<String>,
    Option<u32>,
    Option<String>,
    Option<i64>,
);

fn key(r: &WinRecord) -> Identity {
    (
        r.provider.clone(),
        r.channel.clone(),
        r.event_id,
        r.computer.clone(),
        r.time_micros,
    )
}

#[test]
fn template_identity_agrees_with_rendered_json_on_every_shared_record() {
    let Some(dir) = lateral_testdata::shared("evtx") else {
        return;
    };
    let mut checked = 0usize;
    let mut answered = 0usize;
    for entry in walkdir::WalkDir::new(&dir).sort_by_file_name() {
        let Ok(entry) = entry else { continue };
        if entry.path().extension().is_none_or(|e| e != "evtx") {
            continue;
        }
        let mut parser = EvtxParser::from_path(entry.path())
            .expect("open sample")
            .with_configuration(
                ParserSettings::new()
                    .num_threads(1)
                    .separate_json_attributes(false)
                    .indent(false),
            );
        let pairs: Vec<_> = parser
            .serialized_records(|record| {
                let record = record?;
                let id = record.event_record_id;
                let fast = identity(&record);
                let rendered = record.into_json_bytes()?;
                Ok((id, fast, identity_from_json_bytes(&rendered.data)))
            })
            .flatten()
            .collect();
        for (id, fast, slow) in pairs {
            checked += 1;
            let Some(fast) = fast else { continue };
            answered += 1;
            let slow = slow.expect("rendered record has a System block");
            assert_eq!(
                key(&fast),
                key(&slow),
                "{} record {id}",
                entry.path().display()
            );
        }
    }
    assert!(checked >= 1356, "only {checked} records checked");
    assert!(
        answered * 100 >= checked * 95,
        "the template route answered only {answered} of {checked} records"
    );
    eprintln!("template identity answered {answered} of {checked} records");
}
