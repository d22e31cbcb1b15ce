//! Credentials typed on command lines: find them, say whose they are, and mask them.
//!
//! The masked text replaces each secret with [`MASK`] (eight stars whatever the secret's
//! length) and is otherwise byte-identical to the input. The secret itself is never stored:
//! [`CredentialExposure`] keeps the pattern, the user when one is named, and the secret's
//! length only. A secret of six or more characters is also masked wherever else it appears
//! in the same text.

use crate::text::{
    args_after, cap, program_name, skip_ws, tokenize, unquote, value_span, Tok, MAX_INPUT,
};
use regex::Regex;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::sync::LazyLock;

/// What replaces a secret in masked text.
pub const MASK: &str = "********";

/// Secrets at least this long are masked at every occurrence, not only where found.
const MASK_REPEATS_FROM: usize = 6;
/// Repeats are searched for this many distinct secrets at most.
const MAX_REPEAT_SEARCH: usize = 32;

/// A command line with its secrets masked, and what was exposed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Masked {
    /// The input with every secret replaced by [`MASK`]. Inputs longer than
    /// [`MAX_INPUT`] bytes are cut there and end with `…[truncated]`, so no unexamined text
    /// is passed on.
    pub text: String,
    /// The credentials found, in order of appearance.
    pub exposures: Vec<CredentialExposure>,
}

/// One credential found on a command line. The secret is never kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialExposure {
    /// The form it was typed in: `wmic /password`, `psexec -p`, `net use`, `net user`,
    /// `schtasks /P`, `schtasks /RP`, `sc password=`, `cmdkey /pass`, `winrs -p`, `-Password`,
    /// `-Hash`, `/ntlm hash`, `ConvertTo-SecureString -AsPlainText`, `PSCredential literal`,
    /// `-Credential literal`, `runas /savecred`, `impacket target`, …
    pub pattern: String,
    /// The account the secret belongs to, as written, when the command names it.
    pub user: Option<String>,
    /// Length of the secret in characters; 0 when only a user name is exposed (a literal
    /// `-Credential DOMAIN\user`, which prompts for the password, or saved credentials).
    pub secret_len: usize,
}

/// What every detector needs: the text, its tokens, the labelled programs by position, and
/// the user names each syntax gives (looked up once).
struct Ctx<'a> {
    s: &'a str,
    toks: Vec<Tok>,
    /// (end of token, program) for tokens naming a program in [`LABELLED`] or `runas`.
    programs: Vec<(usize, &'static str)>,
    colon_user: Option<String>,
    key_user: Option<String>,
    ps_user: Option<String>,
}

impl<'a> Ctx<'a> {
    fn new(s: &'a str) -> Self {
        let toks = tokenize(s);
        let programs = toks
            .iter()
            .filter_map(|t| {
                let p = program_name(t.text(s));
                LABELLED
                    .iter()
                    .chain(["runas"].iter())
                    .find(|q| **q == p)
                    .map(|q| (t.end, *q))
            })
            .collect();
        Ctx {
            s,
            toks,
            programs,
            colon_user: first_value(s, &COLON_USER),
            key_user: first_value(s, &KEY_USER),
            ps_user: first_value(s, &PS_USER),
        }
    }

    /// The labelled program of the nearest token ending at or before `pos`, if in `among`.
    fn program_before(&self, pos: usize, among: &[&str]) -> Option<&'static str> {
        let i = self.programs.partition_point(|&(end, _)| end <= pos);
        let (_, p) = *self.programs[..i].last()?;
        among.contains(&p).then_some(p)
    }
}

struct Hit {
    pos: usize,
    span: Option<(usize, usize)>,
    pattern: String,
    user: Option<String>,
}

/// Programs whose `-u user -p password` options are credentials.
const PSEXEC_LIKE: &[&str] = &[
    "psexec",
    "psexec64",
    "paexec",
    "csexec",
    "crackmapexec",
    "cme",
    "nxc",
    "netexec",
    "evil-winrm",
];

/// Programs whose name labels a `/password:`-style switch.
const LABELLED: &[&str] = &[
    "wmic",
    "cmdkey",
    "winrs",
    "remcom",
    "rubeus",
    "mimikatz",
    "runas",
    "psexec",
    "paexec",
    "sharpwmi",
    "sharpmove",
    "net",
    "net1",
    "schtasks",
    "sc",
];

const IMPACKET_SCRIPTS: &[&str] = &[
    "psexec.py",
    "smbexec.py",
    "wmiexec.py",
    "dcomexec.py",
    "atexec.py",
    "secretsdump.py",
    "impacket-psexec",
    "impacket-smbexec",
    "impacket-wmiexec",
    "impacket-dcomexec",
    "impacket-atexec",
    "impacket-secretsdump",
];

