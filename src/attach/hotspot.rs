//! HotSpot's dynamic attach protocol, step by step as jattach does it: check for the socket,
//! start the attach mechanism, connect, write the command, read the response.
//!
//! Container targets are reached through `/proc/PID/root` and named by their innermost pid.
//! When we are root and the JVM runs as another user, the trigger file and the connect are
//! done by a forked single-threaded child that took the JVM's ids: a JVM in a user namespace
//! does not see host root as root, and seteuid in our own (possibly multithreaded) process
//! could not be undone cleanly.

use std::fs;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::{kill, Signal};
use nix::sys::socket::{self, AddressFamily, SockFlag, SockType, UnixAddr};
use nix::sys::stat::Mode;
use nix::unistd::{Gid, Uid};

use super::proc::{self, ProcessInfo, AGENT_LIBRARY};

/// How long jattach waits for a JVM to open its attach socket.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(6);
/// HotSpot's limits: protocol version 1 carries at most 3 arguments of at most 1024 bytes.
const MAX_ARGS: usize = 3;
const MAX_ARG_LEN: usize = 1024;
/// The least time we wait for a reply: `load` runs the agent's `Agent_OnAttach` first.
const MIN_REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// Loads the native agent at `agent_path` (a path inside the JVM's mount namespace: see
/// [`place_agent`]) with `options`; returns the JVM's reply text. Fails unless the library
/// loaded and its `Agent_OnAttach` returned 0.
pub fn load_agent(jvm: &ProcessInfo, agent_path: &Path, options: &str, timeout: Duration) -> Result<String> {
    let path = agent_path.to_str().with_context(|| format!("the agent path {} is not UTF-8", agent_path.display()))?;
    let absolute = if agent_path.is_absolute() { "true" } else { "false" };
    let (code, text) = execute(jvm, "load", &[path, absolute, options], timeout)?;
    check_load_reply(code, &text).map_err(|reason| anyhow!("loading {path} into JVM {}: {reason}", jvm.pid))?;
    Ok(text)
}

/// Copies the agent library into the JVM's mount namespace and loads it; the usual way in.
pub fn attach_agent(jvm: &ProcessInfo, agent_path: &Path, options: &str, timeout: Duration) -> Result<String> {
    let placed = place_agent(jvm, agent_path)?;
    load_agent(jvm, &placed, options, timeout)
}

/// Runs one attach command (`properties`, `threaddump`, `jcmd`, `load`...); returns the JVM's
/// result code and its text, whatever the code: the caller decides what failure means.
pub fn execute(jvm: &ProcessInfo, command: &str, args: &[&str], timeout: Duration) -> Result<(i32, String)> {
    let request = encode_request(command, args)?;
    let identity = Identity::for_target(jvm)?;
    let dirs = TargetDirs::open(jvm)?;
    if !check_socket(jvm) {
        start_attach_mechanism(jvm, identity, &dirs, timeout)?;
    }
    let mut stream = connect_socket(jvm, identity, &dirs)?;
    write_command(&mut stream, &request)?;
    read_response(&mut stream, timeout.max(MIN_REPLY_TIMEOUT))
}

/// The attach socket as we reach it: HotSpot on Linux always uses /tmp, not java.io.tmpdir.
pub fn socket_path(jvm: &ProcessInfo) -> PathBuf {
    jvm.host_path(Path::new(&format!("/tmp/.java_pid{}", jvm.nspid)))
}

/// Whether the JVM's attach listener is already up.
pub fn check_socket(jvm: &ProcessInfo) -> bool {
    fs::symlink_metadata(socket_path(jvm)).is_ok_and(|meta| meta.file_type().is_socket())
}

/// Who does the file work and the connect: ourselves, or a child with the JVM's ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Identity {
    Ours,
    Target { uid: Uid, gid: Gid },
}

impl Identity {
    /// The JVM accepts a peer with its own euid and egid, or root (as root is seen from it).
    fn for_target(jvm: &ProcessInfo) -> Result<Identity> {
        let euid = nix::unistd::geteuid();
        if euid.as_raw() == jvm.uid {
            Ok(Identity::Ours)
        } else if euid.is_root() {
            Ok(Identity::Target { uid: Uid::from_raw(jvm.uid), gid: Gid::from_raw(jvm.gid) })
        } else {
            bail!(
                "JVM {} runs as {} (uid {}), we as uid {euid}: permission denied: run as the JVM's user (uid {}) or as root",
                jvm.pid,
                jvm.user,
                jvm.uid,
                jvm.uid
            )
        }
    }

