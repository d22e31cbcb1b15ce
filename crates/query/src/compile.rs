//! Compilation of a core tree into a DataFusion filter [`Expr`].
//!
//! Only expression builders are used (never SQL text), and columns are referenced with
//! [`Column::new_unqualified`] because UDM names contain dots.
//!
//! Semantics by the field's [`Semantic`]:
//! * missing text reads as `""` and missing numbers as `0` (`coalesce`), so `!=`, `NOT` and
//!   `NOT IN` match events lacking the field, as in SecOps;
//! * Enum compares upper-cased; Path, Hostname and User lower-cased; Text, CommandLine and
//!   Ip case-sensitively unless `nocase`;
//! * Hostname: a short value matches the first label of the field; an FQDN value matches the
//!   FQDN or its short form;
//! * User: `DOMAIN\user` and `user@domain` also match the bare user name;
//! * regular expressions that are plain literals (possibly anchored, or the bare-file-name
//!   shape the normaliser writes), alternations of them (`a|b`), and alternations with one
//!   group of literal alternatives (`\.(exe|dll)$`) compile to `contains`/`starts_with`/
//!   `ends_with`/`=` (OR-ed), cheaper to run than a regular expression; everything else to
//!   the `lateral_regex_like` UDF (validated here first), which compiles each pattern once
//!   per process where DataFusion's `regexp_like` compiles it again for every batch.

use std::net::IpAddr;
use std::sync::Arc;

use datafusion::common::{Column, ScalarValue};
use datafusion::functions::expr_fn::{
    coalesce, contains, ends_with, get_field, lower, split_part, starts_with, upper,
};
use datafusion::logical_expr::{not, Expr};
use datafusion::prelude::lit;
use lateral_model::vocab::short_hostname;
use lateral_model::{f, Field, Kind, Semantic};

use crate::ast::{CmpOp, FieldRef, ListKind, Node, Pred, Value};
use crate::cidr::{ip_in_cidr_udf, IpNet};
use crate::error::CompileError;
use crate::lists::Lists;
use crate::normalise::FILE_NAME_PREFIX;
use crate::regex_like::regex_like_udf;

/// Compile a core (normalised) tree.
pub fn compile_node(node: &Node, lists: &Lists) -> Result<Expr, CompileError> {
    match node {
        Node::And(v) => Ok(balanced(compile_all(v, lists)?, Expr::and, true)),
        Node::Or(v) => Ok(balanced(compile_all(v, lists)?, Expr::or, false)),
        Node::Not(n) => Ok(not(compile_node(n, lists)?)),
        Node::Pred(p) => compile_pred(p, lists),
    }
}

fn compile_all(v: &[Node], lists: &Lists) -> Result<Vec<Expr>, CompileError> {
    v.iter().map(|n| compile_node(n, lists)).collect()
}

/// Combine with a balanced tree, so long chains do not make deep expressions.
fn balanced(mut v: Vec<Expr>, op: fn(Expr, Expr) -> Expr, empty: bool) -> Expr {
    match v.len() {
        0 => lit(empty),
        1 => v.swap_remove(0),
        n => {
            let right = v.split_off(n / 2);
            op(balanced(v, op, empty), balanced(right, op, empty))
        }
    }
}

fn column(field: Field) -> Expr {
    Expr::Column(Column::new_unqualified(field.name()))
}

fn ts_lit(micros: i64) -> Expr {
    lit(ScalarValue::TimestampMicrosecond(
        Some(micros),
        Some(Arc::from(lateral_model::batch::UTC)),
    ))
}

fn field_name(field: &FieldRef) -> String {
    match field {
        FieldRef::Column(c) => c.name().to_string(),
        FieldRef::MapKey(k) => format!("additional.fields[\"{k}\"]"),
        FieldRef::EpochSeconds => "metadata.event_timestamp.seconds".to_string(),
    }
}

fn semantic(field: &FieldRef) -> Semantic {
    match field {
        FieldRef::Column(c) => c.def().semantic,
        FieldRef::MapKey(_) => Semantic::Text,
        FieldRef::EpochSeconds => Semantic::Time,
    }
}

