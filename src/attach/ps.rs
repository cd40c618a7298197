//! Finding JVMs: the list behind `faultline ps`, and the CLI's `PID` argument (a pid, or a
//! unique substring of a JVM's main class or jar).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::jdk;
use super::proc::{self, ProcessInfo};

/// A local HotSpot JVM.
#[derive(Debug, Clone)]
pub struct Jvm {
    pub info: ProcessInfo,
    /// The main class, `-jar` path or `-m` module, from the command line.
    pub main: String,
    /// The mapped `libjvm.so`, as the JVM sees its path; `None` when its maps are unreadable
    /// and it was recognised by its `java` launcher name.
    pub libjvm: Option<PathBuf>,
    pub jdk_version: Option<String>,
    pub jdk_major: Option<u32>,
    /// `Err(reason)` when we cannot attach to it.
    pub attachable: Result<(), String>,
    /// Whether `libfaultline_agent.so` is mapped.
    pub agent_loaded: bool,
}

/// Every JVM we can see. Processes that vanish or cannot be read are skipped.
pub fn list_jvms() -> Vec<Jvm> {
    let me = std::process::id() as i32;
    proc::all_pids()
        .unwrap_or_default()
        .into_iter()
        .filter(|pid| *pid != me)
        .filter_map(|pid| jvm(pid).ok().flatten())
        .collect()
}

/// The JVM the CLI's `PID` argument names: a pid, or a unique substring of a main class or jar.
pub fn resolve(arg: &str) -> Result<Jvm> {
    let arg = arg.trim();
    if arg.is_empty() {
        return Err(crate::usage::UsageError(
            "PID is empty: give a process id, or part of a JVM's main class or jar (`faultline ps` lists them)".into(),
        )
        .into());
    }
    if let Ok(pid) = arg.parse::<i32>() {
        return jvm(pid)?.with_context(|| format!("process {pid} is not a JVM (no {} mapped)", proc::LIBJVM));
    }
    let mut matches: Vec<Jvm> = list_jvms().into_iter().filter(|jvm| jvm.main.contains(arg)).collect();
    // `web.Web` names the JVM whose main is exactly that, even when `web.WebAdmin` runs too.
    if matches.len() > 1 && matches.iter().filter(|jvm| jvm.main == arg).count() == 1 {
        matches.retain(|jvm| jvm.main == arg);
    }
    match matches.len() {
        0 => bail!("no JVM's main class or jar contains {arg:?}: run `faultline ps` to list the JVMs"),
        1 => Ok(matches.remove(0)),
        _ => {
            let list: Vec<String> = matches.iter().map(|jvm| format!("{} {}", jvm.info.pid, jvm.main)).collect();
            let same_main = matches.iter().all(|jvm| jvm.main == matches[0].main);
            let hint =
                if same_main { "they run the same main: give a pid" } else { "give a pid or a longer substring" };
            bail!("{arg:?} matches {} JVMs: {}; {hint}", matches.len(), list.join(", "))
        }
    }
}

/// The JVM with pid `pid`, `None` when that process is not a JVM.
pub fn jvm(pid: i32) -> Result<Option<Jvm>> {
    let info = proc::process(pid)?;
    let (libjvm, agent_loaded) = match proc::read_maps(pid) {
        Ok(maps) => match proc::find_mapped(&maps, proc::LIBJVM) {
            Some(libjvm) => (Some(libjvm), proc::find_mapped(&maps, proc::AGENT_LIBRARY).is_some()),
            None => return Ok(None),
        },
        // Another user's process: its maps are closed to us, its command line is not.
        Err(_) if launcher_is_java(&info.cmdline) => (None, false),
        Err(e) => return Err(e),
    };
    if info.cmdline.is_empty() {
        return Ok(None); // exiting: a zombie keeps no command line
    }
    let jdk_version = libjvm.as_deref().and_then(|libjvm| jdk::jdk_version_of(&info, libjvm));
    let jdk_major = jdk_version.as_deref().and_then(jdk::major);
    let flags = jvm_flags(&info);
    let attachable = attachable(&info, &flags, jdk_major);
    Ok(Some(Jvm { main: main_of(&info.cmdline), libjvm, jdk_version, jdk_major, attachable, agent_loaded, info }))
}

/// JDK 21+ prints a warning when an agent is loaded into a running JVM, unless it was started
/// with `-XX:+EnableDynamicAgentLoading`.
pub fn dynamic_agent_warning(jvm: &Jvm) -> bool {
    jvm.jdk_major.is_some_and(|major| major >= 21)
        && !jvm_flags(&jvm.info).iter().any(|f| f == "-XX:+EnableDynamicAgentLoading")
}

/// Whether the JVM was started with an agent (`-agentpath:`, `-agentlib:`, `-javaagent:`). An
/// agent present from the start lets HotSpot record what a class redefinition needs; without
/// one, the first redefinition deoptimizes every compiled method of the JVM once.
pub fn started_with_agent(jvm: &Jvm) -> bool {
    jvm_flags(&jvm.info)
        .iter()
        .any(|f| f.starts_with("-agentpath:") || f.starts_with("-agentlib:") || f.starts_with("-javaagent:"))
}

fn launcher_is_java(cmdline: &[String]) -> bool {
    cmdline.first().is_some_and(|arg0| Path::new(arg0).file_name().is_some_and(|name| name == "java"))
}

