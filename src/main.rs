//! The `faultline` command line: find JVMs, attach, arm and remove faults, read outcomes.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use faultline::client::AttachedJvm;
use faultline::commands::{self, InjectArgs, KeyValue};
use faultline::usage::UsageError;
use faultline_model::returns::ReturnValue;

/// Fault injection for the JVM: latency, exceptions, hangs and return values in named methods or failure modes by name (presets) of a running JVM.
#[derive(Parser)]
#[command(
    name = "faultline",
    version,
    about,
    after_help = "PID is a process id, or a unique substring of a JVM's main class or jar."
)]
struct Cli {
    /// The agent library to load into JVMs (default: libfaultline_agent.so next to this program, or FAULTLINE_AGENT).
    #[arg(long, global = true, value_name = "PATH")]
    agent: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run: the size of the variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// List local JVMs: pid, user, JDK version, main class, attachable, agent loaded.
    Ps {
        #[arg(long)]
        json: bool,
    },
    /// Arm one fault in a running JVM (attaching the agent if needed).
    Inject(InjectCmd),
    /// Arm every fault of a scenario file in a running JVM.
    Apply {
        pid: String,
        scenario: PathBuf,
        /// Lease for faults that set no duration (default 10m).
        #[arg(long = "for", value_name = "D")]
        lease: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Armed faults with matched methods, calls seen, injections and time left.
    Status {
        pid: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove faults (all when no ID is given); the JVM returns to its original bytecode.
    Stop {
        pid: String,
        ids: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// The outcomes, oldest first: what fired, where, on which thread, where it was caught.
    Events {
        pid: String,
        /// Keep printing new events until interrupted.
        #[arg(long)]
        follow: bool,
        #[arg(long)]
        json: bool,
    },
    /// The presets: failure modes by name (jdbc, http-server, dns...), with their keys and kinds.
    Presets {
        #[arg(long)]
        json: bool,
    },
    /// Validate scenario files and list their faults.
    Check {
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// Chaos drills: plan, inject on a schedule, observe, judge and report, from one drill file.
    Drill {
        #[command(subcommand)]
        verb: faultline::drill::DrillVerb,
    },
    /// Print a scenario made from another tool's experiment; what has no faithful equivalent is refused (exit 2).
    Import {
        #[command(subcommand)]
        from: ImportFrom,
    },
}

#[derive(Subcommand)]
enum ImportFrom {
    /// A ChaosBlade command, after --: faultline import chaosblade -- blade create jvm delay --time 3000 ...
    Chaosblade {
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true, value_name = "BLADE COMMAND")]
        command: Vec<String>,
    },
    /// Chaos Mesh JVMChaos resources from a YAML file (- for standard input).
    ChaosMesh { file: PathBuf },
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    Latency,
    Exception,
    Hang,
    Return,
    Respond,
    Pool,
    Heap,
    Cpu,
    Threads,
    Gc,
    Metaspace,
    Direct,
    Exit,
}

#[derive(Args)]
struct InjectCmd {
    pid: String,
    #[arg(value_enum)]
    kind: Kind,
    /// CLASS#METHOD or CLASS#METHOD(PARAMS) (latency, exception, hang, return).
    #[arg(long)]
    target: Option<String>,
    /// A failure mode by name instead of a target: jdbc, jdbc-connect, http-server, http-client, dns, socket,
    /// grpc, jms (faultline presets lists them with their keys).
    #[arg(long, value_name = "NAME")]
    preset: Option<String>,
    /// Preset jdbc: a regular expression found in the statement's SQL.
    #[arg(long, value_name = "REGEX", allow_hyphen_values = true)]
    sql: Option<String>,
    /// Preset jdbc: select, insert, update, delete or other.
    #[arg(long, value_name = "OP")]
    operation: Option<String>,
    /// Presets jdbc, jdbc-connect: glob on the JDBC URL; http-client: glob on the request URL.
    #[arg(long, value_name = "GLOB")]
    url: Option<String>,
    /// Preset http-server: glob on the request path.
    #[arg(long, value_name = "GLOB")]
    path: Option<String>,
    /// Presets http-server, http-client: the HTTP method; grpc: glob on package.Service/Method.
    #[arg(long, value_name = "METHOD")]
    method: Option<String>,
    /// Preset jms: glob on the queue or topic name.
    #[arg(long, value_name = "GLOB")]
    destination: Option<String>,
    /// Preset grpc: client or server; jms: producer or consumer (default: both sides).
    #[arg(long, value_name = "SIDE")]
    side: Option<String>,
    /// Presets dns, socket: glob on the host.
    #[arg(long, value_name = "GLOB")]
    host: Option<String>,
    /// Preset socket: the remote port.
    #[arg(long, value_name = "PORT")]
    port: Option<String>,
    /// Respond: the status to answer with: HTTP, e.g. 503; gRPC, e.g. UNAVAILABLE or 14.
    #[arg(long, value_name = "CODE", allow_hyphen_values = true)]
    status: Option<String>,
    /// Only calls that meet this condition, e.g. "arg1 > 500 && thread contains 'http'".
    #[arg(long, value_name = "CONDITION", allow_hyphen_values = true)]
    when: Option<String>,
    /// Where the fault acts: entry (before the body, the default) or exit (after it returned).
    #[arg(long, value_name = "POINT")]
    at: Option<String>,
    /// Return: the value to return (a number, true, false, null, empty, or text); absent on a void method, whose body is skipped.
    #[arg(long, value_name = "V", allow_hyphen_values = true)]
    value: Option<String>,
    /// Latency: the added delay, e.g. 200ms.
    #[arg(long, value_name = "D", allow_hyphen_values = true)]
    delay: Option<String>,
    /// Latency: uniform +/- around the delay.
    #[arg(long, value_name = "D", allow_hyphen_values = true)]
    jitter: Option<String>,
    /// Exception: the Throwable class to throw, e.g. java.net.SocketTimeoutException.
    #[arg(long = "throw", value_name = "CLASS")]
    throw_class: Option<String>,
    /// Exception: its message.
    #[arg(long, value_name = "TEXT")]
    message: Option<String>,
    /// Hang: the longest a call is held (default 10m).
    #[arg(long, value_name = "D", allow_hyphen_values = true)]
    max: Option<String>,
    /// Pool: glob on the pool's worker thread names.
    #[arg(long, value_name = "GLOB")]
    pool: Option<String>,
    /// Pool: class pattern of the executor.
    #[arg(long, value_name = "PATTERN")]
    executor: Option<String>,
    /// Pool: saturate or reject.
    #[arg(long)]
    mode: Option<String>,
    /// Heap: the fraction of the maximum heap in use while armed, 0 < fill < 1 (application data included).
    #[arg(long, value_name = "F", allow_hyphen_values = true)]
    fill: Option<String>,
    /// Cpu: busy threads (default: the JVM's available processors).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    cores: Option<String>,
    /// Cpu: each busy thread's duty cycle, 0 < load <= 1 (default 1).
    #[arg(long, value_name = "F", allow_hyphen_values = true)]
    load: Option<String>,
    /// Threads: how many threads to start and hold.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    count: Option<String>,
    /// Threads: waiting (parked, the default) or running (spinning).
    #[arg(long, value_name = "STATE")]
    state: Option<String>,
    /// Gc: a full collection this often, e.g. 2s.
    #[arg(long, value_name = "D", allow_hyphen_values = true)]
    every: Option<String>,
    /// Metaspace, direct: how much to take, e.g. 128MB (binary units: KB, MB, GB).
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true)]
    size: Option<String>,
    /// Exit: the exit status, 0..255 (default 1).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    code: Option<String>,
    /// Exit: end with Runtime.halt (no shutdown hook runs) instead of System.exit.
    #[arg(long)]
    halt: bool,
    /// Chance that a matching call is hit, 0..1.
    #[arg(long, value_name = "P", allow_hyphen_values = true)]
    probability: Option<f64>,
    /// Let the first N matching calls through.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    after: Option<u64>,
    /// At most N injections.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    limit: Option<u64>,
    /// Only calls on threads whose name matches this glob.
    #[arg(long, value_name = "GLOB")]
    threads: Option<String>,
    /// How long the fault stays armed (default 10m); the agent removes it then, whether or not this command is still running.
    #[arg(long = "for", value_name = "D", allow_hyphen_values = true)]
    lease: Option<String>,
    /// The fault's id (default KIND-N).
    #[arg(long)]
    id: Option<String>,
    #[arg(long)]
    json: bool,
}