fn kind(field: &FieldRef) -> Kind {
    match field {
        FieldRef::Column(c) => c.def().kind,
        FieldRef::MapKey(_) => Kind::Str,
        FieldRef::EpochSeconds => Kind::Timestamp,
    }
}

/// The text of a field, `""` when missing.
fn text(field: &FieldRef) -> Expr {
    let raw = match field {
        FieldRef::Column(c) => column(*c),
        FieldRef::MapKey(k) => get_field(column(f::ADDITIONAL), k.as_str()),
        FieldRef::EpochSeconds => column(f::EVENT_TIMESTAMP),
    };
    coalesce(vec![raw, lit("")])
}

/// How a field's text is case-folded before comparing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fold {
    Exact,
    Lower,
    Upper,
}

fn fold_for(field: &FieldRef, nocase: bool) -> Fold {
    match semantic(field) {
        Semantic::Enum => Fold::Upper,
        Semantic::Path | Semantic::Hostname | Semantic::User => Fold::Lower,
        _ if nocase => Fold::Lower,
        _ => Fold::Exact,
    }
}

fn fold_expr(e: Expr, fold: Fold) -> Expr {
    match fold {
        Fold::Exact => e,
        Fold::Lower => lower(e),
        Fold::Upper => upper(e),
    }
}

fn fold_str(s: &str, fold: Fold) -> String {
    match fold {
        Fold::Exact => s.to_string(),
        Fold::Lower => s.to_lowercase(),
        Fold::Upper => s.to_uppercase(),
    }
}

fn binary(l: Expr, op: CmpOp, r: Expr) -> Expr {
    match op {
        CmpOp::Eq => l.eq(r),
        CmpOp::Ne => l.not_eq(r),
        CmpOp::Lt => l.lt(r),
        CmpOp::Le => l.lt_eq(r),
        CmpOp::Gt => l.gt(r),
        CmpOp::Ge => l.gt_eq(r),
    }
}

fn type_error(field: &FieldRef, value: &str) -> CompileError {
    CompileError::InvalidNumber {
        field: field_name(field),
        value: value.to_string(),
        list: None,
    }
}

fn compile_pred(p: &Pred, lists: &Lists) -> Result<Expr, CompileError> {
    match p {
        Pred::Compare {
            field,
            op,
            value,
            nocase,
        } => compare(field, *op, value, *nocase),
        Pred::InList {
            field,
            list,
            kind,
            nocase,
            ..
        } => in_list(field, list, *kind, *nocase, lists),
        Pred::Cidr { field, cidr } => {
            Ok(ip_in_cidr_udf().call(vec![text(field), lit(cidr.as_str())]))
        }
        // Surface-only forms: compile their normalised meaning.
        Pred::Contains { .. } | Pred::InValues { .. } | Pred::Func { .. } => {
            let core = crate::normalise::normalise(&Node::Pred(p.clone()));
            if matches!(&core, Node::Pred(q) if q == p) {
                // Cannot happen (normalising removes these forms); avoid recursing forever.
                Ok(lit(false))
            } else {
                compile_node(&core, lists)
            }
        }
    }
}

fn compare(field: &FieldRef, op: CmpOp, value: &Value, nocase: bool) -> Result<Expr, CompileError> {
    match value {
        Value::Str(s) => {
            if kind(field) != Kind::Str {
                return Err(type_error(field, s));
            }
            if op == CmpOp::Eq && !s.is_empty() && fold_for(field, nocase) == Fold::Exact {
                if let FieldRef::Column(c) = field {
                    // `coalesce(c, '') = 'v'` with `v` not empty, written so that Parquet
                    // statistics and bloom filters can skip row groups (a function around
                    // the column hides it from pruning). Same truth value under NOT: a
                    // missing field gives false, never null.
                    let c = column(*c);
                    return Ok(c.clone().is_not_null().and(c.eq(lit(s.clone()))));
                }
            }
            let x = text(field);
            if op.is_equality() {
                let eq = str_eq(field, x, s, nocase);
                Ok(if op == CmpOp::Eq { eq } else { not(eq) })
            } else {
                let fold = fold_for(field, nocase);
                Ok(binary(fold_expr(x, fold), op, lit(fold_str(s, fold))))
            }
        }
        Value::Regex(p) => {
            if kind(field) != Kind::Str {
                return Err(type_error(field, p));
            }
            let m = regex_match(text(field), p, nocase, None)?;
            Ok(if op == CmpOp::Ne { not(m) } else { m })
        }
        Value::Int(n) => match field {
            FieldRef::EpochSeconds => epoch_seconds(op, *n),
            FieldRef::Column(c) if c.def().kind == Kind::Int => {
                Ok(binary(coalesce(vec![column(*c), lit(0i64)]), op, lit(*n)))
            }
            _ => Err(type_error(field, &n.to_string())),
        },
        Value::Bool(b) => match field {
            FieldRef::Column(c) if c.def().kind == Kind::Bool => {
                Ok(binary(coalesce(vec![column(*c), lit(false)]), op, lit(*b)))
            }
            _ => Err(type_error(field, &b.to_string())),
        },
        Value::Time(m) => match field {
            FieldRef::Column(c) if c.def().kind == Kind::Timestamp => {
                Ok(binary(column(*c), op, ts_lit(*m)))
            }
            _ => Err(type_error(field, &m.to_string())),
        },
    }
}

