//! Normaliser: rewrites the surface tree into the core tree, which uses only real UDM search
//! forms and states every lateral semantic explicitly.
//!
//! | surface                                   | core                                                     |
//! |-------------------------------------------|----------------------------------------------------------|
//! | `f CONTAINS "v"`                          | `f = /<regex-escaped v>/ nocase`                         |
//! | `f IN ("a", "b")`                         | `(f = "a" OR f = "b")`                                   |
//! | `f NOT IN ("a", "b")`                     | `NOT (f = "a" OR f = "b")`                               |
//! | `f IN @list`                              | `f in %list`                                             |
//! | `re.regex(f, "re")` / `= false`           | `f = /re/` / `f != /re/`                                 |
//! | `strings.contains(f, "x")`                | `f = /<regex-escaped x>/`                                |
//! | Path `f = "cmd.exe"` (bare file name)     | `f = /(^\|[\\/])cmd\.exe$/ nocase`                       |
//! | Path/Hostname/User/Enum `f = "v"`         | `f = "v" nocase`                                         |
//! | `metadata.product_event_type = "ServiceInstalled"` | `(… = "7045" OR … = "4697")`                    |
//!
//! Nested `AND`s and `OR`s are flattened. Normalising a core tree returns it unchanged, so
//! echo → parse → normalise is a fixed point.

use lateral_model::{f, Semantic};

use crate::ast::{CmpOp, FieldRef, Func, ListKind, Node, Pred, Value};

/// The prefix of the regular expression a bare file name on a path field becomes.
pub const FILE_NAME_PREFIX: &str = r"(^|[\\/])";

/// Rewrite a surface tree into the core tree.
pub fn normalise(node: &Node) -> Node {
    match node {
        Node::And(v) => and_of(v.iter().map(normalise).collect()),
        Node::Or(v) => or_of(v.iter().map(normalise).collect()),
        Node::Not(n) => Node::Not(Box::new(normalise(n))),
        Node::Pred(p) => normalise_pred(p),
    }
}

fn and_of(nodes: Vec<Node>) -> Node {
    let mut out = Vec::with_capacity(nodes.len());
    for n in nodes {
        match n {
            Node::And(inner) => out.extend(inner),
            other => out.push(other),
        }
    }
    if out.len() == 1 {
        out.swap_remove(0)
    } else {
        Node::And(out)
    }
}

fn or_of(nodes: Vec<Node>) -> Node {
    let mut out = Vec::with_capacity(nodes.len());
    for n in nodes {
        match n {
            Node::Or(inner) => out.extend(inner),
            other => out.push(other),
        }
    }
    if out.len() == 1 {
        out.swap_remove(0)
    } else {
        Node::Or(out)
    }
}

fn semantic(field: &FieldRef) -> Option<Semantic> {
    match field {
        FieldRef::Column(c) => Some(c.def().semantic),
        FieldRef::MapKey(_) => Some(Semantic::Text),
        FieldRef::EpochSeconds => None,
    }
}

fn is_text(field: &FieldRef) -> bool {
    match field {
        FieldRef::Column(c) => c.def().kind == lateral_model::Kind::Str,
        FieldRef::MapKey(_) => true,
        FieldRef::EpochSeconds => false,
    }
}

fn normalise_pred(p: &Pred) -> Node {
    match p {
        Pred::Compare {
            field,
            op,
            value,
            nocase,
        } => compare(field, *op, value.clone(), *nocase),
        Pred::Contains { field, value } => {
            compare(field, CmpOp::Eq, Value::Regex(escape_regex(value)), true)
        }
        Pred::InValues {
            field,
            values,
            nocase,
        } => or_of(
            values
                .iter()
                .map(|v| compare(field, CmpOp::Eq, v.clone(), *nocase))
                .collect(),
        ),
        Pred::InList {
            field,
            list,
            kind,
            nocase,
            at: _,
        } => Node::Pred(Pred::InList {
            field: field.clone(),
            list: list.clone(),
            kind: *kind,
            nocase: *nocase && *kind != ListKind::Cidr && is_text(field),
            at: false,
        }),
        Pred::Func {
            func,
            field,
            arg,
            nocase,
            expect,
        } => {
            let op = if *expect { CmpOp::Eq } else { CmpOp::Ne };
            match func {
                Func::ReRegex => compare(field, op, Value::Regex(arg.clone()), *nocase),
                Func::StringsContains => {
                    compare(field, op, Value::Regex(escape_regex(arg)), *nocase)
                }
                Func::IpInRangeCidr => {
                    let node = Node::Pred(Pred::Cidr {
                        field: field.clone(),
                        cidr: arg.trim().to_string(),
                    });
                    if *expect {
                        node
                    } else {
                        Node::Not(Box::new(node))
                    }
                }
            }
        }
        Pred::Cidr { field, cidr } => Node::Pred(Pred::Cidr {
            field: field.clone(),
            cidr: cidr.trim().to_string(),
        }),
    }
}

