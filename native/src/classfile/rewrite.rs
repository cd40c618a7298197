//! Inserting calls to the hook into methods.
//!
//! A method whose faults act on plain entry (no condition on its arguments, no return
//! value, nothing at exit) gets the classic prologue, and its code is otherwise copied
//! byte for byte (below). Every other plan (arguments captured for a condition, a return
//! fault that may end the call early, calls before every return instruction) decodes the
//! method's instructions and moves them apart with `code::relocate`. A method whose faults
//! must also know when a call ends by an exception (presets count nested calls) gets a
//! catch-all handler after its code: `Hook.thrown(t, site, guarded)`, then `athrow` of the
//! same exception, covering the original code only.
//!
//! The classic prologue is always 8 bytes:
//!
//! ```text
//! 0: sipush site        (or ldc_w #Integer(site) when site is outside 0..=32767)
//! 3: invokestatic #Methodref(io/faultline/boot/Hook.enter[Guarded](I)V)
//! 6: nop
//! 7: nop
//! ```
//!
//! Both push forms are 3 bytes, so the length never depends on the site. 8 is a
//! multiple of 4, which keeps `tableswitch`/`lookupswitch` padding (aligned to
//! the method start) valid; every branch offset is relative and stays valid.
//! The prologue does not branch and leaves the stack as it found it, so the
//! implicit initial frame still describes offset 8 and no StackMapTable frame
//! is added. In a constructor it runs before `super(...)`/`this(...)`, which is
//! legal because it does not touch the uninitialized `this` (JVMS 4.10.1.9).

use std::collections::HashMap;

use super::code::{self, FullFrame, Insertion, Relocated};
use super::reader::{Constant, RawClass, Reader};
use super::stackmap::{self, VType};
use super::{ClassFileError, HOOK_CLASS, HOOK_DESCRIPTOR, HOOK_ENTER, HOOK_ENTER_GUARDED};

type Result<T> = std::result::Result<T, ClassFileError>;

/// Length in bytes of every prologue [`instrument`] inserts.
pub const PROLOGUE_LEN: u16 = 8;

/// A request to hook one method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodHook {
    /// Index into [`super::ClassInfo::methods`] (class file order).
    pub method_index: usize,
    /// Value passed to the hook; meant to be >= 0 (negative values work too,
    /// through the `ldc_w` form).
    pub site: i32,
    /// Call the guarded hook (JDK methods: the hook itself runs JDK code).
    pub guarded: bool,
    /// The call at entry, if any.
    pub entry: Option<EntryCall>,
    /// Calls before every return instruction, if any.
    pub exit: Option<ExitCall>,
}

impl MethodHook {
    /// The classic hook: `Hook.enter(site)` at entry, nothing else.
    pub fn entry(method_index: usize, site: i32, guarded: bool) -> MethodHook {
        MethodHook { method_index, site, guarded, entry: Some(EntryCall::default()), exit: None }
    }

    /// Whether the classic 8-byte prologue does (the code is then copied as is).
    fn classic(&self) -> bool {
        self.exit.is_none() && self.entry.as_ref().is_some_and(|e| !e.returns && e.capture.is_empty())
    }
}

/// What the entry call passes and whether it may end the call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryCall {
    pub capture: Capture,
    /// The hook may return a value for the method to return at once (return faults).
    pub returns: bool,
}

/// What the exit calls pass besides the result (which always passes through the hook).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExitCall {
    pub capture: Capture,
    /// Also call the hook when the call ends by an exception (rethrown unchanged).
    pub thrown: bool,
}

/// Operands handed to the hook. `arg0` and `arg1` travel in typed slots (no boxing); any
/// later argument makes the call pass every operand boxed in an array.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capture {
    pub this: bool,
    /// Parameter indices, from 0.
    pub args: Vec<u16>,
}

impl Capture {
    pub fn is_empty(&self) -> bool {
        !self.this && self.args.is_empty()
    }

    fn boxed(&self) -> bool {
        self.args.iter().any(|a| *a > 1)
    }
}

/// Result of [`instrument`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instrumented {
    pub bytes: Vec<u8>,
    /// Bytes inserted at offset 0 of every method that got the classic prologue.
    pub prologue_len: u16,
    /// Methods left untouched, with the reason: `(method_index, why)`.
    pub skipped: Vec<(usize, String)>,
    /// How offsets moved in each rewritten method: `(method_index, breakpoints)`, see
    /// [`OffsetMap`].
    pub offsets: Vec<(usize, OffsetMap)>,
}

/// Where original bytecode offsets went in a rewritten method: `(new, old)` at each point
/// from which the shift changes. Maps the bytecode index of a running frame back to the
/// class file its loader holds (catch-site lookups).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OffsetMap(pub Vec<(u32, u32)>);

impl OffsetMap {
    /// The original offset of `pc` in the rewritten code.
    pub fn original(&self, pc: u32) -> u32 {
        Relocated::old_offset(&self.0, pc)
    }
}

