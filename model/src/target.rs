//! TargetPattern patterns: which methods a fault applies to.
//!
//! A target is written `CLASS#METHOD` or `CLASS#METHOD(PARAMS)`, the way a
//! Java developer names a method (`com.acme.Repo#save(com.acme.Order)`), and
//! is matched against what the JVM hands the agent: internal class names
//! (`com/acme/Repo`), method names and method descriptors
//! (`(Lcom/acme/Order;)V`). This module is the translation between the two
//! worlds, so nothing else needs to know how descriptors are spelled.
//!
//! The matchers are hand-written rather than built on `globset`: class
//! patterns need a `**` that means "whole package segments" and a trailing
//! `+`, method patterns must keep `*` away from `<init>`, and both are a few
//! lines each when written directly.

use std::fmt;
use std::str::FromStr;

/// Shown at the end of every target error, so the fix is in the message.
const TARGET_FORM: &str = "expected CLASS#METHOD or CLASS#METHOD(PARAMS), \
                           e.g. com.acme.Repo#save or com.acme.Repo#save(java.lang.String,..)";

/// Shown at the end of errors for class patterns given on their own.
const CLASS_FORM: &str = "expected a class name with optional wildcards, \
                          e.g. com.acme.Repo, com.acme.*Executor+ or com.acme.**";

/// The primitive types of Java, as written in source, with their descriptor
/// letters.
const PRIMITIVES: [(&str, char); 8] = [
    ("boolean", 'Z'),
    ("byte", 'B'),
    ("char", 'C'),
    ("short", 'S'),
    ("int", 'I'),
    ("long", 'J'),
    ("float", 'F'),
    ("double", 'D'),
];

/// A parsed `CLASS#METHOD(PARAMS)` pattern.
///
/// Class and method are matched separately because the agent meets them at
/// different times: the class when it loads, the methods when it rewrites
/// the class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetPattern {
    pub class: ClassPattern,
    pub method: MethodPattern,
    /// None when the target has no parentheses: any parameters match.
    pub params: Option<ParamsPattern>,
    text: String,
}

impl TargetPattern {
    /// Parses a target pattern; errors quote the input, say what is wrong and
    /// show the expected form.
    pub fn parse(text: &str) -> Result<TargetPattern, String> {
        let text = text.trim();
        let fail = |why: String| format!("invalid target {text:?}: {why} ({TARGET_FORM})");
        let Some((class, rest)) = text.split_once('#') else {
            return Err(fail(missing_hash_hint(text)));
        };
        if rest.contains('#') {
            return Err(fail("it has more than one '#'".to_string()));
        }
        let (method, params) = split_params(rest).map_err(fail)?;
        let class = ClassPattern::parse_bare(class).map_err(fail)?;
        let method = MethodPattern::parse(method).map_err(fail)?;
        let params = params.map(ParamsPattern::parse).transpose().map_err(fail)?;
        Ok(TargetPattern { class, method, params, text: text.to_string() })
    }

    /// The pattern as the user wrote it (surrounding whitespace removed).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether a method of a matching class is targeted: its name matches
    /// the method pattern and its descriptor the parameters, if any were
    /// given. The class is not checked here; see [`ClassPattern`].
    pub fn matches_method(&self, name: &str, descriptor: &str) -> bool {
        self.method.matches(name) && self.params.as_ref().is_none_or(|params| params.matches_descriptor(descriptor))
    }
}

impl FromStr for TargetPattern {
    type Err = String;

    fn from_str(text: &str) -> Result<TargetPattern, String> {
        TargetPattern::parse(text)
    }
}

impl fmt::Display for TargetPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The most common mistakes are `com.acme.Repo.save` and `com.acme.Repo::save`; suggest the
/// fix. A bare class (`com.acme.Repo`, capitalized last segment) gets `#*`.
fn missing_hash_hint(text: &str) -> String {
    if let Some((class, method)) = text.split_once("::") {
        return format!("missing '#' between class and method (did you mean {class}#{method}?)");
    }
    let head = text.split('(').next().unwrap_or(text);
    match head.rfind('.') {
        Some(dot) if dot > 0 => {
            let last = &text[dot + 1..];
            if last.starts_with(|c: char| c.is_ascii_uppercase()) {
                format!("missing '#' and a method (did you mean {text}#* for every method, or {text}#NAME?)")
            } else {
                format!("missing '#' between class and method (did you mean {}#{last}?)", &text[..dot])
            }
        }
        _ => "missing '#' between class and method".to_string(),
    }
}

