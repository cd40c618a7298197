//! The `faultline` CLI against real running JVMs started without any agent flag: attach,
//! inject each kind, see the effect from the Java side, stop, see it gone.

mod common;

use common::*;
use std::time::Duration;

fn pid(s: &Service) -> String {
    s.pid().to_string()
}

fn ok(run: &JvmRun) {
    assert_eq!(run.status, 0, "faultline failed:\n{}", run.describe());
}

/// `faultline inject PID exception --target fixtures.Targets$Repo#save --throw THROW EXTRA...`
fn inject_save_exception(s: &Service, throw: &str, extra: &[&str]) -> JvmRun {
    let pid = pid(s);
    let mut args =
        vec!["inject", pid.as_str(), "exception", "--target", "fixtures.Targets$Repo#save", "--throw", throw];
    args.extend_from_slice(extra);
    faultline(&args)
}

#[test]
fn ps_finds_a_jvm_started_without_perf_data() {
    let s = Service::start(&["-XX:-UsePerfData".into()]);
    let run = faultline(&["ps", "--json"]);
    ok(&run);
    let list: serde_json::Value = serde_json::from_str(&run.stdout).expect("ps --json is JSON");
    let me = list.as_array().expect("array").iter().find(|j| j["pid"] == s.pid()).expect("our JVM is listed");
    assert_eq!(me["main"], "fixtures.Service");
    assert_eq!(me["attachable"], true);
    assert!(me["jdk"].as_str().is_some_and(|v| v.chars().next().is_some_and(|c| c.is_ascii_digit())), "{me}");
    let table = faultline(&["ps"]);
    ok(&table);
    assert!(table.stdout.lines().any(|l| l.contains(&pid(&s)) && l.contains("fixtures.Service")), "{}", table.stdout);
}

#[test]
fn exception_injected_by_attach_reaches_the_code_and_stop_restores_it() {
    let s = Service::start(&[]);
    let run = inject_save_exception(&s, "java.io.IOException", &["--message", "from the cli", "--id", "boom"]);
    ok(&run);
    assert!(run.stdout.contains("armed 'boom'") && run.stdout.contains("1 method instrumented"), "{}", run.stdout);
    let mark = s.output().len();
    let calls = s.calls_since(mark, 3);
    assert!(calls.iter().all(|c| c == "call ex java.io.IOException: from the cli"), "{calls:?}");

    let status = faultline(&["status", &pid(&s), "--json"]);
    ok(&status);
    let v: serde_json::Value = serde_json::from_str(&status.stdout).expect("JSON");
    let fault = &v["faults"][0];
    assert_eq!(fault["id"], "boom");
    assert!(fault["injected"].as_i64().unwrap_or(0) >= 3, "{fault}");
    assert!(
        fault["time_left_ms"].as_u64().is_some_and(|ms| ms > 500_000 && ms <= 600_000),
        "default lease is 10m: {fault}"
    );

    ok(&faultline(&["stop", &pid(&s), "boom"]));
    // The first call reported after stop may have entered the method before it: judge the next three.
    let mark = s.output().len();
    let calls = s.calls_since(mark, 4);
    assert!(calls[1..].iter().all(|c| c.starts_with("call ok")), "after stop: {calls:?}");

    let events = faultline(&["events", &pid(&s), "--json"]);
    ok(&events);
    let lines: Vec<serde_json::Value> =
        events.stdout.lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    let fired = lines.iter().find(|e| e["kind"] == "exception").expect("an exception event");
    assert_eq!(fired["thread"], "worker");
    assert!(fired["caught"].as_str().is_some_and(|c| c.starts_with("fixtures.Service#lambda$main$")), "{fired}");
    assert!(lines.iter().any(|e| e["kind"] == "removed" && e["fault"] == "boom"));
}

