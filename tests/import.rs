//! `faultline import`: the peers' own documented examples, turned into scenarios that
//! `faultline check` accepts, refused with the reason where nothing faithful exists, and one
//! imported scenario of each peer armed in a real JVM.
//!
//! Sources quoted below:
//! - [cb-method] chaosblade-exec-jvm, chaosblade-exec-common/.../plugin/MethodModelSpec.java (setExample)
//! - [cb-oom] chaosblade-exec-plugin-jvm/.../oom/JvmOomActionSpec.java (getExample)
//! - [cb-fgc] chaosblade-exec-plugin-jvm/.../gc/FullGCActionSpec.java (getExample)
//! - [cb-tfl] chaosblade-exec-plugin-jvm/.../thread/model/JvmThreadFullActionSpec.java (getExample)
//! - [cb-cfl] chaosblade-exec-plugin-jvm/.../cpu/JvmCpuFullLoadActionSpec.java (getExample)
//! - [cb-servlet] chaosblade-exec-plugin-servlet/.../ServletModelSpec.java (setExample)
//! - [cb-mysql] chaosblade-exec-plugin-mysql/.../MysqlModelSpec.java (setExample)
//! - [cb-http] chaosblade-exec-plugin-http/.../model/HttpModelSpec.java (setExample)
//! - [cm-examples] chaos-mesh, examples/jvm/jvm-exception-example.yaml, jvm-return-example.yaml,
//!   jvm-rule-data-example.yaml
//! - [cm-docs] chaos-mesh/website, docs/simulate-jvm-application-chaos.md ("Create experiments
//!   using YAML files", step 3, and the field tables)

mod common;

use common::*;
use std::io::Write;
use std::process::{Command, Stdio};

fn import_chaosblade(command: &str) -> JvmRun {
    let mut args = vec!["import", "chaosblade", "--"];
    args.extend(command.split_whitespace());
    faultline(&args)
}

/// Imports, checks that the scenario passes `faultline check`, and returns it.
fn imported(run: JvmRun) -> String {
    assert_eq!(run.status, 0, "import failed:\n{}", run.describe());
    let dir = Scratch::new("import");
    let file = dir.write("imported.toml", &run.stdout);
    let check = faultline(&["check", file.to_str().expect("utf-8")]);
    assert_eq!(check.status, 0, "faultline check refused the import:\n{}\n{}", run.stdout, check.describe());
    run.stdout
}

fn refused(run: JvmRun, reason: &str) {
    assert_eq!(run.status, 2, "expected a refusal (exit 2):\n{}", run.describe());
    assert!(run.stdout.is_empty(), "a refusal prints no scenario:\n{}", run.stdout);
    assert!(run.stderr.contains(reason), "the reason should mention '{reason}':\n{}", run.stderr);
}

fn has(text: &str, lines: &[&str]) {
    for line in lines {
        assert!(text.lines().any(|l| l == *line), "no line `{line}` in:\n{text}");
    }
}

fn import_chaos_mesh(yaml: &str) -> JvmRun {
    let dir = Scratch::new("import-cm");
    let file = dir.write("jvmchaos.yaml", yaml);
    faultline(&["import", "chaos-mesh", file.to_str().expect("utf-8")])
}

// [cb-method] "Inject a 4-second delay failure on the sayHello method"
#[test]
fn chaosblade_delay_becomes_a_latency_on_the_method() {
    let text = imported(import_chaosblade(
        "blade create jvm delay --time 4000 --classname=com.example.controller.DubboController --methodname=sayHello",
    ));
    has(&text, &["kind = 'latency'", "target = 'com.example.controller.DubboController#sayHello'", "delay = '4000ms'"]);
}

// [cb-method] "Inject a custom exception failure ... effect the two requests"
#[test]
fn chaosblade_custom_exception_with_effect_count_becomes_an_exception_with_a_limit() {
    let text = imported(import_chaosblade(
        "blade create jvm throwCustomException --exception java.lang.Exception --classname \
         com.example.controller.DubboController --methodname sayHello --effect-count 2",
    ));
    has(&text, &["kind = 'exception'", "throw = 'java.lang.Exception'", "limit = 2"]);
}

// [cb-method] "Inject a tamper return value failure on the ... hello() method"
#[test]
fn chaosblade_return_becomes_a_return_fault() {
    let text = imported(import_chaosblade(
        "blade create jvm return --value hello-chaosblade --classname com.example.controller.DubboController \
         --methodname hello",
    ));
    has(&text, &["kind = 'return'", "value = \"hello-chaosblade\""]);
}

