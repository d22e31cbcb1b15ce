//! TEMPORARY exploration dump (to be deleted).
use lateral_model::UdmEvent;
use lateral_sources::mapping::map_record;
use std::collections::BTreeMap;

#[test]
#[ignore]
fn dump() {
    let root = std::path::Path::new("/work/shared/data");
    let sink = lateral_sources::collect(root);
    eprintln!("records {} events {} issues {}", sink.records.len(), sink.events.len(), sink.issues.len());
    for i in sink.issues.iter().take(20) { eprintln!("ISSUE {:?}", i); }
    let mut seen: BTreeMap<(String, u32), usize> = BTreeMap::new();
    for (rec, prov, _) in &sink.records {
        let mut e = UdmEvent::new();
        map_record(rec, &mut e);
        let k = (rec.canonical_channel().unwrap_or_default(), rec.event_id.unwrap_or(0));
        let n = seen.entry(k.clone()).or_insert(0);
        *n += 1;
        if *n <= 2 {
            let mut line = format!("## {:?} {}\n", k, prov.file);
            for (f, v) in e.iter() {
                if f.name() == "lateral.raw" { continue; }
                let mut s = format!("{:?}", v);
                if s.len() > 160 { s.truncate(160); }
                line.push_str(&format!("   {} = {}\n", f.name(), s));
            }
            for (k, v) in &e.additional {
                let mut s = v.clone();
                if s.len() > 100 { s.truncate(100); }
                line.push_str(&format!("   + {} = {:?}\n", k, s));
            }
            eprintln!("{line}");
        }
    }
    for (k, n) in &seen { eprintln!("COUNT {:?} {}", k, n); }
}