/// `metadata.event_timestamp.seconds op n`: compares the whole second holding the event time.
fn epoch_seconds(op: CmpOp, n: i64) -> Result<Expr, CompileError> {
    let out_of_range = || CompileError::OutOfRange {
        field: "metadata.event_timestamp.seconds".into(),
        value: n.to_string(),
    };
    let lo = n.checked_mul(1_000_000).ok_or_else(out_of_range)?;
    let hi = lo.checked_add(1_000_000).ok_or_else(out_of_range)?;
    let t = || column(f::EVENT_TIMESTAMP);
    let within = || t().gt_eq(ts_lit(lo)).and(t().lt(ts_lit(hi)));
    Ok(match op {
        CmpOp::Eq => within(),
        CmpOp::Ne => not(within()),
        CmpOp::Lt => t().lt(ts_lit(lo)),
        CmpOp::Le => t().lt(ts_lit(hi)),
        CmpOp::Gt => t().gt_eq(ts_lit(hi)),
        CmpOp::Ge => t().gt_eq(ts_lit(lo)),
    })
}

/// Equality of a text field with a string, by the field's semantic.
fn str_eq(field: &FieldRef, x: Expr, s: &str, nocase: bool) -> Expr {
    match semantic(field) {
        Semantic::Hostname => hostname_eq(x, s),
        Semantic::User => {
            let values = user_values(s);
            let lx = lower(x);
            if values.len() == 1 {
                lx.eq(lit(values[0].clone()))
            } else {
                lx.in_list(values.into_iter().map(lit).collect(), false)
            }
        }
        _ => {
            let fold = fold_for(field, nocase);
            fold_expr(x, fold).eq(lit(fold_str(s, fold)))
        }
    }
}

/// A host name value, lower-cased, without leading `\\`.
fn host_value(s: &str) -> String {
    s.trim().trim_start_matches('\\').to_lowercase()
}

/// Whether a host value is matched by its first label (a short name, not an address).
fn is_short_host(v: &str) -> bool {
    !v.is_empty() && !v.contains('.') && v.parse::<IpAddr>().is_err()
}

fn first_label(x: Expr) -> Expr {
    split_part(lower(x), lit("."), lit(1i64))
}

fn hostname_eq(x: Expr, s: &str) -> Expr {
    let v = host_value(s);
    if is_short_host(&v) {
        return first_label(x).eq(lit(v));
    }
    if v.is_empty() || v.parse::<IpAddr>().is_ok() {
        return lower(x).eq(lit(v));
    }
    let short = short_hostname(&v);
    let lx = lower(x);
    if short == v || short.is_empty() {
        lx.eq(lit(v))
    } else {
        lx.clone().eq(lit(v)).or(lx.eq(lit(short)))
    }
}

/// The lower-cased values a user value matches: the user part of `DOMAIN\user` or
/// `user@domain`, and the value as written.
fn user_values(s: &str) -> Vec<String> {
    let full = s.trim().to_lowercase();
    let user = if let Some((_, u)) = full.rsplit_once('\\') {
        u
    } else if let Some((u, _)) = full.split_once('@') {
        u
    } else {
        full.as_str()
    };
    let mut out = Vec::with_capacity(2);
    if !user.is_empty() {
        out.push(user.to_string());
    }
    if user != full || out.is_empty() {
        out.push(full.clone());
    }
    out
}

