//! Bounds-checked class file reading.
//!
//! `RawClass` records where things are in the original bytes (constant pool
//! end, each method's `Code` attribute span) so that the rewriter can copy the
//! rest verbatim. The public summaries (`ClassInfo`, `MethodHandlers`,
//! `CodeInfo`) are built on top of it.

use super::stackmap::{self, VType};
use super::{ClassFileError, MAX_MAJOR, MIN_MAJOR};

type Result<T> = std::result::Result<T, ClassFileError>;

/// Summary of a class file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassInfo {
    pub major: u16,
    pub minor: u16,
    pub access: u16,
    /// Internal form, e.g. `com/acme/Foo`.
    pub name: String,
    /// `None` only for `java/lang/Object` and `module-info`.
    pub super_name: Option<String>,
    pub interfaces: Vec<String>,
    /// In class file order; `MethodHook::method_index` indexes this.
    pub methods: Vec<MethodInfo>,
}

/// Summary of one method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodInfo {
    pub name: String,
    pub descriptor: String,
    pub access: u16,
    /// `None` when the method has no `Code` attribute (abstract or native).
    pub code_length: Option<u32>,
}

/// One exception table entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handler {
    pub start_pc: u16,
    /// Exclusive.
    pub end_pc: u16,
    pub handler_pc: u16,
    /// Internal name of the caught class; `None` catches everything (`finally`).
    pub catch_type: Option<String>,
}

/// Exception handlers and line numbers of one method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodHandlers {
    /// In exception table order, which is the order the JVM searches them.
    pub handlers: Vec<Handler>,
    /// `(start_pc, line)` from every `LineNumberTable`, in file order.
    pub lines: Vec<(u16, u16)>,
}

impl MethodHandlers {
    /// Source line of the instruction at `pc`: the entry with the greatest
    /// `start_pc <= pc`. javac does not always emit the table sorted, so this
    /// scans it all; on ties the later entry wins (as the JVM's lookup does).
    pub fn line_at(&self, pc: u16) -> Option<u16> {
        let mut best: Option<(u16, u16)> = None;
        for &(start, line) in &self.lines {
            // (Option::is_none_or would need Rust 1.82; the crate targets 1.80.)
            let better = match best {
                None => true,
                Some((b, _)) => start >= b,
            };
            if start <= pc && better {
                best = Some((start, line));
            }
        }
        best.map(|(_, line)| line)
    }
}

/// One `LocalVariableTable` or `LocalVariableTypeTable` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalVar {
    pub start_pc: u16,
    pub length: u16,
    pub index: u16,
    /// True when the entry came from `LocalVariableTypeTable`.
    pub type_table: bool,
}

/// One decoded StackMapTable frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Absolute bytecode offset the frame applies to.
    pub offset: u32,
    /// Raw frame type byte (0..=63 same, 64..=127 same_locals_1, 247..=255 ...).
    pub frame_type: u8,
    /// Offsets carried by `Uninitialized` verification types (locals and stack).
    pub uninitialized: Vec<u16>,
}

/// Detailed view of a method's `Code` attribute, for diagnostics and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeInfo {
    pub max_stack: u16,
    pub max_locals: u16,
    /// Offset of the first bytecode byte within the class file.
    pub code_offset: usize,
    pub code: Vec<u8>,
    pub handlers: Vec<Handler>,
    pub lines: Vec<(u16, u16)>,
    pub local_vars: Vec<LocalVar>,
    /// `None` when there is no StackMapTable or the class predates major 50
    /// (the JVM ignores the attribute there, so it is not decoded).
    pub frames: Option<Vec<Frame>>,
    /// Names of the attributes nested in `Code`, in order.
    pub attribute_names: Vec<String>,
}