static COLON_SWITCH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(?:^|[\s"'(])([/-])(password|passwd|pass|pwd|ntlm|rc4|aes128|aes256|p)([:=])"#,
    )
    .expect("static regex")
});
static COLON_USER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?:^|[\s"'(])[/-](?:user|u|username)[:=]"#).expect("static regex")
});
static KEY_PASSWORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)(?:^|[\s"'])password=\s*"#).expect("static regex"));
static KEY_USER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?:^|[\s"'])(?:obj|user|username)=\s*"#).expect("static regex")
});
static PS_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?:^|[\s"'(])-(password|passwd|pass|pwd|hash|hashes|ntlmhash)(?:\s+|:)"#)
        .expect("static regex")
});
static PS_USER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?:^|[\s"'(])-(?:user|username)(?:\s+|:)"#).expect("static regex")
});
static SECURE_STRING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)ConvertTo-SecureString\b").expect("static regex"));
static PIPED_SECURE_STRING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(["'])([^"'\r\n]+)["']\s*\|\s*ConvertTo-SecureString\b"#)
        .expect("static regex")
});
static AS_PLAIN_TEXT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)-AsPlainText\b").expect("static regex"));
static PS_CREDENTIAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)pscredential\]?(?:::new)?\s*(?:-ArgumentList\s*)?\(?\s*(["'])([^"'\r\n]+)["']"#,
    )
    .expect("static regex")
});
static CREDENTIAL_PARAM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?:^|[\s"'(])-cred(?:e(?:n(?:t(?:i(?:a(?:l)?)?)?)?)?)?(?:\s+|:)"#)
        .expect("static regex")
});
static SAVECRED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(?:^|\s)/savecred\b").expect("static regex"));
static IMPACKET_TARGET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:^|\s)['"]?(?:([^\s/'"@:]+)/)?([^\s/'"@:]+):([^\s'"]+)@([^\s'"@]+)"#)
        .expect("static regex")
});