/// A piece of a regular expression that is a plain literal.
enum Piece {
    Lit(char),
    Caret,
    Dollar,
}

/// Characters whose escape (`\c`) means the character itself.
const LITERAL_ESCAPES: &str = r"\.+*?()|[]{}^$#&-~/";

/// Split a pattern into literal characters and anchors; `None` if it uses any other regex
/// syntax.
fn pieces(p: &str) -> Option<Vec<Piece>> {
    let mut out = Vec::with_capacity(p.len());
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            '\\' => {
                let n = chars.next()?;
                if !LITERAL_ESCAPES.contains(n) {
                    return None;
                }
                Piece::Lit(n)
            }
            '^' => Piece::Caret,
            '$' => Piece::Dollar,
            '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' => return None,
            c => Piece::Lit(c),
        });
    }
    Some(out)
}

/// The shapes of regular expression that compile to literal tests (no regular expression).
#[derive(Debug, PartialEq, Eq)]
enum Shape {
    Contains(String),
    Equals(String),
    StartsWith(String),
    EndsWith(String),
    /// `(^|[\\/])name$`: the file-name part of a path.
    FileName(String),
}

fn literal(pieces: &[Piece]) -> Option<String> {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Lit(c) => Some(*c),
            _ => None,
        })
        .collect()
}

fn shape(p: &str) -> Option<Shape> {
    if let Some(rest) = p.strip_prefix(FILE_NAME_PREFIX) {
        let ps = pieces(rest)?;
        let (last, body) = ps.split_last()?;
        let name = literal(body)?;
        return (matches!(last, Piece::Dollar) && super::normalise::is_bare_file_name(&name))
            .then_some(Shape::FileName(name));
    }
    let ps = pieces(p)?;
    let (start, ps) = match ps.split_first() {
        Some((Piece::Caret, rest)) => (true, rest),
        _ => (false, &ps[..]),
    };
    let (end, ps) = match ps.split_last() {
        Some((Piece::Dollar, rest)) => (true, rest),
        _ => (false, ps),
    };
    let lit = literal(ps)?;
    Some(match (start, end) {
        (true, true) => Shape::Equals(lit),
        (true, false) => Shape::StartsWith(lit),
        (false, true) => Shape::EndsWith(lit),
        (false, false) => Shape::Contains(lit),
    })
}

/// Most branches a pattern may expand to and still be compiled as literal tests.
const MAX_SHAPES: usize = 32;

