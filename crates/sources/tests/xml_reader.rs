//! Windows event XML reader: wevtutil exports, Event Viewer "Save as XML", Splunk
//! XmlWinEventLog lines, and broken input.

use std::io::{BufReader, Read};

use lateral_model::{Provenance, UdmEvent};
use lateral_sources::xml::read_xml;
use lateral_sources::{CollectSink, Flow, Position, ReadIssue, ReadOptions, RecordSink, WinRecord};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn read_bytes(bytes: &[u8], opts: &ReadOptions) -> CollectSink {
    let mut sink = CollectSink::default();
    let flow = read_xml(bytes, "evidence/test.xml", opts, &mut sink);
    assert_eq!(flow, Flow::Continue);
    sink
}

fn read(bytes: &[u8]) -> CollectSink {
    read_bytes(bytes, &ReadOptions::default())
}

/// Byte offsets of every `<Event ` / `<Event>` start tag in `text`.
fn event_starts(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find("<Event") {
        let at = from + i;
        let next = text.as_bytes().get(at + 6).copied();
        if matches!(next, Some(b' ' | b'>' | b'/')) {
            out.push(at);
        }
        from = at + 6;
    }
    out
}

const SECURITY_4624_TIME: i64 = 1_709_633_730_123_456; // 2024-03-05T10:15:30.1234567Z

#[test]
fn wevtutil_export_reads_every_event_with_system_fields() {
    let bytes = fixture("wevtutil_export.xml");
    let text = String::from_utf8(bytes.clone()).expect("fixture is UTF-8");
    let sink = read(&bytes);
    assert!(sink.issues.is_empty(), "{:?}", sink.issues);
    assert_eq!(sink.records.len(), 4);

    let (rec, prov, raw) = &sink.records[0];
    assert_eq!(
        rec.provider.as_deref(),
        Some("Microsoft-Windows-Security-Auditing")
    );
    assert_eq!(rec.event_id, Some(4624));
    assert_eq!(rec.channel.as_deref(), Some("Security"));
    assert_eq!(rec.computer.as_deref(), Some("FS01.corp.example.com"));
    assert_eq!(rec.time_micros, Some(SECURITY_4624_TIME));
    assert_eq!(rec.record_id, Some(184_467));
    assert_eq!(rec.process_id, Some(708));
    assert_eq!(rec.thread_id, Some(4412));
    assert_eq!(rec.level.as_deref(), Some("0"));
    assert_eq!(rec.task.as_deref(), Some("12544"));
    assert_eq!(rec.opcode.as_deref(), Some("0"));
    assert_eq!(rec.keywords.as_deref(), Some("0x8020000000000000"));
    assert_eq!(rec.user_sid, None, "<Security/> has no UserID");
    assert_eq!(rec.get("LogonType"), Some("3"));
    assert_eq!(rec.get("IpAddress"), Some("10.1.2.3"));
    assert_eq!(rec.get("IpPort"), Some("49832"));
    assert_eq!(rec.get("WorkstationName"), Some("WS042"));
    // Values are kept as logged: the trailing blank of "NtLmSsp " is part of the value.
    assert_eq!(rec.get("LogonProcessName"), Some("NtLmSsp "));
    assert_eq!(rec.get("SubjectUserName"), Some("-"));
    assert_eq!(rec.value("SubjectUserName"), None);
    assert_eq!(rec.data.len(), 27);
    assert!(rec.extra.is_empty());
    assert_eq!(
        prov,
        &Provenance {
            file: "evidence/test.xml".to_string(),
            format: "XML",
            record: Some(1),
            offset: Some(0),
        }
    );
    let starts = event_starts(&text);
    assert_eq!(starts.len(), 4);
    assert_eq!(raw.as_deref(), Some(&text[..starts[1]]));

    // The 7045 follows the 4624 with no separator.
    let (rec, prov, raw) = &sink.records[1];
    assert_eq!(rec.event_id, Some(7045), "Qualifiers attribute is ignored");
    assert_eq!(rec.provider.as_deref(), Some("Service Control Manager"));
    assert_eq!(rec.channel.as_deref(), Some("System"));
    assert_eq!(
        rec.user_sid.as_deref(),
        Some("S-1-5-21-3623811015-3361044348-30300820-1104")
    );
    assert_eq!(rec.get("ServiceName"), Some("PSEXESVC"));
    assert_eq!(rec.get("ImagePath"), Some("%SystemRoot%\\PSEXESVC.exe"));
    assert_eq!(rec.get("AccountName"), Some("LocalSystem"));
    assert_eq!(rec.time_micros, Some(1_709_633_731_555_000));
    assert_eq!(prov.record, Some(2));
    assert_eq!(prov.offset, Some(1779));
    assert_eq!(starts[1], 1779);
    let raw = raw.as_deref().expect("raw kept");
    assert!(raw.starts_with("<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Service Control Manager'"));
    assert!(raw.ends_with("</EventData></Event>"));

    // WMI-Activity: UserData leaves by their own names, wrapper element not a value.
    let (rec, prov, _) = &sink.records[2];
    assert_eq!(rec.event_id, Some(5860));
    assert_eq!(
        rec.channel.as_deref(),
        Some("Microsoft-Windows-WMI-Activity/Operational")
    );
    assert_eq!(rec.user_sid.as_deref(), Some("S-1-5-18"));
    assert_eq!(rec.get("Processid"), Some("3120"));
    assert_eq!(rec.get("NamespaceName"), Some("//./root/CIMV2"));
    assert_eq!(
        rec.get("Query"),
        Some("SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_Process'")
    );
    assert_eq!(rec.get("User"), Some("CORP\\jsmith"));
    assert_eq!(rec.get("PossibleCause"), Some("Temporary"));
    assert_eq!(rec.get("Operation_TemporaryEssStarted"), None);
    assert_eq!(rec.data.len(), 5);
    assert_eq!(prov.offset, Some(starts[2] as i64));

    // 1102 log cleared, UserData/LogFileCleared.
    let (rec, prov, raw) = &sink.records[3];
    assert_eq!(rec.event_id, Some(1102));
    assert_eq!(rec.get("SubjectUserName"), Some("jsmith"));
    assert_eq!(rec.get("SubjectLogonId"), Some("0x2a1f3c4"));
    assert_eq!(prov.record, Some(4));
    assert_eq!(prov.offset, Some(starts[3] as i64));
    assert_eq!(
        raw.as_deref(),
        Some(text[starts[3]..].trim_end_matches(['\r', '\n']))
    );
}

