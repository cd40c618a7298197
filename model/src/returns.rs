//! What a `return` fault makes a method return (`value`), and whether a method's declared
//! return type can take it.

use std::fmt;

use crate::condition::descriptor_name;
use crate::target::descriptor_return;

/// A `value` as written in a scenario (a TOML scalar) or on the command line.
#[derive(Debug, Clone, PartialEq)]
pub enum ReturnValue {
    /// `"null"`: no object.
    Null,
    /// `"empty"`: an empty `Optional`, collection, map, array or stream of the declared type.
    Empty,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A string, or the name of an enum constant of the declared type.
    Str(String),
}

impl ReturnValue {
    /// The value a TOML scalar stands for: the strings `"null"` and `"empty"` are keywords.
    pub fn from_toml(value: &toml::Value) -> Option<ReturnValue> {
        match value {
            toml::Value::String(s) if s == "null" => Some(ReturnValue::Null),
            toml::Value::String(s) if s == "empty" => Some(ReturnValue::Empty),
            toml::Value::String(s) => Some(ReturnValue::Str(s.clone())),
            toml::Value::Integer(n) => Some(ReturnValue::Int(*n)),
            toml::Value::Float(x) => Some(ReturnValue::Float(*x)),
            toml::Value::Boolean(b) => Some(ReturnValue::Bool(*b)),
            _ => None,
        }
    }

