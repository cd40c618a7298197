//! Process facts read from `/proc`: ids, credentials, command line, mapped libraries and
//! namespaces. Everything the attach needs to know about a target before touching it.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The file name HotSpot's shared library has on every platform we attach to.
pub const LIBJVM: &str = "libjvm.so";
pub use faultline_model::protocol::AGENT_LIBRARY;

/// What `/proc` says about one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    /// The pid in our pid namespace.
    pub pid: i32,
    /// The pid in the process's own (innermost) pid namespace: the last field of `NStgid`.
    /// HotSpot names its attach files after this one.
    pub nspid: i32,
    /// Effective uid.
    pub uid: u32,
    /// Effective gid.
    pub gid: u32,
    /// The user name from the password database, else the uid as a number.
    pub user: String,
    pub cmdline: Vec<String>,
    /// `/proc/PID/root`: the process's root directory, seen from here.
    pub root: PathBuf,
    /// The working directory as the process sees it; `None` when we may not read it.
    pub cwd: Option<PathBuf>,
}

impl ProcessInfo {
    /// A path as the process sees it, reachable from our mount namespace through `/proc/PID/root`.
    /// Absolute symlinks inside the process's tree are still resolved against our root.
    pub fn host_path(&self, path: &Path) -> PathBuf {
        let relative: PathBuf =
            path.components().filter(|c| !matches!(c, Component::RootDir | Component::Prefix(_))).collect();
        self.root.join(relative)
    }
}

/// Reads the facts of process `pid`.
pub fn process(pid: i32) -> Result<ProcessInfo> {
    let dir = proc_dir(pid);
    let status_text = match fs::read_to_string(dir.join("status")) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => bail!("no process with pid {pid}"),
        Err(e) => return Err(e).with_context(|| format!("reading /proc/{pid}/status")),
    };
    let status = parse_status(&status_text).with_context(|| format!("parsing /proc/{pid}/status"))?;
    let cmdline_bytes = fs::read(dir.join("cmdline")).with_context(|| format!("reading /proc/{pid}/cmdline"))?;
    Ok(ProcessInfo {
        pid,
        nspid: status.nspid.unwrap_or(pid),
        uid: status.uid,
        gid: status.gid,
        user: user_name(status.uid),
        cmdline: parse_cmdline(&cmdline_bytes),
        root: dir.join("root"),
        // Unreadable for other users' processes unless we are root; the attach falls back to /tmp.
        cwd: fs::read_link(dir.join("cwd")).ok(),
    })
}

/// Every pid listed in `/proc`, in numeric order.
pub fn all_pids() -> Result<Vec<i32>> {
    let mut pids: Vec<i32> = fs::read_dir("/proc")
        .context("listing /proc")?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    Ok(pids)
}

/// `/proc/PID`.
pub fn proc_dir(pid: i32) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}"))
}

/// The fields of `/proc/PID/status` the attach needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// Effective uid (second field of `Uid:`).
    pub uid: u32,
    /// Effective gid (second field of `Gid:`).
    pub gid: u32,
    /// Last field of `NStgid:`; absent on kernels older than 4.1.
    pub nspid: Option<i32>,
}

/// Parses the `Uid:`, `Gid:` and `NStgid:` lines of `/proc/PID/status`.
pub fn parse_status(text: &str) -> Result<Status> {
    let mut uid = None;
    let mut gid = None;
    let mut nspid = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Uid:") {
            uid = Some(effective_id(rest).with_context(|| format!("bad Uid line {line:?}"))?);
        } else if let Some(rest) = line.strip_prefix("Gid:") {
            gid = Some(effective_id(rest).with_context(|| format!("bad Gid line {line:?}"))?);
        } else if line.starts_with("NStgid:") {
            nspid = Some(parse_nstgid(line)?);
        }
    }
    match (uid, gid) {
        (Some(uid), Some(gid)) => Ok(Status { uid, gid, nspid }),
        _ => bail!("no Uid or Gid line"),
    }
}

/// The innermost pid of an `NStgid:` line: `NStgid:\t4242\t7` → 7.
pub fn parse_nstgid(line: &str) -> Result<i32> {
    let rest = line.strip_prefix("NStgid:").with_context(|| format!("not an NStgid line: {line:?}"))?;
    let last = rest.split_whitespace().last().with_context(|| format!("empty NStgid line: {line:?}"))?;
    last.parse().with_context(|| format!("bad pid {last:?} in NStgid line"))
}

/// `Uid:\treal\teffective\tsaved\tfs` → effective.
fn effective_id(fields: &str) -> Result<u32> {
    let field = fields.split_whitespace().nth(1).context("fewer than two ids")?;
    field.parse().with_context(|| format!("bad id {field:?}"))
}

