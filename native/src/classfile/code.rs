//! Bytecode as instructions: decoding lengths and branch targets (JVMS 6.5), and moving
//! code apart to insert bytes before chosen instructions. Everything that holds a code
//! offset is then mapped: branch and switch offsets (switch padding recomputed), the
//! exception table, line and local-variable tables, StackMapTable frames and their
//! `Uninitialized` offsets.
//!
//! Inserted code is never covered by the method's own exception handlers: a handler range
//! that spans an insertion is split around it, so an exception thrown by inserted code
//! (an exit fault's) leaves the method as the caller would see it.

use std::collections::HashMap;

use super::stackmap::{RawFrame, VType};
use super::ClassFileError;

type Result<T> = std::result::Result<T, ClassFileError>;

/// One instruction of the original code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Instr {
    pub(crate) offset: u32,
    pub(crate) len: u32,
    pub(crate) opcode: u8,
}

/// Decodes `code` into instructions; an unknown opcode or a truncated instruction is an
/// error (the JVM would have refused the class).
pub(crate) fn decode(code: &[u8]) -> Result<Vec<Instr>> {
    let mut out = Vec::new();
    let mut pc = 0usize;
    while pc < code.len() {
        let opcode = code[pc];
        let len = instr_len(code, pc)?;
        if pc + len > code.len() {
            return Err(ClassFileError::Malformed(format!("instruction at {pc} runs past the end of the code")));
        }
        out.push(Instr { offset: pc as u32, len: len as u32, opcode });
        pc += len;
    }
    Ok(out)
}

fn instr_len(code: &[u8], pc: usize) -> Result<usize> {
    let op = code[pc];
    let len = match op {
        0x10 | 0x12 | 0x15..=0x19 | 0x36..=0x3a | 0xa9 | 0xbc => 2,
        0x11 | 0x13 | 0x14 | 0x84 | 0x99..=0xa8 | 0xb2..=0xb8 | 0xbb | 0xbd | 0xc0 | 0xc1 | 0xc6 | 0xc7 => 3,
        0xc5 => 4,
        0xb9 | 0xba | 0xc8 | 0xc9 => 5,
        0xc4 => match code.get(pc + 1) {
            Some(0x84) => 6,
            Some(0x15..=0x19 | 0x36..=0x3a | 0xa9) => 4,
            Some(other) => {
                return Err(ClassFileError::Malformed(format!("wide prefix before opcode {other:#04x} at {pc}")))
            }
            None => return Err(ClassFileError::Truncated { offset: pc, wanted: 2 }),
        },
        0xaa | 0xab => {
            let pad = (4 - (pc + 1) % 4) % 4;
            let base = pc + 1 + pad;
            let word = |i: usize| -> Result<i32> {
                let at = base + 4 * i;
                code.get(at..at + 4)
                    .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                    .ok_or(ClassFileError::Truncated { offset: at, wanted: 4 })
            };
            if op == 0xaa {
                let (low, high) = (word(1)?, word(2)?);
                if high < low {
                    return Err(ClassFileError::Malformed(format!("tableswitch at {pc} with high < low")));
                }
                1 + pad + 12 + 4 * ((high as i64 - low as i64 + 1) as usize)
            } else {
                let n = word(1)?;
                if n < 0 {
                    return Err(ClassFileError::Malformed(format!("lookupswitch at {pc} with {n} pairs")));
                }
                1 + pad + 8 + 8 * n as usize
            }
        }
        0x00..=0xc9 => 1,
        other => return Err(ClassFileError::Malformed(format!("unknown opcode {other:#04x} at {pc}"))),
    };
    Ok(len)
}

/// Local variable slots the code writes (stores and `iinc`), for telling whether a
/// parameter still holds its value at a return.
pub(crate) fn written_slots(code: &[u8], instrs: &[Instr]) -> std::collections::BTreeSet<u16> {
    let mut out = std::collections::BTreeSet::new();
    for i in instrs {
        let at = i.offset as usize;
        let (slot, wide_value) = match i.opcode {
            0x36 | 0x3a | 0x38 | 0x84 => (Some(code[at + 1] as u16), false),
            0x37 | 0x39 => (Some(code[at + 1] as u16), true),
            0x3b..=0x3e => (Some((i.opcode - 0x3b) as u16), false), // istore_n
            0x3f..=0x42 => (Some((i.opcode - 0x3f) as u16), true),  // lstore_n
            0x43..=0x46 => (Some((i.opcode - 0x43) as u16), false), // fstore_n
            0x47..=0x4a => (Some((i.opcode - 0x47) as u16), true),  // dstore_n
            0x4b..=0x4e => (Some((i.opcode - 0x4b) as u16), false), // astore_n
            0xc4 => {
                let index = u16::from_be_bytes([code[at + 2], code[at + 3]]);
                match code[at + 1] {
                    0x36 | 0x38 | 0x3a | 0x84 => (Some(index), false),
                    0x37 | 0x39 => (Some(index), true),
                    _ => (None, false),
                }
            }
            _ => (None, false),
        };
        if let Some(slot) = slot {
            out.insert(slot);
            // A long or double in the last slot (65535) is malformed; the JVM refuses it.
            if let Some(next) = slot.checked_add(1).filter(|_| wide_value) {
                out.insert(next);
            }
        }
    }
    out
}

