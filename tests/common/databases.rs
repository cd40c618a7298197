//! Real database servers for the preset suites: PostgreSQL and MariaDB from Debian's
//! packages, each started once per test binary in a scratch directory, on a free local port,
//! and stopped (its directory removed) when the test binary ends, however it ends.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A server started for this test binary.
pub struct Database {
    pub port: u16,
    /// A JDBC URL of the `shop` database, user and password included.
    pub url: String,
    pub dir: PathBuf,
    /// Creates a database by name (tests running in parallel each take their own).
    create: Box<dyn Fn(&str) + Send + Sync>,
    /// The JDBC URL of a database by name.
    url_of: Box<dyn Fn(&str) -> String + Send + Sync>,
}

impl Database {
    /// A database of its own for one test (created if need be): its JDBC URL.
    pub fn database(&self, name: &str) -> String {
        (self.create)(name);
        (self.url_of)(name)
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free local port")
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// Runs `program args` in the background under a watchdog shell that stops it, and removes
/// `dir`, once this test process is gone (a server must not outlive its tests). The shell is
/// not waited for: it ends after this process does.
#[allow(clippy::zombie_processes)]
fn spawn_watched(program: &Path, args: &[String], dir: &Path, log: &Path) {
    let script = r#"parent=$1; dir=$2; shift 2
"$@" & child=$!
trap 'kill $child 2>/dev/null' TERM INT
while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 0.5; done
kill "$child" 2>/dev/null; wait "$child" 2>/dev/null; rm -rf "$dir""#;
    let log = std::fs::File::create(log).expect("server log");
    let err = log.try_clone().expect("server log");
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .arg(std::process::id().to_string())
        .arg(dir)
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
}

fn wait_for_log(log: &Path, text: &str, what: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let seen = std::fs::read_to_string(log).unwrap_or_default();
        if seen.contains(text) {
            return;
        }
        assert!(Instant::now() < deadline, "{what} did not start within {limit:?}:\n{seen}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The newest PostgreSQL server binaries Debian installed (`/usr/lib/postgresql/N/bin`).
fn postgres_bin() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.flatten().map(|e| e.path().join("bin")).filter(|p| p.join("postgres").exists()).collect())
        .unwrap_or_default();
    versions.sort();
    versions.pop().expect("PostgreSQL is not installed: install Debian's postgresql (.ci/prerequisites does)")
}

/// Commands run as the `postgres` user when the tests run as root (PostgreSQL refuses root).
fn as_postgres(program: &Path, root: bool) -> Command {
    if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=postgres", "--regid=postgres", "--init-groups"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// PostgreSQL with a `shop` database, user `shop`, no password (trust on localhost).
pub fn postgres() -> &'static Database {
    static DB: OnceLock<Database> = OnceLock::new();
    DB.get_or_init(|| {
        let bin = postgres_bin();
        let root = is_root();
        let dir = std::env::temp_dir().join(format!("faultline-postgres-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("postgres dir");
        let data = dir.join("data");
        if root {
            run(Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir), "chown the postgres dir");
        }
        run(
            as_postgres(&bin.join("initdb"), root)
                .args(["-U", "shop", "--auth=trust", "-E", "UTF8", "--no-sync", "-D"])
                .arg(&data),
            "initdb",
        );
        let port = free_port();
        let mut args: Vec<String> = Vec::new();
        let program = if root {
            args.extend(["--reuid=postgres", "--regid=postgres", "--init-groups"].map(String::from));
            args.push(bin.join("postgres").display().to_string());
            PathBuf::from("setpriv")
        } else {
            bin.join("postgres")
        };
        args.extend(
            [
                "-D",
                &data.display().to_string(),
                "-k",
                &dir.display().to_string(),
                "-p",
                &port.to_string(),
                "-h",
                "127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
            .map(String::from),
        );
        let log = std::env::temp_dir().join(format!("faultline-postgres-{}.log", std::process::id()));
        spawn_watched(&program, &args, &dir, &log);
        wait_for_log(&log, "ready to accept connections", "PostgreSQL", Duration::from_secs(60));
        let createdb = bin.join("createdb");
        let create = move |name: &str| {
            run(
                as_postgres(&createdb, root).args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "shop", name]),
                "createdb",
            )
        };
        create("shop");
        let url_of = move |name: &str| format!("jdbc:postgresql://127.0.0.1:{port}/{name}?user=shop");
        Database { port, url: url_of("shop"), dir, create: Box::new(create), url_of: Box::new(url_of) }
    })
}

/// MariaDB with a `shop` database, user `root`, no password checks (`--skip-grant-tables`).
pub fn mariadb() -> &'static Database {
    static DB: OnceLock<Database> = OnceLock::new();
    DB.get_or_init(|| {
        let server = ["/usr/sbin/mariadbd", "/usr/sbin/mysqld"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .expect("MariaDB is not installed: install Debian's mariadb-server (.ci/prerequisites does)");
        let root = is_root();
        let dir = std::env::temp_dir().join(format!("faultline-mariadb-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mariadb dir");
        let data = dir.join("data");
        let user = if root { "root".to_string() } else { std::env::var("USER").unwrap_or_else(|_| "nobody".into()) };
        run(
            Command::new("mariadb-install-db")
                .args(["--no-defaults", "--auth-root-authentication-method=normal", "--skip-test-db"])
                .arg(format!("--user={user}"))
                .arg(format!("--datadir={}", data.display())),
            "mariadb-install-db",
        );
        let port = free_port();
        let args: Vec<String> = vec![
            "--no-defaults".into(),
            format!("--datadir={}", data.display()),
            format!("--socket={}", dir.join("mysqld.sock").display()),
            format!("--pid-file={}", dir.join("mysqld.pid").display()),
            format!("--port={port}"),
            "--bind-address=127.0.0.1".into(),
            format!("--user={user}"),
            "--skip-grant-tables".into(),
            "--skip-log-bin".into(),
            "--innodb-buffer-pool-size=32M".into(),
            "--innodb-flush-log-at-trx-commit=0".into(),
        ];
        let log = std::env::temp_dir().join(format!("faultline-mariadb-{}.log", std::process::id()));
        spawn_watched(&server, &args, &dir, &log);
        wait_for_log(&log, "ready for connections", "MariaDB", Duration::from_secs(90));
        // The driver creates the database on first connect.
        let url_of =
            move |name: &str| format!("jdbc:mariadb://127.0.0.1:{port}/{name}?user=root&createDatabaseIfNotExist=true");
        Database { port, url: url_of("shop"), dir, create: Box::new(|_| {}), url_of: Box::new(url_of) }
    })
}
