//! The CLI's side of the control channel: find the agent's socket in the target JVM (through
//! `/proc/PID/root`, so containers work), loading the agent by attach first when needed, and
//! exchange one JSON line per request.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

use crate::attach::hotspot;
use crate::attach::proc;
use crate::attach::ps::Jvm;

pub const AGENT_LIBRARY: &str = "libfaultline_agent.so";

/// A connection to the agent inside one JVM.
pub struct AgentClient {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

/// The socket as we reach it from the host: `/proc/PID/root/tmp/.faultline-<nspid>.sock`.
pub fn control_socket(jvm: &Jvm) -> PathBuf {
    jvm.info.root.join(format!("tmp/.faultline-{}.sock", jvm.info.nspid))
}

/// The agent library to load: `--agent`, `FAULTLINE_AGENT`, or next to this executable.
pub fn agent_library(explicit: Option<&Path>) -> Result<PathBuf> {
    let (path, from) = if let Some(p) = explicit {
        (p.to_path_buf(), "--agent")
    } else if let Some(p) = std::env::var_os("FAULTLINE_AGENT") {
        (PathBuf::from(p), "FAULTLINE_AGENT")
    } else {
        let exe = std::env::current_exe().context("locating the faultline executable")?;
        match exe.parent().map(|d| d.join(AGENT_LIBRARY)) {
            Some(p) if p.exists() => (p, "the default"),
            _ => {
                bail!("cannot find {AGENT_LIBRARY} next to {}: pass --agent PATH or set FAULTLINE_AGENT", exe.display())
            }
        }
    };
    check_agent_library(&path)
        .with_context(|| format!("{} ({from}) is not a usable faultline agent", path.display()))?;
    Ok(path)
}

/// The JVM loads whatever path it is given, and a wrong file (the agent jar, say) makes it
/// print errors into the application's own output: check it is a shared library that can
/// be attached (it exports `Agent_OnAttach`) before the JVM sees it.
fn check_agent_library(path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|e| anyhow!("cannot read it: {e}"))?;
    let elf = goblin::elf::Elf::parse(&bytes)
        .map_err(|_| anyhow!("not a native library (pass {AGENT_LIBRARY}, not the agent jar)"))?;
    let exports_attach = elf
        .dynsyms
        .iter()
        .any(|sym| sym.st_value != 0 && elf.dynstrtab.get_at(sym.st_name).is_some_and(|name| name == "Agent_OnAttach"));
    if !exports_attach {
        bail!("a native library without Agent_OnAttach (pass {AGENT_LIBRARY})");
    }
    Ok(())
}

impl AgentClient {
    /// Connects to the agent in `jvm`, loading it first (by the HotSpot attach protocol) when
    /// it is not loaded or its control channel is closed.
    pub fn connect(jvm: &Jvm, agent: &Path, attach_timeout: Duration) -> Result<AgentClient> {
        let socket = control_socket(jvm);
        if let Ok(client) = AgentClient::open(&socket) {
            return Ok(client);
        }
        if let Err(reason) = &jvm.attachable {
            bail!("cannot attach to JVM {}: {reason}", jvm.info.pid);
        }
        // An agent already in the JVM is reloaded by the path the JVM mapped it from, so the
        // JVM reuses that copy instead of loading a second, independent agent.
        let maps = proc::read_maps(jvm.info.pid)?;
        let path = match proc::find_mapped(&maps, AGENT_LIBRARY) {
            Some(mapped) => mapped,
            None => hotspot::place_agent(&jvm.info, agent)?,
        };
        hotspot::load_agent(&jvm.info, &path, "", attach_timeout)?;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match AgentClient::open(&socket) {
                Ok(client) => return Ok(client),
                Err(e) if Instant::now() >= deadline => {
                    return Err(e).with_context(|| {
                        format!("the agent loaded into JVM {} but its control socket did not open", jvm.info.pid)
                    })
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    fn open(socket: &Path) -> Result<AgentClient> {
        let stream = UnixStream::connect(socket).with_context(|| format!("connecting to {}", socket.display()))?;
        stream.set_read_timeout(Some(Duration::from_secs(120)))?;
        let writer = stream.try_clone()?;
        let mut client = AgentClient { reader: BufReader::new(stream), writer };
        client.request(&json!({"op": "ping"}))?;
        Ok(client)
    }

    /// Sends one request; an `"ok": false` reply becomes an error with the agent's reason.
    pub fn request(&mut self, request: &Value) -> Result<Value> {
        // One write per request: the agent reads whole lines, and piecewise writes of the
        // serializer would cost it a wake-up each.
        let mut line = request.to_string();
        line.push('\n');
        self.writer.write_all(line.as_bytes()).context("sending a request to the agent")?;
        let mut line = String::new();
        self.reader.read_line(&mut line).context("reading the agent's reply")?;
        if line.is_empty() {
            bail!("the agent closed the connection without replying");
        }
        let reply: Value =
            serde_json::from_str(&line).with_context(|| format!("malformed reply from the agent: {line}"))?;
        if reply["ok"].as_bool() == Some(true) {
            Ok(reply)
        } else {
            Err(anyhow!("{}", reply["error"].as_str().unwrap_or("the agent refused the request")))
        }
    }
}
