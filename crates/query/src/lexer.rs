//! Lexer: query text to tokens, each with its 0-based character position.
//!
//! Decodes string literals (see the crate documentation for the escape rule), regular
//! expression literals (`/.../`, where `\/` is a slash) and backtick strings (raw). Common
//! mistakes from other query languages (`==`, `&&`, `||`, `!`, `<>`, single quotes) are
//! reported with a hint.

use crate::ast::CmpOp;
use crate::error::ParseError;

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A word: field path, keyword or function name (`metadata.event_type`, `AND`, `re.regex`).
    Ident(String),
    /// A double-quoted string, decoded.
    Str(String),
    /// A backtick-quoted string, verbatim.
    Backtick(String),
    /// A regular expression literal, with `\/` decoded to `/`.
    Regex(String),
    /// An unquoted number (or number-like word such as `10.0.2.18`), verbatim.
    Number(String),
    /// A reference list: `%name` (UDM) or `@name` (runbook dialect).
    List {
        name: String,
        at: bool,
    },
    Op(CmpOp),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Eof,
}

impl Tok {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Str(s) => format!("string \"{s}\""),
            Tok::Backtick(s) => format!("string `{s}`"),
            Tok::Regex(s) => format!("regular expression /{s}/"),
            Tok::Number(s) => format!("number {s}"),
            Tok::List { name, at } => {
                format!("reference list {}{name}", if *at { '@' } else { '%' })
            }
            Tok::Op(op) => format!("`{}`", op.as_str()),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::LBracket => "`[`".into(),
            Tok::RBracket => "`]`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Eof => "end of query".into(),
        }
    }

    /// True for an identifier equal to `kw`, ignoring case.
    pub fn is_kw(&self, kw: &str) -> bool {
        matches!(self, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }
}

/// A token and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    /// 0-based character position of the first character.
    pub pos: usize,
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

fn is_list_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-'
}

