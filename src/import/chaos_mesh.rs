//! Chaos Mesh `JVMChaos` resources as a scenario. Fields follow chaos-mesh's
//! api/v1alpha1/jvmchaos_types.go and what controllers/chaosimpl/jvmchaos makes of them (the
//! Byteman rule each action becomes); the pods a resource selects stay the user's choice.

use std::path::Path;

use faultline_model::duration::parse_duration;
use yaml_rust2::{Yaml, YamlLoader};

use super::{millis, refuse, render, sanitise_id, toml_string, Fault};

/// The scenario for the JVMChaos resources of a file (`-`: standard input).
pub fn chaos_mesh_file(path: &Path) -> anyhow::Result<String> {
    let (text, origin) = if path == Path::new("-") {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| anyhow::anyhow!("cannot read standard input: {e}"))?;
        (text, "standard input".to_string())
    } else {
        let text = std::fs::read_to_string(path).map_err(|e| {
            refuse(format!("cannot read {}: {e}; give a Chaos Mesh YAML file, or - for standard input", path.display()))
        })?;
        (text, path.display().to_string())
    };
    chaos_mesh(&text, &origin)
}

/// The scenario for the JVMChaos resources of a YAML text (several documents allowed).
pub fn chaos_mesh(text: &str, origin: &str) -> anyhow::Result<String> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| refuse(format!("{origin}: not valid YAML: {e}")))?;
    let mut faults = Vec::new();
    for (n, doc) in docs.iter().enumerate() {
        if matches!(doc, Yaml::Null) {
            continue;
        }
        let at = format!("{origin}: document {}", n + 1);
        faults.push(resource(doc).map_err(|e| refuse(format!("{at}: {e}")))?);
    }
    if faults.is_empty() {
        return Err(refuse(format!("{origin}: no JVMChaos resource in it")));
    }
    let mut seen = std::collections::HashSet::new();
    for f in &faults {
        if let Some((_, id)) = f.keys.iter().find(|(k, _)| *k == "id") {
            if !seen.insert(id.clone()) {
                return Err(refuse(format!(
                    "{origin}: two resources share the fault id {id} (metadata.name, as faultline reads it); give \
                     them distinct names"
                )));
            }
        }
    }
    render(&[format!("imported from Chaos Mesh: {origin}")], &faults)
}

/// The spec fields of JVMChaosSpec (with its ContainerSelector and JVMParameter inlined).
const SPEC_KEYS: &[&str] = &[
    "selector",
    "mode",
    "value",
    "containerNames",
    "duration",
    "action",
    "remoteCluster",
    "port",
    "pid",
    "class",
    "method",
    "cpuCount",
    "memType",
    "mysqlConnectorVersion",
    "database",
    "table",
    "sqlType",
    "name",
    "returnValue",
    "exception",
    "latency",
    "ruleData",
];

