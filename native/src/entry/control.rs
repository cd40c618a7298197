//! The control channel the `faultline` CLI talks to: a Unix socket in the JVM's /tmp, one
//! request per line and one reply per line (`faultline_model::protocol`), several
//! connections at once. Started when the CLI attaches;
//! it stops by itself when no fault is armed and nobody has asked anything for a while,
//! so an experiment leaves no agent thread behind.
//!
//! Only the JVM's own user and root may use it: the peer's credentials are checked on
//! every connection (SO_PEERCRED), on top of the socket file's 0600 mode.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::io::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use faultline_model::protocol::{self, Reply, Request};

use crate::agent::Agent;
use crate::ffi::catching;
use crate::guard;
use crate::sync::Locked;

/// How long the channel stays open with no fault armed and no request.
const IDLE_LIMIT: Duration = Duration::from_secs(60);

/// Whether the channel runs. A mutex, not an atomic: the decision to close for idleness and
/// a new attach asking for the channel must not interleave, or the attach would be told the
/// channel runs while it is closing.
static RUNNING: std::sync::Mutex<bool> = std::sync::Mutex::new(false);

fn lock_running() -> std::sync::MutexGuard<'static, bool> {
    RUNNING.locked()
}

/// `/tmp/.faultline-<pid>.sock`, with the pid as this JVM sees it (inside its namespace).
pub fn socket_path() -> PathBuf {
    protocol::socket_path(std::process::id())
}

/// Starts the channel unless it is already running.
pub fn ensure_started(agent: &'static Agent) -> Result<(), String> {
    let mut running = lock_running();
    if *running {
        return Ok(());
    }
    let path = socket_path();
    let _ = std::fs::remove_file(&path);
    let listener = match UnixListener::bind(&path) {
        Ok(l) => l,
        Err(e) => return Err(format!("cannot open the control socket {}: {e}", path.display())),
    };
    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    let spawned = std::thread::Builder::new().name("faultline-control".into()).spawn(move || {
        let served = catching("control channel", false, || serve(agent, listener));
        if !served {
            // serve() closes the channel itself when it ends normally; after a panic, here.
            let mut running = lock_running();
            let _ = std::fs::remove_file(socket_path());
            *running = false;
        }
    });
    if let Err(e) = spawned {
        let _ = std::fs::remove_file(&path);
        return Err(format!("cannot start the control thread: {e}"));
    }
    *running = true;
    Ok(())
}

/// Connections served at once; one more is told the agent is busy.
const MAX_CONNECTIONS: usize = 16;

static ACTIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Serves until idle; returns true once it has closed the channel.
fn serve(agent: &'static Agent, listener: UnixListener) -> bool {
    let mut last_activity = Instant::now();
    loop {
        let active = ACTIVE.load(Ordering::SeqCst);
        if active > 0 {
            last_activity = Instant::now();
        } else if agent.table().is_empty() && last_activity.elapsed() >= IDLE_LIMIT {
            let mut running = lock_running();
            // A connection that arrived meanwhile keeps the channel open.
            if !wait_readable(listener.as_raw_fd(), Duration::ZERO) {
                let _ = std::fs::remove_file(socket_path());
                *running = false;
                return true;
            }
        }
        if !wait_readable(listener.as_raw_fd(), Duration::from_millis(500)) {
            continue;
        }
        let Ok((stream, _)) = listener.accept() else { continue };
        last_activity = Instant::now();
        if let Err(e) = check_peer(&stream) {
            let mut s = &stream;
            let _ = writeln!(s, "{}", protocol::reply_line::<Reply>(&Err(e)));
            continue;
        }
        if ACTIVE.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            ACTIVE.fetch_sub(1, Ordering::SeqCst);
            let mut s = &stream;
            let busy = "the agent is busy: too many connections".to_string();
            let _ = writeln!(s, "{}", protocol::reply_line::<Reply>(&Err(busy)));
            continue;
        }
        // Each connection on its own thread: a follower (`events --follow`, a drill) must not
        // hold up `status` or `stop`. Arm and stop serialize inside the agent.
        let spawned = std::thread::Builder::new().name("faultline-control-conn".into()).spawn(move || {
            catching("control connection", (), || handle_connection(agent, stream));
            ACTIVE.fetch_sub(1, Ordering::SeqCst);
        });
        if spawned.is_err() {
            ACTIVE.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// poll(2) on one descriptor; true when a connection is waiting.
fn wait_readable(fd: i32, timeout: Duration) -> bool {
    let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut pfd, 1, timeout.as_millis() as libc::c_int) };
    n > 0 && pfd.revents & libc::POLLIN != 0
}

fn check_peer(stream: &UnixStream) -> Result<(), String> {
    let mut cred = libc::ucred { pid: 0, uid: 0, gid: 0 };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid out pointers of the sizes SO_PEERCRED writes.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            &mut cred as *mut libc::ucred as *mut libc::c_void,
            &mut len,
        )
    };
    if rc != 0 {
        return Err("cannot read the peer's credentials".into());
    }
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if cred.uid == me || cred.uid == 0 {
        Ok(())
    } else {
        Err(format!("permission denied: uid {} is neither this JVM's user (uid {me}) nor root", cred.uid))
    }
}

fn handle_connection(agent: &'static Agent, stream: UnixStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let reader = BufReader::new(&stream);
    for line in reader.lines() {
        let Ok(line) = line else { return };
        if line.trim().is_empty() {
            continue;
        }
        let reply =
            catching(
                "control request",
                Err("internal error in the agent".to_string()),
                || match serde_json::from_str::<Request>(&line) {
                    Ok(request) => execute(agent, request),
                    Err(e) => Err(format!("malformed request: {e}")),
                },
            );
        // One write per reply (the serializer would otherwise write it piece by piece).
        let mut text = protocol::reply_line(&reply);
        text.push('\n');
        let mut s = &stream;
        if s.write_all(text.as_bytes()).is_err() {
            return;
        }
    }
}

/// One request; the JNI work runs on this thread, attached to the JVM only meanwhile.
fn execute(agent: &'static Agent, request: Request) -> Result<Reply, String> {
    if let Some(reply) = agent.answer_without_java(&request) {
        return Ok(reply);
    }
    let mut env = agent.vm.attach_current_thread().map_err(|e| format!("cannot attach to the JVM: {e}"))?;
    guard::with(|| agent.answer(&mut env, request))
}