#[test]
fn latency_injected_by_attach_slows_the_calls() {
    let s = Service::start(&[]);
    ok(&faultline(&["inject", &pid(&s), "latency", "--target", "fixtures.Targets$Repo#save", "--delay", "80ms"]));
    let mark = s.output().len();
    let calls = s.calls_since(mark, 3);
    for c in &calls {
        let ms: u64 = c.strip_prefix("call ok ").and_then(|m| m.parse().ok()).unwrap_or_else(|| panic!("{calls:?}"));
        assert!(ms >= 80, "{calls:?}");
    }
    ok(&faultline(&["stop", &pid(&s)]));
}

#[test]
fn hang_injected_by_attach_holds_the_call_until_stop() {
    let s = Service::start(&[]);
    ok(&faultline(&["inject", &pid(&s), "hang", "--target", "fixtures.Targets$Repo#save", "--max", "60s"]));
    std::thread::sleep(Duration::from_millis(300));
    let mark = s.output().len();
    std::thread::sleep(Duration::from_millis(500));
    assert!(s.lines_since(mark).iter().all(|l| !l.starts_with("call ")), "a call completed while hung");
    ok(&faultline(&["stop", &pid(&s)]));
    let calls = s.calls_since(mark, 2);
    let held: u64 = calls[0].strip_prefix("call ok ").and_then(|m| m.parse().ok()).expect("ms");
    assert!(held >= 500, "the hung call returned after {held} ms: {calls:?}");
}

#[test]
fn conditions_exit_faults_and_return_values_from_the_cli() {
    let s = Service::start(&[]);
    let p = pid(&s);
    // Only calls for even items: the worker saves item-0, item-1, ... in turn.
    let run = inject_save_exception(
        &s,
        "java.io.IOException",
        &["--when", "arg0 matches 'item-[0-9]*[02468]'", "--id", "even"],
    );
    ok(&run);
    assert!(run.stdout.contains("when arg0 matches 'item-[0-9]*[02468]'"), "{}", run.stdout);
    let mark = s.output().len();
    let calls = s.calls_since(mark, 7);
    let failed: Vec<bool> = calls[1..].iter().map(|c| c.starts_with("call ex java.io.IOException")).collect();
    assert!(failed.windows(2).all(|w| w[0] != w[1]), "every other call fails: {calls:?}");
    ok(&faultline(&["stop", &p, "even"]));

    // A return value at exit: the body runs, its result is replaced.
    let run = faultline(&[
        "inject",
        &p,
        "return",
        "--target",
        "fixtures.Targets$Repo#save",
        "--at",
        "exit",
        "--value",
        "\"stubbed\"",
        "--id",
        "stub",
    ]);
    ok(&run);
    assert!(run.stdout.contains("at exit returning stubbed"), "{}", run.stdout);
    let mark = s.output().len();
    s.calls_since(mark, 2);
    let status = faultline(&["status", &p]);
    ok(&status);
    assert!(status.stdout.contains("fixtures.Targets$Repo#save at exit returning stubbed"), "{}", status.stdout);
    let v: serde_json::Value = serde_json::from_str(&faultline(&["status", &p, "--json"]).stdout).expect("JSON");
    assert_eq!(
        (v["faults"][0]["at"].as_str(), v["faults"][0]["value"].as_str()),
        (Some("exit"), Some("stubbed")),
        "{v}"
    );
    let events = faultline(&["events", &p]);
    assert!(events.stdout.contains("at exit returned stubbed on worker"), "{}", events.stdout);
    let json = faultline(&["events", &p, "--json"]);
    let fired: serde_json::Value = json
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON line"))
        .find(|e| e["kind"] == "return")
        .expect("a return event");
    assert_eq!((fired["at"].as_str(), fired["returned"].as_str()), (Some("exit"), Some("stubbed")), "{fired}");
    ok(&faultline(&["stop", &p]));

    // Mistakes in the new flags: bad usage (exit 2) before the JVM is touched, or, for what only
    // the JVM knows (the method's return type), a failure with nothing armed.
    for (args, needle) in [
        (vec!["--when", "arg0 >"], "--when: column 7"),
        (vec!["--at", "sideways"], "--at: unknown point"),
        (vec!["--when", "result == 'x'"], "at = \"exit\""),
    ] {
        let mut argv =
            vec!["inject", p.as_str(), "return", "--target", "fixtures.Targets$Repo#save", "--value", "null"];
        argv.extend(args.iter().copied());
        let run = faultline(&argv);
        assert_eq!(run.status, 2, "{argv:?}: {}", run.describe());
        assert!(run.stderr.contains(needle), "{argv:?}: {}", run.stderr);
    }
    let run = faultline(&["inject", &p, "return", "--target", "fixtures.Targets$Repo#save", "--value", "12"]);
    assert_eq!(run.status, 1, "{}", run.describe());
    assert!(run.stderr.contains("key 'value'") && run.stderr.contains("java.lang.String"), "{}", run.stderr);
    let status = faultline(&["status", &p, "--json"]);
    assert!(status.stdout.contains("\"faults\":[]"), "nothing armed: {}", status.stdout);
}