/// Splits `name(params)` into the name and the text between parentheses.
fn split_params(text: &str) -> Result<(&str, Option<&str>), String> {
    let Some(open) = text.find('(') else {
        if text.contains(')') {
            return Err("unbalanced parentheses: ')' without '('".to_string());
        }
        return Ok((text, None));
    };
    let inside = &text[open + 1..];
    let Some(close) = inside.find(')') else {
        return Err("unbalanced parentheses: '(' without ')'".to_string());
    };
    if inside[..close].contains('(') {
        return Err("unbalanced parentheses: nested '('".to_string());
    }
    let after = &inside[close + 1..];
    if after.contains(')') {
        return Err("unbalanced parentheses: ')' without '('".to_string());
    }
    if !after.is_empty() {
        return Err(format!("unexpected {after:?} after the parameters"));
    }
    Ok((&text[..open], Some(&inside[..close])))
}

/// A class name pattern such as `com.acme.*Repository`, `com.acme.**` or
/// `com.acme.Inventory+`.
///
/// Written with dots like a Java name and matched against JVM internal names
/// (`com/acme/Outer$Inner`), segment by segment:
/// - `*` matches any run of characters within one package segment (so
///   `com.acme.*` matches `com.acme.Repo` and `com.acme.Outer$Inner`, but not
///   `com.acme.db.Repo`);
/// - `?` matches one character within a segment;
/// - `**`, as a whole segment, matches any number of segments: `com.**.Repo`
///   matches `com.Repo` and `com.a.b.Repo`; at the end it matches at least
///   one, so `java.**` is every class under `java` but not a class named
///   `java`.
///
/// A trailing `+` means "the class and every subclass or implementation".
/// Resolving supertypes needs the JVM, so [`ClassPattern::matches_name`]
/// checks the name only and the caller applies it to each supertype when
/// [`ClassPattern::subtypes`] is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassPattern {
    /// Segments of the glob, split at the dots.
    segments: Vec<String>,
    /// The internal name, when the pattern has no wildcard.
    literal: Option<String>,
    subtypes: bool,
    text: String,
}

impl ClassPattern {
    /// Parses a class pattern given on its own (such as a pool fault's
    /// `executor`).
    pub fn parse(text: &str) -> Result<ClassPattern, String> {
        let text = text.trim();
        ClassPattern::parse_bare(text).map_err(|why| format!("invalid class pattern {text:?}: {why} ({CLASS_FORM})"))
    }

    /// Parses the pattern and returns the bare reason on error, so that
    /// [`TargetPattern::parse`] can frame it with the target's own context.
    fn parse_bare(text: &str) -> Result<ClassPattern, String> {
        let (glob, subtypes) = match text.strip_suffix('+') {
            Some(glob) => (glob, true),
            None => (text, false),
        };
        if glob.is_empty() {
            return Err("the class is empty".to_string());
        }
        if glob.contains('+') {
            return Err("'+' may only end the class, as in com.acme.Repo+".to_string());
        }
        let mut segments = Vec::new();
        for segment in glob.split('.') {
            if segment.is_empty() {
                return Err("the class has an empty segment (two dots, or a dot at an end)".to_string());
            }
            if let Some(bad) = segment.chars().find(|&c| !(is_identifier_char(c) || c == '*' || c == '?')) {
                return Err(format!("illegal character {bad:?} in the class"));
            }
            if segment.contains("**") && segment != "**" {
                return Err(format!("'**' must be a whole segment, as in com.acme.**, not {segment:?}"));
            }
            segments.push(segment.to_string());
        }
        let literal = (!glob.contains(['*', '?'])).then(|| glob.replace('.', "/"));
        Ok(ClassPattern { segments, literal, subtypes, text: text.to_string() })
    }

    /// Whether an internal class name (`com/acme/Outer$Inner`) matches the
    /// glob, ignoring any trailing `+`.
    pub fn matches_name(&self, internal_name: &str) -> bool {
        let name: Vec<&str> = internal_name.split('/').collect();
        match_segments(&self.segments, &name)
    }

    /// Whether the pattern ended in `+`: subclasses and implementations of a
    /// matching class are targeted too.
    pub fn subtypes(&self) -> bool {
        self.subtypes
    }

    /// The internal name when the pattern has no wildcard, so callers can
    /// look the class up directly or warn that it is not loaded yet.
    pub fn literal(&self) -> Option<&str> {
        self.literal.as_deref()
    }

    /// The pattern as written.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl FromStr for ClassPattern {
    type Err = String;

    fn from_str(text: &str) -> Result<ClassPattern, String> {
        ClassPattern::parse(text)
    }
}