#[test]
fn raw_text_is_left_out_when_not_wanted() {
    let opts = ReadOptions {
        want_raw: false,
        ..ReadOptions::default()
    };
    let sink = read_bytes(&fixture("wevtutil_export.xml"), &opts);
    assert_eq!(sink.records.len(), 4);
    assert!(sink.records.iter().all(|(_, _, raw)| raw.is_none()));
    assert_eq!(sink.records[3].0.event_id, Some(1102));
}

#[test]
fn event_viewer_save_as_xml() {
    let bytes = fixture("eventviewer_saved.xml");
    let text = String::from_utf8(bytes.clone()).expect("UTF-8");
    let sink = read(&bytes);
    assert!(sink.issues.is_empty(), "{:?}", sink.issues);
    assert_eq!(sink.records.len(), 3);
    let starts = event_starts(&text);
    let offsets: Vec<_> = sink.records.iter().map(|r| r.1.offset).collect();
    assert_eq!(
        offsets,
        starts.iter().map(|&s| Some(s as i64)).collect::<Vec<_>>()
    );
    assert_eq!(starts[0], text.find("<Events>").expect("root") + 8);

    let (rec, _, _) = &sink.records[0];
    assert_eq!(rec.event_id, Some(4648));
    assert_eq!(rec.get("ProcessName"), Some("C:\\Tools\\PsExec64.exe"));
    assert_eq!(rec.get("TargetServerName"), Some("FS01.corp.example.com"));
    assert_eq!(
        rec.extra,
        vec![(
            "Message".to_string(),
            "A logon was attempted using explicit credentials.".to_string()
        )]
    );
    assert_eq!(rec.time_micros, Some(1_709_633_698_987_654));

    // Pretty-printed event: layout whitespace dropped, entities and CDATA resolved.
    let (rec, _, raw) = &sink.records[1];
    assert_eq!(rec.event_id, Some(4688));
    assert_eq!(rec.computer.as_deref(), Some("FS01.corp.example.com"));
    assert_eq!(rec.process_id, Some(4));
    assert_eq!(rec.time_micros, Some(1_709_633_732_000_000));
    assert_eq!(
        rec.get("CommandLine"),
        Some("cmd.exe /c \"whoami & ipconfig /all\" > C:\\Users\\Public\\o.txt")
    );
    assert_eq!(
        rec.get("NewProcessName"),
        Some("C:\\Windows\\System32\\cmd.exe")
    );
    assert_eq!(rec.get("MandatoryLabel"), Some("S-1-16-16384"));
    assert_eq!(rec.get("SubjectUserName"), Some("FS01$"));
    assert_eq!(rec.data.len(), 7);
    let raw = raw.as_deref().expect("raw");
    assert!(raw.starts_with(
        "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">\n  <System>"
    ));
    assert!(raw.ends_with("</EventData>\n</Event>"));

    // Classic event: unnamed Data numbered, Binary kept, empty Data kept as "".
    let (rec, _, _) = &sink.records[2];
    assert_eq!(rec.event_id, Some(1033));
    assert_eq!(rec.provider.as_deref(), Some("MsiInstaller"));
    assert_eq!(rec.channel.as_deref(), Some("Application"));
    assert_eq!(
        rec.user_sid.as_deref(),
        Some("S-1-5-21-3623811015-3361044348-30300820-500")
    );
    let names: Vec<&str> = rec.data.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        vec!["Data", "Data2", "Data3", "Data4", "Data5", "Data6", "Data7", "Binary"]
    );
    assert_eq!(
        rec.get("Data"),
        Some("Windows Installer installed the product. Product Name: AnyDesk.")
    );
    assert_eq!(rec.get("Data5"), Some("philandro Software GmbH"));
    assert_eq!(rec.get("Data7"), Some(""));
    assert_eq!(rec.get("Binary"), Some("7B41423132333435362D373839307D"));
}

