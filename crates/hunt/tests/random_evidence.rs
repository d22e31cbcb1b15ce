//! The hunt never panics, and stays deterministic, on arbitrary mixes of events: random
//! event ids, hosts, addresses (loopback, IPv6, garbage), logon ids, images, command lines,
//! pipes, shares and times, written as NXLog-style JSON lines.

use std::io::Write;

use lateral_engine::{Engine, WindowSpec};
use lateral_hunt::pack::Pack;
use lateral_hunt::HuntRequest;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

const HOSTS: &[&str] = &[
    "WS01.corp.local",
    "ws01",
    "SRV02",
    "dc01.corp.local",
    "",
    "-",
    "NULL",
    "127.0.0.1",
    "x",
];
const IPS: &[&str] = &[
    "10.0.0.5",
    "10.0.0.6",
    "127.0.0.1",
    "::1",
    "fe80::1%3",
    "-",
    "",
    "999.1.1.1",
    "::ffff:10.0.0.5",
];
const IDS: &[i64] = &[
    1, 3, 11, 13, 17, 18, 19, 4624, 4625, 4648, 4688, 4697, 4698, 4702, 5140, 5145, 7045, 10016,
    4104, 91, 169, 0, 65535,
];
const IMAGES: &[&str] = &[
    "C:\\Windows\\System32\\services.exe",
    "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
    "C:\\Windows\\System32\\cmd.exe",
    "C:\\Windows\\PSEXESVC.exe",
    "System",
    "",
    "mmc.exe",
    "C:\\Windows\\system32\\svchost.exe",
];
const CMDS: &[&str] = &[
    "cmd.exe /Q /c whoami 1> \\\\127.0.0.1\\ADMIN$\\__1556656369.7 2>&1",
    "wmic /node:SRV02 /user:x /password:secret process call create calc",
    "psexec \\\\dc01 -u a -p b cmd",
    "powershell -nop -w hidden -enc SQBFAFgA",
    "powershell -enc ####",
    "%COMSPEC% /c echo x > \\\\.\\pipe\\x",
    "",
    "\u{0}\u{1}\u{ffff}",
    "schtasks /create /s 10.0.0.6 /tn t /tr c",
];
const PIPES: &[&str] = &[
    "\\PSEXESVC-WS01-1234-stdin",
    "svcctl",
    "atsvc",
    "winreg",
    "PSEXESVC.exe",
    "a-b-c-stdout",
    "-1--stdin",
    "",
];
const LOGONS: &[&str] = &["0x3e7", "0x1a2b", "0X1A2B", "0x0", "-", "", "zz"];

fn line(r: &mut Rng, i: usize) -> String {
    let id = IDS[(r.next() % IDS.len() as u64) as usize];
    let channel = match id {
        1 | 3 | 11 | 13 | 17 | 18 | 19 => "Microsoft-Windows-Sysmon/Operational",
        7045 | 10016 => "System",
        4104 => "Microsoft-Windows-PowerShell/Operational",
        91 | 169 => "Microsoft-Windows-WinRM/Operational",
        _ => "Security",
    };
    let minute = r.next() % 120;
    let time = format!(
        "2024-05-01T{:02}:{:02}:{:02}.{:03}Z",
        10 + minute / 60,
        minute % 60,
        r.next() % 60,
        i % 1000
    );
    serde_json::json!({
        "@timestamp": time,
        "EventID": id,
        "Channel": channel,
        "Hostname": r.pick(HOSTS),
        "RecordNumber": i,
        "LogonType": r.pick(&["3", "2", "9", "10", "x"]),
        "IpAddress": r.pick(IPS),
        "SourceIp": r.pick(IPS),
        "DestinationIp": r.pick(IPS),
        "DestinationPort": r.pick(&["445", "135", "49666", "0", "x"]),
        "Initiated": r.pick(&["true", "false"]),
        "WorkstationName": r.pick(HOSTS),
        "TargetLogonId": r.pick(LOGONS),
        "SubjectLogonId": r.pick(LOGONS),
        "LogonId": r.pick(LOGONS),
        "TargetUserName": r.pick(&["admin", "WS01$", "SYSTEM", "", "ANONYMOUS LOGON"]),
        "TargetDomainName": r.pick(&["CORP", ""]),
        "SubjectUserName": r.pick(&["admin", "WS01$", ""]),
        "User": r.pick(&["CORP\\admin", "NT AUTHORITY\\SYSTEM", ""]),
        "Image": r.pick(IMAGES),
        "ParentImage": r.pick(IMAGES),
        "NewProcessName": r.pick(IMAGES),
        "ParentProcessName": r.pick(IMAGES),
        "ProcessId": (r.next() % 5000).to_string(),
        "ParentProcessId": (r.next() % 5000).to_string(),
        "NewProcessId": format!("0x{:x}", r.next() % 5000),
        "CommandLine": r.pick(CMDS),
        "ServiceName": r.pick(&["PSEXESVC", "PLYteGjx", "", "svc"]),
        "ImagePath": r.pick(CMDS),
        "ServiceFileName": r.pick(CMDS),
        "ShareName": r.pick(&["\\\\*\\ADMIN$", "\\\\*\\IPC$", "\\\\*\\C$", ""]),
        "RelativeTargetName": r.pick(PIPES),
        "PipeName": r.pick(PIPES),
        "TargetFilename": r.pick(&["C:\\Windows\\PSEXESVC.exe", "x.txt", ""]),
        "TargetServerName": r.pick(HOSTS),
        "AccessMask": r.pick(&["0x2", "0x120196", "zz", ""]),
        "TargetObject": r.pick(&["HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\x", ""]),
        "Details": r.pick(CMDS),
    })
    .to_string()
}

async fn hunt(dir: &std::path::Path) -> String {
    let engine = Engine::open(&[dir.to_path_buf()]).expect("engine");
    let pack = Pack::load(&[]).expect("pack");
    let req = HuntRequest {
        window: WindowSpec {
            hours_back: 1.0,
            ..Default::default()
        },
        scope: None,
        hypothesis: None,
        case_id: None,
        inventory: None,
    };
    let mut r = lateral_hunt::run(&engine, &pack, &req).await.expect("hunt");
    r.generated = String::new();
    r.execution.started = String::new();
    r.execution.duration_ms = 0;
    serde_json::to_string(&r).expect("json")
}

#[tokio::test]
async fn random_event_mixes_never_panic_and_report_the_same_twice() {
    let mut findings = 0;
    for seed in 1..=6u64 {
        let dir =
            std::env::temp_dir().join(format!("lateral-random-{}-{seed}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed.wrapping_mul(0x2545_f491_4f6c_dd1d));
        for file in 0..2 {
            let mut f = std::fs::File::create(dir.join(format!("h{file}.jsonl"))).expect("file");
            for i in 0..400 {
                writeln!(f, "{}", line(&mut rng, i)).expect("write");
            }
        }
        let a = hunt(&dir).await;
        let b = hunt(&dir).await;
        assert_eq!(a, b, "seed {seed}: two hunts of the same evidence differ");
        assert!(!a.contains("secret"), "seed {seed}: a password leaked");
        let doc: serde_json::Value = serde_json::from_str(&a).expect("report json");
        findings += doc["findings"].as_array().map_or(0, Vec::len);
        let _ = std::fs::remove_dir_all(&dir);
    }
    // The mixes are rich enough to exercise the finding builders, not just the scan.
    assert!(findings >= 6, "only {findings} findings over all seeds");
}
