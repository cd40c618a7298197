//! The drill's own commands (command alarms, contingency steps): found before anything is
//! injected, run with a time limit, killed when they outlive it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::io::AsyncReadExt;

/// Where `program` is, or why it cannot be started; `what` names its owner in the message
/// ("alarm 'gateway'").
pub fn find_program(what: &str, program: &str) -> Result<PathBuf> {
    let executable = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        p.is_file() && p.metadata().is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let p = PathBuf::from(program);
        if executable(&p) {
            return Ok(p);
        }
        bail!("{what}: command {program:?} cannot be started: not an executable file");
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let p = dir.join(program);
        if executable(&p) {
            return Ok(p);
        }
    }
    bail!("{what}: command {program:?} cannot be started: not found on PATH")
}

/// Runs `command` and says whether it exited 0; killed (an error) when it outlives `limit`.
pub async fn succeeds(command: &[String], limit: Duration) -> Result<bool> {
    let mut child = tokio::process::Command::new(&command[0])
        .args(&command[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {:?}", command[0]))?;
    match tokio::time::timeout(limit, child.wait()).await {
        Ok(status) => Ok(status.context("waiting for the command")?.success()),
        Err(_) => {
            let _ = child.kill().await;
            bail!("the command ran longer than {limit:?} and was killed")
        }
    }
}

/// How a command with captured output ended.
#[derive(Debug, Clone)]
pub struct Finished {
    /// None when it was killed (timeout) or ended by a signal.
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    /// stdout and stderr interleaved as read, cut to `MAX_OUTPUT` bytes.
    pub output: String,
    pub elapsed: Duration,
}

/// What is kept of a command's output: enough to see what it did, bounded in the journal.
pub const MAX_OUTPUT: usize = 4096;

/// Runs `command` with `env`, capturing its output; killed when it outlives `limit`.
pub async fn run_captured(command: &[String], env: &[(&str, String)], limit: Duration) -> Result<Finished> {
    let started = std::time::Instant::now();
    let mut child = tokio::process::Command::new(&command[0])
        .args(&command[1..])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {:?}", command[0]))?;
    // Both pipes are drained at once (a full stderr pipe would stall a command whose stdout is
    // being read), each up to a bound.
    let drain = |pipe: Option<Box<dyn tokio::io::AsyncRead + Send + Unpin>>| {
        tokio::spawn(async move {
            let mut buf = Vec::new();
            if let Some(pipe) = pipe {
                let _ = pipe.take(MAX_OUTPUT as u64 * 4).read_to_end(&mut buf).await;
            }
            buf
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let (exit_code, timed_out) = match tokio::time::timeout(limit, child.wait()).await {
        Ok(status) => (status.ok().and_then(|s| s.code()), false),
        Err(_) => {
            let _ = child.kill().await;
            (None, true)
        }
    };
    // A background process the command left may hold the pipes open: what was read by now is kept.
    let grace = Duration::from_secs(1);
    let mut bytes = tokio::time::timeout(grace, out).await.ok().and_then(Result::ok).unwrap_or_default();
    bytes.extend(tokio::time::timeout(grace, err).await.ok().and_then(Result::ok).unwrap_or_default());
    let mut output = String::from_utf8_lossy(&bytes).into_owned();
    if output.len() > MAX_OUTPUT {
        let mut cut = MAX_OUTPUT;
        while !output.is_char_boundary(cut) {
            cut -= 1;
        }
        output.truncate(cut);
        output.push_str("\n[cut]");
    }
    Ok(Finished { exit_code, timed_out, output, elapsed: started.elapsed() })
}
