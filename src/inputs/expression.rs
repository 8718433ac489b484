//! Control expressions of PopulationSim projects: the `expression` column of `controls.csv`, a
//! pandas expression over a table alias (`(persons.AGEP >= 18) & ~persons.ESR.isin([3, 6])`),
//! parsed once ([`Expression::parse`]) and evaluated row by row ([`Expression::evaluate`]) the
//! way pandas and numpy evaluate it element by element.
//!
//! Supported, with Python's precedence: `or`, `and`, `not`; chained comparisons
//! `== != < <= > >=`; `|`, `&`; `+ -`; `* / // %`; unary `- + ~`; `**`; columns
//! (`households.NP`, `households["NP"]`, bare `NP`); numbers, strings, `True`, `False`, `None`,
//! `inf`, `nan`, `np.inf`, `np.nan`; the methods `.isna()`, `.isnull()`, `.notna()`,
//! `.notnull()`, `.isin([…])`, `.between(a, b)`, `.fillna(v)`, `.astype(int|float|bool|str)`,
//! `.abs()`; the functions `np.where`, `np.abs`, `abs`, `np.minimum`, `np.maximum`, `np.floor`,
//! `np.ceil`, `np.isnan`. Anything else is refused when parsed, by name.
//!
//! Where it departs from pandas, it refuses rather than guesses: `&`, `|`, `~`, `and`, `or` and
//! `not` take conditions only (pandas would do bitwise arithmetic on integers, the classic
//! trap of `a >= 4 & b == 1`) and refuse a missing value; `^` is refused; text takes no
//! arithmetic (pandas would concatenate or repeat it). Numbers are `f64` throughout, so an
//! integer column behaves as a float one (`2 ** -1` is `0.5`, not an error), NaN is
//! [`Value::Missing`], and `np.where` takes a missing condition as false.

use std::borrow::Cow;
use std::cmp::Ordering;

/// How deeply brackets, calls, method chains and unary operators may nest; deeper is a parse
/// error, so that neither parsing nor evaluation can exhaust the stack.
const MAX_DEPTH: usize = 200;

/// Expressions up to this many characters are quoted whole in messages; longer ones around the
/// fault.
const QUOTE_WHOLE: usize = 120;

/// The functions and constants a message lists as supported.
const FUNCTIONS: &str = "np.where, np.abs, abs, np.minimum, np.maximum, np.floor, np.ceil, np.isnan, np.inf, np.nan";

/// The methods a message lists as supported.
const METHODS: &str =
    ".isna(), .isnull(), .notna(), .notnull(), .isin([...]), .between(a, b), .fillna(v), .astype(int|float|bool|str), .abs()";

/// Attributes of a pandas Series that `COLUMN.ATTR` may mean (refused as methods, rather than
/// taking `COLUMN` for an unknown table).
const PANDAS_ATTRIBUTES: [&str; 16] = [
    "str", "dt", "cat", "values", "array", "loc", "iloc", "at", "iat", "index", "shape", "size", "dtype", "sparse",
    "name", "plot",
];

/// One field's value as an expression sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value<'a> {
    /// A number (integers too); a NaN is taken as [`Value::Missing`].
    Number(f64),
    /// A condition's outcome, or a boolean field.
    Bool(bool),
    /// Text.
    Text(&'a str),
    /// A missing value (pandas' NaN or None).
    Missing,
}

/// A parsed control expression: its tree, its source text, and the tables and columns it uses.
#[derive(Debug, Clone)]
pub(crate) struct Expression {
    /// The source text.
    text: String,
    /// Columns referenced, in first-use order, without their table prefix.
    columns: Vec<String>,
    /// The parsed tree.
    root: Node,
}

impl Expression {
    /// Parses `text`. `tables` are the aliases that may prefix a column (`households`, `persons`);
    /// a bare name that is not `np`, `True`, `False`, `None`, `inf`, `nan` is a column of the
    /// row's own table.
    ///
    /// # Errors
    /// A message quoting the expression and pointing at the offending token by its 1-based
    /// character position (`unexpected ")" at character 8 of "(a > 1))"`); an unsupported
    /// pandas or numpy feature is named with the supported ones listed.
    pub fn parse(text: &str, tables: &[&str]) -> Result<Expression, String> {
        let tokens = lex(text)?;
        let mut parser = Parser { text, tokens, pos: 0, depth: 0, tables, columns: Vec::new() };
        if matches!(parser.peek().tok, Tok::End) {
            return Err(format!("the expression {} is empty", quote(text, 0)));
        }
        let root = parser.parse_expr()?;
        let rest = parser.next();
        if !matches!(rest.tok, Tok::End) {
            return Err(parser.unexpected(&rest));
        }
        Ok(Expression { text: text.to_string(), columns: parser.columns, root })
    }

