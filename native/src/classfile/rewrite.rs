//! Inserting the hook prologue at the start of methods.
//!
//! The prologue is always 8 bytes:
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

use super::reader::{Constant, RawClass, Reader};
use super::{stackmap, ClassFileError, HOOK_CLASS, HOOK_DESCRIPTOR, HOOK_ENTER, HOOK_ENTER_GUARDED};

type Result<T> = std::result::Result<T, ClassFileError>;

/// Length in bytes of every prologue [`instrument`] inserts.
pub const PROLOGUE_LEN: u16 = 8;

/// A request to hook one method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodHook {
    /// Index into [`super::ClassInfo::methods`] (class file order).
    pub method_index: usize,
    /// Value passed to the hook; meant to be >= 0 (negative values work too,
    /// through the `ldc_w` form).
    pub site: i32,
    /// Call `Hook.enterGuarded` instead of `Hook.enter`.
    pub guarded: bool,
}

/// Result of [`instrument`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instrumented {
    pub bytes: Vec<u8>,
    /// Bytes inserted at offset 0 of every hooked method (always [`PROLOGUE_LEN`]).
    pub prologue_len: u16,
    /// Methods left untouched, with the reason: `(method_index, why)`.
    pub skipped: Vec<(usize, String)>,
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
    Ok(Instrumented { bytes: out, prologue_len: PROLOGUE_LEN, skipped })
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

/// Appends the constants the prologues need, reusing identical existing
/// entries where a linear scan finds them.
struct PoolBuilder<'c> {
    cp: &'c [Constant],
    /// Next free index; the final constant_pool_count.
    next: u32,
    extra: Vec<u8>,
    utf8: HashMap<String, u16>,
    class: Option<u16>,
    methodrefs: [Option<u16>; 2],
    integers: HashMap<i32, u16>,
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
        }
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