/// One resource as one fault; the message of an error says what to write instead.
fn resource(doc: &Yaml) -> Result<Fault, String> {
    let api = text(&doc["apiVersion"]).unwrap_or_default();
    let kind = text(&doc["kind"]).unwrap_or_default();
    if !api.starts_with("chaos-mesh.org/") {
        return Err(format!(
            "apiVersion '{api}' is not Chaos Mesh's (chaos-mesh.org/v1alpha1); only JVMChaos resources import"
        ));
    }
    if kind != "JVMChaos" {
        return Err(format!(
            "kind {kind} cannot be imported, only JVMChaos{}",
            match kind.as_str() {
                "Schedule" | "Workflow" =>
                    ": import the JVMChaos it runs as a resource of its own, and run it on a schedule or in steps \
                     with a faultline drill",
                _ => "",
            }
        ));
    }
    let spec = &doc["spec"];
    let Yaml::Hash(fields) = spec else { return Err("no spec: a JVMChaos needs one, with its action".into()) };
    for key in fields.keys() {
        let name = text(key).unwrap_or_default();
        if !SPEC_KEYS.contains(&name.as_str()) {
            return Err(format!(
                "unknown spec field '{name}': faultline cannot tell what it would do, so it imports nothing"
            ));
        }
    }
    let action =
        text(&spec["action"]).ok_or("spec.action is missing (latency, return, exception, stress, gc, mysql)")?;
    let mut fault = match action.as_str() {
        "latency" => {
            let ms = whole(&spec["latency"], "spec.latency")?.ok_or("action latency needs spec.latency (ms)")?;
            let mut f = method_fault("latency", spec)?;
            f.raw("delay", millis(ms));
            f
        }
        "exception" => {
            let thrown = text(&spec["exception"]).ok_or("action exception needs spec.exception, e.g. 'java.io.IOException(\"BOOM\")'")?;
            let (class, message) = constructor_call(&thrown)?;
            let mut f = method_fault("exception", spec)?;
            f.text("throw", &class);
            match message {
                Some(m) => f.text("message", &m),
                None => f.note(format!(
                    "Chaos Mesh throws new {class}() with no message; faultline gives it the message 'injected by \
                     faultline (ID)' when the class takes one"
                )),
            }
            f
        }
        "return" => return_fault(spec)?,
        "stress" => stress(spec)?,
        "gc" => {
            let mut f = Fault::new("gc");
            let every = text(&spec["duration"]).unwrap_or_else(|| "24h".into());
            f.note(format!(
                "Chaos Mesh collects once, when injected; faultline collects every `every`, the first at arming: \
                 every = {every} makes that one collection{}",
                if spec["duration"].is_badvalue() { " (the next would come 24h later)" } else { " within the duration" }
            ));
            let every = duration(&every, "spec.duration")?;
            if parse_duration(&every).is_ok_and(|d| d < std::time::Duration::from_millis(100)) {
                return Err(format!(
                    "action gc with spec.duration {every}: faultline's gc takes every >= 100ms; give a duration of \
                     100ms or more"
                ));
            }
            f.text("every", &every);
            f
        }
        "mysql" => mysql(spec)?,
        "ruleData" => {
            return Err("action ruleData runs Byteman rules, which faultline cannot read faithfully; write the fault \
                        the rule stands for with a kind (latency, exception, hang, return) and target = \"CLASS#METHOD\""
                .into())
        }
        other => return Err(format!("action '{other}' is none of JVMChaos's (latency, return, exception, stress, gc, mysql)")),
    };
    if let Some(name) = text(&doc["metadata"]["name"]) {
        let id = sanitise_id(&name)
            .ok_or_else(|| format!("metadata.name '{name}' holds no letter or digit for a fault id"))?;
        if id != name {
            fault.note(format!("metadata.name '{name}' as a fault id: {id}"));
        }
        fault.keys.insert(0, ("id", toml_string(&id)));
    }
    if let Some(d) = text(&spec["duration"]) {
        let d = duration(&d, "spec.duration")?;
        fault.text("duration", &d);
    }
    selection_notes(doc, spec, &mut fault);
    Ok(fault)
}

/// `class` and `method` as the target of a method fault.
fn method_fault(kind: &str, spec: &Yaml) -> Result<Fault, String> {
    let class = text(&spec["class"]).ok_or_else(|| format!("action {kind} needs spec.class"))?;
    let method = text(&spec["method"]).ok_or_else(|| format!("action {kind} needs spec.method"))?;
    let ok = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$');
    if !class.split('.').all(ok) || !ok(&method) {
        return Err(format!(
            "spec.class '{class}' / spec.method '{method}' is no Java class and method name (Byteman reads them \
             exactly); write e.g. class: com.acme.Pay, method: charge"
        ));
    }
    let mut f = Fault::new(kind);
    f.text("target", &format!("{class}#{method}"));
    Ok(f)
}