/// Reads a class file's summary.
pub fn parse(bytes: &[u8]) -> Result<ClassInfo> {
    let class = RawClass::parse(bytes)?;
    let name = class.class_name(class.this_class)?.to_string();
    let super_name = if class.super_class == 0 { None } else { Some(class.class_name(class.super_class)?.to_string()) };
    let interfaces =
        class.interfaces.iter().map(|&i| class.class_name(i).map(str::to_string)).collect::<Result<Vec<_>>>()?;
    let mut methods = Vec::with_capacity(class.methods.len());
    for m in &class.methods {
        let code_length = match &m.code {
            Some(span) => Some(class.parse_code(span)?.code.len() as u32),
            None => None,
        };
        methods.push(MethodInfo {
            name: class.utf8(m.name)?.to_string(),
            descriptor: class.utf8(m.descriptor)?.to_string(),
            access: m.access,
            code_length,
        });
    }
    Ok(ClassInfo {
        major: class.major,
        minor: class.minor,
        access: class.access,
        name,
        super_name,
        interfaces,
        methods,
    })
}

/// Exception table and line numbers of the method `method_name` +
/// `descriptor`. `Ok(None)` when the class has no such method or the method
/// has no code (abstract/native).
pub fn exception_handlers(bytes: &[u8], method_name: &str, descriptor: &str) -> Result<Option<MethodHandlers>> {
    let class = RawClass::parse(bytes)?;
    for m in &class.methods {
        if class.utf8(m.name)? != method_name || class.utf8(m.descriptor)? != descriptor {
            continue;
        }
        let Some(span) = &m.code else { return Ok(None) };
        let code = class.parse_code(span)?;
        return Ok(Some(MethodHandlers { handlers: class.handlers(&code)?, lines: class.line_numbers(&code)? }));
    }
    Ok(None)
}

/// Full view of method number `method_index`'s `Code` attribute; `Ok(None)`
/// for a method without code. An index past the end is an error.
pub fn method_code(bytes: &[u8], method_index: usize) -> Result<Option<CodeInfo>> {
    let class = RawClass::parse(bytes)?;
    let m = class.methods.get(method_index).ok_or_else(|| {
        ClassFileError::Malformed(format!("method index {method_index} out of range ({} methods)", class.methods.len()))
    })?;
    code_info(&class, m)
}

/// [`method_code`] for every method at once (one parse of the class), in
/// class file order.
pub fn methods_code(bytes: &[u8]) -> Result<Vec<Option<CodeInfo>>> {
    let class = RawClass::parse(bytes)?;
    class.methods.iter().map(|m| code_info(&class, m)).collect()
}

fn code_info(class: &RawClass<'_>, m: &RawMethod) -> Result<Option<CodeInfo>> {
    let bytes = class.bytes;
    let Some(span) = &m.code else { return Ok(None) };
    let code = class.parse_code(span)?;
    let mut local_vars = Vec::new();
    let mut frames = None;
    let mut attribute_names = Vec::new();
    for attr in &code.attrs {
        let name = class.utf8(attr.name)?;
        attribute_names.push(name.to_string());
        match name {
            "LocalVariableTable" | "LocalVariableTypeTable" => {
                // Bounded by the attribute so a bad count cannot read past it.
                let mut r = Reader::at(&bytes[..attr.end], attr.body);
                let n = r.u2()?;
                for _ in 0..n {
                    let start_pc = r.u2()?;
                    let length = r.u2()?;
                    r.skip(4)?; // name_index, descriptor/signature_index
                    let index = r.u2()?;
                    local_vars.push(LocalVar { start_pc, length, index, type_table: name == "LocalVariableTypeTable" });
                }
            }
            "StackMapTable" if class.major >= 50 => {
                let decoded = stackmap::decode(&bytes[attr.body..attr.end])?;
                let mut out = Vec::with_capacity(decoded.len());
                let mut offset: u32 = 0;
                for (i, f) in decoded.iter().enumerate() {
                    // JVMS 4.7.4: the first frame is at offset_delta, later
                    // ones at previous + offset_delta + 1.
                    offset = if i == 0 { f.delta as u32 } else { offset + f.delta as u32 + 1 };
                    let uninitialized = f
                        .locals
                        .iter()
                        .chain(f.stack.iter())
                        .filter_map(|v| match v {
                            VType::Uninitialized(o) => Some(*o),
                            _ => None,
                        })
                        .collect();
                    out.push(Frame { offset, frame_type: f.frame_type, uninitialized });
                }
                frames = Some(out);
            }
            _ => {}
        }
    }
    Ok(Some(CodeInfo {
        max_stack: code.max_stack,
        max_locals: code.max_locals,
        code_offset: code.code_start,
        code: code.code.to_vec(),
        handlers: class.handlers(&code)?,
        lines: class.line_numbers(&code)?,
        local_vars,
        frames,
        attribute_names,
    }))
}

