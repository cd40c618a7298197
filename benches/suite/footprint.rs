//! Row 7: footprint.

use std::process::Command;
use std::time::Duration;

use faultline_bench::attach::{self, FreshJvm};
use faultline_bench::{env_num, JVM_FLAGS};
use serde_json::json;

use crate::harness::{fail, fmt_stat, guarded, last_or_dash, row, run_timed_rss, short, stat, vm_rss_kib, write, Ctx};

pub(crate) fn measure(ctx: &mut Ctx) {
    let runs = env_num("FAULTLINE_SUITE_FOOTPRINT_RUNS", 3).max(1) as usize;
    let classes = attach::compile_target();
    let rules = ctx.scratch.join("footprint.btm");
    write(
        &rules,
        "RULE footprint\nCLASS attachbench.Target\nMETHOD first\nAT ENTRY\nIF java.lang.System.nanoTime() == 42L\n\
         DO throw new java.lang.IllegalStateException(\"never\")\nENDRULE\n",
    );
    let settle = Duration::from_millis(1000);
    let (mut fl_rss, mut fl_cli, mut bm_rss, mut bm_cli) = (vec![], vec![], vec![], vec![]);
    let mut fl_fp_err: Vec<String> = vec![];
    let mut bm_err = ctx.byteman.as_ref().err().cloned();
    for run in 0..runs {
        let r = guarded("faultline", || {
            let jvm = FreshJvm::start(&classes, &JVM_FLAGS);
            let before = vm_rss_kib(&jvm.pid).ok_or("no VmRSS")?;
            let mut cmd = Command::new(&ctx.cli);
            cmd.args([
                "inject",
                &jvm.pid,
                "exception",
                "--target",
                "attachbench.Target#first",
                "--probability",
                "0",
                "--throw",
                "java.lang.IllegalStateException",
            ]);
            let (_, peak) = run_timed_rss(ctx, cmd, "faultline inject")?;
            std::thread::sleep(settle);
            let after = vm_rss_kib(&jvm.pid).ok_or("no VmRSS")?;
            Ok((after as f64 - before as f64, peak))
        });
        let (d, peak) = match r {
            Ok(v) => v,
            Err(e) => {
                eprintln!("  run {}: faultline failed: {e}", run + 1);
                fl_fp_err.push(e);
                continue;
            }
        };
        fl_rss.push(d / 1024.0);
        if let Some(p) = peak {
            fl_cli.push(p as f64 / 1024.0);
        }
        if bm_err.is_none() {
            let bm = ctx.byteman.as_ref().unwrap();
            let port = 19700 + run as u16;
            let r = guarded("byteman", || {
                let jvm = FreshJvm::start(&classes, &JVM_FLAGS);
                let before = vm_rss_kib(&jvm.pid).ok_or("no VmRSS")?;
                let (_, p1) = run_timed_rss(ctx, bm.install_cmd(&ctx.java, &jvm.pid, port), "Byteman Install")?;
                let (_, p2) = run_timed_rss(ctx, bm.submit_cmd(&ctx.java, port, &rules), "Byteman Submit")?;
                std::thread::sleep(settle);
                let after = vm_rss_kib(&jvm.pid).ok_or("no VmRSS")?;
                Ok((after as f64 - before as f64, p1.zip(p2).map(|(a, b)| a.max(b))))
            });
            match r {
                Ok((d, peak)) => {
                    bm_rss.push(d / 1024.0);
                    if let Some(p) = peak {
                        bm_cli.push(p as f64 / 1024.0);
                    }
                }
                Err(e) => bm_err = Some(e),
            }
        }
        eprintln!(
            "  run {}/{runs}: target RSS added: faultline {:.1} MiB, Byteman {} MiB; tool peak RSS: faultline {} MiB, Byteman {} MiB",
            run + 1,
            d / 1024.0,
            last_or_dash(&bm_rss),
            last_or_dash(&fl_cli),
            last_or_dash(&bm_cli),
        );
    }
    if fl_rss.is_empty() {
        fail(&format!("faultline failed in every footprint run: {fl_fp_err:?}"));
    }
    let _ = std::fs::remove_dir_all(&classes);
    let f = stat(&fl_rss);
    let bm_ok = bm_err.is_none() && !bm_rss.is_empty();
    ctx.rows.push(if bm_ok {
        let b = stat(&bm_rss);
        row(
            "7 target RSS added by one armed fault",
            fmt_stat(f, 1, "MiB"),
            format!("Byteman {:.1} [{:.1}..{:.1}] MiB", b.med, b.min, b.max),
            format!("{:.1}x less (worst run {:.1}x)", b.med / f.med.max(0.01), b.min / f.max.max(0.01)),
            "less than Byteman, every run",
            Some(f.max < b.min),
        )
    } else {
        row(
            "7 target RSS added by one armed fault",
            fmt_stat(f, 1, "MiB"),
            format!("n/a: {}", short(bm_err.as_deref().unwrap_or("?"))),
            "-".into(),
            "less than Byteman, every run",
            None,
        )
    });
    let cli_row = match (fl_cli.is_empty(), bm_ok && !bm_cli.is_empty()) {
        (true, _) => row(
            "7 CLI peak RSS",
            "n/a: no /usr/bin/time".into(),
            "-".into(),
            "-".into(),
            "less than Byteman, every run",
            None,
        ),
        (false, true) => {
            let (c, b) = (stat(&fl_cli), stat(&bm_cli));
            row(
                "7 CLI peak RSS (Byteman: Install/Submit)",
                fmt_stat(c, 1, "MiB"),
                format!("Byteman tools {:.1} MiB", b.med),
                format!("{:.1}x less (worst run {:.1}x)", b.med / c.med, b.min / c.max),
                "less than Byteman, every run",
                Some(c.max < b.min),
            )
        }
        (false, false) => row(
            "7 CLI peak RSS",
            fmt_stat(stat(&fl_cli), 1, "MiB"),
            format!("n/a: {}", short(bm_err.as_deref().unwrap_or("?"))),
            "-".into(),
            "less than Byteman, every run",
            None,
        ),
    };
    ctx.rows.push(cli_row);
    ctx.json.insert(
        "footprint".into(),
        json!({"runs": runs, "unit": "MiB", "settle_ms": settle.as_millis() as u64,
               "faultline_target_rss_added": fl_rss, "faultline_cli_peak_rss": fl_cli,
               "byteman_target_rss_added": bm_rss, "byteman_tools_peak_rss": bm_cli, "byteman_error": bm_err,
               "faultline_failures": fl_fp_err}),
    );
}
