//! Parsing, echo (`to_udm`), the echo round trip, and parse errors.

use lateral_model::f;
use lateral_query::ast::{CmpOp, FieldRef, Node, Pred, Value};
use lateral_query::{compile, parse, CompileError, Lists, ParseError, Query};

fn q(text: &str) -> Query {
    parse(text).unwrap_or_else(|e| panic!("query should parse: {text}\n{e}"))
}

fn err(text: &str) -> ParseError {
    match parse(text) {
        Ok(q) => panic!("expected a parse error for {text}, got {}", q.to_udm()),
        Err(e) => e,
    }
}

fn lists() -> Lists {
    let mut l = Lists::default();
    l.insert(
        "admin_hosts",
        vec!["ADMIN1".into(), "dc01.theshire.local".into()],
    );
    l.insert("nets", vec!["10.0.0.0/8".into()]);
    l.insert("pats", vec!["psexe?c".into()]);
    l.insert("admins", vec![r"THESHIRE\alice".into()]);
    l
}

/// The echo re-parses to the same core tree, is a fixed point, and compiles to the very same
/// filter expression.
fn assert_round_trip(text: &str) -> String {
    let a = q(text);
    let echo = a.to_udm();
    let b = q(&echo);
    assert_eq!(b.core(), a.core(), "core differs after re-parsing {echo}");
    assert_eq!(b.to_udm(), echo, "echo is not a fixed point");
    let lists = lists();
    let ea = compile(&a, &lists).unwrap_or_else(|e| panic!("compiles: {text}: {e}"));
    let eb = compile(&b, &lists).unwrap_or_else(|e| panic!("compiles: {echo}: {e}"));
    assert_eq!(ea, eb, "compiled filters differ for {text} and {echo}");
    echo
}

const RUNBOOK: [(&str, &str); 6] = [
    (
        r#"metadata.product_event_type = "ServiceInstalled" AND target.process.file.full_path CONTAINS "PSEXESVC.exe""#,
        r#"(metadata.product_event_type = "7045" OR metadata.product_event_type = "4697") AND target.process.file.full_path = /PSEXESVC\.exe/ nocase"#,
    ),
    (
        r#"metadata.event_type = "PROCESS_LAUNCH" AND principal.process.file.full_path = "C:\Windows\System32\services.exe" AND target.process.file.full_path NOT IN ("standard_service_process1.exe", "standard_service_process2.exe")"#,
        r#"metadata.event_type = "PROCESS_LAUNCH" nocase AND principal.process.file.full_path = "C:\\Windows\\System32\\services.exe" nocase AND NOT (target.process.file.full_path = /(^|[\\\/])standard_service_process1\.exe$/ nocase OR target.process.file.full_path = /(^|[\\\/])standard_service_process2\.exe$/ nocase)"#,
    ),
    (
        r#"metadata.event_type = "PROCESS_LAUNCH" AND principal.process.file.full_path = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe" AND target.process.file.full_path IN ("cmd.exe", "powershell.exe")"#,
        r#"metadata.event_type = "PROCESS_LAUNCH" nocase AND principal.process.file.full_path = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe" nocase AND (target.process.file.full_path = /(^|[\\\/])cmd\.exe$/ nocase OR target.process.file.full_path = /(^|[\\\/])powershell\.exe$/ nocase)"#,
    ),
    (
        r#"metadata.event_type = "PROCESS_LAUNCH" AND principal.process.command_line CONTAINS "wmic" AND principal.process.command_line CONTAINS "/node:" AND principal.process.command_line CONTAINS "process call create""#,
        r#"metadata.event_type = "PROCESS_LAUNCH" nocase AND principal.process.command_line = /wmic/ nocase AND principal.process.command_line = /\/node:/ nocase AND principal.process.command_line = /process call create/ nocase"#,
    ),
    (
        r#"metadata.event_type = "PROCESS_LAUNCH" AND target.process.file.full_path CONTAINS "powershell.exe" AND (target.process.command_line CONTAINS "Invoke-WmiMethod" OR target.process.command_line CONTAINS "Invoke-CimMethod")"#,
        r#"metadata.event_type = "PROCESS_LAUNCH" nocase AND target.process.file.full_path = /powershell\.exe/ nocase AND (target.process.command_line = /Invoke-WmiMethod/ nocase OR target.process.command_line = /Invoke-CimMethod/ nocase)"#,
    ),
    (
        r#"metadata.event_type = "NETWORK_CONNECTION" AND target.port = 445 AND target.ip = "10.0.2.18""#,
        r#"metadata.event_type = "NETWORK_CONNECTION" nocase AND target.port = 445 AND target.ip = "10.0.2.18""#,
    ),
];