/// Whether process `pid` has a handler for signal `signo`: a JVM started with `-Xrs`, or not
/// yet done starting, does not handle SIGQUIT, and SIGQUIT would then kill it.
pub fn signal_caught(pid: i32, signo: i32) -> Result<bool> {
    let status =
        fs::read_to_string(proc_dir(pid).join("status")).with_context(|| format!("reading /proc/{pid}/status"))?;
    let mask = parse_sigcgt(&status).with_context(|| format!("no SigCgt line in /proc/{pid}/status"))?;
    Ok((1..=64).contains(&signo) && mask & (1u64 << (signo - 1)) != 0)
}

/// The caught-signals mask of a `/proc/PID/status` text (`SigCgt:\t0000000000004a07`).
pub fn parse_sigcgt(status: &str) -> Option<u64> {
    let hex = status.lines().find_map(|line| line.strip_prefix("SigCgt:"))?.trim();
    u64::from_str_radix(hex, 16).ok()
}

/// `/proc/PID/cmdline`: NUL-terminated arguments.
pub fn parse_cmdline(bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_suffix(b"\0").unwrap_or(bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes.split(|b| *b == 0).map(|arg| String::from_utf8_lossy(arg).into_owned()).collect()
}

/// The user name of `uid`, or the number when the password database does not know it.
pub fn user_name(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(user)) => user.name,
        _ => uid.to_string(),
    }
}

/// The path of a file-backed mapping in one `/proc/PID/maps` line, if any.
/// `7f..-7f.. r-xp 00000000 08:01 1234   /usr/lib/jvm/x/lib/server/libjvm.so`
pub fn maps_line_path(line: &str) -> Option<&str> {
    let mut rest = line;
    // address, perms, offset, dev, inode; the path follows and may contain spaces.
    for _ in 0..5 {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace)?;
        rest = &rest[end..];
    }
    let path = rest.trim_start();
    // A replaced file still mapped reads "/path (deleted)"; the name is what we match on.
    let path = path.strip_suffix(" (deleted)").unwrap_or(path);
    path.starts_with('/').then_some(path)
}

/// The first mapped file whose name is `file_name`, from the text of `/proc/PID/maps`.
pub fn find_mapped(maps: &str, file_name: &str) -> Option<PathBuf> {
    maps.lines()
        .filter_map(maps_line_path)
        .find(|path| Path::new(path).file_name().is_some_and(|name| name == file_name))
        .map(PathBuf::from)
}

/// The text of `/proc/PID/maps` (readable for our own user's processes, or as root).
pub fn read_maps(pid: i32) -> Result<String> {
    fs::read_to_string(proc_dir(pid).join("maps")).with_context(|| format!("reading /proc/{pid}/maps"))
}

/// The `libjvm.so` process `pid` has mapped, as the process sees its path; `None` when it is
/// not a HotSpot JVM. Maps, not hsperfdata, so that `-XX:-UsePerfData` JVMs are found.
pub fn libjvm_path(pid: i32) -> Result<Option<PathBuf>> {
    Ok(find_mapped(&read_maps(pid)?, LIBJVM))
}

/// Whether process `pid` has our agent library mapped.
pub fn agent_loaded(pid: i32) -> Result<bool> {
    Ok(find_mapped(&read_maps(pid)?, AGENT_LIBRARY).is_some())
}

/// The inode of namespace `kind` (`mnt`, `pid`, `net`...) of `/proc/PID/ns/KIND`, or of
/// `/proc/self/ns/KIND` for `None`.
pub fn namespace_inode(pid: Option<i32>, kind: &str) -> Result<u64> {
    let path = match pid {
        Some(pid) => proc_dir(pid).join("ns").join(kind),
        None => PathBuf::from("/proc/self/ns").join(kind),
    };
    Ok(fs::metadata(&path).with_context(|| format!("reading {}", path.display()))?.ino())
}

/// Whether process `pid` lives in another namespace of `kind` than we do.
pub fn namespace_differs(pid: i32, kind: &str) -> Result<bool> {
    Ok(namespace_inode(Some(pid), kind)? != namespace_inode(None, kind)?)
}

/// Whether the process sees other files than we do (a container): paths must then go through
/// `/proc/PID/root`, and the agent library must be copied in.
pub fn other_mount_namespace(pid: i32) -> Result<bool> {
    namespace_differs(pid, "mnt")
}

