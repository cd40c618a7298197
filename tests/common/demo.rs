//! The bundled demo order service for tests: `serve` mode on a free loopback port.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{artifacts, faultline, java};

/// The demo order service, `serve` mode on a free port; killed on drop.
pub struct Demo {
    child: Child,
    pub port: u16,
    https: bool,
}

impl Demo {
    pub fn start() -> Demo {
        Demo::start_with(&[])
    }

    /// With more `serve` options, such as `--tls-keystore`; `https` then in its URLs.
    pub fn start_with(options: &[&str]) -> Demo {
        Demo::start_with_jvm(&[], options)
    }

    /// With more JVM options (before the main class) and more `serve` options.
    pub fn start_with_jvm(jvm_args: &[&str], options: &[&str]) -> Demo {
        let jar = artifacts().join("faultline-demo.jar");
        let mut child = Command::new(java())
            .arg("-XX:+EnableDynamicAgentLoading")
            .args(jvm_args)
            // The JDK's HTTP server sends headers and body in two writes; without this, Nagle's
            // algorithm and the client's delayed ACK add 40 ms to every keep-alive response.
            .arg("-Dsun.net.httpserver.nodelay=true")
            .arg("-cp")
            .arg(jar)
            .args(["com.acme.DemoMain", "serve", "--port", "0"])
            .args(options)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the demo service");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("read the demo's first line");
        let https = line.contains("(https)");
        let port = line
            .trim()
            .trim_end_matches(" (https)")
            .strip_prefix("listening on 127.0.0.1:")
            .unwrap_or_else(|| panic!("unexpected first line from the demo: {line:?}"))
            .parse()
            .unwrap();
        let demo = Demo { child, port, https };
        // Warm up (class loading, JIT) so the baseline measures the service, not its start.
        if !https {
            for _ in 0..200 {
                demo.get("/checkout");
            }
        }
        demo
    }

    pub fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// (status, milliseconds) of one plain-HTTP GET.
    pub fn get(&self, path: &str) -> (u16, f64) {
        let t0 = Instant::now();
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the demo");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        let status = out.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        (status, t0.elapsed().as_secs_f64() * 1000.0)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}://127.0.0.1:{}{path}", if self.https { "https" } else { "http" }, self.port)
    }

    /// The faults armed in the demo JVM, as `faultline status --json` reports them.
    pub fn armed(&self) -> Vec<Value> {
        let run = faultline(&["status", &self.pid(), "--json"]);
        assert_eq!(run.status, 0, "{}", run.describe());
        let v: Value = serde_json::from_str(&run.stdout).unwrap();
        v["faults"].as_array().cloned().unwrap_or_default()
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A latency fault of 400 ms on every payment: checkout slows to about 400 ms.
pub const SLOW_PAYMENT: &str = r#"
[[phase.fault]]
id = "slow-pay"
kind = "latency"
target = "com.acme.PaymentClient#charge(long)"
delay = "400ms"
"#;
