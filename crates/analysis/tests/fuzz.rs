//! Fuzz-style robustness: every public function on random bytes, random mixes of the
//! fragments the parsers look for, mutated real command lines, and large adversarial inputs.
//! Nothing may panic; masking must keep text untouched when it reports no secret; large inputs
//! must stay fast (no quadratic paths).

use lateral_analysis::*;
use std::time::{Duration, Instant};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const FRAGMENTS: &[&str] = &[
    "powershell",
    "-enc",
    "-e",
    "-EncodedCommand",
    "/ec",
    "\u{2013}enc",
    "SQBGACgAJABQAFMAVgBFAFIA",
    "H4sIAAAAAAAA",
    "FromBase64String('",
    "FromBase64String(\"",
    "'')",
    "==",
    "=",
    "wmic",
    "/user:",
    "/password:",
    "/node:",
    "\"",
    "'",
    "\\\\",
    "\\",
    "127.0.0.1",
    "::1",
    "psexec",
    "PsExec64.exe",
    "-u",
    "-p",
    "-s",
    "paexec",
    "net",
    "use",
    "user",
    "/u:",
    "*",
    "schtasks",
    "/create",
    "/s",
    "/U",
    "/P",
    "/RU",
    "/RP",
    "sc",
    "create",
    "binPath=",
    "password=",
    "obj=",
    "cmdkey",
    "/pass:",
    "winrs",
    "-r:",
    "-p:",
    "http://",
    ":5985",
    "ConvertTo-SecureString",
    "-AsPlainText",
    "-String",
    "PSCredential(",
    "[pscredential]::new(",
    "-Credential",
    "$cred",
    "(Get-Credential)",
    "-Password",
    "-Hash",
    "runas",
    "/savecred",
    "wmiexec.py",
    "a/b:c@d",
    "@",
    ":",
    "Invoke-WmiMethod",
    "Invoke-Command",
    "Enter-PSSession",
    "-ComputerName",
    "-cn",
    ",",
    ";",
    "|",
    "&",
    "&&",
    ">",
    "1>",
    "2>&1",
    "^>",
    "2^>^&1",
    "%COMSPEC%",
    "%%COMSPEC%%",
    "/Q",
    "/c",
    "/C",
    "/b",
    "start",
    "/min",
    "-nop",
    "-w",
    "hidden",
    "1",
    "echo",
    "\\\\.\\pipe\\",
    "ADMIN$",
    "C$",
    "IPC$",
    "__1556656369.7",
    "__output",
    "execute.bat",
    "del",
    "%TEMP%",
    "%windir%\\Temp\\",
    "CYAlyNSS.tmp",
    "WqEVwJZYOe",
    "PSEXESVC",
    "-stdin",
    "-stdout",
    "-VICTIM-PC-",
    "2412",
    "RemCom_",
    "copy",
    "robocopy",
    "reg",
    "add",
    "at",
    "GetTypeFromProgID(",
    "MMC20.Application",
    "GetTypeFromCLSID(",
    "9BA05972-F6A8-11CF-A442-00A0C90A8F39",
    "é",
    "\u{FEFF}",
    "\u{0}",
    "\n",
    "\t",
    " ",
    "  ",
    "rundll32",
    "%systemroot%\\",
    "uvfSgPzk.exe",
    "BTOBTO",
    "PLYteGjx",
];

const REAL: &[&str] = &[
    r#"cmd.exe /c "wmic /user:DOMAIN\Administrator /password:P@ssw0rd1 /node:"127.0.0.1" process call create notepad.exe""#,
    r"cmd.exe /Q /c whoami /all 1> \\127.0.0.1\ADMIN$\__1556656369.7 2>&1",
    r"%COMSPEC% /Q /c echo cd ^> \\127.0.0.1\C$\__output 2^>^&1 > %TEMP%\execute.bat & %COMSPEC% /Q /c %TEMP%\execute.bat & del %TEMP%\execute.bat",
    r#"%COMSPEC% /C "%COMSPEC% /C start /b C:\Windows\System32\WindowsPowershell\v1.0\powershell -noP -sta -w 1 -enc  SQBGACgAJABQAFMAVgBFAFIAcwBpAG8ATgBUAEEAQgBMAEUA"#,
    r"%COMSPEC% /b /c start /b /min powershell.exe -nop -w hidden -c FromBase64String(''H4sIAIfj8FkCA71W'')",
    r"PsExec64.exe \\dc1 -u CONTOSO\RonHD -p Winter2019! -s cmd",
    r"net use \\dc1\C$ Summer2020 /user:CONTOSO\admin",
    r"\PSEXESVC-02694W-WIN10-13272-stdin",
    "$p = ConvertTo-SecureString 'x' -AsPlainText -Force; New-Object PSCredential('u', $p)",
];

