//! Echo: prints a core tree as real UDM search text.
//!
//! `AND`, `OR` and `NOT` are upper case; `in`, `regex`, `cidr` and `nocase` are written as the
//! SecOps documentation writes them (lower case). Strings are re-escaped (`\\`, `\"`), regular
//! expressions written `/.../` with `\/` for a slash, times as RFC 3339 strings. An `OR` group
//! inside `AND` or `NOT`, and an `AND` group inside `NOT`, are parenthesised; nothing else is.

use chrono::{DateTime, SecondsFormat};

use crate::ast::{FieldRef, ListKind, Node, Pred, Value};

/// Print a core tree; also returns the nesting depth of the text as the parser counts it
/// (every `(` and every `NOT` is one level), so callers can check it re-parses.
pub fn echo(node: &Node) -> (String, usize) {
    let mut w = Writer {
        out: String::new(),
        max_depth: 0,
    };
    w.node(node, 0, Ctx::Top);
    (w.out, w.max_depth)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Top,
    And,
    Or,
    Not,
}

struct Writer {
    out: String,
    max_depth: usize,
}

impl Writer {
    fn node(&mut self, node: &Node, depth: usize, ctx: Ctx) {
        self.max_depth = self.max_depth.max(depth);
        match node {
            Node::And(v) => self.group(v, " AND ", depth, ctx == Ctx::Not, Ctx::And),
            Node::Or(v) => self.group(
                v,
                " OR ",
                depth,
                matches!(ctx, Ctx::And | Ctx::Not),
                Ctx::Or,
            ),
            Node::Not(inner) => {
                self.out.push_str("NOT ");
                self.node(inner, depth + 1, Ctx::Not);
            }
            Node::Pred(p) => self.pred(p),
        }
    }

    fn group(&mut self, v: &[Node], sep: &str, depth: usize, paren: bool, ctx: Ctx) {
        let depth = if paren { depth + 1 } else { depth };
        self.max_depth = self.max_depth.max(depth);
        if paren {
            self.out.push('(');
        }
        for (i, n) in v.iter().enumerate() {
            if i > 0 {
                self.out.push_str(sep);
            }
            self.node(n, depth, ctx);
        }
        if paren {
            self.out.push(')');
        }
    }

    fn pred(&mut self, p: &Pred) {
        match p {
            Pred::Compare {
                field,
                op,
                value,
                nocase,
            } => {
                self.field(field);
                self.out.push(' ');
                self.out.push_str(op.as_str());
                self.out.push(' ');
                self.value(value);
                if *nocase {
                    self.out.push_str(" nocase");
                }
            }
            Pred::InList {
                field,
                list,
                kind,
                nocase,
                ..
            } => {
                self.field(field);
                self.out.push_str(match kind {
                    ListKind::Plain => " in %",
                    ListKind::Regex => " in regex %",
                    ListKind::Cidr => " in cidr %",
                });
                self.out.push_str(list);
                if *nocase {
                    self.out.push_str(" nocase");
                }
            }
            Pred::Cidr { field, cidr } => {
                self.out.push_str("net.ip_in_range_cidr(");
                self.field(field);
                self.out.push_str(", ");
                self.string(cidr);
                self.out.push(')');
            }
            // Surface-only forms never reach the echo (it prints normalised trees); print
            // their closest text anyway rather than panic.
            Pred::Contains { field, value } => {
                self.field(field);
                self.out.push_str(" CONTAINS ");
                self.string(value);
            }
            Pred::InValues { field, values, .. } => {
                self.field(field);
                self.out.push_str(" IN (");
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.value(v);
                }
                self.out.push(')');
            }
            Pred::Func {
                func, field, arg, ..
            } => {
                self.out.push_str(func.name());
                self.out.push('(');
                self.field(field);
                self.out.push_str(", ");
                self.string(arg);
                self.out.push(')');
            }
        }
    }

    fn field(&mut self, field: &FieldRef) {
        match field {
            FieldRef::Column(c) => self.out.push_str(c.name()),
            FieldRef::MapKey(k) => {
                self.out.push_str("additional.fields[");
                self.string(k);
                self.out.push(']');
            }
            FieldRef::EpochSeconds => self.out.push_str("metadata.event_timestamp.seconds"),
        }
    }

    fn value(&mut self, v: &Value) {
        match v {
            Value::Str(s) => self.string(s),
            Value::Int(i) => self.out.push_str(&i.to_string()),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Regex(r) => self.regex(r),
            Value::Time(micros) => match DateTime::from_timestamp_micros(*micros) {
                Some(t) => {
                    let text = t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
                    self.string(&text);
                }
                None => self.string(&micros.to_string()),
            },
        }
    }

    fn string(&mut self, s: &str) {
        self.out.push('"');
        for c in s.chars() {
            match c {
                '\\' => self.out.push_str("\\\\"),
                '"' => self.out.push_str("\\\""),
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }

    fn regex(&mut self, r: &str) {
        self.out.push('/');
        let mut chars = r.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    // `\/` in a pattern is a slash; the literal writes it `\/` too.
                    Some('/') => self.out.push_str("\\/"),
                    Some(n) => {
                        self.out.push('\\');
                        self.out.push(n);
                    }
                    // A trailing lone backslash would escape the closing slash; the parser
                    // rejects such patterns, so this is only reached for hand-built trees.
                    None => self.out.push_str("\\\\"),
                },
                '/' => self.out.push_str("\\/"),
                c => self.out.push(c),
            }
        }
        self.out.push('/');
    }
}
