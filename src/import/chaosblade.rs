//! ChaosBlade commands (`blade create jvm|servlet|mysql|psql|http ACTION --flag value ...`) as
//! a scenario. Flag names, aliases and meanings follow chaosblade-exec-jvm's own ActionSpec,
//! FlagSpec and MatcherSpec classes (and the Injector, which applies effect-count and
//! effect-percent); every flag is mapped, stated in a comment, or refused by name.

use faultline_model::returns::ReturnValue;

use super::{literal_for_glob, millis, refuse, render, toml_string, Fault};

/// The scenario for one ChaosBlade command, given as its words (`blade create jvm delay
/// --time 3000 ...`; `blade` and `./blade` may lead, one quoted string is split as a shell
/// would).
pub fn chaosblade(args: &[String]) -> anyhow::Result<String> {
    let words = match args {
        [one] if one.contains(char::is_whitespace) => split_words(one)?,
        _ => args.to_vec(),
    };
    let command = words.join(" ");
    let mut rest = words.as_slice();
    if let [first, tail @ ..] = rest {
        if first == "blade" || first.ends_with("/blade") {
            rest = tail;
        }
    }
    let (target, action, flags) =
        match rest {
            [verb, target, action, flags @ ..] if verb == "create" || verb == "c" => (target, action, flags),
            [verb, ..] if verb == "create" || verb == "c" => {
                return Err(refuse(format!(
                "'{command}' names no target and action; write e.g. blade create jvm delay --time 3000 --classname \
                 com.acme.Pay --methodname charge"
            )))
            }
            [verb, ..] => {
                return Err(refuse(format!(
                    "only experiments made with 'blade create' (or 'blade c') can be imported, not 'blade {verb}'; \
                 write e.g. blade create jvm delay --time 3000 --classname com.acme.Pay --methodname charge"
                )))
            }
            [] => return Err(refuse(
                "no ChaosBlade command given; write e.g. faultline import chaosblade -- blade create jvm delay --time \
                 3000 --classname com.acme.Pay --methodname charge",
            )),
        };
    let mut flags = Flags::parse(flags)?;
    let mut fault = match target.as_str() {
        "jvm" => jvm(action, &mut flags)?,
        "servlet" => servlet(action, &mut flags)?,
        "mysql" | "psql" => database(target, action, &mut flags)?,
        "http" => http_client(action, &mut flags)?,
        other => {
            return Err(refuse(format!(
                "ChaosBlade target '{other}' has no faultline equivalent that imports faithfully (importable: jvm, \
                 servlet, mysql, psql, http); write the fault by hand with a target = \"CLASS#METHOD\" or a preset \
                 (faultline presets lists them)"
            )))
        }
    };
    plumbing(target, &mut flags, &mut fault)?;
    if let Some(s) = flags.take_value("timeout")? {
        let seconds = positive(&s, "--timeout")?;
        fault.raw("duration", toml_string(&format!("{seconds}s")));
    }
    flags.refuse_leftovers(target, action)?;
    render(&[format!("imported from ChaosBlade: {command}")], &[fault])
}