/// Split `text` into tokens; the last token is always [`Tok::Eof`].
pub fn lex(text: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let err = |pos: usize, msg: String| ParseError::new(text, pos, msg);
    let at = |i: usize| chars.get(i).copied();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(c) = at(i) {
        let start = i;
        let two = at(i + 1);
        let tok = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => {
                i += 1;
                Tok::LParen
            }
            ')' => {
                i += 1;
                Tok::RParen
            }
            '[' => {
                i += 1;
                Tok::LBracket
            }
            ']' => {
                i += 1;
                Tok::RBracket
            }
            ',' => {
                i += 1;
                Tok::Comma
            }
            '=' if two == Some('=') => {
                return Err(err(start, "unexpected `==`".into())
                    .hint("UDM compares with a single `=`: did you mean `=`?"));
            }
            '=' if two == Some('~') => {
                return Err(err(start, "unexpected `=~`".into())
                    .hint("write a regular expression as `field = /regex/`"));
            }
            '=' => {
                i += 1;
                Tok::Op(CmpOp::Eq)
            }
            '!' if two == Some('=') => {
                i += 2;
                Tok::Op(CmpOp::Ne)
            }
            '!' => {
                return Err(err(start, "unexpected `!`".into())
                    .hint("negate with `NOT`, or compare with `!=`"));
            }
            '<' if two == Some('>') => {
                return Err(err(start, "unexpected `<>`".into()).hint("did you mean `!=`?"));
            }
            '<' if two == Some('=') => {
                i += 2;
                Tok::Op(CmpOp::Le)
            }
            '<' => {
                i += 1;
                Tok::Op(CmpOp::Lt)
            }
            '>' if two == Some('=') => {
                i += 2;
                Tok::Op(CmpOp::Ge)
            }
            '>' => {
                i += 1;
                Tok::Op(CmpOp::Gt)
            }
            '&' => {
                return Err(err(
                    start,
                    format!("unexpected `{}`", if two == Some('&') { "&&" } else { "&" }),
                )
                .hint("did you mean `AND`?"));
            }
            '|' => {
                return Err(err(
                    start,
                    format!("unexpected `{}`", if two == Some('|') { "||" } else { "|" }),
                )
                .hint("did you mean `OR`?"));
            }
            '\'' => {
                return Err(
                    err(start, "unexpected `'`: strings use double quotes".into())
                        .hint("write strings as \"value\""),
                );
            }
            '"' => {
                let (s, next) = lex_string(text, &chars, start)?;
                i = next;
                Tok::Str(s)
            }
            '`' => {
                let mut j = i + 1;
                let mut s = String::new();
                loop {
                    match at(j) {
                        Some('`') => break,
                        Some(ch) => s.push(ch),
                        None => {
                            return Err(err(start, "unterminated backtick string".to_string())
                                .hint("close the string with a backtick (`)"));
                        }
                    }
                    j += 1;
                }
                i = j + 1;
                Tok::Backtick(s)
            }
            '/' => {
                let mut j = i + 1;
                let mut s = String::new();
                loop {
                    match at(j) {
                        Some('/') => break,
                        Some('\\') => match at(j + 1) {
                            Some('/') => {
                                s.push('/');
                                j += 2;
                            }
                            Some(next) => {
                                s.push('\\');
                                s.push(next);
                                j += 2;
                            }
                            None => j += 1,
                        },
                        Some(ch) => {
                            s.push(ch);
                            j += 1;
                        }
                        None => {
                            return Err(err(
                                start,
                                "unterminated regular expression".to_string(),
                            )
                            .hint("close the regular expression with `/` (write a slash inside it as `\\/`)"));
                        }
                    }
                }
                i = j + 1;
                Tok::Regex(s)
            }
            '%' | '@' => {
                let mut j = i + 1;
                let mut name = String::new();
                while let Some(ch) = at(j).filter(|&ch| is_list_char(ch)) {
                    name.push(ch);
                    j += 1;
                }
                if name.is_empty() {
                    return Err(
                        err(start, format!("expected a reference list name after `{c}`"))
                            .hint("name a reference list like `%admin_hosts`"),
                    );
                }
                i = j;
                Tok::List { name, at: c == '@' }
            }
            c if c.is_ascii_digit() || (c == '-' && two.is_some_and(|d| d.is_ascii_digit())) => {
                let mut j = i + 1;
                let mut s = String::from(c);
                while let Some(ch) = at(j).filter(|&ch| is_ident_char(ch) || ch == ':') {
                    s.push(ch);
                    j += 1;
                }
                i = j;
                Tok::Number(s)
            }
            c if is_ident_start(c) => {
                let mut j = i;
                let mut s = String::new();
                while let Some(ch) = at(j).filter(|&ch| is_ident_char(ch)) {
                    s.push(ch);
                    j += 1;
                }
                i = j;
                Tok::Ident(s)
            }
            other => {
                return Err(err(start, format!("unexpected character `{other}`")));
            }
        };
        out.push(Token { tok, pos: start });
    }
    out.push(Token {
        tok: Tok::Eof,
        pos: chars.len(),
    });
    Ok(out)
}