// [cb-method] "Throw the first declared exception of method, effect the two requests"
#[test]
fn chaosblade_declared_exception_is_refused_with_what_to_write() {
    refused(
        import_chaosblade(
            "blade create jvm throwDeclaredException --classname com.example.controller.DubboController \
             --methodname sayHello --effect-count 2",
        ),
        "use throwCustomException --exception CLASS",
    );
}

// The delay example of [cb-method], with both effect flags (ChaosBlade's Injector: the count wins).
#[test]
fn chaosblade_effect_count_and_percent_keep_both_and_say_how_they_differ() {
    let text = imported(import_chaosblade(
        "blade create jvm delay --time 4000 --classname=com.example.controller.DubboController \
         --methodname=sayHello --effect-count 2 --effect-percent 50",
    ));
    has(&text, &["limit = 2", "probability = 0.5"]);
    assert!(
        text.contains(
            "# ChaosBlade ignores --effect-percent when --effect-count is given (it injects the first 2 matching \
             calls); faultline applies both: each call is hit with probability 0.5, at most 2 times"
        ),
        "{text}"
    );
}

#[test]
fn chaosblade_unknown_flag_is_refused_by_name() {
    refused(
        import_chaosblade(
            "blade create jvm delay --time 4000 --classname com.example.controller.DubboController --methodname \
             sayHello --frobnicate 3",
        ),
        "--frobnicate",
    );
}

// [cb-oom] "The Heap area is filled with memory."
#[test]
fn chaosblade_heap_oom_holds_95_percent_and_says_so() {
    let text = imported(import_chaosblade("blade c jvm oom --area HEAP --wild-mode true"));
    has(&text, &["kind = 'heap'", "fill = 0.95"]);
    assert!(text.contains("ChaosBlade fills the heap until OutOfMemoryError; faultline never causes one"), "{text}");
}

// [cb-oom] "The Metaspace area is filled with memory."
#[test]
fn chaosblade_noheap_oom_is_refused_with_metaspace_and_a_size() {
    refused(import_chaosblade("blade c jvm oom --area NOHEAP --wild-mode true"), "kind = \"metaspace\" with size");
}

// [cb-fgc] "Specifies full gc"
#[test]
fn chaosblade_full_gc_collects_every_interval_for_its_count() {
    let text = imported(import_chaosblade("blade c jvm fgc --effect-count 100 --interval 1000"));
    has(&text, &["kind = 'gc'", "every = '1000ms'", "duration = '99500ms'"]);
}

// [cb-tfl] both examples
#[test]
fn chaosblade_threadfull_holds_threads_waiting_or_running() {
    let waiting = imported(import_chaosblade("blade create jvm threadfull --wait --thread-count 20"));
    has(&waiting, &["kind = 'threads'", "count = 20", "state = 'waiting'"]);
    let running = imported(import_chaosblade("blade create jvm threadfull --running --thread-count 20"));
    has(&running, &["state = 'running'"]);
}

// [cb-cfl] "Specifies full load of two kernel"
#[test]
fn chaosblade_cpu_full_load_names_the_process_in_a_comment() {
    let text = imported(import_chaosblade("blade c jvm cfl --cpu-count 2 --process tomcat"));
    has(&text, &["kind = 'cpu'", "cores = 2", "load = 1"]);
    assert!(text.contains("faultline apply 'tomcat' FILE"), "{text}");
}

// [cb-servlet] modifyCode, delay and throwCustomException examples
#[test]
fn chaosblade_servlet_becomes_the_http_server_preset() {
    let code = imported(import_chaosblade("blade c servlet mc --requestpath /dubbodemo/servlet/path --code=404"));
    has(&code, &["kind = 'respond'", "preset = 'http-server'", "status = 404", "path = '/dubbodemo/servlet/path'"]);
    let delay = imported(import_chaosblade(
        "blade c servlet delay --time 3000 --requestpath /dubbodemo/servlet/path --effect-count 2",
    ));
    has(&delay, &["kind = 'latency'", "preset = 'http-server'", "delay = '3000ms'", "limit = 2"]);
    let thrown = imported(import_chaosblade(
        "blade c servlet throwCustomException --exception org.springframework.beans.BeansException \
         --exception-message mock-beans-exception --requestpath /hello --effect-count 3",
    ));
    has(
        &thrown,
        &["throw = 'org.springframework.beans.BeansException'", "message = 'mock-beans-exception'", "limit = 3"],
    );
}

// [cb-servlet] "The request parameter is name=family, the delay is 2 seconds ..."
#[test]
fn chaosblade_servlet_query_string_is_refused() {
    refused(
        import_chaosblade(
            "blade c servlet delay --time 2000 --offset 1000 --querystring name=family --effect-percent 50 --debug",
        ),
        "--querystring",
    );
}