/// The actions of the `jvm` target: methods (delay, exceptions, return) and the JVM as a whole.
fn jvm(action: &str, flags: &mut Flags) -> anyhow::Result<Fault> {
    match action.to_ascii_lowercase().as_str() {
        "delay" => {
            let f = latency(flags)?;
            method_fault(flags, f)
        }
        "throwcustomexception" | "tce" => {
            let f = exception(flags)?;
            method_fault(flags, f)
        }
        "throwdeclaredexception" | "tde" => Err(refuse(
            "throwDeclaredException throws the first exception the method declares, which only the method's \
             bytecode knows; faultline needs the class: use throwCustomException --exception CLASS (the class the \
             method declares), or write kind = \"exception\" with throw = \"CLASS\"",
        )),
        "return" => {
            let f = return_value(flags)?;
            method_fault(flags, f)
        }
        "outofmemoryerror" | "oom" => oom(flags),
        "cpufullload" | "cfl" => {
            let mut f = Fault::new("cpu");
            if let Some(n) = flags.take_value("cpu-count")? {
                let n = positive(&n, "--cpu-count")?;
                f.note(format!(
                    "ChaosBlade loads all cores when --cpu-count is at least the JVM's available processors; \
                     faultline starts exactly {n} busy threads"
                ));
                f.raw("cores", n.to_string());
            }
            f.raw("load", "1");
            Ok(f)
        }
        "full-gc" | "fgc" => full_gc(flags),
        "threadfull" | "tfl" => {
            let count = flags.take_value("thread-count")?.ok_or_else(|| {
                refuse("threadfull needs --thread-count N (ChaosBlade requires it too), e.g. --thread-count 20")
            })?;
            let count = positive(&count, "--thread-count")?;
            let running = flags.take_switch("running")?;
            let waiting = flags.take_switch("wait")?;
            let mut f = Fault::new("threads");
            f.raw("count", count.to_string());
            // ChaosBlade checks --wait first, and waits when neither is given.
            f.text("state", if running && !waiting { "running" } else { "waiting" });
            Ok(f)
        }
        "codecachefilling" | "ccf" => Err(refuse(
            "CodeCacheFilling (filling the JIT's code cache) has no faultline equivalent; faultline's resource kinds \
             are heap, cpu, threads, gc, metaspace, direct and exit (see README, Resource faults)",
        )),
        "script" => Err(refuse(
            "a ChaosBlade script (Java or Groovy run inside the method) cannot be imported faithfully; write the \
             fault it stands for with a kind (latency, exception, hang, return) and a when condition if it \
             chooses calls",
        )),
        other => Err(refuse(format!(
            "ChaosBlade jvm action '{other}' cannot be imported (importable: delay, throwCustomException, return, \
             OutOfMemoryError --area HEAP, cpufullload, full-gc, threadfull)"
        ))),
    }
}

/// A method fault of the jvm target: `--classname C --methodname M` as `target = "C#M"`,
/// `--after` as `at = "exit"`, and the effect flags.
fn method_fault(flags: &mut Flags, mut fault: Fault) -> anyhow::Result<Fault> {
    let class = flags
        .take_value("classname")?
        .ok_or_else(|| refuse("the jvm method actions need --classname CLASS (with its package)"))?;
    let method =
        flags.take_value("methodname")?.ok_or_else(|| refuse("the jvm method actions need --methodname NAME"))?;
    java_name("--classname", &class, true)?;
    if method.contains(',') {
        return Err(refuse(format!(
            "--methodname '{method}' names several methods; import one command per method (a fault's limit and \
             probability are its own)"
        )));
    }
    if method != "<init>" {
        java_name("--methodname", &method, false)?;
    }
    fault.keys.insert(1, ("target", toml_string(&format!("{class}#{method}"))));
    if flags.take_switch("after")? {
        fault.raw("at", toml_string("exit"));
        fault.note("--after: at = \"exit\" acts after the method returned normally (not when it threw)");
    }
    effect(flags, &mut fault)?;
    Ok(fault)
}

fn latency(flags: &mut Flags) -> anyhow::Result<Fault> {
    let time = flags.take_value("time")?.ok_or_else(|| refuse("delay needs --time MS, e.g. --time 3000"))?;
    let time = positive(&time, "--time")?;
    let mut f = Fault::new("latency");
    f.raw("delay", millis(time));
    if let Some(offset) = flags.take_value("offset")? {
        let offset = number(&offset, "--offset")?;
        if offset > time {
            return Err(refuse(format!(
                "--offset {offset} is larger than --time {time}: ChaosBlade then clamps short delays to the offset, \
                 while faultline's jitter is at most the delay; use --offset {time} or less"
            )));
        }
        if offset > 0 {
            f.raw("jitter", millis(offset));
        }
    }
    Ok(f)
}