    /// The source text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The columns referenced, in first-use order, without their table prefix (deduplicated).
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Evaluates for one row: `field(i)` is the value of `columns()[i]` in this row.
    ///
    /// # Errors
    /// When pandas would fail or silently do something else (a number or missing value given
    /// to `&`, text ordered against a number, …), a message naming the operator, its position
    /// and the value at fault; also when the result is text the expression made itself (a
    /// literal or `.astype(str)`), which a [`Value`] borrowed from the row cannot hold.
    pub fn evaluate<'a>(&self, field: &dyn Fn(usize) -> Value<'a>) -> Result<Value<'a>, String> {
        match self.eval(&self.root, field)? {
            Val::Number(x) => Ok(Value::Number(x)),
            Val::Bool(b) => Ok(Value::Bool(b)),
            Val::Field(s) => Ok(Value::Text(s)),
            Val::Missing => Ok(Value::Missing),
            Val::Text(s) => Err(format!(
                "{} gives the text \"{}\"; a control expression must give a number or a condition",
                quote(&self.text, 0),
                escape(&s)
            )),
        }
    }

    /// Evaluates `node` for the row `field` gives.
    fn eval<'a, 'e>(&'e self, node: &'e Node, field: &dyn Fn(usize) -> Value<'a>) -> Result<Val<'a, 'e>, String> {
        match &node.kind {
            Kind::Const(c) => Ok(match c {
                Const::Number(x) => Val::number(*x),
                Const::Bool(b) => Val::Bool(*b),
                Const::Text(s) => Val::Text(Cow::Borrowed(s)),
                Const::Missing => Val::Missing,
            }),
            Kind::Column(i) => Ok(match field(*i) {
                Value::Number(x) => Val::number(x),
                Value::Bool(b) => Val::Bool(b),
                Value::Text(s) => Val::Field(s),
                Value::Missing => Val::Missing,
            }),
            Kind::Chain(first, links) => {
                let mut acc = self.eval(first, field)?;
                let mut left = Span { start: first.start, end: first.end };
                for link in links {
                    let right = self.eval(&link.node, field)?;
                    acc = self.binary(link, left, acc, right)?;
                    left.end = link.node.end;
                }
                Ok(acc)
            }
            Kind::Compare(first, links) => {
                let mut left = self.eval(first, field)?;
                let mut all = true;
                for link in links {
                    let right = self.eval(&link.node, field)?;
                    all &= self.compare(link.op, link.at, &left, &right)?;
                    left = right;
                }
                Ok(Val::Bool(all))
            }
            Kind::Unary(op, at, operand) => {
                let value = self.eval(operand, field)?;
                self.unary(*op, *at, operand.span(), value)
            }
            Kind::Call(func, at, args) => self.call(*func, *at, args, field),
        }
    }

    /// `left op right` of one link of a chain; `left_span` is where the left side is written.
    fn binary<'a, 'e>(
        &self,
        link: &Link<Op>,
        left_span: Span,
        left: Val<'a, 'e>,
        right: Val<'a, 'e>,
    ) -> Result<Val<'a, 'e>, String> {
        let at = link.at;
        let logic = |and: bool| -> Result<Val<'a, 'e>, String> {
            let l = self.condition(at, Side::Left, left_span, &left)?;
            let r = self.condition(at, Side::Right, link.node.span(), &right)?;
            Ok(Val::Bool(if and { l && r } else { l || r }))
        };
        let (x, y) = match link.op {
            Op::And | Op::BitAnd => return logic(true),
            Op::Or | Op::BitOr => return logic(false),
            _ => (self.arithmetic_operand(at, &left)?, self.arithmetic_operand(at, &right)?),
        };
        let (Some(x), Some(y)) = (x, y) else { return Ok(Val::Missing) };
        Ok(Val::number(match link.op {
            Op::Add => x + y,
            Op::Sub => x - y,
            Op::Mul => x * y,
            Op::Div => x / y,
            Op::FloorDiv => floor_divide(x, y),
            Op::Mod => remainder(x, y),
            Op::Pow => x.powf(y),
            Op::And | Op::Or | Op::BitAnd | Op::BitOr => f64::NAN,
        }))
    }

    /// A unary operator applied to `value`, written at `operand`.
    fn unary<'a, 'e>(&self, op: Unary, at: Span, operand: Span, value: Val<'a, 'e>) -> Result<Val<'a, 'e>, String> {
        match op {
            Unary::Neg | Unary::Pos => Ok(match self.arithmetic_operand(at, &value)? {
                Some(x) if op == Unary::Neg => Val::number(-x),
                Some(x) => Val::number(x),
                None => Val::Missing,
            }),
            Unary::Invert | Unary::Not => Ok(Val::Bool(!self.condition(at, Side::Operand, operand, &value)?)),
        }
    }

    /// The truth of an operand of `&`, `|`, `~`, `and`, `or` or `not` (the operator at `at`);
    /// anything but a condition is refused with advice.
    fn condition(&self, at: Span, side: Side, operand: Span, value: &Val) -> Result<bool, String> {
        let whose = match side {
            Side::Left => "its left side",
            Side::Right => "its right side",
            Side::Operand => "its operand",
        };
        match value {
            Val::Bool(b) => Ok(*b),
            Val::Missing => {
                let written = self.snippet(operand);
                let fill = if written.chars().all(|c| c.is_alphanumeric() || "_.[]'\"".contains(c)) {
                    format!("{written}.fillna(False)")
                } else {
                    format!("({written}).fillna(False)")
                };
                Err(self.fault(
                    at,
                    format!(
                        "{whose}, {written}, is missing in this row; fill it first, e.g. {fill}, or test it with .isna()"
                    ),
                ))
            }
            other => {
                let symbol = self.slice(at);
                let advice = match symbol {
                    "&" | "|" => format!(
                        "`{symbol}` combines conditions; put each comparison in parentheses, e.g. (a >= 4) {symbol} (b == 1)"
                    ),
                    "~" => "`~` negates a condition, e.g. ~(a == 1)".to_string(),
                    "not" => "`not` negates a condition, e.g. not a == 1".to_string(),
                    _ => format!("`{symbol}` combines conditions, e.g. a >= 4 {symbol} b == 1"),
                };
                Err(self
                    .fault(at, format!("{whose} is {}, not a condition (True or False); {advice}", describe(other))))
            }
        }
    }

    /// An operand of arithmetic as a number (`True` is 1); `None` when it is missing.
    fn arithmetic_operand(&self, at: Span, value: &Val) -> Result<Option<f64>, String> {
        match value {
            Val::Number(x) => Ok(Some(*x)),
            Val::Bool(b) => Ok(Some(f64::from(u8::from(*b)))),
            Val::Missing => Ok(None),
            Val::Field(_) | Val::Text(_) => {
                Err(self.fault(at, format!("cannot do arithmetic with {} (is the column numeric?)", describe(value))))
            }
        }
    }

    /// `left op right` for one comparison; missing values compare false (but `!=` true).
    fn compare(&self, op: Cmp, at: Span, left: &Val, right: &Val) -> Result<bool, String> {
        if matches!(left, Val::Missing) || matches!(right, Val::Missing) {
            return Ok(op == Cmp::Ne);
        }
        Ok(match op {
            Cmp::Eq => equal(left, right),
            Cmp::Ne => !equal(left, right),
            Cmp::Lt => self.order(at, left, right)? == Some(Ordering::Less),
            Cmp::Le => matches!(self.order(at, left, right)?, Some(Ordering::Less | Ordering::Equal)),
            Cmp::Gt => self.order(at, left, right)? == Some(Ordering::Greater),
            Cmp::Ge => matches!(self.order(at, left, right)?, Some(Ordering::Greater | Ordering::Equal)),
        })
    }

    /// How two present values order: numbers (and booleans) numerically, texts by code point;
    /// text against a number is refused.
    fn order(&self, at: Span, left: &Val, right: &Val) -> Result<Option<Ordering>, String> {
        match (left.as_number(), right.as_number(), left.as_text(), right.as_text()) {
            (Some(x), Some(y), _, _) => Ok(x.partial_cmp(&y)),
            (_, _, Some(a), Some(b)) => Ok(Some(a.cmp(b))),
            (_, _, Some(text), None) | (_, _, None, Some(text)) => {
                let other = if left.as_text().is_some() { right } else { left };
                let with = match other {
                    Val::Bool(b) => format!("the condition {}", if *b { "True" } else { "False" }),
                    _ => "a number".to_string(),
                };
                Err(self.fault(
                    at,
                    format!("cannot compare the text \"{}\" with {with} (is the column numeric?)", escape(text)),
                ))
            }
            _ => Ok(None),
        }
    }

    /// A method or function applied to its arguments (a method's receiver first).
    fn call<'a, 'e>(
        &'e self,
        func: Func,
        at: Span,
        args: &'e [Node],
        field: &dyn Fn(usize) -> Value<'a>,
    ) -> Result<Val<'a, 'e>, String> {
        let number = |value: &Val| -> Result<Option<f64>, String> {
            match value {
                Val::Field(_) | Val::Text(_) => {
                    Err(self.fault(at, format!("needs a number, not {} (is the column numeric?)", describe(value))))
                }
                _ => self.arithmetic_operand(at, value),
            }
        };
        let map = |x: &'e Node, f: fn(f64) -> f64| -> Result<Val<'a, 'e>, String> {
            Ok(number(&self.eval(x, field)?)?.map_or(Val::Missing, |x| Val::number(f(x))))
        };
        match (func, args) {
            (Func::IsNa, [x]) => Ok(Val::Bool(matches!(self.eval(x, field)?, Val::Missing))),
            (Func::NotNa, [x]) => Ok(Val::Bool(!matches!(self.eval(x, field)?, Val::Missing))),
            (Func::IsIn, [x, items @ ..]) => {
                let value = self.eval(x, field)?;
                let mut found = false;
                for item in items {
                    let item = self.eval(item, field)?;
                    found |= match (&value, &item) {
                        (Val::Missing, Val::Missing) => true,
                        (Val::Missing, _) | (_, Val::Missing) => false,
                        _ => equal(&value, &item),
                    };
                }
                Ok(Val::Bool(found))
            }
            (Func::Between(inclusive), [x, low, high]) => {
                let (value, low, high) = (self.eval(x, field)?, self.eval(low, field)?, self.eval(high, field)?);
                if [&value, &low, &high].iter().any(|v| matches!(v, Val::Missing)) {
                    return Ok(Val::Bool(false));
                }
                let (above, below) = (self.order(at, &value, &low)?, self.order(at, &value, &high)?);
                let (closed_low, closed_high) = match inclusive {
                    Inclusive::Both => (true, true),
                    Inclusive::Left => (true, false),
                    Inclusive::Right => (false, true),
                    Inclusive::Neither => (false, false),
                };
                let low_ok = above == Some(Ordering::Greater) || (closed_low && above == Some(Ordering::Equal));
                let high_ok = below == Some(Ordering::Less) || (closed_high && below == Some(Ordering::Equal));
                Ok(Val::Bool(low_ok && high_ok))
            }
            (Func::FillNa, [x, fill]) => {
                let (value, fill) = (self.eval(x, field)?, self.eval(fill, field)?);
                Ok(if matches!(value, Val::Missing) { fill } else { value })
            }
            (Func::AsType(dtype), [x]) => self.astype(dtype, at, self.eval(x, field)?),
            (Func::Where, [condition, yes, no]) => {
                let (condition, yes, no) =
                    (self.eval(condition, field)?, self.eval(yes, field)?, self.eval(no, field)?);
                let chosen = match condition {
                    Val::Bool(b) => b,
                    Val::Number(x) => x != 0.0,
                    Val::Missing => false,
                    Val::Field(_) | Val::Text(_) => {
                        return Err(self.fault(
                            at,
                            format!("its condition is {}, not a condition (True or False)", describe(&condition)),
                        ))
                    }
                };
                Ok(if chosen { yes } else { no })
            }
            (Func::Abs, [x]) => map(x, f64::abs),
            (Func::Floor, [x]) => map(x, f64::floor),
            (Func::Ceil, [x]) => map(x, f64::ceil),
            (Func::Minimum | Func::Maximum, [a, b]) => {
                let (a, b) = (number(&self.eval(a, field)?)?, number(&self.eval(b, field)?)?);
                let (Some(a), Some(b)) = (a, b) else { return Ok(Val::Missing) };
                let a_first = if func == Func::Minimum { a <= b } else { a >= b };
                Ok(Val::number(if a_first { a } else { b }))
            }
            (Func::IsNan, [x]) => {
                let value = self.eval(x, field)?;
                match value {
                    Val::Field(_) | Val::Text(_) => Err(self.fault(
                        at,
                        format!(
                            "needs a number, not {}; to test text for a missing value, use .isna()",
                            describe(&value)
                        ),
                    )),
                    _ => Ok(Val::Bool(matches!(value, Val::Missing))),
                }
            }
            _ => Err(self.fault(at, "internal error: wrong number of arguments")),
        }
    }

    /// `.astype(dtype)` of `value`, as pandas converts one element.
    fn astype<'a, 'e>(&self, dtype: Dtype, at: Span, value: Val<'a, 'e>) -> Result<Val<'a, 'e>, String> {
        let cannot = |what: String| self.fault(at, format!("cannot convert {what} to {}", dtype.kind.name()));
        Ok(match (dtype.kind, value) {
            (DtypeKind::Int, Val::Missing) if !dtype.nullable => {
                return Err(cannot("a missing value".to_string())
                    + " (pandas refuses too); fill it first, e.g. .fillna(0).astype(int)")
            }
            (DtypeKind::Bool, Val::Missing) if !dtype.nullable => Val::Bool(true), // NaN is truthy
            (_, Val::Missing) => Val::Missing,
            (DtypeKind::Int, Val::Number(x)) if !x.is_finite() => return Err(cannot(describe(&Val::Number(x)))),
            (DtypeKind::Int, Val::Number(x)) => Val::Number(x.trunc()),
            (DtypeKind::Int | DtypeKind::Float, Val::Bool(b)) => Val::Number(f64::from(u8::from(b))),
            (DtypeKind::Float, Val::Number(x)) => Val::Number(x),
            (DtypeKind::Int | DtypeKind::Float, text) => {
                let parsed = text.as_text().and_then(|s| {
                    let s = s.trim();
                    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
                    let integer = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
                    if dtype.kind == DtypeKind::Int && !integer {
                        None
                    } else {
                        s.parse::<f64>().ok()
                    }
                });
                match parsed {
                    Some(x) => Val::number(x),
                    None => return Err(cannot(describe(&text))),
                }
            }
            (DtypeKind::Bool, Val::Number(x)) => Val::Bool(x != 0.0),
            (DtypeKind::Bool, Val::Bool(b)) => Val::Bool(b),
            (DtypeKind::Bool, text) => Val::Bool(text.as_text().is_some_and(|s| !s.is_empty())),
            (DtypeKind::Str, Val::Number(x)) => Val::Text(Cow::Owned(format_number(x))),
            (DtypeKind::Str, Val::Bool(b)) => Val::Text(Cow::Borrowed(if b { "True" } else { "False" })),
            (DtypeKind::Str, text) => text,
        })
    }

    /// `"token" at character N of "text": problem`, for an evaluation error at `at`.
    fn fault(&self, at: Span, problem: impl std::fmt::Display) -> String {
        format!("\"{}\" {}: {problem}", escape(self.slice(at)), locate(&self.text, at.start))
    }

    /// The source text of `span`.
    fn slice(&self, span: Span) -> &str {
        self.text.get(span.start..span.end).unwrap_or("")
    }

    /// The source text of `span`, shortened for a message when long.
    fn snippet(&self, span: Span) -> String {
        let text = self.slice(span).trim();
        if text.chars().count() <= 60 {
            text.to_string()
        } else {
            format!("{}…", text.chars().take(57).collect::<String>())
        }
    }
}

/// A value during evaluation: a row's [`Value`], or text the expression holds or made.
#[derive(Debug, Clone)]
enum Val<'a, 'e> {
    /// A number, never NaN (NaN is `Missing`).
    Number(f64),
    /// A condition's outcome.
    Bool(bool),
    /// Text from the row.
    Field(&'a str),
    /// Text from the expression: a literal, or made by `.astype(str)`.
    Text(Cow<'e, str>),
    /// A missing value.
    Missing,
}

impl Val<'_, '_> {
    /// `x` as a value: NaN is missing.
    fn number(x: f64) -> Self {
        if x.is_nan() {
            Val::Missing
        } else {
            Val::Number(x)
        }
    }

    /// The value as a number, if it is one (or a boolean: True is 1).
    fn as_number(&self) -> Option<f64> {
        match self {
            Val::Number(x) => Some(*x),
            Val::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => None,
        }
    }

    /// The value as text, if it is text.
    fn as_text(&self) -> Option<&str> {
        match self {
            Val::Field(s) => Some(s),
            Val::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// `==` of two present values: numbers (and booleans) numerically, texts exactly; a text never
/// equals a number.
fn equal(left: &Val, right: &Val) -> bool {
    match (left.as_number(), right.as_number()) {
        (Some(x), Some(y)) => x == y,
        _ => matches!((left.as_text(), right.as_text()), (Some(a), Some(b)) if a == b),
    }
}

/// A value as a message names it: `the number 4`, `the text "abc"`, `True`, `a missing value`.
fn describe(value: &Val) -> String {
    match value {
        Val::Number(x) => format!("the number {}", format_number(*x)),
        Val::Bool(b) => (if *b { "True" } else { "False" }).to_string(),
        Val::Field(s) => format!("the text \"{}\"", escape(s)),
        Val::Text(s) => format!("the text \"{}\"", escape(s)),
        Val::Missing => "a missing value".to_string(),
    }
}

/// A number as text: whole numbers without a decimal point (as pandas prints an integer column).
fn format_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else if x.is_infinite() {
        (if x > 0.0 { "inf" } else { "-inf" }).to_string()
    } else {
        format!("{x}")
    }
}

/// Python's and numpy's `x // y`: the floor of the quotient, exact near integers; `x // 0` is
/// `x / 0` (infinite, or NaN for 0).
fn floor_divide(x: f64, y: f64) -> f64 {
    if y == 0.0 {
        return x / y;
    }
    let m = x % y;
    let mut div = (x - m) / y;
    if m != 0.0 && ((y < 0.0) != (m < 0.0)) {
        div -= 1.0;
    }
    if div == 0.0 {
        return (0.0f64).copysign(x / y);
    }
    let floor = div.floor();
    if div - floor > 0.5 {
        floor + 1.0
    } else {
        floor
    }
}

/// Python's and numpy's `x % y`: the sign of `y`; `x % 0` is NaN.
fn remainder(x: f64, y: f64) -> f64 {
    if y == 0.0 {
        return f64::NAN;
    }
    let m = x % y;
    if m != 0.0 && ((y < 0.0) != (m < 0.0)) {
        m + y
    } else if m == 0.0 {
        (0.0f64).copysign(y)
    } else {
        m
    }
}

/// `text` escaped for quoting in a message: `"`, `\` and control characters (a `'` is left
/// alone, unlike `str::escape_debug`).
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                escaped.push('\\');
                escaped.push(c);
            }
            c if c.is_control() => escaped.extend(c.escape_debug()),
            c => escaped.push(c),
        }
    }
    escaped
}

