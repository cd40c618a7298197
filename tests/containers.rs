//! A JVM in its own PID and mount namespaces with a private /tmp, running as an
//! unprivileged user, attached from the host by its host pid: the shape of a container on
//! the same host. Needs root (to create the namespaces and switch users), as CI has.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Contained {
    child: std::process::Child,
    dir: Scratch,
}

impl Contained {
    /// `unshare --pid --mount --fork`: /tmp replaced by a private directory, then the JVM
    /// started as `nobody` with only the fixtures in that /tmp.
    fn start() -> Option<Contained> {
        if unsafe_geteuid() != 0 {
            eprintln!("skipped: creating namespaces and switching users needs root");
            return None;
        }
        let dir = Scratch::new("container");
        let private_tmp = dir.path("tmp");
        copy_dir(fixture_classes(), &private_tmp.join("classes"));
        std::fs::copy(agent_jar(), private_tmp.join("faultline-agent.jar")).expect("copy jar");
        chmod_tree(&dir.0, 0o777);
        let script = format!(
            "mount --make-rprivate / && mount --bind {tmp} /tmp && \
             setpriv --reuid=65534 --regid=65534 --clear-groups {java} -cp /tmp/classes:/tmp/faultline-agent.jar fixtures.Service 120 > /tmp/out.txt 2>&1",
            tmp = private_tmp.display(),
            java = java().display()
        );
        let child = Command::new("unshare")
            .args(["--pid", "--mount", "--fork", "--mount-proc", "sh", "-c", &script])
            .stdin(Stdio::null())
            .spawn()
            .expect("start unshare");
        let contained = Contained { child, dir };
        contained.wait_for("ready", Duration::from_secs(30));
        Some(contained)
    }

    fn output(&self) -> String {
        std::fs::read_to_string(self.dir.path("tmp/out.txt")).unwrap_or_default()
    }

    fn wait_for(&self, text: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self.output().contains(text) {
            assert!(Instant::now() < deadline, "no '{text}' in:\n{}", self.output());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The JVM's pid as the host sees it: the java process owned by uid 65534 below unshare.
    fn host_pid(&self) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            for entry in std::fs::read_dir("/proc").expect("proc").flatten() {
                let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                let marker = self.dir.0.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let _ = marker;
                if String::from_utf8_lossy(&cmdline).contains("fixtures.Service")
                    && status.lines().any(|l| l.starts_with("Uid:") && l.contains("65534"))
                    && std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok()
                        != std::fs::read_link("/proc/self/ns/pid").ok()
                {
                    return pid;
                }
            }
            assert!(Instant::now() < deadline, "the contained JVM is not visible from the host");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Contained {
    fn drop(&mut self) {
        // Killing unshare's child (the namespace's init) ends every process in the namespace.
        let _ = Command::new("pkill").args(["-KILL", "-P", &self.child.id().to_string()]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unsafe_geteuid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(u32::MAX)
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read").flatten() {
        let dest = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).expect("copy");
        }
    }
}

fn chmod_tree(dir: &std::path::Path, mode: u32) {
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode));
    for entry in std::fs::read_dir(dir).expect("read").flatten() {
        let _ = std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode));
        if entry.path().is_dir() {
            chmod_tree(&entry.path(), mode);
        }
    }
}

#[test]
fn jvm_in_other_namespaces_as_another_user_is_attached_by_host_pid() {
    let Some(c) = Contained::start() else { return };
    let pid = c.host_pid().to_string();
    let run = faultline(&[
        "inject",
        &pid,
        "exception",
        "--target",
        "fixtures.Targets$Repo#save",
        "--throw",
        "java.io.IOException",
        "--message",
        "from the host",
    ]);
    assert_eq!(run.status, 0, "{}\n--- JVM output\n{}", run.describe(), c.output());
    let mark = c.output().len();
    c.wait_for("call ex java.io.IOException: from the host", Duration::from_secs(10));
    let status = faultline(&["status", &pid, "--json"]);
    assert_eq!(status.status, 0, "{}", status.describe());
    assert!(status.stdout.contains("\"method_count\":1"), "{}", status.stdout);
    let stop = faultline(&["stop", &pid]);
    assert_eq!(stop.status, 0, "{}", stop.describe());
    std::thread::sleep(Duration::from_millis(300));
    let after = c.output().len();
    std::thread::sleep(Duration::from_millis(300));
    let tail = &c.output()[after..];
    assert!(tail.contains("call ok") && !tail.contains("call ex"), "after stop:\n{tail}");
    assert!(mark < after);
    // The agent was placed inside the container's /tmp, owned by the JVM's user.
    let placed = c.dir.path("tmp/faultline-65534/libfaultline_agent.so");
    assert!(placed.exists(), "the agent library was not placed in the container's /tmp");
}
