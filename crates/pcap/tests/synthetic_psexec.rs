//! The PsExec case our users described, as a capture written by the test itself: 10.0.0.130
//! runs PsExec to SALES-PC (10.0.0.133) as `ssales`, then SALES-PC goes on to MARKETING-PC
//! (10.0.0.131). The summary must answer the seven questions.

mod support;

use lateral_model::{f, vocab::event_type as et};
use lateral_pcap::{read_capture, summarize};

#[test]
fn psexec_chain_capture_answers_the_seven_questions() {
    let p = support::psexec_chain();
    let r = read_capture(&p.bytes, "psexec-chain.pcap");
    assert!(r.issues.is_empty(), "{:?}", r.issues);

    let svc: Vec<_> = r
        .events
        .iter()
        .filter(|e| e.str(f::EVENT_TYPE) == Some(et::SERVICE_CREATION))
        .collect();
    assert_eq!(svc.len(), 2);
    assert_eq!(svc[0].str(f::TARGET_APPLICATION), Some("PSEXESVC"));
    assert_eq!(
        svc[0].str(f::TARGET_CMD),
        Some("%SystemRoot%\\PSEXESVC.exe")
    );
    assert_eq!(svc[0].str(f::PRINCIPAL_USERID), Some("ssales"));
    assert_eq!(svc[0].str(f::TARGET_HOSTNAME), Some("SALES-PC"));

    let s = summarize(&r.events);
    // 1. attacker IP
    assert_eq!(s.attacker_ip.as_deref(), Some("10.0.0.130"));
    // 2. first pivot, named from the NTLM target info
    let pivot = s.first_pivot.as_ref().expect("pivot");
    assert_eq!(
        (pivot.ip.as_str(), pivot.name.as_deref()),
        ("10.0.0.133", Some("SALES-PC"))
    );
    assert_eq!(pivot.name_source.as_deref(), Some("NTLM target info"));
    // 3. user
    assert_eq!(s.account.as_deref(), Some("SALES-PC\\ssales"));
    // 4. service executable
    let exe = s.service_executable.as_ref().expect("exe");
    assert_eq!(exe.path, "\\\\SALES-PC\\ADMIN$\\PSEXESVC.exe");
    assert!(exe.pe_header);
    assert_eq!(exe.bytes, 3000);
    // 5. install share and 6. communication share
    let admin = s
        .shares
        .iter()
        .find(|x| x.share == "\\\\SALES-PC\\ADMIN$")
        .expect("ADMIN$");
    assert!(admin
        .used_for
        .iter()
        .any(|u| u.starts_with("write PSEXESVC.exe")));
    let ipc = s
        .shares
        .iter()
        .find(|x| x.share == "\\\\SALES-PC\\IPC$")
        .expect("IPC$");
    assert!(ipc.used_for.iter().any(|u| u.contains("svcctl")));
    // 7. second target
    let next: Vec<(&str, Option<&str>)> = s
        .next_targets
        .iter()
        .map(|h| (h.ip.as_str(), h.name.as_deref()))
        .collect();
    assert_eq!(next, vec![("10.0.0.131", Some("MARKETING-PC"))]);
    assert_eq!(s.sessions.len(), 2);
    let text = lateral_pcap::summary::render_text(&s);
    assert!(text.contains("SALES-PC") && text.contains("MARKETING-PC") && text.contains("ssales"));
}