// ---------------------------------------------------------------------------
// Internals shared with the rewriter.

/// Bounds-checked big-endian cursor.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn at(bytes: &'a [u8], pos: usize) -> Self {
        Reader { bytes, pos }
    }
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(ClassFileError::Truncated { offset: self.pos, wanted: n })?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    pub(crate) fn skip(&mut self, n: usize) -> Result<()> {
        self.take(n).map(|_| ())
    }
    pub(crate) fn u1(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    pub(crate) fn u2(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    pub(crate) fn u4(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// Room to reserve for `count` entries of at least `entry_len` bytes each: no more than
    /// the rest of the input can hold, so a count read from the input never reserves memory
    /// that the input does not back (a 10-byte class claiming 65535 methods).
    pub(crate) fn capacity(&self, count: usize, entry_len: usize) -> usize {
        count.min(self.bytes.len().saturating_sub(self.pos) / entry_len.max(1))
    }
}

/// The constant pool entries the reader and rewriter look into; the others
/// only need their size to be skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Constant {
    /// Index 0 and the slot after a Long or Double.
    Unusable,
    Utf8(String),
    Integer(i32),
    Class(u16),
    NameAndType(u16, u16),
    Methodref(u16, u16),
    /// Any other valid tag (kept for diagnostics).
    Other(u8),
}

/// A located attribute: `start` is its name_index, `body` its first info
/// byte, `end` one past its last byte.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AttrSpan {
    pub(crate) name: u16,
    pub(crate) start: usize,
    pub(crate) body: usize,
    pub(crate) end: usize,
}

pub(crate) struct RawMethod {
    pub(crate) access: u16,
    pub(crate) name: u16,
    pub(crate) descriptor: u16,
    pub(crate) code: Option<AttrSpan>,
}

pub(crate) struct RawClass<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) major: u16,
    pub(crate) minor: u16,
    pub(crate) access: u16,
    pub(crate) this_class: u16,
    pub(crate) super_class: u16,
    pub(crate) interfaces: Vec<u16>,
    /// Indexed by constant pool index; `cp.len()` is constant_pool_count.
    pub(crate) cp: Vec<Constant>,
    /// Offset just past the last constant pool entry.
    pub(crate) cp_end: usize,
    pub(crate) methods: Vec<RawMethod>,
}

/// A parsed `Code` attribute; slices borrow the class bytes.
pub(crate) struct RawCode<'a> {
    pub(crate) max_stack: u16,
    pub(crate) max_locals: u16,
    pub(crate) code_start: usize,
    pub(crate) code: &'a [u8],
    /// (start_pc, end_pc, handler_pc, catch_type)
    pub(crate) handlers: Vec<[u16; 4]>,
    pub(crate) attrs: Vec<AttrSpan>,
}

impl<'a> RawClass<'a> {
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self> {
        let mut r = Reader::at(bytes, 0);
        let magic = r.u4()?;
        if magic != 0xCAFE_BABE {
            return Err(ClassFileError::BadMagic(magic));
        }
        let minor = r.u2()?;
        let major = r.u2()?;
        if !(MIN_MAJOR..=MAX_MAJOR).contains(&major) {
            return Err(ClassFileError::UnsupportedVersion { major, minor });
        }
        let cp = parse_constant_pool(&mut r)?;
        let cp_end = r.pos();
        let access = r.u2()?;
        let this_class = r.u2()?;
        let super_class = r.u2()?;
        let n = r.u2()?;
        let mut interfaces = Vec::with_capacity(r.capacity(n as usize, 2));
        for _ in 0..n {
            interfaces.push(r.u2()?);
        }
        // Fields: only skipped, but their attributes must be walked to find
        // where the methods begin.
        let n = r.u2()?;
        for _ in 0..n {
            r.skip(6)?;
            skip_attributes(&mut r)?;
        }
        let n = r.u2()?;
        let mut methods = Vec::with_capacity(r.capacity(n as usize, 8));
        for _ in 0..n {
            let access = r.u2()?;
            let name = r.u2()?;
            let descriptor = r.u2()?;
            let mut code = None;
            for attr in read_attributes(&mut r)? {
                if cp_utf8(&cp, attr.name)? == "Code" {
                    if code.is_some() {
                        return Err(ClassFileError::Malformed("method has two Code attributes".into()));
                    }
                    code = Some(attr);
                }
            }
            methods.push(RawMethod { access, name, descriptor, code });
        }
        skip_attributes(&mut r)?;
        if r.pos() != bytes.len() {
            return Err(ClassFileError::TrailingBytes { offset: r.pos() });
        }
        Ok(RawClass { bytes, major, minor, access, this_class, super_class, interfaces, cp, cp_end, methods })
    }

