//! A fault's condition and return value, made into the Java objects the hook evaluates
//! (`io.faultline.boot.Condition`, `Values`): the agent's parser is the only parser; the
//! Java side receives the tree already built, node by node.

use faultline_model::condition::{CmpOp, Condition, Expr, Literal, Operand, Term, TermKind};
use faultline_model::returns::ReturnValue;
use jni::objects::{GlobalRef, JObject, JValue};
use jni::JNIEnv;

use super::take_exception_message;
use crate::ffi::jni::in_local_frame;
use crate::guard;

const CONDITION: &str = "io/faultline/boot/Condition";
const TERM: &str = "io/faultline/boot/Condition$Term";
const C: &str = "Lio/faultline/boot/Condition;";
const T: &str = "Lio/faultline/boot/Condition$Term;";

/// `Values.java`'s kinds of return value.
const VALUE_NONE: i32 = 0;
const VALUE_NULL: i32 = 1;
const VALUE_EMPTY: i32 = 2;
const VALUE_BOOL: i32 = 3;
const VALUE_INT: i32 = 4;
const VALUE_FLOAT: i32 = 5;
const VALUE_STRING: i32 = 6;

/// The Java condition for `condition`; an error is what the JVM refused (an invalid regular
/// expression), for the user.
pub fn build(env: &mut JNIEnv, condition: &Condition) -> Result<GlobalRef, String> {
    guard::with(|| {
        in_local_frame(env, 64, |env| {
            let obj = expr(env, &condition.expr)?;
            env.new_global_ref(obj).map_err(|e| e.to_string())
        })
    })
}

/// A return fault's value as `Fault.define` takes it: (kind, boxed value or none).
pub fn return_value(env: &mut JNIEnv, value: Option<&ReturnValue>) -> Result<(i32, Option<GlobalRef>), String> {
    let (kind, literal) = match value {
        None => (VALUE_NONE, None),
        Some(ReturnValue::Null) => (VALUE_NULL, None),
        Some(ReturnValue::Empty) => (VALUE_EMPTY, None),
        Some(ReturnValue::Bool(b)) => (VALUE_BOOL, Some(Literal::Bool(*b))),
        Some(ReturnValue::Int(n)) => (VALUE_INT, Some(Literal::Int(*n))),
        Some(ReturnValue::Float(x)) => (VALUE_FLOAT, Some(Literal::Float(*x))),
        Some(ReturnValue::Str(s)) => (VALUE_STRING, Some(Literal::Str(s.clone()))),
    };
    let Some(literal) = literal else { return Ok((kind, None)) };
    guard::with(|| {
        in_local_frame(env, 8, |env| {
            let obj = boxed(env, &literal)?;
            Ok((kind, Some(env.new_global_ref(obj).map_err(|e| e.to_string())?)))
        })
    })
}

fn call<'a>(env: &mut JNIEnv<'a>, class: &str, name: &str, sig: &str, args: &[JValue]) -> Result<JObject<'a>, String> {
    match env.call_static_method(class, name, sig, args).and_then(|v| v.l()) {
        Ok(obj) => Ok(obj),
        Err(e) => Err(take_exception_message(env).unwrap_or_else(|| format!("building the condition failed: {e}"))),
    }
}