/// `return`: the value is a Java expression in the Byteman rule; only literals import.
fn return_fault(spec: &Yaml) -> Result<Fault, String> {
    // The CRD reads the return value from `returnValue`; Chaos Mesh's docs and examples write
    // `value`, which the CRD reads as the pod selector's value. Either is taken, as the docs mean.
    // With mode fixed, fixed-percent or random-max-percent, `value` counts pods, never a return.
    let value_counts_pods = text(&spec["mode"]).is_some_and(|m| m != "one" && m != "all");
    let (field, raw) = match (&spec["returnValue"], &spec["value"]) {
        (v, _) if !v.is_badvalue() => ("returnValue", v),
        (_, v) if !v.is_badvalue() && !value_counts_pods => ("value", v),
        _ => {
            return Err("action return needs spec.returnValue (the docs call it value, which with mode fixed, \
                        fixed-percent or random-max-percent counts pods instead)"
                .into())
        }
    };
    let mut f = method_fault("return", spec)?;
    if field == "value" {
        f.note(
            "the return value is read from spec.value, as Chaos Mesh's docs write it; its CRD reads spec.value as \
             the pod selector's value and the return value from spec.returnValue",
        );
    }
    let value = match raw {
        Yaml::Integer(n) => n.to_string(),
        Yaml::Real(r) => r.clone(),
        Yaml::Boolean(b) => b.to_string(),
        Yaml::String(s) => literal(s).ok_or_else(|| {
            format!(
                "spec.{field} '{s}' is a Java expression faultline cannot evaluate; give a literal (a number, true, \
                 false, null, or a string in double quotes such as '\"chaos\"')"
            )
        })?,
        _ => return Err(format!("spec.{field} is no literal value")),
    };
    f.raw("value", value);
    Ok(f)
}

/// A Java literal as the TOML of a return value: numbers, booleans, null, "text".
fn literal(java: &str) -> Option<String> {
    let t = java.trim();
    if let Some(inner) = t.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        return (!inner.contains(['"', '\\'])).then(|| toml::Value::String(inner.to_string()).to_string());
    }
    match t {
        "true" | "false" => Some(t.to_string()),
        "null" => Some("\"null\"".into()),
        _ => {
            let digits = t.trim_end_matches(['L', 'l']);
            if let Ok(n) = digits.parse::<i64>() {
                Some(n.to_string())
            } else {
                let x = t.trim_end_matches(['d', 'D', 'f', 'F']).parse::<f64>().ok().filter(|x| x.is_finite())?;
                Some(toml::Value::Float(x).to_string())
            }
        }
    }
}

/// `CLASS("message")`, `CLASS()` or `CLASS`, as Chaos Mesh writes `throw new ...`.
fn constructor_call(call: &str) -> Result<(String, Option<String>), String> {
    let call = call.trim();
    let (class, args) = match call.split_once('(') {
        Some((class, rest)) => {
            let args =
                rest.strip_suffix(')').ok_or_else(|| format!("exception '{call}' has no closing parenthesis"))?;
            (class.trim(), Some(args.trim()))
        }
        None => (call, None),
    };
    let ok = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$');
    if !class.split('.').all(ok) {
        return Err(format!(
            "exception '{call}': '{class}' is no Java class name; write e.g. java.io.IOException(\"BOOM\")"
        ));
    }
    let message = match args {
        None | Some("") => None,
        Some(a) => match a.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            Some(m) if !m.contains(['"', '\\']) => Some(m.to_string()),
            _ => {
                return Err(format!(
                    "exception '{call}': faultline builds the exception with its (String) constructor, so it takes \
                     one string literal as the argument, e.g. java.io.IOException(\"BOOM\")"
                ))
            }
        },
    };
    Ok((class.to_string(), message))
}