/// Code to insert before the instruction at `before` (an original offset).
#[derive(Debug, Clone)]
pub(crate) struct Insertion {
    pub(crate) before: u32,
    pub(crate) bytes: Vec<u8>,
    /// Branches to `before` land on the inserted code (exit code before a return) rather
    /// than on the instruction after it (a prologue: a loop back to offset 0 skips it).
    pub(crate) branches_enter: bool,
    /// StackMapTable frames inside the inserted code: (offset in `bytes`, frame with
    /// `frame_type` 255 and full locals and stack; re-encoded as needed).
    pub(crate) frames: Vec<(u32, FullFrame)>,
}

/// A frame given in full: every local and every stack item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FullFrame {
    /// None: the locals of the method's implicit initial frame.
    pub(crate) locals: Option<Vec<VType>>,
    pub(crate) stack: Vec<VType>,
}

/// The new code with its old-to-new offset mapping.
pub(crate) struct Relocated {
    pub(crate) code: Vec<u8>,
    /// New offset of each original instruction, by index in the decoded list.
    new_offsets: Vec<u32>,
    /// Where each insertion starts in the new code, by original offset.
    insertion_starts: HashMap<u32, u32>,
    /// Where branches to an original offset land, for insertions that take branches.
    landing: HashMap<u32, u32>,
    instrs: Vec<Instr>,
    old_len: u32,
    new_len: u32,
    /// Inserted frames, at new offsets, in order.
    inserted_frames: Vec<(u32, FullFrame)>,
    /// `(new offset, old offset)` wherever the shift between old and new code changes.
    pub(crate) breakpoints: Vec<(u32, u32)>,
}

