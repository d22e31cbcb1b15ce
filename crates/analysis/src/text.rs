//! Small text helpers shared by the modules: input capping, a loose whitespace tokenizer that
//! keeps byte offsets, and value extraction that understands quotes.

/// Inputs longer than this many bytes are cut (at a character boundary) before analysis.
pub const MAX_INPUT: usize = 1 << 20;

/// How far a value may run: a quoted one looking for its closing quote, an unquoted one
/// looking for whitespace. Longer values are cut here (no credential or host is this long).
const MAX_VALUE: usize = 4096;

/// A program's arguments are looked at up to this many tokens.
pub(crate) const MAX_ARGS: usize = 64;

/// `s` cut to at most `max` bytes at a character boundary.
pub(crate) fn cap(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A whitespace-separated token as byte offsets into the analysed text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tok {
    pub start: usize,
    pub end: usize,
}

impl Tok {
    pub fn text<'a>(&self, s: &'a str) -> &'a str {
        s.get(self.start..self.end).unwrap_or("")
    }
}

/// Splits on Unicode whitespace, ignoring quotes (a `"` opening an outer `cmd /c "…"` must not
/// swallow the command inside it). Quoted values are handled by [`value_span`].
pub(crate) fn tokenize(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in s.char_indices() {
        if c.is_whitespace() {
            if let Some(st) = start.take() {
                out.push(Tok { start: st, end: i });
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(st) = start {
        out.push(Tok {
            start: st,
            end: s.len(),
        });
    }
    out
}

/// The token without surrounding quote characters (and a leading `(` or `@(`).
pub(crate) fn unquote(t: &str) -> &str {
    t.trim_start_matches(['(', '@'])
        .trim_matches(|c| c == '"' || c == '\'')
}

/// The program a token names: unquoted, last path component, lower-case, `.exe` removed.
/// `"C:\Windows\System32\wbem\WMIC.exe` → `wmic`.
pub(crate) fn program_name(t: &str) -> String {
    let t = unquote(t);
    let base = t.rsplit(['\\', '/']).next().unwrap_or(t);
    let lower = base.to_ascii_lowercase();
    match lower.strip_suffix(".exe") {
        Some(stem) => stem.to_string(),
        None => lower,
    }
}

/// Last path component of a path (either separator), without surrounding quotes.
pub(crate) fn basename(path: &str) -> &str {
    let p = path.trim().trim_matches(|c| c == '"' || c == '\'');
    p.rsplit(['\\', '/']).next().unwrap_or(p)
}

/// Whether a token separates commands or redirects output (`&`, `&&`, `|`, `||`, `;`, `>`…),
/// after which a program's arguments are over.
pub(crate) fn is_separator(t: &str) -> bool {
    matches!(t, "&" | "&&" | "|" | "||" | ";")
        || t.starts_with('>')
        || t.starts_with('<')
        || t.starts_with("1>")
        || t.starts_with("2>")
}

/// Tokens after token `i` up to a command separator (at most [`MAX_ARGS`]).
pub(crate) fn args_after<'t>(s: &str, toks: &'t [Tok], i: usize) -> &'t [Tok] {
    let rest = toks.get(i + 1..).unwrap_or(&[]);
    let rest = &rest[..rest.len().min(MAX_ARGS)];
    let end = rest
        .iter()
        .position(|t| is_separator(t.text(s)))
        .unwrap_or(rest.len());
    &rest[..end]
}

/// Byte span `(start, end)` of the value that begins at byte `at`, without its quotes.
///
/// A value opening with `"` or `'` runs to the matching quote (within [`MAX_VALUE`] bytes);
/// without a closing quote it is taken as unquoted. An unquoted value ends at whitespace or at a
/// `"` (which closes an outer `cmd /c "…"`). Returns `None` for an empty value.
pub(crate) fn value_span(s: &str, at: usize) -> Option<(usize, usize)> {
    let rest = s.get(at..)?;
    let first = rest.chars().next()?;
    if first.is_whitespace() {
        return None;
    }
    if first == '"' || first == '\'' {
        let body_start = at + first.len_utf8();
        let body = cap(s.get(body_start..)?, MAX_VALUE);
        if let Some(i) = body.find(first) {
            return (i > 0).then_some((body_start, body_start + i));
        }
        let end = unquoted_end(s, body_start);
        return (end > body_start).then_some((body_start, end));
    }
    let end = unquoted_end(s, at);
    (end > at).then_some((at, end))
}

fn unquoted_end(s: &str, at: usize) -> usize {
    match s.get(at..) {
        Some(rest) => {
            let rest = cap(rest, MAX_VALUE);
            rest.char_indices()
                .find(|&(_, c)| c.is_whitespace() || c == '"')
                .map_or(at + rest.len(), |(i, _)| at + i)
        }
        None => at,
    }
}

/// Offset of the first non-whitespace character at or after `at`.
pub(crate) fn skip_ws(s: &str, at: usize) -> usize {
    match s.get(at..) {
        Some(rest) => at + (rest.len() - rest.trim_start().len()),
        None => s.len(),
    }
}

/// Fraction of `chars` that look like text: printable ASCII, common whitespace, or non-control
/// non-ASCII characters (replacement characters count against). Returns `(printable, ascii)`
/// ratios.
pub(crate) fn text_ratios(text: &str) -> (f64, f64) {
    let mut n = 0usize;
    let mut printable = 0usize;
    let mut ascii = 0usize;
    for c in text.chars() {
        n += 1;
        if c.is_ascii_graphic() || matches!(c, ' ' | '\t' | '\r' | '\n') {
            printable += 1;
            ascii += 1;
        } else if !c.is_ascii() && !c.is_control() && c != '\u{FFFD}' {
            printable += 1;
        }
    }
    if n == 0 {
        return (0.0, 0.0);
    }
    (printable as f64 / n as f64, ascii as f64 / n as f64)
}

/// Whether decoded text is plausible human/script text.
pub(crate) fn is_plausible_text(text: &str) -> bool {
    if text.trim().is_empty() {
        return false;
    }
    let (printable, ascii) = text_ratios(text);
    printable >= 0.95 && ascii >= 0.7
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_values() {
        let s = r#"cmd /c "wmic /password:"a b" x"#;
        let toks: Vec<&str> = tokenize(s).iter().map(|t| t.text(s)).collect();
        assert_eq!(toks, ["cmd", "/c", "\"wmic", "/password:\"a", "b\"", "x"]);
        let at = s.find(":\"").unwrap() + 1;
        let (a, b) = value_span(s, at).unwrap();
        assert_eq!(&s[a..b], "a b");
        let s2 = "x Pass1\" y";
        let (a, b) = value_span(s2, 2).unwrap();
        assert_eq!(&s2[a..b], "Pass1");
        assert_eq!(value_span("x \"\"", 2), None);
        assert_eq!(value_span("x", 5), None);
    }

    #[test]
    fn programs() {
        assert_eq!(
            program_name(r#""C:\Windows\System32\wbem\WMIC.exe"#),
            "wmic"
        );
        assert_eq!(program_name("PsExec64.exe"), "psexec64");
        assert_eq!(basename(r#""%SystemRoot%\PSEXESVC.exe""#), "PSEXESVC.exe");
    }

    #[test]
    fn capping_respects_char_boundaries() {
        assert_eq!(cap("ééé", 3), "é");
        assert_eq!(cap("abc", 10), "abc");
    }
}