/// Returns a copy of `bytes` in which every method named by `hooks` starts
/// with the hook prologue. See the module docs for the prologue and
/// [`rewrite_code`] for what changes inside the `Code` attribute. Methods that
/// cannot be hooked (no code, `<clinit>`, hooked twice, index out of range,
/// code would reach 64 KiB) are left untouched and listed in `skipped`.
/// With nothing hooked the output equals the input byte for byte.
pub fn instrument(bytes: &[u8], hooks: &[MethodHook]) -> Result<Instrumented> {
    let class = RawClass::parse(bytes)?;
    let mut pool = PoolBuilder::new(&class);
    let mut seen = vec![false; class.methods.len()];
    let mut skipped = Vec::new();
    let mut offsets = Vec::new();
    // (start, end, replacement) of Code attributes, spliced in afterwards.
    let mut replacements: Vec<(usize, usize, Vec<u8>)> = Vec::new();

    for hook in hooks {
        let idx = hook.method_index;
        let Some(method) = class.methods.get(idx) else {
            skipped.push((idx, format!("no method with index {idx} ({} methods)", class.methods.len())));
            continue;
        };
        if std::mem::replace(&mut seen[idx], true) {
            skipped.push((idx, "method hooked twice; only the first hook applies".into()));
            continue;
        }
        if class.utf8(method.name)? == "<clinit>" {
            skipped.push((idx, "static initializer <clinit> is not hooked".into()));
            continue;
        }
        let Some(span) = method.code else {
            skipped.push((idx, "no Code attribute (abstract or native method)".into()));
            continue;
        };
        if hook.entry.is_none() && hook.exit.is_none() {
            skipped.push((idx, "nothing to insert".into()));
            continue;
        }
        if !hook.classic() {
            let shape = Shape::of(class.utf8(method.descriptor)?, method.access, class.utf8(method.name)? == "<init>")?;
            // The pool is rolled back if the method turns out not to be rewritable.
            let saved = pool.mark();
            match relocate_code(&class, &span, hook, &shape, &mut pool)? {
                Ok((attr, map)) => {
                    replacements.push((span.start, span.end, attr));
                    offsets.push((idx, map));
                }
                Err(why) => {
                    pool.reset(saved);
                    skipped.push((idx, why));
                }
            }
            continue;
        }
        let (mut attr, prologue_at) = match rewrite_code(&class, &span)? {
            Ok(rewritten) => rewritten,
            Err(why) => {
                skipped.push((idx, why));
                continue;
            }
        };
        // Constants are allocated only once the method is known to be
        // rewritten, so skipping everything leaves the pool untouched.
        let prologue = pool.prologue(hook.site, hook.guarded)?;
        attr[prologue_at..prologue_at + PROLOGUE_LEN as usize].copy_from_slice(&prologue);
        replacements.push((span.start, span.end, attr));
        offsets.push((idx, OffsetMap(vec![(PROLOGUE_LEN as u32, 0)])));
    }

    replacements.sort_by_key(|r| r.0);
    let mut out = Vec::with_capacity(bytes.len() + pool.extra.len() + replacements.len() * 16);
    // magic, minor, major
    out.extend_from_slice(&bytes[..8]);
    out.extend_from_slice(&pool.count()?.to_be_bytes());
    // Original entries, then the appended ones: existing indices stay valid.
    out.extend_from_slice(&bytes[10..class.cp_end]);
    out.extend_from_slice(&pool.extra);
    let mut pos = class.cp_end;
    for (start, end, attr) in replacements {
        out.extend_from_slice(&bytes[pos..start]);
        out.extend_from_slice(&attr);
        pos = end;
    }
    out.extend_from_slice(&bytes[pos..]);
    Ok(Instrumented { bytes: out, prologue_len: PROLOGUE_LEN, skipped, offsets })
}

/// Builds the new `Code` attribute (header included) with `PROLOGUE_LEN`
/// placeholder bytes at offset 0 of the code; returns it with the position
/// of those bytes. The inner `Err` is a reason to skip the method.
///
/// Changes: code_length and the attribute length grow; max_stack is at least
/// 1 (the pushed site); exception ranges and handlers move; LineNumberTable
/// entries move except those at pc 0 (the prologue then reports the method's
/// first line); LocalVariable(Type)Table entries at pc 0 stay there and grow
/// (parameters remain in scope over the prologue), others move; the first
/// StackMapTable frame and every Uninitialized offset move; type annotations
/// on code are dropped (reflection never exposes them, only bytecode tools
/// read them, so fixing their many offset forms is not worth it). Other
/// attributes are copied as is.
fn rewrite_code(
    class: &RawClass<'_>,
    span: &super::reader::AttrSpan,
) -> Result<std::result::Result<(Vec<u8>, usize), String>> {
    let bytes = class.bytes;
    let code = class.parse_code(span)?;
    let by = PROLOGUE_LEN;
    let new_len = code.code.len() + by as usize;
    if new_len > 65535 {
        return Ok(Err(format!("code_length would be {new_len} with the {by}-byte prologue; the limit is 65535")));
    }
    let old = class.old_code_layout();

    let mut out = Vec::with_capacity(span.end - span.start + by as usize + 8);
    out.extend_from_slice(&bytes[span.start..span.start + 2]); // attribute_name_index
    out.extend_from_slice(&[0; 4]); // attribute_length, patched at the end
    let max_stack = code.max_stack.max(1);
    if old {
        // 45.0..45.2 layout: u1 max_stack, u1 max_locals, u2 code_length.
        out.push(max_stack as u8);
        out.push(code.max_locals as u8);
        out.extend_from_slice(&(new_len as u16).to_be_bytes());
    } else {
        out.extend_from_slice(&max_stack.to_be_bytes());
        out.extend_from_slice(&code.max_locals.to_be_bytes());
        out.extend_from_slice(&(new_len as u32).to_be_bytes());
    }
    let prologue_at = out.len();
    out.extend_from_slice(&[0; PROLOGUE_LEN as usize]);
    out.extend_from_slice(code.code);

    out.extend_from_slice(&(code.handlers.len() as u16).to_be_bytes());
    for &[start, end, handler, catch] in &code.handlers {
        for pc in [start, end, handler] {
            let Some(pc) = pc.checked_add(by) else {
                return Ok(Err(format!("exception table offset {pc} overflows")));
            };
            out.extend_from_slice(&pc.to_be_bytes());
        }
        out.extend_from_slice(&catch.to_be_bytes());
    }

    let count_at = out.len();
    out.extend_from_slice(&[0; 2]); // attributes_count, patched below
    let mut count: u16 = 0;
    for attr in &code.attrs {
        let name = class.utf8(attr.name)?;
        let body = &bytes[attr.body..attr.end];
        let new_body: Vec<u8> = match name {
            "LineNumberTable" => match shift_table(body, 4, |e| {
                let start = u16::from_be_bytes([e[0], e[1]]);
                if start == 0 {
                    return Some(());
                }
                let n = start.checked_add(by)?;
                e[..2].copy_from_slice(&n.to_be_bytes());
                Some(())
            })? {
                Ok(b) => b,
                Err(()) => return Ok(Err("LineNumberTable offset overflows".into())),
            },
            "LocalVariableTable" | "LocalVariableTypeTable" => match shift_table(body, 10, |e| {
                let start = u16::from_be_bytes([e[0], e[1]]);
                if start == 0 {
                    let len = u16::from_be_bytes([e[2], e[3]]).checked_add(by)?;
                    e[2..4].copy_from_slice(&len.to_be_bytes());
                } else {
                    let n = start.checked_add(by)?;
                    e[..2].copy_from_slice(&n.to_be_bytes());
                }
                Some(())
            })? {
                Ok(b) => b,
                Err(()) => return Ok(Err(format!("{name} offset overflows"))),
            },
            // Before major 50 the JVM ignores StackMapTable (it infers
            // types), so there it is an opaque attribute like any other.
            "StackMapTable" if class.major >= 50 => match stackmap::shift(body, by)? {
                Ok(b) => b,
                Err(why) => return Ok(Err(why)),
            },
            "RuntimeVisibleTypeAnnotations" | "RuntimeInvisibleTypeAnnotations" => continue,
            _ => body.to_vec(),
        };
        out.extend_from_slice(&bytes[attr.start..attr.start + 2]);
        out.extend_from_slice(&(new_body.len() as u32).to_be_bytes());
        out.extend_from_slice(&new_body);
        count += 1;
    }
    out[count_at..count_at + 2].copy_from_slice(&count.to_be_bytes());
    let attr_len =
        u32::try_from(out.len() - 6).map_err(|_| ClassFileError::Malformed("Code attribute over 4 GiB".into()))?;
    out[2..6].copy_from_slice(&attr_len.to_be_bytes());
    Ok(Ok((out, prologue_at)))
}

