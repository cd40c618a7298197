//! StackMapTable decoding and re-encoding (JVMS 4.7.4).
//!
//! Frames are decoded into a small structure and re-encoded; a frame that is
//! not changed re-encodes to exactly its original bytes (the frame type byte
//! is kept, extended forms are never compressed), so only what the prologue
//! moves differs in the output.

use super::reader::Reader;
use super::ClassFileError;

type Result<T> = std::result::Result<T, ClassFileError>;

/// A verification type (JVMS 4.7.4 `verification_type_info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VType {
    /// Top, Integer, Float, Double, Long, Null, UninitializedThis (tags 0..=6).
    Simple(u8),
    /// Tag 7 with a constant pool Class index.
    Object(u16),
    /// Tag 8 with the offset of the `new` instruction that created the value.
    Uninitialized(u16),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawFrame {
    pub(crate) frame_type: u8,
    pub(crate) delta: u16,
    /// Appended locals for append frames, all locals for full frames.
    pub(crate) locals: Vec<VType>,
    pub(crate) stack: Vec<VType>,
}

/// Decodes a whole StackMapTable attribute body; it must be consumed exactly.
pub(crate) fn decode(body: &[u8]) -> Result<Vec<RawFrame>> {
    let mut r = Reader::at(body, 0);
    let n = r.u2()?;
    let mut frames = Vec::with_capacity(r.capacity(n as usize, 1));
    for _ in 0..n {
        let frame_type = r.u1()?;
        let frame = match frame_type {
            0..=63 => RawFrame { frame_type, delta: frame_type as u16, locals: vec![], stack: vec![] },
            64..=127 => {
                RawFrame { frame_type, delta: frame_type as u16 - 64, locals: vec![], stack: vec![vtype(&mut r)?] }
            }
            128..=246 => return Err(ClassFileError::BadStackMapFrame { frame_type }),
            247 => {
                let delta = r.u2()?;
                RawFrame { frame_type, delta, locals: vec![], stack: vec![vtype(&mut r)?] }
            }
            // chop_frame (248..=250) and same_frame_extended (251)
            248..=251 => RawFrame { frame_type, delta: r.u2()?, locals: vec![], stack: vec![] },
            252..=254 => {
                let delta = r.u2()?;
                let locals = (0..frame_type - 251).map(|_| vtype(&mut r)).collect::<Result<_>>()?;
                RawFrame { frame_type, delta, locals, stack: vec![] }
            }
            255 => {
                let delta = r.u2()?;
                let nl = r.u2()?;
                let locals = (0..nl).map(|_| vtype(&mut r)).collect::<Result<_>>()?;
                let ns = r.u2()?;
                let stack = (0..ns).map(|_| vtype(&mut r)).collect::<Result<_>>()?;
                RawFrame { frame_type, delta, locals, stack }
            }
        };
        frames.push(frame);
    }
    if r.pos() != body.len() {
        return Err(ClassFileError::Malformed("StackMapTable length disagrees with its frames".into()));
    }
    Ok(frames)
}

fn vtype(r: &mut Reader<'_>) -> Result<VType> {
    match r.u1()? {
        tag @ 0..=6 => Ok(VType::Simple(tag)),
        7 => Ok(VType::Object(r.u2()?)),
        8 => Ok(VType::Uninitialized(r.u2()?)),
        tag => Err(ClassFileError::BadVerificationType { tag }),
    }
}

/// Re-encodes `frames` after moving all code by `by` bytes: the first frame's
/// offset_delta grows (later deltas are relative to the previous frame and
/// stay) and every Uninitialized offset grows. The inner `Err` is a reason to
/// skip the method (an offset would not fit in a u2).
pub(crate) fn shift(body: &[u8], by: u16) -> Result<std::result::Result<Vec<u8>, String>> {
    let mut frames = decode(body)?;
    for (i, f) in frames.iter_mut().enumerate() {
        if i == 0 {
            match f.delta.checked_add(by) {
                Some(d) => f.delta = d,
                None => return Ok(Err("first StackMapTable frame offset overflows".into())),
            }
        }
        for v in f.locals.iter_mut().chain(f.stack.iter_mut()) {
            if let VType::Uninitialized(o) = v {
                match o.checked_add(by) {
                    Some(n) => *o = n,
                    None => return Ok(Err("Uninitialized offset overflows".into())),
                }
            }
        }
    }
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&(frames.len() as u16).to_be_bytes());
    for f in &frames {
        encode(f, &mut out);
    }
    Ok(Ok(out))
}

/// A StackMapTable attribute body holding `frames`.
pub(crate) fn encode_all(frames: &[RawFrame]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + frames.len() * 4);
    out.extend_from_slice(&(frames.len() as u16).to_be_bytes());
    for f in frames {
        encode(f, &mut out);
    }
    out
}

fn encode(f: &RawFrame, out: &mut Vec<u8>) {
    match f.frame_type {
        // The compact forms only hold deltas up to 63; beyond that the
        // extended form with a u2 delta says the same thing.
        0..=63 => {
            if f.delta <= 63 {
                out.push(f.delta as u8);
            } else {
                out.push(251);
                out.extend_from_slice(&f.delta.to_be_bytes());
            }
        }
        64..=127 => {
            if f.delta <= 63 {
                out.push(64 + f.delta as u8);
            } else {
                out.push(247);
                out.extend_from_slice(&f.delta.to_be_bytes());
            }
            f.stack.iter().for_each(|v| put_vtype(*v, out));
        }
        255 => {
            out.push(255);
            out.extend_from_slice(&f.delta.to_be_bytes());
            out.extend_from_slice(&(f.locals.len() as u16).to_be_bytes());
            f.locals.iter().for_each(|v| put_vtype(*v, out));
            out.extend_from_slice(&(f.stack.len() as u16).to_be_bytes());
            f.stack.iter().for_each(|v| put_vtype(*v, out));
        }
        // 247, chop, same_frame_extended, append: type byte, u2 delta, then
        // the stack item (247) or appended locals (252..=254).
        t => {
            out.push(t);
            out.extend_from_slice(&f.delta.to_be_bytes());
            f.stack.iter().for_each(|v| put_vtype(*v, out));
            f.locals.iter().for_each(|v| put_vtype(*v, out));
        }
    }
}

fn put_vtype(v: VType, out: &mut Vec<u8>) {
    match v {
        VType::Simple(tag) => out.push(tag),
        VType::Object(i) => {
            out.push(7);
            out.extend_from_slice(&i.to_be_bytes());
        }
        VType::Uninitialized(o) => {
            out.push(8);
            out.extend_from_slice(&o.to_be_bytes());
        }
    }
}