/// Finds credentials on `command_line` and masks them.
///
/// Recognised (case-insensitive):
///
/// * `wmic /user:X /password:Y` (also quoted, and `/password=`), `cmdkey /user:X /pass:Y`,
///   `RemCom /user:X /pwd:Y`, `Rubeus`/`mimikatz` `/password:Y`, `/ntlm:H`, `/rc4:H`, `/aes256:H`,
///   `winrs -u:X -p:Y` (`-p:` only for winrs);
/// * `psexec[64]|paexec|csexec … -u X -p Y` (options before the command only, so a remote
///   `ping -p` is left alone), crackmapexec / netexec / evil-winrm `-u X -p Y`;
/// * `net use [dev] \\host\share Y /user:X` (the password may also follow `/user:`), `net user X Y`;
/// * `schtasks /U X /P Y` and `/RU X /RP Y`; `sc … obj= X password= Y`, `password=Y`;
/// * PowerShell `-Password Y`, `-Hash H`, `ConvertTo-SecureString 'Y' -AsPlainText` (also
///   `'Y' | ConvertTo-SecureString -AsPlainText`), `PSCredential('X', …)` user literals, and a
///   literal `-Credential DOMAIN\X` (user only);
/// * `runas /savecred /user:X` (user only); impacket `domain/user:password@host` targets.
///
/// Values that are variables or expressions (`$pw`, `(Get-Credential)`) are not secrets here.
pub fn mask_credentials(command_line: &str) -> Masked {
    let truncated = command_line.len() > MAX_INPUT;
    let s = cap(command_line, MAX_INPUT);
    let ctx = Ctx::new(s);
    let mut hits: Vec<Hit> = Vec::new();

    psexec_like(&ctx, &mut hits);
    schtasks(&ctx, &mut hits);
    net(&ctx, &mut hits);
    colon_switches(&ctx, &mut hits);
    key_password(&ctx, &mut hits);
    powershell(&ctx, &mut hits);
    runas(&ctx, &mut hits);
    impacket_target(&ctx, &mut hits);

    // Keep the first hit for any stretch of text (detectors run in order of precedence);
    // drop repeated user-only findings.
    let mut taken: BTreeMap<usize, usize> = BTreeMap::new();
    let mut user_only: HashSet<(String, Option<String>)> = HashSet::new();
    let mut kept: Vec<Hit> = Vec::new();
    for h in hits {
        match h.span {
            Some((a, b)) => {
                let before = taken
                    .range(..b)
                    .next_back()
                    .is_some_and(|(_, &end)| end > a);
                if before {
                    continue;
                }
                taken.insert(a, b);
            }
            None => {
                if !user_only.insert((h.pattern.clone(), h.user.clone())) {
                    continue;
                }
            }
        }
        kept.push(h);
    }
    kept.sort_by_key(|h| h.pos);

    // Spans to mask: each secret, and its repeats elsewhere when long enough.
    let mut spans: Vec<(usize, usize)> = taken.into_iter().collect();
    let mut searched: HashSet<&str> = HashSet::new();
    let mut extra = Vec::new();
    for &(a, b) in &spans {
        let secret = &s[a..b];
        if secret.chars().count() < MASK_REPEATS_FROM
            || searched.len() >= MAX_REPEAT_SEARCH
            || !searched.insert(secret)
        {
            continue;
        }
        extra.extend(s.match_indices(secret).map(|(i, _)| (i, i + secret.len())));
    }
    spans.extend(extra);
    spans.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (a, b) in spans {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    let mut text = String::with_capacity(s.len() + 16);
    let mut at = 0;
    for (a, b) in merged {
        text.push_str(&s[at..a]);
        text.push_str(MASK);
        at = b;
    }
    text.push_str(&s[at..]);
    if truncated {
        text.push_str("…[truncated]");
    }

    let exposures = kept
        .into_iter()
        .map(|h| CredentialExposure {
            pattern: h.pattern,
            user: h.user,
            secret_len: h.span.map_or(0, |(a, b)| s[a..b].chars().count()),
        })
        .collect();
    Masked { text, exposures }
}

/// The value starting at `at` as an owned string, when it is a literal (not `$var`, `(expr)`).
fn literal(s: &str, at: usize) -> Option<(usize, usize)> {
    let head = s.get(at..)?.trim_start_matches(['"', '\'']);
    if head.starts_with(['$', '(', '[', '@', '{']) {
        return None;
    }
    let (a, b) = value_span(s, at)?;
    if s[a..b].starts_with(['$', '(', '[', '@', '{']) {
        return None;
    }
    Some((a, b))
}

fn value_string(s: &str, at: usize) -> Option<String> {
    let (a, b) = value_span(s, at)?;
    let v = s[a..b].trim_end_matches([',', ';', ')']);
    (!v.is_empty() && !v.starts_with(['$', '('])).then(|| v.to_string())
}

/// The value following the first match of `re`, as an owned string.
fn first_value(s: &str, re: &Regex) -> Option<String> {
    re.find_iter(s)
        .find_map(|m| value_string(s, skip_ws(s, m.end())))
}

fn psexec_like(ctx: &Ctx, hits: &mut Vec<Hit>) {
    /// PsExec / PAExec options taking a value (besides `-u` and `-p`).
    const WITH_VALUE: &[&str] = &["w", "n", "r", "a", "to", "csrc", "lo", "rlo"];
    let (s, toks) = (ctx.s, &ctx.toks);
    for i in 0..toks.len() {
        let prog = program_name(toks[i].text(s));
        if !PSEXEC_LIKE.contains(&prog.as_str()) {
            continue;
        }
        let psexec_style = matches!(prog.as_str(), "psexec" | "psexec64" | "paexec" | "csexec");
        let args = args_after(s, toks, i);
        let mut user = None;
        let mut secret: Option<(usize, (usize, usize))> = None;
        let mut k = 0;
        while k < args.len() {
            let x = unquote(args[k].text(s));
            let opt = x.strip_prefix('-').map(str::to_ascii_lowercase);
            match opt.as_deref() {
                Some("u") => {
                    user = args.get(k + 1).and_then(|t| value_string(s, t.start));
                    k += 2;
                }
                Some("p") => {
                    k += 1;
                    if let Some(v) = args.get(k) {
                        if !unquote(v.text(s)).starts_with("\\\\") {
                            if let Some(span) = value_span(s, v.start) {
                                secret.get_or_insert((args[k - 1].start, span));
                                // Step past a quoted value spanning several tokens.
                                while k < args.len() && args[k].start < span.1 {
                                    k += 1;
                                }
                                continue;
                            }
                        }
                    }
                    k += 1;
                }
                Some(o) if psexec_style && WITH_VALUE.contains(&o) => k += 2,
                Some(_) => k += 1,
                // PsExec's options end at the command; other tools take options anywhere.
                None if psexec_style && !x.starts_with("\\\\") && !x.starts_with('@') => break,
                None => k += 1,
            }
        }
        if let Some((pos, span)) = secret {
            hits.push(Hit {
                pos,
                span: Some(span),
                pattern: format!("{prog} -p"),
                user,
            });
        }
    }
}

fn schtasks(ctx: &Ctx, hits: &mut Vec<Hit>) {
    let (s, toks) = (ctx.s, &ctx.toks);
    for i in 0..toks.len() {
        if program_name(toks[i].text(s)) != "schtasks" {
            continue;
        }
        let args = args_after(s, toks, i);
        let mut user = None;
        let mut run_user = None;
        let mut found: Vec<(usize, (usize, usize), &str)> = Vec::new();
        for (k, t) in args.iter().enumerate() {
            let x = t.text(s).to_ascii_lowercase();
            let next = args.get(k + 1);
            match x.as_str() {
                "/u" => user = next.and_then(|v| value_string(s, v.start)),
                "/ru" => run_user = next.and_then(|v| value_string(s, v.start)),
                "/p" | "/rp" => {
                    if let Some(v) = next {
                        let vt = v.text(s);
                        if !vt.starts_with('/') && vt != "*" {
                            if let Some(span) = value_span(s, v.start) {
                                let which = if x == "/p" { "/P" } else { "/RP" };
                                found.push((t.start, span, which));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        for (pos, span, which) in found {
            hits.push(Hit {
                pos,
                span: Some(span),
                pattern: format!("schtasks {which}"),
                user: if which == "/P" {
                    user.clone()
                } else {
                    run_user.clone()
                },
            });
        }
    }
}

fn net(ctx: &Ctx, hits: &mut Vec<Hit>) {
    let (s, toks) = (ctx.s, &ctx.toks);
    for i in 0..toks.len() {
        let prog = program_name(toks[i].text(s));
        if prog != "net" && prog != "net1" {
            continue;
        }
        let args = args_after(s, toks, i);
        let Some(verb) = args.first() else { continue };
        let verb = unquote(verb.text(s)).to_ascii_lowercase();
        let rest = &args[1..];
        let mut user = None;
        let mut positional: Vec<&Tok> = Vec::new();
        let mut skip_until = 0;
        for t in rest {
            if t.start < skip_until {
                continue;
            }
            let x = t.text(s);
            if x.starts_with('/') {
                let lower = x.to_ascii_lowercase();
                for p in ["/user:", "/u:"] {
                    if lower.starts_with(p) {
                        user = value_string(s, t.start + p.len());
                    }
                }
                continue;
            }
            if let Some((_, end)) = value_span(s, t.start) {
                skip_until = end;
            }
            positional.push(t);
        }
        let secret_tok = match verb.as_str() {
            "use" => {
                // [device] \\computer\share [password|*]
                let unc = positional
                    .iter()
                    .position(|t| unquote(t.text(s)).starts_with("\\\\"));
                unc.and_then(|u| positional.get(u + 1).copied())
            }
            "user" => {
                // user [password|*]
                if user.is_none() {
                    user = positional.first().and_then(|t| value_string(s, t.start));
                }
                positional.get(1).copied()
            }
            _ => None,
        };
        let Some(t) = secret_tok else { continue };
        if unquote(t.text(s)) == "*" {
            continue;
        }
        if let Some(span) = value_span(s, t.start) {
            hits.push(Hit {
                pos: t.start,
                span: Some(span),
                pattern: format!("net {verb}"),
                user,
            });
        }
    }
}

fn colon_switches(ctx: &Ctx, hits: &mut Vec<Hit>) {
    let s = ctx.s;
    let mut covered = 0;
    for c in COLON_SWITCH.captures_iter(s) {
        let (Some(m), Some(dash), Some(name)) = (c.get(0), c.get(1), c.get(2)) else {
            continue;
        };
        if dash.start() < covered {
            continue;
        }
        let name_l = name.as_str().to_ascii_lowercase();
        let prog = ctx.program_before(dash.start(), LABELLED);
        if name_l == "p" && prog != Some("winrs") {
            continue;
        }
        let Some(span) = literal(s, m.end()) else {
            continue;
        };
        covered = span.1;
        let switch = format!("{}{}", dash.as_str(), name.as_str());
        let pattern = match (name_l.as_str(), prog) {
            ("ntlm" | "rc4" | "aes128" | "aes256", _) => format!("{switch} hash"),
            (_, Some(p)) => format!("{p} {switch}"),
            (_, None) => switch,
        };
        hits.push(Hit {
            pos: dash.start(),
            span: Some(span),
            pattern,
            user: ctx.colon_user.clone(),
        });
    }
}

fn key_password(ctx: &Ctx, hits: &mut Vec<Hit>) {
    let s = ctx.s;
    let mut covered = 0;
    for m in KEY_PASSWORD.find_iter(s) {
        if m.start() < covered {
            continue;
        }
        let Some(span) = literal(s, m.end()) else {
            continue;
        };
        covered = span.1;
        let sc = ctx.program_before(m.start(), &["sc"]).is_some();
        hits.push(Hit {
            pos: m.start(),
            span: Some(span),
            pattern: if sc {
                "sc password=".into()
            } else {
                "password=".into()
            },
            user: ctx.key_user.clone(),
        });
    }
}

fn powershell(ctx: &Ctx, hits: &mut Vec<Hit>) {
    let s = ctx.s;
    let ps_user = &ctx.ps_user;
    let mut covered = 0;
    for c in PS_PASSWORD.captures_iter(s) {
        let (Some(m), Some(name)) = (c.get(0), c.get(1)) else {
            continue;
        };
        if m.start() < covered {
            continue;
        }
        let at = skip_ws(s, m.end());
        let Some(span) = literal(s, at) else { continue };
        covered = span.1;
        if s[span.0..span.1].starts_with('-') {
            continue;
        }
        hits.push(Hit {
            pos: m.start(),
            span: Some(span),
            pattern: format!("-{}", name.as_str()),
            user: ps_user.clone(),
        });
    }

    // PSCredential('user', …): the user, to attach to a plain-text password.
    let cred_users: Vec<(usize, String)> = PS_CREDENTIAL
        .captures_iter(s)
        .filter_map(|c| Some((c.get(0)?.start(), c.get(2)?.as_str().to_string())))
        .filter(|(_, u)| !u.starts_with('$'))
        .collect();
    let cred_user = cred_users.first().map(|(_, u)| u.clone());

    let mut plain = 0;
    if AS_PLAIN_TEXT.is_match(s) {
        let mut covered = 0;
        for m in SECURE_STRING.find_iter(s) {
            if m.start() < covered {
                continue;
            }
            if let Some(span) = secure_string_value(s, m.end()) {
                covered = span.1;
                plain += 1;
                hits.push(Hit {
                    pos: m.start(),
                    span: Some(span),
                    pattern: "ConvertTo-SecureString -AsPlainText".into(),
                    user: cred_user.clone(),
                });
            }
        }
        for c in PIPED_SECURE_STRING.captures_iter(s) {
            let (Some(m), Some(v)) = (c.get(0), c.get(2)) else {
                continue;
            };
            if v.as_str().starts_with('$') {
                continue;
            }
            plain += 1;
            hits.push(Hit {
                pos: m.start(),
                span: Some((v.start(), v.end())),
                pattern: "ConvertTo-SecureString -AsPlainText".into(),
                user: cred_user.clone(),
            });
        }
    }
    if plain == 0 {
        for (pos, user) in cred_users {
            hits.push(Hit {
                pos,
                span: None,
                pattern: "PSCredential literal".into(),
                user: Some(user),
            });
        }
    }

    let mut covered = 0;
    for m in CREDENTIAL_PARAM.find_iter(s) {
        if m.start() < covered {
            continue;
        }
        let at = skip_ws(s, m.end());
        if let Some((a, b)) = literal(s, at) {
            covered = b;
            let v = &s[a..b];
            if v.starts_with('-') {
                continue;
            }
            hits.push(Hit {
                pos: m.start(),
                span: None,
                pattern: "-Credential literal".into(),
                user: Some(v.trim_end_matches([')', ';', ',']).to_string()),
            });
        }
    }
}

/// The string given to `ConvertTo-SecureString` starting at `at`: `-String X` or the first
/// positional argument, skipping `-AsPlainText` / `-Force`.
fn secure_string_value(s: &str, mut at: usize) -> Option<(usize, usize)> {
    for _ in 0..6 {
        at = skip_ws(s, at);
        let rest = s.get(at..)?;
        if rest.starts_with([')', ';', '|', '}']) || rest.is_empty() {
            return None;
        }
        if let Some(param) = rest.strip_prefix('-') {
            let word: String = param
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            let lower = word.to_ascii_lowercase();
            at += 1 + word.len();
            if !lower.is_empty() && "string".starts_with(&lower) {
                return literal(s, skip_ws(s, at));
            }
            if lower == "key" || lower == "securekey" {
                // Skip the parameter's value.
                let (_, end) = value_span(s, skip_ws(s, at))?;
                at = end;
            }
            continue;
        }
        return literal(s, at).filter(|&(a, b)| {
            let v = &s[a..b];
            !v.starts_with('-')
        });
    }
    None
}

fn runas(ctx: &Ctx, hits: &mut Vec<Hit>) {
    let Some(m) = SAVECRED.find(ctx.s) else {
        return;
    };
    if ctx.program_before(m.start(), &["runas"]).is_none() {
        return;
    }
    hits.push(Hit {
        pos: m.start(),
        span: None,
        pattern: "runas /savecred".into(),
        user: ctx.colon_user.clone(),
    });
}

fn impacket_target(ctx: &Ctx, hits: &mut Vec<Hit>) {
    let (s, toks) = (ctx.s, &ctx.toks);
    let Some(first) = toks.iter().position(|t| {
        let p = program_name(t.text(s));
        IMPACKET_SCRIPTS.contains(&p.as_str())
    }) else {
        return;
    };
    let from = toks[first].end;
    for c in IMPACKET_TARGET.captures_iter(&s[from..]) {
        let (Some(user), Some(pw)) = (c.get(2), c.get(3)) else {
            continue;
        };
        let user = match c.get(1) {
            Some(d) => format!("{}/{}", d.as_str(), user.as_str()),
            None => user.as_str().to_string(),
        };
        hits.push(Hit {
            pos: from + pw.start(),
            span: Some((from + pw.start(), from + pw.end())),
            pattern: "impacket target".into(),
            user: Some(user),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exp(pattern: &str, user: Option<&str>, secret_len: usize) -> CredentialExposure {
        CredentialExposure {
            pattern: pattern.into(),
            user: user.map(Into::into),
            secret_len,
        }
    }

    fn check(input: &str, secret: &str, masked: &str, exposures: Vec<CredentialExposure>) {
        let m = mask_credentials(input);
        assert_eq!(m.text, masked, "{input}");
        assert_eq!(m.exposures, exposures, "{input}");
        if !secret.is_empty() {
            assert!(!m.text.contains(secret));
            assert!(!format!("{m:?}").contains(secret));
        }
    }

    #[test]
    fn the_wmic_story() {
        let input = r#"cmd.exe /c "wmic /user:DOMAIN\Administrator /password:P@ssw0rd1 /node:"127.0.0.1" process call create notepad.exe""#;
        let m = mask_credentials(input);
        assert!(m.text.contains("/password:******** /node"), "{}", m.text);
        assert_eq!(m.text, input.replace("P@ssw0rd1", MASK));
        assert_eq!(
            m.exposures,
            vec![exp("wmic /password", Some(r"DOMAIN\Administrator"), 9)]
        );
        assert!(!format!("{m:?}").contains("P@ssw0rd1"));
        let json = serde_json::to_string(&m).unwrap();
        assert!(!json.contains("P@ssw0rd1"), "{json}");
        assert!(json.contains(r#""pattern":"wmic /password""#), "{json}");
    }

    #[test]
    fn wmic_quoted_and_equals() {
        check(
            r#"wmic /node:dc1 /user:"CONTOSO\admin" /password:"S3cret pass" process call create calc"#,
            "S3cret pass",
            r#"wmic /node:dc1 /user:"CONTOSO\admin" /password:"********" process call create calc"#,
            vec![exp("wmic /password", Some(r"CONTOSO\admin"), 11)],
        );
        check(
            "wmic /password=abc /user=bob os get caption",
            "",
            "wmic /password=******** /user=bob os get caption",
            vec![exp("wmic /password", Some("bob"), 3)],
        );
    }

    #[test]
    fn psexec_family() {
        check(
            r"PsExec64.exe \\dc1 -u CONTOSO\RonHD -p Winter2019! -s cmd /c ping -p 1 x",
            "Winter2019!",
            r"PsExec64.exe \\dc1 -u CONTOSO\RonHD -p ******** -s cmd /c ping -p 1 x",
            vec![exp("psexec64 -p", Some(r"CONTOSO\RonHD"), 11)],
        );
        check(
            r#"paexec -u admin -p "pa ss" \\10.0.0.5 cmd"#,
            "pa ss",
            r#"paexec -u admin -p "********" \\10.0.0.5 cmd"#,
            vec![exp("paexec -p", Some("admin"), 5)],
        );
        // -p of the remote command, not PsExec's.
        let c = r"psexec \\h -s cmd /c netstat -p tcp";
        check(c, "", c, vec![]);
        let c = "ping -p 5 host";
        check(c, "", c, vec![]);
        check(
            "crackmapexec smb 10.0.0.0/24 -u administrator -p Passw0rd --local-auth",
            "Passw0rd",
            "crackmapexec smb 10.0.0.0/24 -u administrator -p ******** --local-auth",
            vec![exp("crackmapexec -p", Some("administrator"), 8)],
        );
    }

    #[test]
    fn net_use_and_net_user() {
        check(
            r"net use \\dc1\C$ Summer2020 /user:CONTOSO\admin",
            "Summer2020",
            r"net use \\dc1\C$ ******** /user:CONTOSO\admin",
            vec![exp("net use", Some(r"CONTOSO\admin"), 10)],
        );
        check(
            r"net use Z: \\dc1\share /user:CONTOSO\admin Summer2020 /persistent:no",
            "Summer2020",
            r"net use Z: \\dc1\share /user:CONTOSO\admin ******** /persistent:no",
            vec![exp("net use", Some(r"CONTOSO\admin"), 10)],
        );
        check(
            r#"net.exe use \\10.0.0.1\IPC$ "a b c" /u:x"#,
            "a b c",
            r#"net.exe use \\10.0.0.1\IPC$ "********" /u:x"#,
            vec![exp("net use", Some("x"), 5)],
        );
        for benign in [
            r"net use \\dc1\C$ /user:CONTOSO\admin",
            r"net use \\dc1\C$ * /user:CONTOSO\admin",
            r"net use Z: \\fs\home",
            r"net use \\dc1\IPC$ /delete",
            r#"net use \\dc1\IPC$ "" /user:"""#,
            "net use",
            "net user /domain",
            "net user bob /domain",
            "net user bob * /add",
        ] {
            check(benign, "", benign, vec![]);
        }
        check(
            "net user backdoor P@ss123 /add",
            "P@ss123",
            "net user backdoor ******** /add",
            vec![exp("net user", Some("backdoor"), 7)],
        );
    }

    #[test]
    fn schtasks_sc_cmdkey_winrs() {
        check(
            r#"schtasks /create /s 10.0.2.17 /U EXAMPLE\Administrator /P Pa55word /tn LMST /tr "cmd /c calc" /sc once /st 00:00"#,
            "Pa55word",
            r#"schtasks /create /s 10.0.2.17 /U EXAMPLE\Administrator /P ******** /tn LMST /tr "cmd /c calc" /sc once /st 00:00"#,
            vec![exp("schtasks /P", Some(r"EXAMPLE\Administrator"), 8)],
        );
        check(
            "schtasks /create /tn t /tr x /ru svc_backup /rp Backup#1",
            "Backup#1",
            "schtasks /create /tn t /tr x /ru svc_backup /rp ********",
            vec![exp("schtasks /RP", Some("svc_backup"), 8)],
        );
        let c = "schtasks /create /tn t /tr x /ru SYSTEM /sc onstart";
        check(c, "", c, vec![]);
        check(
            r#"sc.exe \\dc1 create evil binPath= "C:\x.exe" obj= CONTOSO\svc password= Hunter22"#,
            "Hunter22",
            r#"sc.exe \\dc1 create evil binPath= "C:\x.exe" obj= CONTOSO\svc password= ********"#,
            vec![exp("sc password=", Some(r"CONTOSO\svc"), 8)],
        );
        check(
            "cmdkey /add:dc1 /user:CONTOSO\\admin /pass:Secret99",
            "Secret99",
            "cmdkey /add:dc1 /user:CONTOSO\\admin /pass:********",
            vec![exp("cmdkey /pass", Some("CONTOSO\\admin"), 8)],
        );
        check(
            "winrs -r:srv -u:admin -p:Qwerty12 ipconfig",
            "Qwerty12",
            "winrs -r:srv -u:admin -p:******** ipconfig",
            vec![exp("winrs -p", Some("admin"), 8)],
        );
        let c = "msbuild /p:Configuration=Release app.sln";
        check(c, "", c, vec![]);
    }

    #[test]
    fn powershell_forms() {
        check(
            "$pw = ConvertTo-SecureString 'Spring2021!' -AsPlainText -Force; $c = New-Object System.Management.Automation.PSCredential('CONTOSO\\bob', $pw)",
            "Spring2021!",
            "$pw = ConvertTo-SecureString '********' -AsPlainText -Force; $c = New-Object System.Management.Automation.PSCredential('CONTOSO\\bob', $pw)",
            vec![exp("ConvertTo-SecureString -AsPlainText", Some("CONTOSO\\bob"), 11)],
        );
        check(
            "$p = \"abc123\" | ConvertTo-SecureString -AsPlainText -Force",
            "abc123",
            "$p = \"********\" | ConvertTo-SecureString -AsPlainText -Force",
            vec![exp("ConvertTo-SecureString -AsPlainText", None, 6)],
        );
        check(
            "ConvertTo-SecureString -String \"Xyz!987\" -AsPlainText -Force",
            "Xyz!987",
            "ConvertTo-SecureString -String \"********\" -AsPlainText -Force",
            vec![exp("ConvertTo-SecureString -AsPlainText", None, 7)],
        );
        let c = "ConvertTo-SecureString $plain -AsPlainText -Force";
        check(c, "", c, vec![]);
        let c = "$s = ConvertTo-SecureString $encrypted";
        check(c, "", c, vec![]);
        let c =
            "Invoke-Command -ComputerName dc1 -Credential CONTOSO\\admin -ScriptBlock { hostname }";
        check(
            c,
            "",
            c,
            vec![exp("-Credential literal", Some("CONTOSO\\admin"), 0)],
        );
        let c = "Invoke-Command -ComputerName dc1 -Credential $cred -ScriptBlock { hostname }";
        check(c, "", c, vec![]);
        let c = "Enter-PSSession dc1 -Credential (Get-Credential)";
        check(c, "", c, vec![]);
        let c = "$c = [pscredential]::new('admin', $sec)";
        check(
            c,
            "",
            c,
            vec![exp("PSCredential literal", Some("admin"), 0)],
        );
        check(
            "Invoke-SMBExec -Target 10.0.0.5 -Domain CONTOSO -Username admin -Hash 5fbc3d5fec8206a30f4b6c473d68ae76 -Command whoami",
            "5fbc3d5fec8206a30f4b6c473d68ae76",
            "Invoke-SMBExec -Target 10.0.0.5 -Domain CONTOSO -Username admin -Hash ******** -Command whoami",
            vec![exp("-Hash", Some("admin"), 32)],
        );
        check(
            "New-LocalUser -Name x -Password 'Hello12345'",
            "Hello12345",
            "New-LocalUser -Name x -Password '********'",
            vec![exp("-Password", None, 10)],
        );
        let c = "New-LocalUser -Name x -Password $sec";
        check(c, "", c, vec![]);
    }

    #[test]
    fn hashes_runas_impacket() {
        check(
            "mimikatz.exe \"sekurlsa::pth /user:Administrator /domain:contoso /ntlm:cc36cf7a8514893efccd332446158b1a\" exit",
            "cc36cf7a8514893efccd332446158b1a",
            "mimikatz.exe \"sekurlsa::pth /user:Administrator /domain:contoso /ntlm:********\" exit",
            vec![exp("/ntlm hash", Some("Administrator"), 32)],
        );
        let c = "runas /savecred /user:CONTOSO\\admin cmd.exe";
        check(
            c,
            "",
            c,
            vec![exp("runas /savecred", Some("CONTOSO\\admin"), 0)],
        );
        let c = "runas /user:CONTOSO\\admin cmd.exe";
        check(c, "", c, vec![]);
        check(
            "python3 wmiexec.py CONTOSO/Administrator:P@ss@word1@10.0.0.5 whoami",
            "P@ss@word1",
            "python3 wmiexec.py CONTOSO/Administrator:********@10.0.0.5 whoami",
            vec![exp("impacket target", Some("CONTOSO/Administrator"), 10)],
        );
    }

    #[test]
    fn repeats_are_masked_too() {
        let m = mask_credentials(r"net use \\dc1\C$ LongSecret1 /user:x & echo LongSecret1");
        assert_eq!(m.text, r"net use \\dc1\C$ ******** /user:x & echo ********");
        assert_eq!(m.exposures.len(), 1);
    }

    #[test]
    fn benign_commands_untouched() {
        for c in [
            "",
            "ipconfig /all",
            r"C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule",
            "powershell -nop -w hidden -enc SQBFAFgA",
            r"cmd.exe /Q /c whoami /all 1> \\127.0.0.1\ADMIN$\__1556656369.7 2>&1",
            "Get-ADUser -Filter * -Properties PasswordLastSet",
            "net accounts /minpwlen:8",
        ] {
            let m = mask_credentials(c);
            assert_eq!(m.text, c);
            assert!(m.exposures.is_empty(), "{c}: {:?}", m.exposures);
        }
    }

    #[test]
    fn huge_input_is_cut_not_leaked() {
        let big = format!("{} /password:tail", "x".repeat(MAX_INPUT + 10));
        let m = mask_credentials(&big);
        assert!(m.text.ends_with("…[truncated]"));
        assert!(!m.text.contains("tail"));
    }
}