// [cb-mysql] both examples
#[test]
fn chaosblade_mysql_becomes_the_jdbc_preset_on_mysql_urls() {
    let delay = imported(import_chaosblade("blade create mysql delay --time 2000 --sqltype select --port 3306"));
    has(&delay, &["preset = 'jdbc'", "operation = 'select'", "url = 'jdbc:mysql://*:3306/*'", "delay = '2000ms'"]);
    let thrown = imported(import_chaosblade("blade create mysql throwCustomException --exception java.lang.Exception"));
    has(&thrown, &["preset = 'jdbc'", "throw = 'java.lang.Exception'", "url = 'jdbc:mysql:*'"]);
}

// [cb-http] the HttpClient4 delay and exception examples
#[test]
fn chaosblade_http_becomes_the_http_client_preset() {
    let delay =
        imported(import_chaosblade("blade create http delay --httpclient4 --uri https://www.taobao.com --time 3000"));
    has(&delay, &["preset = 'http-client'", "url = 'https://www.taobao.com'", "delay = '3000ms'"]);
    assert!(delay.contains("ChaosBlade acted on httpclient4 only"), "{delay}");
    let thrown = imported(import_chaosblade(
        "blade c http throwCustomException --httpclient4 --exception=java.lang.Exception \
         --exception-message=customException --uri=https://www.taobao.com/",
    ));
    has(&thrown, &["throw = 'java.lang.Exception'", "message = 'customException'", "url = 'https://www.taobao.com/'"]);
}

#[test]
fn chaosblade_script_is_refused() {
    refused(
        import_chaosblade("blade create jvm script --classname com.acme.Pay --methodname charge --script-file x.java"),
        "script",
    );
}

const CM_EXCEPTION: &str = r#"apiVersion: chaos-mesh.org/v1alpha1
kind: JVMChaos
metadata:
  name: exception
spec:
  action: exception
  class: Main
  method: sayhello
  exception: java.io.IOException("BOOM")
  mode: all
  selector:
    namespaces:
      - helloworld
"#;

const CM_RETURN: &str = r#"apiVersion: chaos-mesh.org/v1alpha1
kind: JVMChaos
metadata:
  name: return
spec:
  action: return
  class: Main
  method: getnum
  value: "9999"
  mode: all
  selector:
    namespaces:
      - helloworld
"#;

// [cm-examples] jvm-exception-example.yaml
#[test]
fn chaos_mesh_exception_becomes_an_exception_with_its_message() {
    let text = imported(import_chaos_mesh(CM_EXCEPTION));
    has(
        &text,
        &[
            "id = 'exception'",
            "kind = 'exception'",
            "target = 'Main#sayhello'",
            "throw = 'java.io.IOException'",
            "message = 'BOOM'",
        ],
    );
    assert!(text.contains("# Chaos Mesh chose the pods by mode all, selector {namespaces: [helloworld]}"), "{text}");
}

// [cm-docs] step 3 (the namespaced copy of jvm-return-example.yaml)
#[test]
fn chaos_mesh_return_takes_the_value_the_docs_write() {
    let text = imported(import_chaos_mesh(
        r#"apiVersion: chaos-mesh.org/v1alpha1
kind: JVMChaos
metadata:
  name: return
  namespace: helloworld
spec:
  action: return
  class: Main
  method: getnum
  value: '9999'
  mode: all
  selector:
    namespaces:
      - helloworld
"#,
    ));
    has(&text, &["id = 'return'", "kind = 'return'", "target = 'Main#getnum'", "value = 9999"]);
    assert!(text.contains("namespace helloworld"), "{text}");
}

// [cm-examples] both resources in one file, as kubectl takes them
#[test]
fn chaos_mesh_documents_in_one_file_become_one_fault_each() {
    let text = imported(import_chaos_mesh(&format!("{CM_EXCEPTION}---\n{CM_RETURN}")));
    assert_eq!(text.matches("[[fault]]").count(), 2, "{text}");
}

// [cm-examples] jvm-rule-data-example.yaml
#[test]
fn chaos_mesh_rule_data_is_refused() {
    refused(
        import_chaos_mesh(
            r#"apiVersion: chaos-mesh.org/v1alpha1
kind: JVMChaos
metadata:
  name: modify-return
spec:
  action: ruleData
  ruleData: "RULE modify return value\nCLASS Main\nMETHOD getnum\nAT ENTRY\nIF true\nDO\n    return 9999\nENDRULE"
  mode: all
  selector:
    namespaces:
      - helloworld
"#,
        ),
        "Byteman",
    );
}

