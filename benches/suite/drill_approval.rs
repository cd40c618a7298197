//! Row 14: what running only as approved costs a drill's start. `faultline drill run
//! --approved proposal.json` checks the drill file against the proposal and measures the blast
//! radius again on the live targets (each method fault armed with probability 0, read and
//! removed) before the first phase; the row is the time from the command's start to the
//! journal's first record, with `--approved` minus without, on the demo service with one
//! latency fault, interleaved, against the same JVM. No peer: the other tools have no
//! approved plan to enforce.

use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use faultline_bench::env_num;
use serde_json::{json, Value};

use crate::drill_https::start_demo;
use crate::harness::{fail, row, stat, write, Ctx};

/// Milliseconds since the epoch of the journal's first record (`time`, RFC 3339 UTC).
fn first_record_ms(dir: &std::path::Path) -> f64 {
    let text = std::fs::read_to_string(dir.join("journal.jsonl"))
        .unwrap_or_else(|e| fail(&format!("row 14: no journal in {} ({e})", dir.display())));
    let first: Value = text.lines().next().and_then(|l| serde_json::from_str(l).ok()).unwrap_or(Value::Null);
    let time = first["time"].as_str().unwrap_or_else(|| fail("row 14: the journal's first record has no time"));
    let ts: jiff::Timestamp = time.parse().unwrap_or_else(|e| fail(&format!("row 14: bad time {time:?}: {e}")));
    ts.as_millisecond() as f64
}

fn epoch_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs_f64() * 1000.0
}

pub(crate) fn measure(ctx: &mut Ctx) {
    let rounds = env_num("FAULTLINE_SUITE_APPROVAL_ROUNDS", 4).max(1) as usize;
    let demo_jar = ctx.cli.with_file_name("faultline-demo.jar");
    let demo = start_demo(&ctx.java, &demo_jar, None);
    let pid = demo.child.id();
    let checkout = demo.url.replace("/health", "/checkout");
    let file = ctx.scratch.join("approval.toml");
    write(
        &file,
        &format!(
            "name = \"suite row 14\"\ntargets = [\"{pid}\"]\n\n[load]\nurl = \"{checkout}\"\nrate = 20\n\n\
             [steady_state]\nevery = \"100ms\"\nwindow = \"1s\"\nmax_error_rate = 0.5\n\n\
             [[phase]]\nname = \"baseline\"\nduration = \"1s\"\n\n\
             [[phase]]\nname = \"slow\"\nduration = \"1s\"\nexpect = \"degraded\"\n\n\
             [[phase.fault]]\nid = \"slow-pay\"\nkind = \"latency\"\ntarget = \"com.acme.PaymentClient#charge(long)\"\ndelay = \"1ms\"\n"
        ),
    );
    let proposal_dir = ctx.scratch.join("approval-proposal");
    let check = Command::new(&ctx.cli)
        .args(["drill", "check"])
        .arg(&file)
        .arg("--out")
        .arg(&proposal_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap_or_else(|e| fail(&format!("row 14: cannot run faultline drill check: {e}")));
    if !check.status.success() {
        fail(&format!("row 14: drill check failed: {}", String::from_utf8_lossy(&check.stderr)));
    }
    let proposal = proposal_dir.join("proposal.json");
    let startup = |approved: bool, round: usize| -> f64 {
        let out = ctx.scratch.join(format!("approval-{approved}-{round}"));
        let _ = std::fs::remove_dir_all(&out);
        let mut cmd = Command::new(&ctx.cli);
        cmd.args(["drill", "run"]).arg(&file).arg("--out").arg(&out).arg("--json");
        if approved {
            cmd.arg("--approved").arg(&proposal);
        }
        let t0 = epoch_ms();
        let run = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).output();
        match run {
            Ok(o) if o.status.success() => first_record_ms(&out) - t0,
            Ok(o) => fail(&format!("row 14: drill run failed: {}", String::from_utf8_lossy(&o.stderr))),
            Err(e) => fail(&format!("row 14: cannot run faultline drill run: {e}")),
        }
    };
    let _ = startup(false, 0);
    let (mut plain, mut approved) = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        let p = startup(false, round);
        let a = startup(true, round);
        eprintln!("  round {round}/{rounds}: start-up {p:.1} ms, with --approved {a:.1} ms");
        plain.push(p);
        approved.push(a);
    }
    drop(demo);
    let added: Vec<f64> = approved.iter().zip(&plain).map(|(a, p)| a - p).collect();
    let a = stat(&added);
    ctx.rows.push(row(
        "14 drill run --approved: start-up added",
        format!("{:+.1} ms [{:+.1}..{:+.1}]", a.med, a.min, a.max),
        format!("without --approved {:.1} ms", stat(&plain).med),
        format!("with {:.1} ms", stat(&approved).med),
        "≤ +100 ms every round",
        Some(a.max <= 100.0),
    ));
    ctx.json.insert(
        "drill_approval".into(),
        json!({"startup_ms": plain, "approved_startup_ms": approved, "added_ms": added}),
    );
}