/// `at character N of "text"` for the byte offset `at` (N counts characters from 1); a long
/// text is quoted around `at`.
fn locate(text: &str, at: usize) -> String {
    format!("at character {} of {}", char_position(text, at), quote(text, at))
}

/// The 1-based character position of byte offset `at`.
fn char_position(text: &str, at: usize) -> usize {
    text.get(..at).map_or(0, |s| s.chars().count()) + 1
}

/// `text` quoted (escaped) for a message; when long, only the part around byte offset `at`.
fn quote(text: &str, at: usize) -> String {
    let n = text.chars().count();
    if n <= QUOTE_WHOLE {
        return format!("\"{}\"", escape(text));
    }
    let pos = char_position(text, at) - 1;
    let from = pos.saturating_sub(50);
    let to = (pos + 50).min(n);
    let piece: String = text.chars().skip(from).take(to - from).collect();
    let before = if from > 0 { "…" } else { "" };
    let after = if to < n { "…" } else { "" };
    format!("\"{before}{}{after}\"", escape(&piece))
}

/// Where a node or token is written: byte offsets into the source.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Span {
    /// First byte.
    start: usize,
    /// One past the last byte.
    end: usize,
}

/// A node of the parsed tree, with where it is written.
#[derive(Debug, Clone)]
struct Node {
    /// What it is.
    kind: Kind,
    /// First byte of its text.
    start: usize,
    /// One past its text's last byte.
    end: usize,
}

impl Node {
    /// Where the node is written.
    fn span(&self) -> Span {
        Span { start: self.start, end: self.end }
    }
}

/// The kinds of node.
#[derive(Debug, Clone)]
enum Kind {
    /// A literal.
    Const(Const),
    /// The column at this index of [`Expression::columns`].
    Column(usize),
    /// Operators of one precedence level applied left to right (`a + b - c`), or one `**`;
    /// kept flat so that a long chain does not make a deep tree.
    Chain(Box<Node>, Vec<Link<Op>>),
    /// A (possibly chained) comparison: `a < b <= c` is `a < b and b <= c`.
    Compare(Box<Node>, Vec<Link<Cmp>>),
    /// A unary operator, where it is written, and its operand.
    Unary(Unary, Span, Box<Node>),
    /// A function or method (its receiver the first argument), where its name is written, and
    /// its arguments.
    Call(Func, Span, Vec<Node>),
}

/// A literal.
#[derive(Debug, Clone)]
enum Const {
    /// A number.
    Number(f64),
    /// `True` or `False`.
    Bool(bool),
    /// A string.
    Text(String),
    /// `None`, `nan`, `np.nan`.
    Missing,
}

/// One step of a chain: an operator, where it is written, and its right operand.
#[derive(Debug, Clone)]
struct Link<O> {
    /// The operator.
    op: O,
    /// Where the operator is written.
    at: Span,
    /// Its right operand.
    node: Node,
}

/// Binary operators other than comparisons.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    /// `or`.
    Or,
    /// `and`.
    And,
    /// `|`.
    BitOr,
    /// `&`.
    BitAnd,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `//`.
    FloorDiv,
    /// `%`.
    Mod,
    /// `**`.
    Pow,
}

impl Op {
    /// The operator's precedence.
    fn level(self) -> Level {
        match self {
            Op::Or => Level::Or,
            Op::And => Level::And,
            Op::BitOr => Level::BitOr,
            Op::BitAnd => Level::BitAnd,
            Op::Add | Op::Sub => Level::Sum,
            Op::Mul | Op::Div | Op::FloorDiv | Op::Mod => Level::Term,
            Op::Pow => Level::Power,
        }
    }
}

/// Python's precedence levels of binary operators (and `not`), loosest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    /// `or`.
    Or,
    /// `and`.
    And,
    /// `not` (prefix).
    Not,
    /// Comparisons.
    Compare,
    /// `|`.
    BitOr,
    /// `^` (refused).
    BitXor,
    /// `&`.
    BitAnd,
    /// `+ -`.
    Sum,
    /// `* / // %`.
    Term,
    /// `**` (parsed with the unary operators).
    Power,
}

impl Level {
    /// The next tighter level: the right operand of an operator of this level has at least it.
    fn tighter(self) -> Level {
        match self {
            Level::Or => Level::And,
            Level::And => Level::Not,
            Level::Not => Level::Compare,
            Level::Compare => Level::BitOr,
            Level::BitOr => Level::BitXor,
            Level::BitXor => Level::BitAnd,
            Level::BitAnd => Level::Sum,
            Level::Sum => Level::Term,
            Level::Term | Level::Power => Level::Power,
        }
    }
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cmp {
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Unary {
    /// `-`.
    Neg,
    /// `+`.
    Pos,
    /// `~`.
    Invert,
    /// `not`.
    Not,
}

/// Which operand of an operator a message is about.
#[derive(Debug, Clone, Copy)]
enum Side {
    /// The left one of a binary operator.
    Left,
    /// The right one of a binary operator.
    Right,
    /// The only one of a unary operator.
    Operand,
}

/// Functions and methods.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Func {
    /// `.isna()`, `.isnull()`.
    IsNa,
    /// `.notna()`, `.notnull()`.
    NotNa,
    /// `.isin([...])`: receiver, then the values.
    IsIn,
    /// `.between(left, right, inclusive=…)`.
    Between(Inclusive),
    /// `.fillna(value)`.
    FillNa,
    /// `.astype(dtype)`.
    AsType(Dtype),
    /// `np.where(condition, x, y)`.
    Where,
    /// `abs(x)`, `np.abs(x)`, `.abs()`.
    Abs,
    /// `np.minimum(a, b)`.
    Minimum,
    /// `np.maximum(a, b)`.
    Maximum,
    /// `np.floor(x)`.
    Floor,
    /// `np.ceil(x)`.
    Ceil,
    /// `np.isnan(x)`.
    IsNan,
}

/// Which ends `.between` includes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Inclusive {
    /// Both (pandas' default).
    Both,
    /// Neither.
    Neither,
    /// The lower one.
    Left,
    /// The upper one.
    Right,
}

/// The type `.astype` converts to.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Dtype {
    /// Which type.
    kind: DtypeKind,
    /// A pandas nullable type (`Int64`, `boolean`): a missing value stays missing.
    nullable: bool,
}

/// The kinds of type `.astype` converts to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum DtypeKind {
    /// `int`.
    Int,
    /// `float`.
    Float,
    /// `bool`.
    Bool,
    /// `str`.
    Str,
}

impl DtypeKind {
    /// The type's Python name.
    fn name(self) -> &'static str {
        match self {
            DtypeKind::Int => "int",
            DtypeKind::Float => "float",
            DtypeKind::Bool => "bool",
            DtypeKind::Str => "str",
        }
    }
}

impl Dtype {
    /// The type a dtype's name means (`int`, `"int64"`, `np.float64`, `"Int64"`, …).
    fn named(name: &str) -> Option<Dtype> {
        let lower = name.to_ascii_lowercase();
        let bits =
            |prefix: &str| lower.strip_prefix(prefix).is_some_and(|rest| ["", "8", "16", "32", "64"].contains(&rest));
        let kind = if bits("int") || bits("uint") {
            DtypeKind::Int
        } else if bits("float") {
            DtypeKind::Float
        } else if ["bool", "bool_", "boolean"].contains(&lower.as_str()) {
            DtypeKind::Bool
        } else if ["str", "str_", "string"].contains(&lower.as_str()) {
            DtypeKind::Str
        } else {
            return None;
        };
        let nullable = name.starts_with(['I', 'U', 'F']) || name == "boolean";
        Some(Dtype { kind, nullable })
    }
}

/// A token of the source.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A number literal.
    Number(f64),
    /// A string literal, unescaped.
    Str(String),
    /// A name (identifier or keyword).
    Name(String),
    /// Punctuation or an operator.
    Punct(&'static str),
    /// The end of the source.
    End,
}

/// A token and where it is written.
#[derive(Debug, Clone)]
struct Token {
    /// The token.
    tok: Tok,
    /// First byte.
    start: usize,
    /// One past the last byte.
    end: usize,
}

impl Token {
    /// Where the token is written.
    fn span(&self) -> Span {
        Span { start: self.start, end: self.end }
    }
}

/// Operators and punctuation, longest first.
const PUNCTUATION: [&str; 30] = [
    "**", "//", "==", "!=", "<=", ">=", "<<", ">>", "(", ")", "[", "]", "{", "}", ",", ".", "=", "<", ">", "+", "-",
    "*", "/", "%", "~", "&", "|", "^", ":", "@",
];

/// Splits `text` into tokens, ending with [`Tok::End`].
fn lex(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let byte = |i: usize| chars.get(i).map_or(text.len(), |c| c.0);
    let char_at = |i: usize| chars.get(i).map(|c| c.1);
    let unexpected = |from: usize, to: usize| {
        format!("unexpected \"{}\" {}", escape(&text[byte(from)..byte(to)]), locate(text, byte(from)))
    };
    let mut tokens: Vec<Token> = Vec::new();
    let mut i = 0;
    while let Some(c) = char_at(i) {
        let start = i;
        let after_value = tokens.last().is_some_and(|t| match &t.tok {
            Tok::Number(_) | Tok::Str(_) | Tok::Name(_) => true,
            Tok::Punct(p) => [")", "]", "}"].contains(p),
            Tok::End => false,
        });
        let is_digit = |i: usize| char_at(i).is_some_and(|c| c.is_ascii_digit());
        let tok = if c.is_whitespace() {
            i += 1;
            continue;
        } else if c.is_ascii_digit() || (c == '.' && is_digit(i + 1) && !after_value) {
            let digits = |i: &mut usize| {
                while is_digit(*i) || (char_at(*i) == Some('_') && is_digit(*i - 1) && is_digit(*i + 1)) {
                    *i += 1;
                }
            };
            digits(&mut i);
            if char_at(i) == Some('.') {
                i += 1;
                digits(&mut i);
            }
            if matches!(char_at(i), Some('e' | 'E'))
                && (is_digit(i + 1) || (matches!(char_at(i + 1), Some('+' | '-')) && is_digit(i + 2)))
            {
                i += 2;
                digits(&mut i);
            }
            if char_at(i).is_some_and(|c| c.is_alphanumeric() || c == '_') {
                while char_at(i).is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    i += 1;
                }
                return Err(unexpected(start, i));
            }
            let literal = text[byte(start)..byte(i)].replace('_', "");
            Tok::Number(literal.parse::<f64>().map_err(|_| unexpected(start, i))?)
        } else if c.is_alphabetic() || c == '_' {
            while char_at(i).is_some_and(|c| c.is_alphanumeric() || c == '_') {
                i += 1;
            }
            Tok::Name(text[byte(start)..byte(i)].to_string())
        } else if c == '"' || c == '\'' {
            let mut value = String::new();
            i += 1;
            loop {
                match char_at(i) {
                    None => {
                        return Err(format!("the string starting {} is not closed", locate(text, byte(start))));
                    }
                    Some(q) if q == c => break,
                    Some('\\') => {
                        match char_at(i + 1) {
                            Some(e @ ('\\' | '\'' | '"')) => value.push(e),
                            Some('n') => value.push('\n'),
                            Some('t') => value.push('\t'),
                            Some(other) => {
                                value.push('\\');
                                value.push(other);
                            }
                            None => value.push('\\'),
                        }
                        i += 2;
                    }
                    Some(other) => {
                        value.push(other);
                        i += 1;
                    }
                }
            }
            i += 1;
            Tok::Str(value)
        } else if let Some(&p) = PUNCTUATION.iter().find(|p| text[byte(i)..].starts_with(**p)) {
            i += p.len();
            Tok::Punct(p)
        } else {
            let hint = if c == '!' { " (to compare, write !=; to negate a condition, ~)" } else { "" };
            return Err(unexpected(start, start + 1) + hint);
        };
        tokens.push(Token { tok, start: byte(start), end: byte(i) });
    }
    tokens.push(Token { tok: Tok::End, start: text.len(), end: text.len() });
    Ok(tokens)
}