fn exception(flags: &mut Flags) -> anyhow::Result<Fault> {
    let class = flags
        .take_value("exception")?
        .ok_or_else(|| refuse("throwCustomException needs --exception CLASS, e.g. --exception java.io.IOException"))?;
    java_name("--exception", &class, true)?;
    let mut f = Fault::new("exception");
    f.text("throw", &class);
    if let Some(message) = flags.take_value("exception-message")? {
        f.text("message", &message);
    }
    Ok(f)
}

fn return_value(flags: &mut Flags) -> anyhow::Result<Fault> {
    let value = flags.take_value("value")?.ok_or_else(|| refuse("return needs --value V"))?;
    let mut f = Fault::new("return");
    // ChaosBlade reads a blank value or "null" (any case) as null, and converts the rest to
    // the method's return type when it fires; faultline's value has a type of its own.
    let parsed =
        if value.trim().is_empty() || value.eq_ignore_ascii_case("null") {
            ReturnValue::Null
        } else {
            match ReturnValue::from_flag(&value) {
                ReturnValue::Empty => return Err(refuse(
                    "--value empty is text for ChaosBlade but an empty collection or Optional for faultline; write \
                     value = \"empty\" (the collection) by hand, or a string that is not 'empty'",
                )),
                ReturnValue::Str(s) if value.trim().starts_with('"') => ReturnValue::Str(s),
                ReturnValue::Str(_) => ReturnValue::Str(value.clone()),
                typed => {
                    f.note(format!(
                        "ChaosBlade converts --value {value} to the method's return type; faultline reads it as a {}: \
                     if the method returns String, write value = {}",
                        if matches!(typed, ReturnValue::Bool(_)) { "boolean" } else { "number" },
                        toml::Value::String(value.clone())
                    ));
                    typed
                }
            }
        };
    f.raw("value", parsed.to_toml());
    Ok(f)
}

/// `--effect-count N` as `limit`, `--effect-percent P` as `probability`.
fn effect(flags: &mut Flags, fault: &mut Fault) -> anyhow::Result<()> {
    let count = flags.take_value("effect-count")?.map(|c| positive(&c, "--effect-count")).transpose()?;
    let percent = flags.take_value("effect-percent")?.map(|p| number(&p, "--effect-percent")).transpose()?;
    if let Some(p) = percent {
        if p > 100 {
            return Err(refuse(format!("--effect-percent {p} is above 100; write a percentage, 0..100")));
        }
    }
    if let (Some(n), Some(p)) = (count, percent) {
        fault.note(format!(
            "ChaosBlade ignores --effect-percent when --effect-count is given (it injects the first {n} matching \
             calls); faultline applies both: each call is hit with probability {}, at most {n} times",
            p as f64 / 100.0
        ));
    }
    if let Some(p) = percent {
        fault.raw("probability", format!("{:?}", p as f64 / 100.0));
    }
    if let Some(n) = count {
        fault.raw("limit", n.to_string());
    }
    Ok(())
}

fn oom(flags: &mut Flags) -> anyhow::Result<Fault> {
    let area = flags.take_value("area")?.ok_or_else(|| {
        refuse("OutOfMemoryError needs --area HEAP|NOHEAP|OFFHEAP; only HEAP imports (as kind = \"heap\")")
    })?;
    match area.to_ascii_uppercase().as_str() {
        "HEAP" => {
            let mut f = Fault::new("heap");
            f.note(
                "ChaosBlade fills the heap until OutOfMemoryError; faultline never causes one: it holds 95% of the \
                 max heap and steps back when collections take over half the time",
            );
            for shaping in ["wild-mode", "interval", "block"] {
                if let Some(v) = flags.take_value(shaping)? {
                    f.note(format!(
                        "--{shaping} {v} shapes how ChaosBlade reaches OutOfMemoryError; faultline reaches none: ignored"
                    ));
                }
            }
            f.raw("fill", "0.95");
            Ok(f)
        }
        "NOHEAP" => Err(refuse(
            "OutOfMemoryError --area NOHEAP fills metaspace until OutOfMemoryError, with no size to derive; \
             write kind = \"metaspace\" with size = \"128MB\" (the amount to take)",
        )),
        "OFFHEAP" => Err(refuse(
            "OutOfMemoryError --area OFFHEAP fills direct memory until OutOfMemoryError, with no size to derive; \
             write kind = \"direct\" with size = \"256MB\" (the amount to take)",
        )),
        other => Err(refuse(format!("--area '{other}' is none of ChaosBlade's areas (HEAP, NOHEAP, OFFHEAP)"))),
    }
}