/// Lays out `code` with `insertions` (at most one per offset, each at an instruction start)
/// and re-encodes every branch and switch. The inner `Err` is a reason to leave the method
/// alone (a branch that no longer fits its offset, code over 64 KiB).
pub(crate) fn relocate(
    code: &[u8],
    instrs: Vec<Instr>,
    insertions: &[Insertion],
) -> Result<std::result::Result<Relocated, String>> {
    let mut by_offset: HashMap<u32, &Insertion> = HashMap::new();
    for ins in insertions {
        if instrs.binary_search_by_key(&ins.before, |i| i.offset).is_err() {
            return Err(ClassFileError::Malformed(format!("insertion at {} is not at an instruction", ins.before)));
        }
        by_offset.insert(ins.before, ins);
    }
    // Pass 1: new offsets (a switch's padding depends on where it lands).
    let mut new_offsets = Vec::with_capacity(instrs.len());
    let mut insertion_starts = HashMap::new();
    let mut landing = HashMap::new();
    let mut inserted_frames = Vec::new();
    let mut breakpoints: Vec<(u32, u32)> = Vec::new();
    let mut pos: u64 = 0;
    for ins in &instrs {
        if let Some(insertion) = by_offset.get(&ins.offset) {
            insertion_starts.insert(ins.offset, pos as u32);
            if insertion.branches_enter {
                landing.insert(ins.offset, pos as u32);
            }
            for (rel, frame) in &insertion.frames {
                inserted_frames.push((pos as u32 + rel, frame.clone()));
            }
            pos += insertion.bytes.len() as u64;
        }
        let shift = pos as i64 - ins.offset as i64;
        if breakpoints.last().is_none_or(|&(n, o)| n as i64 - o as i64 != shift) {
            breakpoints.push((pos as u32, ins.offset));
        }
        new_offsets.push(pos as u32);
        pos += new_len(ins, pos as u32) as u64;
    }
    if pos > 65535 {
        return Ok(Err(format!("code_length would be {pos} with the inserted calls; the limit is 65535")));
    }
    let mut relocated = Relocated {
        code: Vec::new(),
        new_offsets,
        insertion_starts,
        landing,
        instrs,
        old_len: code.len() as u32,
        new_len: pos as u32,
        inserted_frames,
        breakpoints,
    };
    // Pass 2: emit.
    let mut out = Vec::with_capacity(pos as usize);
    for (index, ins) in relocated.instrs.iter().enumerate() {
        if let Some(insertion) = by_offset.get(&ins.offset) {
            out.extend_from_slice(&insertion.bytes);
        }
        let at = ins.offset as usize;
        let here = relocated.new_offsets[index] as i64;
        let target = |old: i64| -> Result<i64> {
            relocated
                .branch_target(old)
                .map(i64::from)
                .ok_or_else(|| ClassFileError::Malformed(format!("a jump at {at} lands outside the instructions")))
        };
        match ins.opcode {
            0x99..=0xa8 | 0xc6 | 0xc7 => {
                let rel = i16::from_be_bytes([code[at + 1], code[at + 2]]) as i64;
                let t = target(at as i64 + rel)?;
                let Ok(rel) = i16::try_from(t - here) else {
                    return Ok(Err(format!("a branch at {at} would no longer reach its target")));
                };
                out.push(ins.opcode);
                out.extend_from_slice(&rel.to_be_bytes());
            }
            0xc8 | 0xc9 => {
                let rel = i32::from_be_bytes([code[at + 1], code[at + 2], code[at + 3], code[at + 4]]) as i64;
                let t = target(at as i64 + rel)?;
                out.push(ins.opcode);
                out.extend_from_slice(&((t - here) as i32).to_be_bytes());
            }
            0xaa | 0xab => {
                let old_pad = (4 - (at + 1) % 4) % 4;
                let new_pad = (4 - (here as usize + 1) % 4) % 4;
                out.push(ins.opcode);
                out.extend(std::iter::repeat_n(0u8, new_pad));
                let body = &code[at + 1 + old_pad..at + ins.len as usize];
                let mut words: Vec<i32> =
                    body.chunks_exact(4).map(|w| i32::from_be_bytes([w[0], w[1], w[2], w[3]])).collect();
                // The offsets: tableswitch: default, then the jump table after low and high;
                // lookupswitch: default, then the second word of every (match, offset) pair.
                let offset_words: Vec<usize> = if ins.opcode == 0xaa {
                    std::iter::once(0).chain(3..words.len()).collect()
                } else {
                    std::iter::once(0).chain((3..words.len()).step_by(2)).collect()
                };
                for i in offset_words {
                    words[i] = (target(at as i64 + words[i] as i64)? - here) as i32;
                }
                for w in words {
                    out.extend_from_slice(&w.to_be_bytes());
                }
            }
            _ => out.extend_from_slice(&code[at..at + ins.len as usize]),
        }
    }
    relocated.code = out;
    Ok(Ok(relocated))
}

/// Length of an instruction once placed at `new_offset` (only switches change).
fn new_len(ins: &Instr, new_offset: u32) -> u32 {
    match ins.opcode {
        0xaa | 0xab => {
            let old_pad = (4 - (ins.offset + 1) % 4) % 4;
            let new_pad = (4 - (new_offset + 1) % 4) % 4;
            ins.len - old_pad + new_pad
        }
        _ => ins.len,
    }
}

impl Relocated {
    fn index_of(&self, old: u32) -> Option<usize> {
        self.instrs.binary_search_by_key(&old, |i| i.offset).ok()
    }

    /// New offset of the original instruction at `old` (after any insertion before it); the
    /// code's end maps to the new end.
    pub(crate) fn after_insertion(&self, old: u32) -> Option<u32> {
        if old == self.old_len {
            return Some(self.new_len);
        }
        self.index_of(old).map(|i| self.new_offsets[i])
    }

    /// New offset of what now stands at `old`: the insertion before it, if any.
    pub(crate) fn before_insertion(&self, old: u32) -> Option<u32> {
        match self.insertion_starts.get(&old) {
            Some(start) => Some(*start),
            None => self.after_insertion(old),
        }
    }

    /// Where a jump to the original offset `old` lands: on code inserted there when that
    /// insertion takes branches, else on the original instruction.
    fn branch_target(&self, old: i64) -> Option<u32> {
        let old = u32::try_from(old).ok()?;
        self.index_of(old)?;
        Some(self.landing.get(&old).copied().unwrap_or(self.new_offsets[self.index_of(old)?]))
    }

