//! Conditions on a call (`when`): a small expression language over the call's arguments,
//! its receiver, its result (at exit), the thread's name and the calling method.
//!
//! ```text
//! arg0 == 'b' && arg1 > 500
//! arg0.total >= 10000 || caller matches '.*Checkout.*'
//! len(arg0.items) > 3 && !(thread contains 'batch')
//! result in [0, -1]
//! ```
//!
//! Parsed once when a fault is armed (and by `faultline check`); every error names the
//! 1-based column. [`Condition::check_against`] type-checks a condition against one method
//! (its descriptor), so that an argument beyond the method's parameters, `result` on a void
//! method or a comparison that can never hold is refused before anything is armed. The agent
//! evaluates the parsed expression in the JVM.

use std::fmt;

/// A parsed condition, with the text it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub text: String,
    pub expr: Expr,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare {
        op: CmpOp,
        left: Term,
        right: Term,
    },
    /// The left value's text contains the right one; or a collection or array contains it;
    /// or a map has it as a key.
    Contains {
        left: Term,
        right: Term,
    },
    /// The left value's `toString` matches a Java regular expression, whole.
    Matches {
        left: Term,
        pattern: String,
        column: usize,
    },
    /// The left value equals one of the literals.
    In {
        left: Term,
        items: Vec<Literal>,
    },
    /// A boolean operand on its own (`arg2`, `arg0.active`).
    Truthy(Term),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    fn ordering(self) -> bool {
        matches!(self, CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge)
    }
}

/// A value in a condition, with the column it starts at.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub kind: TermKind,
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TermKind {
    /// An operand, then member accesses: `arg0.customer.id` is `Arg(0)` with `["customer", "id"]`.
    Operand(Operand, Vec<String>),
    /// The length of a string, array, collection or map.
    Len(Box<Term>),
    Literal(Literal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operand {
    /// The receiver (`this`); not in static methods, nor at the entry of a constructor.
    This,
    /// The N-th parameter, from 0.
    Arg(u16),
    /// The value the method returned (faults at exit only).
    Result,
    /// The calling thread's name.
    Thread,
    /// The calling method, as `class#method`.
    Caller,
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::This => f.write_str("this"),
            Operand::Arg(n) => write!(f, "arg{n}"),
            Operand::Result => f.write_str("result"),
            Operand::Thread => f.write_str("thread"),
            Operand::Caller => f.write_str("caller"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    Null,
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Int(n) => write!(f, "{n}"),
            Literal::Float(x) => write!(f, "{x:?}"),
            Literal::Str(s) => write!(f, "'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Null => f.write_str("null"),
        }
    }
}

/// Why a condition was refused: the column (1-based, in characters) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionError {
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ConditionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

impl Condition {
    /// Parses a condition; `result` is accepted only when `at_exit`.
    pub fn parse(text: &str, at_exit: bool) -> Result<Condition, ConditionError> {
        let tokens = lex(text)?;
        let mut parser = Parser { tokens: &tokens, pos: 0, end_column: text.chars().count() + 1 };
        let expr = parser.or()?;
        if let Some(t) = parser.peek() {
            return Err(ConditionError {
                column: t.column,
                message: format!(
                    "unexpected {} after a complete condition (join conditions with && or ||)",
                    t.describe()
                ),
            });
        }
        let condition = Condition { text: text.to_string(), expr };
        if !at_exit {
            if let Some(column) = condition.first_use(Operand::Result) {
                return Err(ConditionError {
                    column,
                    message: "result is known only at exit: add at = \"exit\" (CLI: --at exit)".into(),
                });
            }
        }
        Ok(condition)
    }

    /// The operands the condition reads, each once, in order.
    pub fn operands(&self) -> Vec<Operand> {
        let mut out = Vec::new();
        self.expr.visit_terms(&mut |t| {
            if let TermKind::Operand(op, _) = &t.kind {
                if !out.contains(op) {
                    out.push(*op);
                }
            }
        });
        out.sort();
        out
    }

    /// The column of the first use of `operand`, if any.
    fn first_use(&self, operand: Operand) -> Option<usize> {
        let mut found = None;
        self.expr.visit_terms(&mut |t| {
            if let TermKind::Operand(op, _) = &t.kind {
                if *op == operand && found.is_none() {
                    found = Some(t.column);
                }
            }
        });
        found
    }

    /// Checks the condition against one method: every argument it names exists, `this` and
    /// `result` are there, members are read from objects only, and no comparison is one
    /// that can never hold. `descriptor` is the method's JVM descriptor.
    pub fn check_against(&self, method: &MethodShape<'_>) -> Result<(), ConditionError> {
        check_expr(&self.expr, method)
    }
}

/// What the checker needs to know about a method.
#[derive(Debug, Clone, Copy)]
pub struct MethodShape<'a> {
    /// `(Ljava/lang/String;J)V`
    pub descriptor: &'a str,
    pub is_static: bool,
    pub is_constructor: bool,
    pub at_exit: bool,
}

impl Expr {
    fn visit_terms(&self, f: &mut impl FnMut(&Term)) {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.visit_terms(f);
                b.visit_terms(f);
            }
            Expr::Not(a) => a.visit_terms(f),
            Expr::Compare { left, right, .. } | Expr::Contains { left, right } => {
                left.visit(f);
                right.visit(f);
            }
            Expr::Matches { left, .. } | Expr::In { left, .. } | Expr::Truthy(left) => left.visit(f),
        }
    }
}