/// Whether the process has other pids than we do: its attach files are named after `nspid`.
pub fn other_pid_namespace(pid: i32) -> Result<bool> {
    namespace_differs(pid, "pid")
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str =
        "Name:\tjava\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\nNgid:\t0\nPid:\t4242\nPPid:\t1\n\
        Uid:\t1000\t1001\t1000\t1001\nGid:\t100\t101\t100\t101\nNStgid:\t4242\t7\nNSpid:\t4242\t7\n";

    #[test]
    fn nstgid_innermost_pid_is_the_last_field() {
        assert_eq!(parse_nstgid("NStgid:\t4242\t7").ok(), Some(7));
        assert_eq!(parse_nstgid("NStgid:\t4242").ok(), Some(4242));
        assert_eq!(parse_nstgid("NStgid:\t31\t12\t1").ok(), Some(1));
    }

    #[test]
    fn nstgid_without_pids_is_an_error() {
        assert!(parse_nstgid("NStgid:\t").is_err());
        assert!(parse_nstgid("NStgid:\tx").is_err());
    }

    #[test]
    fn status_gives_effective_ids_and_nspid() {
        let status = parse_status(STATUS).expect("parses");
        assert_eq!(status, Status { uid: 1001, gid: 101, nspid: Some(7) });
    }

    #[test]
    fn status_without_nstgid_has_no_nspid() {
        let status = parse_status("Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n").expect("parses");
        assert_eq!(status.nspid, None);
    }

    #[test]
    fn status_without_uid_is_an_error() {
        assert!(parse_status("Name:\tjava\n").is_err());
    }

    #[test]
    fn sigcgt_mask_parses_as_hex() {
        assert_eq!(parse_sigcgt("SigIgn:\t0000000000000000\nSigCgt:\t0000000000004a07\n"), Some(0x4a07));
        assert_eq!(parse_sigcgt("Name:\tx\n"), None);
    }

    #[test]
    fn cmdline_splits_on_nul_and_drops_the_last() {
        assert_eq!(parse_cmdline(b"java\0-cp\0a b\0Main\0"), vec!["java", "-cp", "a b", "Main"]);
        assert!(parse_cmdline(b"").is_empty());
    }

    #[test]
    fn maps_line_gives_the_path_even_with_spaces() {
        let line = "7f1c2d400000-7f1c2e5f1000 r-xp 00000000 08:01 1311   /opt/my jdk/lib/server/libjvm.so";
        assert_eq!(maps_line_path(line), Some("/opt/my jdk/lib/server/libjvm.so"));
    }

    #[test]
    fn maps_line_of_anonymous_or_special_mapping_has_no_path() {
        assert_eq!(
            maps_line_path("7ffd5c1e4000-7ffd5c205000 rw-p 00000000 00:00 0                          [stack]"),
            None
        );
        assert_eq!(maps_line_path("7f1c2d400000-7f1c2e5f1000 rw-p 00000000 00:00 0 "), None);
    }

    #[test]
    fn maps_line_of_deleted_file_keeps_its_name() {
        let line =
            "7f1c2d400000-7f1c2e5f1000 r-xp 00000000 08:01 1311 /tmp/faultline-0/libfaultline_agent.so (deleted)";
        assert_eq!(maps_line_path(line), Some("/tmp/faultline-0/libfaultline_agent.so"));
    }

    #[test]
    fn find_mapped_matches_the_file_name_exactly() {
        let maps = "55d0-55d1 r--p 00000000 08:01 10 /usr/bin/java\n\
                    7f00-7f01 r--p 00000000 08:01 11 /usr/lib/jvm/j17/lib/server/libjvm.so.bak\n\
                    7f01-7f02 r-xp 00000000 08:01 12 /usr/lib/jvm/j17/lib/server/libjvm.so\n";
        assert_eq!(find_mapped(maps, LIBJVM), Some(PathBuf::from("/usr/lib/jvm/j17/lib/server/libjvm.so")));
        assert_eq!(find_mapped(maps, AGENT_LIBRARY), None);
    }

    #[test]
    fn our_own_process_reads() {
        let me = process(std::process::id() as i32).expect("reads /proc/self");
        assert_eq!(me.uid, nix::unistd::geteuid().as_raw());
        assert!(!me.cmdline.is_empty());
        assert!(!other_mount_namespace(me.pid).expect("ns"));
        assert!(libjvm_path(me.pid).expect("maps").is_none());
    }

    #[test]
    fn missing_pid_is_reported_as_such() {
        let err = process(i32::MAX).expect_err("no such pid");
        assert_eq!(err.to_string(), format!("no process with pid {}", i32::MAX));
    }

    #[test]
    fn host_path_goes_through_proc_root() {
        let info = ProcessInfo {
            pid: 5,
            nspid: 1,
            uid: 0,
            gid: 0,
            user: "root".into(),
            cmdline: vec![],
            root: PathBuf::from("/proc/5/root"),
            cwd: None,
        };
        assert_eq!(info.host_path(Path::new("/tmp/.java_pid1")), PathBuf::from("/proc/5/root/tmp/.java_pid1"));
    }
}