impl fmt::Display for ClassPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Matches glob segments against name segments, `**` spanning segments.
fn match_segments(pattern: &[String], name: &[&str]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((first, [])) if first == "**" => !name.is_empty(),
        Some((first, rest)) if first == "**" => (0..=name.len()).any(|skip| match_segments(rest, &name[skip..])),
        Some((first, rest)) => match name.split_first() {
            Some((segment, name_rest)) => wildcard_match(first, segment) && match_segments(rest, name_rest),
            None => false,
        },
    }
}

/// Matches `*` (any run of characters) and `?` (one character), with the
/// usual backtracking to the last `*`.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// Characters of Java identifiers, close enough for validation: the JVM
/// accepts more, but patterns name classes and methods written in Java or
/// Kotlin.
fn is_identifier_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// A method name glob: `save`, `find*`, `get?`, or `<init>` for constructors.
///
/// `*` and `?` match ordinary method names only: a plain `*` never matches a
/// constructor (`<init>`), because "every method of the class" almost never
/// means "and also make construction fail", and constructors are only
/// targeted when the pattern is exactly `<init>`. Static initializers
/// (`<clinit>`) are rejected outright: they run once, under the class-init
/// lock, and a fault there leaves the class permanently unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodPattern {
    text: String,
}

impl MethodPattern {
    /// Parses a method pattern; the error is the bare reason, as
    /// [`TargetPattern::parse`] frames it.
    pub fn parse(text: &str) -> Result<MethodPattern, String> {
        if text.is_empty() {
            return Err("the method is empty".to_string());
        }
        if text == "<clinit>" {
            return Err("<clinit> cannot be targeted: static initializers are never instrumented".to_string());
        }
        if text != "<init>" {
            if text.contains(['<', '>']) {
                return Err("'<' and '>' only appear in <init>, which names the constructors".to_string());
            }
            if let Some(bad) = text.chars().find(|&c| !(is_identifier_char(c) || c == '*' || c == '?')) {
                return Err(format!("illegal character {bad:?} in the method"));
            }
        }
        Ok(MethodPattern { text: text.to_string() })
    }

    /// Whether a method name matches; see the type's documentation for how
    /// constructors are treated.
    pub fn matches(&self, name: &str) -> bool {
        if name.starts_with('<') {
            return self.text == "<init>" && name == "<init>";
        }
        wildcard_match(&self.text, name)
    }

    /// The pattern as written.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for MethodPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Parameter types as written in Java source: `java.lang.String,int[]`,
/// `..` as the last element for "any further parameters", and an empty list
/// for "no parameters".
///
/// A class type is matched by its binary name (`com.acme.Outer$Inner`);
/// nested classes may also be written `Outer.Inner`, so `$` and `.` are
/// treated alike. A type that names no package (`Order`, `Outer$Order`,
/// `Outer.Order`: no dot, or a first segment starting with a capital) also
/// matches by its tail, so `Order` matches `com.acme.Order` and
/// `com.acme.Outer$Order`. Primitives match exactly; arrays by their `[]`
/// (or a final `...`) suffixes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamsPattern {
    types: Vec<TypePattern>,
    /// The list ended in `..`.
    any_tail: bool,
    text: String,
}

/// One parameter type of a [`ParamsPattern`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct TypePattern {
    base: TypeName,
    dims: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum TypeName {
    /// A primitive, by descriptor letter.
    Primitive(char),
    /// A class, with `$` and `/` normalised to `.`; `relative` when it names
    /// no package and may match the tail of a qualified name.
    Class { name: String, relative: bool },
}

impl ParamsPattern {
    /// Parses the text between the parentheses; the error is the bare
    /// reason, as [`TargetPattern::parse`] frames it.
    pub fn parse(text: &str) -> Result<ParamsPattern, String> {
        let mut types = Vec::new();
        let mut any_tail = false;
        if !text.trim().is_empty() {
            let elements: Vec<&str> = text.split(',').map(str::trim).collect();
            for (i, element) in elements.iter().enumerate() {
                let last = i + 1 == elements.len();
                if *element == ".." {
                    if !last {
                        return Err("'..' (any further parameters) must be the last parameter".to_string());
                    }
                    any_tail = true;
                } else {
                    types.push(parse_type(element, last)?);
                }
            }
        }
        Ok(ParamsPattern { types, any_tail, text: text.to_string() })
    }