fn stress(spec: &Yaml) -> Result<Fault, String> {
    let cpus = whole(&spec["cpuCount"], "spec.cpuCount")?.filter(|n| *n > 0);
    let mem = text(&spec["memType"]);
    if let Some(n) = cpus {
        let mut f = Fault::new("cpu");
        if let Some(m) = mem {
            f.note(format!("spec.memType {m} is ignored, as Chaos Mesh ignores it when cpuCount is set"));
        }
        f.raw("cores", n.to_string());
        f.raw("load", "1");
        return Ok(f);
    }
    match mem.as_deref() {
        Some("heap") => {
            let mut f = Fault::new("heap");
            f.note(
                "Chaos Mesh fills the heap until OutOfMemoryError; faultline never causes one: it holds 95% of the \
                 max heap and steps back when collections take over half the time",
            );
            f.raw("fill", "0.95");
            Ok(f)
        }
        Some("stack") => Err("stress with memType stack (a StackOverflowError) has no faultline equivalent; to see \
                              how the code copes with one, write kind = \"exception\" with throw = \
                              \"java.lang.StackOverflowError\" on the method"
            .into()),
        Some(other) => Err(format!("spec.memType '{other}' is neither heap nor stack")),
        None => Err("action stress needs spec.cpuCount or spec.memType".into()),
    }
}

/// `mysql`: the jdbc preset on MySQL URLs.
fn mysql(spec: &Yaml) -> Result<Fault, String> {
    let version = text(&spec["mysqlConnectorVersion"]).unwrap_or_default();
    let (driver, chaos_mesh_throws) = match version.as_str() {
        "5" => ("mysql-connector-java 5", "java.sql.SQLException"),
        "8" => ("mysql-connector-java 8", "com.mysql.cj.exceptions.CJException"),
        other => {
            return Err(format!("spec.mysqlConnectorVersion '{other}': Chaos Mesh takes 5 or 8 (and refuses the rest)"))
        }
    };
    let message = text(&spec["exception"]);
    let latency = whole(&spec["latency"], "spec.latency")?.filter(|ms| *ms > 0);
    let mut f = match (&message, latency) {
        (Some(m), _) => {
            let mut f = Fault::new("exception");
            f.text("preset", "jdbc");
            f.text("throw", "java.sql.SQLException");
            f.text("message", m);
            if version == "8" {
                f.note(format!(
                    "Chaos Mesh throws {chaos_mesh_throws} inside Connector/J 8, which the driver wraps; faultline \
                     throws java.sql.SQLException from the JDBC call"
                ));
            }
            f
        }
        (None, Some(ms)) => {
            let mut f = Fault::new("latency");
            f.text("preset", "jdbc");
            f.raw("delay", millis(ms));
            f
        }
        (None, None) => return Err("action mysql needs spec.exception (the message) or spec.latency (ms)".into()),
    };
    if message.is_some() && latency.is_some() {
        f.note("spec.latency is ignored, as Chaos Mesh ignores it when spec.exception is set");
    }
    if let Some(t) = text(&spec["sqlType"]) {
        let op = t.to_ascii_lowercase();
        if !["select", "insert", "update", "delete"].contains(&op.as_str()) {
            return Err(format!(
                "spec.sqlType '{t}': faultline's operation is select, insert, update, delete or other (every other \
                 statement); write operation = \"other\" with sql = '(?i)^\\s*{op}\\b' by hand if that is meant"
            ));
        }
        f.text("operation", &op);
    }
    if let Some(table) = text(&spec["table"]) {
        if !table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            return Err(format!("spec.table '{table}' is no table name (letters, digits, _ $)"));
        }
        f.text("sql", &format!("(?i)\\b{table}\\b"));
        f.note(format!(
            "faultline's sql finds the table '{table}' anywhere in the statement (a join or subquery counts)"
        ));
    }
    let url = match text(&spec["database"]) {
        Some(db) => {
            if db.contains(['*', '?']) {
                return Err(format!("spec.database '{db}' holds a glob wildcard; name the database exactly"));
            }
            format!("jdbc:mysql://*/{db}*")
        }
        None => "jdbc:mysql:*".into(),
    };
    f.text("url", &url);
    f.note(format!(
        "Chaos Mesh acts on {driver}; faultline's jdbc preset acts on any driver whose JDBC URL matches this glob{}",
        if spec["database"].is_badvalue() { "" } else { " (which also takes databases whose name starts with it)" }
    ));
    Ok(f)
}