/// ChaosBlade collects every `--interval` ms (default 1), `--effect-count` times in all.
fn full_gc(flags: &mut Flags) -> anyhow::Result<Fault> {
    let given = flags.take_value("interval")?;
    let interval = match &given {
        Some(i) => positive(i, "--interval")?,
        None => 1,
    };
    if interval < 100 {
        return Err(refuse(format!(
            "full-gc every {interval} ms{}: faultline collects at most every 100 ms (kind = \"gc\", every >= \
             100ms); add --interval 100 or more",
            if given.is_none() { " (ChaosBlade's default)" } else { "" }
        )));
    }
    let mut f = Fault::new("gc");
    f.raw("every", millis(interval));
    if let Some(count) = flags.take_value("effect-count")? {
        let count = positive(&count, "--effect-count")?;
        // The first collection runs at arming, the next ones every interval: ending half an
        // interval after the last one gives exactly `count`.
        let end = (count - 1) * interval + interval / 2;
        f.note(format!(
            "ChaosBlade stops after {count} collections; faultline stops by time: duration = {end}ms ends it \
             half an interval after collection {count}"
        ));
        f.raw("duration", millis(end));
    }
    Ok(f)
}

/// `blade create servlet ACTION`: preset http-server.
fn servlet(action: &str, flags: &mut Flags) -> anyhow::Result<Fault> {
    let mut f = match action.to_ascii_lowercase().as_str() {
        "delay" => latency(flags)?,
        "throwcustomexception" | "tce" => exception(flags)?,
        "modifycode" | "mc" => {
            let code = flags.take_value("code")?.ok_or_else(|| refuse("modifyCode needs --code STATUS, e.g. 503"))?;
            let status = number(&code, "--code")?;
            if !(100..=599).contains(&status) {
                return Err(refuse(format!("--code {code} is no HTTP status; use 100..599")));
            }
            let mut f = Fault::new("respond");
            f.raw("status", status.to_string());
            f.note(
                "ChaosBlade's modifyCode sets the status of the application's response; faultline's respond answers \
                 with the status and an empty body, and the application never sees the request",
            );
            f
        }
        other => {
            return Err(refuse(format!(
                "servlet action '{other}' cannot be imported (importable: delay, throwCustomException, modifyCode)"
            )))
        }
    };
    f.keys.insert(1, ("preset", toml_string("http-server")));
    for refused in ["querystring", "querystring-regex-pattern", "requestpath-regex-pattern", "b-params"] {
        if flags.has(refused) {
            return Err(refuse(format!(
                "--{refused}: faultline's http-server preset matches the request path (a glob) and method only; \
                 drop it and use --requestpath, or put the fault on your controller method (blade create jvm ... \
                 --classname C --methodname M, with a when condition on its arguments)"
            )));
        }
    }
    if let Some(path) = flags.take_value("requestpath")? {
        f.text("path", &literal_for_glob("--requestpath", &path)?);
        f.note("ChaosBlade compares the request path ignoring case; faultline's path glob is case-sensitive");
    }
    if let Some(method) = flags.take_value("method")? {
        f.text("method", &method.to_ascii_uppercase());
    }
    effect(flags, &mut f)?;
    Ok(f)
}

