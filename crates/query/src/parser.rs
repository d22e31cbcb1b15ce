//! Parser: tokens to the surface syntax tree ([`crate::ast`]).
//!
//! Grammar (keywords in any case; `NOT` binds tighter than `AND`, which binds tighter than
//! `OR`; adjacent conditions are joined by an implicit `AND`):
//!
//! ```text
//! query     := or EOF
//! or        := and ("OR" and)*
//! and       := unary (["AND"] unary)*
//! unary     := "NOT" unary | "(" or ")" | condition
//! condition := function [nocase] [("=" | "!=") bool] [nocase]
//!            | field op value [nocase]
//!            | field ["NOT"] "CONTAINS" string [nocase]
//!            | field ["NOT"] "IN" "(" value ("," value)* ")" [nocase]
//!            | field ["NOT"] "IN" ["regex" | "cidr"] (%list | @list) [nocase]
//! field     := path | path "[" string "]"
//! function  := ("re.regex" | "strings.contains" | "net.ip_in_range_cidr") "(" field "," string ")"
//! ```
//!
//! Values are typed here against the field catalogue, so a number field given a word, an
//! unknown field or a bad time is reported with its position. Nesting (parentheses and `NOT`)
//! is capped at [`MAX_DEPTH`] so no input can exhaust the stack.

use lateral_model::event::parse_int;
use lateral_model::fields::{self, Kind};
use lateral_model::{f, Field};

use crate::ast::{CmpOp, FieldRef, Func, ListKind, Node, Pred, Value};
use crate::cidr::IpNet;
use crate::error::ParseError;
use crate::lexer::{lex, Tok, Token};

/// Deepest nesting of parentheses and `NOT` a query may use.
pub const MAX_DEPTH: usize = 64;

/// Words that cannot start a condition.
const KEYWORDS: &[&str] = &[
    "AND", "OR", "IN", "CONTAINS", "NOCASE", "REGEX", "CIDR", "TRUE", "FALSE",
];

/// Parse query text into the surface tree.
pub fn parse_query(text: &str) -> Result<Node, ParseError> {
    let toks = lex(text)?;
    let mut p = Parser { text, toks, i: 0 };
    if matches!(p.peek(), Tok::Eof) {
        return Err(p
            .error_here("empty query")
            .hint("write a condition such as metadata.event_type = \"PROCESS_LAUNCH\""));
    }
    let node = p.parse_or(0)?;
    match p.peek() {
        Tok::Eof => Ok(node),
        Tok::RParen => Err(p.error_here("unexpected `)`: no `(` to close")),
        other => {
            let msg = format!("unexpected {}", other.describe());
            Err(p.error_here(msg))
        }
    }
}

/// A value as written, before it is typed against its field.
enum Raw {
    Str(String),
    Num(String),
    Regex(String),
    Bool(bool),
}