impl Term {
    fn visit(&self, f: &mut impl FnMut(&Term)) {
        f(self);
        if let TermKind::Len(inner) = &self.kind {
            inner.visit(f);
        }
    }
}

// ------------------------------------------------------------------------ lexing

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Int(i64),
    Float(f64),
    Str(String),
    Op(&'static str),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    column: usize,
}

impl Token {
    fn describe(&self) -> String {
        match &self.tok {
            Tok::Ident(s) => format!("'{s}'"),
            Tok::Int(n) => format!("number {n}"),
            Tok::Float(x) => format!("number {x}"),
            Tok::Str(s) => format!("string '{s}'"),
            Tok::Op(o) => format!("'{o}'"),
        }
    }
}

const OPERATORS: [&str; 14] = ["==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")", "[", "]", ","];

fn lex(text: &str) -> Result<Vec<Token>, ConditionError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '\'' || c == '"' {
            let (s, next) = string_literal(&chars, i)?;
            out.push(Token { tok: Tok::Str(s), column });
            i = next;
            continue;
        }
        if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.' || chars[i] == '_') {
                // A dot followed by a letter is a member access, not a decimal point.
                if chars[i] == '.' && !chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()) {
                    break;
                }
                i += 1;
            }
            let word: String = chars[start..i].iter().filter(|c| **c != '_').collect();
            let tok = if word.contains(['.', 'e', 'E']) && !word.starts_with("0x") && !word.starts_with("-0x") {
                word.parse::<f64>()
                    .map(Tok::Float)
                    .map_err(|_| ConditionError { column, message: format!("'{word}' is not a number") })?
            } else {
                parse_int(&word).map(Tok::Int).ok_or_else(|| ConditionError {
                    column,
                    message: format!("'{word}' is not a number (whole numbers fit in 64 bits)"),
                })?
            };
            out.push(Token { tok, column });
            continue;
        }
        if c.is_alphabetic() || c == '_' || c == '$' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$') {
                i += 1;
            }
            out.push(Token { tok: Tok::Ident(chars[start..i].iter().collect()), column });
            continue;
        }
        if c == '.' {
            out.push(Token { tok: Tok::Op("."), column });
            i += 1;
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
        match OPERATORS.iter().find(|op| rest.starts_with(**op)) {
            Some(op) => {
                out.push(Token { tok: Tok::Op(op), column });
                i += op.chars().count();
            }
            None => {
                let hint = match c {
                    '=' => " (equality is ==)",
                    '&' => " (and is &&)",
                    '|' => " (or is ||)",
                    _ => "",
                };
                return Err(ConditionError { column, message: format!("unexpected character '{c}'{hint}") });
            }
        }
    }
    Ok(out)
}

fn parse_int(word: &str) -> Option<i64> {
    let (negative, digits) = match word.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, word),
    };
    let magnitude = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        Some(hex) => i128::from_str_radix(hex, 16).ok()?,
        None => digits.parse::<i128>().ok()?,
    };
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