/// `blade create mysql|psql ACTION`: preset jdbc.
fn database(target: &str, action: &str, flags: &mut Flags) -> anyhow::Result<Fault> {
    let mut f = match action.to_ascii_lowercase().as_str() {
        "delay" => latency(flags)?,
        "throwcustomexception" | "tce" => exception(flags)?,
        other => {
            return Err(refuse(format!(
                "{target} action '{other}' cannot be imported (importable: delay, throwCustomException)"
            )))
        }
    };
    f.keys.insert(1, ("preset", toml_string("jdbc")));
    let (scheme, driver) = if target == "mysql" { ("mysql", "MySQL Connector/J") } else { ("postgresql", "pgjdbc") };
    if let Some(sqltype) = flags.take_value("sqltype")? {
        let operation = match sqltype.to_ascii_lowercase().as_str() {
            op @ ("select" | "insert" | "update" | "delete") => op.to_string(),
            other => {
                return Err(refuse(format!(
                    "--sqltype {other}: faultline's operation is select, insert, update, delete or other, and other \
                     takes in every other statement; write operation = \"other\" with sql = '(?i)^\\s*{other}\\b' by \
                     hand if that is what you mean"
                )))
            }
        };
        if operation == "select" {
            f.note("faultline's operation select includes SELECT ... FOR UPDATE, which ChaosBlade types apart");
        }
        f.text("operation", &operation);
    }
    // ChaosBlade's mysql plugin names its table matcher `select` (chaosblade-exec-jvm's
    // MysqlConstant); its psql plugin, `table`. Both are taken.
    let table = match flags.take_value("table")? {
        Some(t) => Some(t),
        None if target == "mysql" => flags.take_value("select")?,
        None => None,
    };
    if let Some(table) = table {
        if !table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '$') {
            return Err(refuse(format!("--table '{table}' is no table name (letters, digits, _ . $)")));
        }
        let escaped = table.replace('.', "\\.");
        f.text("sql", &format!("(?i)\\b{escaped}\\b"));
        f.note(format!(
            "ChaosBlade compares the first table of the statement; faultline's sql finds '{table}' anywhere in it \
             (a join or a subquery on it counts)"
        ));
    }
    let host = flags.take_value("host")?.map(|h| literal_for_glob("--host", &h)).transpose()?;
    let port = flags.take_value("port")?.map(|p| number(&p, "--port")).transpose()?;
    let database = flags.take_value("database")?.map(|d| literal_for_glob("--database", &d)).transpose()?;
    let url = match (&host, port, &database) {
        (None, None, None) => format!("jdbc:{scheme}:*"),
        _ => format!(
            "jdbc:{scheme}://{}{}/{}*",
            host.as_deref().unwrap_or("*"),
            port.map(|p| format!(":{p}")).unwrap_or_else(|| if host.is_some() { "*".into() } else { String::new() }),
            database.as_deref().unwrap_or("")
        ),
    };
    f.text("url", &url);
    f.note(format!(
        "ChaosBlade acts on {driver} only, comparing the connection's own host, port and database; faultline's jdbc \
         preset acts on any driver whose JDBC URL matches this glob, as the URL is written{}",
        if host.is_some() || port.is_some() || database.is_some() {
            " (a URL that leaves out the port, or names the host otherwise, is not matched; a database glob also \
             takes names that start with it)"
        } else {
            ""
        }
    ));
    effect(flags, &mut f)?;
    Ok(f)
}