#[test]
fn splunk_xmlwineventlog_lines() {
    let bytes = fixture("splunk_xmlwineventlog.log");
    let text = String::from_utf8(bytes.clone()).expect("UTF-8");
    let sink = read(&bytes);
    assert!(sink.issues.is_empty(), "{:?}", sink.issues);
    assert_eq!(sink.records.len(), 3);
    let line_starts: Vec<i64> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i as i64 + 1))
        .take(3)
        .collect();
    let offsets: Vec<i64> = sink.records.iter().filter_map(|r| r.1.offset).collect();
    assert_eq!(offsets, line_starts);
    let ordinals: Vec<_> = sink.records.iter().map(|r| r.1.record).collect();
    assert_eq!(ordinals, vec![Some(1), Some(2), Some(3)]);

    let (rec, _, raw) = &sink.records[0];
    assert_eq!(rec.event_id, Some(4624));
    assert_eq!(rec.computer.as_deref(), Some("DC01.corp.example.com"));
    assert_eq!(rec.time_micros, Some(1_709_636_564_517_205));
    assert_eq!(rec.get("LogonType"), Some("10"));
    assert_eq!(rec.get("SubjectUserName"), Some("DC01$"));
    assert_eq!(rec.get("LogonProcessName"), Some("User32 "));
    // Character references in the message are content, not layout: kept.
    assert_eq!(
        rec.extra,
        vec![(
            "Message".to_string(),
            "An account was successfully logged on.\r\n\r\nSubject:\r\n\tSecurity ID:\t\tSYSTEM\r\n\tAccount Name:\t\tDC01$".to_string()
        )]
    );
    // RenderingInfo's Level/Task/Channel do not override System's.
    assert_eq!(rec.level.as_deref(), Some("0"));
    assert_eq!(rec.channel.as_deref(), Some("Security"));
    assert_eq!(
        raw.as_deref(),
        Some(text.lines().next().expect("first line"))
    );

    let (rec, _, _) = &sink.records[1];
    assert_eq!(rec.event_id, Some(21));
    assert_eq!(
        rec.channel.as_deref(),
        Some("Microsoft-Windows-TerminalServices-LocalSessionManager/Operational")
    );
    assert_eq!(rec.get("User"), Some("CORP\\adm_jsmith"));
    assert_eq!(rec.get("SessionID"), Some("3"));
    assert_eq!(rec.get("Address"), Some("10.1.2.50"));
    assert_eq!(rec.data.len(), 3);
    assert!(rec.extra[0]
        .1
        .starts_with("Remote Desktop Services: Session logon succeeded:\r\n"));

    let (rec, _, _) = &sink.records[2];
    assert_eq!(rec.event_id, Some(3));
    assert_eq!(rec.provider.as_deref(), Some("Microsoft-Windows-Sysmon"));
    assert_eq!(rec.get("DestinationPort"), Some("3389"));
    assert_eq!(rec.get("Image"), Some("C:\\Windows\\System32\\mstsc.exe"));
}