/// What the rewriter needs to know of a method's signature.
struct Shape {
    /// Field descriptors of the parameters, with the local slot each starts in.
    params: Vec<(String, u16)>,
    /// Return field descriptor, `V` for void.
    ret: String,
    is_static: bool,
    constructor: bool,
}

impl Shape {
    fn of(descriptor: &str, access: u16, constructor: bool) -> Result<Shape> {
        let params =
            faultline_model::target::descriptor_param_descriptors(descriptor).map_err(ClassFileError::Malformed)?;
        let is_static = access & 0x0008 != 0;
        let mut slot: u16 = if is_static { 0 } else { 1 };
        let mut placed = Vec::with_capacity(params.len());
        for p in params {
            let size = if p == "J" || p == "D" { 2 } else { 1 };
            placed.push((p, slot));
            slot += size;
            // JVMS 4.3.3: at most 255 slots of parameters, `this` included; the JVM refuses
            // more, and the inserted loads rely on it (their index is one byte).
            if slot > 255 {
                return Err(ClassFileError::Malformed(format!("{descriptor} takes more than 255 parameter slots")));
            }
        }
        let ret = faultline_model::target::descriptor_return(descriptor).to_string();
        Ok(Shape { params: placed, ret, is_static, constructor })
    }
}

/// The value kind the JVM moves a field descriptor as: `I` (also Z, B, C, S), `J`, `F`, `D`,
/// `A` (references), `V`.
fn kind(descriptor: &str) -> char {
    match descriptor.as_bytes().first() {
        Some(b'Z' | b'B' | b'C' | b'S' | b'I') => 'I',
        Some(b'J') => 'J',
        Some(b'F') => 'F',
        Some(b'D') => 'D',
        Some(b'V') => 'V',
        _ => 'A',
    }
}

const OBJECT: &str = "java/lang/Object";
const THROWABLE: &str = "java/lang/Throwable";
/// The operands every typed hook call takes after the site and the guard flag.
const SLOTS: &str = "JLjava/lang/Object;JLjava/lang/Object;Ljava/lang/Object;";

/// Hook method name and descriptor for the entry call of `entry`.
fn entry_method(entry: &EntryCall) -> (&'static str, String) {
    let ret = if entry.returns { "Ljava/lang/Object;" } else { "V" };
    match (entry.capture.boxed(), entry.returns) {
        (false, false) => ("enterSlots", format!("(IZ{SLOTS}){ret}")),
        (false, true) => ("enterSlotsReturn", format!("(IZ{SLOTS}){ret}")),
        (true, false) => ("enterAll", format!("(IZ[Ljava/lang/Object;){ret}")),
        (true, true) => ("enterAllReturn", format!("(IZ[Ljava/lang/Object;){ret}")),
    }
}

/// Hook method name and descriptor for the exit call of a method returning kind `k`: the
/// result first (it passes through the hook and comes back, maybe replaced), then the site.
fn exit_method(k: char, boxed: bool) -> (String, String) {
    let value = match k {
        'V' => "",
        'A' => "Ljava/lang/Object;",
        'I' => "I",
        'J' => "J",
        'F' => "F",
        _ => "D",
    };
    let ret = if k == 'V' { "V" } else { value };
    let name = format!("exit{k}{}", if boxed { "All" } else { "" });
    let operands = if boxed { "[Ljava/lang/Object;" } else { SLOTS };
    (name, format!("({value}IZ{operands}){ret}"))
}

/// Builds inserted code, allocating the constants it needs.
struct Asm<'p, 'c> {
    pool: &'p mut PoolBuilder<'c>,
    out: Vec<u8>,
}

impl Asm<'_, '_> {
    fn op(&mut self, b: u8) {
        self.out.push(b);
    }