#[test]
fn runbook_queries_echo_as_real_udm_and_round_trip() {
    for (text, expected) in RUNBOOK {
        assert_eq!(q(text).to_udm(), expected, "echo of {text}");
        assert_round_trip(text);
    }
}

#[test]
fn real_udm_syntax_echoes_unchanged_or_canonically() {
    let cases = [
        (
            "target.process.command_line = /wmic.*process call create/ nocase",
            "target.process.command_line = /wmic.*process call create/ nocase",
        ),
        (
            r#"principal.hostname != "http-server" nocase"#,
            r#"principal.hostname != "http-server" nocase"#,
        ),
        (
            r#"net.ip_in_range_cidr(principal.ip, "10.0.0.0/8")"#,
            r#"net.ip_in_range_cidr(principal.ip, "10.0.0.0/8")"#,
        ),
        (
            "not principal.hostname in %admin_hosts",
            "NOT principal.hostname in %admin_hosts",
        ),
        (
            r#"additional.fields["LogonType"] = "3""#,
            r#"additional.fields["LogonType"] = "3""#,
        ),
        (
            r#"additional.fields.LogonType = "3""#,
            r#"additional.fields["LogonType"] = "3""#,
        ),
        (
            r#"metadata.event_type = "USER_LOGIN" and (target.port = 445 or target.port = 139) and not principal.ip = "127.0.0.1""#,
            r#"metadata.event_type = "USER_LOGIN" nocase AND (target.port = 445 OR target.port = 139) AND NOT principal.ip = "127.0.0.1""#,
        ),
        // Implicit AND between adjacent conditions.
        (
            r#"metadata.event_type = "PROCESS_LAUNCH" target.port = 445"#,
            r#"metadata.event_type = "PROCESS_LAUNCH" nocase AND target.port = 445"#,
        ),
        // camelCase paths become snake_case.
        (
            r#"principal.process.file.fullPath = "C:\\x\\y.exe""#,
            r#"principal.process.file.full_path = "C:\\x\\y.exe" nocase"#,
        ),
        // Function calls.
        (
            r#"re.regex(target.process.command_line, `\d+\.exe`)"#,
            r#"target.process.command_line = /\d+\.exe/"#,
        ),
        (
            r#"re.regex(target.url, "a/b") = false"#,
            r#"target.url != /a\/b/"#,
        ),
        (
            r#"strings.contains(target.process.command_line, "a.b") nocase"#,
            r#"target.process.command_line = /a\.b/ nocase"#,
        ),
        (
            r#"NOT net.ip_in_range_cidr(principal.ip, "fe80::/10") = true"#,
            r#"NOT net.ip_in_range_cidr(principal.ip, "fe80::/10")"#,
        ),
        (
            r#"net.ip_in_range_cidr(principal.ip, "10.0.0.0/8") = false"#,
            r#"NOT net.ip_in_range_cidr(principal.ip, "10.0.0.0/8")"#,
        ),
        // Reference lists, runbook form and regex/cidr kinds.
        (
            "principal.hostname NOT IN @admin_hosts",
            "NOT principal.hostname in %admin_hosts",
        ),
        (
            "target.process.command_line in regex %pats nocase",
            "target.process.command_line in regex %pats nocase",
        ),
        ("principal.ip IN cidr @nets", "principal.ip in cidr %nets"),
        // A bare `description` is metadata.description.
        (
            r#"description CONTAINS "Get-WmiObject""#,
            r#"metadata.description = /Get-WmiObject/ nocase"#,
        ),
        // Quoted numbers coerce on number fields; unquoted numbers on text fields are text.
        (r#"target.port = "0x1bd""#, "target.port = 445"),
        (
            "metadata.product_event_type = 4624",
            r#"metadata.product_event_type = "4624""#,
        ),
        (
            r#"metadata.product_event_type != "serviceinstalled""#,
            r#"NOT (metadata.product_event_type = "7045" OR metadata.product_event_type = "4697")"#,
        ),
        // Times are echoed as RFC 3339.
        (
            r#"metadata.event_timestamp >= "2024-05-01 13:00:00""#,
            r#"metadata.event_timestamp >= "2024-05-01T13:00:00Z""#,
        ),
        (
            "metadata.event_timestamp.seconds < 1714568400",
            "metadata.event_timestamp.seconds < 1714568400",
        ),
        ("lateral.loopback = TRUE", "lateral.loopback = true"),
        // Strings are re-escaped.
        (
            r#"target.process.command_line = "say \"hi\" \\ bye""#,
            r#"target.process.command_line = "say \"hi\" \\ bye""#,
        ),
        (
            r#"target.file.full_path = "\\127.0.0.1\ADMIN$""#,
            r#"target.file.full_path = "\\\\127.0.0.1\\ADMIN$" nocase"#,
        ),
        // Precedence: NOT > AND > OR; an AND inside OR needs no parentheses.
        (
            "target.port = 1 AND target.port = 2 OR target.port = 3",
            "target.port = 1 AND target.port = 2 OR target.port = 3",
        ),
        (
            "target.port = 1 AND (target.port = 2 OR target.port = 3)",
            "target.port = 1 AND (target.port = 2 OR target.port = 3)",
        ),
        (
            "((target.port = 1)) AND (target.port = 2 AND (target.port = 3))",
            "target.port = 1 AND target.port = 2 AND target.port = 3",
        ),
        (
            "NOT (target.port = 1 AND target.port = 2)",
            "NOT (target.port = 1 AND target.port = 2)",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(q(text).to_udm(), expected, "echo of {text}");
        assert_eq!(assert_round_trip(text), expected);
    }
}

#[test]
fn precedence_builds_the_expected_tree() {
    let port = |n| {
        Node::Pred(Pred::Compare {
            field: FieldRef::Column(f::TARGET_PORT),
            op: CmpOp::Eq,
            value: Value::Int(n),
            nocase: false,
        })
    };
    assert_eq!(
        q("target.port = 1 OR NOT target.port = 2 target.port = 3").core(),
        &Node::Or(vec![
            port(1),
            Node::And(vec![Node::Not(Box::new(port(2))), port(3)])
        ])
    );
}

#[test]
fn fields_and_list_names_are_reported() {
    let query = q(
        r#"principal.hostname in %admin_hosts AND NOT target.user.userid IN @admins AND additional.fields["LogonType"] = "3" AND target.port = 445 AND principal.hostname = "x""#,
    );
    assert_eq!(
        query.fields(),
        vec![
            f::PRINCIPAL_HOSTNAME,
            f::TARGET_PORT,
            f::TARGET_USERID,
            f::ADDITIONAL
        ]
    );
    assert_eq!(
        query.list_names(),
        vec!["admin_hosts".to_string(), "admins".to_string()]
    );
    assert_eq!(
        q("metadata.event_timestamp.seconds > 1").fields(),
        vec![f::EVENT_TIMESTAMP]
    );
}

#[test]
fn unknown_field_suggests_the_near_one() {
    let e = err(r#"principal.hostname = "x" AND target.prot = 445"#);
    assert_eq!(e.position, 29);
    assert_eq!(e.message, "unknown field `target.prot`");
    assert_eq!(e.suggestion.as_deref(), Some("did you mean target.port?"));
    let shown = e.to_string();
    assert!(shown.contains("hint: did you mean target.port?"), "{shown}");
    assert!(
        shown.contains(&format!("\n  {}^", " ".repeat(29))),
        "caret under the field: {shown}"
    );
    let e = err(r#"principal.process.file.fullpath = "x""#);
    assert_eq!(
        e.suggestion.as_deref(),
        Some("did you mean principal.process.file.full_path?")
    );
    assert_eq!(err("zzzzzzzzzzzzzzzzzzzzzz = 1").suggestion, None);
}

#[test]
fn unterminated_string_names_its_position() {
    let e = err(r#"metadata.event_type = "PROCESS_LAUNCH AND target.port = 445"#);
    assert_eq!(e.position, 22);
    assert_eq!(e.message, "unterminated string");
    let shown = e.to_string();
    assert!(
        shown.starts_with("unterminated string (at position 22)\n"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("\n  {}^", " ".repeat(22))),
        "{shown}"
    );
}

#[test]
fn c_style_operators_suggest_udm_ones() {
    let e = err(r#"target.port == 445"#);
    assert_eq!(e.position, 12);
    assert!(e.suggestion.as_deref().unwrap_or("").contains("`=`"), "{e}");
    let e = err(r#"target.port = 445 && target.ip = "1.2.3.4""#);
    assert_eq!(e.position, 18);
    assert!(e.suggestion.as_deref().unwrap_or("").contains("AND"), "{e}");
    let e = err(r#"target.port = 445 || target.port = 139"#);
    assert!(e.suggestion.as_deref().unwrap_or("").contains("OR"), "{e}");
    let e = err(r#"!target.port = 445"#);
    assert!(e.suggestion.as_deref().unwrap_or("").contains("NOT"), "{e}");
    let e = err(r#"target.process.command_line LIKE "%psexec%""#);
    assert!(
        e.suggestion.as_deref().unwrap_or("").contains("CONTAINS"),
        "{e}"
    );
}

#[test]
fn unbalanced_parentheses_are_reported() {
    let e = err("(target.port = 445 OR target.port = 139");
    assert_eq!(e.position, 39);
    assert!(e.message.contains("missing `)`"), "{}", e.message);
    assert!(e.message.contains("position 0"), "{}", e.message);
    let e = err("target.port = 445)");
    assert_eq!(e.position, 17);
    assert!(e.message.contains("unexpected `)`"), "{}", e.message);
    let e = err("()");
    assert_eq!(e.position, 1);
}

#[test]
fn values_are_typed_against_their_field() {
    let e = err(r#"target.port = "abc""#);
    assert_eq!(e.position, 14);
    assert!(
        e.message.contains("target.port") && e.message.contains("abc"),
        "{}",
        e.message
    );
    let e = err("target.port = 4.5");
    assert!(e.message.contains("not a number"), "{}", e.message);
    let e = err("target.port = /44/");
    assert!(e.message.contains("regular expressions"), "{}", e.message);
    let e = err(r#"target.process.command_line > /x/"#);
    assert!(e.message.contains("= or !="), "{}", e.message);
    let e = err(r#"metadata.event_timestamp > "yesterday""#);
    assert!(e.message.contains("not a time"), "{}", e.message);
    let e = err("metadata.event_timestamp > 1714568400");
    assert!(
        e.suggestion
            .as_deref()
            .unwrap_or("")
            .contains("metadata.event_timestamp.seconds"),
        "{e}"
    );
    let e = err(r#"metadata.event_type = PROCESS_LAUNCH"#);
    assert_eq!(
        e.suggestion.as_deref(),
        Some("quote text values: \"PROCESS_LAUNCH\"")
    );
    let e = err(r#"net.ip_in_range_cidr(principal.ip, "10.0.0.0/33")"#);
    assert_eq!(e.position, 35);
    let e = err(r#"net.ip_in_range_cidr(target.port, "10.0.0.0/8")"#);
    assert!(e.message.contains("text field"), "{}", e.message);
    let e = err(r#"additional.fields = "x""#);
    assert!(e
        .suggestion
        .as_deref()
        .unwrap_or("")
        .contains("additional.fields[\"Name\"]"));
    let e = err(r#"foo.bar(target.ip, "x")"#);
    assert!(e.message.contains("unknown function"), "{}", e.message);
    let e = err("target.port = %ports");
    assert!(
        e.suggestion.as_deref().unwrap_or("").contains("in %ports"),
        "{e}"
    );
    let e = err("metadata.event_timestamp in %times");
    assert!(e.message.contains("timestamps"), "{}", e.message);
    let e = err(r#"re.regex(target.url, `abc\`)"#);
    assert!(e.message.contains("lone backslash"), "{}", e.message);
}

#[test]
fn incomplete_queries_are_errors() {
    for text in [
        "",
        "   ",
        "target.port",
        "target.port =",
        r#"target.port = 1 AND"#,
        r#"target.port = 1 OR"#,
        "NOT",
        "AND target.port = 1",
        "target.port IN ()",
        "target.port IN (1,",
        "target.port NOT = 1",
        r#"target.ip IN ("a" "b")"#,
        "target.port = 1 nocase nocase",
        "%list",
    ] {
        let e = err(text);
        assert!(e.position <= text.chars().count(), "{text}: {e}");
    }
    assert_eq!(err("").message, "empty query");
}

#[test]
fn nesting_is_capped_without_overflowing_the_stack() {
    // Each level is an OR group inside an AND, which keeps its parentheses in the echo.
    let nest = |n: usize| {
        let mut s = "target.port = 0".to_string();
        for i in 1..=n {
            s = format!("target.port = {i} AND ({s} OR target.port = {i})");
        }
        s
    };
    let echo = assert_round_trip(&nest(64));
    assert_eq!(echo.matches('(').count(), 64);
    let e = err(&nest(65));
    assert!(e.message.contains("nests too deeply"), "{}", e.message);
    // Redundant parentheses still count while parsing.
    let parens = |n: usize| format!("{}target.port = 1{}", "(".repeat(n), ")".repeat(n));
    assert_eq!(q(&parens(64)).to_udm(), "target.port = 1");
    assert!(err(&parens(65)).message.contains("nests too deeply"));
    let e = err(&parens(200_000));
    assert!(e.message.contains("nests too deeply"), "{}", e.message);
    let e = err(&format!("{}target.port = 1", "NOT ".repeat(200_000)));
    assert!(e.message.contains("nests too deeply"), "{}", e.message);
    // Normalisation adds levels (NOT IN becomes NOT (... OR ...)); the cap accounts for them
    // so every accepted query's echo parses again.
    let not_in = |n: usize| format!("{}target.ip NOT IN (\"a\", \"b\")", "NOT ".repeat(n));
    assert!(err(&not_in(63)).message.contains("nests too deeply"));
    let echo = assert_round_trip(&not_in(62));
    assert!(
        echo.ends_with(r#"NOT (target.ip = "a" OR target.ip = "b")"#),
        "{echo}"
    );
}

#[test]
fn long_flat_queries_compile() {
    let text = (0..5000)
        .map(|i| format!("target.port = {i}"))
        .collect::<Vec<_>>()
        .join(" OR ");
    assert_round_trip(&text);
}

#[test]
fn compile_errors_name_what_is_wrong() {
    let query = q("principal.hostname in %nope");
    match compile(&query, &lists()) {
        Err(CompileError::UnknownList { name, known }) => {
            assert_eq!(name, "nope");
            assert!(known.contains(&"admin_hosts".to_string()));
        }
        other => panic!("expected an unknown list error, got {other:?}"),
    }
    let query = q("target.process.command_line = /a(b/");
    match compile(&query, &Lists::default()) {
        Err(CompileError::InvalidRegex { pattern, list, .. }) => {
            assert_eq!(pattern, "a(b");
            assert_eq!(list, None);
        }
        other => panic!("expected an invalid regex error, got {other:?}"),
    }
    let mut bad = Lists::default();
    bad.insert("pats", vec!["ok".into(), "[".into()]);
    bad.insert("ports", vec!["445".into(), "smb".into()]);
    bad.insert("nets", vec!["10.0.0.0/8".into(), "nope".into()]);
    let e = compile(&q("target.url in regex %pats"), &bad).expect_err("bad pattern");
    assert!(
        e.to_string().contains("%pats") && e.to_string().contains('['),
        "{e}"
    );
    let e = compile(&q("target.port in %ports"), &bad).expect_err("bad number");
    assert!(
        e.to_string().contains("smb") && e.to_string().contains("target.port"),
        "{e}"
    );
    let e = compile(&q("principal.ip in cidr %nets"), &bad).expect_err("bad range");
    assert!(e.to_string().contains("nope"), "{e}");
    let e = compile(
        &q("metadata.event_timestamp.seconds = 9223372036854775807"),
        &bad,
    )
    .expect_err("out of range");
    assert!(matches!(e, CompileError::OutOfRange { .. }), "{e}");
}

/// Deterministic xorshift generator for the structured fuzz test below.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
}

const FIELDS: &[&str] = &[
    "target.port",
    "principal.hostname",
    "target.process.file.full_path",
    "metadata.product_event_type",
    "additional.fields[\"K\"]",
    "additional.fields.Key",
    "metadata.event_timestamp",
    "metadata.event_timestamp.seconds",
    "lateral.loopback",
    "principal.ip",
    "description",
    "target.user.userid",
    "metadata.event_type",
    "target.process.command_line",
    "principal.process.file.fullPath",
];
const OPS: &[&str] = &["=", "!=", "<", "<=", ">", ">="];
const VALUES: &[&str] = &[
    "\"cmd.exe\"",
    "\"C:\\Windows\\x.exe\"",
    "\"C:\\\\Windows\\\\x.exe\"",
    "\"a\\\\b\"",
    "\"ServiceInstalled\"",
    "445",
    "0x1bd",
    "-3",
    "/a.*b/",
    "/x\\/y/",
    "/^c:\\\\w$/",
    "`re`",
    "true",
    "FALSE",
    "\"2024-05-01T00:00:00Z\"",
    "\"WS1.theshire.local\"",
    "\"WS1\"",
    "\"\"",
    "\"THESHIRE\\\\bob\"",
    "\"10.0.2.18\"",
    "10.0.2.18",
    "\"q\\\"uote\"",
    "/(^|[\\\\\\/])cmd\\.exe$/",
];
const LISTS: &[&str] = &["%admin_hosts", "@nets", "%pats", "%admins", "%missing"];

fn gen_condition(r: &mut Rng) -> String {
    let field = r.pick(FIELDS);
    let nocase = if r.below(4) == 0 { " nocase" } else { "" };
    match r.below(9) {
        0 => format!("{field} CONTAINS {}", r.pick(VALUES)),
        1 => {
            let n = r.below(3) + 1;
            let vals: Vec<&str> = (0..n).map(|_| r.pick(VALUES)).collect();
            let not = if r.below(2) == 0 { "NOT " } else { "" };
            format!("{field} {not}IN ({}){nocase}", vals.join(", "))
        }
        2 => {
            let kind = r.pick(&["", "regex ", "cidr "]);
            format!("{field} in {kind}{}{nocase}", r.pick(LISTS))
        }
        3 => {
            let func = r.pick(&["re.regex", "strings.contains", "net.ip_in_range_cidr"]);
            let arg = r.pick(&["\"10.0.0.0/8\"", "`a\\d`", "\"x\"", "\"fe80::/10\""]);
            let tail = r.pick(&["", " = true", " = false", " != true", " nocase"]);
            format!("{func}({field}, {arg}){tail}")
        }
        _ => format!("{field} {} {}{nocase}", r.pick(OPS), r.pick(VALUES)),
    }
}

fn gen_query(r: &mut Rng, depth: usize) -> String {
    if depth == 0 || r.below(3) == 0 {
        return gen_condition(r);
    }
    match r.below(5) {
        0 => format!("NOT {}", gen_query(r, depth - 1)),
        1 => format!("({})", gen_query(r, depth - 1)),
        2 => format!("{} {}", gen_query(r, depth - 1), gen_query(r, depth - 1)),
        _ => {
            let op = r.pick(&["AND", "OR", "and", "or"]);
            format!(
                "{} {op} {}",
                gen_query(r, depth - 1),
                gen_query(r, depth - 1)
            )
        }
    }
}

/// Damage a query: delete, duplicate or insert a character, to exercise error paths.
fn mutate(r: &mut Rng, text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..=r.below(3) {
        let at = r.below(chars.len() + 1);
        match r.below(3) {
            0 if at < chars.len() => {
                chars.remove(at);
            }
            1 if at < chars.len() => {
                let c = chars[at];
                chars.insert(at, c);
            }
            _ => {
                let c = [
                    '(', ')', '"', '\\', '/', '`', '%', '=', '!', ' ', 'é', '\0', '[',
                ][r.below(13)];
                chars.insert(at, c);
            }
        }
    }
    chars.into_iter().collect()
}

/// Structured fuzzing: every generated (and damaged) query either fails to parse cleanly, or
/// its echo re-parses to the same core tree and compiles to the same filter (or fails to
/// compile the same way). Nothing panics.
#[test]
fn generated_queries_never_panic_and_always_round_trip() {
    let mut r = Rng(0x2545_f491_4f6c_dd1d);
    let lists = lists();
    let (mut parsed, mut compiled) = (0, 0);
    for i in 0..20_000 {
        let clean = gen_query(&mut r, 4);
        let text = if i % 3 == 0 {
            mutate(&mut r, &clean)
        } else {
            clean
        };
        let Ok(a) = parse(&text) else { continue };
        parsed += 1;
        let echo = a.to_udm();
        let b =
            parse(&echo).unwrap_or_else(|e| panic!("echo of {text:?} does not parse: {echo}\n{e}"));
        assert_eq!(a.core(), b.core(), "{text:?} -> {echo}");
        assert_eq!(b.to_udm(), echo, "{text:?}");
        match (compile(&a, &lists), compile(&b, &lists)) {
            (Ok(x), Ok(y)) => {
                compiled += 1;
                assert_eq!(x, y, "{text:?}");
            }
            (Err(x), Err(y)) => assert_eq!(x.to_string(), y.to_string()),
            (x, y) => panic!("compile results differ for {text:?}: {x:?} vs {y:?}"),
        }
    }
    eprintln!("parsed {parsed}, compiled {compiled}");
    assert!(parsed > 2_000, "too few generated queries parse: {parsed}");
    assert!(
        compiled > 1_000,
        "too few generated queries compile: {compiled}"
    );
}

/// Character soup: arbitrary short strings over the language's special characters parse or
/// fail cleanly, and whatever parses round-trips.
#[test]
fn character_soup_never_panics() {
    const ALPHABET: &[char] = &[
        '(', ')', '[', ']', '"', '\'', '`', '\\', '/', '%', '@', '=', '!', '<', '>', '&', '|', ',',
        ' ', '\n', '\t', '0', '9', '-', '.', ':', 'a', 'Z', '_', 'é', '\u{0}', '\u{202e}',
    ];
    const WORDS: &[&str] = &[
        "target.port",
        "principal.hostname",
        "additional.fields",
        "AND",
        "or",
        "NOT",
        "in",
        "nocase",
        "regex",
        "cidr",
        "CONTAINS",
        "true",
        "re.regex",
        "net.ip_in_range_cidr",
    ];
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let lists = lists();
    for _ in 0..30_000 {
        let len = r.below(16);
        let mut text = String::new();
        for _ in 0..len {
            if r.below(4) == 0 {
                text.push_str(r.pick(WORDS));
            } else {
                text.push(ALPHABET[r.below(ALPHABET.len())]);
            }
        }
        match parse(&text) {
            Ok(a) => {
                let echo = a.to_udm();
                let b = parse(&echo)
                    .unwrap_or_else(|e| panic!("echo of {text:?} does not parse: {echo}\n{e}"));
                assert_eq!(a.core(), b.core(), "{text:?}");
                let _ = compile(&a, &lists);
            }
            Err(e) => {
                assert!(e.position <= text.chars().count(), "{text:?}: {e}");
                // Rendering never panics either.
                assert!(!e.to_string().is_empty());
            }
        }
    }
}