fn expr<'a>(env: &mut JNIEnv<'a>, e: &Expr) -> Result<JObject<'a>, String> {
    match e {
        Expr::And(a, b) | Expr::Or(a, b) => {
            let (a, b) = (expr(env, a)?, expr(env, b)?);
            let name = if matches!(e, Expr::And(..)) { "and" } else { "or" };
            call(env, CONDITION, name, &format!("({C}{C}){C}"), &[JValue::Object(&a), JValue::Object(&b)])
        }
        Expr::Not(a) => {
            let a = expr(env, a)?;
            call(env, CONDITION, "not", &format!("({C}){C}"), &[JValue::Object(&a)])
        }
        Expr::Compare { op, left, right } => {
            let (l, r) = (term(env, left)?, term(env, right)?);
            let op = match op {
                CmpOp::Eq => 0,
                CmpOp::Ne => 1,
                CmpOp::Lt => 2,
                CmpOp::Le => 3,
                CmpOp::Gt => 4,
                CmpOp::Ge => 5,
            };
            call(
                env,
                CONDITION,
                "compare",
                &format!("(I{T}{T}){C}"),
                &[JValue::Int(op), JValue::Object(&l), JValue::Object(&r)],
            )
        }
        Expr::Contains { left, right } => {
            let (l, r) = (term(env, left)?, term(env, right)?);
            call(env, CONDITION, "contains", &format!("({T}{T}){C}"), &[JValue::Object(&l), JValue::Object(&r)])
        }
        Expr::Matches { left, pattern, column } => {
            let l = term(env, left)?;
            let p = env.new_string(pattern).map_err(|e| e.to_string())?;
            call(
                env,
                CONDITION,
                "matches",
                &format!("({T}Ljava/lang/String;){C}"),
                &[JValue::Object(&l), JValue::Object(&p)],
            )
            .map_err(|why| format!("column {column}: {why}"))
        }
        Expr::In { left, items } => {
            let l = term(env, left)?;
            let array = env
                .new_object_array(items.len() as i32, "java/lang/Object", JObject::null())
                .map_err(|e| e.to_string())?;
            for (i, item) in items.iter().enumerate() {
                let v = boxed(env, item)?;
                env.set_object_array_element(&array, i as i32, &v).map_err(|e| e.to_string())?;
            }
            call(
                env,
                CONDITION,
                "in",
                &format!("({T}[Ljava/lang/Object;){C}"),
                &[JValue::Object(&l), JValue::Object(&array)],
            )
        }
        Expr::Truthy(t) => {
            let t = term(env, t)?;
            call(env, CONDITION, "truthy", &format!("({T}){C}"), &[JValue::Object(&t)])
        }
    }
}

fn term<'a>(env: &mut JNIEnv<'a>, t: &Term) -> Result<JObject<'a>, String> {
    match &t.kind {
        TermKind::Literal(l) => {
            let v = boxed(env, l)?;
            call(env, TERM, "literal", &format!("(Ljava/lang/Object;){T}"), &[JValue::Object(&v)])
        }
        TermKind::Len(inner) => {
            let inner = term(env, inner)?;
            call(env, TERM, "len", &format!("({T}){T}"), &[JValue::Object(&inner)])
        }
        TermKind::Operand(op, members) => {
            let (kind, arg) = match op {
                Operand::This => (0, 0),
                Operand::Arg(n) => (1, *n as i32),
                Operand::Result => (2, 0),
                Operand::Thread => (3, 0),
                Operand::Caller => (4, 0),
            };
            let names = env
                .new_object_array(members.len() as i32, "java/lang/String", JObject::null())
                .map_err(|e| e.to_string())?;
            for (i, m) in members.iter().enumerate() {
                let s = env.new_string(m).map_err(|e| e.to_string())?;
                env.set_object_array_element(&names, i as i32, &s).map_err(|e| e.to_string())?;
            }
            call(
                env,
                TERM,
                "operand",
                &format!("(II[Ljava/lang/String;){T}"),
                &[JValue::Int(kind), JValue::Int(arg), JValue::Object(&names)],
            )
        }
    }
}

/// A literal as the Java side compares it: Long, Double, String, Boolean or null.
fn boxed<'a>(env: &mut JNIEnv<'a>, l: &Literal) -> Result<JObject<'a>, String> {
    match l {
        Literal::Null => Ok(JObject::null()),
        Literal::Str(s) => env.new_string(s).map(JObject::from).map_err(|e| e.to_string()),
        Literal::Int(n) => call(env, "java/lang/Long", "valueOf", "(J)Ljava/lang/Long;", &[JValue::Long(*n)]),
        Literal::Float(x) => call(env, "java/lang/Double", "valueOf", "(D)Ljava/lang/Double;", &[JValue::Double(*x)]),
        Literal::Bool(b) => {
            call(env, "java/lang/Boolean", "valueOf", "(Z)Ljava/lang/Boolean;", &[JValue::Bool(u8::from(*b))])
        }
    }
}