/// `blade create http ACTION`: preset http-client.
fn http_client(action: &str, flags: &mut Flags) -> anyhow::Result<Fault> {
    let mut f = match action.to_ascii_lowercase().as_str() {
        "delay" => latency(flags)?,
        "throwcustomexception" | "tce" => exception(flags)?,
        other => {
            return Err(refuse(format!(
                "http action '{other}' cannot be imported (importable: delay, throwCustomException)"
            )))
        }
    };
    f.keys.insert(1, ("preset", toml_string("http-client")));
    if flags.has("call-point") || flags.has("b-params") {
        return Err(refuse(
            "--call-point and --b-params choose requests by their caller or business data; faultline's http-client \
             preset matches URL and method only: drop them, or put the fault on the calling method (blade create \
             jvm ... --classname C --methodname M)",
        ));
    }
    let mut clients = Vec::new();
    for client in ["httpclient4", "httpclient3", "rest", "okhttp3", "asyncHttpClient"] {
        if flags.take_switch(client)? {
            clients.push(client);
        }
    }
    if !clients.is_empty() {
        f.note(format!(
            "ChaosBlade acted on {} only; faultline's http-client preset acts on every client it hooks (JDK \
             HttpClient, HttpURLConnection, Apache HttpClient 4 and 5, OkHttp)",
            clients.join(", ")
        ));
    }
    let uri =
        flags.take_value("uri")?.ok_or_else(|| refuse("http needs --uri URL (the request URL without its query)"))?;
    let uri = literal_for_glob("--uri", &uri)?;
    f.note(
        "ChaosBlade compares the URL without its query string, ignoring case; faultline's url glob reads the full \
         URL: add a fault with url = '<this url>?*' for requests that carry a query",
    );
    f.text("url", &uri);
    effect(flags, &mut f)?;
    Ok(f)
}

/// The flags that choose the JVM or drive ChaosBlade itself: said in a comment, never a key.
fn plumbing(target: &str, flags: &mut Flags, fault: &mut Fault) -> anyhow::Result<()> {
    if let Some(p) = flags.take_value("process")? {
        fault.note(format!(
            "ChaosBlade chose the JVM by --process {p}; choose it when applying: faultline apply '{p}' FILE (a PID \
             or a unique substring of the main class or jar)"
        ));
    }
    if let Some(p) = flags.take_value("pid")? {
        fault.note(format!("ChaosBlade chose the JVM by --pid {p}; choose it when applying: faultline apply {p} FILE"));
    }
    if let Some(j) = flags.take_value("javaHome")? {
        fault.note(format!("--javaHome {j}: ChaosBlade's attach needs a JDK; faultline attaches without one: ignored"));
    }
    // mysql and psql have a --port matcher of their own (taken before this).
    if target != "mysql" && target != "psql" {
        if let Some(p) = flags.take_value("port")? {
            fault.note(format!(
                "--port {p}: the port of ChaosBlade's own agent server; faultline's needs none: ignored"
            ));
        }
    }
    for internal in ["uid", "endpoint"] {
        if flags.take_value(internal)?.is_some() {
            fault.note(format!("--{internal}: ChaosBlade's own experiment bookkeeping: ignored"));
        }
    }
    for internal in ["async", "nohup", "override", "ignore-not-found", "refresh"] {
        if flags.take_switch(internal)? {
            fault.note(format!("--{internal}: ChaosBlade's own tool behaviour: ignored"));
        }
    }
    if flags.take_switch("debug")? {
        fault.note("--debug: ChaosBlade's debug log; faultline events PID shows every injection: ignored");
    }
    Ok(())
}

/// The flags of a command, in order, each taken once by the mapping; what is left is unknown.
struct Flags {
    items: Vec<(String, Option<String>)>,
}

/// Flags that take no value (ChaosBlade's `noArgs` matchers and the CLI's boolean flags).
const SWITCHES: &[&str] = &[
    "after",
    "wait",
    "running",
    "debug",
    "async",
    "nohup",
    "override",
    "ignore-not-found",
    "refresh",
    "httpclient4",
    "httpclient3",
    "rest",
    "okhttp3",
    "asyncHttpClient",
];

/// The CLI's one-letter forms.
const SHORT: &[(&str, &str)] = &[
    ("d", "debug"),
    ("p", "process"),
    ("j", "javaHome"),
    ("a", "async"),
    ("n", "nohup"),
    ("u", "uid"),
    ("e", "endpoint"),
];

