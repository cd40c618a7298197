//! The properties the rewriter's fuzz target (`native/fuzz/`) checks on every input, kept
//! here so that the replay of past failures (`native/tests/fuzz_corpus.rs`) judges them the
//! same way, with a normal `cargo test`.
//!
//! An input is one plan byte (how the methods are hooked, see [`hooks_for`]) followed by a
//! class file. For any input the reader and rewriter must not panic; for a class the reader
//! accepts, a rewritten class must re-parse, keep its summary, and leave every method it did
//! not rewrite (skipped ones included) byte for byte as it was. How much memory a check may
//! take is [`allocation_limit`]; the harness measures it (it owns the global allocator).

use super::{instrument, methods_code, parse, Capture, ClassInfo, CodeInfo, EntryCall, ExitCall, MethodHook};

/// Inputs above this are not checked: class files of real code stay far below it (the
/// largest of the JDK is about 240 KiB), and a cap keeps every check quick.
pub const MAX_INPUT: usize = 512 * 1024;

/// Most a check may allocate at once, beyond what was allocated before it: proportional to
/// the input, plus a fixed allowance for the pool builder's tables and small vectors. A
/// count read from the input must never reserve memory the input cannot back.
pub fn allocation_limit(input_len: usize) -> usize {
    (256 << 10) + 64 * input_len
}

/// Checks every property on one input; `Err` names the one broken. A panic inside the
/// reader or rewriter is a failure too (it propagates).
pub fn check(input: &[u8]) -> Result<(), String> {
    let Some((&plan, class)) = input.split_first() else { return Ok(()) };
    if class.len() > MAX_INPUT {
        return Ok(());
    }
    let info = parse(class);
    let before = methods_code(class);
    let hooks = match &info {
        Ok(info) => hooks_for(plan, info),
        // The rewriter parses on its own: give it methods to look for all the same.
        Err(_) => (0..4).map(|i| MethodHook::entry(i, i as i32, false)).collect(),
    };
    let rewritten = instrument(class, &hooks);
    let (Ok(info), Ok(rewritten)) = (info, rewritten) else { return Ok(()) };

    match instrument(class, &[]) {
        Ok(same) if same.bytes == class => {}
        Ok(_) => return Err("with nothing hooked, the output differs from the input".into()),
        Err(e) => return Err(format!("the rewriter refuses with nothing hooked but not with hooks: {e}")),
    }
    let again = parse(&rewritten.bytes).map_err(|e| format!("the rewritten class does not re-parse: {e}"))?;
    if (&again.name, &again.super_name, &again.interfaces, again.major, again.minor, again.access)
        != (&info.name, &info.super_name, &info.interfaces, info.major, info.minor, info.access)
    {
        return Err("the rewritten class's summary changed".into());
    }
    if again.methods.len() != info.methods.len() {
        return Err("the rewritten class has another number of methods".into());
    }
    let changed: Vec<usize> = rewritten.offsets.iter().map(|(i, _)| *i).collect();
    for (i, (a, b)) in info.methods.iter().zip(&again.methods).enumerate() {
        if (&a.name, &a.descriptor, a.access) != (&b.name, &b.descriptor, b.access) {
            return Err(format!("method {i} changed its name, descriptor or access"));
        }
        // Every hook of a method is either applied or listed as skipped: the first one or
        // none is applied, every later one is skipped as a second hook.
        let hooked = hooks.iter().filter(|h| h.method_index == i).count();
        let skipped = rewritten.skipped.iter().filter(|(s, _)| *s == i).count();
        let applied = usize::from(changed.contains(&i));
        if applied + skipped != hooked {
            return Err(format!("method {i}: hooked {hooked} times, rewritten {applied}, skipped {skipped}"));
        }
        if b.code_length.is_some_and(|l| l > 65535) {
            return Err(format!("method {i} has {} bytes of code", b.code_length.unwrap_or(0)));
        }
    }
    let mut seen = changed.clone();
    seen.sort_unstable();
    seen.dedup();
    if seen.len() != changed.len() {
        return Err("a method is listed twice among the rewritten ones".into());
    }
    // Methods left alone keep every byte of their Code attribute (only its place moves, with
    // the grown constant pool): nothing is ever half rewritten.
    if let Ok(before) = before {
        let after = methods_code(&rewritten.bytes)
            .map_err(|e| format!("the rewritten class's code no longer reads (the original did): {e}"))?;
        for (i, (a, b)) in before.iter().zip(&after).enumerate() {
            if changed.contains(&i) {
                continue;
            }
            let placeless = |c: &Option<CodeInfo>| c.clone().map(|c| CodeInfo { code_offset: 0, ..c });
            if placeless(a) != placeless(b) {
                return Err(format!("method {i} was not rewritten, yet its code changed"));
            }
        }
    }
    Ok(())
}

/// The hooks an input's plan byte asks for, one per method (the rotation of the byte by the
/// method's index when bit 7 is set, so one class mixes shapes):
/// bits 0-1: entry only (classic), entry with operands, exit only, entry and exit;
/// bit 2: the entry call may return (return faults), or the exit call also sees exceptions;
/// bit 3: operands boxed (arguments 0, 1 and 2) rather than typed slots (0 and 1);
/// bit 4: the receiver too; bit 5: the guarded hook; bit 6: sites outside `sipush`'s range,
/// and two hooks the rewriter must skip (a method hooked twice, an index past the end).
pub fn hooks_for(plan: u8, info: &ClassInfo) -> Vec<MethodHook> {
    let mut hooks: Vec<MethodHook> = (0..info.methods.len())
        .map(|i| {
            let p = if plan & 0x80 != 0 { plan.rotate_left((i % 8) as u32) } else { plan };
            let capture = Capture { this: p & 0x10 != 0, args: if p & 0x08 != 0 { vec![0, 1, 2] } else { vec![0, 1] } };
            let either = p & 0x04 != 0;
            let entry = Some(EntryCall { capture: capture.clone(), returns: either });
            let exit = Some(ExitCall { capture, thrown: either });
            let (entry, exit) = match p & 0x03 {
                0 => (Some(EntryCall::default()), None),
                1 => (entry, None),
                2 => (None, exit),
                _ => (entry, exit),
            };
            let site = if p & 0x40 != 0 { 40_000 + i as i32 } else { i as i32 };
            MethodHook { method_index: i, site, guarded: p & 0x20 != 0, entry, exit }
        })
        .collect();
    if plan & 0x40 != 0 {
        if let Some(first) = hooks.first().cloned() {
            hooks.push(first);
        }
        hooks.push(MethodHook::entry(info.methods.len(), 1, false));
    }
    hooks
}