/// Pods, containers and ports choose where Chaos Mesh acts: said, and left to `faultline apply`.
fn selection_notes(doc: &Yaml, spec: &Yaml, fault: &mut Fault) {
    let mut said = Vec::new();
    if let Some(ns) = text(&doc["metadata"]["namespace"]) {
        said.push(format!("namespace {ns}"));
    }
    if let Some(m) = text(&spec["mode"]) {
        said.push(format!("mode {m}"));
    }
    if !fault.has("value") || !spec["returnValue"].is_badvalue() {
        if let Some(v) = text(&spec["value"]) {
            said.push(format!("value {v}"));
        }
    }
    if !spec["selector"].is_badvalue() {
        said.push(format!("selector {}", flow(&spec["selector"])));
    }
    if !spec["containerNames"].is_badvalue() {
        said.push(format!("containers {}", flow(&spec["containerNames"])));
    }
    if !said.is_empty() {
        fault.note(format!(
            "Chaos Mesh chose the pods by {}; choose the JVM when applying: faultline apply PID FILE",
            said.join(", ")
        ));
    }
    if let Some(p) = whole(&spec["pid"], "").ok().flatten() {
        fault.note(format!("spec.pid {p}: faultline apply {p} FILE"));
    }
    if let Some(p) = whole(&spec["port"], "").ok().flatten() {
        fault.note(format!(
            "spec.port {p}: the port of Chaos Mesh's Byteman agent; faultline's agent needs none: ignored"
        ));
    }
    if let Some(c) = text(&spec["remoteCluster"]) {
        fault.note(format!("spec.remoteCluster {c}: run faultline on a host of that cluster"));
    }
}

/// A scalar as text (strings, numbers, booleans); `None` when absent or not a scalar.
fn text(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Integer(n) => Some(n.to_string()),
        Yaml::Real(r) => Some(r.clone()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A whole number ≥ 0 (YAML integer or digits in a string); `None` when absent.
fn whole(v: &Yaml, field: &str) -> Result<Option<u64>, String> {
    match v {
        Yaml::BadValue | Yaml::Null => Ok(None),
        Yaml::Integer(n) => u64::try_from(*n).map(Some).map_err(|_| format!("{field} {n} is negative")),
        Yaml::String(s) => s.trim().parse().map(Some).map_err(|_| format!("{field} '{s}' is not a whole number")),
        _ => Err(format!("{field} is not a whole number")),
    }
}

/// A Go duration (`30s`, `5m`, `1h30m`) as a faultline duration.
fn duration(text: &str, field: &str) -> Result<String, String> {
    let d = parse_duration(text).map_err(|e| format!("{field} '{text}': {e}; write e.g. 30s, 5m or 1h"))?;
    if d.is_zero() {
        return Err(format!("{field} '{text}' is zero; give a duration above 0"));
    }
    Ok(faultline_model::duration::format_duration(d))
}

/// A YAML node on one line, for a comment.
fn flow(v: &Yaml) -> String {
    match v {
        Yaml::Hash(h) => {
            let parts: Vec<String> = h.iter().map(|(k, v)| format!("{}: {}", flow(k), flow(v))).collect();
            format!("{{{}}}", parts.join(", "))
        }
        Yaml::Array(a) => format!("[{}]", a.iter().map(flow).collect::<Vec<_>>().join(", ")),
        other => text(other).unwrap_or_else(|| "~".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exception_call_gives_class_and_message() {
        assert_eq!(
            constructor_call("java.io.IOException(\"BOOM\")").expect("parses"),
            ("java.io.IOException".to_string(), Some("BOOM".to_string()))
        );
        assert_eq!(constructor_call("a.B()").expect("parses"), ("a.B".to_string(), None));
        assert!(constructor_call("a.B(1, 2)").is_err());
    }

    #[test]
    fn java_literals_become_return_values() {
        assert_eq!(literal("9999").as_deref(), Some("9999"));
        assert_eq!(literal("\"chaos\"").as_deref(), Some("\"chaos\""));
        assert_eq!(literal("null").as_deref(), Some("\"null\""));
        assert_eq!(literal("new Foo()"), None);
    }
}