// [cm-docs] field tables: latency (class, method, latency in ms), stress (cpuCount, memType), gc.
#[test]
fn chaos_mesh_latency_stress_and_gc_import_with_their_duration() {
    let resource = |name: &str, fields: &str| {
        format!(
            "apiVersion: chaos-mesh.org/v1alpha1\nkind: JVMChaos\nmetadata:\n  name: {name}\nspec:\n  duration: 30s\n  \
             mode: one\n  selector:\n    namespaces: [helloworld]\n{fields}"
        )
    };
    let text = imported(import_chaos_mesh(
        &[
            resource("slow", "  action: latency\n  class: Main\n  method: getnum\n  latency: 1000\n"),
            resource("cpu", "  action: stress\n  cpuCount: 2\n"),
            resource("heap", "  action: stress\n  memType: heap\n"),
            resource("gc", "  action: gc\n"),
        ]
        .join("---\n"),
    ));
    has(&text, &["delay = '1000ms'", "duration = '30s'", "cores = 2", "fill = 0.95", "every = '30s'"]);
    assert!(text.contains("Chaos Mesh fills the heap until OutOfMemoryError"), "{text}");
    assert!(text.contains("Chaos Mesh collects once, when injected"), "{text}");
    refused(import_chaos_mesh(&resource("stack", "  action: stress\n  memType: stack\n")), "StackOverflowError");
}

#[test]
fn chaos_mesh_other_kinds_are_refused_naming_the_kind() {
    refused(
        import_chaos_mesh("apiVersion: chaos-mesh.org/v1alpha1\nkind: Schedule\nmetadata:\n  name: s\nspec: {}\n"),
        "kind Schedule",
    );
}

#[test]
fn chaos_mesh_reads_standard_input() {
    let mut child = Command::new(artifacts().join("faultline"))
        .args(["import", "chaos-mesh", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start faultline");
    child.stdin.take().expect("stdin").write_all(CM_EXCEPTION.as_bytes()).expect("write stdin");
    let out = child.wait_with_output().expect("faultline ends");
    let run = JvmRun {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    };
    has(&imported(run), &["throw = 'java.io.IOException'"]);
}

/// Applies an imported scenario to the fixture service and waits for its exception calls.
fn apply_and_see(scenario: &str, expected_call: &str) {
    let s = Service::start(&[]);
    let dir = Scratch::new("import-apply");
    let file = dir.write("imported.toml", scenario);
    let p = s.pid().to_string();
    let run = faultline(&["apply", &p, file.to_str().expect("utf-8")]);
    assert_eq!(run.status, 0, "apply failed:\n{}", run.describe());
    let mark = s.output().len();
    let calls = s.calls_since_matching(mark, expected_call, 2);
    assert!(calls.iter().all(|c| c.starts_with(expected_call)), "{calls:?}");
    let events = faultline(&["events", &p, "--json"]);
    assert_eq!(events.status, 0, "{}", events.describe());
    let fired = events
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["kind"] == "exception")
        .count();
    assert!(fired >= 2, "no exception events:\n{}", events.stdout);
    assert_eq!(faultline(&["stop", &p]).status, 0);
}

// [cb-method]'s throwCustomException example, on the fixture's class and with a message.
#[test]
fn an_imported_chaosblade_exception_fires_in_a_real_jvm() {
    let scenario = imported(faultline(&[
        "import",
        "chaosblade",
        "--",
        "blade",
        "create",
        "jvm",
        "throwCustomException",
        "--exception",
        "java.io.IOException",
        "--exception-message",
        "imported from chaosblade",
        "--classname",
        "fixtures.Targets$Repo",
        "--methodname",
        "save",
    ]));
    apply_and_see(&scenario, "call ex java.io.IOException: imported from chaosblade");
}

// [cm-examples] jvm-exception-example.yaml, on the fixture's class.
#[test]
fn an_imported_chaos_mesh_exception_fires_in_a_real_jvm() {
    let yaml =
        CM_EXCEPTION.replace("class: Main", "class: fixtures.Targets$Repo").replace("method: sayhello", "method: save");
    let scenario = imported(import_chaos_mesh(&yaml));
    apply_and_see(&scenario, "call ex java.io.IOException: BOOM");
}

/// The README's two examples print exactly what the README shows.
#[test]
fn the_readme_examples_are_the_real_output() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let blade = imported(import_chaosblade(
        "blade create jvm delay --time 3000 --classname com.acme.Pay --methodname charge --effect-count 5 \
         --effect-percent 50 --process pay-service",
    ));
    assert!(readme.contains(&blade), "README's ChaosBlade example differs from:\n{blade}");
    let dir = Scratch::new("import-readme");
    dir.write("jvmchaos.yaml", CM_EXCEPTION);
    let out = Command::new(artifacts().join("faultline"))
        .args(["import", "chaos-mesh", "jvmchaos.yaml"])
        .current_dir(&dir.0)
        .output()
        .expect("faultline runs");
    let mesh = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && readme.contains(&*mesh), "README's Chaos Mesh example differs from:\n{mesh}");
}
