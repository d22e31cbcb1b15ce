//! Print the events and the summary of captures: `cargo run -p lateral-pcap --example pcap_dump -- FILE...`
use lateral_model::f;

fn main() {
    let mut all = Vec::new();
    for path in std::env::args().skip(1) {
        match lateral_pcap::read_capture_file(std::path::Path::new(&path)) {
            Ok(r) => {
                println!("== {} {:?}", r.file, r.stats);
                for i in &r.issues {
                    println!("ISSUE {i}");
                }
                for e in &r.events {
                    println!(
                        "{:>6} {:<22} {:<28} {} -> {} | {} | user={:?} cmd={:?} file={:?} res={:?} app={:?} {:?}",
                        e.int(f::RECORD_NUMBER).unwrap_or(0),
                        e.str(f::EVENT_TYPE).unwrap_or(""),
                        e.str(f::PRODUCT_EVENT_TYPE).unwrap_or(""),
                        e.str(f::PRINCIPAL_IP).unwrap_or(""),
                        e.str(f::TARGET_IP).unwrap_or(""),
                        e.str(f::DESCRIPTION).unwrap_or(""),
                        e.str(f::PRINCIPAL_USERID).or(e.str(f::TARGET_USERID)),
                        e.str(f::TARGET_CMD),
                        e.str(f::TARGET_FILE_PATH),
                        e.str(f::TARGET_RESOURCE),
                        e.str(f::TARGET_APPLICATION),
                        e.str(f::ACTION),
                    );
                }
                all.extend(r.events);
            }
            Err(e) => println!("ERROR {e}"),
        }
    }
    println!(
        "{}",
        lateral_pcap::summary::render_text(&lateral_pcap::summarize(&all))
    );
}