/// Escape a string so a regular expression matches it literally. Only the characters that
/// are special outside a character class are escaped (`\.+*?()|[]{}^$`), which keeps the echo
/// readable (`/Invoke-WmiMethod/`, not `/Invoke\-WmiMethod/`).
pub fn escape_regex(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if r"\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// True for a value naming a file without any directory.
pub fn is_bare_file_name(s: &str) -> bool {
    !s.is_empty() && !s.contains(['\\', '/'])
}

fn compare(field: &FieldRef, op: CmpOp, value: Value, nocase: bool) -> Node {
    let cmp = |op, value, nocase| {
        Node::Pred(Pred::Compare {
            field: field.clone(),
            op,
            value,
            nocase,
        })
    };
    match value {
        Value::Str(s) => {
            if *field == FieldRef::Column(f::PRODUCT_EVENT_TYPE)
                && op.is_equality()
                && s.trim().eq_ignore_ascii_case("ServiceInstalled")
            {
                let any = Node::Or(vec![
                    cmp(CmpOp::Eq, Value::Str("7045".into()), false),
                    cmp(CmpOp::Eq, Value::Str("4697".into()), false),
                ]);
                return if op == CmpOp::Eq {
                    any
                } else {
                    Node::Not(Box::new(any))
                };
            }
            match semantic(field) {
                Some(Semantic::Path) if op.is_equality() && is_bare_file_name(&s) => {
                    let pattern = format!("{FILE_NAME_PREFIX}{}$", escape_regex(&s));
                    cmp(op, Value::Regex(pattern), true)
                }
                Some(Semantic::Path | Semantic::Hostname | Semantic::User | Semantic::Enum) => {
                    cmp(op, Value::Str(s), true)
                }
                _ => cmp(op, Value::Str(s), nocase),
            }
        }
        Value::Regex(p) => cmp(op, Value::Regex(canonical_regex(&p)), nocase),
        other => cmp(op, other, false),
    }
}

/// Rewrite the regex escape `\/` as `/` (the same pattern), since `/.../` literals cannot hold
/// `\/` verbatim. Other escapes are kept.
pub fn canonical_regex(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('/') => out.push('/'),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_regex_drops_escaped_slashes_only() {
        assert_eq!(canonical_regex(r"a\/b\.c\\/d"), r"a/b\.c\\/d");
        assert_eq!(canonical_regex(r"x\\"), r"x\\");
    }

    #[test]
    fn escaped_literals_match_themselves() {
        for s in [
            r"C:\a.b(c)[d]{e}^f$g|h*i+j?",
            "Invoke-WmiMethod",
            "/node:",
            "a#b&c~d",
        ] {
            let re = regex::Regex::new(&format!("^{}$", escape_regex(s))).expect("valid");
            assert!(re.is_match(s), "{s}");
        }
        assert_eq!(escape_regex("Invoke-WmiMethod"), "Invoke-WmiMethod");
        assert_eq!(escape_regex("cmd.exe"), r"cmd\.exe");
    }

    #[test]
    fn bare_file_names() {
        assert!(is_bare_file_name("cmd.exe"));
        assert!(!is_bare_file_name(r"C:\cmd.exe"));
        assert!(!is_bare_file_name("/bin/sh"));
        assert!(!is_bare_file_name(""));
    }
}