/// Split `p` at its top-level `|` (outside groups and classes); `None` on unbalanced
/// parentheses (the regex parser has the last word on those).
fn top_level_branches(p: &str) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    let (mut depth, mut class, mut start) = (0usize, false, 0usize);
    let mut it = p.char_indices();
    while let Some((i, c)) = it.next() {
        match c {
            '\\' => {
                it.next();
            }
            '[' if !class => class = true,
            ']' if class => class = false,
            '(' if !class => depth += 1,
            ')' if !class => depth = depth.checked_sub(1)?,
            '|' if !class && depth == 0 => {
                out.push(&p[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    (depth == 0 && !class).then(|| {
        out.push(&p[start..]);
        out
    })
}

/// `pre(a|b|c)post`, with one group (capturing or `(?:`) of alternatives free of any other
/// syntax and no quantifier after it, as the branches `pre a post`, `pre b post`, ...
fn expand_group(branch: &str) -> Option<Vec<String>> {
    let open = branch.find('(')?;
    // The `(` must be unescaped: an odd run of backslashes before it escapes it.
    let escapes = branch[..open]
        .chars()
        .rev()
        .take_while(|c| *c == '\\')
        .count();
    if escapes % 2 == 1 {
        return None;
    }
    let body_start = if branch[open..].starts_with("(?:") {
        open + 3
    } else if branch[open..].starts_with("(?") {
        return None;
    } else {
        open + 1
    };
    // The group's end: the first unescaped `)` (the body may hold no nested group).
    let mut close = None;
    let mut it = branch[body_start..].char_indices();
    while let Some((i, c)) = it.next() {
        match c {
            '\\' => {
                it.next();
            }
            ')' => {
                close = Some(body_start + i);
                break;
            }
            _ => {}
        }
    }
    let close = close?;
    let (pre, body, post) = (
        &branch[..open],
        &branch[body_start..close],
        &branch[close + 1..],
    );
    if post.starts_with(['?', '*', '+', '{']) || body.contains(['(', '[']) {
        return None;
    }
    let alternatives = top_level_branches(body)?;
    Some(
        alternatives
            .into_iter()
            .map(|a| format!("{pre}{a}{post}"))
            .collect(),
    )
}

/// The literal tests `p` amounts to, OR-ed: one per branch of a top-level alternation, a
/// branch holding one group of alternatives giving one per alternative. `None` when any
/// branch needs a real regular expression.
fn shapes(p: &str) -> Option<Vec<Shape>> {
    let mut out = Vec::new();
    for branch in top_level_branches(p)? {
        if let Some(s) = shape(branch) {
            out.push(s);
            continue;
        }
        for expanded in expand_group(branch)? {
            out.push(shape(&expanded)?);
        }
    }
    (out.len() <= MAX_SHAPES).then_some(out)
}

/// The pattern is parsed (syntax, classes, flags: every error a user can write), not compiled:
/// compiling is `lateral_regex_like`'s job when the expression is evaluated, and doing it here
/// as well cost a hunt about 8 ms of its pack's load. What parsing cannot see is a pattern
/// past the compiled-size limit (say `(a{1000}){1000}`): that query fails when it runs, with
/// a message naming the pattern ("the regular expression /.../ did not compile: ...").
fn validate_regex(p: &str, nocase: bool, list: Option<&str>) -> Result<(), CompileError> {
    regex_syntax::ParserBuilder::new()
        .case_insensitive(nocase)
        .build()
        .parse(p)
        .map(|_| ())
        .map_err(|e| CompileError::InvalidRegex {
            pattern: p.to_string(),
            message: e.to_string(),
            list: list.map(str::to_string),
        })
}

/// `x` matches the regular expression `p` somewhere (substring semantics, RE2 syntax).
fn regex_match(x: Expr, p: &str, nocase: bool, list: Option<&str>) -> Result<Expr, CompileError> {
    validate_regex(p, nocase, list)?;
    let fold = if nocase { Fold::Lower } else { Fold::Exact };
    let Some(shapes) = shapes(p) else {
        let flags = if nocase { "i" } else { "" };
        return Ok(regex_like_udf().call(vec![x, lit(p), lit(flags)]));
    };
    let x = fold_expr(x, fold);
    let test = |shape: Shape| match shape {
        Shape::Contains(l) => contains(x.clone(), lit(fold_str(&l, fold))),
        Shape::Equals(l) => x.clone().eq(lit(fold_str(&l, fold))),
        Shape::StartsWith(l) => starts_with(x.clone(), lit(fold_str(&l, fold))),
        Shape::EndsWith(l) => ends_with(x.clone(), lit(fold_str(&l, fold))),
        Shape::FileName(l) => {
            let v = fold_str(&l, fold);
            x.clone()
                .eq(lit(v.clone()))
                .or(ends_with(x.clone(), lit(format!("\\{v}"))))
                .or(ends_with(x.clone(), lit(format!("/{v}"))))
        }
    };
    Ok(shapes
        .into_iter()
        .map(test)
        .reduce(Expr::or)
        .unwrap_or_else(|| lit(false)))
}

/// The file-name part of a path: after the last `\` or `/`.
fn base_name(x: Expr) -> Expr {
    split_part(split_part(x, lit("\\"), lit(-1i64)), lit("/"), lit(-1i64))
}

fn in_set(x: Expr, mut values: Vec<String>) -> Option<Expr> {
    values.sort();
    values.dedup();
    match values.len() {
        0 => None,
        1 => Some(x.eq(lit(values.swap_remove(0)))),
        _ => Some(x.in_list(values.into_iter().map(lit).collect(), false)),
    }
}

fn any_of(parts: Vec<Option<Expr>>) -> Expr {
    balanced(parts.into_iter().flatten().collect(), Expr::or, false)
}

fn in_list(
    field: &FieldRef,
    name: &str,
    kind: ListKind,
    nocase: bool,
    lists: &Lists,
) -> Result<Expr, CompileError> {
    let Some(values) = lists.get(name) else {
        return Err(CompileError::UnknownList {
            name: name.to_string(),
            known: lists.names(),
        });
    };
    let not_applicable = |reason: &str| CompileError::ListNotApplicable {
        list: name.to_string(),
        field: field_name(field),
        reason: reason.to_string(),
    };
    match kind {
        ListKind::Regex => {
            if self::kind(field) != Kind::Str {
                return Err(not_applicable("regex lists apply to text fields"));
            }
            if values.is_empty() {
                return Ok(lit(false));
            }
            for p in values {
                validate_regex(p, nocase, Some(name))?;
            }
            let combined = values
                .iter()
                .map(|p| format!("(?:{p})"))
                .collect::<Vec<_>>()
                .join("|");
            regex_match(text(field), &combined, nocase, Some(name))
        }
        ListKind::Cidr => {
            if self::kind(field) != Kind::Str {
                return Err(not_applicable("cidr lists apply to address fields"));
            }
            if values.is_empty() {
                return Ok(lit(false));
            }
            let mut args = vec![text(field)];
            for v in values {
                if IpNet::parse(v).is_none() {
                    return Err(CompileError::InvalidCidr {
                        value: v.clone(),
                        list: name.to_string(),
                    });
                }
                args.push(lit(v.trim()));
            }
            Ok(ip_in_cidr_udf().call(args))
        }
        ListKind::Plain => plain_list(field, name, values, nocase, not_applicable),
    }
}

fn plain_list(
    field: &FieldRef,
    name: &str,
    values: &[String],
    nocase: bool,
    not_applicable: impl Fn(&str) -> CompileError,
) -> Result<Expr, CompileError> {
    match kind(field) {
        Kind::Int => {
            let FieldRef::Column(c) = field else {
                return Err(not_applicable("not a number column"));
            };
            let mut nums = Vec::with_capacity(values.len());
            for v in values {
                nums.push(lateral_model::event::parse_int(v).ok_or_else(|| {
                    CompileError::InvalidNumber {
                        field: c.name().to_string(),
                        value: v.clone(),
                        list: Some(name.to_string()),
                    }
                })?);
            }
            nums.sort_unstable();
            nums.dedup();
            let x = coalesce(vec![column(*c), lit(0i64)]);
            Ok(if nums.is_empty() {
                lit(false)
            } else {
                x.in_list(nums.into_iter().map(lit).collect(), false)
            })
        }
        Kind::Bool => {
            let FieldRef::Column(c) = field else {
                return Err(not_applicable("not a flag column"));
            };
            let mut flags = Vec::new();
            for v in values {
                match v.trim().to_ascii_lowercase().as_str() {
                    "true" => flags.push(true),
                    "false" => flags.push(false),
                    _ => return Err(not_applicable(&format!("\"{v}\" is not true or false"))),
                }
            }
            flags.sort_unstable();
            flags.dedup();
            let x = coalesce(vec![column(*c), lit(false)]);
            Ok(if flags.is_empty() {
                lit(false)
            } else {
                x.in_list(flags.into_iter().map(lit).collect(), false)
            })
        }
        Kind::Timestamp | Kind::Map => {
            Err(not_applicable("lists apply to text, numbers and flags"))
        }
        Kind::Str => {
            let x = text(field);
            Ok(match semantic(field) {
                Semantic::Hostname => {
                    let (mut exact, mut short) = (Vec::new(), Vec::new());
                    for v in values.iter().map(|v| host_value(v)) {
                        if is_short_host(&v) {
                            short.push(v);
                        } else {
                            let s = short_hostname(&v);
                            if !s.is_empty() && v.parse::<IpAddr>().is_err() {
                                exact.push(s);
                            }
                            exact.push(v);
                        }
                    }
                    any_of(vec![
                        in_set(lower(x.clone()), exact),
                        in_set(first_label(x), short),
                    ])
                }
                Semantic::User => in_set(
                    lower(x),
                    values.iter().flat_map(|v| user_values(v)).collect(),
                )
                .unwrap_or_else(|| lit(false)),
                Semantic::Path => {
                    let (mut full, mut bare) = (Vec::new(), Vec::new());
                    for v in values {
                        let v = v.to_lowercase();
                        if super::normalise::is_bare_file_name(&v) {
                            bare.push(v);
                        } else {
                            full.push(v);
                        }
                    }
                    any_of(vec![
                        in_set(lower(x.clone()), full),
                        in_set(base_name(lower(x)), bare),
                    ])
                }
                _ => {
                    let fold = fold_for(field, nocase);
                    in_set(
                        fold_expr(x, fold),
                        values.iter().map(|v| fold_str(v, fold)).collect(),
                    )
                    .unwrap_or_else(|| lit(false))
                }
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_shapes_are_recognised() {
        assert_eq!(
            shape(r"PSEXESVC\.exe"),
            Some(Shape::Contains("PSEXESVC.exe".into()))
        );
        assert_eq!(shape(r"^a\-b$"), Some(Shape::Equals("a-b".into())));
        assert_eq!(shape("^ab"), Some(Shape::StartsWith("ab".into())));
        assert_eq!(shape("ab$"), Some(Shape::EndsWith("ab".into())));
        assert_eq!(
            shape(r"(^|[\\/])cmd\.exe$"),
            Some(Shape::FileName("cmd.exe".into()))
        );
        assert_eq!(shape(r"a.b"), None);
        assert_eq!(shape(r"\d+"), None);
        assert_eq!(shape(r"a\<b"), None);
        assert_eq!(shape(r"a^b"), None);
        assert_eq!(shape(r"(^|[\\/])c.d$"), None);
        assert_eq!(shape(""), Some(Shape::Contains(String::new())));
    }

    #[test]
    fn literal_alternations_are_recognised() {
        assert_eq!(
            shapes(r"RemCom_|^PAExec|csexec$"),
            Some(vec![
                Shape::Contains("RemCom_".into()),
                Shape::StartsWith("PAExec".into()),
                Shape::EndsWith("csexec".into()),
            ])
        );
        assert_eq!(
            shapes(r"\.(exe|dll)$"),
            Some(vec![
                Shape::EndsWith(".exe".into()),
                Shape::EndsWith(".dll".into())
            ])
        );
        assert_eq!(
            shapes(r"(^|\\)PSEXESVC$|(?:a\|b|c)"),
            Some(vec![
                Shape::Equals("PSEXESVC".into()),
                Shape::EndsWith("\\PSEXESVC".into()),
                Shape::Contains("a|b".into()),
                Shape::Contains("c".into()),
            ])
        );
        // Anything else stays a regular expression.
        assert_eq!(shapes(r"cmd(\.exe)?"), None);
        assert_eq!(shapes(r"(a|b)(c|d)"), None);
        assert_eq!(
            shapes(r"\(a|b\)"),
            Some(vec![
                Shape::Contains("(a".into()),
                Shape::Contains("b)".into())
            ])
        );
        assert_eq!(
            shapes(r"(x\)y|z)"),
            Some(vec![
                Shape::Contains("x)y".into()),
                Shape::Contains("z".into())
            ])
        );
        assert_eq!(shapes(r"(?i:a|b)"), None);
        assert_eq!(shapes(r"(a|[bc])"), None);
        assert_eq!(shapes(r"a|b.c"), None);
        assert_eq!(shapes(r"(a|b"), None);
        assert_eq!(shapes(r"a)|b"), None);
        let many = (0..40)
            .map(|i| format!("x{i}"))
            .collect::<Vec<_>>()
            .join("|");
        assert_eq!(shapes(&many), None);
    }

    #[test]
    fn user_values_take_the_user_part() {
        assert_eq!(
            user_values(r"THESHIRE\Alice"),
            vec!["alice", r"theshire\alice"]
        );
        assert_eq!(
            user_values("alice@theshire.local"),
            vec!["alice", "alice@theshire.local"]
        );
        assert_eq!(user_values("Alice"), vec!["alice"]);
        assert_eq!(user_values(r"DOMAIN\"), vec![r"domain\"]);
    }
}