#[test]
fn broken_events_are_reported_and_reading_goes_on() {
    let bytes = fixture("broken_events.xml");
    let text = String::from_utf8(bytes.clone()).expect("UTF-8");
    let starts: Vec<u64> = event_starts(&text).iter().map(|&s| s as u64).collect();
    assert_eq!(starts.len(), 10);
    let sink = read(&bytes);

    let ids: Vec<_> = sink.records.iter().map(|r| r.0.event_id).collect();
    assert_eq!(ids, vec![Some(4624), Some(7045), Some(4672), Some(4688)]);
    let ordinals: Vec<_> = sink.records.iter().map(|r| r.1.record).collect();
    assert_eq!(ordinals, vec![Some(1), Some(3), Some(6), Some(9)]);
    let offsets: Vec<_> = sink.records.iter().map(|r| r.1.offset).collect();
    assert_eq!(
        offsets,
        [0, 2, 5, 8]
            .iter()
            .map(|&i| Some(starts[i] as i64))
            .collect::<Vec<_>>()
    );
    assert_eq!(sink.records[1].0.get("ServiceName"), Some("PSEXESVC"));
    assert_eq!(
        sink.records[3].0.get("CommandLine"),
        Some("cmd.exe /c whoami")
    );

    let issues = &sink.issues;
    assert_eq!(issues.len(), 6, "{issues:#?}");
    assert!(issues.iter().all(|i| !i.fatal_for_file));
    assert!(issues.iter().all(|i| i.file == "evidence/test.xml"));
    let offset = |i: &ReadIssue| match i.position {
        Position::Offset(o) => o,
        ref other => panic!("expected a byte offset, got {other:?}"),
    };

    // #2 cut short by #3.
    assert_eq!(offset(&issues[0]), starts[1]);
    assert!(
        issues[0].message.contains("event #2 (line 2)"),
        "{}",
        issues[0].message
    );
    assert!(issues[0]
        .message
        .contains(&format!("next <Event> at byte offset {}", starts[2])));
    // #4: unknown entity, reported at its position inside the event.
    let bogus = text.find("&bogus;").expect("entity") as u64;
    assert_eq!(offset(&issues[1]), bogus);
    assert!(issues[1].message.contains("event #4 (line 4"));
    assert!(issues[1].message.contains("bogus"), "{}", issues[1].message);
    // #5: no EventID.
    assert_eq!(offset(&issues[2]), starts[4]);
    assert_eq!(
        issues[2].message,
        "event #5 (line 5): no System/EventID; event skipped"
    );
    // #7: mismatched end tag.
    assert!((starts[6]..starts[7]).contains(&offset(&issues[3])));
    assert!(issues[3].message.starts_with("malformed event #7 (line 7"));
    assert!(issues[3].message.contains("Dta"), "{}", issues[3].message);
    // #8: unclosed attribute quote; does not swallow #9.
    assert!((starts[7]..starts[8]).contains(&offset(&issues[4])));
    assert!(issues[4].message.starts_with("malformed event #8 (line 8"));
    // #10: the file ends inside it.
    assert_eq!(offset(&issues[5]), starts[9]);
    assert!(issues[5]
        .message
        .contains("event #10 (line 10) is truncated"));
}