    /// The owner a file we create ends up with, when the filesystem keeps it.
    fn file_owner(self) -> u32 {
        match self {
            Identity::Ours => nix::unistd::geteuid().as_raw(),
            Identity::Target { uid, .. } => uid.as_raw(),
        }
    }
}

/// The JVM's working directory and /tmp, opened once as we (root or its user) may reach them.
struct TargetDirs {
    cwd: Option<OwnedFd>,
    tmp: OwnedFd,
}

impl TargetDirs {
    fn open(jvm: &ProcessInfo) -> Result<TargetDirs> {
        let tmp_path = jvm.host_path(Path::new("/tmp"));
        let tmp = open_dir(&tmp_path)
            .map_err(|e| step_error(jvm, &format!("opening the JVM's /tmp ({})", tmp_path.display()), e.into()))?;
        // The trigger file can also go to /tmp: a cwd we cannot open is no failure yet.
        let cwd = open_dir(&proc::proc_dir(jvm.pid).join("cwd")).ok();
        Ok(TargetDirs { cwd, tmp })
    }
}

fn open_dir(path: &Path) -> nix::Result<OwnedFd> {
    nix::fcntl::open(path, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
}

/// A name in a directory we hold open, as a path valid in this process and its forked children.
fn fd_path(dir: &OwnedFd, name: &str) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}/{name}", dir.as_raw_fd()))
}

/// Creates the trigger file, sends SIGQUIT, waits for the socket, removes the trigger file.
fn start_attach_mechanism(jvm: &ProcessInfo, identity: Identity, dirs: &TargetDirs, timeout: Duration) -> Result<()> {
    // SIGQUIT kills a JVM that does not handle it (-Xrs, still starting): never send it blind.
    if !proc::signal_caught(jvm.pid, Signal::SIGQUIT as i32)? {
        bail!(
            "process {} does not handle SIGQUIT, so it cannot be asked to start its attach listener: \
             it may have been started with -Xrs, be still starting, or not be a HotSpot JVM",
            jvm.pid
        );
    }
    let trigger = create_trigger_file(jvm, identity, dirs)?;
    let outcome = send_sigquit(jvm).and_then(|()| wait_for_socket(jvm, timeout));
    // Left behind, it would make the JVM start its listener again at the next SIGQUIT.
    let _ = fs::remove_file(&trigger);
    outcome
}

/// `.attach_pid<NSPID>` in the JVM's cwd, else in its /tmp. HotSpot ignores a trigger file that
/// is owned by neither its user nor root, and some mounts change the owner of new files: such a
/// file is removed and /tmp tried instead.
fn create_trigger_file(jvm: &ProcessInfo, identity: Identity, dirs: &TargetDirs) -> Result<PathBuf> {
    let name = format!(".attach_pid{}", jvm.nspid);
    let mut cwd_error = None;
    if let Some(cwd) = &dirs.cwd {
        let path = fd_path(cwd, &name);
        match create_file_as(identity, &path) {
            Ok(()) if owned_by(&path, identity.file_owner()) => return Ok(path),
            Ok(()) => {
                let _ = fs::remove_file(&path);
            }
            Err(e) => cwd_error = Some(e),
        }
    }
    let path = fd_path(&dirs.tmp, &name);
    match create_file_as(identity, &path) {
        Ok(()) => Ok(path),
        Err(e) => {
            let cwd_note = cwd_error.map(|e| format!(" (in its working directory: {e})")).unwrap_or_default();
            Err(step_error(jvm, &format!("creating the attach trigger file /tmp/{name}{cwd_note}"), e))
        }
    }
}

fn owned_by(path: &Path, uid: u32) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.uid() == uid || meta.uid() == 0)
}

fn create_file_as(identity: Identity, path: &Path) -> std::result::Result<(), ChildError> {
    let path = path_cstring(path);
    run_as(identity, || {
        nix::fcntl::open(
            path.as_c_str(),
            OFlag::O_CREAT | OFlag::O_WRONLY | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o660),
        )
        .map(drop)
    })
}

fn path_cstring(path: &Path) -> std::ffi::CString {
    use std::os::unix::ffi::OsStrExt;
    // fd_path builds these from numbers and ASCII names: they hold no NUL.
    std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap_or_default()
}