/// Lex a double-quoted string starting at `start` (the opening quote). Returns the decoded
/// value and the position after the closing quote.
///
/// Only `\\` and `\"` are escapes, unless the string holds a lone backslash (one not followed
/// by `\` or `"`): then it is a raw runbook string where every backslash is literal except in
/// `\"`.
fn lex_string(text: &str, chars: &[char], start: usize) -> Result<(String, usize), ParseError> {
    let mut j = start + 1;
    let mut lone_backslash = false;
    loop {
        match chars.get(j) {
            Some('"') => break,
            Some('\\') => match chars.get(j + 1) {
                Some('\\') | Some('"') => j += 2,
                _ => {
                    lone_backslash = true;
                    j += 1;
                }
            },
            Some(_) => j += 1,
            None => {
                return Err(ParseError::new(text, start, "unterminated string")
                    .hint("close the string with `\"` (write a quote inside it as `\\\"`)"));
            }
        }
    }
    let raw = chars.get(start + 1..j).unwrap_or(&[]);
    let mut s = String::with_capacity(raw.len());
    let mut k = 0;
    while let Some(&c) = raw.get(k) {
        if c == '\\' {
            match raw.get(k + 1) {
                Some('"') => {
                    s.push('"');
                    k += 2;
                    continue;
                }
                Some('\\') if !lone_backslash => {
                    s.push('\\');
                    k += 2;
                    continue;
                }
                Some('\\') => {
                    s.push_str("\\\\");
                    k += 2;
                    continue;
                }
                _ => {}
            }
        }
        s.push(c);
        k += 1;
    }
    Ok((s, j + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<Tok> {
        lex(text)
            .expect("lexes")
            .into_iter()
            .map(|t| t.tok)
            .collect()
    }

    fn one_string(text: &str) -> String {
        match toks(text).as_slice() {
            [Tok::Str(s), Tok::Eof] => s.clone(),
            other => panic!("expected one string, got {other:?}"),
        }
    }

    #[test]
    fn string_escapes_strict_and_raw() {
        assert_eq!(
            one_string(r#""C:\\Windows\\System32\\services.exe""#),
            r"C:\Windows\System32\services.exe"
        );
        assert_eq!(
            one_string(r#""C:\Windows\System32\services.exe""#),
            r"C:\Windows\System32\services.exe"
        );
        assert_eq!(one_string(r#""\\127.0.0.1\ADMIN$""#), r"\\127.0.0.1\ADMIN$");
        assert_eq!(one_string(r#""say \"hi\"""#), r#"say "hi""#);
        assert_eq!(one_string(r#""raw \d and \"q\"""#), r#"raw \d and "q""#);
        assert_eq!(one_string(r#""a\\""#), r"a\");
        assert_eq!(one_string("\"\""), "");
    }

    #[test]
    fn regex_and_backtick_literals() {
        assert_eq!(
            toks(r"/a\/b\.c\\/ `x\d`"),
            vec![
                Tok::Regex(r"a/b\.c\\".into()),
                Tok::Backtick(r"x\d".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn operators_lists_numbers_and_positions() {
        let t = lex(r#"target.port>=445 AND x != %l OR y IN @m"#).expect("lexes");
        let kinds: Vec<Tok> = t.iter().map(|t| t.tok.clone()).collect();
        assert_eq!(
            kinds,
            vec![
                Tok::Ident("target.port".into()),
                Tok::Op(CmpOp::Ge),
                Tok::Number("445".into()),
                Tok::Ident("AND".into()),
                Tok::Ident("x".into()),
                Tok::Op(CmpOp::Ne),
                Tok::List {
                    name: "l".into(),
                    at: false
                },
                Tok::Ident("OR".into()),
                Tok::Ident("y".into()),
                Tok::Ident("IN".into()),
                Tok::List {
                    name: "m".into(),
                    at: true
                },
                Tok::Eof
            ]
        );
        let positions: Vec<usize> = t.iter().map(|t| t.pos).collect();
        assert_eq!(
            positions,
            vec![0, 11, 13, 17, 21, 23, 26, 29, 32, 34, 37, 39]
        );
    }

    #[test]
    fn common_mistakes_have_hints() {
        let e = lex(r#"a == "b""#).expect_err("== is an error");
        assert_eq!(e.position, 2);
        assert!(e.suggestion.as_deref().unwrap_or("").contains("`=`"));
        let e = lex(r#"a = "b" && c = "d""#).expect_err("&& is an error");
        assert_eq!(e.position, 8);
        assert!(e.suggestion.as_deref().unwrap_or("").contains("AND"));
        let e = lex(r#"a = "b" || c"#).expect_err("|| is an error");
        assert!(e.suggestion.as_deref().unwrap_or("").contains("OR"));
        let e = lex("a = 'b'").expect_err("single quotes");
        assert_eq!(e.position, 4);
    }

    #[test]
    fn unterminated_literals_point_at_their_start() {
        let e = lex(r#"x = "abc"#).expect_err("unterminated");
        assert_eq!(e.position, 4);
        assert_eq!(e.message, "unterminated string");
        assert!(
            e.to_string()
                .starts_with("unterminated string (at position 4)"),
            "{e}"
        );
        let e = lex(r"x = /abc\/").expect_err("unterminated regex");
        assert_eq!(e.position, 4);
        let e = lex("x = `abc").expect_err("unterminated backtick");
        assert_eq!(e.position, 4);
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        let t = lex("\"é\" x").expect("lexes");
        assert_eq!(t[1].pos, 4);
    }
}