    /// Reads a command-line value: `null`, `empty`, `true`, `false`, a number, or text (quote
    /// text that looks like a number or keyword: `'"42"'`).
    pub fn from_flag(text: &str) -> ReturnValue {
        let t = text.trim();
        if let Some(inner) = t.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            return ReturnValue::Str(inner.to_string());
        }
        match t {
            "null" => ReturnValue::Null,
            "empty" => ReturnValue::Empty,
            "true" => ReturnValue::Bool(true),
            "false" => ReturnValue::Bool(false),
            _ => {
                if let Ok(n) = t.parse::<i64>() {
                    ReturnValue::Int(n)
                } else if let Some(x) = t.parse::<f64>().ok().filter(|x| x.is_finite()) {
                    ReturnValue::Float(x)
                } else {
                    ReturnValue::Str(text.to_string())
                }
            }
        }
    }

    /// As TOML, so that reading it back gives the same value.
    pub fn to_toml(&self) -> String {
        match self {
            ReturnValue::Null => "\"null\"".into(),
            ReturnValue::Empty => "\"empty\"".into(),
            ReturnValue::Bool(b) => b.to_string(),
            ReturnValue::Int(n) => n.to_string(),
            ReturnValue::Float(x) => toml::Value::Float(*x).to_string(),
            ReturnValue::Str(s) => toml::Value::String(s.clone()).to_string(),
        }
    }

    /// Whether a method returning `descriptor`'s return type can return this value; why not.
    /// Strings on other object types are taken for enum constant names (checked in the JVM,
    /// where the type is known).
    pub fn fits(value: Option<&ReturnValue>, descriptor: &str) -> Result<(), String> {
        let ret = descriptor_return(descriptor);
        let Some(value) = value else {
            return if ret == "V" {
                Ok(())
            } else {
                Err(format!("returns {}: give the value to return (value = ...)", descriptor_name(ret)))
            };
        };
        if ret == "V" {
            return Err("returns nothing (void): leave out value, and the body is skipped".into());
        }
        let type_name = descriptor_name(ret);
        let refuse = || Err(format!("returns {type_name}, which cannot take {}", value.describe()));
        let int_in = |lo: i64, hi: i64| match value {
            ReturnValue::Int(n) if (lo..=hi).contains(n) => Ok(()),
            ReturnValue::Int(n) => Err(format!("returns {type_name}: {n} is out of its range {lo}..{hi}")),
            _ => refuse(),
        };
        let boxed = |primitive: &str| -> Result<(), String> {
            if *value == ReturnValue::Null {
                return Ok(());
            }
            ReturnValue::fits(Some(value), &format!("(){primitive}"))
                .map_err(|_| format!("returns {type_name}, which cannot take {}", value.describe()))
        };
        match ret {
            "Z" => match value {
                ReturnValue::Bool(_) => Ok(()),
                _ => refuse(),
            },
            "B" => int_in(i8::MIN.into(), i8::MAX.into()),
            "S" => int_in(i16::MIN.into(), i16::MAX.into()),
            "I" => int_in(i32::MIN.into(), i32::MAX.into()),
            "J" => int_in(i64::MIN, i64::MAX),
            "C" => match value {
                ReturnValue::Str(s) if s.chars().count() == 1 && s.chars().all(|c| (c as u32) < 0x10000) => Ok(()),
                ReturnValue::Int(_) => int_in(0, 0xFFFF),
                _ => refuse(),
            },
            "F" | "D" => match value {
                ReturnValue::Int(_) | ReturnValue::Float(_) => Ok(()),
                _ => refuse(),
            },
            "Ljava/lang/Boolean;" => boxed("Z"),
            "Ljava/lang/Byte;" => boxed("B"),
            "Ljava/lang/Short;" => boxed("S"),
            "Ljava/lang/Integer;" => boxed("I"),
            "Ljava/lang/Long;" => boxed("J"),
            "Ljava/lang/Character;" => boxed("C"),
            "Ljava/lang/Float;" => boxed("F"),
            "Ljava/lang/Double;" => boxed("D"),
            "Ljava/lang/String;" | "Ljava/lang/CharSequence;" => match value {
                ReturnValue::Str(_) | ReturnValue::Null => Ok(()),
                _ => refuse(),
            },
            "Ljava/lang/Object;" => match value {
                ReturnValue::Empty => refuse(),
                _ => Ok(()),
            },
            _ if empty_type(ret) => match value {
                ReturnValue::Empty | ReturnValue::Null => Ok(()),
                _ => refuse(),
            },
            _ if ret.starts_with('L') => match value {
                // An enum constant's name; the JVM checks that the type has it.
                ReturnValue::Str(_) | ReturnValue::Null => Ok(()),
                _ => refuse(),
            },
            _ => refuse(),
        }
    }

    /// For messages: `the number -1`, `"null"`.
    pub fn describe(&self) -> String {
        match self {
            ReturnValue::Null => "null".into(),
            ReturnValue::Empty => "\"empty\"".into(),
            ReturnValue::Bool(b) => format!("the boolean {b}"),
            ReturnValue::Int(n) => format!("the number {n}"),
            ReturnValue::Float(x) => format!("the number {x}"),
            ReturnValue::Str(s) => format!("the string {s:?}"),
        }
    }
}

impl fmt::Display for ReturnValue {
    /// The value as events and status show it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReturnValue::Null => f.write_str("null"),
            ReturnValue::Empty => f.write_str("empty"),
            ReturnValue::Bool(b) => write!(f, "{b}"),
            ReturnValue::Int(n) => write!(f, "{n}"),
            ReturnValue::Float(x) => write!(f, "{x}"),
            ReturnValue::Str(s) => f.write_str(s),
        }
    }
}