impl InjectCmd {
    fn into_args(self) -> (String, bool, InjectArgs) {
        let kind = match self.kind {
            Kind::Latency => "latency",
            Kind::Exception => "exception",
            Kind::Hang => "hang",
            Kind::Return => "return",
            Kind::Respond => "respond",
            Kind::Pool => "pool",
            Kind::Heap => "heap",
            Kind::Cpu => "cpu",
            Kind::Threads => "threads",
            Kind::Gc => "gc",
            Kind::Metaspace => "metaspace",
            Kind::Direct => "direct",
            Kind::Exit => "exit",
        };
        let mut keys = Vec::new();
        let mut text = |key: &'static str, v: Option<String>| {
            if let Some(v) = v {
                keys.push((key, KeyValue::Text(v)));
            }
        };
        text("target", self.target);
        text("preset", self.preset);
        text("sql", self.sql);
        text("operation", self.operation);
        text("url", self.url);
        text("path", self.path);
        text("method", self.method);
        text("destination", self.destination);
        text("side", self.side);
        text("host", self.host);
        text("port", self.port);
        text("when", self.when);
        text("at", self.at);
        text("delay", self.delay);
        text("jitter", self.jitter);
        text("throw", self.throw_class);
        text("message", self.message);
        text("max", self.max);
        text("pool", self.pool);
        text("executor", self.executor);
        text("mode", self.mode);
        text("threads", self.threads);
        text("state", self.state);
        text("every", self.every);
        text("size", self.size);
        if self.halt {
            keys.push(("mode", KeyValue::Text("halt".into())));
        }
        // Numbers are written as numbers; anything else as text, which the scenario's rules
        // refuse with a message that names the flag.
        for (key, value) in [
            ("fill", self.fill),
            ("cores", self.cores),
            ("load", self.load),
            ("count", self.count),
            ("code", self.code),
        ] {
            if let Some(v) = value {
                let number = v.parse::<i64>().is_ok() || v.parse::<f64>().is_ok_and(f64::is_finite);
                keys.push((key, if number { KeyValue::Raw(v) } else { KeyValue::Text(v) }));
            }
        }
        if let Some(v) = &self.value {
            keys.push(("value", KeyValue::Raw(ReturnValue::from_flag(v).to_toml())));
        }
        if let Some(p) = self.probability {
            // NaN and infinities are no TOML numbers: as text they get the scenario's own
            // "expected a number" error, which names the flag.
            let value = if p.is_finite() { KeyValue::Raw(format!("{p:?}")) } else { KeyValue::Text(p.to_string()) };
            keys.push(("probability", value));
        }
        if let Some(code) = self.status {
            // A number is written as one; anything else as text, which the scenario's rules
            // refuse with a message that names the flag.
            let value = if code.parse::<i64>().is_ok() { KeyValue::Raw(code) } else { KeyValue::Text(code) };
            keys.push(("status", value));
        }
        if let Some(n) = self.after {
            keys.push(("after", KeyValue::Raw(n.to_string())));
        }
        if let Some(n) = self.limit {
            keys.push(("limit", KeyValue::Raw(n.to_string())));
        }
        (self.pid, self.json, InjectArgs { kind: kind.to_string(), keys, id: self.id, lease: self.lease })
    }
}