    /// Whether a JVM method descriptor such as `(Ljava/lang/String;[IJ)V`
    /// has matching parameters. A malformed descriptor matches nothing.
    pub fn matches_descriptor(&self, descriptor: &str) -> bool {
        let Ok(params) = parse_descriptor(descriptor) else {
            return false;
        };
        let count_fits =
            if self.any_tail { params.len() >= self.types.len() } else { params.len() == self.types.len() };
        count_fits && self.types.iter().zip(&params).all(|(pattern, param)| pattern.matches(param))
    }

    /// The text between the parentheses, as written.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for ParamsPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl TypePattern {
    fn matches(&self, param: &FieldType) -> bool {
        if self.dims != param.dims {
            return false;
        }
        match (&self.base, &param.base) {
            (TypeName::Primitive(want), BaseType::Primitive(have)) => want == have,
            (TypeName::Class { name, relative }, BaseType::Class(internal)) => {
                let have = internal.replace(['/', '$'], ".");
                have == *name
                    || (*relative
                        && have.len() > name.len()
                        && have.ends_with(name.as_str())
                        && have[..have.len() - name.len()].ends_with('.'))
            }
            _ => false,
        }
    }
}

/// Parses one source-style type such as `int[]`, `java.util.Map` or (as the
/// last parameter) `String...`.
fn parse_type(text: &str, last: bool) -> Result<TypePattern, String> {
    let fail = |why: &str| Err(format!("bad parameter type {text:?}: {why}"));
    if text.is_empty() {
        return fail("it is empty");
    }
    let mut base = text;
    let mut dims = 0;
    if let Some(varargs) = base.strip_suffix("...") {
        if !last {
            return fail("'...' is only allowed on the last parameter");
        }
        base = varargs;
        dims += 1;
    }
    while let Some(element) = base.strip_suffix("[]") {
        base = element;
        dims += 1;
    }
    if base.is_empty() {
        return fail("it has no type name");
    }
    if base == "void" {
        return fail("void is not a parameter type");
    }
    if let Some(&(_, letter)) = PRIMITIVES.iter().find(|(name, _)| *name == base) {
        return Ok(TypePattern { base: TypeName::Primitive(letter), dims });
    }
    if let Err(why) = check_binary_name(base) {
        return fail(&why);
    }
    let relative = !base.contains('.') || base.starts_with(char::is_uppercase);
    Ok(TypePattern { base: TypeName::Class { name: base.replace('$', "."), relative }, dims })
}

/// Checks that `name` is dot-separated Java identifiers (`$` allowed), the
/// form of a binary class name such as `com.acme.Outer$Inner`.
pub(crate) fn check_binary_name(name: &str) -> Result<(), String> {
    for segment in name.split('.') {
        let mut chars = segment.chars();
        match chars.next() {
            None => return Err("it has an empty segment (two dots, or a dot at an end)".to_string()),
            Some(c) if c.is_ascii_digit() => return Err(format!("segment {segment:?} starts with a digit")),
            Some(c) if !is_identifier_char(c) => return Err(format!("illegal character {c:?}")),
            Some(_) => {}
        }
        if let Some(bad) = chars.find(|&c| !is_identifier_char(c)) {
            return Err(format!("illegal character {bad:?}"));
        }
    }
    Ok(())
}

/// One parameter of a method descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldType {
    base: BaseType,
    dims: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum BaseType {
    /// Descriptor letter, such as `I` or `J`.
    Primitive(char),
    /// Internal name, such as `java/lang/String`.
    Class(String),
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.base {
            BaseType::Primitive(letter) => {
                let name = PRIMITIVES.iter().find(|(_, l)| l == letter).map_or("?", |(name, _)| name);
                f.write_str(name)?;
            }
            BaseType::Class(internal) => f.write_str(&internal.replace('/', "."))?,
        }
        for _ in 0..self.dims {
            f.write_str("[]")?;
        }
        Ok(())
    }
}

/// Parses the parameters of a method descriptor, checking the return type
/// too so that a truncated descriptor is not taken for a valid one.
fn parse_descriptor(descriptor: &str) -> Result<Vec<FieldType>, String> {
    let fail = |why: &str| Err(format!("invalid method descriptor {descriptor:?}: {why}"));
    let Some(mut rest) = descriptor.strip_prefix('(') else {
        return fail("it does not start with '('");
    };
    let mut params = Vec::new();
    loop {
        if let Some(after) = rest.strip_prefix(')') {
            rest = after;
            break;
        }
        match parse_field_type(rest) {
            Some((field, after)) => {
                params.push(field);
                rest = after;
            }
            None => return fail("a parameter type is malformed"),
        }
    }
    if rest == "V" {
        return Ok(params);
    }
    match parse_field_type(rest) {
        Some((_, "")) => Ok(params),
        _ => fail("the return type is malformed"),
    }
}