#[test]
fn lease_ends_the_fault_without_the_cli() {
    let s = Service::start(&[]);
    ok(&inject_save_exception(&s, "java.lang.IllegalStateException", &["--for", "1s"]));
    // The CLI has exited: only the agent's lease can end the fault.
    std::thread::sleep(Duration::from_millis(1500));
    let mark = s.output().len();
    let calls = s.calls_since(mark, 3);
    assert!(calls.iter().all(|c| c.starts_with("call ok")), "{calls:?}");
    let events = faultline(&["events", &pid(&s), "--json"]);
    assert!(events.stdout.contains("\"kind\":\"expired\""), "{}", events.stdout);
}

#[test]
fn second_inject_reuses_the_loaded_agent() {
    let s = Service::start(&[]);
    for n in 0..3 {
        let id = format!("f{n}");
        let run = faultline(&[
            "inject",
            &pid(&s),
            "latency",
            "--target",
            "fixtures.Targets$Repo#save",
            "--delay",
            "1ms",
            "--id",
            &id,
        ]);
        ok(&run);
        // The first load by attach into a JVM started without an agent says what it costs.
        let noted = run.stderr.contains("makes HotSpot recompile its compiled code once");
        assert_eq!(noted, n == 0, "inject {n}: stderr {:?}", run.stderr);
    }
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", s.pid())).expect("maps");
    let mut paths: Vec<&str> = maps
        .lines()
        .filter(|l| l.contains("libfaultline_agent.so"))
        .filter_map(|l| l.split_whitespace().nth(5))
        .collect();
    paths.dedup();
    assert_eq!(paths.len(), 1, "one agent library only: {paths:?}");
    let status = faultline(&["status", &pid(&s), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&status.stdout).expect("JSON");
    assert_eq!(v["faults"].as_array().map(Vec::len), Some(3), "{v}");
}

#[test]
fn jvm_started_with_the_agent_flag_is_driven_the_same_way() {
    let s = Service::start(&[agentpath("")]);
    let run = inject_save_exception(&s, "java.lang.IllegalStateException", &[]);
    ok(&run);
    assert!(!run.stderr.contains("recompile"), "the agent was there from the start: {:?}", run.stderr);
    let mark = s.output().len();
    assert!(s.calls_since(mark, 2).iter().all(|c| c.starts_with("call ex java.lang.IllegalStateException")));
    ok(&faultline(&["stop", &pid(&s)]));
}

#[test]
fn apply_arms_a_scenario_file() {
    let s = Service::start(&[]);
    let dir = Scratch::new("apply");
    let file = dir.write(
        "s.toml",
        "[[fault]]\nid = \"a\"\nkind = \"exception\"\ntarget = \"fixtures.Targets$Repo#save\"\nthrow = \"java.io.IOException\"\nprobability = 1.0\n",
    );
    let run = faultline(&["apply", &pid(&s), file.to_str().expect("utf-8")]);
    ok(&run);
    let mark = s.output().len();
    assert!(s.calls_since(mark, 2).iter().all(|c| c.starts_with("call ex java.io.IOException")));
    ok(&faultline(&["stop", &pid(&s)]));
}

#[test]
fn inject_stop_cycles_do_not_grow_the_jvm() {
    // C1 only: with full tiered compilation the JIT keeps building profiles of the JDK code
    // the cycles run for hundreds of cycles, with or without faultline, and that would hide
    // a real leak of ours in its noise.
    let s = Service::start(&["-XX:TieredStopAtLevel=1".into()]);
    let footprint = || footprint::classes_and_metaspace(s.pid());
    let threads = || std::fs::read_dir(format!("/proc/{}/task", s.pid())).map(|d| d.count()).unwrap_or(0);
    let cycle = |n: usize| {
        let id = format!("c{n}");
        ok(&inject_save_exception(&s, "java.lang.IllegalStateException", &["--id", &id]));
        let mark = s.output().len();
        s.calls_since(mark, 1);
        ok(&faultline(&["stop", &pid(&s), &id]));
    };
    // The first cycles load what the first injection needs once (stack walking, reflection).
    for n in 0..20 {
        cycle(n);
    }
    let warm = footprint();
    let warm_threads = threads();
    for n in 20..120 {
        cycle(n);
    }
    let after = footprint();
    // A connection's thread in the agent ends just after its reply is sent: wait for threads
    // that are ending (bounded), then count what remains.
    let settle = std::time::Instant::now() + Duration::from_secs(3);
    let mut after_threads = threads();
    while after_threads > warm_threads && std::time::Instant::now() < settle {
        std::thread::sleep(Duration::from_millis(50));
        after_threads = threads();
    }
    println!("after 20 cycles: {warm:?} (classes, metaspace KB), {warm_threads} threads; after 120: {after:?}, {after_threads} threads");
    assert!(after.0 <= warm.0 + 5, "live classes grew from {} to {}", warm.0, after.0);
    assert!(after.1 <= warm.1 + 64, "metaspace grew from {} KB to {} KB over 100 cycles", warm.1, after.1);
    assert!(after_threads <= warm_threads, "threads grew from {warm_threads} to {after_threads}");
}

#[test]
fn pid_that_does_not_exist_is_a_one_line_error() {
    let run = faultline(&["status", "999999999"]);
    assert_eq!(run.status, 1, "{}", run.describe());
    assert!(run.stderr.starts_with("faultline: ") && run.stderr.trim().lines().count() == 1, "{}", run.stderr);
}

#[test]
fn process_that_is_not_a_jvm_is_refused() {
    let mut sleeper = std::process::Command::new("sleep").arg("30").spawn().expect("sleep");
    let run = faultline(&["status", &sleeper.id().to_string()]);
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    assert_eq!(run.status, 1, "{}", run.describe());
    assert!(run.stderr.contains("not a JVM"), "{}", run.stderr);
}

#[test]
fn jvm_that_refuses_attach_is_reported() {
    let s = Service::start(&["-XX:+DisableAttachMechanism".into()]);
    let run = faultline(&["inject", &pid(&s), "latency", "--target", "fixtures.Targets$Repo#save", "--delay", "1ms"]);
    assert_eq!(run.status, 1, "{}", run.describe());
    assert!(run.stderr.contains("DisableAttachMechanism"), "{}", run.stderr);
    let mark = s.output().len();
    assert!(s.calls_since(mark, 2).iter().all(|c| c.starts_with("call ok")), "the JVM is left as it was");
}

#[test]
fn name_that_matches_no_jvm_is_an_error() {
    let run = faultline(&["status", "no.such.MainClass"]);
    assert_eq!(run.status, 1, "{}", run.describe());
    assert!(run.stderr.contains("no.such.MainClass"), "{}", run.stderr);
}

#[test]
fn stop_of_an_unknown_fault_is_an_error() {
    let s = Service::start(&[]);
    let run = faultline(&["stop", &pid(&s), "nope"]);
    assert_eq!(run.status, 1, "{}", run.describe());
    assert!(run.stderr.contains("no fault with id 'nope'"), "{}", run.stderr);
}

#[test]
fn bad_fault_flags_name_the_flag() {
    let s = Service::start(&[]);
    let p = pid(&s);
    let dir = Scratch::new("badflags");
    let malformed =
        dir.write("malformed.toml", "[[fault]]\nkind = \"latency\"\ntarget = \"fixtures.Targets$Repo#save\"\n");
    // Bad flags are bad usage (exit 2) and are refused before the JVM is touched: no agent loaded.
    for (args, flag) in [
        (vec!["--target", "fixtures.Targets$Repo#save", "--delay", "fast"], "--delay"),
        (vec!["--target", "fixtures.Targets$Repo#save", "--delay", "10ms", "--probability", "2"], "--probability"),
        (vec!["--target", "fixtures.Targets$Repo#save", "--delay", "10ms", "--for", "soon"], "--for"),
        (vec!["--delay", "10ms"], "--target"),
    ] {
        let mut argv = vec!["inject", p.as_str(), "latency"];
        argv.extend(args.iter().copied());
        let run = faultline(&argv);
        assert_eq!(run.status, 2, "{argv:?}: {}", run.describe());
        assert!(run.stderr.contains(flag), "{argv:?}: {}", run.stderr);
    }
    // A wrong agent library (the jar, an easy mistake) never reaches the JVM.
    let jar = agent_jar().display().to_string();
    let run = faultline(&[
        "--agent",
        &jar,
        "inject",
        &p,
        "latency",
        "--target",
        "fixtures.Targets$Repo#save",
        "--delay",
        "1ms",
    ]);
    assert_eq!(run.status, 1, "{}", run.describe());
    assert!(run.stderr.contains("is not the faultline agent library: not a native library"), "{}", run.stderr);
    assert!(!s.output().contains("stack guard"), "the JVM saw the wrong file: {}", s.output());
    // A malformed scenario file is a failure (exit 1), found before attaching too.
    let run = faultline(&["apply", &pid(&s), &malformed.display().to_string()]);
    assert_eq!(run.status, 1, "{}", run.describe());
    assert!(run.stderr.contains("malformed.toml"), "{}", run.stderr);
    assert_eq!(ps_entry(s.pid())["agent_loaded"], false, "the JVM was left untouched");
    // What only the JVM can tell (the exception class) is refused there, with nothing armed.
    let run = inject_save_exception(&s, "com.nowhere.Nope", &[]);
    assert_eq!(run.status, 1, "{}", run.describe());
    assert!(run.stderr.contains("com.nowhere.Nope"), "{}", run.stderr);
    let status = faultline(&["status", &pid(&s), "--json"]);
    assert!(status.stdout.contains("\"faults\":[]"), "nothing half-applied: {}", status.stdout);
}

#[test]
fn a_method_typo_on_a_loaded_class_is_refused_with_the_methods_it_has() {
    let s = Service::start(&[]);
    s.calls_since(0, 1); // Targets$Repo is loaded and in use
    let run = faultline(&["inject", &pid(&s), "latency", "--target", "fixtures.Targets$Repo#sav", "--delay", "5ms"]);
    assert_eq!(run.status, 1, "{}", run.describe());
    assert!(
        run.stderr.contains("fixtures.Targets$Repo is loaded and has no method matching \"sav\""),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("did you mean save"), "{}", run.stderr);
    let run =
        faultline(&["inject", &pid(&s), "latency", "--target", "fixtures.Targets$Repo#save(long)", "--delay", "5ms"]);
    assert_eq!(run.status, 1, "{}", run.describe());
    assert!(run.stderr.contains("its save methods are fixtures.Targets$Repo#save("), "{}", run.stderr);
    let status = faultline(&["status", &pid(&s), "--json"]);
    assert!(status.stdout.contains("\"faults\":[]"), "nothing armed: {}", status.stdout);
    // A class that is not loaded yet may still load: armed, with a warning.
    let later = faultline(&["inject", &pid(&s), "latency", "--target", "fixtures.NotLoadedYet#run", "--delay", "5ms"]);
    assert_eq!(later.status, 0, "{}", later.describe());
    assert!(later.stdout.contains("no loaded method matches yet"), "{}", later.stdout);
}

#[test]
fn reading_and_stopping_never_load_the_agent() {
    let s = Service::start(&[]);
    let p = pid(&s);
    let status = faultline(&["status", &p, "--json"]);
    assert_eq!(status.status, 0, "{}", status.describe());
    assert!(
        status.stdout.contains("\"agent_loaded\":false") && status.stdout.contains("\"faults\":[]"),
        "{}",
        status.stdout
    );
    let human = faultline(&["status", &p]);
    assert!(human.stdout.contains("0 faults armed (no faultline agent loaded)"), "{}", human.stdout);
    let stop = faultline(&["stop", &p]);
    assert_eq!(stop.status, 0, "{}", stop.describe());
    let stop_id = faultline(&["stop", &p, "nope"]);
    assert_eq!(stop_id.status, 1, "{}", stop_id.describe());
    assert!(stop_id.stderr.contains("no fault with id 'nope'"), "{}", stop_id.stderr);
    let events = faultline(&["events", &p, "--json"]);
    assert_eq!((events.status, events.stdout.as_str()), (0, ""), "{}", events.describe());
    assert_eq!(ps_entry(s.pid())["agent_loaded"], false, "a read loaded the agent");
    // An empty PID (an unset shell variable) is bad usage, not "any JVM".
    let empty = faultline(&["status", ""]);
    assert_eq!(empty.status, 2, "{}", empty.describe());
    assert!(empty.stderr.contains("PID is empty"), "{}", empty.stderr);
    // A zero lease would end the fault at once.
    let zero = faultline(&[
        "inject",
        &p,
        "latency",
        "--target",
        "fixtures.Targets$Repo#save",
        "--delay",
        "1ms",
        "--for",
        "0s",
    ]);
    assert_eq!(zero.status, 2, "{}", zero.describe());
    assert!(zero.stderr.contains("--for"), "{}", zero.stderr);
    // Negative values reach our own checks (clap would suggest `-- -5ms`).
    let negative = faultline(&["inject", &p, "latency", "--target", "fixtures.Targets$Repo#save", "--delay", "-5ms"]);
    assert_eq!(negative.status, 2, "{}", negative.describe());
    assert!(negative.stderr.contains("--delay") && !negative.stderr.contains("-- -5ms"), "{}", negative.stderr);
}

#[test]
fn events_piped_into_a_reader_that_leaves_end_quietly() {
    let s = Service::start(&[]);
    ok(&faultline(&["inject", &pid(&s), "latency", "--target", "fixtures.Targets$Repo#save", "--delay", "1ms"]));
    let mut follower = std::process::Command::new(artifacts().join("faultline"))
        .args(["events", &pid(&s), "--follow"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("faultline events");
    let mut first = String::new();
    {
        use std::io::BufRead;
        let stdout = follower.stdout.take().expect("stdout");
        std::io::BufReader::new(stdout).read_line(&mut first).expect("a first line");
    } // the reader goes away here, like `| head -1`
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = follower.try_wait().expect("wait") {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "events --follow kept running with no reader");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut follower.stderr.take().expect("stderr"), &mut stderr).expect("stderr");
    assert!(!first.is_empty());
    assert!(!stderr.contains("panicked"), "{stderr}");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(13), "ends by SIGPIPE, as Unix tools do: {status:?} {stderr}");
    ok(&faultline(&["stop", &pid(&s)]));
}

#[test]
fn a_jvm_that_exits_leaves_no_control_socket_behind() {
    let mut s = Service::start(&[]);
    ok(&faultline(&["inject", &pid(&s), "latency", "--target", "fixtures.Targets$Repo#save", "--delay", "1ms"]));
    let socket = std::path::PathBuf::from(format!("/tmp/.faultline-{}.sock", s.pid()));
    assert!(socket.exists(), "the control socket is open while the agent runs");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(s.pid() as i32), nix::sys::signal::Signal::SIGTERM)
        .expect("kill");
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while s.child.try_wait().expect("wait").is_none() {
        assert!(std::time::Instant::now() < deadline, "the service did not exit on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!socket.exists(), "{} left behind", socket.display());
}

#[test]
fn check_validates_scenario_files_and_lists_every_mistake() {
    let bundled: Vec<String> = std::fs::read_dir(repo_root().join("scenarios"))
        .expect("scenarios/")
        .filter_map(|e| e.ok().map(|e| e.path().display().to_string()))
        .filter(|p| p.ends_with(".toml"))
        .collect();
    assert!(bundled.len() >= 4, "{bundled:?}");
    let args: Vec<&str> = std::iter::once("check").chain(bundled.iter().map(String::as_str)).collect();
    ok(&faultline(&args));
    let dir = Scratch::new("check");
    let bad = dir.write(
        "bad.toml",
        "[[fault]]\nkind = \"latency\"\ntarget = \"a.B#c\"\ndealy = \"1s\"\n\n[[fault]]\nkind = \"hang\"\ntarget = \"a.B.c\"\n",
    );
    let empty = dir.write("empty.toml", "name = \"nothing\"\n");
    let run = faultline(&["check", &bad.display().to_string(), &empty.display().to_string()]);
    assert_eq!(run.status, 1, "{}", run.describe());
    assert!(run.stderr.contains("bad.toml:4: key 'dealy'"), "{}", run.stderr);
    assert!(
        run.stderr.contains("bad.toml:8: key 'target'") && run.stderr.contains("did you mean a.B#c?"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("empty.toml has no [[fault]] to arm"), "{}", run.stderr);
    assert!(run.stderr.contains("2 of 2 scenario files are invalid"), "{}", run.stderr);
}

#[test]
fn bad_usage_exits_2() {
    let run = faultline(&["inject"]);
    assert_eq!(run.status, 2, "{}", run.describe());
}

#[test]
fn another_retransforming_agent_and_faultline_coexist() {
    let dir = Scratch::new("otheragent");
    let jar = fixture_agent_jar(&dir, "fixtures.OtherAgent");
    let s = Service::start(&[format!("-javaagent:{}", jar.display())]);
    ok(&inject_save_exception(&s, "java.lang.IllegalStateException", &["--message", "coexist"]));
    // Over a second the other agent retransforms the class about ten times: our hook must stay.
    std::thread::sleep(Duration::from_millis(1000));
    let mark = s.output().len();
    let calls = s.calls_since(mark, 5);
    assert!(calls.iter().all(|c| c == "call ex java.lang.IllegalStateException: coexist"), "{calls:?}");
    ok(&faultline(&["stop", &pid(&s)]));
    std::thread::sleep(Duration::from_millis(300));
    let mark = s.output().len();
    let calls = s.calls_since(mark, 5);
    assert!(calls.iter().all(|c| c.starts_with("call ok")), "{calls:?}");
    let out = s.wait_for("other-agent retransforms=", Duration::from_secs(10));
    assert!(!out.contains("other-agent failed"), "{out}");
}

#[test]
fn jvm_of_another_user_is_refused_when_not_root() {
    if !std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    {
        eprintln!("skipped: switching to another user needs root");
        return;
    }
    let s = Service::start(&[]);
    let cli = artifacts().join("faultline");
    let mut cmd = std::process::Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(&cli).args([
        "inject",
        &pid(&s),
        "latency",
        "--target",
        "fixtures.Targets$Repo#save",
        "--delay",
        "1ms",
    ]);
    let run = run_with_timeout(cmd, Duration::from_secs(30));
    assert_eq!(run.status, 1, "{}", run.describe());
    assert!(run.stderr.contains("uid 0") || run.stderr.to_lowercase().contains("permission"), "{}", run.stderr);
    let mark = s.output().len();
    assert!(s.calls_since(mark, 2).iter().all(|c| c.starts_with("call ok")), "the JVM is left as it was");
}

/// A minimal HTTP GET on loopback: the status code.
fn http_status(port: u16, path: &str) -> u16 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to the demo");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").expect("send");
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("bad reply {reply:?}"))
}