/// Dies quietly of SIGPIPE when a reader of our output goes away (`faultline events | head`),
/// as Unix tools do, instead of failing a write and panicking in `println!`.
fn restore_default_sigpipe() {
    use nix::sys::signal::{signal, SigHandler, Signal};
    // SAFETY: SIG_DFL installs no Rust handler; called first thing, before any thread exists.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

fn main() -> ExitCode {
    restore_default_sigpipe();
    let cli = Cli::parse();
    let agent = cli.agent.as_deref();
    let result = match cli.command {
        Command::Ps { json } => commands::ps(json),
        Command::Check { scenarios } => commands::check(&scenarios),
        Command::Presets { json } => commands::presets(json),
        Command::Inject(cmd) => {
            let (pid, json, args) = cmd.into_args();
            args.check().map_err(anyhow::Error::from).and_then(|injection| {
                AttachedJvm::open(&pid, agent).and_then(|mut t| commands::inject(&mut t, injection, json))
            })
        }
        Command::Apply { pid, scenario, lease, json } => commands::load_application(&scenario, lease.as_deref())
            .and_then(|application| {
                AttachedJvm::open(&pid, agent).and_then(|mut t| commands::apply(&mut t, &application, json))
            }),
        // Reading and removing never load the agent into a JVM that has none.
        Command::Status { pid, json } => AttachedJvm::open_if_loaded(&pid, agent).and_then(|t| match t {
            Ok(mut t) => commands::status(&mut t, json),
            Err(jvm) => commands::status_without_agent(&jvm, json),
        }),
        Command::Stop { pid, ids, json } => AttachedJvm::open_if_loaded(&pid, agent).and_then(|t| match t {
            Ok(mut t) => commands::stop(&mut t, &ids, json),
            Err(jvm) => commands::stop_without_agent(&jvm, &ids, json),
        }),
        Command::Events { pid, follow, json } => AttachedJvm::open_if_loaded(&pid, agent).and_then(|t| match t {
            Ok(mut t) => commands::events(&mut t, follow, json),
            Err(jvm) => commands::events_without_agent(&jvm, json),
        }),
        Command::Drill { verb } => faultline::drill::command(verb, agent),
        Command::Import { from } => match from {
            ImportFrom::Chaosblade { command } => faultline::import::chaosblade(&command),
            ImportFrom::ChaosMesh { file } => faultline::import::chaos_mesh_file(&file),
        }
        .map(|scenario| print!("{scenario}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("faultline: {e:#}");
            if e.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