/// A quoted string from `start` (the quote); returns it and the index after the closing quote.
fn string_literal(chars: &[char], start: usize) -> Result<(String, usize), ConditionError> {
    let quote = chars[start];
    let mut out = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            c if c == quote => return Ok((out, i + 1)),
            '\\' => {
                let escaped = chars.get(i + 1).copied().ok_or_else(|| ConditionError {
                    column: i + 1,
                    message: "a backslash ends the text: escape it as \\\\".into(),
                })?;
                out.push(match escaped {
                    'n' => '\n',
                    't' => '\t',
                    other => other,
                });
                i += 2;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Err(ConditionError { column: start + 1, message: format!("the string starting here has no closing {quote}") })
}

// ------------------------------------------------------------------------ parsing

struct Parser<'a> {
    tokens: &'a [Token],
    pos: usize,
    /// The column just past the text, for "ends too early" errors.
    end_column: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn at_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Op(o), .. }) if *o == op)
    }

    fn at_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Ident(w), .. }) if w == word)
    }

    fn expect_op(&mut self, op: &str, what: &str) -> Result<(), ConditionError> {
        if self.at_op(op) {
            self.pos += 1;
            return Ok(());
        }
        Err(self.error_here(format!("expected '{op}' {what}")))
    }

    fn error_here(&self, message: String) -> ConditionError {
        match self.peek() {
            Some(t) => ConditionError { column: t.column, message: format!("{message}, found {}", t.describe()) },
            None => ConditionError { column: self.end_column, message: format!("{message}, but the condition ends") },
        }
    }

    fn or(&mut self) -> Result<Expr, ConditionError> {
        let mut left = self.and()?;
        while self.at_op("||") {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ConditionError> {
        let mut left = self.unary()?;
        while self.at_op("&&") {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ConditionError> {
        if self.at_op("!") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.at_op("(") {
            self.pos += 1;
            let inner = self.or()?;
            self.expect_op(")", "to close the '('")?;
            return Ok(inner);
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, ConditionError> {
        let left = self.term()?;
        let op = match self.peek() {
            Some(Token { tok: Tok::Op(o), .. }) => match *o {
                "==" => Some(CmpOp::Eq),
                "!=" => Some(CmpOp::Ne),
                "<" => Some(CmpOp::Lt),
                "<=" => Some(CmpOp::Le),
                ">" => Some(CmpOp::Gt),
                ">=" => Some(CmpOp::Ge),
                _ => None,
            },
            _ => None,
        };
        if let Some(op) = op {
            self.pos += 1;
            let right = self.term()?;
            return Ok(Expr::Compare { op, left, right });
        }
        if self.at_word("contains") {
            self.pos += 1;
            return Ok(Expr::Contains { left, right: self.term()? });
        }
        if self.at_word("matches") {
            self.pos += 1;
            return match self.next() {
                Some(Token { tok: Tok::Str(pattern), column }) => Ok(Expr::Matches { left, pattern, column }),
                _ => {
                    self.pos -= 1;
                    Err(self.error_here("expected a quoted regular expression after 'matches'".into()))
                }
            };
        }
        if self.at_word("in") {
            self.pos += 1;
            self.expect_op("[", "after 'in' (a list: in [1, 2])")?;
            let mut items = Vec::new();
            loop {
                let t = self.term()?;
                match t.kind {
                    TermKind::Literal(l) => items.push(l),
                    _ => {
                        return Err(ConditionError {
                            column: t.column,
                            message: "a list after 'in' holds literals only (numbers, strings, true, false, null)"
                                .into(),
                        })
                    }
                }
                if self.at_op(",") {
                    self.pos += 1;
                    continue;
                }
                self.expect_op("]", "to close the list")?;
                break;
            }
            return Ok(Expr::In { left, items });
        }
        match &left.kind {
            TermKind::Literal(_) => Err(ConditionError {
                column: left.column,
                message: "a literal on its own is no condition: compare it, e.g. arg0 == 5".into(),
            }),
            _ => Ok(Expr::Truthy(left)),
        }
    }

    fn term(&mut self) -> Result<Term, ConditionError> {
        let Some(token) = self.next() else {
            return Err(ConditionError {
                column: self.end_column,
                message: "expected a value (arg0, this, result, thread, caller, a number or a string), but the condition ends".into(),
            });
        };
        let column = token.column;
        let kind = match token.tok {
            Tok::Int(n) => TermKind::Literal(Literal::Int(n)),
            Tok::Float(x) => TermKind::Literal(Literal::Float(x)),
            Tok::Str(s) => TermKind::Literal(Literal::Str(s)),
            Tok::Ident(word) => match word.as_str() {
                "true" => TermKind::Literal(Literal::Bool(true)),
                "false" => TermKind::Literal(Literal::Bool(false)),
                "null" => TermKind::Literal(Literal::Null),
                "len" => {
                    self.expect_op("(", "after len (len(arg0))")?;
                    let inner = self.term()?;
                    self.expect_op(")", "to close len(")?;
                    TermKind::Len(Box::new(inner))
                }
                _ => {
                    let operand = operand(&word).ok_or_else(|| ConditionError {
                        column,
                        message: format!(
                            "unknown operand '{word}'{}; operands are arg0, arg1, ..., this, result, thread, caller",
                            crate::spelling::suggestion(&word, &["arg0", "this", "result", "thread", "caller", "len"])
                        ),
                    })?;
                    let mut members = Vec::new();
                    while self.at_op(".") {
                        self.pos += 1;
                        match self.next() {
                            Some(Token { tok: Tok::Ident(name), .. })
                                if !matches!(name.as_str(), "contains" | "matches" | "in") =>
                            {
                                members.push(name)
                            }
                            _ => {
                                self.pos -= 1;
                                return Err(self.error_here("expected a field or getter name after '.'".into()));
                            }
                        }
                    }
                    TermKind::Operand(operand, members)
                }
            },
            Tok::Op(_) => {
                self.pos -= 1;
                return Err(self
                    .error_here("expected a value (arg0, this, result, thread, caller, a number or a string)".into()));
            }
        };
        Ok(Term { kind, column })
    }
}

fn operand(word: &str) -> Option<Operand> {
    match word {
        "this" => Some(Operand::This),
        "result" => Some(Operand::Result),
        "thread" => Some(Operand::Thread),
        "caller" => Some(Operand::Caller),
        _ => {
            let digits = word.strip_prefix("arg")?;
            if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
                return None;
            }
            digits.parse::<u16>().ok().filter(|n| *n < 255).map(Operand::Arg)
        }
    }
}

// ------------------------------------------------------------------------ checking

/// What a value is known to be before the call: enough to refuse comparisons that can never
/// hold. `Object` covers anything read through members, which only the JVM can tell.
#[derive(Debug, Clone, PartialEq)]
enum Static {
    Int,
    Floating,
    Boolean,
    Char,
    Text,
    /// A boxed number (`Integer`, `Long`, `BigDecimal`, ...): compares by value.
    Number,
    /// Any other reference, by JVM type descriptor (`Ljava/util/List;`, `[I`).
    Object(String),
    /// Known only when the call happens.
    Unknown,
    Null,
}

impl Static {
    fn of_descriptor(d: &str) -> Static {
        match d {
            "I" | "J" | "S" | "B" => Static::Int,
            "F" | "D" => Static::Floating,
            "Z" => Static::Boolean,
            "C" => Static::Char,
            "Ljava/lang/String;" | "Ljava/lang/CharSequence;" => Static::Text,
            "Ljava/lang/Integer;"
            | "Ljava/lang/Long;"
            | "Ljava/lang/Short;"
            | "Ljava/lang/Byte;"
            | "Ljava/lang/Double;"
            | "Ljava/lang/Float;"
            | "Ljava/lang/Number;"
            | "Ljava/math/BigDecimal;"
            | "Ljava/math/BigInteger;" => Static::Number,
            other => Static::Object(other.to_string()),
        }
    }

    fn primitive(&self) -> bool {
        matches!(self, Static::Int | Static::Floating | Static::Boolean | Static::Char)
    }

    fn numeric(&self) -> bool {
        matches!(self, Static::Int | Static::Floating | Static::Number | Static::Char)
    }

    fn name(&self) -> String {
        match self {
            Static::Int => "a whole number".into(),
            Static::Floating => "a floating-point number".into(),
            Static::Boolean => "a boolean".into(),
            Static::Char => "a char".into(),
            Static::Text => "a string".into(),
            Static::Number => "a number object".into(),
            Static::Object(d) => format!("a {}", descriptor_name(d)),
            Static::Unknown => "a value".into(),
            Static::Null => "null".into(),
        }
    }
}

/// `Ljava/util/List;` as `java.util.List`, `[I` as `int[]`.
pub fn descriptor_name(d: &str) -> String {
    crate::target::descriptor_params(&format!("({d})V")).ok().and_then(|mut v| v.pop()).unwrap_or_else(|| d.to_string())
}

fn check_expr(e: &Expr, m: &MethodShape<'_>) -> Result<(), ConditionError> {
    match e {
        Expr::And(a, b) | Expr::Or(a, b) => {
            check_expr(a, m)?;
            check_expr(b, m)
        }
        Expr::Not(a) => check_expr(a, m),
        Expr::Truthy(t) => {
            let s = static_type(t, m)?;
            if !matches!(s, Static::Boolean | Static::Unknown)
                && !matches!(&s, Static::Object(d) if d == "Ljava/lang/Boolean;" || d == "Ljava/lang/Object;")
            {
                return Err(ConditionError {
                    column: t.column,
                    message: format!("{} is {}, not true or false: compare it (e.g. == 0)", term_text(t), s.name()),
                });
            }
            Ok(())
        }
        Expr::Compare { op, left, right } => {
            let (l, r) = (static_type(left, m)?, static_type(right, m)?);
            if let Some(why) = never_compares(*op, &l, &r) {
                return Err(ConditionError {
                    column: left.column,
                    message: format!(
                        "{} {} {} can never be true: {why}",
                        term_text(left),
                        op.as_str(),
                        term_text(right)
                    ),
                });
            }
            Ok(())
        }
        Expr::Contains { left, right } => {
            let l = static_type(left, m)?;
            static_type(right, m)?;
            if l.primitive() {
                return Err(ConditionError {
                    column: left.column,
                    message: format!(
                        "{} is {}: 'contains' needs a string, array, collection or map",
                        term_text(left),
                        l.name()
                    ),
                });
            }
            Ok(())
        }
        Expr::Matches { left, .. } | Expr::In { left, .. } => static_type(left, m).map(|_| ()),
    }
}

/// Why `l op r` can never hold, when the types already say so.
fn never_compares(op: CmpOp, l: &Static, r: &Static) -> Option<String> {
    use Static::*;
    let text_char = |a: &Static, b: &Static| matches!((a, b), (Char, Text) | (Text, Char));
    if matches!(l, Unknown) || matches!(r, Unknown) || text_char(l, r) {
        return None;
    }
    if matches!(l, Null) || matches!(r, Null) {
        let other = if matches!(l, Null) { r } else { l };
        if other.primitive() {
            return Some(format!("{} is never null", other.name()));
        }
        if op.ordering() {
            return Some("null has no order: use == or !=".into());
        }
        return None;
    }
    if op.ordering() && (matches!(l, Boolean) || matches!(r, Boolean)) {
        return Some("true and false have no order: use == or !=".into());
    }
    let numeric_vs = |a: &Static, b: &Static| a.numeric() && matches!(b, Text | Boolean);
    if numeric_vs(l, r) || numeric_vs(r, l) {
        return Some(format!("{} is never equal to {}", l.name(), r.name()));
    }
    if matches!((l, r), (Boolean, Text) | (Text, Boolean)) {
        return Some(format!("{} is never equal to {}", l.name(), r.name()));
    }
    None
}

fn term_text(t: &Term) -> String {
    match &t.kind {
        TermKind::Operand(op, members) => {
            let mut s = op.to_string();
            for m in members {
                s.push('.');
                s.push_str(m);
            }
            s
        }
        TermKind::Len(inner) => format!("len({})", term_text(inner)),
        TermKind::Literal(l) => l.to_string(),
    }
}

fn static_type(t: &Term, m: &MethodShape<'_>) -> Result<Static, ConditionError> {
    let fail = |message: String| ConditionError { column: t.column, message };
    match &t.kind {
        TermKind::Literal(Literal::Int(_)) => Ok(Static::Int),
        TermKind::Literal(Literal::Float(_)) => Ok(Static::Floating),
        TermKind::Literal(Literal::Str(_)) => Ok(Static::Text),
        TermKind::Literal(Literal::Bool(_)) => Ok(Static::Boolean),
        TermKind::Literal(Literal::Null) => Ok(Static::Null),
        TermKind::Len(inner) => {
            let s = static_type(inner, m)?;
            if s.primitive() || matches!(s, Static::Number | Static::Null) {
                return Err(fail(format!(
                    "len({}) needs a string, array, collection or map; {} is {}",
                    term_text(inner),
                    term_text(inner),
                    s.name()
                )));
            }
            Ok(Static::Int)
        }
        TermKind::Operand(op, members) => {
            let base = match op {
                Operand::Thread | Operand::Caller => Static::Text,
                Operand::This => {
                    if m.is_static {
                        return Err(fail("this: the method is static, it has no receiver".into()));
                    }
                    if m.is_constructor && !m.at_exit {
                        return Err(fail("this: at the entry of a constructor the object is not built yet".into()));
                    }
                    Static::Unknown
                }
                Operand::Result => {
                    let ret = m.descriptor.rsplit_once(')').map_or("V", |(_, r)| r);
                    if ret == "V" {
                        return Err(fail("result: the method returns nothing (void)".into()));
                    }
                    Static::of_descriptor(ret)
                }
                Operand::Arg(n) => {
                    let params = crate::target::descriptor_param_descriptors(m.descriptor).map_err(fail)?;
                    match params.get(*n as usize) {
                        Some(d) => Static::of_descriptor(d),
                        None => {
                            return Err(fail(format!(
                                "arg{n} does not exist: the method takes {} parameter{} (arg0 is the first)",
                                params.len(),
                                if params.len() == 1 { "" } else { "s" }
                            )))
                        }
                    }
                }
            };
            if let Some(first) = members.first() {
                if base.primitive() {
                    return Err(fail(format!("{op} is {}: it has no member '{first}'", base.name())));
                }
                return Ok(Static::Unknown);
            }
            Ok(base)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Condition {
        Condition::parse(text, true).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn err(text: &str) -> ConditionError {
        Condition::parse(text, true).expect_err(text)
    }

    fn shape(descriptor: &str) -> MethodShape<'_> {
        MethodShape { descriptor, is_static: false, is_constructor: false, at_exit: true }
    }

    fn check(text: &str, descriptor: &str) -> Result<(), ConditionError> {
        parse(text).check_against(&shape(descriptor))
    }

    #[test]
    fn the_contract_examples_parse() {
        let c = parse("arg0 == 'b' && arg1 > 500");
        assert_eq!(c.operands(), vec![Operand::Arg(0), Operand::Arg(1)]);
        match &c.expr {
            Expr::And(a, b) => {
                assert!(matches!(**a, Expr::Compare { op: CmpOp::Eq, .. }));
                assert!(matches!(**b, Expr::Compare { op: CmpOp::Gt, .. }));
            }
            other => panic!("{other:?}"),
        }
        parse("result > 1000");
        parse("arg0.total >= 10000 || caller matches '.*Checkout.*'");
        parse("len(arg0.items) > 3 && !(thread contains \"batch\")");
        parse("result in [0, -1, 2.5, 'x', null, true]");
        parse("arg2");
        parse("!arg0.active");
    }

    #[test]
    fn and_binds_tighter_than_or() {
        match parse("arg0 == 1 || arg0 == 2 && arg1 == 3").expr {
            Expr::Or(_, right) => assert!(matches!(*right, Expr::And(..))),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn members_chain_and_numbers_keep_their_dots() {
        let c = parse("arg0.customer.id == 1.5");
        match c.expr {
            Expr::Compare { left, right, .. } => {
                assert_eq!(left.kind, TermKind::Operand(Operand::Arg(0), vec!["customer".into(), "id".into()]));
                assert_eq!(right.kind, TermKind::Literal(Literal::Float(1.5)));
                assert_eq!(right.column, 21);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse("arg0 > -10_000").expr,
            Expr::Compare { right: Term { kind: TermKind::Literal(Literal::Int(-10000)), .. }, .. }
        ));
    }

    #[test]
    fn syntax_errors_name_the_column() {
        let e = err("arg0 = 5");
        assert_eq!(e.column, 6, "{e}");
        assert!(e.message.contains("equality is =="), "{e}");
        let e = err("arg0 == ");
        assert_eq!(e.column, 9, "{e}");
        assert!(e.message.contains("condition ends"), "{e}");
        let e = err("arg0 == 'b");
        assert_eq!(e.column, 9, "{e}");
        assert!(e.message.contains("no closing"), "{e}");
        let e = err("(arg0 > 1");
        assert!(e.message.contains("')'"), "{e}");
        let e = err("argument0 > 1");
        assert_eq!(e.column, 1);
        assert!(e.message.contains("unknown operand 'argument0'"), "{e}");
        let e = err("arg0 > 1 arg1");
        assert_eq!(e.column, 10, "{e}");
        let e = err("5");
        assert!(e.message.contains("literal on its own"), "{e}");
        let e = err("arg0 in [arg1]");
        assert!(e.message.contains("literals only"), "{e}");
        let e = err("arg0 matches 5");
        assert!(e.message.contains("quoted regular expression"), "{e}");
        let e = err("arg0 && ");
        assert!(e.message.contains("condition ends"), "{e}");
    }

    #[test]
    fn result_is_refused_at_entry() {
        let e = Condition::parse("arg0 > 1 && result > 2", false).unwrap_err();
        assert_eq!(e.column, 13);
        assert!(e.message.contains("at = \"exit\""), "{e}");
    }

    #[test]
    fn arguments_are_checked_against_the_method() {
        check("arg0 == 'b' && arg1 > 500", "(Ljava/lang/String;J)V").unwrap();
        let e = check("arg2 > 5", "(Ljava/lang/String;J)V").unwrap_err();
        assert_eq!(e.column, 1);
        assert!(e.message.contains("arg2 does not exist") && e.message.contains("2 parameters"), "{e}");
        let e = check("result > 5", "(J)V").unwrap_err();
        assert!(e.message.contains("void"), "{e}");
        let e = MethodShape { is_static: true, ..shape("()V") };
        let e = parse("this.x == 1").check_against(&e).unwrap_err();
        assert!(e.message.contains("static"), "{e}");
        let ctor = MethodShape { is_constructor: true, at_exit: false, ..shape("()V") };
        let e = Condition::parse("this.x == 1", false).unwrap().check_against(&ctor).unwrap_err();
        assert!(e.message.contains("constructor"), "{e}");
    }

    #[test]
    fn comparisons_that_can_never_hold_are_refused() {
        let e = check("arg0 > 'x'", "(I)V").unwrap_err();
        assert!(e.message.contains("can never be true"), "{e}");
        assert!(check("arg0 == 'b'", "(C)V").is_ok(), "a char compares with a one-letter string");
        assert!(check("arg0 == null", "(I)V").unwrap_err().message.contains("never null"));
        assert!(check("arg0 < true", "(Z)V").unwrap_err().message.contains("no order"));
        assert!(check("arg0.total > 'x'", "(Lcom/acme/Order;)V").is_ok(), "members are known only at run time");
        assert!(check("arg0 > 5", "(Ljava/lang/Long;)V").is_ok(), "boxed numbers compare by value");
        let e = check("arg0.total > 5", "(J)V").unwrap_err();
        assert!(e.message.contains("no member 'total'"), "{e}");
        let e = check("len(arg0) > 5", "(J)V").unwrap_err();
        assert!(e.message.contains("len(arg0)"), "{e}");
        let e = check("arg0", "(J)V").unwrap_err();
        assert!(e.message.contains("not true or false"), "{e}");
        let e = check("arg0 contains 'x'", "(J)V").unwrap_err();
        assert!(e.message.contains("'contains' needs"), "{e}");
        assert!(check("result in [1, 2]", "()I").is_ok());
        assert!(check("thread contains 'http' && caller matches '.*Checkout.*'", "()V").is_ok());
    }
}
