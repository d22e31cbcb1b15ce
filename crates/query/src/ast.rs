//! The syntax tree of a query.
//!
//! The parser produces the *surface* tree, which keeps runbook-dialect forms (`CONTAINS`,
//! `IN (...)`, `@list`, function calls). [`crate::normalise`] rewrites it into the *core*
//! tree, which only uses forms real UDM search has: `And`, `Or`, `Not`, [`Pred::Compare`],
//! [`Pred::InList`] with `%` lists and [`Pred::Cidr`]. Echo and compilation work on the core
//! tree, so the text shown to the user and the filter that runs cannot disagree.

use lateral_model::{f, Field};

/// Comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// `=` or `!=`.
    pub fn is_equality(self) -> bool {
        matches!(self, CmpOp::Eq | CmpOp::Ne)
    }
}

/// What a condition looks at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldRef {
    /// A column of the event table.
    Column(Field),
    /// A key of `additional.fields` (`additional.fields["LogonType"]`).
    MapKey(String),
    /// `metadata.event_timestamp.seconds`: the event time as epoch seconds.
    EpochSeconds,
}

impl FieldRef {
    /// The column this reference reads.
    pub fn field(&self) -> Field {
        match self {
            FieldRef::Column(f) => *f,
            FieldRef::MapKey(_) => f::ADDITIONAL,
            FieldRef::EpochSeconds => f::EVENT_TIMESTAMP,
        }
    }
}

/// A literal value, already typed for the field it is compared with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    /// A regular expression (RE2 syntax, substring match).
    Regex(String),
    /// A point in time, microseconds since the Unix epoch (UTC).
    Time(i64),
}

/// How a reference list is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListKind {
    /// `field in %list`: equality with any value.
    Plain,
    /// `field in regex %list`: any pattern matches.
    Regex,
    /// `field in cidr %list`: the address is in any range.
    Cidr,
}

/// Functions usable as conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Func {
    /// `re.regex(field, "re")`.
    ReRegex,
    /// `strings.contains(field, "x")`.
    StringsContains,
    /// `net.ip_in_range_cidr(field, "10.0.0.0/8")`.
    IpInRangeCidr,
}

impl Func {
    pub fn name(self) -> &'static str {
        match self {
            Func::ReRegex => "re.regex",
            Func::StringsContains => "strings.contains",
            Func::IpInRangeCidr => "net.ip_in_range_cidr",
        }
    }

    pub fn by_name(name: &str) -> Option<Func> {
        [Func::ReRegex, Func::StringsContains, Func::IpInRangeCidr]
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }
}

/// One condition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Pred {
    /// `field op value [nocase]`.
    Compare {
        field: FieldRef,
        op: CmpOp,
        value: Value,
        nocase: bool,
    },
    /// Runbook dialect: `field CONTAINS "v"` (always case-insensitive).
    Contains { field: FieldRef, value: String },
    /// Runbook dialect: `field IN ("a", "b") [nocase]` (`NOT IN` is `Not` around it).
    InValues {
        field: FieldRef,
        values: Vec<Value>,
        nocase: bool,
    },
    /// `field in [regex|cidr] %list [nocase]`; `at` is true for the runbook form `@list`.
    InList {
        field: FieldRef,
        list: String,
        kind: ListKind,
        nocase: bool,
        at: bool,
    },
    /// `re.regex(...)` or `strings.contains(...)`, optionally `= false`.
    Func {
        func: Func,
        field: FieldRef,
        arg: String,
        nocase: bool,
        expect: bool,
    },
    /// `net.ip_in_range_cidr(field, "cidr")` (the range is validated by the parser).
    Cidr { field: FieldRef, cidr: String },
}

impl Pred {
    pub fn field(&self) -> &FieldRef {
        match self {
            Pred::Compare { field, .. }
            | Pred::Contains { field, .. }
            | Pred::InValues { field, .. }
            | Pred::InList { field, .. }
            | Pred::Func { field, .. }
            | Pred::Cidr { field, .. } => field,
        }
    }
}

/// A boolean combination of conditions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Pred(Pred),
}

impl Node {
    /// Visit every condition.
    pub fn for_each_pred(&self, visit: &mut dyn FnMut(&Pred)) {
        match self {
            Node::And(v) | Node::Or(v) => v.iter().for_each(|n| n.for_each_pred(visit)),
            Node::Not(n) => n.for_each_pred(visit),
            Node::Pred(p) => visit(p),
        }
    }
}