impl Flags {
    fn parse(words: &[String]) -> anyhow::Result<Flags> {
        let mut items: Vec<(String, Option<String>)> = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let word = &words[i];
            i += 1;
            let name_and_value = if let Some(long) = word.strip_prefix("--") {
                long.to_string()
            } else if let Some(short) = word.strip_prefix('-') {
                let (letter, value) = match short.split_once('=') {
                    Some((l, v)) => (l, Some(v)),
                    None => (short, None),
                };
                let long = SHORT.iter().find(|(s, _)| *s == letter).map(|(_, l)| *l).ok_or_else(|| {
                    refuse(format!("unknown ChaosBlade flag '{word}'; faultline cannot tell what it would do"))
                })?;
                match value {
                    Some(v) => format!("{long}={v}"),
                    None => long.to_string(),
                }
            } else {
                return Err(refuse(format!(
                    "unexpected word '{word}' among the flags; ChaosBlade flags are --name value or --name=value"
                )));
            };
            let (name, value) = match name_and_value.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None if SWITCHES.contains(&name_and_value.as_str()) => (name_and_value, None),
                None => match words.get(i) {
                    Some(v) if !v.starts_with("--") => {
                        i += 1;
                        (name_and_value, Some(v.clone()))
                    }
                    _ => return Err(refuse(format!("--{name_and_value} needs a value: --{name_and_value} VALUE"))),
                },
            };
            if items.iter().any(|(n, _)| *n == name) {
                return Err(refuse(format!("--{name} is given twice; give it once")));
            }
            items.push((name, value));
        }
        Ok(Flags { items })
    }

    fn has(&self, name: &str) -> bool {
        self.items.iter().any(|(n, _)| n == name)
    }

    fn take(&mut self, name: &str) -> Option<Option<String>> {
        let at = self.items.iter().position(|(n, _)| n == name)?;
        Some(self.items.remove(at).1)
    }

    fn take_value(&mut self, name: &str) -> anyhow::Result<Option<String>> {
        match self.take(name) {
            None => Ok(None),
            Some(Some(v)) => Ok(Some(v)),
            Some(None) => Err(refuse(format!("--{name} needs a value: --{name} VALUE"))),
        }
    }

    /// A switch: `--name`, or `--name=true|false`.
    fn take_switch(&mut self, name: &str) -> anyhow::Result<bool> {
        match self.take(name) {
            None => Ok(false),
            Some(None) => Ok(true),
            Some(Some(v)) => match v.to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(refuse(format!("--{name} takes no value (or true/false), not '{v}'"))),
            },
        }
    }

    fn refuse_leftovers(&self, target: &str, action: &str) -> anyhow::Result<()> {
        match self.items.first() {
            None => Ok(()),
            Some((name, _)) => Err(refuse(format!(
                "unknown flag --{name} for blade create {target} {action}: faultline cannot tell what it would do, \
                 so it imports nothing; remove it, or write the fault by hand"
            ))),
        }
    }
}

fn number(text: &str, flag: &str) -> anyhow::Result<u64> {
    text.trim()
        .parse::<u64>()
        .map_err(|_| refuse(format!("{flag} '{text}' is not a whole number ≥ 0; ChaosBlade takes one here too")))
}

fn positive(text: &str, flag: &str) -> anyhow::Result<u64> {
    match number(text, flag)? {
        0 => Err(refuse(format!("{flag} 0: give a number above 0"))),
        n => Ok(n),
    }
}

/// A Java binary name (`com.acme.Pay`, `a.B$C`), or a simple name: checked here, so that a
/// mistyped name is the user's error (exit 2), not a scenario that fails its own check.
fn java_name(flag: &str, name: &str, dotted: bool) -> anyhow::Result<()> {
    let part_ok = |p: &str| {
        !p.is_empty()
            && !p.starts_with(|c: char| c.is_ascii_digit())
            && p.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$')
    };
    let ok = if dotted { name.split('.').all(part_ok) } else { part_ok(name) };
    if ok {
        Ok(())
    } else {
        Err(refuse(format!(
            "{flag} '{name}' is not a Java {} name; ChaosBlade compares it exactly, so write it exactly (e.g. \
             com.acme.Pay, com.acme.Outer$Inner)",
            if dotted { "class" } else { "method" }
        )))
    }
}