#[test]
fn unknown_dialect_is_one_whole_file_issue() {
    let sink = read(&fixture("unknown_dialect.xml"));
    assert!(sink.records.is_empty());
    assert_eq!(
        sink.issues,
        vec![ReadIssue::whole_file(
            "evidence/test.xml",
            "unknown XML dialect: root element <foo>; expected Windows event XML (<Event> or <Events>)"
        )]
    );
    assert!(sink.issues[0].fatal_for_file);
}

#[test]
fn text_that_is_no_xml_is_one_whole_file_issue() {
    let sink = read(b"2024-03-05 10:15:30 this is a plain log line\n");
    assert!(sink.records.is_empty());
    assert_eq!(sink.issues.len(), 1);
    assert_eq!(sink.issues[0].position, Position::File);
    assert!(sink.issues[0].message.starts_with("no XML element found"));
}

#[test]
fn empty_inputs_give_nothing() {
    for input in [
        &b""[..],
        b"  \r\n",
        b"<?xml version=\"1.0\"?>\n<Events></Events>\n",
        b"<Events/>",
    ] {
        let sink = read(input);
        assert!(sink.records.is_empty(), "{input:?}");
        assert!(sink.issues.is_empty(), "{input:?}: {:?}", sink.issues);
    }
}

const NS: &str = "http://schemas.microsoft.com/win/2004/08/events/event";

fn mini(id: &str, time: &str, data: &str) -> String {
    format!(
        "<Event xmlns='{NS}'><System><Provider Name='P'/><EventID>{id}</EventID>\
         <TimeCreated SystemTime='{time}'/><Channel>Security</Channel></System>\
         <EventData>{data}</EventData></Event>\n"
    )
}

#[test]
fn invalid_utf8_in_a_value_skips_only_that_event() {
    let mut bytes = mini("4624", "2024-03-05T10:15:30Z", "").into_bytes();
    let second_start = bytes.len();
    let second = mini(
        "4625",
        "2024-03-05T10:15:30Z",
        "<Data Name='TargetUserName'>ad\u{1}</Data>",
    );
    let bad_at = second_start + second.find('\u{1}').expect("marker");
    bytes.extend_from_slice(second.as_bytes());
    bytes[bad_at] = 0xFF;
    bytes.extend_from_slice(mini("4634", "2024-03-05T10:15:30Z", "").as_bytes());
    let sink = read(&bytes);
    let ids: Vec<_> = sink.records.iter().map(|r| r.0.event_id).collect();
    assert_eq!(ids, vec![Some(4624), Some(4634)]);
    assert_eq!(sink.records[1].1.record, Some(3));
    assert_eq!(sink.issues.len(), 1);
    assert_eq!(
        sink.issues[0].position,
        Position::Offset(second_start as u64)
    );
    assert!(sink.issues[0]
        .message
        .contains(&format!("invalid UTF-8 at byte offset {bad_at}")));
}

#[test]
fn non_numeric_event_id_and_bad_time() {
    let xml = format!(
        "{}{}",
        mini("abc", "2024-03-05T10:15:30Z", ""),
        mini("4624", "last tuesday", "<Data Name='LogonType'>3</Data>")
    );
    let sink = read(xml.as_bytes());
    assert_eq!(sink.records.len(), 1);
    let rec = &sink.records[0].0;
    assert_eq!(rec.event_id, Some(4624));
    assert_eq!(rec.time_micros, None);
    assert_eq!(rec.get("LogonType"), Some("3"));
    assert_eq!(sink.issues.len(), 2);
    assert!(sink.issues[0]
        .message
        .contains("EventID 'abc' is not a number"));
    assert!(sink.issues[1]
        .message
        .contains("TimeCreated/@SystemTime 'last tuesday' is not an RFC 3339 time; event kept"));
}