fn exercise(input: &str) {
    let _ = decode_powershell(input);
    let _ = decode_base64_payloads(input);
    let m = mask_credentials(input);
    if m.exposures.iter().all(|e| e.secret_len == 0) && input.len() <= MAX_INPUT {
        assert_eq!(m.text, input, "text changed without a secret: {input:?}");
    }
    let _ = is_random_name(input);
    let _ = random_name_reason(input);
    let _ = parse_exec_pipe(input);
    let _ = tool_for_pipe(input);
    let _ = impacket_output(input);
    let _ = impacket_exec_tool_for_parent(input);
    let _ = classify_service(input, Some(input), input);
    let _ = classify_service("", None, input);
    for t in remote_targets(input) {
        assert!(!t.host.is_empty());
        let _ = t.tool.name();
    }
    let _ = is_loopback_host(input);
}

#[test]
fn random_bytes() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    for _ in 0..1500 {
        let len = rng.below(200);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        exercise(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn random_fragment_soup() {
    let mut rng = Rng(0xfeed_face_cafe_beef);
    for _ in 0..3000 {
        let n = 1 + rng.below(24);
        let mut s = String::new();
        for _ in 0..n {
            s.push_str(FRAGMENTS[rng.below(FRAGMENTS.len())]);
            if rng.below(3) == 0 {
                s.push(' ');
            }
        }
        exercise(&s);
    }
}

#[test]
fn mutated_real_lines() {
    let mut rng = Rng(0xdead_beef_0000_0001);
    for _ in 0..2000 {
        let base = REAL[rng.below(REAL.len())];
        let mut chars: Vec<char> = base.chars().collect();
        for _ in 0..1 + rng.below(4) {
            match rng.below(4) {
                0 if !chars.is_empty() => {
                    let at = rng.below(chars.len());
                    chars.truncate(at);
                }
                1 if !chars.is_empty() => {
                    let at = rng.below(chars.len());
                    chars.remove(at);
                }
                2 => {
                    let at = rng.below(chars.len() + 1);
                    let frag = FRAGMENTS[rng.below(FRAGMENTS.len())];
                    for (k, c) in frag.chars().enumerate() {
                        chars.insert(at + k, c);
                    }
                }
                _ => {
                    let at = rng.below(chars.len() + 1);
                    chars.insert(at, char::from_u32(rng.below(0x3000) as u32).unwrap_or('?'));
                }
            }
        }
        exercise(&chars.into_iter().collect::<String>());
    }
}

/// Large inputs built to trip quadratic behaviour; each function must finish promptly.
#[test]
fn large_adversarial_inputs_stay_fast() {
    let unit = 128 * 1024;
    let inputs: Vec<String> = vec![
        "psexec ".repeat(unit / 7),
        "wmic /node:a ".repeat(unit / 13),
        "(/password:".repeat(unit / 11),
        "-Password ".repeat(unit / 10),
        "ConvertTo-SecureString -x-".repeat(unit / 26) + " -AsPlainText",
        "-Credential a ".repeat(unit / 14),
        "net use \\\\h\\c$ p ".repeat(unit / 18),
        "'a' | ConvertTo-SecureString ".repeat(unit / 30) + "-AsPlainText",
        "FromBase64String('AAAA') ".repeat(unit / 26),
        "-enc AAAA ".repeat(unit / 10),
        format!("powershell -enc {}", "A".repeat(unit)),
        format!("-e {}", "QUFB ".repeat(unit / 5)),
        "\"".repeat(unit),
        "\\\\".repeat(unit),
        "a".repeat(MAX_INPUT + 100),
        "Invoke-Command -ComputerName a, ".repeat(unit / 33),
        "GetTypeFromProgID('MMC20.Application','h') ".repeat(unit / 44),
        format!("{}-stdin", "a-1-".repeat(unit / 4)),
        "cmd.exe /Q /c x 1> \\\\127.0.0.1\\C$\\f ".repeat(unit / 36),
        "echo a ^> \\\\h\\s\\f x ".repeat(unit / 21),
        "LongSecret1 ".repeat(unit / 12) + " /password:LongSecret1",
    ];
    for input in &inputs {
        let start = Instant::now();
        exercise(input);
        let took = start.elapsed();
        assert!(
            took < Duration::from_secs(20),
            "{took:?} on input starting {:?}",
            &input[..input.len().min(40)]
        );
    }
}
