//! The CLI's side of the control channel: find the agent's socket in the target JVM (through
//! `/proc/PID/root`, so containers work), loading the agent by attach first when needed, and
//! exchange one request and one reply per line (the typed protocol of `faultline_model::protocol`).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use faultline_model::protocol::{self, Call, Ping, AGENT_LIBRARY};

use crate::attach::hotspot;
use crate::attach::proc;
use crate::attach::ps::{self, Jvm};

/// A connection to the agent inside one JVM.
pub struct AgentClient {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    /// The JVM's pid (ours): a connection that closes is explained by the JVM's exit.
    pid: i32,
}

/// The socket as we reach it from the host: `/proc/PID/root/tmp/.faultline-<nspid>.sock`.
pub fn control_socket(jvm: &Jvm) -> PathBuf {
    protocol::socket_path_under(&jvm.info.root, jvm.info.nspid as u32)
}

/// The agent library to load: `--agent`, `FAULTLINE_AGENT`, or next to this executable.
pub fn agent_library(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("FAULTLINE_AGENT") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().context("locating the faultline executable")?;
    let beside = exe.parent().map(|d| d.join(AGENT_LIBRARY));
    match beside {
        Some(p) if p.exists() => Ok(p),
        _ => bail!("cannot find {AGENT_LIBRARY} next to {}: pass --agent PATH or set FAULTLINE_AGENT", exe.display()),
    }
}

/// The JVM loads whatever path it is given, and a wrong file (the agent jar, say) makes it
/// print errors into the application's own output: before a load, check that the file is a
/// shared library that names `Agent_OnAttach` among its dynamic symbols. Reads the ELF
/// header, the section headers and the dynamic string table only (the library carries
/// debug information: reading all of it would cost tens of milliseconds and megabytes).
pub fn check_agent_library(path: &Path) -> Result<()> {
    use goblin::elf::header::ET_DYN;
    use goblin::elf::section_header::{SectionHeader, SHT_DYNSYM};
    use std::io::{Read, Seek, SeekFrom};

    let wrong =
        |why: &str| anyhow!("{} is not the faultline agent library: {why} (pass {AGENT_LIBRARY})", path.display());
    let mut file =
        std::fs::File::open(path).with_context(|| format!("opening the agent library {}", path.display()))?;
    let mut read_at = |offset: u64, len: usize| -> Result<Vec<u8>> {
        let mut buf = vec![0; len];
        file.seek(SeekFrom::Start(offset))?;
        file.read_exact(&mut buf)?;
        Ok(buf)
    };
    // 64 bytes: the ELF header of a 64-bit file (a 32-bit one is shorter).
    let head = read_at(0, 64).map_err(|_| wrong("too short for a native library"))?;
    let header = goblin::elf::Elf::parse_header(&head).map_err(|_| wrong("not a native library (ELF)"))?;
    if header.e_type != ET_DYN {
        return Err(wrong("not a shared library"));
    }
    let ctx = goblin::container::Ctx::new(
        if header.e_ident[goblin::elf::header::EI_CLASS] == goblin::elf::header::ELFCLASS64 {
            goblin::container::Container::Big
        } else {
            goblin::container::Container::Little
        },
        goblin::container::Endian::Little,
    );
    let table_len = usize::from(header.e_shnum) * usize::from(header.e_shentsize);
    let table = read_at(header.e_shoff, table_len).map_err(|_| wrong("its section headers cannot be read"))?;
    let sections = SectionHeader::parse_from(&table, 0, usize::from(header.e_shnum), ctx)
        .map_err(|_| wrong("its section headers cannot be parsed"))?;
    let dynstr = sections
        .iter()
        .find(|s| s.sh_type == SHT_DYNSYM)
        .and_then(|dynsym| sections.get(dynsym.sh_link as usize))
        .ok_or_else(|| wrong("no dynamic symbols"))?;
    let names = read_at(dynstr.sh_offset, dynstr.sh_size as usize).map_err(|_| wrong("unreadable symbols"))?;
    if !names.split(|b| *b == 0).any(|name| name == b"Agent_OnAttach") {
        return Err(wrong("a native library without Agent_OnAttach"));
    }
    Ok(())
}