    fn with_u2(&mut self, op: u8, v: u16) {
        self.out.push(op);
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    fn site(&mut self, site: i32) -> Result<()> {
        if (0..=i16::MAX as i32).contains(&site) {
            self.with_u2(0x11, site as u16); // sipush
        } else {
            let i = self.pool.integer(site)?;
            self.with_u2(0x13, i); // ldc_w
        }
        Ok(())
    }

    fn int(&mut self, v: i32) -> Result<()> {
        match v {
            -1..=5 => self.op((0x03 + v) as u8), // iconst_m1 .. iconst_5
            -128..=127 => {
                self.op(0x10); // bipush
                self.op(v as i8 as u8);
            }
            _ => self.site(v)?,
        }
        Ok(())
    }

    fn invoke(&mut self, op: u8, class: &str, name: &str, desc: &str) -> Result<()> {
        let i = self.pool.methodref(class, name, desc)?;
        self.with_u2(op, i);
        Ok(())
    }

    fn invokestatic(&mut self, class: &str, name: &str, desc: &str) -> Result<()> {
        self.invoke(0xB8, class, name, desc)
    }

    fn invokevirtual(&mut self, class: &str, name: &str, desc: &str) -> Result<()> {
        self.invoke(0xB6, class, name, desc)
    }

    /// `checkcast` to a field type (`Lcom/acme/A;` or an array descriptor).
    fn checkcast(&mut self, field_type: &str) -> Result<()> {
        let name = field_type.strip_prefix('L').and_then(|n| n.strip_suffix(';')).unwrap_or(field_type);
        let i = self.pool.class(name)?;
        self.with_u2(0xC0, i);
        Ok(())
    }

    /// Loads a local of field type `descriptor`.
    fn load(&mut self, descriptor: &str, slot: u16) {
        let op = match kind(descriptor) {
            'I' => 0x15,
            'J' => 0x16,
            'F' => 0x17,
            'D' => 0x18,
            _ => 0x19,
        };
        // Parameters live in slots 0..=255 (JVMS 4.3.3), so the short form always fits.
        self.op(op);
        self.op(slot as u8);
    }

    /// The typed operands: arg0 and arg1 each as (long bits, reference), then the receiver.
    fn slots(&mut self, capture: &Capture, shape: &Shape, this_allowed: bool) -> Result<()> {
        for k in 0..2u16 {
            match shape.params.get(k as usize).filter(|_| capture.args.contains(&k)) {
                Some((d, slot)) => {
                    match kind(d) {
                        'I' => {
                            self.load(d, *slot);
                            self.op(0x85); // i2l
                        }
                        'J' => self.load(d, *slot),
                        'F' => {
                            self.load(d, *slot);
                            self.op(0x8D); // f2d
                            self.invokestatic("java/lang/Double", "doubleToRawLongBits", "(D)J")?;
                        }
                        'D' => {
                            self.load(d, *slot);
                            self.invokestatic("java/lang/Double", "doubleToRawLongBits", "(D)J")?;
                        }
                        _ => {
                            self.op(0x09); // lconst_0
                            self.load(d, *slot);
                            continue;
                        }
                    }
                    self.op(0x01); // aconst_null
                }
                None => {
                    self.op(0x09);
                    self.op(0x01);
                }
            }
        }
        self.receiver(capture, shape, this_allowed);
        Ok(())
    }

    fn receiver(&mut self, capture: &Capture, shape: &Shape, this_allowed: bool) {
        if capture.this && !shape.is_static && this_allowed {
            self.op(0x2A); // aload_0
        } else {
            self.op(0x01);
        }
    }

    /// Every operand boxed: `Object[] {this, arg0, arg1, ...}`, null where not captured.
    fn boxed(&mut self, capture: &Capture, shape: &Shape, this_allowed: bool) -> Result<()> {
        self.int(shape.params.len() as i32 + 1)?;
        let object = self.pool.class(OBJECT)?;
        self.with_u2(0xBD, object); // anewarray
        if capture.this && !shape.is_static && this_allowed {
            self.op(0x59); // dup
            self.op(0x03); // iconst_0
            self.op(0x2A);
            self.op(0x53); // aastore
        }
        for &k in &capture.args {
            let Some((d, slot)) = shape.params.get(k as usize) else { continue };
            self.op(0x59);
            self.int(k as i32 + 1)?;
            self.load(d, *slot);
            let boxing = match d.as_bytes()[0] {
                b'Z' => Some(("java/lang/Boolean", "(Z)Ljava/lang/Boolean;")),
                b'B' => Some(("java/lang/Byte", "(B)Ljava/lang/Byte;")),
                b'C' => Some(("java/lang/Character", "(C)Ljava/lang/Character;")),
                b'S' => Some(("java/lang/Short", "(S)Ljava/lang/Short;")),
                b'I' => Some(("java/lang/Integer", "(I)Ljava/lang/Integer;")),
                b'J' => Some(("java/lang/Long", "(J)Ljava/lang/Long;")),
                b'F' => Some(("java/lang/Float", "(F)Ljava/lang/Float;")),
                b'D' => Some(("java/lang/Double", "(D)Ljava/lang/Double;")),
                _ => None,
            };
            if let Some((class, desc)) = boxing {
                self.invokestatic(class, "valueOf", desc)?;
            }
            self.op(0x53);
        }
        Ok(())
    }

    /// The value the hook returned (an Object on the stack) as the method's return value,
    /// then the return instruction.
    fn return_value(&mut self, ret: &str) -> Result<()> {
        let unbox = |asm: &mut Self, class: &str, name: &str, desc: &str, op: u8| -> Result<()> {
            asm.checkcast(&format!("L{class};"))?;
            asm.invokevirtual(class, name, desc)?;
            asm.op(op);
            Ok(())
        };
        match ret.as_bytes().first() {
            Some(b'V') => {
                self.op(0x57); // pop
                self.op(0xB1); // return
            }
            Some(b'Z') => unbox(self, "java/lang/Boolean", "booleanValue", "()Z", 0xAC)?,
            Some(b'C') => unbox(self, "java/lang/Character", "charValue", "()C", 0xAC)?,
            Some(b'B' | b'S' | b'I') => unbox(self, "java/lang/Number", "intValue", "()I", 0xAC)?,
            Some(b'J') => unbox(self, "java/lang/Number", "longValue", "()J", 0xAD)?,
            Some(b'F') => unbox(self, "java/lang/Number", "floatValue", "()F", 0xAE)?,
            Some(b'D') => unbox(self, "java/lang/Number", "doubleValue", "()D", 0xAF)?,
            _ => {
                self.checkcast(ret)?;
                self.op(0xB0); // areturn
            }
        }
        Ok(())
    }
}

/// Code to insert, the StackMapTable frames inside it, and the operand stack it needs.
struct Inserted {
    bytes: Vec<u8>,
    frames: Vec<(u32, FullFrame)>,
    stack: u32,
}

/// The code before the first instruction: the entry call, and for return faults the early
/// return.
fn entry_code(pool: &mut PoolBuilder<'_>, hook: &MethodHook, entry: &EntryCall, shape: &Shape) -> Result<Inserted> {
    let mut asm = Asm { pool, out: Vec::new() };
    // Before super() the receiver is not an object yet: a constructor passes no `this`.
    let this_allowed = !shape.constructor;
    asm.site(hook.site)?;
    asm.int(hook.guarded as i32)?;
    if entry.capture.boxed() {
        asm.boxed(&entry.capture, shape, this_allowed)?;
    } else {
        asm.slots(&entry.capture, shape, this_allowed)?;
    }
    let (name, desc) = entry_method(entry);
    asm.invokestatic(HOOK_CLASS, name, &desc)?;
    let mut frames = Vec::new();
    if entry.returns {
        // r = Hook.enter...Return(...); if (r != Hook.PROCEED) return (T) r;
        asm.op(0x59); // dup
        let proceed = asm.pool.fieldref(HOOK_CLASS, "PROCEED", "Ljava/lang/Object;")?;
        asm.with_u2(0xB2, proceed); // getstatic
        let branch_at = asm.out.len();
        asm.with_u2(0xA5, 0); // if_acmpeq, patched below
        asm.return_value(&shape.ret)?;
        let pop_at = asm.out.len();
        asm.out[branch_at + 1..branch_at + 3].copy_from_slice(&((pop_at - branch_at) as u16).to_be_bytes());
        asm.op(0x57); // pop
        let object = asm.pool.class(OBJECT)?;
        frames.push((pop_at as u32, FullFrame { locals: None, stack: vec![VType::Object(object)] }));
    }
    // site + flag + (2 + 1) * 2 + receiver, or site + flag + array + dup + index + value.
    let stack = if entry.capture.boxed() { 7 } else { 9 };
    Ok(Inserted { bytes: asm.out, frames, stack })
}

/// The code before each return instruction: the exit call, which takes the result and
/// gives it back (maybe replaced by a return fault), and a cast back to the return type.
fn exit_code(pool: &mut PoolBuilder<'_>, hook: &MethodHook, exit: &ExitCall, shape: &Shape) -> Result<(Vec<u8>, u32)> {
    let mut asm = Asm { pool, out: Vec::new() };
    let k = kind(&shape.ret);
    asm.site(hook.site)?;
    asm.int(hook.guarded as i32)?;
    let boxed = exit.capture.boxed();
    if boxed {
        asm.boxed(&exit.capture, shape, true)?;
    } else {
        asm.slots(&exit.capture, shape, true)?;
    }
    let (name, desc) = exit_method(k, boxed);
    asm.invokestatic(HOOK_CLASS, &name, &desc)?;
    if k == 'A' {
        asm.checkcast(&shape.ret)?;
    }
    Ok((asm.out, if boxed { 7 } else { 9 }))
}

/// The handler after the code: `Hook.thrown(t, site, guarded)` with the exception on the
/// stack, then `athrow` of the same exception. Returns the code and the stack it needs.
fn thrown_code(pool: &mut PoolBuilder<'_>, hook: &MethodHook) -> Result<(Vec<u8>, u32)> {
    let mut asm = Asm { pool, out: Vec::new() };
    asm.op(0x59); // dup
    asm.site(hook.site)?;
    asm.int(hook.guarded as i32)?;
    asm.invokestatic(HOOK_CLASS, "thrown", "(Ljava/lang/Throwable;IZ)V")?;
    asm.op(0xBF); // athrow
    Ok((asm.out, 4))
}

/// The return instructions: ireturn, lreturn, freturn, dreturn, areturn, return.
fn is_return(opcode: u8) -> bool {
    (0xAC..=0xB1).contains(&opcode)
}

/// Rewrites a method's `Code` attribute through [`code::relocate`]: the entry call at
/// offset 0, exit calls before every return. The inner `Err` is a reason to skip the method.
fn relocate_code(
    class: &RawClass<'_>,
    span: &super::reader::AttrSpan,
    hook: &MethodHook,
    shape: &Shape,
    pool: &mut PoolBuilder<'_>,
) -> Result<std::result::Result<(Vec<u8>, OffsetMap), String>> {
    let bytes = class.bytes;
    let code = class.parse_code(span)?;
    let instrs = code::decode(code.code)?;
    let mut max_stack = code.max_stack as u32;
    let mut at_zero: Option<Insertion> = None;
    let mut insertions = Vec::new();

    if let Some(entry) = &hook.entry {
        if entry.returns && shape.constructor {
            return Ok(Err("a constructor cannot return before its body (the object would not be built)".into()));
        }
        let Inserted { bytes, frames, stack } = entry_code(pool, hook, entry, shape)?;
        max_stack = max_stack.max(stack);
        at_zero = Some(Insertion { before: 0, bytes, branches_enter: false, frames });
    }
    if let Some(exit) = &hook.exit {
        if shape.constructor {
            return Ok(Err("faults at exit do not apply to constructors".into()));
        }
        // At a return, the locals hold the parameters only if the body never stored to them.
        let written = code::written_slots(code.code, &instrs);
        let mut read: Vec<(String, u16)> = Vec::new();
        if exit.capture.this && !shape.is_static {
            read.push(("this".into(), 0));
        }
        for &k in &exit.capture.args {
            if let Some((_, slot)) = shape.params.get(k as usize) {
                read.push((format!("arg{k}"), *slot));
            }
        }
        if let Some((name, _)) = read.iter().find(|(_, slot)| written.contains(slot)) {
            return Ok(Err(format!(
                "the method assigns to {name}, so at exit it no longer holds what the caller passed"
            )));
        }
        let (bytes, need) = exit_code(pool, hook, exit, shape)?;
        max_stack = max_stack.max(code.max_stack as u32 + need);
        for ins in instrs.iter().filter(|i| is_return(i.opcode)) {
            if ins.offset == 0 {
                // The first instruction returns: the entry code (if any) comes first.
                let mut combined = at_zero.take().unwrap_or(Insertion {
                    before: 0,
                    bytes: Vec::new(),
                    branches_enter: false,
                    frames: Vec::new(),
                });
                combined.bytes.extend_from_slice(&bytes);
                at_zero = Some(combined);
            } else {
                insertions.push(Insertion {
                    before: ins.offset,
                    bytes: bytes.clone(),
                    branches_enter: true,
                    frames: vec![],
                });
            }
        }
    }
    if let Some(first) = at_zero {
        insertions.insert(0, first);
    }
    let inserted_frames = insertions.iter().any(|i| !i.frames.is_empty());
    let relocated = match code::relocate(code.code, instrs, &insertions)? {
        Ok(r) => r,
        Err(why) => return Ok(Err(why)),
    };
    let mut handlers = relocated.handlers(&code.handlers)?;
    let mut body = relocated.code.clone();
    let mut thrown_frame: Option<(u32, VType)> = None;
    if hook.exit.as_ref().is_some_and(|e| e.thrown) {
        let Ok(old_len) = u16::try_from(code.code.len()) else {
            return Ok(Err("the code is too long for a handler after it".into()));
        };
        let handler_at = body.len() as u32;
        let (bytes, need) = thrown_code(pool, hook)?;
        if body.len() + bytes.len() > 65535 {
            return Ok(Err(format!(
                "code_length would be {} with the inserted calls; the limit is 65535",
                body.len() + bytes.len()
            )));
        }
        // A catch-all over the original code: what `handlers` makes of one (cut around the
        // inserted code, so an exit call's own exception is not seen as the call's).
        for [start, end, _, _] in relocated.handlers(&[[0, old_len, 0, 0]])? {
            if start < end {
                handlers.push([start, end, handler_at as u16, 0]);
            }
        }
        body.extend_from_slice(&bytes);
        max_stack = max_stack.max(need);
        thrown_frame = Some((handler_at, VType::Object(pool.class(THROWABLE)?)));
    }

    let old = class.old_code_layout();
    if old && max_stack > 255 {
        return Ok(Err(format!("max_stack would be {max_stack}; this class file version allows 255")));
    }
    if max_stack > 65535 {
        return Ok(Err(format!("max_stack would be {max_stack}; the limit is 65535")));
    }
    let new_len = body.len();
    let mut out = Vec::with_capacity(span.end - span.start + new_len - code.code.len() + 16);
    out.extend_from_slice(&bytes[span.start..span.start + 2]); // attribute_name_index
    out.extend_from_slice(&[0; 4]); // attribute_length, patched at the end
    if old {
        out.push(max_stack as u8);
        out.push(code.max_locals as u8);
        out.extend_from_slice(&(new_len as u16).to_be_bytes());
    } else {
        out.extend_from_slice(&(max_stack as u16).to_be_bytes());
        out.extend_from_slice(&code.max_locals.to_be_bytes());
        out.extend_from_slice(&(new_len as u32).to_be_bytes());
    }
    out.extend_from_slice(&body);
    let Ok(count) = u16::try_from(handlers.len()) else {
        return Ok(Err("the exception table would hold more than 65535 entries".into()));
    };
    out.extend_from_slice(&count.to_be_bytes());
    for h in handlers {
        for v in h {
            out.extend_from_slice(&v.to_be_bytes());
        }
    }

    let count_at = out.len();
    out.extend_from_slice(&[0; 2]); // attributes_count, patched below
    let mut count: u16 = 0;
    let mut had_frames = false;
    for attr in &code.attrs {
        let name = class.utf8(attr.name)?;
        let body = &bytes[attr.body..attr.end];
        let new_body: Vec<u8> = match name {
            // A line that starts at a return now starts at the exit code before it.
            "LineNumberTable" => {
                let moved = shift_table(body, 4, |e| {
                    let start = u16::from_be_bytes([e[0], e[1]]) as u32;
                    let new = u16::try_from(relocated.before_insertion(start)?).ok()?;
                    e[..2].copy_from_slice(&new.to_be_bytes());
                    Some(())
                })?;
                match moved {
                    Ok(b) => b,
                    Err(()) => return Ok(Err("a LineNumberTable entry points between instructions".into())),
                }
            }
            // Variables in scope at offset 0 (the parameters) stay in scope over the entry
            // code; every range ends before code inserted at its end.
            "LocalVariableTable" | "LocalVariableTypeTable" => {
                let moved = shift_table(body, 10, |e| {
                    let start = u16::from_be_bytes([e[0], e[1]]) as u32;
                    let end = start + u16::from_be_bytes([e[2], e[3]]) as u32;
                    let new_start = if start == 0 { 0 } else { relocated.after_insertion(start)? };
                    let new_end = relocated.before_insertion(end)?;
                    let length = u16::try_from(new_end.checked_sub(new_start)?).ok()?;
                    e[..2].copy_from_slice(&u16::try_from(new_start).ok()?.to_be_bytes());
                    e[2..4].copy_from_slice(&length.to_be_bytes());
                    Some(())
                })?;
                match moved {
                    Ok(b) => b,
                    Err(()) => return Ok(Err(format!("a {name} range points between instructions"))),
                }
            }
            "StackMapTable" if class.major >= 50 => {
                had_frames = true;
                match relocated.frames(stackmap::decode(body)?)? {
                    Ok(mut frames) => {
                        if let Some((at, throwable)) = thrown_frame {
                            code::append_full_frame(&mut frames, at, vec![throwable]);
                        }
                        stackmap::encode_all(&frames)
                    }
                    Err(why) => return Ok(Err(why)),
                }
            }
            "RuntimeVisibleTypeAnnotations" | "RuntimeInvisibleTypeAnnotations" => continue,
            _ => body.to_vec(),
        };
        out.extend_from_slice(&bytes[attr.start..attr.start + 2]);
        out.extend_from_slice(&(new_body.len() as u32).to_be_bytes());
        out.extend_from_slice(&new_body);
        count += 1;
    }
    if (inserted_frames || thrown_frame.is_some()) && class.major >= 50 && !had_frames {
        let mut frames = match relocated.frames(Vec::new())? {
            Ok(frames) => frames,
            Err(why) => return Ok(Err(why)),
        };
        if let Some((at, throwable)) = thrown_frame {
            code::append_full_frame(&mut frames, at, vec![throwable]);
        }
        let body = stackmap::encode_all(&frames);
        out.extend_from_slice(&pool.utf8("StackMapTable")?.to_be_bytes());
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend_from_slice(&body);
        count += 1;
    }
    out[count_at..count_at + 2].copy_from_slice(&count.to_be_bytes());
    let attr_len =
        u32::try_from(out.len() - 6).map_err(|_| ClassFileError::Malformed("Code attribute over 4 GiB".into()))?;
    out[2..6].copy_from_slice(&attr_len.to_be_bytes());
    Ok(Ok((out, OffsetMap(relocated.breakpoints))))
}

/// Copies a `u2 count; entry[count]` table, applying `f` to each fixed-size
/// entry; `f` returning `None` (an offset overflow) yields the inner `Err`.
/// The body must be exactly the table.
fn shift_table(
    body: &[u8],
    entry_len: usize,
    mut f: impl FnMut(&mut [u8]) -> Option<()>,
) -> Result<std::result::Result<Vec<u8>, ()>> {
    let mut r = Reader::at(body, 0);
    let n = r.u2()? as usize;
    let mut out = Vec::with_capacity(body.len());
    out.extend_from_slice(&(n as u16).to_be_bytes());
    for _ in 0..n {
        let start = out.len();
        out.extend_from_slice(r.take(entry_len)?);
        if f(&mut out[start..]).is_none() {
            return Ok(Err(()));
        }
    }
    if r.pos() != body.len() {
        return Err(ClassFileError::Malformed(format!(
            "table attribute of {} bytes holds {} bytes of entries",
            body.len(),
            r.pos()
        )));
    }
    Ok(Ok(out))
}

/// Appends the constants the inserted code needs, reusing identical existing entries where
/// a linear scan finds them. Cloned to roll back a method that turns out not rewritable.
#[derive(Clone)]
struct PoolBuilder<'c> {
    cp: &'c [Constant],
    /// Next free index; the final constant_pool_count.
    next: u32,
    extra: Vec<u8>,
    utf8: HashMap<String, u16>,
    class: Option<u16>,
    methodrefs: [Option<u16>; 2],
    integers: HashMap<i32, u16>,
    classes: HashMap<String, u16>,
    /// (tag, class, name, descriptor) -> index, for Methodref and Fieldref.
    members: HashMap<(u8, String, String, String), u16>,
}