#[test]
fn markup_inside_cdata_and_comments_does_not_split_events() {
    let xml = format!(
        "<!-- <Event> in a comment --><Events>{}<!-- </Event> -->{}</Events>",
        mini(
            "4104",
            "2024-03-05T10:15:30Z",
            "<Data Name='ScriptBlockText'><![CDATA[Write-Host '</Event><Event>']]></Data>\
             <!-- <Data Name='Hidden'>x</Data> --><Data Name='Path'>a&lt;b&amp;c&#x41;&#66;</Data>"
        ),
        mini("4105", "2024-03-05T10:15:31Z", "")
    );
    let sink = read(xml.as_bytes());
    assert!(sink.issues.is_empty(), "{:?}", sink.issues);
    assert_eq!(sink.records.len(), 2);
    let rec = &sink.records[0].0;
    assert_eq!(
        rec.get("ScriptBlockText"),
        Some("Write-Host '</Event><Event>'")
    );
    assert_eq!(rec.get("Hidden"), None);
    assert_eq!(rec.get("Path"), Some("a<b&cAB"));
    assert_eq!(sink.records[1].0.event_id, Some(4105));
}

#[test]
fn namespace_prefixes_are_ignored() {
    let xml = "<e:Events xmlns:e='urn:x'><e:Event><e:System><e:EventID>4624</e:EventID>\
               <e:Security e:UserID='S-1-5-18'/></e:System><e:EventData>\
               <e:Data Name='LogonType'>3</e:Data></e:EventData></e:Event></e:Events>";
    let sink = read(xml.as_bytes());
    assert!(sink.issues.is_empty(), "{:?}", sink.issues);
    assert_eq!(sink.records.len(), 1);
    assert_eq!(sink.records[0].0.event_id, Some(4624));
    assert_eq!(sink.records[0].0.user_sid.as_deref(), Some("S-1-5-18"));
    assert_eq!(sink.records[0].0.get("LogonType"), Some("3"));
    assert_eq!(sink.records[0].1.offset, Some(26));
}

/// Stops after `limit` records.
struct StopAfter {
    limit: usize,
    seen: Vec<WinRecord>,
    issues: usize,
}