#[test]
fn pool_fault_from_the_cli_saturates_the_demo_order_pool() {
    let dir = Scratch::new("demo-serve");
    let out_path = dir.path("out.txt");
    let out = std::fs::File::create(&out_path).expect("out");
    let mut child = std::process::Command::new(java())
        .args([
            "-cp",
            &artifacts().join("faultline-demo.jar").display().to_string(),
            "com.acme.DemoMain",
            "serve",
            "--port",
            "0",
        ])
        .stdout(out)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the demo");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let port: u16 = loop {
        let text = std::fs::read_to_string(&out_path).unwrap_or_default();
        if let Some(p) = text.lines().find_map(|l| l.strip_prefix("listening on 127.0.0.1:")) {
            break p.trim().parse().expect("port");
        }
        assert!(std::time::Instant::now() < deadline, "the demo did not start: {text}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let pid = child.id().to_string();
    assert_eq!(http_status(port, "/checkout"), 200);
    let run = faultline(&["inject", &pid, "pool", "--pool", "orders-*", "--mode", "saturate", "--id", "orders-full"]);
    assert_eq!(run.status, 0, "{}", run.describe());
    let during = http_status(port, "/checkout");
    let status = faultline(&["status", &pid, "--json"]);
    let stop = faultline(&["stop", &pid]);
    let after = http_status(port, "/checkout");
    let events = faultline(&["events", &pid, "--json"]);
    let readable = faultline(&["events", &pid]);
    let _ = child.kill();
    let _ = child.wait();
    // The command says what it did to the pool, not that no method matched.
    assert!(run.stdout.contains("armed 'orders-full' (pool pool orders-*, saturate)"), "{}", run.stdout);
    assert!(run.stdout.contains("com.acme.OrderExecutor@") && run.stdout.contains(": saturated"), "{}", run.stdout);
    assert!(!run.stdout.contains("method"), "{}", run.stdout);
    assert!(
        readable
            .stdout
            .lines()
            .any(|l| l.contains(" pool ") && l.contains("exhausted: 4 workers occupied, queue 50 of 50 filled")),
        "{}",
        readable.stdout
    );
    assert_eq!(during, 503, "a saturated pool rejects the order");
    assert!(status.stdout.contains("\"pools\""), "{}", status.stdout);
    assert_eq!(stop.status, 0, "{}", stop.describe());
    assert_eq!(after, 200, "the pool serves again after stop");
    let all: Vec<serde_json::Value> =
        events.stdout.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).collect();
    let at = |kind: &str| all.iter().position(|e| e["kind"] == kind);
    let (armed, exhausted) = (at("armed").expect("an armed event"), at("pool").expect("a pool event"));
    assert!(armed < exhausted, "the pool event follows the armed event: {}", events.stdout);
    let pool_event =
        all.iter().find(|e| e["kind"] == "pool").unwrap_or_else(|| panic!("no pool event: {}", events.stdout));
    assert_eq!(pool_event["occupied"], 4, "{pool_event}");
    assert_eq!(pool_event["queue_filled"], 50, "{pool_event}");
}

#[test]
fn events_follow_does_not_hold_up_other_commands() {
    let s = Service::start(&[]);
    ok(&faultline(&["inject", &pid(&s), "latency", "--target", "fixtures.Targets$Repo#save", "--delay", "1ms"]));
    let mut follower = std::process::Command::new(artifacts().join("faultline"))
        .args(["events", &pid(&s), "--follow"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start events --follow");
    std::thread::sleep(Duration::from_millis(500));
    let started = std::time::Instant::now();
    let status = faultline(&["status", &pid(&s)]);
    let stop = faultline(&["stop", &pid(&s)]);
    let took = started.elapsed();
    let _ = follower.kill();
    let _ = follower.wait();
    ok(&status);
    ok(&stop);
    assert!(took < Duration::from_secs(5), "status and stop waited {took:?} behind the follower");
}