/// Reads one field type from the start of `text`, returning it and the rest.
fn parse_field_type(text: &str) -> Option<(FieldType, &str)> {
    let dims = text.len() - text.trim_start_matches('[').len();
    let rest = &text[dims..];
    let first = rest.chars().next()?;
    if first == 'L' {
        let end = rest.find(';')?;
        let internal = &rest[1..end];
        if internal.is_empty() {
            return None;
        }
        let field = FieldType { base: BaseType::Class(internal.to_string()), dims };
        return Some((field, &rest[end + 1..]));
    }
    PRIMITIVES.iter().find(|(_, letter)| *letter == first)?;
    let field = FieldType { base: BaseType::Primitive(first), dims };
    Some((field, &rest[first.len_utf8()..]))
}

/// The parameters of a JVM method descriptor as Java source types:
/// `(Ljava/lang/String;[IJ)V` gives `["java.lang.String", "int[]", "long"]`.
/// Nested classes keep their binary `$` (`com.acme.Outer$Inner`).
pub fn descriptor_params(descriptor: &str) -> Result<Vec<String>, String> {
    Ok(parse_descriptor(descriptor)?.iter().map(FieldType::to_string).collect())
}

/// The parameters of a JVM method descriptor as field descriptors:
/// `(Ljava/lang/String;[IJ)V` gives `["Ljava/lang/String;", "[I", "J"]`.
pub fn descriptor_param_descriptors(descriptor: &str) -> Result<Vec<String>, String> {
    parse_descriptor(descriptor)?;
    let mut rest = &descriptor[1..];
    let mut out = Vec::new();
    while !rest.starts_with(')') {
        let before = rest;
        // parse_descriptor accepted it, so every parameter reads.
        let Some((_, after)) = parse_field_type(rest) else { break };
        out.push(before[..before.len() - after.len()].to_string());
        rest = after;
    }
    Ok(out)
}

/// The return type of a JVM method descriptor as a field descriptor (`V` for void).
pub fn descriptor_return(descriptor: &str) -> &str {
    descriptor.rsplit_once(')').map_or("V", |(_, r)| r)
}