    /// The exception table for the new code: handlers move with their instruction, and a
    /// range is cut around any code inserted inside it (and begins after code inserted at
    /// its start), so the method's own handlers never see what inserted code throws.
    pub(crate) fn handlers(&self, handlers: &[[u16; 4]]) -> Result<Vec<[u16; 4]>> {
        let bad = |what: &str| ClassFileError::Malformed(format!("exception table {what} is not an instruction"));
        let mut out = Vec::with_capacity(handlers.len());
        for &[start, end, handler, catch] in handlers {
            let h = self.after_insertion(handler as u32).ok_or_else(|| bad("handler"))?;
            let first = self.index_of(start as u32).ok_or_else(|| bad("start"))?;
            if end as u32 != self.old_len && self.index_of(end as u32).is_none() {
                return Err(bad("end"));
            }
            let mut open: Option<u32> = None;
            for i in first..self.instrs.len() {
                let ins = &self.instrs[i];
                if ins.offset >= end as u32 {
                    break;
                }
                if i != first && self.insertion_starts.contains_key(&ins.offset) {
                    if let Some(s) = open.take() {
                        out.push([s as u16, self.insertion_starts[&ins.offset] as u16, h as u16, catch]);
                    }
                }
                if open.is_none() {
                    open = Some(self.new_offsets[i]);
                }
            }
            if let Some(s) = open {
                let e = self.before_insertion(end as u32).ok_or_else(|| bad("end"))?;
                out.push([s as u16, e as u16, h as u16, catch]);
            }
        }
        Ok(out)
    }

    /// StackMapTable frames at their new offsets, with the inserted ones, re-encoded.
    /// Frames given in [`FullFrame`] with the implicit locals may only come before every
    /// original frame (they are written relative to the initial frame).
    pub(crate) fn frames(&self, frames: Vec<RawFrame>) -> Result<std::result::Result<Vec<RawFrame>, String>> {
        let mut placed: Vec<(u32, RawFrame)> = Vec::with_capacity(frames.len() + self.inserted_frames.len());
        let mut absolute: i64 = -1;
        for f in frames {
            absolute += f.delta as i64 + 1;
            let old = u32::try_from(absolute).map_err(|_| ClassFileError::Malformed("frame offset".into()))?;
            let new = self.landing.get(&old).copied().or_else(|| self.after_insertion(old)).ok_or_else(|| {
                ClassFileError::Malformed(format!("StackMapTable frame at {old} is not an instruction"))
            })?;
            let mut f = f;
            for v in f.locals.iter_mut().chain(f.stack.iter_mut()) {
                if let VType::Uninitialized(o) = v {
                    match self.after_insertion(*o as u32) {
                        Some(n) => *o = n as u16,
                        None => {
                            return Err(ClassFileError::Malformed(format!("Uninitialized({o}) is not an instruction")))
                        }
                    }
                }
            }
            placed.push((new, f));
        }
        let first_original = placed.first().map(|(o, _)| *o);
        for (at, frame) in &self.inserted_frames {
            if frame.locals.is_some() || first_original.is_some_and(|first| first <= *at) {
                return Ok(Err("an inserted frame would follow the method's own frames".into()));
            }
            let frame_type = if frame.stack.is_empty() { 0 } else { 64 };
            placed.push((*at, RawFrame { frame_type, delta: 0, locals: vec![], stack: frame.stack.clone() }));
        }
        placed.sort_by_key(|(o, _)| *o);
        let mut out = Vec::with_capacity(placed.len());
        let mut previous: i64 = -1;
        for (at, mut f) in placed {
            let delta = at as i64 - previous - 1;
            if delta < 0 {
                return Ok(Err(format!("two StackMapTable frames at offset {at}")));
            }
            f.delta = u16::try_from(delta).map_err(|_| ClassFileError::Malformed("frame delta".into()))?;
            previous = at as i64;
            out.push(f);
        }
        Ok(Ok(out))
    }

    /// The original offset of a bytecode index in the new code (for catch-site lookups).
    pub(crate) fn old_offset(breakpoints: &[(u32, u32)], pc: u32) -> u32 {
        match breakpoints.iter().rev().find(|(new, _)| *new <= pc) {
            Some(&(new, old)) => old + (pc - new),
            None => pc,
        }
    }
}

/// Appends a full frame at `at` (after every frame in `frames`, which are delta-encoded)
/// with no locals (all Top: assignable from any state) and the given stack: the frame of a
/// handler placed after the method's code.
pub(crate) fn append_full_frame(frames: &mut Vec<RawFrame>, at: u32, stack: Vec<VType>) {
    let last: i64 = frames.iter().fold(-1, |pos, f| pos + f.delta as i64 + 1);
    let delta = (at as i64 - last - 1).max(0) as u16;
    frames.push(RawFrame { frame_type: 255, delta, locals: vec![], stack });
}