impl<'c> PoolBuilder<'c> {
    fn new(class: &'c RawClass<'_>) -> Self {
        PoolBuilder {
            cp: &class.cp,
            next: class.cp.len() as u32,
            extra: Vec::new(),
            utf8: HashMap::new(),
            class: None,
            methodrefs: [None, None],
            integers: HashMap::new(),
            classes: HashMap::new(),
            members: HashMap::new(),
        }
    }

    fn mark(&self) -> PoolBuilder<'c> {
        self.clone()
    }

    fn reset(&mut self, mark: PoolBuilder<'c>) {
        *self = mark;
    }

    /// A Class constant for an internal name (or an array descriptor).
    fn class(&mut self, name: &str) -> Result<u16> {
        if name == HOOK_CLASS {
            return self.hook_class();
        }
        if let Some(&i) = self.classes.get(name) {
            return Ok(i);
        }
        let existing = self.cp.iter().position(|c| matches!(c, Constant::Class(n) if self.utf8_is(*n, name)));
        let i = match existing {
            Some(i) => i as u16,
            None => {
                let n = self.utf8(name)?;
                let mut e = vec![7];
                e.extend_from_slice(&n.to_be_bytes());
                self.push(&e)?
            }
        };
        self.classes.insert(name.to_string(), i);
        Ok(i)
    }

    fn name_and_type(&mut self, name: &str, desc: &str) -> Result<u16> {
        let n = self.utf8(name)?;
        let d = self.utf8(desc)?;
        let existing = self.cp.iter().position(|c| matches!(c, Constant::NameAndType(a, b) if *a == n && *b == d));
        match existing {
            Some(i) => Ok(i as u16),
            None => {
                let mut e = vec![12];
                e.extend_from_slice(&n.to_be_bytes());
                e.extend_from_slice(&d.to_be_bytes());
                self.push(&e)
            }
        }
    }

    /// A Methodref (tag 10) or Fieldref (tag 9); existing Fieldrefs are not looked up (the
    /// reader keeps no details of them): a duplicate constant is legal.
    fn member(&mut self, tag: u8, class: &str, name: &str, desc: &str) -> Result<u16> {
        let key = (tag, class.to_string(), name.to_string(), desc.to_string());
        if let Some(&i) = self.members.get(&key) {
            return Ok(i);
        }
        let c = self.class(class)?;
        let nat = self.name_and_type(name, desc)?;
        let existing = if tag == 10 {
            self.cp.iter().position(|x| matches!(x, Constant::Methodref(a, b) if *a == c && *b == nat))
        } else {
            None
        };
        let i = match existing {
            Some(i) => i as u16,
            None => {
                let mut e = vec![tag];
                e.extend_from_slice(&c.to_be_bytes());
                e.extend_from_slice(&nat.to_be_bytes());
                self.push(&e)?
            }
        };
        self.members.insert(key, i);
        Ok(i)
    }

    fn methodref(&mut self, class: &str, name: &str, desc: &str) -> Result<u16> {
        self.member(10, class, name, desc)
    }

    fn fieldref(&mut self, class: &str, name: &str, desc: &str) -> Result<u16> {
        self.member(9, class, name, desc)
    }

    fn count(&self) -> Result<u16> {
        u16::try_from(self.next).map_err(|_| ClassFileError::ConstantPoolOverflow { needed: self.next })
    }

    fn push(&mut self, entry: &[u8]) -> Result<u16> {
        // constant_pool_count is a u2 and is one more than the last index.
        if self.next >= 0xFFFF {
            return Err(ClassFileError::ConstantPoolOverflow { needed: self.next + 1 });
        }
        let index = self.next as u16;
        self.next += 1;
        self.extra.extend_from_slice(entry);
        Ok(index)
    }

    fn existing_utf8(&self, s: &str) -> Option<u16> {
        self.cp.iter().position(|c| matches!(c, Constant::Utf8(u) if u == s)).map(|i| i as u16)
    }

    fn utf8(&mut self, s: &str) -> Result<u16> {
        if let Some(&i) = self.utf8.get(s) {
            return Ok(i);
        }
        let i = match self.existing_utf8(s) {
            Some(i) => i,
            None => {
                // Only ASCII names are ever added, and for ASCII without NUL
                // modified UTF-8 equals plain UTF-8.
                let mut e = vec![1];
                e.extend_from_slice(&(s.len() as u16).to_be_bytes());
                e.extend_from_slice(s.as_bytes());
                self.push(&e)?
            }
        };
        self.utf8.insert(s.to_string(), i);
        Ok(i)
    }

    fn utf8_is(&self, index: u16, s: &str) -> bool {
        matches!(self.cp.get(index as usize), Some(Constant::Utf8(u)) if u == s)
    }

    fn hook_class(&mut self) -> Result<u16> {
        if let Some(i) = self.class {
            return Ok(i);
        }
        let existing = self.cp.iter().position(|c| matches!(c, Constant::Class(n) if self.utf8_is(*n, HOOK_CLASS)));
        let i = match existing {
            Some(i) => i as u16,
            None => {
                let name = self.utf8(HOOK_CLASS)?;
                let mut e = vec![7];
                e.extend_from_slice(&name.to_be_bytes());
                self.push(&e)?
            }
        };
        self.class = Some(i);
        Ok(i)
    }

    fn hook_method(&mut self, guarded: bool) -> Result<u16> {
        let slot = guarded as usize;
        if let Some(i) = self.methodrefs[slot] {
            return Ok(i);
        }
        let name = if guarded { HOOK_ENTER_GUARDED } else { HOOK_ENTER };
        let existing = self.cp.iter().position(|c| match c {
            Constant::Methodref(cls, nat) => {
                let cls_ok = matches!(self.cp.get(*cls as usize),
                    Some(Constant::Class(n)) if self.utf8_is(*n, HOOK_CLASS));
                let nat_ok = matches!(self.cp.get(*nat as usize),
                    Some(Constant::NameAndType(n, d))
                        if self.utf8_is(*n, name) && self.utf8_is(*d, HOOK_DESCRIPTOR));
                cls_ok && nat_ok
            }
            _ => false,
        });
        let i = match existing {
            Some(i) => i as u16,
            None => {
                let class = self.hook_class()?;
                let n = self.utf8(name)?;
                let d = self.utf8(HOOK_DESCRIPTOR)?;
                let existing_nat =
                    self.cp.iter().position(|c| matches!(c, Constant::NameAndType(a, b) if *a == n && *b == d));
                let nat = match existing_nat {
                    Some(i) => i as u16,
                    None => {
                        let mut e = vec![12];
                        e.extend_from_slice(&n.to_be_bytes());
                        e.extend_from_slice(&d.to_be_bytes());
                        self.push(&e)?
                    }
                };
                let mut e = vec![10];
                e.extend_from_slice(&class.to_be_bytes());
                e.extend_from_slice(&nat.to_be_bytes());
                self.push(&e)?
            }
        };
        self.methodrefs[slot] = Some(i);
        Ok(i)
    }

    fn integer(&mut self, v: i32) -> Result<u16> {
        if let Some(&i) = self.integers.get(&v) {
            return Ok(i);
        }
        let existing = self.cp.iter().position(|c| matches!(c, Constant::Integer(x) if *x == v));
        let i = match existing {
            Some(i) => i as u16,
            None => {
                let mut e = vec![3];
                e.extend_from_slice(&v.to_be_bytes());
                self.push(&e)?
            }
        };
        self.integers.insert(v, i);
        Ok(i)
    }

    /// The 8 prologue bytes for one method.
    fn prologue(&mut self, site: i32, guarded: bool) -> Result<[u8; PROLOGUE_LEN as usize]> {
        let mut p = [0u8; PROLOGUE_LEN as usize]; // 0x00 = nop
        if (0..=i16::MAX as i32).contains(&site) {
            p[0] = 0x11; // sipush
            p[1..3].copy_from_slice(&(site as u16).to_be_bytes());
        } else {
            p[0] = 0x13; // ldc_w
            p[1..3].copy_from_slice(&self.integer(site)?.to_be_bytes());
        }
        p[3] = 0xB8; // invokestatic
        p[4..6].copy_from_slice(&self.hook_method(guarded)?.to_be_bytes());
        Ok(p)
    }
}