/// SIGQUIT makes the JVM's signal thread look for the trigger file and start the listener.
fn send_sigquit(jvm: &ProcessInfo) -> Result<()> {
    kill(nix::unistd::Pid::from_raw(jvm.pid), Signal::SIGQUIT).map_err(|e| step_error(jvm, "sending SIGQUIT", e.into()))
}

/// Polls for the socket until `timeout`: every 250 µs for the first 20 ms, since a JVM that
/// is not busy opens it 1 to 1.5 ms after SIGQUIT and a backoff (1, 2, 4, 8 ms...) can add
/// up to its last pause to the attach, then with a growing pause up to 200 ms.
fn wait_for_socket(jvm: &ProcessInfo, timeout: Duration) -> Result<()> {
    const FINE_POLL: Duration = Duration::from_micros(250);
    const FINE_FOR: Duration = Duration::from_millis(20);
    let start = Instant::now();
    let mut pause = FINE_POLL;
    loop {
        if check_socket(jvm) {
            return Ok(());
        }
        if !proc::proc_dir(jvm.pid).exists() {
            bail!("JVM {} exited while we waited for its attach socket", jvm.pid);
        }
        let elapsed = start.elapsed();
        if elapsed >= timeout {
            bail!(
                "the JVM {} did not open its attach socket within {} ({}): it may have been started with \
                 -XX:+DisableAttachMechanism (then load faultline at its start instead: \
                 -agentpath:libfaultline_agent.so=scenario=FILE), be stuck, or not be a HotSpot JVM",
                jvm.pid,
                human(timeout),
                socket_path(jvm).display()
            );
        }
        thread::sleep(pause.min(timeout - elapsed));
        if elapsed >= FINE_FOR {
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }
}

fn human(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// Connects to `.java_pid<NSPID>` with the identity the JVM will accept.
fn connect_socket(jvm: &ProcessInfo, identity: Identity, dirs: &TargetDirs) -> Result<UnixStream> {
    let step = format!("connecting to the attach socket {}", socket_path(jvm).display());
    let sock = socket::socket(AddressFamily::Unix, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)
        .map_err(|e| step_error(jvm, "creating a unix socket", e.into()))?;
    let addr = UnixAddr::new(&fd_path(&dirs.tmp, &format!(".java_pid{}", jvm.nspid)))
        .map_err(|e| step_error(jvm, &step, e.into()))?;
    // The child shares the socket: connected there, it carries the child's ids (SO_PEERCRED)
    // and stays connected here.
    run_as(identity, || socket::connect(sock.as_raw_fd(), &addr)).map_err(|e| step_error(jvm, &step, e))?;
    Ok(UnixStream::from(sock))
}

/// `1\0command\0arg1\0arg2\0arg3\0`: protocol version 1, always three arguments.
pub fn encode_request(command: &str, args: &[&str]) -> Result<Vec<u8>> {
    if args.len() > MAX_ARGS {
        bail!("the attach command {command:?} has {} arguments; HotSpot takes at most {MAX_ARGS}", args.len());
    }
    let mut request = b"1\0".to_vec();
    for (i, part) in std::iter::once(&command).chain(args).enumerate() {
        if part.len() > MAX_ARG_LEN {
            bail!(
                "argument {i} of the attach command {command:?} is {} bytes; HotSpot takes at most {MAX_ARG_LEN}",
                part.len()
            );
        }
        if part.contains('\0') {
            bail!("argument {i} of the attach command {command:?} contains a NUL byte");
        }
        request.extend_from_slice(part.as_bytes());
        request.push(0);
    }
    request.resize(request.len() + MAX_ARGS - args.len(), 0);
    Ok(request)
}

fn write_command(stream: &mut UnixStream, request: &[u8]) -> Result<()> {
    stream.set_write_timeout(Some(MIN_REPLY_TIMEOUT)).context("setting the attach socket's write timeout")?;
    stream.write_all(request).context("writing the attach command: the JVM closed the connection")
}

/// Reads until the JVM closes the connection.
fn read_response(stream: &mut UnixStream, timeout: Duration) -> Result<(i32, String)> {
    stream.set_read_timeout(Some(timeout)).context("setting the attach socket's read timeout")?;
    let mut reply = Vec::new();
    match stream.read_to_end(&mut reply) {
        Ok(_) => {}
        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
            bail!(
                "reading the attach reply: no answer within {} (got {} bytes): the JVM may be stuck",
                human(timeout),
                reply.len()
            )
        }
        Err(e) => return Err(e).context("reading the attach reply"),
    }
    parse_response(&reply)
}

/// The reply: the result code on the first line, then the command's output.
pub fn parse_response(reply: &[u8]) -> Result<(i32, String)> {
    let text = String::from_utf8_lossy(reply);
    if text.is_empty() {
        bail!("the JVM closed the attach connection without a reply");
    }
    let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
    let code = first
        .trim()
        .parse()
        .with_context(|| format!("the attach reply does not start with a result code: {:?}", truncate(&text)))?;
    Ok((code, rest.to_string()))
}

/// Whether a `load` reply means the agent is in: the attach code and the agent's own return
/// code must both be 0. The agent's code is the text's first line: a bare number on JDK 8,
/// `return code: N` since JDK 9; JDK 21+ may answer code 0 with an error message instead.
pub fn check_load_reply(code: i32, text: &str) -> std::result::Result<(), String> {
    let first = text.lines().next().unwrap_or("").trim();
    if code != 0 {
        return Err(if text.trim().is_empty() {
            format!("the JVM answered error code {code}")
        } else {
            one_line(text)
        });
    }
    let agent_code = first.strip_prefix("return code:").unwrap_or(first).trim();
    match agent_code.parse::<i32>() {
        Ok(0) => Ok(()),
        Ok(n) => Err(format!("the agent's Agent_OnAttach returned {n}: see the JVM's stderr for its reason")),
        Err(_) if text.trim().is_empty() => Err("the JVM gave no result for the load".into()),
        Err(_) => Err(one_line(text)),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn truncate(text: &str) -> String {
    text.chars().take(200).collect()
}

/// Copies the agent library where the JVM can open it and returns its path as the JVM sees it:
/// the original path when the JVM shares our mount namespace and may read it, else
/// `/tmp/faultline-<uid>/libfaultline_agent.so` inside its root (mode 0755, its owner).
pub fn place_agent(jvm: &ProcessInfo, agent_path: &Path) -> Result<PathBuf> {
    let source =
        fs::canonicalize(agent_path).with_context(|| format!("finding the agent library {}", agent_path.display()))?;
    if !proc::other_mount_namespace(jvm.pid)? && readable_by(&source, jvm.uid, jvm.gid) {
        return Ok(source);
    }
    let dir_seen = PathBuf::from(format!("/tmp/faultline-{}", jvm.uid));
    let dir = jvm.host_path(&dir_seen);
    private_dir(jvm, &dir)?;
    let dest = dir.join(AGENT_LIBRARY);
    let bytes = fs::read(&source).with_context(|| format!("reading the agent library {}", source.display()))?;
    // A JVM may have this very file loaded: rewrite it only when it differs, and then by rename,
    // so that the mapped copy stays intact and a new load does not get a second agent.
    if fs::read(&dest).ok().as_deref() != Some(bytes.as_slice()) {
        let temp = dir.join(format!(".{AGENT_LIBRARY}.{}", std::process::id()));
        fs::write(&temp, &bytes).with_context(|| format!("copying the agent library to {}", temp.display()))?;
        fs::set_permissions(&temp, fs::Permissions::from_mode(0o755))
            .with_context(|| format!("making {} executable", temp.display()))?;
        if nix::unistd::geteuid().is_root() {
            std::os::unix::fs::chown(&temp, Some(jvm.uid), Some(jvm.gid))
                .with_context(|| format!("giving {} to uid {}", temp.display(), jvm.uid))?;
        }
        fs::rename(&temp, &dest).with_context(|| format!("moving the agent library to {}", dest.display()))?;
    }
    Ok(dir_seen.join(AGENT_LIBRARY))
}

/// `/tmp/faultline-<uid>` in the JVM's root: created 0755 for the JVM's user, or an existing
/// real directory of that user's, ours or root's (never a symlink someone planted in /tmp).
fn private_dir(jvm: &ProcessInfo, dir: &Path) -> Result<()> {
    match fs::DirBuilder::new().mode(0o755).create(dir) {
        Ok(()) => {
            if nix::unistd::geteuid().is_root() {
                std::os::unix::fs::chown(dir, Some(jvm.uid), Some(jvm.gid))
                    .with_context(|| format!("giving {} to uid {}", dir.display(), jvm.uid))?;
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let meta = fs::symlink_metadata(dir).with_context(|| format!("checking {}", dir.display()))?;
            let owner_ok = [jvm.uid, nix::unistd::geteuid().as_raw(), 0].contains(&meta.uid());
            if !meta.is_dir() || !owner_ok {
                bail!(
                    "{} exists but is not a directory of uid {} or ours: remove it and retry",
                    dir.display(),
                    jvm.uid
                );
            }
            Ok(())
        }
        Err(e) => Err(e).with_context(|| format!("creating {}", dir.display())),
    }
}

/// Whether `uid`/`gid` may read `path` by its mode bits and search every directory above it
/// (supplementary groups not counted: at worst we copy when we need not).
fn readable_by(path: &Path, uid: u32, gid: u32) -> bool {
    if uid == 0 {
        return true;
    }
    let allows = |path: &Path, bit: u32| {
        fs::metadata(path).is_ok_and(|meta| {
            let mode = meta.mode();
            let shift = if meta.uid() == uid {
                6
            } else if meta.gid() == gid {
                3
            } else {
                0
            };
            mode >> shift & bit != 0
        })
    };
    allows(path, 0o4) && path.ancestors().skip(1).all(|dir| allows(dir, 0o1))
}

/// A failure of one step in the child or here: which call failed, and the OS error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ChildError {
    step: &'static str,
    errno: Errno,
}

impl From<Errno> for ChildError {
    fn from(errno: Errno) -> ChildError {
        ChildError { step: "", errno }
    }
}

impl std::fmt::Display for ChildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.step.is_empty() {
            write!(f, "{}", io::Error::from_raw_os_error(self.errno as i32))
        } else {
            write!(f, "{}: {}", self.step, io::Error::from_raw_os_error(self.errno as i32))
        }
    }
}

/// An error naming the step, the OS error and what to try.
fn step_error(jvm: &ProcessInfo, step: &str, error: ChildError) -> anyhow::Error {
    let hint = match error.errno {
        Errno::EACCES | Errno::EPERM => format!(": permission denied: run as the JVM's user (uid {}) or as root", jvm.uid),
        Errno::ECONNREFUSED => format!(
            ": nothing listens on it: the socket may be left over from an earlier process with pid {}; remove it and retry",
            jvm.nspid
        ),
        Errno::ENOENT => ": the JVM may have exited".to_string(),
        _ => String::new(),
    };
    anyhow!("{step} of JVM {} failed: {error}{hint}", jvm.pid)
}

/// Runs `op` as `identity`: here, or in a forked child that switched to the JVM's egid and
/// euid and reports the outcome through a pipe. `op` runs after fork in a copy of a possibly
/// multithreaded process, so it must only make system calls: no allocation, no locks.
fn run_as<F>(identity: Identity, op: F) -> std::result::Result<(), ChildError>
where
    F: FnOnce() -> nix::Result<()>,
{
    let Identity::Target { uid, gid } = identity else {
        return op().map_err(ChildError::from);
    };
    let (reader, writer) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|errno| ChildError { step: "pipe", errno })?;
    // SAFETY: the child below only makes async-signal-safe system calls (setegid, seteuid,
    // `op`'s open or connect, write) on memory prepared before the fork, then `_exit`s.
    match unsafe { nix::unistd::fork() } {
        Err(errno) => Err(ChildError { step: "fork", errno }),
        Ok(nix::unistd::ForkResult::Child) => {
            drop(reader);
            let outcome = nix::unistd::setegid(gid)
                .map_err(|e| (1u8, e))
                .and_then(|()| nix::unistd::seteuid(uid).map_err(|e| (2, e)))
                .and_then(|()| op().map_err(|e| (3, e)));
            let message = match outcome {
                Ok(()) => [0u8; 5],
                Err((step, errno)) => {
                    let [a, b, c, d] = (errno as i32).to_le_bytes();
                    [step, a, b, c, d]
                }
            };
            let _ = nix::unistd::write(writer.as_fd(), &message);
            // SAFETY: ends the child without running the parent's exit handlers or destructors.
            unsafe { nix::libc::_exit(0) }
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            drop(writer);
            let mut message = [0u8; 5];
            let read = read_full(&reader, &mut message);
            let _ = nix::sys::wait::waitpid(child, None);
            if read != Ok(message.len()) {
                return Err(ChildError { step: "the attach child", errno: read.err().unwrap_or(Errno::EPIPE) });
            }
            let [step, a, b, c, d] = message;
            let errno = Errno::from_raw(i32::from_le_bytes([a, b, c, d]));
            match step {
                0 => Ok(()),
                1 => Err(ChildError { step: "setegid", errno }),
                2 => Err(ChildError { step: "seteuid", errno }),
                _ => Err(ChildError { step: "", errno }),
            }
        }
    }
}