/// The JVM's options: the command line, plus what the launcher and the JVM read from the
/// environment (readable for our own user's processes, or as root).
fn jvm_flags(info: &ProcessInfo) -> Vec<String> {
    let mut flags = info.cmdline.clone();
    if let Ok(environ) = fs::read(proc::proc_dir(info.pid).join("environ")) {
        for var in environ.split(|b| *b == 0) {
            let var = String::from_utf8_lossy(var);
            for name in ["JAVA_TOOL_OPTIONS=", "JDK_JAVA_OPTIONS=", "_JAVA_OPTIONS="] {
                if let Some(value) = var.strip_prefix(name) {
                    flags.extend(value.split_whitespace().map(str::to_string));
                }
            }
        }
    }
    flags
}

/// Why we cannot attach, if we cannot.
fn attachable(info: &ProcessInfo, flags: &[String], major: Option<u32>) -> Result<(), String> {
    if flags.iter().any(|f| f == "-XX:+DisableAttachMechanism") {
        return Err("started with -XX:+DisableAttachMechanism".into());
    }
    if flags.iter().any(|f| f == "-XX:-EnableDynamicAgentLoading") && !matches!(major, Some(m) if m < 9) {
        return Err("started with -XX:-EnableDynamicAgentLoading: it refuses agents at run time".into());
    }
    let euid = nix::unistd::geteuid().as_raw();
    if euid != 0 && euid != info.uid {
        return Err(format!("runs as {} (uid {}): run as that user or as root", info.user, info.uid));
    }
    Ok(())
}

/// The main class, `-jar` file or `-m` module of a `java` command line; JVM options and their
/// values are skipped. Falls back to the program name.
pub fn main_of(cmdline: &[String]) -> String {
    // Launcher options whose value is the next argument.
    const WITH_VALUE: &[&str] = &[
        "-cp",
        "-classpath",
        "--class-path",
        "-p",
        "--module-path",
        "--upgrade-module-path",
        "--add-modules",
        "--limit-modules",
        "--add-opens",
        "--add-exports",
        "--add-reads",
        "--patch-module",
        "--enable-native-access",
        "--source",
    ];
    let mut args = cmdline.iter().skip(1);
    while let Some(arg) = args.next() {
        if arg == "-jar" || arg == "-m" || arg == "--module" {
            return args.next().cloned().unwrap_or_default();
        }
        if let Some(module) = arg.strip_prefix("--module=") {
            return module.to_string();
        }
        if WITH_VALUE.contains(&arg.as_str()) {
            args.next();
            continue;
        }
        if arg.starts_with('-') || arg.starts_with('@') {
            continue;
        }
        return arg.clone();
    }
    cmdline.first().cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn main_class_after_options_and_their_values() {
        let line = "/usr/bin/java -Xmx512m -Dfoo=bar -XX:+UseG1GC -cp a.jar:b.jar --add-opens java.base/java.lang=ALL-UNNAMED -javaagent:x.jar com.acme.Main --port 8080";
        assert_eq!(main_of(&args(line)), "com.acme.Main");
    }

    #[test]
    fn jar_path_is_the_main() {
        assert_eq!(main_of(&args("java -XX:-UsePerfData -jar /srv/app.jar -v")), "/srv/app.jar");
    }

    #[test]
    fn module_main_is_the_main() {
        assert_eq!(main_of(&args("java -p mods -m com.acme/com.acme.Main")), "com.acme/com.acme.Main");
        assert_eq!(main_of(&args("java --module=com.acme/com.acme.Main")), "com.acme/com.acme.Main");
    }

    #[test]
    fn argfiles_and_equals_forms_are_skipped() {
        assert_eq!(main_of(&args("java @opts.txt --class-path=x --add-opens=a=b Main")), "Main");
    }

    #[test]
    fn no_main_falls_back_to_the_program() {
        assert_eq!(main_of(&args("java -version")), "java");
        assert_eq!(main_of(&[]), "");
    }

    fn info(uid: u32) -> ProcessInfo {
        ProcessInfo {
            pid: 1,
            nspid: 1,
            uid,
            gid: uid,
            user: "alice".into(),
            cmdline: vec![],
            root: PathBuf::from("/proc/1/root"),
            cwd: None,
        }
    }

    #[test]
    fn disabled_attach_mechanism_is_not_attachable() {
        let me = nix::unistd::geteuid().as_raw();
        let reason =
            attachable(&info(me), &args("java -XX:+DisableAttachMechanism Main"), Some(17)).expect_err("refused");
        assert!(reason.contains("DisableAttachMechanism"), "{reason}");
        assert!(attachable(&info(me), &args("java Main"), Some(17)).is_ok());
    }

    #[test]
    fn disabled_dynamic_agent_loading_is_not_attachable() {
        let me = nix::unistd::geteuid().as_raw();
        assert!(attachable(&info(me), &args("java -XX:-EnableDynamicAgentLoading Main"), Some(21)).is_err());
    }

    #[test]
    fn resolve_of_a_missing_pid_says_so() {
        let err = resolve(&i32::MAX.to_string()).expect_err("no such pid");
        assert!(err.to_string().contains("no process with pid"), "{err}");
    }

    #[test]
    fn resolve_of_a_non_jvm_pid_says_so() {
        let err = resolve(&std::process::id().to_string()).expect_err("we are not a JVM");
        assert_eq!(err.to_string(), format!("process {} is not a JVM (no libjvm.so mapped)", std::process::id()));
    }

    #[test]
    fn resolve_of_an_unmatched_name_hints_ps() {
        let err = resolve("no.such.MainClass.anywhere").expect_err("nothing matches");
        assert!(err.to_string().contains("faultline ps"), "{err}");
    }
}