struct Parser<'a> {
    text: &'a str,
    toks: Vec<Token>,
    i: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> &Tok {
        self.toks.get(self.i).map_or(&Tok::Eof, |t| &t.tok)
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        self.toks.get(self.i + ahead).map_or(&Tok::Eof, |t| &t.tok)
    }

    fn pos(&self) -> usize {
        self.toks
            .get(self.i)
            .or_else(|| self.toks.last())
            .map_or(0, |t| t.pos)
    }

    fn advance(&mut self) -> Tok {
        let t = self.peek().clone();
        if self.i < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn error_at(&self, pos: usize, msg: impl Into<String>) -> ParseError {
        ParseError::new(self.text, pos, msg)
    }

    fn error_here(&self, msg: impl Into<String>) -> ParseError {
        self.error_at(self.pos(), msg)
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.peek().is_kw(kw) {
            self.advance();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: Tok, what: &str) -> Result<(), ParseError> {
        if *self.peek() == tok {
            self.advance();
            Ok(())
        } else {
            let msg = format!("expected {what}, found {}", self.peek().describe());
            Err(self.error_here(msg))
        }
    }

    fn check_depth(&self, depth: usize) -> Result<(), ParseError> {
        if depth > MAX_DEPTH {
            Err(self.error_here(format!(
                "query nests too deeply (more than {MAX_DEPTH} levels of parentheses and NOT)"
            )))
        } else {
            Ok(())
        }
    }

    fn parse_or(&mut self, depth: usize) -> Result<Node, ParseError> {
        let mut terms = vec![self.parse_and(depth)?];
        while self.eat_kw("OR") {
            if matches!(self.peek(), Tok::Eof | Tok::RParen) {
                return Err(self.error_here(format!(
                    "expected a condition after OR, found {}",
                    self.peek().describe()
                )));
            }
            terms.push(self.parse_and(depth)?);
        }
        Ok(if terms.len() == 1 {
            terms.swap_remove(0)
        } else {
            Node::Or(terms)
        })
    }

    fn parse_and(&mut self, depth: usize) -> Result<Node, ParseError> {
        let mut terms = vec![self.parse_unary(depth)?];
        loop {
            if self.eat_kw("AND") {
                if matches!(self.peek(), Tok::Eof | Tok::RParen) {
                    return Err(self.error_here(format!(
                        "expected a condition after AND, found {}",
                        self.peek().describe()
                    )));
                }
            } else if matches!(self.peek(), Tok::Eof | Tok::RParen) || self.peek().is_kw("OR") {
                break;
            }
            // Anything else starts the next condition: an implicit AND.
            terms.push(self.parse_unary(depth)?);
        }
        Ok(if terms.len() == 1 {
            terms.swap_remove(0)
        } else {
            Node::And(terms)
        })
    }

    fn parse_unary(&mut self, depth: usize) -> Result<Node, ParseError> {
        if self.peek().is_kw("NOT") {
            self.check_depth(depth + 1)?;
            self.advance();
            if matches!(self.peek(), Tok::Eof | Tok::RParen) {
                return Err(self.error_here(format!(
                    "expected a condition after NOT, found {}",
                    self.peek().describe()
                )));
            }
            return Ok(Node::Not(Box::new(self.parse_unary(depth + 1)?)));
        }
        if matches!(self.peek(), Tok::LParen) {
            self.check_depth(depth + 1)?;
            let open = self.pos();
            self.advance();
            if matches!(self.peek(), Tok::RParen) {
                return Err(self.error_here("empty parentheses: expected a condition"));
            }
            let inner = self.parse_or(depth + 1)?;
            if !matches!(self.peek(), Tok::RParen) {
                let msg = format!(
                    "missing `)` to close the `(` at position {open}, found {}",
                    self.peek().describe()
                );
                return Err(self.error_here(msg).hint("close every `(` with a `)`"));
            }
            self.advance();
            return Ok(inner);
        }
        self.parse_condition()
    }

    fn parse_condition(&mut self) -> Result<Node, ParseError> {
        let pos = self.pos();
        let name = match self.peek() {
            Tok::Ident(name) => name.clone(),
            other => {
                let msg = format!(
                    "expected a condition (a field name), found {}",
                    other.describe()
                );
                return Err(self.error_here(msg));
            }
        };
        if matches!(self.peek_at(1), Tok::LParen) {
            return self.parse_function(&name, pos);
        }
        if KEYWORDS.iter().any(|k| name.eq_ignore_ascii_case(k)) {
            return Err(self.error_here(format!("expected a condition, found keyword `{name}`")));
        }
        let field = self.parse_field()?;
        self.parse_tail(field, &name)
    }

    /// A field path at the current token, with `[ "key" ]` for map access.
    fn parse_field(&mut self) -> Result<FieldRef, ParseError> {
        let pos = self.pos();
        let name = match self.advance() {
            Tok::Ident(n) => n,
            other => {
                let msg = format!("expected a field name, found {}", other.describe());
                return Err(self.error_at(pos, msg));
            }
        };
        let lower = name.to_ascii_lowercase();
        if lower == "additional.fields" {
            if !matches!(self.peek(), Tok::LBracket) {
                return Err(self
                    .error_at(pos, "`additional.fields` needs a key")
                    .hint("write additional.fields[\"Name\"]"));
            }
            self.advance();
            let key_pos = self.pos();
            let key = match self.advance() {
                Tok::Str(k) | Tok::Backtick(k) => k,
                Tok::Ident(k) | Tok::Number(k) => k,
                other => {
                    let msg = format!("expected a key string, found {}", other.describe());
                    return Err(self.error_at(key_pos, msg));
                }
            };
            self.expect(Tok::RBracket, "`]`")?;
            return Ok(FieldRef::MapKey(key));
        }
        if lower.starts_with("additional.fields.") {
            let key = name.get("additional.fields.".len()..).unwrap_or("");
            if !key.is_empty() {
                return Ok(FieldRef::MapKey(key.to_string()));
            }
        }
        if matches!(
            name.as_str(),
            "metadata.event_timestamp.seconds" | "metadata.eventTimestamp.seconds"
        ) {
            return Ok(FieldRef::EpochSeconds);
        }
        let field = Field::by_name(&name)
            .or_else(|| Field::by_name(&lower))
            .or_else(|| (lower == "description").then_some(f::DESCRIPTION));
        match field {
            Some(field) if field.def().kind == Kind::Map => Err(self
                .error_at(pos, format!("`{}` needs a key", field.name()))
                .hint(format!("write {}[\"Name\"]", field.name()))),
            Some(field) => Ok(FieldRef::Column(field)),
            None => {
                let err = self.error_at(pos, format!("unknown field `{name}`"));
                Err(match fields::suggest(&name) {
                    Some(s) => err.hint(format!("did you mean {s}?")),
                    None => err,
                })
            }
        }
    }

    /// Everything after the field of a condition.
    fn parse_tail(&mut self, field: FieldRef, name: &str) -> Result<Node, ParseError> {
        let tok = self.peek().clone();
        match tok {
            Tok::Op(op) => {
                self.advance();
                let (raw, pos) = self.parse_raw_value()?;
                let value = self.type_value(&field, raw, pos, op)?;
                let nocase = self.eat_kw("nocase");
                Ok(Node::Pred(Pred::Compare {
                    field,
                    op,
                    value,
                    nocase,
                }))
            }
            Tok::Ident(ref w) if w.eq_ignore_ascii_case("NOT") => {
                self.advance();
                if self.peek().is_kw("IN") || self.peek().is_kw("CONTAINS") {
                    let inner = self.parse_tail(field, name)?;
                    Ok(Node::Not(Box::new(inner)))
                } else {
                    let msg = format!(
                        "expected IN or CONTAINS after NOT, found {}",
                        self.peek().describe()
                    );
                    Err(self.error_here(msg))
                }
            }
            Tok::Ident(ref w) if w.eq_ignore_ascii_case("CONTAINS") => {
                self.advance();
                self.require_text(&field, "CONTAINS")?;
                let pos = self.pos();
                let value = match self.advance() {
                    Tok::Str(s) | Tok::Backtick(s) | Tok::Number(s) => s,
                    other => {
                        let msg = format!(
                            "expected a string after CONTAINS, found {}",
                            other.describe()
                        );
                        return Err(self.error_at(pos, msg));
                    }
                };
                // CONTAINS is always case-insensitive; an explicit nocase is allowed.
                self.eat_kw("nocase");
                Ok(Node::Pred(Pred::Contains { field, value }))
            }
            Tok::Ident(ref w) if w.eq_ignore_ascii_case("IN") => {
                self.advance();
                self.parse_in(field)
            }
            Tok::Ident(ref w)
                if [
                    "LIKE",
                    "MATCHES",
                    "STARTSWITH",
                    "ENDSWITH",
                    "STARTS_WITH",
                    "ENDS_WITH",
                ]
                .iter()
                .any(|k| w.eq_ignore_ascii_case(k)) =>
            {
                Err(self
                    .error_here(format!("`{w}` is not a UDM operator"))
                    .hint(
                        "use CONTAINS \"text\", or a regular expression such as = /^text/ nocase",
                    ))
            }
            Tok::Eof => Err(self
                .error_here(format!(
                    "expected an operator after `{name}`, found end of query"
                ))
                .hint(format!("write a comparison such as {name} = \"value\""))),
            other => Err(self.error_here(format!(
                "expected an operator (=, !=, <, <=, >, >=, IN, CONTAINS) after `{name}`, found {}",
                other.describe()
            ))),
        }
    }

    /// After `IN`: a parenthesised value list or a reference list.
    fn parse_in(&mut self, field: FieldRef) -> Result<Node, ParseError> {
        let start = self.pos();
        if matches!(self.peek(), Tok::LParen) {
            self.advance();
            let mut values = Vec::new();
            loop {
                let (raw, pos) = self.parse_raw_value()?;
                values.push(self.type_value(&field, raw, pos, CmpOp::Eq)?);
                match self.advance() {
                    Tok::Comma => continue,
                    Tok::RParen => break,
                    other => {
                        let msg = format!(
                            "expected `,` or `)` in the IN list opened at position {start}, found {}",
                            other.describe()
                        );
                        // The token was consumed; point at it.
                        let pos = self.toks.get(self.i.saturating_sub(1)).map_or(0, |t| t.pos);
                        return Err(self.error_at(pos, msg));
                    }
                }
            }
            let nocase = self.eat_kw("nocase");
            return Ok(Node::Pred(Pred::InValues {
                field,
                values,
                nocase,
            }));
        }
        let kind = if self.eat_kw("regex") {
            ListKind::Regex
        } else if self.eat_kw("cidr") {
            ListKind::Cidr
        } else {
            ListKind::Plain
        };
        let pos = self.pos();
        let (list, at) = match self.advance() {
            Tok::List { name, at } => (name, at),
            other => {
                let msg = format!(
                    "expected a value list `(...)` or a reference list `%name` after IN, found {}",
                    other.describe()
                );
                return Err(self.error_at(pos, msg));
            }
        };
        match (&field, kind) {
            (FieldRef::EpochSeconds, _) => {
                return Err(self.error_at(pos, "reference lists do not apply to timestamps"))
            }
            (FieldRef::Column(c), _) if c.def().kind == Kind::Timestamp => {
                return Err(self.error_at(pos, "reference lists do not apply to timestamps"))
            }
            (_, ListKind::Regex) => self.require_text(&field, "in regex")?,
            (_, ListKind::Cidr) => self.require_text(&field, "in cidr")?,
            _ => {}
        }
        let nocase = self.eat_kw("nocase");
        Ok(Node::Pred(Pred::InList {
            field,
            list,
            kind,
            nocase,
            at,
        }))
    }

    /// `re.regex(field, "re")`, `strings.contains(field, "x")`, `net.ip_in_range_cidr(field, "cidr")`.
    fn parse_function(&mut self, name: &str, pos: usize) -> Result<Node, ParseError> {
        let Some(func) = Func::by_name(name) else {
            return Err(self
                .error_at(pos, format!("unknown function `{name}`"))
                .hint("functions are re.regex, strings.contains and net.ip_in_range_cidr"));
        };
        self.advance();
        self.expect(Tok::LParen, "`(`")?;
        let field = self.parse_field()?;
        self.require_text(&field, func.name())?;
        self.expect(Tok::Comma, "`,`")?;
        let arg_pos = self.pos();
        let arg = match self.advance() {
            Tok::Str(s) | Tok::Backtick(s) => s,
            other => {
                let msg = format!(
                    "expected a string as the second argument of {}, found {}",
                    func.name(),
                    other.describe()
                );
                return Err(self.error_at(arg_pos, msg));
            }
        };
        self.expect(Tok::RParen, "`)`")?;
        let string_func = func != Func::IpInRangeCidr;
        let mut nocase = string_func && self.eat_kw("nocase");
        let mut expect = true;
        if let Tok::Op(op @ (CmpOp::Eq | CmpOp::Ne)) = *self.peek() {
            self.advance();
            let bpos = self.pos();
            let b = match self.advance() {
                Tok::Ident(w) if w.eq_ignore_ascii_case("true") => true,
                Tok::Ident(w) if w.eq_ignore_ascii_case("false") => false,
                other => {
                    let msg = format!(
                        "{} can only be compared with true or false, found {}",
                        func.name(),
                        other.describe()
                    );
                    return Err(self.error_at(bpos, msg));
                }
            };
            expect = b == (op == CmpOp::Eq);
        }
        nocase = nocase || (string_func && self.eat_kw("nocase"));
        match func {
            Func::IpInRangeCidr => {
                if IpNet::parse(&arg).is_none() {
                    return Err(self
                        .error_at(arg_pos, format!("invalid CIDR range \"{arg}\""))
                        .hint("write a range such as \"10.0.0.0/8\" or \"fe80::/10\""));
                }
                let node = Node::Pred(Pred::Cidr {
                    field,
                    cidr: arg.trim().to_string(),
                });
                Ok(if expect {
                    node
                } else {
                    Node::Not(Box::new(node))
                })
            }
            Func::ReRegex | Func::StringsContains => {
                if func == Func::ReRegex && ends_with_lone_backslash(&arg) {
                    return Err(
                        self.error_at(arg_pos, "regular expression ends with a lone backslash")
                    );
                }
                Ok(Node::Pred(Pred::Func {
                    func,
                    field,
                    arg,
                    nocase,
                    expect,
                }))
            }
        }
    }

    /// Text-only constructs (CONTAINS, regex lists, functions) need a text field.
    fn require_text(&self, field: &FieldRef, what: &str) -> Result<(), ParseError> {
        let ok = match field {
            FieldRef::MapKey(_) => true,
            FieldRef::EpochSeconds => false,
            FieldRef::Column(c) => c.def().kind == Kind::Str,
        };
        if ok {
            Ok(())
        } else {
            let name = match field {
                FieldRef::Column(c) => c.name().to_string(),
                _ => "metadata.event_timestamp.seconds".to_string(),
            };
            let pos = self.toks.get(self.i.saturating_sub(1)).map_or(0, |t| t.pos);
            Err(self.error_at(
                pos,
                format!("{what} needs a text field; `{name}` is not text"),
            ))
        }
    }

    fn parse_raw_value(&mut self) -> Result<(Raw, usize), ParseError> {
        let pos = self.pos();
        let raw = match self.advance() {
            Tok::Str(s) | Tok::Backtick(s) => Raw::Str(s),
            Tok::Number(n) => Raw::Num(n),
            Tok::Regex(r) => Raw::Regex(r),
            Tok::Ident(w) if w.eq_ignore_ascii_case("true") => Raw::Bool(true),
            Tok::Ident(w) if w.eq_ignore_ascii_case("false") => Raw::Bool(false),
            Tok::Ident(w) => {
                return Err(self
                    .error_at(pos, format!("expected a value, found `{w}`"))
                    .hint(format!("quote text values: \"{w}\"")));
            }
            Tok::List { name, .. } => {
                return Err(self
                    .error_at(
                        pos,
                        "a reference list is matched with `in`, not an operator",
                    )
                    .hint(format!("write field in %{name}")));
            }
            other => {
                let msg = format!("expected a value, found {}", other.describe());
                return Err(self.error_at(pos, msg));
            }
        };
        Ok((raw, pos))
    }

    /// Type a written value against its field.
    fn type_value(
        &self,
        field: &FieldRef,
        raw: Raw,
        pos: usize,
        op: CmpOp,
    ) -> Result<Value, ParseError> {
        let (name, kind) = match field {
            FieldRef::Column(c) => (c.name().to_string(), c.def().kind),
            FieldRef::MapKey(k) => (format!("additional.fields[\"{k}\"]"), Kind::Str),
            FieldRef::EpochSeconds => ("metadata.event_timestamp.seconds".to_string(), Kind::Int),
        };
        if let Raw::Regex(r) = &raw {
            if kind != Kind::Str {
                return Err(self.error_at(
                    pos,
                    format!("regular expressions apply to text fields; `{name}` is not text"),
                ));
            }
            if !op.is_equality() {
                return Err(self
                    .error_at(
                        pos,
                        "a regular expression can only be compared with = or !=",
                    )
                    .hint(format!("write {name} = /{r}/")));
            }
        }
        match kind {
            Kind::Str | Kind::Map => match raw {
                Raw::Str(s) | Raw::Num(s) => Ok(Value::Str(s)),
                Raw::Regex(r) => Ok(Value::Regex(r)),
                Raw::Bool(b) => Err(self
                    .error_at(pos, format!("`{name}` is a text field, not a flag"))
                    .hint(format!("quote the value: \"{b}\""))),
            },
            Kind::Int => {
                let text = match raw {
                    Raw::Str(s) | Raw::Num(s) => s,
                    Raw::Bool(b) => b.to_string(),
                    Raw::Regex(r) => r,
                };
                parse_int(&text).map(Value::Int).ok_or_else(|| {
                    self.error_at(
                        pos,
                        format!("`{name}` is a number field; \"{text}\" is not a number"),
                    )
                })
            }
            Kind::Bool => {
                if !op.is_equality() {
                    return Err(self.error_at(pos, format!("`{name}` is a flag: compare it with = or !=")));
                }
                match raw {
                    Raw::Bool(b) => Ok(Value::Bool(b)),
                    Raw::Str(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
                    Raw::Str(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
                    _ => Err(self
                        .error_at(pos, format!("`{name}` is a flag: compare it with true or false"))),
                }
            }
            Kind::Timestamp => match raw {
                Raw::Str(s) => parse_time(&s).map(Value::Time).ok_or_else(|| {
                    self.error_at(pos, format!("\"{s}\" is not a time"))
                        .hint("write an RFC 3339 time such as \"2024-05-01T13:00:00Z\"")
                }),
                Raw::Num(n) => Err(self
                    .error_at(pos, format!("`{name}` compares with a quoted time, not a number"))
                    .hint(format!(
                        "write an RFC 3339 time such as \"2024-05-01T13:00:00Z\", or compare epoch seconds with metadata.event_timestamp.seconds {} {n}",
                        op.as_str()
                    ))),
                _ => Err(self
                    .error_at(pos, format!("`{name}` compares with a quoted time"))
                    .hint("write an RFC 3339 time such as \"2024-05-01T13:00:00Z\"")),
            },
        }
    }
}

/// True when a pattern ends in an unpaired backslash (it would escape the closing `/`).
fn ends_with_lone_backslash(s: &str) -> bool {
    s.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1
}

/// RFC 3339, or a date-time without zone (UTC assumed), or a date (midnight UTC).
pub(crate) fn parse_time(s: &str) -> Option<i64> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_micros());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc().timestamp_micros());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_micros())
}