fn read_full(fd: &OwnedFd, buf: &mut [u8]) -> nix::Result<usize> {
    let mut total = 0;
    while total < buf.len() {
        match nix::unistd::read(fd, &mut buf[total..]) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_has_version_command_and_three_arguments() {
        let request = encode_request("load", &["/tmp/a.so", "true", ""]).expect("encodes");
        assert_eq!(request, b"1\0load\0/tmp/a.so\0true\0\0".to_vec());
    }

    #[test]
    fn request_pads_missing_arguments() {
        assert_eq!(encode_request("properties", &[]).expect("encodes"), b"1\0properties\0\0\0\0".to_vec());
        assert_eq!(encode_request("jcmd", &["VM.version"]).expect("encodes"), b"1\0jcmd\0VM.version\0\0\0".to_vec());
    }

    #[test]
    fn request_refuses_long_or_many_arguments() {
        let long = "x".repeat(1025);
        assert!(encode_request("load", &[&long]).is_err());
        assert!(encode_request("load", &["a", "b", "c", "d"]).is_err());
        assert!(encode_request("load", &["a\0b"]).is_err());
        assert!(encode_request("load", &[&"x".repeat(1024)]).is_ok());
    }

    #[test]
    fn response_splits_code_and_text() {
        assert_eq!(parse_response(b"0\nreturn code: 0\n").expect("parses"), (0, "return code: 0\n".to_string()));
        assert_eq!(parse_response(b"-1").expect("parses"), (-1, String::new()));
        assert!(parse_response(b"").is_err());
        assert!(parse_response(b"hello\n").is_err());
    }

    #[test]
    fn load_reply_of_jdk9_plus_success() {
        assert_eq!(check_load_reply(0, "return code: 0\n"), Ok(()));
    }

    #[test]
    fn load_reply_of_jdk8_success_is_a_bare_number() {
        assert_eq!(check_load_reply(0, "0\n"), Ok(()));
    }

    #[test]
    fn load_reply_with_agent_failure_names_its_code() {
        let err = check_load_reply(0, "return code: -1\n").expect_err("agent failed");
        assert!(err.contains("returned -1"), "{err}");
    }

    #[test]
    fn load_reply_of_jdk21_error_text_with_code_zero_fails() {
        let err = check_load_reply(0, "Failed to load agent library\n/x.so was not loaded.\n").expect_err("failed");
        assert!(err.contains("was not loaded"), "{err}");
    }

    #[test]
    fn load_reply_with_attach_error_code_fails() {
        let err = check_load_reply(-1, "/x.so was not loaded.\n").expect_err("failed");
        assert!(err.contains("was not loaded"), "{err}");
        assert!(check_load_reply(100, "").is_err());
    }

    #[test]
    fn readable_by_root_always_and_by_others_by_mode() {
        assert!(readable_by(Path::new("/etc/hostname"), 0, 0));
        assert!(readable_by(Path::new("/etc/passwd"), 65534, 65534));
        assert!(!readable_by(Path::new("/etc/shadow"), 65534, 65534));
    }

    #[test]
    fn run_as_ours_runs_here() {
        assert_eq!(run_as(Identity::Ours, || Ok(())), Ok(()));
        assert_eq!(run_as(Identity::Ours, || Err(Errno::EACCES)).map_err(|e| e.errno), Err(Errno::EACCES));
    }

    #[test]
    fn run_as_another_user_switches_in_a_child() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let nobody = Identity::Target { uid: Uid::from_raw(65534), gid: Gid::from_raw(65534) };
        // /etc/shadow is closed to nobody: the open fails in the child, not here.
        let shadow = std::ffi::CString::new("/etc/shadow").expect("no NUL");
        let outcome = run_as(nobody, || nix::fcntl::open(shadow.as_c_str(), OFlag::O_RDONLY, Mode::empty()).map(drop));
        assert_eq!(outcome.map_err(|e| e.errno), Err(Errno::EACCES));
        assert_eq!(nix::unistd::geteuid(), Uid::from_raw(0), "the parent keeps its ids");
        let hosts = std::ffi::CString::new("/etc/hostname").expect("no NUL");
        assert_eq!(
            run_as(nobody, || nix::fcntl::open(hosts.as_c_str(), OFlag::O_RDONLY, Mode::empty()).map(drop)),
            Ok(())
        );
    }
}