/// Types whose empty value `"empty"` names.
fn empty_type(ret: &str) -> bool {
    ret.starts_with('[')
        || matches!(
            ret,
            "Ljava/util/Optional;"
                | "Ljava/util/OptionalInt;"
                | "Ljava/util/OptionalLong;"
                | "Ljava/util/OptionalDouble;"
                | "Ljava/lang/Iterable;"
                | "Ljava/util/Collection;"
                | "Ljava/util/List;"
                | "Ljava/util/Set;"
                | "Ljava/util/SortedSet;"
                | "Ljava/util/NavigableSet;"
                | "Ljava/util/Map;"
                | "Ljava/util/SortedMap;"
                | "Ljava/util/NavigableMap;"
                | "Ljava/util/Iterator;"
                | "Ljava/util/stream/Stream;"
                | "Ljava/util/stream/IntStream;"
                | "Ljava/util/stream/LongStream;"
                | "Ljava/util/stream/DoubleStream;"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fits(v: ReturnValue, d: &str) -> Result<(), String> {
        ReturnValue::fits(Some(&v), d)
    }

    #[test]
    fn numbers_are_range_checked_against_the_return_type() {
        assert!(fits(ReturnValue::Int(-1), "()I").is_ok());
        assert!(fits(ReturnValue::Int(127), "()B").is_ok());
        let e = fits(ReturnValue::Int(300), "()B").unwrap_err();
        assert!(e.contains("300 is out of its range -128..127"), "{e}");
        assert!(fits(ReturnValue::Int(i64::MAX), "()J").is_ok());
        assert!(fits(ReturnValue::Int(1 << 40), "()I").is_err());
        assert!(fits(ReturnValue::Float(0.5), "()D").is_ok());
        assert!(fits(ReturnValue::Int(2), "()F").is_ok());
        assert!(fits(ReturnValue::Float(0.5), "()I").is_err());
        assert!(fits(ReturnValue::Int(-1), "()Ljava/lang/Integer;").is_ok());
        assert!(fits(ReturnValue::Null, "()Ljava/lang/Integer;").is_ok());
        assert!(fits(ReturnValue::Null, "()I").is_err());
        assert!(fits(ReturnValue::Str("x".into()), "()C").is_ok());
        assert!(fits(ReturnValue::Int(65), "()Ljava/lang/Character;").is_ok());
    }

    #[test]
    fn strings_empties_and_enums_go_where_they_fit() {
        assert!(fits(ReturnValue::Str("ok".into()), "()Ljava/lang/String;").is_ok());
        assert!(fits(ReturnValue::Bool(true), "()Ljava/lang/String;").is_err());
        assert!(fits(ReturnValue::Empty, "()Ljava/util/Optional;").is_ok());
        assert!(fits(ReturnValue::Empty, "()[Ljava/lang/String;").is_ok());
        assert!(fits(ReturnValue::Empty, "()Ljava/util/stream/Stream;").is_ok());
        let e = fits(ReturnValue::Empty, "()Ljava/lang/String;").unwrap_err();
        assert!(e.contains("java.lang.String"), "{e}");
        assert!(fits(ReturnValue::Str("GOLD".into()), "()Lcom/acme/Tier;").is_ok(), "an enum constant name");
        assert!(fits(ReturnValue::Int(1), "()Lcom/acme/Tier;").is_err());
    }

    #[test]
    fn void_methods_take_no_value_and_others_need_one() {
        assert!(ReturnValue::fits(None, "(J)V").is_ok());
        assert!(ReturnValue::fits(Some(&ReturnValue::Int(1)), "(J)V").unwrap_err().contains("void"));
        assert!(ReturnValue::fits(None, "()I").unwrap_err().contains("give the value"));
    }

    #[test]
    fn command_line_values_read_as_their_kind() {
        assert_eq!(ReturnValue::from_flag("-1"), ReturnValue::Int(-1));
        assert_eq!(ReturnValue::from_flag("2.5"), ReturnValue::Float(2.5));
        assert_eq!(ReturnValue::from_flag("null"), ReturnValue::Null);
        assert_eq!(ReturnValue::from_flag("empty"), ReturnValue::Empty);
        assert_eq!(ReturnValue::from_flag("true"), ReturnValue::Bool(true));
        assert_eq!(ReturnValue::from_flag("\"42\""), ReturnValue::Str("42".into()));
        assert_eq!(ReturnValue::from_flag("GOLD"), ReturnValue::Str("GOLD".into()));
        for v in [ReturnValue::Int(-1), ReturnValue::Float(2.5), ReturnValue::Null, ReturnValue::Str("a\"b".into())] {
            let toml: toml::Value =
                toml::from_str::<toml::Table>(&format!("v = {}", v.to_toml())).unwrap()["v"].clone();
            assert_eq!(ReturnValue::from_toml(&toml), Some(v));
        }
    }
}