/// A function call's argument, perhaps given by keyword.
struct Arg {
    /// The keyword and where it is written, if any.
    keyword: Option<(String, Span)>,
    /// The value.
    value: Node,
}

/// A recursive-descent parser over the tokens, one function per precedence level.
struct Parser<'t> {
    /// The source text.
    text: &'t str,
    /// Its tokens, ending with [`Tok::End`].
    tokens: Vec<Token>,
    /// The next token's index.
    pos: usize,
    /// How deeply the parse is nested now (see [`MAX_DEPTH`]).
    depth: usize,
    /// The table aliases that may prefix a column.
    tables: &'t [&'t str],
    /// Table aliases used, in first-use order.
    /// Columns referenced, in first-use order.
    columns: Vec<String>,
}

impl Parser<'_> {
    /// The next token.
    fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    /// The token `k` after the next (the end token past the end).
    fn peek_at(&self, k: usize) -> &Token {
        let last = self.tokens.len().saturating_sub(1);
        &self.tokens[(self.pos + k).min(last)]
    }

    /// Takes the next token (the end token stays).
    fn next(&mut self) -> Token {
        let token = self.peek().clone();
        if !matches!(token.tok, Tok::End) {
            self.pos += 1;
        }
        token
    }

    /// Whether the next token is the punctuation `p`.
    fn is(&self, p: &str) -> bool {
        matches!(&self.peek().tok, Tok::Punct(q) if *q == p)
    }

    /// Whether the next token is the name `name`.
    fn is_name(&self, name: &str) -> bool {
        matches!(&self.peek().tok, Tok::Name(n) if n == name)
    }

    /// Takes the next token if it is the punctuation `p`.
    fn eat(&mut self, p: &str) -> Option<Token> {
        self.is(p).then(|| self.next())
    }

    /// One past the last byte of the last token taken.
    fn prev_end(&self) -> usize {
        self.pos.checked_sub(1).and_then(|i| self.tokens.get(i)).map_or(0, |t| t.end)
    }

    /// The source text of `span`.
    fn slice(&self, span: Span) -> &str {
        self.text.get(span.start..span.end).unwrap_or("")
    }

    /// `unexpected "X" at character N of "text"`, or that the text ends too early.
    fn unexpected(&self, token: &Token) -> String {
        if matches!(token.tok, Tok::End) {
            let last = self.tokens.len().checked_sub(2).and_then(|i| self.tokens.get(i));
            return match last {
                Some(last) => format!(
                    "{} ends too early, after \"{}\" at character {}",
                    quote(self.text, last.start),
                    escape(self.slice(last.span())),
                    char_position(self.text, last.start)
                ),
                None => format!("the expression {} is empty", quote(self.text, 0)),
            };
        }
        let hint = match &token.tok {
            Tok::Punct("=") => " (to compare, write ==)",
            Tok::Punct("<<" | ">>" | ":" | "@") => " (not supported)",
            Tok::Name(n) if n == "in" => " (write x.isin([...]))",
            Tok::Name(n) if n == "is" => " (write x.isna(), or ==)",
            Tok::Name(n) if n == "if" || n == "else" => " (write np.where(condition, x, y))",
            _ => "",
        };
        format!("unexpected \"{}\" {}{hint}", escape(self.slice(token.span())), locate(self.text, token.start))
    }

    /// `"X" at character N of "text": problem`.
    fn fault(&self, at: Span, problem: impl std::fmt::Display) -> String {
        format!("\"{}\" {}: {problem}", escape(self.slice(at)), locate(self.text, at.start))
    }

    /// `"X" is not supported (supported: …) at character N of "text"`.
    fn unsupported(&self, at: Span, supported: &str) -> String {
        format!(
            "\"{}\" is not supported (supported: {supported}) {}",
            escape(self.slice(at)),
            locate(self.text, at.start)
        )
    }

    /// Goes one level deeper, refusing to go deeper than [`MAX_DEPTH`].
    fn enter(&mut self, at: usize) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!(
                "nested too deeply {} (at most {MAX_DEPTH} levels of brackets, calls, methods and unary operators)",
                locate(self.text, at)
            ));
        }
        Ok(())
    }

    /// Takes the `close` that ends the bracket `open`; `expected` says what else could have come.
    fn close(&mut self, open: &Token, close: &str, expected: &str) -> Result<Token, String> {
        let token = self.next();
        match &token.tok {
            Tok::Punct(p) if *p == close => Ok(token),
            Tok::End => Err(format!("\"{}\" {} is not closed", self.slice(open.span()), locate(self.text, open.start))),
            _ => Err(format!(
                "{} (expected {expected} to close the \"{}\" at character {})",
                self.unexpected(&token),
                self.slice(open.span()),
                char_position(self.text, open.start)
            )),
        }
    }

    /// A whole expression, one level deeper.
    fn parse_expr(&mut self) -> Result<Node, String> {
        self.enter(self.peek().start)?;
        let node = self.parse_binary(Level::Or);
        self.depth -= 1;
        node
    }

    /// Operands joined by binary operators (and `not`) of precedence `min` or above, by
    /// precedence climbing: one recursion per bracket rather than one per level, and the
    /// operators of one level in a row kept as one flat chain.
    fn parse_binary(&mut self, min: Level) -> Result<Node, String> {
        let mut left = if min <= Level::Not && self.is_name("not") {
            let token = self.next();
            self.enter(token.start)?;
            let operand = self.parse_binary(Level::Not);
            self.depth -= 1;
            let operand = operand?;
            Node {
                start: token.start,
                end: operand.end,
                kind: Kind::Unary(Unary::Not, token.span(), Box::new(operand)),
            }
        } else {
            self.parse_unary()?
        };
        while let Some(level) = self.binary_level()? {
            if level < min {
                break;
            }
            let tighter = level.tighter();
            let start = left.start;
            left = if level == Level::Compare {
                let mut links = Vec::new();
                while let Some(op) = self.comparison() {
                    let at = self.next().span();
                    links.push(Link { op, at, node: self.parse_binary(tighter)? });
                }
                let end = links.last().map_or(left.end, |l| l.node.end);
                Node { kind: Kind::Compare(Box::new(left), links), start, end }
            } else {
                let mut links = Vec::new();
                while let Some(op) = self.operator(level) {
                    let at = self.next().span();
                    links.push(Link { op, at, node: self.parse_binary(tighter)? });
                }
                let end = links.last().map_or(left.end, |l| l.node.end);
                Node { kind: Kind::Chain(Box::new(left), links), start, end }
            };
        }
        Ok(left)
    }

    /// The precedence of the binary operator that comes next, if one does; `^`, `in`, `is`
    /// and `not in` are refused.
    fn binary_level(&self) -> Result<Option<Level>, String> {
        let token = self.peek();
        Ok(Some(match &token.tok {
            Tok::Name(n) if n == "or" => Level::Or,
            Tok::Name(n) if n == "and" => Level::And,
            Tok::Name(n)
                if n == "in"
                    || n == "is"
                    || (n == "not" && matches!(&self.peek_at(1).tok, Tok::Name(m) if m == "in")) =>
            {
                let advice = if n == "is" { "x.isna(), or ==" } else { "x.isin([...]) or ~x.isin([...])" };
                return Err(self.unsupported(token.span(), advice));
            }
            Tok::Punct("^") => {
                return Err(self.unsupported(
                    token.span(),
                    "for \"one but not both\" of two conditions write (a) != (b); for a power, **",
                ));
            }
            Tok::Punct("|") => Level::BitOr,
            Tok::Punct("&") => Level::BitAnd,
            Tok::Punct("+" | "-") => Level::Sum,
            Tok::Punct("*" | "/" | "//" | "%") => Level::Term,
            _ if self.comparison().is_some() => Level::Compare,
            _ => return Ok(None),
        }))
    }

    /// The comparison that comes next, if one does.
    fn comparison(&self) -> Option<Cmp> {
        match self.peek().tok {
            Tok::Punct("==") => Some(Cmp::Eq),
            Tok::Punct("!=") => Some(Cmp::Ne),
            Tok::Punct("<") => Some(Cmp::Lt),
            Tok::Punct("<=") => Some(Cmp::Le),
            Tok::Punct(">") => Some(Cmp::Gt),
            Tok::Punct(">=") => Some(Cmp::Ge),
            _ => None,
        }
    }

    /// The operator of precedence `level` that comes next, if one does.
    fn operator(&self, level: Level) -> Option<Op> {
        let op = match &self.peek().tok {
            Tok::Name(n) if n == "or" => Op::Or,
            Tok::Name(n) if n == "and" => Op::And,
            Tok::Punct("|") => Op::BitOr,
            Tok::Punct("&") => Op::BitAnd,
            Tok::Punct("+") => Op::Add,
            Tok::Punct("-") => Op::Sub,
            Tok::Punct("*") => Op::Mul,
            Tok::Punct("/") => Op::Div,
            Tok::Punct("//") => Op::FloorDiv,
            Tok::Punct("%") => Op::Mod,
            _ => return None,
        };
        (op.level() == level).then_some(op)
    }

    /// Unary `- + ~`.
    fn parse_unary(&mut self) -> Result<Node, String> {
        let op = match self.peek().tok {
            Tok::Punct("-") => Unary::Neg,
            Tok::Punct("+") => Unary::Pos,
            Tok::Punct("~") => Unary::Invert,
            _ => return self.parse_power(),
        };
        let token = self.next();
        self.enter(token.start)?;
        let operand = self.parse_unary();
        self.depth -= 1;
        let operand = operand?;
        Ok(Node { start: token.start, end: operand.end, kind: Kind::Unary(op, token.span(), Box::new(operand)) })
    }

    /// `**`, which binds tighter than a unary operator on its left and is right-associative.
    fn parse_power(&mut self) -> Result<Node, String> {
        let base = self.parse_postfix()?;
        let Some(token) = self.eat("**") else { return Ok(base) };
        self.enter(token.start)?;
        let exponent = self.parse_unary();
        self.depth -= 1;
        let exponent = exponent?;
        let (start, end) = (base.start, exponent.end);
        let link = Link { op: Op::Pow, at: token.span(), node: exponent };
        Ok(Node { kind: Kind::Chain(Box::new(base), vec![link]), start, end })
    }

    /// A value and the methods called on it.
    fn parse_postfix(&mut self) -> Result<Node, String> {
        let mut node = self.parse_atom()?;
        let depth = self.depth;
        loop {
            if self.is(".") {
                self.enter(self.peek().start)?;
                node = self.parse_method(node)?;
            } else if self.is("[") {
                let at = self.peek().span();
                return Err(self.fault(at, "indexing a value is not supported"));
            } else if self.is("(") {
                return Err(self.unexpected(self.peek()));
            } else {
                break;
            }
        }
        self.depth = depth;
        Ok(node)
    }

    /// A literal, a column, a function call or a bracketed expression.
    fn parse_atom(&mut self) -> Result<Node, String> {
        let token = self.next();
        let constant = |c: Const| Ok(Node { kind: Kind::Const(c), start: token.start, end: token.end });
        match &token.tok {
            Tok::Number(x) => constant(Const::Number(*x)),
            Tok::Str(s) => {
                let mut text = s.clone();
                while let Tok::Str(more) = &self.peek().tok {
                    text.push_str(more);
                    self.next();
                }
                Ok(Node { kind: Kind::Const(Const::Text(text)), start: token.start, end: self.prev_end() })
            }
            Tok::Punct("(") => {
                let inner = self.parse_expr()?;
                if self.is(",") {
                    return Err(self.fault(self.peek().span(), "a tuple is supported only as the values of .isin(...)"));
                }
                self.close(&token, ")", "\")\"")?;
                Ok(Node { start: token.start, end: self.prev_end(), ..inner })
            }
            Tok::Punct("[" | "{") => {
                Err(self.fault(token.span(), "a list is supported only as the values of .isin([...])"))
            }
            Tok::Name(name) => self.parse_name(&token, name),
            _ => Err(self.unexpected(&token)),
        }
    }

    /// What a name starts: a constant, numpy, a function call, a table's column or a column.
    fn parse_name(&mut self, token: &Token, name: &str) -> Result<Node, String> {
        let constant = |c: Const| Ok(Node { kind: Kind::Const(c), start: token.start, end: token.end });
        match name {
            "True" => return constant(Const::Bool(true)),
            "False" => return constant(Const::Bool(false)),
            "None" | "nan" => return constant(Const::Missing),
            "inf" => return constant(Const::Number(f64::INFINITY)),
            "np" | "numpy" => return self.parse_numpy(token),
            "and" | "or" | "not" | "in" | "is" | "if" | "else" | "lambda" | "for" => return Err(self.unexpected(token)),
            _ => {}
        }
        if self.is("(") {
            if name != "abs" {
                return Err(self.unsupported(token.span(), FUNCTIONS));
            }
            let open = self.next();
            let args = self.parse_args(&open)?;
            let args = self.bind(token.span(), "(x)", args, &["x"], 1)?;
            return Ok(Node {
                kind: Kind::Call(Func::Abs, token.span(), args),
                start: token.start,
                end: self.prev_end(),
            });
        }
        if self.tables.contains(&name) {
            return self.parse_table_column(token, name);
        }
        // `NAME.ATTR` not followed by `(` is a table's column, unless ATTR is a pandas accessor
        // (`NP.str.…`), which is refused as a method
        let attribute = match &self.peek_at(1).tok {
            Tok::Name(attr) if self.is(".") => Some(attr.as_str()),
            _ => None,
        };
        let accessor = attribute.is_some_and(|a| PANDAS_ATTRIBUTES.contains(&a));
        let table_like =
            (attribute.is_some() && !accessor && !matches!(self.peek_at(2).tok, Tok::Punct("("))) || self.is("[");
        if table_like {
            let tables = if self.tables.is_empty() {
                "no table may prefix a column here".to_string()
            } else {
                format!("the tables are {}", self.tables.join(", "))
            };
            return Err(format!("unknown table \"{}\" {} ({tables})", escape(name), locate(self.text, token.start)));
        }
        Ok(self.column(name, token.start, token.end))
    }

    /// The column `name`, written from `start` to `end`.
    fn column(&mut self, name: &str, start: usize, end: usize) -> Node {
        let index = match self.columns.iter().position(|c| c == name) {
            Some(i) => i,
            None => {
                self.columns.push(name.to_string());
                self.columns.len() - 1
            }
        };
        Node { kind: Kind::Column(index), start, end }
    }

    /// `table.COLUMN` or `table["COLUMN"]`, after the table's name.
    fn parse_table_column(&mut self, token: &Token, table: &str) -> Result<Node, String> {
        if self.eat(".").is_some() {
            let name = self.next();
            return match &name.tok {
                Tok::Name(column) => Ok(self.column(column, token.start, name.end)),
                _ => Err(self.unexpected(&name)),
            };
        }
        if let Some(open) = self.eat("[") {
            let name = self.next();
            let Tok::Str(column) = &name.tok else {
                return Err(
                    self.fault(name.span(), format!("expected a column name in quotes, e.g. {table}[\"NAME\"]"))
                );
            };
            self.close(&open, "]", "\"]\"")?;
            return Ok(self.column(column, token.start, self.prev_end()));
        }
        Err(self.fault(token.span(), format!("a table is not a value; name one of its columns, e.g. {table}.NAME")))
    }

    /// `np.NAME`: a constant or a function call.
    fn parse_numpy(&mut self, np: &Token) -> Result<Node, String> {
        if self.eat(".").is_none() {
            return Err(self.fault(np.span(), format!("numpy is not a value; use one of {FUNCTIONS}")));
        }
        let attr = self.next();
        let Tok::Name(name) = &attr.tok else { return Err(self.unexpected(&attr)) };
        let at = Span { start: np.start, end: attr.end };
        let constant = |c: Const| Ok(Node { kind: Kind::Const(c), start: at.start, end: at.end });
        let (func, signature, params): (Func, &str, &[&str]) = match name.as_str() {
            "inf" | "Inf" | "infty" | "PINF" => return constant(Const::Number(f64::INFINITY)),
            "nan" | "NaN" | "NAN" => return constant(Const::Missing),
            "where" => (Func::Where, "(condition, x, y)", &["condition", "x", "y"]),
            "abs" | "absolute" => (Func::Abs, "(x)", &["x"]),
            "minimum" => (Func::Minimum, "(x1, x2)", &["x1", "x2"]),
            "maximum" => (Func::Maximum, "(x1, x2)", &["x1", "x2"]),
            "floor" => (Func::Floor, "(x)", &["x"]),
            "ceil" => (Func::Ceil, "(x)", &["x"]),
            "isnan" => (Func::IsNan, "(x)", &["x"]),
            _ => return Err(self.unsupported(at, FUNCTIONS)),
        };
        let Some(open) = self.eat("(") else {
            return Err(self.fault(at, format!("is a function; call it, e.g. {}{signature}", self.slice(at))));
        };
        let args = self.parse_args(&open)?;
        let args = self.bind(at, signature, args, params, params.len())?;
        Ok(Node { kind: Kind::Call(func, at, args), start: np.start, end: self.prev_end() })
    }

    /// `.method(...)` called on `receiver`.
    fn parse_method(&mut self, receiver: Node) -> Result<Node, String> {
        let dot = self.next();
        let name = self.next();
        let Tok::Name(method) = &name.tok else { return Err(self.unexpected(&name)) };
        let at = Span { start: dot.start, end: name.end };
        let Some(open) = self.eat("(") else { return Err(self.unsupported(at, METHODS)) };
        let no_args = |parser: &mut Self| -> Result<Vec<Node>, String> {
            let args = parser.parse_args(&open)?;
            parser.bind(at, "()", args, &[], 0)
        };
        let (func, args) = match method.as_str() {
            "isna" | "isnull" => (Func::IsNa, no_args(self)?),
            "notna" | "notnull" => (Func::NotNa, no_args(self)?),
            "abs" => (Func::Abs, no_args(self)?),
            "isin" => {
                let values = self.parse_values(at)?;
                self.eat(",");
                self.close(&open, ")", "\")\"")?;
                (Func::IsIn, values)
            }
            "between" => {
                let args = self.parse_args(&open)?;
                let signature = "(left, right, inclusive=\"both\")";
                let mut args = self.bind(at, signature, args, &["left", "right", "inclusive"], 2)?;
                let inclusive = match args.get(2).map(|n| &n.kind) {
                    None => Inclusive::Both,
                    Some(Kind::Const(Const::Text(s))) if s == "both" => Inclusive::Both,
                    Some(Kind::Const(Const::Text(s))) if s == "neither" => Inclusive::Neither,
                    Some(Kind::Const(Const::Text(s))) if s == "left" => Inclusive::Left,
                    Some(Kind::Const(Const::Text(s))) if s == "right" => Inclusive::Right,
                    Some(_) => {
                        return Err(self.fault(at, "inclusive must be \"both\", \"neither\", \"left\" or \"right\""))
                    }
                };
                args.truncate(2);
                (Func::Between(inclusive), args)
            }
            "fillna" => {
                let args = self.parse_args(&open)?;
                (Func::FillNa, self.bind(at, "(value)", args, &["value"], 1)?)
            }
            "astype" => {
                let dtype = self.parse_dtype(at)?;
                self.close(&open, ")", "\")\"")?;
                (Func::AsType(dtype), Vec::new())
            }
            _ => return Err(self.unsupported(at, METHODS)),
        };
        let start = receiver.start;
        let mut all = vec![receiver];
        all.extend(args);
        Ok(Node { kind: Kind::Call(func, at, all), start, end: self.prev_end() })
    }

    /// The values of `.isin(...)`: a list, tuple or set.
    fn parse_values(&mut self, at: Span) -> Result<Vec<Node>, String> {
        let open = self.peek().clone();
        let close = match open.tok {
            Tok::Punct("[") => "]",
            Tok::Punct("(") => ")",
            Tok::Punct("{") => "}",
            _ => return Err(self.fault(at, "takes a list of values, e.g. .isin([1, 2])")),
        };
        self.next();
        self.enter(open.start)?;
        let mut values = Vec::new();
        let mut comma = false;
        loop {
            if self.eat(close).is_some() {
                break;
            }
            values.push(self.parse_expr()?);
            if self.eat(",").is_some() {
                comma = true;
                continue;
            }
            self.close(&open, close, &format!("\",\" or \"{close}\""))?;
            break;
        }
        self.depth -= 1;
        if close == ")" && values.len() == 1 && !comma {
            return Err(self.fault(at, "takes a list of values, e.g. .isin([1, 2]); (x) is not a tuple, (x,) is"));
        }
        Ok(values)
    }

    /// The type of `.astype(...)`: `int`, `float`, `bool`, `str`, a dtype's name in quotes, or
    /// `np.int64` and the like.
    fn parse_dtype(&mut self, at: Span) -> Result<Dtype, String> {
        let token = self.next();
        let name = match &token.tok {
            Tok::Name(n) if n == "np" || n == "numpy" => {
                let attr = if self.eat(".").is_some() { Some(self.next()) } else { None };
                match attr.map(|a| a.tok) {
                    Some(Tok::Name(a)) => a,
                    _ => String::new(),
                }
            }
            Tok::Name(n) | Tok::Str(n) => n.clone(),
            _ => String::new(),
        };
        Dtype::named(&name).ok_or_else(|| self.fault(at, "takes int, float, bool or str"))
    }

    /// A call's arguments after its `(`, through its `)`.
    fn parse_args(&mut self, open: &Token) -> Result<Vec<Arg>, String> {
        let mut args = Vec::new();
        loop {
            if self.eat(")").is_some() {
                break;
            }
            let keyword = match (&self.peek().tok, &self.peek_at(1).tok) {
                (Tok::Name(n), Tok::Punct("=")) => {
                    let name = n.clone();
                    let span = self.next().span();
                    self.next();
                    Some((name, span))
                }
                _ => None,
            };
            args.push(Arg { keyword, value: self.parse_expr()? });
            if self.eat(",").is_some() {
                continue;
            }
            self.close(open, ")", "\",\" or \")\"")?;
            break;
        }
        Ok(args)
    }

    /// Matches `args` to the parameters `params` (the first `required` required), by position
    /// then keyword; the function at `at` has the signature `signature`.
    fn bind(
        &self,
        at: Span,
        signature: &str,
        args: Vec<Arg>,
        params: &[&str],
        required: usize,
    ) -> Result<Vec<Node>, String> {
        let mut slots: Vec<Option<Node>> = vec![None; params.len()];
        let mut by_keyword = false;
        for (i, arg) in args.into_iter().enumerate() {
            let slot = match &arg.keyword {
                None if by_keyword => {
                    return Err(
                        self.fault(at, format!("takes {signature}: a positional argument follows a keyword one"))
                    )
                }
                None if i >= params.len() => {
                    return Err(self.fault(at, format!("takes {signature}: too many arguments")));
                }
                None => i,
                Some((name, _)) => {
                    by_keyword = true;
                    match params.iter().position(|p| p == name) {
                        Some(slot) => slot,
                        None => {
                            return Err(self.fault(at, format!("takes {signature}: it has no argument \"{name}\"")));
                        }
                    }
                }
            };
            if slots[slot].is_some() {
                return Err(self.fault(at, format!("takes {signature}: \"{}\" is given twice", params[slot])));
            }
            slots[slot] = Some(arg.value);
        }
        let given = slots.iter().take_while(|s| s.is_some()).count();
        if given < required || slots.iter().skip(given).any(Option::is_some) {
            let missing = params.get(given).copied().unwrap_or("?");
            return Err(self.fault(at, format!("takes {signature}: \"{missing}\" is missing")));
        }
        Ok(slots.into_iter().flatten().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use Value::{Bool as B, Missing as M, Number as N, Text as T};

    /// The tables of a PopulationSim project.
    const TABLES: [&str; 2] = ["households", "persons"];

    /// `text` evaluated for the row whose named fields are `row` (any other field missing).
    fn eval(text: &str, row: &[(&str, Value<'static>)]) -> Result<Value<'static>, String> {
        let expression = Expression::parse(text, &TABLES)?;
        let values: Vec<Value<'static>> = expression
            .columns()
            .iter()
            .map(|c| row.iter().find(|(name, _)| name == c).map_or(M, |(_, v)| *v))
            .collect();
        expression.evaluate(&|i| values[i])
    }

    /// `text` evaluated without columns.
    fn value(text: &str) -> Value<'static> {
        match eval(text, &[]) {
            Ok(v) => v,
            Err(e) => panic!("{text}: {e}"),
        }
    }

    /// The error of evaluating `text` for `row`.
    fn eval_err(text: &str, row: &[(&str, Value<'static>)]) -> String {
        match eval(text, row) {
            Ok(v) => panic!("{text} gave {v:?}"),
            Err(e) => e,
        }
    }

    /// The error of parsing `text`.
    fn parse_err(text: &str) -> String {
        match Expression::parse(text, &TABLES) {
            Ok(_) => panic!("{text} parsed"),
            Err(e) => e,
        }
    }

    /// Checks `text` gives `expected` for each row.
    fn check(text: &str, cases: &[(&[(&str, Value<'static>)], Value<'static>)]) {
        for (row, expected) in cases {
            assert_eq!(eval(text, row), Ok(*expected), "{text} for {row:?}");
        }
    }

    #[test]
    fn populationsim_examples_evaluate_as_pandas_does() {
        let wgtp = "(households.WGTP > 0) & (households.WGTP < np.inf)";
        check(wgtp, &[(&[("WGTP", N(12.0))], B(true)), (&[("WGTP", N(0.0))], B(false)), (&[], B(false))]);
        check(wgtp, &[(&[("WGTP", N(f64::INFINITY))], B(false)), (&[("WGTP", N(f64::NAN))], B(false))]);
        let np4 = "households.NP >= 4";
        check(np4, &[(&[("NP", N(4.0))], B(true)), (&[("NP", N(3.0))], B(false)), (&[], B(false))]);
        let osutag = "persons.OSUTAG == 1";
        check(osutag, &[(&[("OSUTAG", N(1.0))], B(true)), (&[("OSUTAG", N(2.0))], B(false)), (&[], B(false))]);
        let income = "(households.HHINCADJ > 30000) & (households.HHINCADJ <= 60000)";
        check(
            income,
            &[
                (&[("HHINCADJ", N(30000.0))], B(false)),
                (&[("HHINCADJ", N(30001.0))], B(true)),
                (&[("HHINCADJ", N(60000.0))], B(true)),
                (&[("HHINCADJ", N(60000.5))], B(false)),
                (&[], B(false)),
            ],
        );
        let workers = "(persons.AGEP >= 18) & (persons.AGEP <= 64) & ~(persons.ESR.isin([3, 6]))";
        check(
            workers,
            &[
                (&[("AGEP", N(30.0)), ("ESR", N(1.0))], B(true)),
                (&[("AGEP", N(30.0)), ("ESR", N(3.0))], B(false)),
                (&[("AGEP", N(30.0))], B(true)),
                (&[("AGEP", N(17.0)), ("ESR", N(1.0))], B(false)),
                (&[("AGEP", N(65.0)), ("ESR", N(1.0))], B(false)),
                (&[("ESR", N(1.0))], B(false)),
            ],
        );
        let hht = "households.HHT.isin([1, 2, 3])";
        check(hht, &[(&[("HHT", N(2.0))], B(true)), (&[("HHT", N(4.0))], B(false)), (&[], B(false))]);
        let pcomm = "persons.PComm.isna()";
        check(pcomm, &[(&[], B(true)), (&[("PComm", N(3.0))], B(false)), (&[("PComm", T("x"))], B(false))]);
        let bld = "(households.BLD == \"single\") | (households.TEN == 3)";
        check(
            bld,
            &[
                (&[("BLD", T("single")), ("TEN", N(1.0))], B(true)),
                (&[("BLD", T("multi")), ("TEN", N(3.0))], B(true)),
                (&[("BLD", T("multi")), ("TEN", N(1.0))], B(false)),
                (&[("BLD", T("multi")), ("TEN", T("3"))], B(false)),
                (&[], B(false)),
            ],
        );
        check("households.NP", &[(&[("NP", N(3.0))], N(3.0)), (&[], M), (&[("NP", T("a"))], T("a"))]);
        let wkhh = "households.WKHH * 1";
        check(wkhh, &[(&[("WKHH", B(true))], N(1.0)), (&[("WKHH", B(false))], N(0.0)), (&[("WKHH", N(2.0))], N(2.0))]);
        check(wkhh, &[(&[], M)]);
        let capped = "np.where(households.NP > 4, 4, households.NP)";
        check(capped, &[(&[("NP", N(6.0))], N(4.0)), (&[("NP", N(3.0))], N(3.0)), (&[], M)]);
    }

    #[test]
    fn columns_in_first_use_order() {
        let e = Expression::parse("(persons.AGEP >= 18) & ~(persons.ESR.isin([3, 6])) & (persons.AGEP < 65)", &TABLES)
            .unwrap();
        assert_eq!(e.columns(), ["AGEP", "ESR"]);
        assert_eq!(e.text(), "(persons.AGEP >= 18) & ~(persons.ESR.isin([3, 6])) & (persons.AGEP < 65)");
        let e = Expression::parse("households['N P'] + households[\"NP\"] + NP + persons.X", &TABLES).unwrap();
        assert_eq!(e.columns(), ["N P", "NP", "X"]);
        let e = Expression::parse("NP.isna() | (X == 'it\\'s')", &TABLES).unwrap();
        assert_eq!(e.columns(), ["NP", "X"]);
        assert_eq!(eval("X == 'it\\'s'", &[("X", T("it's"))]), Ok(B(true)));
        assert_eq!(eval("households[\"N P\"] * 2", &[("N P", N(2.0))]), Ok(N(4.0)));
    }

    #[test]
    fn precedence_follows_python() {
        assert_eq!(value("1 + 2 * 3"), N(7.0));
        assert_eq!(value("(1 + 2) * 3"), N(9.0));
        assert_eq!(value("10 - 2 - 3"), N(5.0));
        assert_eq!(value("2 ** 3 ** 2"), N(512.0));
        assert_eq!(value("-2 ** 2"), N(-4.0));
        assert_eq!(value("2 ** -1"), N(0.5));
        assert_eq!(value("7 // 2 * 2"), N(6.0));
        assert_eq!(value("-7 // 2"), N(-4.0));
        assert_eq!(value("-7 % 3"), N(2.0));
        assert_eq!(value("7 % -3"), N(-2.0));
        assert_eq!(value("1 // 0.1"), N(9.0));
        assert_eq!(value(".5 + 1e1 + 1_000 + 2.5E-1"), N(1010.75));
        assert_eq!(value("True | False & False"), B(true));
        assert_eq!(value("(True | False) & False"), B(false));
        assert_eq!(value("~True | True"), B(true));
        assert_eq!(value("~(True | True)"), B(false));
        assert_eq!(value("not 1 == 2"), B(true));
        assert_eq!(value("not True or True"), B(true));
        assert_eq!(value("True or False and False"), B(true));
        assert_eq!(value("not not True"), B(true));
        assert_eq!(value("1 + True"), N(2.0));
        assert_eq!(value("(1 > 0) * 5"), N(5.0));
        assert_eq!(value("1 == 1.0"), B(true));
        assert_eq!(value("'a' < 'b'"), B(true));
        assert_eq!(value("'a' 'b' == 'ab'"), B(true));
        // `&` binds tighter than a comparison, as in Python
        assert_eq!(value("3 == 1 + 2 == 3"), B(true));
        assert_eq!(value("(1 < 2) == True"), B(true));
    }

    #[test]
    fn comparisons_chain() {
        let between = "1 < households.NP <= 4";
        check(between, &[(&[("NP", N(1.0))], B(false)), (&[("NP", N(4.0))], B(true)), (&[("NP", N(5.0))], B(false))]);
        check(between, &[(&[], B(false))]);
        assert_eq!(value("1 < 3 > 2"), B(true));
        assert_eq!(value("3 > 2 > 2"), B(false));
        assert_eq!(value("1 == 1 != 2"), B(true));
    }

    #[test]
    fn missing_values_behave_as_in_pandas() {
        let missing: &[(&str, Value)] = &[("X", M)];
        for (text, expected) in [
            ("X > 1", B(false)),
            ("X == 1", B(false)),
            ("X != 1", B(true)),
            ("X == X", B(false)),
            ("X + 1", M),
            ("X * 0", M),
            ("-X", M),
            ("X.isin([1, 2])", B(false)),
            ("X.isin([1, np.nan])", B(true)),
            ("X.isna()", B(true)),
            ("X.isnull()", B(true)),
            ("X.notna()", B(false)),
            ("X.notnull()", B(false)),
            ("X.fillna(0) + 1", N(1.0)),
            ("np.where(X, 1, 2)", N(2.0)),
            ("X.between(1, 2)", B(false)),
            ("X.astype(float)", M),
            ("X.astype('Int64')", M),
            ("X.astype(bool)", B(true)),
            ("np.isnan(X)", B(true)),
            ("np.minimum(X, 1)", M),
            ("abs(X)", M),
            ("0 / 0", M),
            ("5 % 0", M),
            ("np.nan", M),
            ("None", M),
            ("nan == nan", B(false)),
        ] {
            assert_eq!(eval(text, missing), Ok(expected), "{text}");
        }
        assert_eq!(eval("X.fillna(0)", &[("X", N(f64::NAN))]), Ok(N(0.0)));
        assert_eq!(value("1 / 0"), N(f64::INFINITY));
        assert_eq!(value("-1 // 0"), N(f64::NEG_INFINITY));
        assert_eq!(value("inf == np.inf"), B(true));
    }

    #[test]
    fn methods_and_functions() {
        let x = |v: Value<'static>| [("X", v)];
        assert_eq!(eval("X.between(1, 3)", &x(N(1.0))), Ok(B(true)));
        assert_eq!(eval("X.between(1, 3)", &x(N(3.0))), Ok(B(true)));
        assert_eq!(eval("X.between(1, 3)", &x(N(4.0))), Ok(B(false)));
        assert_eq!(eval("X.between(1, 3, inclusive='neither')", &x(N(1.0))), Ok(B(false)));
        assert_eq!(eval("X.between(1, 3, 'left')", &x(N(1.0))), Ok(B(true)));
        assert_eq!(eval("X.between(1, 3, 'left')", &x(N(3.0))), Ok(B(false)));
        assert_eq!(eval("X.between(left=1, right=3)", &x(N(2.0))), Ok(B(true)));
        assert_eq!(eval("X.between('a', 'c')", &x(T("b"))), Ok(B(true)));
        assert_eq!(eval("X.isin(('a', 'b'))", &x(T("b"))), Ok(B(true)));
        assert_eq!(eval("X.isin({1, 2})", &x(N(2.0))), Ok(B(true)));
        assert_eq!(eval("X.isin((1,))", &x(N(1.0))), Ok(B(true)));
        assert_eq!(eval("X.isin([])", &x(N(1.0))), Ok(B(false)));
        assert_eq!(eval("X.isin(['1'])", &x(N(1.0))), Ok(B(false)));
        assert_eq!(eval("X.isin([1])", &x(B(true))), Ok(B(true)));
        assert_eq!(eval("X.isin([-1])", &x(N(-1.0))), Ok(B(true)));
        assert_eq!(eval("X.astype(int)", &x(N(2.7))), Ok(N(2.0)));
        assert_eq!(eval("X.astype(int)", &x(N(-2.7))), Ok(N(-2.0)));
        assert_eq!(eval("X.astype(np.int64)", &x(T(" 12 "))), Ok(N(12.0)));
        assert_eq!(eval("X.astype('float64')", &x(T("1.5"))), Ok(N(1.5)));
        assert_eq!(eval("X.astype(bool)", &x(N(0.0))), Ok(B(false)));
        assert_eq!(eval("X.astype(bool)", &x(N(2.0))), Ok(B(true)));
        assert_eq!(eval("X.astype(float) * 2", &x(B(true))), Ok(N(2.0)));
        assert_eq!(eval("X.astype(str)", &x(T("a"))), Ok(T("a")));
        assert_eq!(eval("X.astype(str) == '100'", &x(N(100.0))), Ok(B(true)));
        assert_eq!(eval("X.astype(str) == '0.5'", &x(N(0.5))), Ok(B(true)));
        assert_eq!(eval("X.astype(str) == 'True'", &x(B(true))), Ok(B(true)));
        assert_eq!(eval("X.abs()", &x(N(-2.0))), Ok(N(2.0)));
        assert_eq!(eval("abs(X)", &x(N(-2.0))), Ok(N(2.0)));
        assert_eq!(eval("np.abs(X)", &x(B(true))), Ok(N(1.0)));
        assert_eq!(eval("np.minimum(X, 4)", &x(N(6.0))), Ok(N(4.0)));
        assert_eq!(eval("np.maximum(X, 4)", &x(N(6.0))), Ok(N(6.0)));
        assert_eq!(eval("np.floor(X)", &x(N(-1.5))), Ok(N(-2.0)));
        assert_eq!(eval("np.ceil(X)", &x(N(1.2))), Ok(N(2.0)));
        assert_eq!(eval("np.isnan(X)", &x(N(1.0))), Ok(B(false)));
        assert_eq!(eval("np.where(X, 'yes', 'no') == 'yes'", &x(N(3.0))), Ok(B(true)));
        assert_eq!(eval("X.fillna('none') == 'none'", &[]), Ok(B(true)));
        assert_eq!(eval("X.fillna(value=0)", &[]), Ok(N(0.0)));
    }

    #[test]
    fn numbers_given_to_logic_operators_are_refused() {
        // Python reads this as NP >= (4 & X) == 1
        let text = "households.NP >= 4 & households.X == 1";
        let err = eval_err(text, &[("NP", N(5.0)), ("X", N(1.0))]);
        assert!(err.starts_with("\"&\" at character 20 of \"households.NP >= 4 & households.X == 1\": "), "{err}");
        assert!(err.contains("its left side is the number 4"), "{err}");
        assert!(err.contains("`&` combines conditions; put each comparison in parentheses, e.g. (a >= 4) & (b == 1)"));
        let err = eval_err("(X > 1) | 2", &[("X", N(2.0))]);
        assert!(err.contains("its right side is the number 2") && err.contains("`|` combines conditions"), "{err}");
        let err = eval_err("~X", &[("X", N(2.0))]);
        assert!(err.contains("`~` negates a condition"), "{err}");
        let err = eval_err("X and True", &[("X", T("a"))]);
        assert!(err.contains("its left side is the text \"a\""), "{err}");
        let err = eval_err("not X", &[("X", N(0.0))]);
        assert!(err.contains("`not` negates a condition"), "{err}");
    }

    #[test]
    fn missing_values_given_to_logic_operators_are_refused() {
        let err = eval_err("~households.FLAG", &[]);
        assert_eq!(
            err,
            "\"~\" at character 1 of \"~households.FLAG\": its operand, households.FLAG, is missing in this row; \
             fill it first, e.g. households.FLAG.fillna(False), or test it with .isna()"
        );
        assert_eq!(eval("~households.FLAG.fillna(False)", &[]), Ok(B(true)));
        let err = eval_err("(X > 1) & np.where(X > 1, Y, Y)", &[("X", N(2.0))]);
        assert!(err.contains("its right side, np.where(X > 1, Y, Y), is missing"), "{err}");
        assert!(err.contains("(np.where(X > 1, Y, Y)).fillna(False)"), "{err}");
        let err = eval_err("Y or True", &[]);
        assert!(err.contains("its left side, Y, is missing"), "{err}");
    }

    #[test]
    fn text_is_not_ordered_against_numbers() {
        let err = eval_err("persons.X < 3", &[("X", T("abc"))]);
        assert_eq!(
            err,
            "\"<\" at character 11 of \"persons.X < 3\": cannot compare the text \"abc\" with a number (is the column numeric?)"
        );
        assert!(
            eval_err("X.between(1, 2)", &[("X", T("abc"))]).contains("cannot compare the text \"abc\" with a number")
        );
        assert!(eval_err("X >= True", &[("X", T("abc"))]).contains("with the condition True"));
        assert_eq!(eval("X == 3", &[("X", T("abc"))]), Ok(B(false)));
        assert_eq!(eval("X != 3", &[("X", T("abc"))]), Ok(B(true)));
        let err = eval_err("X + 1", &[("X", T("abc"))]);
        assert!(err.contains("cannot do arithmetic with the text \"abc\" (is the column numeric?)"), "{err}");
        assert!(eval_err("np.floor(X)", &[("X", T("abc"))]).contains("needs a number, not the text \"abc\""));
        assert!(eval_err("np.isnan(X)", &[("X", T("abc"))]).contains("use .isna()"));
        assert!(eval_err("np.where(X, 1, 2)", &[("X", T("abc"))]).contains("its condition is the text"));
    }

    #[test]
    fn conversions_pandas_refuses_are_errors() {
        let err = eval_err("X.astype(int)", &[]);
        assert!(
            err.starts_with("\".astype\" at character 2 of \"X.astype(int)\": cannot convert a missing value to int")
        );
        assert!(err.contains(".fillna(0).astype(int)"), "{err}");
        assert!(eval_err("X.astype(int)", &[("X", N(f64::INFINITY))]).contains("cannot convert the number inf to int"));
        assert!(eval_err("X.astype(int)", &[("X", T("1.5"))]).contains("cannot convert the text \"1.5\" to int"));
        assert!(eval_err("X.astype(float)", &[("X", T("abc"))]).contains("cannot convert the text \"abc\" to float"));
        // text the expression made cannot be returned as a borrowed value
        let err = eval_err("X.astype(str)", &[("X", N(1.0))]);
        assert!(err.contains("gives the text \"1\"; a control expression must give a number or a condition"), "{err}");
    }

    #[test]
    fn unknown_tables_and_unsupported_features_are_named() {
        assert_eq!(
            parse_err("hh.NP > 1"),
            "unknown table \"hh\" at character 1 of \"hh.NP > 1\" (the tables are households, persons)"
        );
        assert_eq!(
            parse_err("hh['NP'] > 1"),
            "unknown table \"hh\" at character 1 of \"hh['NP'] > 1\" (the tables are households, persons)"
        );
        assert!(Expression::parse("households.NP", &[]).unwrap_err().contains("no table may prefix a column here"));
        let err = parse_err("np.log(households.X) > 1");
        assert!(err.starts_with("\"np.log\" is not supported (supported: np.where, np.abs, abs, np.minimum"), "{err}");
        assert!(err.ends_with("at character 1 of \"np.log(households.X) > 1\""), "{err}");
        let err = parse_err("households.X.str.contains('a')");
        assert!(err.starts_with("\".str\" is not supported (supported: .isna(), .isnull()"), "{err}");
        assert!(err.contains("at character 13"), "{err}");
        assert!(parse_err("X.str.contains('a')").starts_with("\".str\" is not supported"));
        assert!(parse_err("X.clip(0, 1)").starts_with("\".clip\" is not supported"));
        assert!(parse_err("len(X) > 1").starts_with("\"len\" is not supported (supported: np.where"));
        assert!(
            parse_err("(X > 1) ^ (Y > 1)").starts_with("\"^\" is not supported (supported: for \"one but not both\"")
        );
        assert!(parse_err("X in [1, 2]").starts_with("\"in\" is not supported (supported: x.isin"));
        assert!(parse_err("X not in [1, 2]").starts_with("\"not\" is not supported"));
        assert!(parse_err("X is None").starts_with("\"is\" is not supported"));
        assert!(parse_err("X.astype(complex)").contains("takes int, float, bool or str"));
        assert!(parse_err("X.isin(1)").contains("takes a list of values"));
        assert!(parse_err("X.isin((1))").contains("(x) is not a tuple"));
        assert!(parse_err("X.between(1)").contains("\"right\" is missing"));
        assert!(parse_err("np.where(X > 1, 1)").contains("takes (condition, x, y): \"y\" is missing"));
        assert!(parse_err("np.where(X > 1, 1, 2, 3)").contains("too many arguments"));
        assert!(parse_err("X.fillna(v=1)").contains("has no argument \"v\""));
        assert!(parse_err("X.between(1, 2, inclusive=True)").contains("inclusive must be"));
        assert!(parse_err("X.isna(1)").contains("takes (): too many arguments"));
        assert!(parse_err("X.isin([[1], 2])").contains("a list is supported only as the values of .isin"));
        assert!(parse_err("X[0]").starts_with("unknown table \"X\""));
        assert!(parse_err("[1, 2]").contains("a list is supported only as the values of .isin"));
        assert!(parse_err("(1, 2)").contains("a tuple is supported only"));
        assert!(parse_err("households").contains("a table is not a value"));
        assert!(parse_err("np").contains("numpy is not a value"));
        assert!(parse_err("np.where").contains("is a function; call it"));
        assert!(parse_err("households.X[0]").contains("indexing a value is not supported"));
    }

    #[test]
    fn syntax_errors_point_at_the_token() {
        assert_eq!(parse_err("(a > 1))"), "unexpected \")\" at character 8 of \"(a > 1))\"");
        assert_eq!(parse_err("(a > 1"), "\"(\" at character 1 of \"(a > 1\" is not closed");
        assert_eq!(
            parse_err("(a > 1 b)"),
            "unexpected \"b\" at character 8 of \"(a > 1 b)\" (expected \")\" to close the \"(\" at character 1)"
        );
        assert_eq!(parse_err("a > 1 b"), "unexpected \"b\" at character 7 of \"a > 1 b\"");
        assert_eq!(parse_err("a > 1 2"), "unexpected \"2\" at character 7 of \"a > 1 2\"");
        assert_eq!(parse_err("a >"), "\"a >\" ends too early, after \">\" at character 3");
        assert_eq!(parse_err(""), "the expression \"\" is empty");
        assert_eq!(parse_err("  "), "the expression \"  \" is empty");
        assert_eq!(parse_err("a = 1"), "unexpected \"=\" at character 3 of \"a = 1\" (to compare, write ==)");
        assert!(parse_err("a ! 1").starts_with("unexpected \"!\" at character 3 of \"a ! 1\""));
        assert_eq!(parse_err("a == 'b"), "the string starting at character 6 of \"a == 'b\" is not closed");
        assert_eq!(parse_err("a == 1abc"), "unexpected \"1abc\" at character 6 of \"a == 1abc\"");
        assert_eq!(parse_err("X.isin([1, 2)"), "unexpected \")\" at character 13 of \"X.isin([1, 2)\" (expected \",\" or \"]\" to close the \"[\" at character 8)");
        // positions count characters, not bytes
        assert_eq!(
            parse_err("households.X == \"é\" )"),
            "unexpected \")\" at character 21 of \"households.X == \\\"é\\\" )\""
        );
        assert!(parse_err("a $ 1").starts_with("unexpected \"$\" at character 3"));
        assert!(parse_err("a << 1").contains("(not supported)"));
        assert!(parse_err("a if b else c").contains("np.where"));
    }

    #[test]
    fn deep_nesting_is_a_parse_error_not_a_stack_overflow() {
        let n = 10_000;
        for text in [
            format!("{}1{}", "(".repeat(n), ")".repeat(n)),
            format!("{}1", "(".repeat(n)),
            format!("{}True", "~".repeat(n)),
            format!("{}True", "not ".repeat(n)),
            format!("{}1", "-".repeat(n)),
            format!("X{}", ".fillna(0)".repeat(n)),
            format!("2{}", " ** 2".repeat(n)),
            format!("{}1{}", "abs(".repeat(n), ")".repeat(n)),
            format!("{}1{}", "np.where(True, ".repeat(n), ", 0)".repeat(n)),
            format!("X.isin([{}1{}])", "(".repeat(n), ")".repeat(n)),
        ] {
            let err = parse_err(&text);
            assert!(err.starts_with("nested too deeply at character "), "{}: {err}", &text[..20]);
            assert!(err.len() < 400, "the message quotes only part of a long text: {err}");
        }
        // within the limit, with every precedence level at each depth, parsing and evaluating work
        // (the deepest trees: one bracket holding many precedence levels)
        let (mut conditions, mut numbers) = ("X".to_string(), "X".to_string());
        for _ in 0..MAX_DEPTH - 1 {
            conditions = format!("({conditions} == True | False & True and True or False)");
            numbers = format!("({numbers} * 1 + 0 & True | False == True and True or False)");
        }
        let e = Expression::parse(&conditions, &TABLES).unwrap();
        assert_eq!(e.evaluate(&|_| B(true)), Ok(B(true)));
        let e = Expression::parse(&numbers, &TABLES).unwrap();
        assert!(e.evaluate(&|_| N(1.0)).unwrap_err().contains("its left side is the number 1"));
        assert!(parse_err(&format!("({conditions})")).starts_with("nested too deeply"));
        let e = Expression::parse(&format!("{}X", "~".repeat(MAX_DEPTH - 1)), &TABLES).unwrap();
        assert_eq!(e.evaluate(&|_| B(true)), Ok(B(false)));
        // long flat chains are not deep
        let long = format!("1{}", " + 1".repeat(100_000));
        assert_eq!(value(&long), N(100_001.0));
        let long = format!("(X > 0){}", " & (X > 0)".repeat(50_000));
        assert_eq!(eval(&long, &[("X", N(1.0))]), Ok(B(true)));
    }

    #[test]
    fn long_expressions_are_quoted_around_the_fault() {
        let text = format!("{} )", "X + ".repeat(100) + "X");
        let err = parse_err(&text);
        assert!(err.starts_with("unexpected \")\" at character 403 of \"…"), "{err}");
        assert!(err.ends_with("X + X )\""), "{err}");
    }

    /// A value a row may hold.
    fn any_value() -> impl Strategy<Value = Value<'static>> {
        prop_oneof![
            prop_oneof![Just(0.0), Just(1.0), Just(-1.0), Just(2.5), Just(4.0), Just(f64::INFINITY), Just(f64::NAN)]
                .prop_map(N),
            any::<bool>().prop_map(B),
            prop_oneof![Just(""), Just("x"), Just("abc"), Just("1")].prop_map(T),
            Just(M),
        ]
    }

    /// A well-formed numeric (or text) operand.
    fn operand() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("households.A".to_string()),
            Just("B".to_string()),
            Just("households['C D']".to_string()),
            (-3i32..5).prop_map(|n| n.to_string()),
            Just("np.nan".to_string()),
            Just("np.inf".to_string()),
            Just("'x'".to_string()),
            Just("True".to_string()),
            Just("0.5".to_string()),
        ];
        leaf.prop_recursive(3, 24, 3, |inner| {
            let op = prop_oneof![Just("+"), Just("-"), Just("*"), Just("/"), Just("//"), Just("%"), Just("**")];
            prop_oneof![
                (inner.clone(), op, inner.clone()).prop_map(|(a, op, b)| format!("({a} {op} {b})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("np.where({a} > 1, {a}, {b})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("np.minimum({a}, {b})")),
                inner.clone().prop_map(|a| format!("({a}).fillna(1)")),
                inner.clone().prop_map(|a| format!("abs({a})")),
                inner.clone().prop_map(|a| format!("np.floor({a})")),
                inner.clone().prop_map(|a| format!("-{a}")),
                inner.clone().prop_map(|a| format!("({a}).astype(int)")),
                inner.prop_map(|a| format!("({a}).astype(str)")),
            ]
        })
    }

    /// A well-formed condition over operands.
    fn condition() -> impl Strategy<Value = String> {
        let cmp = prop_oneof![Just("=="), Just("!="), Just("<"), Just("<="), Just(">"), Just(">=")];
        let leaf = prop_oneof![
            (operand(), cmp.clone(), operand()).prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            (operand(), cmp.clone(), operand(), cmp, operand())
                .prop_map(|(a, op, b, op2, c)| format!("({a} {op} {b} {op2} {c})")),
            operand().prop_map(|a| format!("({a}).isna()")),
            operand().prop_map(|a| format!("({a}).isin([1, 'x', np.nan, -1])")),
            (operand(), operand(), operand()).prop_map(|(a, b, c)| format!("({a}).between({b}, {c})")),
            operand().prop_map(|a| format!("np.isnan({a})")),
        ];
        leaf.prop_recursive(3, 16, 2, |inner| {
            let op = prop_oneof![Just("&"), Just("|"), Just("and"), Just("or")];
            prop_oneof![
                (inner.clone(), op, inner.clone()).prop_map(|(a, op, b)| format!("({a} {op} {b})")),
                inner.clone().prop_map(|a| format!("~{a}")),
                inner.prop_map(|a| format!("(not {a})")),
            ]
        })
    }

    /// Fragments that make up plausible and implausible expressions.
    fn token_soup() -> impl Strategy<Value = String> {
        let fragment = prop_oneof![
            Just("households"),
            Just("persons"),
            Just("."),
            Just("NP"),
            Just("np"),
            Just("where"),
            Just("isin"),
            Just("("),
            Just(")"),
            Just("["),
            Just("]"),
            Just(","),
            Just("&"),
            Just("|"),
            Just("~"),
            Just("=="),
            Just("<"),
            Just(">="),
            Just("+"),
            Just("-"),
            Just("**"),
            Just("//"),
            Just("%"),
            Just("not"),
            Just("and"),
            Just("1"),
            Just(".5"),
            Just("1e"),
            Just("'a'"),
            Just("\""),
            Just("'"),
            Just("\\"),
            Just("é"),
            Just(" "),
            Just("fillna"),
            Just("astype"),
            Just("int"),
            Just("between"),
            Just("="),
            Just("inclusive"),
            Just("nan"),
            Just("_"),
            Just("{"),
            Just("}"),
            Just("^"),
            Just("isna"),
            Just("abs"),
            Just("True"),
            Just("inf"),
        ];
        proptest::collection::vec(fragment, 0..40).prop_map(|parts| parts.concat())
    }

    /// Evaluates `expression` for a row of `values` (cycled), which must not panic.
    fn evaluate_with(expression: &Expression, values: &[Value<'static>]) -> Result<Value<'static>, String> {
        expression.evaluate(&|i| values.get(i % values.len().max(1)).copied().unwrap_or(M))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            let text = String::from_utf8_lossy(&bytes);
            if let Ok(e) = Expression::parse(&text, &TABLES) {
                let _ = evaluate_with(&e, &[N(1.0), T("a"), M]);
            }
        }

        #[test]
        fn token_soup_never_panics(text in token_soup(), values in proptest::collection::vec(any_value(), 1..4)) {
            if let Ok(e) = Expression::parse(&text, &TABLES) {
                let _ = evaluate_with(&e, &values);
            }
        }

        #[test]
        fn well_formed_conditions_parse_and_evaluate_without_panic(
            text in condition(),
            values in proptest::collection::vec(any_value(), 3),
        ) {
            let e = Expression::parse(&text, &TABLES).map_err(TestCaseError::fail)?;
            prop_assert!(e.columns().len() <= 3);
            if let Ok(v) = evaluate_with(&e, &values) {
                prop_assert!(matches!(v, B(_)), "{} gave {:?}", text, v);
            }
        }
    }
}
