//! Class file reading and rewriting (JVMS chapter 4).
//!
//! The agent needs two things from a class file: a summary of its methods (to
//! decide what to hook) and a copy in which chosen methods call
//! `io/faultline/boot/Hook`. For the common case, a call at entry only, the
//! rewriter deliberately understands as little as possible: it never decodes
//! instructions, copies everything outside the hooked methods' `Code`
//! attributes byte for byte, and inside them only adjusts the structures that
//! hold absolute code offsets (branch offsets are relative and the prologue's
//! length is a multiple of 4, so the bytecode itself is copied unchanged).
//! Faults that read arguments, return early or act at exit need code in the
//! middle of a method: those methods are decoded and moved apart (`code`).
//!
//! Everything here is pure safe Rust and never panics on malformed input: every
//! read is bounds-checked and reported as a [`ClassFileError`].

mod code;
pub mod fuzz_check;
mod reader;
mod rewrite;
mod stackmap;

#[cfg(test)]
mod tests;

pub use reader::{
    exception_handlers, method_code, methods_code, parse, ClassInfo, CodeInfo, Frame, Handler, LocalVar,
    MethodHandlers, MethodInfo,
};
pub use rewrite::{instrument, Capture, EntryCall, ExitCall, Instrumented, MethodHook, OffsetMap, PROLOGUE_LEN};

/// Internal name of the class whose static methods the prologue calls. It is
/// expected on the boot class path so every class loader can resolve it.
pub const HOOK_CLASS: &str = "io/faultline/boot/Hook";
/// `Hook.enter(int site)`: called by unguarded prologues.
pub const HOOK_ENTER: &str = "enter";
/// `Hook.enterGuarded(int site)`: called by guarded prologues.
pub const HOOK_ENTER_GUARDED: &str = "enterGuarded";
/// Descriptor of both hook methods.
pub const HOOK_DESCRIPTOR: &str = "(I)V";

/// Lowest class file major version accepted (JDK 1.0.2 / 1.1).
pub const MIN_MAJOR: u16 = 45;
/// Highest class file major version accepted (JDK 25).
pub const MAX_MAJOR: u16 = 69;

/// Why a class file could not be read or rewritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClassFileError {
    /// The input ended while `wanted` more bytes were needed at `offset`.
    Truncated { offset: usize, wanted: usize },
    /// The first four bytes are not `0xCAFEBABE`.
    BadMagic(u32),
    /// Major version outside `MIN_MAJOR..=MAX_MAJOR`.
    UnsupportedVersion { major: u16, minor: u16 },
    /// A constant pool entry with a tag no JDK up to 25 defines.
    BadConstantPoolTag { index: u16, tag: u8 },
    /// A constant pool reference that is out of range or of the wrong kind.
    BadConstantPoolIndex { index: u16, expected: &'static str },
    /// Appending the hook's constants would need more than 65535 pool slots.
    ConstantPoolOverflow { needed: u32 },
    /// A StackMapTable frame type in the reserved range 128..=246.
    BadStackMapFrame { frame_type: u8 },
    /// A verification type tag above 8.
    BadVerificationType { tag: u8 },
    /// Bytes left over after the last class attribute.
    TrailingBytes { offset: usize },
    /// Any other structural inconsistency (described).
    Malformed(String),
}

impl std::fmt::Display for ClassFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClassFileError::Truncated { offset, wanted } => {
                write!(f, "class file truncated: {wanted} more bytes needed at offset {offset}")
            }
            ClassFileError::BadMagic(m) => write!(f, "bad magic number {m:#010x}"),
            ClassFileError::UnsupportedVersion { major, minor } => {
                write!(f, "unsupported class file version {major}.{minor} (supported majors {MIN_MAJOR}..={MAX_MAJOR})")
            }
            ClassFileError::BadConstantPoolTag { index, tag } => {
                write!(f, "unknown constant pool tag {tag} at index {index}")
            }
            ClassFileError::BadConstantPoolIndex { index, expected } => {
                write!(f, "constant pool index {index} is not a valid {expected}")
            }
            ClassFileError::ConstantPoolOverflow { needed } => {
                write!(f, "constant pool would need {needed} slots, the limit is 65535")
            }
            ClassFileError::BadStackMapFrame { frame_type } => {
                write!(f, "reserved StackMapTable frame type {frame_type}")
            }
            ClassFileError::BadVerificationType { tag } => {
                write!(f, "unknown verification type tag {tag}")
            }
            ClassFileError::TrailingBytes { offset } => {
                write!(f, "unexpected bytes after the class file's end at offset {offset}")
            }
            ClassFileError::Malformed(why) => write!(f, "malformed class file: {why}"),
        }
    }
}

impl std::error::Error for ClassFileError {}