/// Splits one command string into words as a shell would: spaces separate, '...' and "..."
/// quote (with \" and \\ inside double quotes).
fn split_words(text: &str) -> anyhow::Result<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(refuse("unclosed ' in the ChaosBlade command")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => word.push(c),
                            None => return Err(refuse("unclosed \" in the ChaosBlade command")),
                        },
                        Some(c) => word.push(c),
                        None => return Err(refuse("unclosed \" in the ChaosBlade command")),
                    }
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import(command: &str) -> anyhow::Result<String> {
        chaosblade(&[command.to_string()])
    }

    fn refused(command: &str) -> String {
        match import(command) {
            Ok(text) => panic!("imported:\n{text}"),
            Err(e) => {
                assert!(e.downcast_ref::<crate::usage::UsageError>().is_some(), "not a usage error: {e:#}");
                e.to_string()
            }
        }
    }

    #[test]
    fn a_delay_becomes_a_latency_on_the_method() {
        let text =
            import("blade create jvm delay --time 3000 --offset 500 --classname com.acme.Pay --methodname charge")
                .expect("imports");
        assert!(
            text.contains("kind = 'latency'\ntarget = 'com.acme.Pay#charge'\ndelay = '3000ms'\njitter = '500ms'"),
            "{text}"
        );
    }

    #[test]
    fn flags_may_be_written_with_equals() {
        let text = import(
            "./blade c jvm tce --exception=java.io.IOException --exception-message=boom --classname=a.B --methodname=m",
        )
        .expect("imports");
        assert!(text.contains("throw = 'java.io.IOException'\nmessage = 'boom'"), "{text}");
    }

    #[test]
    fn count_and_percent_together_are_both_kept_and_the_difference_said() {
        let text = import(
            "blade create jvm delay --time 10 --classname a.B --methodname m --effect-count 2 --effect-percent 50",
        )
        .expect("imports");
        assert!(text.contains("limit = 2") && text.contains("probability = 0.5"), "{text}");
        assert!(text.contains("# ChaosBlade ignores --effect-percent when --effect-count is given"), "{text}");
    }

    #[test]
    fn an_unknown_flag_is_refused_by_name() {
        assert!(
            refused("blade create jvm delay --time 10 --classname a.B --methodname m --bogus 1").contains("--bogus")
        );
    }

    #[test]
    fn quoted_words_stay_one_word() {
        assert_eq!(split_words(r#"a 'b c' "d \" e""#).expect("splits"), ["a", "b c", "d \" e"]);
    }

    #[test]
    fn numbers_given_as_return_values_carry_a_note_on_their_type() {
        let text = import("blade create jvm return --value 9999 --classname a.B --methodname m").expect("imports");
        assert!(text.contains("value = 9999") && text.contains("write value = \"9999\""), "{text}");
    }

    #[test]
    fn full_gc_ends_after_its_count_of_collections() {
        let text = import("blade c jvm fgc --effect-count 100 --interval 1000").expect("imports");
        assert!(text.contains("every = '1000ms'\nduration = '99500ms'"), "{text}");
        assert!(refused("blade c jvm fgc").contains("100 ms"));
    }

    #[test]
    fn a_mysql_table_becomes_a_word_regex_on_the_sql() {
        let text = import("blade create mysql delay --time 2000 --sqltype select --port 3306 --select orders")
            .expect("imports");
        assert!(text.contains(r"sql = '(?i)\borders\b'"), "{text}");
        assert!(text.contains("url = 'jdbc:mysql://*:3306/*'"), "{text}");
        assert!(text.contains("operation = 'select'"), "{text}");
    }
}
