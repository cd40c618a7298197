//! Support for the preset suites: the real libraries from Debian's packages (jars under
//! `/usr/share/java`), the Java fixtures of `tests/java-presets/` compiled against them, and
//! running one case of them in a JVM with the agent.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use super::{agent_jar, agent_lib, java, javac, run_with_timeout, JvmRun};

/// The jars the preset fixtures use, with the Debian package that ships each.
pub const PRESET_JARS: &[(&str, &str)] = &[
    ("h2.jar", "libh2-java"),
    ("HikariCP.jar", "libhikaricp-java"),
    ("slf4j-api.jar", "libslf4j-java"),
    ("slf4j-nop.jar", "libslf4j-java"),
    ("postgresql.jar", "libpostgresql-jdbc-java"),
    ("mariadb-java-client.jar", "libmariadb-java"),
    ("servlet-api.jar", "libservlet-api-java"),
    ("jetty9-server.jar", "libjetty9-java"),
    ("jetty9-servlet.jar", "libjetty9-java"),
    ("jetty9-security.jar", "libjetty9-java"),
    ("jetty9-http.jar", "libjetty9-java"),
    ("jetty9-io.jar", "libjetty9-java"),
    ("jetty9-util.jar", "libjetty9-java"),
    ("tomcat10-catalina.jar", "libtomcat10-java"),
    ("tomcat10-coyote.jar", "libtomcat10-java"),
    ("tomcat10-util.jar", "libtomcat10-java"),
    ("tomcat10-util-scan.jar", "libtomcat10-java"),
    ("tomcat10-juli.jar", "libtomcat10-java"),
    ("tomcat10-api.jar", "libtomcat10-java"),
    ("tomcat10-servlet-api.jar", "libtomcat10-java"),
    ("tomcat10-jaspic-api.jar", "libtomcat10-java"),
    ("tomcat10-annotations-api.jar", "libtomcat10-java"),
    ("tomcat10-jni.jar", "libtomcat10-java"),
    ("httpclient.jar", "libhttpclient-java"),
    ("httpcore.jar", "libhttpcore-java"),
    ("commons-logging.jar", "libcommons-logging-java"),
    ("httpclient5.jar", "libhttpclient5-java"),
    ("httpcore5.jar", "libhttpclient5-java"),
    ("httpcore5-h2.jar", "libhttpclient5-java"),
    ("okhttp.jar", "libokhttp-java"),
    ("okio.jar", "libokio-java"),
];

/// The gRPC jars (grpc-java and what it needs), for the grpc preset's fixtures.
pub const GRPC_JARS: &[(&str, &str)] = &[
    ("grpc-api.jar", "libgrpc-java"),
    ("grpc-core.jar", "libgrpc-java"),
    ("grpc-context.jar", "libgrpc-java"),
    ("grpc-stub.jar", "libgrpc-java"),
    ("guava.jar", "libguava-java"),
    // grpc-core's tracing calls (io.perfmark.PerfMark), needed at run time.
    ("perfmark-api.jar", "libperfmark-java"),
];

/// The JMS jars (ActiveMQ's broker and client, the javax.jms API), for the jms preset's fixtures.
pub const JMS_JARS: &[(&str, &str)] = &[
    ("activemq-broker.jar", "libactivemq-java"),
    ("activemq-client.jar", "libactivemq-java"),
    ("geronimo-jms_1.1_spec.jar", "libgeronimo-jms-1.1-spec-java"),
    ("hawtbuf.jar", "libhawtbuf-java"),
    // The broker's statistics implement the J2EE management API (RegionBroker needs it).
    ("geronimo-j2ee-management-1.1-spec.jar", "libgeronimo-j2ee-management-1.1-spec-java"),
];

/// Where Debian puts Java libraries.
const JAVA_SHARE: &str = "/usr/share/java";

/// The preset jars, each checked to be there: a missing one names its package (a test that
/// cannot run its real library fails, it does not skip).
pub fn preset_jars() -> Vec<PathBuf> {
    PRESET_JARS
        .iter()
        .chain(GRPC_JARS)
        .chain(JMS_JARS)
        .map(|(file, package)| {
            let path = Path::new(JAVA_SHARE).join(file);
            assert!(
                path.exists(),
                "{} is missing: install Debian's {package} (.ci/prerequisites does: apt-get install {package})",
                path.display()
            );
            path
        })
        .collect()
}

/// Compiles `tests/java-presets/**` once per test binary against the agent jar and the
/// preset jars (for Java 11, the oldest JDK faultline supports).
pub fn preset_fixture_classes() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = std::env::temp_dir().join(format!("faultline-preset-fixtures-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out).expect("create the preset fixture dir");
        let mut sources = Vec::new();
        collect(&super::repo_root().join("tests/java-presets"), &mut sources);
        let status = Command::new(javac())
            .args(["--release", "11", "-nowarn", "-encoding", "UTF-8", "-d"])
            .arg(&out)
            .arg("-cp")
            .arg(classpath(&[agent_jar()]))
            .args(&sources)
            .status()
            .expect("run javac");
        assert!(status.success(), "compiling the preset fixtures failed");
        out
    })
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read the preset fixture dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "java") {
            out.push(p);
        }
    }
}

/// `first:...:every preset jar`.
fn classpath(first: &[PathBuf]) -> String {
    first.iter().cloned().chain(preset_jars()).map(|p| p.display().to_string()).collect::<Vec<_>>().join(":")
}

/// Runs `main` of the preset fixtures with the agent available to the Java API
/// (`-Dfaultline.agent`), the preset jars on the class path, and `args`.
pub fn run_preset_main(jvm_args: &[String], main: &str, args: &[&str]) -> JvmRun {
    let cp = classpath(&[preset_fixture_classes().to_path_buf(), agent_jar()]);
    let mut cmd = Command::new(java());
    cmd.arg(format!("-Dfaultline.agent={}", agent_lib().display()))
        .args(jvm_args)
        .arg("-cp")
        .arg(cp)
        .arg(main)
        .args(args);
    run_with_timeout(cmd, Duration::from_secs(180))
}

/// Runs one case of a preset fixture class (its `main` takes the case name first) and
/// asserts it passed.
pub fn preset_case(main: &str, case: &str, args: &[&str]) -> JvmRun {
    let mut all = vec![case];
    all.extend_from_slice(args);
    let run = run_preset_main(&[], main, &all);
    run.assert_passed(case);
    run
}

/// A preset fixture running in the background (see `Service`), the preset jars on its class
/// path; the agent is attached later by the test, through the command line.
pub fn preset_service(main: &str, args: &[&str]) -> super::Service {
    let cp = classpath(&[preset_fixture_classes().to_path_buf(), agent_jar()]);
    let mut all = vec![main];
    all.extend_from_slice(args);
    super::Service::launch(&[], &cp, &all)
}
