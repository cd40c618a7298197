//! Where an injected exception will be caught: the exception handlers of one method that
//! cover a bytecode index of its running code. A live JVM offers no exception-catch events,
//! so the hook walks the thrower's stack and asks this for each frame.

use std::sync::Mutex;

use super::sites::Sites;
use crate::classfile;
use crate::sync::Locked;

/// Handlers of `method` in `class_file` that cover `bci`, in table order, as `catchType|line`
/// strings (`catchType` empty for finally and catch-all handlers); None when the class file
/// cannot be read or has no such method. The bci is that of the running code: for a method
/// that carries our prologue, it is shifted back first.
pub fn covering(
    sites: &Mutex<Sites>,
    class_file: &[u8],
    method: &str,
    descriptor: &str,
    bci: i32,
) -> Option<Vec<String>> {
    let info = classfile::parse(class_file).ok()?;
    let table = classfile::exception_handlers(class_file, method, descriptor).ok()??;
    let mut pc = bci.max(0) as u32;
    {
        let sites = sites.locked();
        if let Some(site) = sites.site_of(&info.name, method, descriptor) {
            if let Some(map) = sites.instrumented.get(&site) {
                pc = map.original(pc);
            }
        }
    }
    let covering = table
        .handlers
        .iter()
        .filter(|h| u32::from(h.start_pc) <= pc && pc < u32::from(h.end_pc))
        .map(|h| {
            let line = table.line_at(h.handler_pc).map(|l| l.to_string()).unwrap_or_else(|| "?".into());
            format!("{}|{}", h.catch_type.as_deref().unwrap_or(""), line)
        })
        .collect();
    Some(covering)
}