    /// Class files older than 45.3 store max_stack/max_locals as u1 and
    /// code_length as u2 (HotSpot still reads them that way).
    pub(crate) fn old_code_layout(&self) -> bool {
        self.major == 45 && self.minor < 3
    }

    pub(crate) fn utf8(&self, index: u16) -> Result<&str> {
        cp_utf8(&self.cp, index)
    }

    pub(crate) fn class_name(&self, index: u16) -> Result<&str> {
        match self.cp.get(index as usize) {
            Some(Constant::Class(name)) => self.utf8(*name),
            _ => Err(ClassFileError::BadConstantPoolIndex { index, expected: "Class" }),
        }
    }

    pub(crate) fn parse_code(&self, span: &AttrSpan) -> Result<RawCode<'a>> {
        let mut r = Reader::at(self.bytes, span.body);
        let (max_stack, max_locals, code_length) = if self.old_code_layout() {
            (r.u1()? as u16, r.u1()? as u16, r.u2()? as u32)
        } else {
            (r.u2()?, r.u2()?, r.u4()?)
        };
        let code_start = r.pos();
        let code = r.take(code_length as usize)?;
        let n = r.u2()?;
        let mut handlers = Vec::with_capacity(r.capacity(n as usize, 8));
        for _ in 0..n {
            handlers.push([r.u2()?, r.u2()?, r.u2()?, r.u2()?]);
        }
        let attrs = read_attributes(&mut r)?;
        if r.pos() != span.end {
            return Err(ClassFileError::Malformed(format!(
                "Code attribute length disagrees with its contents ({} vs {})",
                span.end - span.body,
                r.pos() - span.body
            )));
        }
        Ok(RawCode { max_stack, max_locals, code_start, code, handlers, attrs })
    }

    pub(crate) fn handlers(&self, code: &RawCode<'_>) -> Result<Vec<Handler>> {
        code.handlers
            .iter()
            .map(|&[start_pc, end_pc, handler_pc, catch]| {
                Ok(Handler {
                    start_pc,
                    end_pc,
                    handler_pc,
                    catch_type: if catch == 0 { None } else { Some(self.class_name(catch)?.to_string()) },
                })
            })
            .collect()
    }

    pub(crate) fn line_numbers(&self, code: &RawCode<'_>) -> Result<Vec<(u16, u16)>> {
        let mut lines = Vec::new();
        for attr in &code.attrs {
            if self.utf8(attr.name)? == "LineNumberTable" {
                let mut r = Reader::at(&self.bytes[..attr.end], attr.body);
                let n = r.u2()?;
                for _ in 0..n {
                    lines.push((r.u2()?, r.u2()?));
                }
            }
        }
        Ok(lines)
    }
}

pub(crate) fn cp_utf8(cp: &[Constant], index: u16) -> Result<&str> {
    match cp.get(index as usize) {
        Some(Constant::Utf8(s)) => Ok(s),
        _ => Err(ClassFileError::BadConstantPoolIndex { index, expected: "Utf8" }),
    }
}

fn read_attributes(r: &mut Reader<'_>) -> Result<Vec<AttrSpan>> {
    let n = r.u2()?;
    let mut attrs = Vec::with_capacity(r.capacity(n as usize, 6));
    for _ in 0..n {
        let start = r.pos();
        let name = r.u2()?;
        let len = r.u4()? as usize;
        let body = r.pos();
        r.skip(len)?;
        attrs.push(AttrSpan { name, start, body, end: r.pos() });
    }
    Ok(attrs)
}