impl AgentClient {
    /// Connects to the agent in `jvm`, loading it first (by the HotSpot attach protocol) when
    /// it is not loaded or its control channel is closed.
    pub fn connect(jvm: &Jvm, agent: &Path, attach_timeout: Duration) -> Result<AgentClient> {
        let socket = control_socket(jvm);
        if let Ok(client) = AgentClient::open(&socket, jvm.info.pid) {
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
            None => {
                check_agent_library(agent)?;
                hotspot::place_agent(&jvm.info, agent)?
            }
        };
        hotspot::load_agent(&jvm.info, &path, "", attach_timeout)?;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match AgentClient::open(&socket, jvm.info.pid) {
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

    fn open(socket: &Path, pid: i32) -> Result<AgentClient> {
        let stream = UnixStream::connect(socket).with_context(|| format!("connecting to {}", socket.display()))?;
        stream.set_read_timeout(Some(Duration::from_secs(120)))?;
        let writer = stream.try_clone()?;
        let mut client = AgentClient { reader: BufReader::new(stream), writer, pid };
        client.call(Ping {})?;
        Ok(client)
    }

    /// Sends one request and reads its reply; a refusal becomes an error with the agent's reason.
    pub fn call<C: Call>(&mut self, request: C) -> Result<C::Reply> {
        // One write per request: the agent reads whole lines, and piecewise writes of the
        // serializer would cost it a wake-up each.
        let mut line = protocol::request_line(&request.into());
        line.push('\n');
        self.writer.write_all(line.as_bytes()).context("sending a request to the agent")?;
        let mut line = String::new();
        self.reader.read_line(&mut line).context("reading the agent's reply")?;
        if line.is_empty() {
            if !Path::new(&format!("/proc/{}", self.pid)).exists() {
                bail!("JVM {} exited before its agent replied", self.pid);
            }
            bail!("the agent closed the connection without replying");
        }
        protocol::parse_reply(&line).map_err(|e| anyhow!("{e}"))
    }
}

/// A JVM this command works on, with a connection to the agent inside it.
pub struct AttachedJvm {
    pub jvm: Jvm,
    pub client: AgentClient,
    /// The agent library, and whether this command loaded it into the JVM.
    pub library: PathBuf,
    pub loaded_agent: bool,
}

impl AttachedJvm {
    /// Resolves `pid_or_name` and connects to its agent, loading the agent first if needed.
    pub fn open(pid_or_name: &str, agent: Option<&Path>) -> Result<AttachedJvm> {
        let jvm = ps::resolve(pid_or_name)?;
        let library = agent_library(agent)?;
        let first_load = !jvm.agent_loaded;
        if first_load && ps::dynamic_agent_warning(&jvm) {
            eprintln!(
                "faultline: note: JDK {} prints a warning on the JVM's stderr when an agent is attached; \
                 start it with -XX:+EnableDynamicAgentLoading to silence it",
                jvm.jdk_major.unwrap_or(21)
            );
        }
        let client = AgentClient::connect(&jvm, &library, hotspot::DEFAULT_TIMEOUT)?;
        Ok(AttachedJvm { jvm, client, library, loaded_agent: first_load })
    }

    /// Like [`AttachedJvm::open`] for the verbs that only read or remove: a JVM that has no
    /// agent is returned as it is (`Err(jvm)`), without loading one, since it has nothing armed.
    pub fn open_if_loaded(pid_or_name: &str, agent: Option<&Path>) -> Result<std::result::Result<AttachedJvm, Jvm>> {
        let jvm = ps::resolve(pid_or_name)?;
        // Without our maps (another user's JVM) we cannot tell: try, as before.
        if !jvm.agent_loaded && jvm.libjvm.is_some() {
            return Ok(Err(jvm));
        }
        AttachedJvm::open(pid_or_name, agent).map(Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JDK's own libinstrument.so is a JVMTI agent (it exports Agent_OnAttach).
    fn jdk_library(name: &str) -> Option<PathBuf> {
        let path = std::env::var_os("PATH")?;
        let java = std::env::split_paths(&path).map(|d| d.join("java")).find(|p| p.exists())?;
        let home = std::fs::canonicalize(java).ok()?.parent()?.parent()?.to_path_buf();
        Some(home.join("lib").join(name)).filter(|p| p.exists())
    }

    #[test]
    fn an_attachable_agent_library_passes_the_check() {
        let instrument = jdk_library("libinstrument.so").expect("a JDK on PATH");
        check_agent_library(&instrument).expect("libinstrument.so exports Agent_OnAttach");
    }

    #[test]
    fn other_files_are_refused_with_the_reason() {
        let jvm = jdk_library("server/libjvm.so").expect("a JDK on PATH");
        let e = check_agent_library(&jvm).unwrap_err().to_string();
        assert!(e.contains("without Agent_OnAttach"), "{e}");
        let dir = std::env::temp_dir().join(format!("faultline-agentcheck-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = dir.join("agent.jar");
        std::fs::write(&text, b"PK\x03\x04 not a native library at all, but long enough to hold an ELF header ....")
            .unwrap();
        let e = check_agent_library(&text).unwrap_err().to_string();
        assert!(e.contains("not a native library"), "{e}");
        let e = check_agent_library(&dir.join("missing.so")).unwrap_err().to_string();
        assert!(e.contains("opening the agent library"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
