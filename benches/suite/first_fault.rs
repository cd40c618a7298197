//! Rows 4-5: time to first fault (`benches/attach.rs`'s target, `faultline_bench::attach`),
//! second command; jattach floor.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use faultline_bench::attach::{self, now_micros, FreshJvm};
use faultline_bench::{env_num, JVM_FLAGS};
use serde_json::json;

use crate::harness::{fail, fmt_stat, guarded, last_or_dash, row, run_ok, short, stat, write, Ctx};

pub(crate) fn measure(ctx: &mut Ctx) {
    let runs = env_num("FAULTLINE_SUITE_RUNS", 5).max(1) as usize;
    let classes = attach::compile_target();
    let rule = |name: &str| {
        format!(
            "RULE {name}\nCLASS attachbench.Target\nMETHOD {name}\nAT ENTRY\nIF true\n\
             DO throw new java.lang.IllegalStateException(\"byteman {name}\")\nENDRULE\n"
        )
    };
    let first_btm = ctx.scratch.join("first.btm");
    let second_btm = ctx.scratch.join("second.btm");
    write(&first_btm, &rule("first"));
    write(&second_btm, &rule("second"));
    let noop = build_noop_agent(&ctx.scratch);

    let (mut fl1, mut fl2, mut bm1, mut bm2, mut ja) = (vec![], vec![], vec![], vec![], vec![]);
    let mut fl_err: Vec<String> = vec![];
    let (mut bm_err, mut ja_err) = (ctx.byteman.as_ref().err().cloned(), ctx.jattach.as_ref().err().cloned());
    if ja_err.is_none() {
        if let Err(e) = &noop {
            ja_err = Some(e.clone());
        }
    }
    // One unmeasured run of each tool first, as every other row warms up (in one suite run the
    // first run was each tool's slowest: faultline 31.4 ms against 19.1 to 23.8, jattach 22.6
    // against 21.9 to 22.4).
    let _ = guarded("faultline warm-up", || Ok(attach::one_run(&ctx.cli, &classes, &JVM_FLAGS)));
    if let (Ok(bm), None) = (ctx.byteman.as_ref(), &bm_err) {
        let _ = guarded("byteman warm-up", || {
            let jvm = FreshJvm::start(&classes, &JVM_FLAGS);
            run_ok(&mut bm.install_cmd(&ctx.java, &jvm.pid, 19090), "Byteman Install")
        });
    }
    if let (Ok(jattach), Ok(noop), None) = (ctx.jattach.as_ref(), noop.as_ref(), &ja_err) {
        let _ = guarded("jattach warm-up", || {
            let jvm = FreshJvm::start(&classes, &JVM_FLAGS);
            run_ok(Command::new(jattach).arg(&jvm.pid).arg("load").arg(noop).arg("true"), "jattach load")
        });
    }
    for run in 0..runs {
        // A: faultline
        let (a, b) = match guarded("faultline", || Ok(attach::one_run(&ctx.cli, &classes, &JVM_FLAGS))) {
            Ok(ab) => ab,
            Err(e) => {
                // A failed command is a result too: counted and shown in the table.
                eprintln!("  run {}: faultline failed: {e}", run + 1);
                fl_err.push(e);
                (f64::NAN, f64::NAN)
            }
        };
        if !a.is_nan() {
            fl1.push(a);
            fl2.push(b);
        }
        // B: Byteman Install + Submit
        if bm_err.is_none() {
            let bm = ctx.byteman.as_ref().unwrap();
            let port = 19091 + (run as u16 % 500);
            let r = guarded("byteman", || {
                let mut jvm = FreshJvm::start(&classes, &JVM_FLAGS);
                let start_a = now_micros();
                run_ok(&mut bm.install_cmd(&ctx.java, &jvm.pid, port), "Byteman Install")?;
                run_ok(&mut bm.submit_cmd(&ctx.java, port, &first_btm), "Byteman Submit")?;
                let first_at = jvm.seen("first ");
                let start_b = now_micros();
                run_ok(&mut bm.submit_cmd(&ctx.java, port, &second_btm), "Byteman Submit (second rule)")?;
                let second_at = jvm.seen("second ");
                Ok((
                    (first_at.saturating_sub(start_a)) as f64 / 1000.0,
                    (second_at.saturating_sub(start_b)) as f64 / 1000.0,
                ))
            });
            match r {
                Ok((a, b)) => {
                    bm1.push(a);
                    bm2.push(b);
                }
                Err(e) => {
                    eprintln!("  Byteman failed: {e}");
                    bm_err = Some(e);
                }
            }
        }
        // C: jattach load of a no-op agent (the floor)
        if ja_err.is_none() {
            let (jattach, noop) = (ctx.jattach.as_ref().unwrap(), noop.as_ref().unwrap());
            let r = guarded("jattach", || {
                let jvm = FreshJvm::start(&classes, &JVM_FLAGS);
                let t = Instant::now();
                let out =
                    run_ok(Command::new(jattach).arg(&jvm.pid).arg("load").arg(noop).arg("true"), "jattach load")?;
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                if !out.contains("return code: 0") && !out.contains("response code = 0") {
                    return Err(format!("jattach: unexpected reply {out:?}"));
                }
                Ok(ms)
            });
            match r {
                Ok(ms) => ja.push(ms),
                Err(e) => {
                    eprintln!("  jattach failed: {e}");
                    ja_err = Some(e);
                }
            }
        }
        eprintln!(
            "  run {}/{runs}: faultline {:.1} / {:.1} ms; Byteman {} / {} ms; jattach {} ms",
            run + 1,
            a,
            b,
            last_or_dash(&bm1),
            last_or_dash(&bm2),
            last_or_dash(&ja),
        );
    }
    if fl1.is_empty() {
        fail(&format!("faultline failed in every run: {fl_err:?}"));
    }
    let _ = std::fs::remove_dir_all(&classes);
    let (f1, f2) = (stat(&fl1), stat(&fl2));
    let failed_note =
        if fl_err.is_empty() { String::new() } else { format!(" ({} of {runs} runs FAILED)", fl_err.len()) };
    let bm_ok = bm_err.is_none() && !bm1.is_empty();
    ctx.rows.push(if bm_ok {
        let b = stat(&bm1);
        row(
            "4 fresh JVM: command -> first fault",
            fmt_stat(f1, 1, "ms") + &failed_note,
            format!("Byteman install+submit {:.0} ms", b.med),
            format!("{:.1}x faster", b.med / f1.med),
            "< 60 ms, ≥ 8x faster, every run",
            Some(f1.max < 60.0 && b.min / f1.max >= 8.0),
        )
    } else {
        row(
            "4 fresh JVM: command -> first fault",
            fmt_stat(f1, 1, "ms") + &failed_note,
            format!("n/a: {}", short(bm_err.as_deref().unwrap_or("?"))),
            "-".into(),
            "< 60 ms, ≥ 8x faster, every run",
            Some(false).filter(|_| f1.max >= 60.0),
        )
    });
    ctx.rows.push(match (&ja_err, ja.is_empty()) {
        (None, false) => {
            // Against the floor's median: jattach's own spread is small next to ours.
            let j = stat(&ja);
            row(
                "4 floor: jattach load of a no-op agent",
                fmt_stat(f1, 1, "ms"),
                format!("jattach {:.1} [{:.1}..{:.1}] ms", j.med, j.min, j.max),
                format!("{:.2}x the floor (runs {:.2}..{:.2})", f1.med / j.med, f1.min / j.med, f1.max / j.med),
                "≤ 1.2x the floor, every run",
                Some(f1.max / j.med <= 1.2),
            )
        }
        _ => row(
            "4 floor: jattach load of a no-op agent",
            fmt_stat(f1, 1, "ms"),
            format!("n/a: {}", short(ja_err.as_deref().unwrap_or("?"))),
            "-".into(),
            "(floor, for reference)",
            None,
        ),
    });
    ctx.rows.push(if bm_ok {
        let b = stat(&bm2);
        row(
            "5 second command on the attached JVM",
            fmt_stat(f2, 1, "ms") + &failed_note,
            format!("Byteman submit {:.0} ms", b.med),
            format!("{:.1}x faster", b.med / f2.med),
            "< 10 ms, every run",
            Some(f2.max < 10.0),
        )
    } else {
        row(
            "5 second command on the attached JVM",
            fmt_stat(f2, 1, "ms") + &failed_note,
            format!("n/a: {}", short(bm_err.as_deref().unwrap_or("?"))),
            "-".into(),
            "< 10 ms, every run",
            Some(f2.max < 10.0),
        )
    });
    ctx.json.insert(
        "first_fault".into(),
        json!({"runs": runs, "unit": "ms", "faultline_first_ms": fl1, "faultline_second_ms": fl2,
               "byteman_install_submit_first_ms": bm1, "byteman_submit_second_ms": bm2,
               "jattach_load_noop_ms": ja, "byteman_error": bm_err, "jattach_error": ja_err,
               "faultline_failures": fl_err}),
    );
}

/// A native agent whose `Agent_OnAttach` returns 0, for jattach's floor.
fn build_noop_agent(scratch: &Path) -> Result<PathBuf, String> {
    let src = scratch.join("noop.c");
    let so = scratch.join("libnoop_agent.so");
    write(
        &src,
        "__attribute__((visibility(\"default\"))) int Agent_OnAttach(void *vm, char *options, void *reserved) {\n\
         \x20   (void) vm; (void) options; (void) reserved;\n    return 0;\n}\n",
    );
    run_ok(Command::new("gcc").args(["-shared", "-fPIC", "-O2", "-o"]).arg(&so).arg(&src), "gcc (no-op agent)")
        .map_err(|e| format!("no-op agent: {e}"))?;
    Ok(so)
}