fn skip_attributes(r: &mut Reader<'_>) -> Result<()> {
    let n = r.u2()?;
    for _ in 0..n {
        r.skip(2)?;
        let len = r.u4()? as usize;
        r.skip(len)?;
    }
    Ok(())
}

/// Reads `constant_pool_count` and the entries. Every tag defined up to
/// Java 25 is accepted; references between entries are not checked here
/// (the JVM does that), except where the reader later follows them.
fn parse_constant_pool(r: &mut Reader<'_>) -> Result<Vec<Constant>> {
    let count = r.u2()?;
    if count == 0 {
        return Err(ClassFileError::Malformed("constant_pool_count is 0".into()));
    }
    // The smallest entries (an empty Utf8, a Class) take 3 bytes.
    let mut cp = Vec::with_capacity(r.capacity(count as usize, 3));
    cp.push(Constant::Unusable);
    while cp.len() < count as usize {
        let index = cp.len() as u16;
        let tag = r.u1()?;
        let entry = match tag {
            1 => {
                let len = r.u2()? as usize;
                Constant::Utf8(decode_modified_utf8(r.take(len)?))
            }
            3 => Constant::Integer(r.u4()? as i32),
            4 => {
                r.skip(4)?;
                Constant::Other(tag)
            }
            // Long and Double take two slots (JVMS 4.4.5); the second is unusable.
            5 | 6 => {
                r.skip(8)?;
                if cp.len() + 2 > count as usize {
                    return Err(ClassFileError::Malformed(format!("8-byte constant at the last pool index {index}")));
                }
                cp.push(Constant::Other(tag));
                Constant::Unusable
            }
            7 => Constant::Class(r.u2()?),
            12 => Constant::NameAndType(r.u2()?, r.u2()?),
            10 => Constant::Methodref(r.u2()?, r.u2()?),
            // String, MethodType, Module, Package: one u2.
            8 | 16 | 19 | 20 => {
                r.skip(2)?;
                Constant::Other(tag)
            }
            // Fieldref, InterfaceMethodref, Dynamic, InvokeDynamic: two u2.
            9 | 11 | 17 | 18 => {
                r.skip(4)?;
                Constant::Other(tag)
            }
            // MethodHandle: reference_kind u1 + reference_index u2.
            15 => {
                r.skip(3)?;
                Constant::Other(tag)
            }
            _ => return Err(ClassFileError::BadConstantPoolTag { index, tag }),
        };
        cp.push(entry);
    }
    Ok(cp)
}

/// Decodes JVM "modified UTF-8" (JVMS 4.4.7): NUL as C0 80, supplementary
/// characters as surrogate pairs of 3-byte sequences. Invalid sequences (and
/// lone surrogates, which javac emits for such string literals) become U+FFFD
/// rather than errors, since only names the agent matches on must be exact.
fn decode_modified_utf8(b: &[u8]) -> String {
    if b.iter().all(|&c| c != 0 && c < 0x80) {
        // Pure ASCII is by far the common case; valid UTF-8 as is.
        return b.iter().map(|&c| c as char).collect();
    }
    let mut units: Vec<u16> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c != 0 && c < 0x80 {
            units.push(c as u16);
            i += 1;
        } else if c & 0xE0 == 0xC0 && i + 1 < b.len() && b[i + 1] & 0xC0 == 0x80 {
            units.push(((c as u16 & 0x1F) << 6) | (b[i + 1] as u16 & 0x3F));
            i += 2;
        } else if c & 0xF0 == 0xE0 && i + 2 < b.len() && b[i + 1] & 0xC0 == 0x80 && b[i + 2] & 0xC0 == 0x80 {
            units.push(((c as u16 & 0x0F) << 12) | ((b[i + 1] as u16 & 0x3F) << 6) | (b[i + 2] as u16 & 0x3F));
            i += 3;
        } else {
            units.push(0xFFFD);
            i += 1;
        }
    }
    String::from_utf16_lossy(&units)
}