/// How events and status name a method: the class dotted, the descriptor
/// raw (`com.acme.Repo#save(Lcom/acme/Order;)V`), so overloads stay apart
/// and the string can be pasted back into a target up to the `(`.
pub fn method_display(class_internal: &str, name: &str, descriptor: &str) -> String {
    format!("{}#{name}{descriptor}", class_internal.replace('/', "."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_split_into_parameter_descriptors() {
        assert_eq!(
            descriptor_param_descriptors("(Ljava/lang/String;[IJ[[Lcom/acme/A$B;Z)V").unwrap(),
            ["Ljava/lang/String;", "[I", "J", "[[Lcom/acme/A$B;", "Z"]
        );
        assert_eq!(descriptor_param_descriptors("()I").unwrap(), Vec::<String>::new());
        assert!(descriptor_param_descriptors("(X)V").is_err());
        assert_eq!(descriptor_return("(J)Ljava/util/List;"), "Ljava/util/List;");
    }

    fn target(text: &str) -> TargetPattern {
        match TargetPattern::parse(text) {
            Ok(target) => target,
            Err(e) => panic!("{text:?} did not parse: {e}"),
        }
    }

    fn target_err(text: &str) -> String {
        match TargetPattern::parse(text) {
            Ok(target) => panic!("{text:?} parsed as {target:?}"),
            Err(e) => e,
        }
    }

    fn class(text: &str) -> ClassPattern {
        match ClassPattern::parse(text) {
            Ok(pattern) => pattern,
            Err(e) => panic!("{text:?} did not parse: {e}"),
        }
    }

    fn params(text: &str) -> ParamsPattern {
        match ParamsPattern::parse(text) {
            Ok(pattern) => pattern,
            Err(e) => panic!("{text:?} did not parse: {e}"),
        }
    }

    #[test]
    fn parses_class_and_method() {
        let t = target("com.acme.OrderRepository#save");
        assert_eq!(t.class.literal(), Some("com/acme/OrderRepository"));
        assert_eq!(t.method.text(), "save");
        assert_eq!(t.params, None);
    }

    #[test]
    fn parses_params() {
        let t = target("com.acme.PaymentClient#charge(long)");
        assert!(t.params.is_some());
        assert!(t.matches_method("charge", "(J)V"));
        assert!(!t.matches_method("charge", "(I)V"));
    }

    #[test]
    fn display_gives_back_the_text() {
        let text = "com.acme.Inventory+#reserve(java.lang.String,..)";
        let t = target(text);
        assert_eq!(t.to_string(), text);
        assert_eq!(t.text(), text);
    }

    #[test]
    fn from_str_parses() {
        let t: Result<TargetPattern, _> = "com.acme.Repo#save".parse();
        assert_eq!(t, TargetPattern::parse("com.acme.Repo#save"));
    }

    #[test]
    fn trims_surrounding_whitespace() {
        assert_eq!(target("  com.acme.Repo#save \n").text(), "com.acme.Repo#save");
    }

    #[test]
    fn rejects_missing_hash_with_a_suggestion() {
        let e = target_err("com.acme.Repo.save");
        assert!(e.contains("missing '#'"), "{e}");
        assert!(e.contains("did you mean com.acme.Repo#save?"), "{e}");
        let e = TargetPattern::parse("com.acme.OrderRepository::save").unwrap_err();
        assert!(e.contains("did you mean com.acme.OrderRepository#save?"), "{e}");
        let e = TargetPattern::parse("com.acme.OrderRepository").unwrap_err();
        assert!(e.contains("did you mean com.acme.OrderRepository#* for every method"), "{e}");
        assert!(e.contains("expected CLASS#METHOD"), "{e}");
    }

    #[test]
    fn rejects_two_hashes() {
        assert!(target_err("a.B#c#d").contains("more than one '#'"));
    }

    #[test]
    fn rejects_empty_class() {
        assert!(target_err("#save").contains("class is empty"));
        assert!(target_err("+#save").contains("class is empty"));
    }

    #[test]
    fn rejects_empty_method() {
        assert!(target_err("com.acme.Repo#").contains("method is empty"));
        assert!(target_err("com.acme.Repo#(int)").contains("method is empty"));
    }

    #[test]
    fn rejects_unbalanced_parentheses() {
        for text in ["a.B#c(int", "a.B#c)", "a.B#c(int))", "a.B#c((int)"] {
            assert!(target_err(text).contains("unbalanced parentheses"), "{text}");
        }
    }

    #[test]
    fn rejects_text_after_params() {
        assert!(target_err("a.B#c(int)x").contains(r#"unexpected "x""#));
    }

    #[test]
    fn rejects_plus_inside_the_class() {
        let e = target_err("com.acme+.Repo#save");
        assert!(e.contains("'+' may only end the class"), "{e}");
    }

    #[test]
    fn rejects_illegal_characters() {
        assert!(target_err("com.acme/Repo#save").contains("illegal character '/' in the class"));
        assert!(target_err("com.acme.Repo#sa-ve").contains("illegal character '-' in the method"));
        assert!(target_err("com.acme.Repo#save me").contains("illegal character ' '"));
    }

    #[test]
    fn rejects_empty_class_segments() {
        assert!(target_err("com..Repo#save").contains("empty segment"));
        assert!(target_err(".Repo#save").contains("empty segment"));
    }

    #[test]
    fn rejects_double_star_inside_a_segment() {
        assert!(target_err("com.acme**#save").contains("'**' must be a whole segment"));
    }

    #[test]
    fn rejects_static_initializers() {
        let e = target_err("com.acme.Repo#<clinit>");
        assert!(e.contains("static initializers are never instrumented"), "{e}");
    }

    #[test]
    fn rejects_angle_brackets_outside_init() {
        assert!(target_err("com.acme.Repo#<*>").contains("only appear in <init>"));
    }

    #[test]
    fn rejects_dot_dot_not_last() {
        let e = target_err("a.B#c(..,int)");
        assert!(e.contains("'..'"), "{e}");
        assert!(e.contains("must be the last"), "{e}");
    }

    #[test]
    fn rejects_bad_param_types() {
        assert!(target_err("a.B#c(int,,long)").contains("bad parameter type \"\": it is empty"));
        assert!(target_err("a.B#c(java.lang.)").contains("empty segment"));
        assert!(target_err("a.B#c(9lives)").contains("starts with a digit"));
        assert!(target_err("a.B#c(void)").contains("void is not a parameter type"));
        assert!(target_err("a.B#c(Map<String>)").contains("illegal character '<'"));
        assert!(target_err("a.B#c(int...,long)").contains("only allowed on the last"));
    }

    #[test]
    fn class_star_stays_within_a_segment() {
        let p = class("com.acme.*Repository");
        assert!(p.matches_name("com/acme/OrderRepository"));
        assert!(!p.matches_name("com/acme/db/OrderRepository"));
        assert!(!p.matches_name("com/acme/OrderService"));
    }

    #[test]
    fn class_star_matches_nested_classes() {
        assert!(class("com.acme.*").matches_name("com/acme/Outer$Inner"));
        assert!(class("com.acme.Outer$*").matches_name("com/acme/Outer$Inner"));
    }

    #[test]
    fn class_question_mark_matches_one_char() {
        let p = class("com.acme.Repo?");
        assert!(p.matches_name("com/acme/Repo2"));
        assert!(!p.matches_name("com/acme/Repo"));
        assert!(!p.matches_name("com/acme/Repo22"));
    }

    #[test]
    fn class_double_star_crosses_segments() {
        let p = class("com.acme.**");
        assert!(p.matches_name("com/acme/a/b/C"));
        assert!(p.matches_name("com/acme/C"));
        assert!(!p.matches_name("com/acme"));
        assert!(!p.matches_name("com/other/C"));
        assert!(class("java.**").matches_name("java/lang/String"));
        assert!(class("java.**").matches_name("java/util/concurrent/ThreadPoolExecutor"));
    }

    #[test]
    fn class_double_star_in_the_middle_matches_zero_or_more_segments() {
        let p = class("com.**.Repo");
        assert!(p.matches_name("com/Repo"));
        assert!(p.matches_name("com/a/b/Repo"));
        assert!(!p.matches_name("com/a/b/Repo2"));
    }

    #[test]
    fn class_literal_matches_only_itself() {
        let p = class("com.acme.Outer$Inner");
        assert!(p.matches_name("com/acme/Outer$Inner"));
        assert!(!p.matches_name("com/acme/Outer"));
        assert_eq!(p.literal(), Some("com/acme/Outer$Inner"));
    }

    #[test]
    fn class_with_wildcards_has_no_literal() {
        assert_eq!(class("com.acme.*").literal(), None);
        assert_eq!(class("com.acme.Rep?").literal(), None);
    }

    #[test]
    fn class_plus_sets_subtypes_and_is_ignored_by_the_glob() {
        let p = class("com.acme.Inventory+");
        assert!(p.subtypes());
        assert!(p.matches_name("com/acme/Inventory"));
        assert_eq!(p.literal(), Some("com/acme/Inventory"));
        assert!(!class("com.acme.Inventory").subtypes());
    }

    #[test]
    fn class_pattern_errors_show_the_expected_form() {
        let e = match ClassPattern::parse("com.acme.Repo#save") {
            Ok(p) => panic!("parsed as {p:?}"),
            Err(e) => e,
        };
        assert!(e.starts_with(r#"invalid class pattern "com.acme.Repo#save""#), "{e}");
        assert!(e.contains("com.acme.*Executor+"), "{e}");
    }

    #[test]
    fn method_glob_matches_names() {
        let t = target("a.B#find*");
        assert!(t.method.matches("findAll"));
        assert!(t.method.matches("find"));
        assert!(!t.method.matches("refind"));
        assert!(target("a.B#ge?").method.matches("get"));
    }

    #[test]
    fn method_star_does_not_match_constructors() {
        let t = target("a.B#*");
        assert!(t.method.matches("save"));
        assert!(!t.method.matches("<init>"));
        assert!(!t.method.matches("<clinit>"));
    }

    #[test]
    fn method_init_matches_constructors_only() {
        let t = target("a.B#<init>");
        assert!(t.method.matches("<init>"));
        assert!(!t.method.matches("init"));
        assert!(!t.method.matches("<clinit>"));
    }

    #[test]
    fn params_match_source_types() {
        let p = params("java.lang.String,int[],long");
        assert!(p.matches_descriptor("(Ljava/lang/String;[IJ)V"));
        assert!(!p.matches_descriptor("(Ljava/lang/String;IJ)V"));
        assert!(!p.matches_descriptor("(Ljava/lang/Object;[IJ)V"));
    }

    #[test]
    fn empty_params_match_no_parameters() {
        let p = params("");
        assert!(p.matches_descriptor("()V"));
        assert!(!p.matches_descriptor("(I)V"));
        assert!(target("a.B#c()").matches_method("c", "()I"));
    }

    #[test]
    fn absent_params_match_any_parameters() {
        let t = target("a.B#c");
        assert!(t.matches_method("c", "()V"));
        assert!(t.matches_method("c", "(IJLjava/lang/String;)V"));
    }

    #[test]
    fn dot_dot_matches_any_tail() {
        let p = params("java.lang.String,..");
        assert!(p.matches_descriptor("(Ljava/lang/String;)V"));
        assert!(p.matches_descriptor("(Ljava/lang/String;IJ)V"));
        assert!(!p.matches_descriptor("()V"));
        assert!(!p.matches_descriptor("(I)V"));
        assert!(params("..").matches_descriptor("()V"));
    }

    #[test]
    fn simple_name_matches_any_package() {
        let p = params("Order");
        assert!(p.matches_descriptor("(Lcom/acme/Order;)V"));
        assert!(p.matches_descriptor("(Lcom/acme/Outer$Order;)V"));
        assert!(p.matches_descriptor("(LOrder;)V"));
        assert!(!p.matches_descriptor("(Lcom/acme/BigOrder;)V"));
    }

    #[test]
    fn qualified_name_matches_exactly() {
        let p = params("java.util.Map");
        assert!(p.matches_descriptor("(Ljava/util/Map;)V"));
        assert!(!p.matches_descriptor("(Lcom/acme/java/util/Map;)V"));
    }

    #[test]
    fn nested_classes_match_with_dollar_or_dot() {
        for written in ["com.acme.Outer$Inner", "com.acme.Outer.Inner", "Outer$Inner", "Outer.Inner"] {
            assert!(params(written).matches_descriptor("(Lcom/acme/Outer$Inner;)V"), "{written}");
        }
    }

    #[test]
    fn primitives_match_exactly() {
        assert!(params("int").matches_descriptor("(I)V"));
        assert!(!params("int").matches_descriptor("(J)V"));
        assert!(!params("int").matches_descriptor("(Ljava/lang/Integer;)V"));
        assert!(params("boolean,char,short,byte,float,double").matches_descriptor("(ZCSBFD)V"));
    }

    #[test]
    fn arrays_match_by_dimensions() {
        assert!(params("long[][]").matches_descriptor("([[J)V"));
        assert!(!params("long[]").matches_descriptor("([[J)V"));
        assert!(params("String[]").matches_descriptor("([Ljava/lang/String;)V"));
    }

    #[test]
    fn varargs_match_an_array() {
        assert!(params("int,String...").matches_descriptor("(I[Ljava/lang/String;)V"));
    }

    #[test]
    fn params_allow_spaces_around_commas() {
        assert!(target("a.B#c( int , long )").matches_method("c", "(IJ)V"));
    }

    #[test]
    fn malformed_descriptors_match_nothing() {
        let p = params("..");
        for descriptor in ["", "I", "(I", "(Q)V", "(L;)V", "(I)", "(I)VV", "(Ljava/lang/String)V"] {
            assert!(!p.matches_descriptor(descriptor), "{descriptor:?}");
        }
    }

    #[test]
    fn matches_method_checks_name_and_params() {
        let t = target("com.acme.Repo#save(com.acme.Order)");
        assert!(t.matches_method("save", "(Lcom/acme/Order;)V"));
        assert!(!t.matches_method("load", "(Lcom/acme/Order;)V"));
        assert!(!t.matches_method("save", "(Lcom/acme/Order;I)V"));
    }

    #[test]
    fn descriptor_params_gives_source_types() {
        assert_eq!(
            descriptor_params("(Ljava/lang/String;[IJ)V"),
            Ok(vec!["java.lang.String".to_string(), "int[]".to_string(), "long".to_string()])
        );
        assert_eq!(
            descriptor_params("([[Lcom/acme/Outer$Inner;Z)Ljava/lang/Object;"),
            Ok(vec!["com.acme.Outer$Inner[][]".to_string(), "boolean".to_string()])
        );
        assert_eq!(descriptor_params("()V"), Ok(vec![]));
    }

    #[test]
    fn descriptor_params_rejects_malformed_descriptors() {
        let e = match descriptor_params("(X)V") {
            Ok(p) => panic!("parsed as {p:?}"),
            Err(e) => e,
        };
        assert!(e.contains(r#"invalid method descriptor "(X)V""#), "{e}");
    }

    #[test]
    fn method_display_dots_the_class_and_keeps_the_descriptor() {
        assert_eq!(
            method_display("com/acme/Repo", "save", "(Lcom/acme/Order;)V"),
            "com.acme.Repo#save(Lcom/acme/Order;)V"
        );
    }

    #[test]
    fn wildcard_match_backtracks() {
        assert!(wildcard_match("*a*b", "xaybab"));
        assert!(wildcard_match("a*", "a"));
        assert!(!wildcard_match("*a", "ab"));
        assert!(wildcard_match("**", ""));
    }
}