impl RecordSink for StopAfter {
    fn record(&mut self, rec: WinRecord, _prov: Provenance, _raw: Option<String>) -> Flow {
        self.seen.push(rec);
        if self.seen.len() >= self.limit {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }
    fn udm(&mut self, _event: UdmEvent) -> Flow {
        Flow::Continue
    }
    fn issue(&mut self, _issue: ReadIssue) {
        self.issues += 1;
    }
}

#[test]
fn reading_stops_when_the_sink_says_so() {
    let mut sink = StopAfter {
        limit: 2,
        seen: Vec::new(),
        issues: 0,
    };
    let bytes = fixture("broken_events.xml");
    let flow = read_xml(
        bytes.as_slice(),
        "b.xml",
        &ReadOptions::default(),
        &mut sink,
    );
    assert_eq!(flow, Flow::Stop);
    let ids: Vec<_> = sink.seen.iter().map(|r| r.event_id).collect();
    assert_eq!(ids, vec![Some(4624), Some(7045)]);
    // Only the problem before the second record was met.
    assert_eq!(sink.issues, 1);
}

/// Hands out at most a few bytes per read, to cross every buffer boundary.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.step = self.step % 7 + 1;
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn tiny_reads_give_the_same_result() {
    for name in [
        "wevtutil_export.xml",
        "eventviewer_saved.xml",
        "splunk_xmlwineventlog.log",
        "broken_events.xml",
    ] {
        let bytes = fixture(name);
        let whole = read(&bytes);
        let reader = BufReader::with_capacity(
            1,
            Trickle {
                data: &bytes,
                step: 0,
            },
        );
        let mut trickled = CollectSink::default();
        read_xml(
            reader,
            "evidence/test.xml",
            &ReadOptions::default(),
            &mut trickled,
        );
        assert_eq!(whole.records, trickled.records, "{name}");
        assert_eq!(whole.issues, trickled.issues, "{name}");
        assert!(!whole.records.is_empty());
    }
}

#[test]
fn every_prefix_of_an_export_gives_the_complete_events_and_at_most_one_issue() {
    let bytes = fixture("wevtutil_export.xml");
    let text = String::from_utf8(bytes.clone()).expect("UTF-8");
    let starts = event_starts(&text);
    // (end of the start tag, end of the element) for each event.
    let spans: Vec<(usize, usize)> = starts
        .iter()
        .map(|&s| {
            let tag_end = s + text[s..].find('>').expect("tag end") + 1;
            let end = s + text[s..].find("</Event>").expect("end") + "</Event>".len();
            (tag_end, end)
        })
        .collect();
    for cut in 0..=bytes.len() {
        let sink = read(&bytes[..cut]);
        let complete = spans.iter().filter(|&&(_, end)| end <= cut).count();
        let partial = spans
            .iter()
            .any(|&(tag_end, end)| tag_end <= cut && cut < end);
        let in_first_tag = cut > 0 && cut < spans[0].0;
        let in_later_tag = (1..starts.len()).find(|&i| starts[i] < cut && cut < spans[i].0);
        assert_eq!(sink.records.len(), complete, "cut at {cut}");
        assert_eq!(
            sink.issues.len(),
            usize::from(partial || in_first_tag || in_later_tag.is_some()),
            "cut at {cut}: {:?}",
            sink.issues
        );
        if partial {
            assert!(sink.issues[0].message.contains("truncated"));
            assert_eq!(
                sink.issues[0].position,
                Position::Offset(starts[complete] as u64)
            );
        }
        if let Some(i) = in_later_tag {
            assert_eq!(sink.issues[0].position, Position::Offset(starts[i] as u64));
            assert!(sink.issues[0]
                .message
                .starts_with("the file ends inside a tag"));
        }
        if in_first_tag {
            assert_eq!(
                sink.issues[0],
                ReadIssue::whole_file(
                    "evidence/test.xml",
                    "the file ends inside its first tag; no Windows event found"
                )
            );
        }
    }
}

#[test]
fn mutated_input_never_panics_and_never_invents_events() {
    let original = fixture("eventviewer_saved.xml");
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let specials = [
        b'<', b'>', b'/', b'&', b'\'', b'"', b'!', b'?', b'[', 0xFF, 0x00,
    ];
    for _ in 0..300 {
        let mut bytes = original.clone();
        for _ in 0..(next() % 6 + 1) {
            let at = (next() % bytes.len() as u64) as usize;
            let b = specials[(next() % specials.len() as u64) as usize];
            match next() % 3 {
                0 => bytes[at] = b,
                1 => bytes.insert(at, b),
                _ => {
                    bytes.remove(at);
                }
            }
        }
        let sink = read(&bytes);
        assert!(sink.records.len() <= 4);
        assert!(sink.records.iter().all(|r| r.0.event_id.is_some()));
    }
}

#[test]
fn utf16le_export_with_bom() {
    let text = String::from_utf8(fixture("wevtutil_export.xml")).expect("UTF-8");
    let mut bytes = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    let sink = read(&bytes);
    assert!(sink.issues.is_empty(), "{:?}", sink.issues);
    assert_eq!(sink.records.len(), 4);
    // Offsets count the stored UTF-16 bytes (all ASCII here: two per character).
    let starts = event_starts(&text);
    let offsets: Vec<_> = sink.records.iter().map(|r| r.1.offset).collect();
    assert_eq!(
        offsets,
        starts
            .iter()
            .map(|&s| Some(2 + 2 * s as i64))
            .collect::<Vec<_>>()
    );
    assert_eq!(sink.records[2].0.get("User"), Some("CORP\\jsmith"));
    // The raw text is the event as UTF-8.
    assert_eq!(sink.records[0].2.as_deref(), Some(&text[..starts[1]]));
}
