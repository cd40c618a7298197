//! Unit tests: hand-built class files for exact byte-level expectations, and
//! javac-compiled classes (compiled at test time; a JDK must be on PATH) for
//! realistic shapes.

use super::*;
use std::path::{Path, PathBuf};
use std::process::Command;

// ---------------------------------------------------------------------------
// Hand-built classes.

const BASE_POOL: &[&str] = &[
    "T",                             // 1
    "",                              // 2: Class #1 (patched below)
    "java/lang/Object",              // 3
    "",                              // 4: Class #3
    "m",                             // 5
    "()V",                           // 6
    "Code",                          // 7
    "StackMapTable",                 // 8
    "LineNumberTable",               // 9
    "RuntimeVisibleTypeAnnotations", // 10
    "Foo",                           // 11
    "LocalVariableTable",            // 12
];

fn utf8_entry(s: &str) -> Vec<u8> {
    let mut e = vec![1];
    e.extend_from_slice(&(s.len() as u16).to_be_bytes());
    e.extend_from_slice(s.as_bytes());
    e
}

struct Spec {
    major: u16,
    minor: u16,
    extra_pool: Vec<Vec<u8>>,
    extra_slots: usize, // slots used by extra_pool (Long/Double take 2)
    max_stack: u16,
    code: Vec<u8>,
    handlers: Vec<[u16; 4]>,
    attrs: Vec<(u16, Vec<u8>)>,
}

impl Spec {
    fn new(code: Vec<u8>) -> Self {
        Spec {
            major: 52,
            minor: 0,
            extra_pool: vec![],
            extra_slots: 0,
            max_stack: 0,
            code,
            handlers: vec![],
            attrs: vec![],
        }
    }

    fn build(&self) -> Vec<u8> {
        let mut b = vec![0xCA, 0xFE, 0xBA, 0xBE];
        b.extend_from_slice(&self.minor.to_be_bytes());
        b.extend_from_slice(&self.major.to_be_bytes());
        let count = 1 + BASE_POOL.len() + self.extra_slots;
        b.extend_from_slice(&(count as u16).to_be_bytes());
        for (i, s) in BASE_POOL.iter().enumerate() {
            match i + 1 {
                2 => b.extend_from_slice(&[7, 0, 1]),
                4 => b.extend_from_slice(&[7, 0, 3]),
                _ => b.extend_from_slice(&utf8_entry(s)),
            }
        }
        for e in &self.extra_pool {
            b.extend_from_slice(e);
        }
        b.extend_from_slice(&[0x00, 0x21, 0, 2, 0, 4, 0, 0, 0, 0]); // access, this, super, ifaces, fields
        b.extend_from_slice(&[0, 1, 0, 9, 0, 5, 0, 6, 0, 1]); // 1 method: public static m()V, 1 attr
        let mut code = Vec::new();
        let old = self.major == 45 && self.minor < 3;
        if old {
            code.extend_from_slice(&[self.max_stack as u8, 0]);
            code.extend_from_slice(&(self.code.len() as u16).to_be_bytes());
        } else {
            code.extend_from_slice(&self.max_stack.to_be_bytes());
            code.extend_from_slice(&[0, 0]);
            code.extend_from_slice(&(self.code.len() as u32).to_be_bytes());
        }
        code.extend_from_slice(&self.code);
        code.extend_from_slice(&(self.handlers.len() as u16).to_be_bytes());
        for h in &self.handlers {
            for v in h {
                code.extend_from_slice(&v.to_be_bytes());
            }
        }
        code.extend_from_slice(&(self.attrs.len() as u16).to_be_bytes());
        for (name, body) in &self.attrs {
            code.extend_from_slice(&name.to_be_bytes());
            code.extend_from_slice(&(body.len() as u32).to_be_bytes());
            code.extend_from_slice(body);
        }
        b.extend_from_slice(&[0, 7]);
        b.extend_from_slice(&(code.len() as u32).to_be_bytes());
        b.extend_from_slice(&code);
        b.extend_from_slice(&[0, 0]); // class attributes
        b
    }
}

fn hook0() -> Vec<MethodHook> {
    vec![MethodHook::entry(0, 7, false)]
}

fn pool_count(bytes: &[u8]) -> u16 {
    u16::from_be_bytes([bytes[8], bytes[9]])
}

#[test]
fn every_constant_pool_tag_is_read() {
    let mut s = Spec::new(vec![0xB1]);
    s.extra_pool = vec![
        vec![3, 0, 0, 0, 42],                  // Integer
        vec![4, 0x3F, 0x80, 0, 0],             // Float
        vec![5, 0, 0, 0, 0, 0, 0, 0, 1],       // Long (2 slots)
        vec![6, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0], // Double (2 slots)
        vec![8, 0, 1],                         // String
        vec![12, 0, 5, 0, 6],                  // NameAndType m()V
        vec![9, 0, 4, 0, 18],                  // Fieldref
        vec![10, 0, 4, 0, 18],                 // Methodref
        vec![11, 0, 4, 0, 18],                 // InterfaceMethodref
        vec![15, 6, 0, 20],                    // MethodHandle
        vec![16, 0, 6],                        // MethodType
        vec![17, 0, 0, 0, 18],                 // Dynamic
        vec![18, 0, 0, 0, 18],                 // InvokeDynamic
        vec![19, 0, 1],                        // Module
        vec![20, 0, 1],                        // Package
        utf8_entry("caf\u{e9} \u{1F600}"),     // non-ASCII (plain UTF-8 here; decoded lossily)
    ];
    s.extra_slots = s.extra_pool.len() + 2;
    s.major = 69;
    let bytes = s.build();
    let info = parse(&bytes).expect("parse");
    assert_eq!(info.name, "T");
    assert_eq!(info.super_name.as_deref(), Some("java/lang/Object"));
    assert_eq!(info.major, 69);
    assert_eq!(info.methods.len(), 1);
    assert_eq!(info.methods[0].code_length, Some(1));
    let out = instrument(&bytes, &hook0()).expect("instrument");
    assert!(out.skipped.is_empty());
    // Utf8 Hook, Class, Utf8 enter, Utf8 (I)V, NameAndType, Methodref.
    assert_eq!(pool_count(&out.bytes), pool_count(&bytes) + 6);
    let again = parse(&out.bytes).expect("reparse");
    assert_eq!(again.methods[0].code_length, Some(9));
}

#[test]
fn unknown_tag_and_versions_are_errors() {
    let mut s = Spec::new(vec![0xB1]);
    s.extra_pool = vec![vec![21, 0, 0]];
    s.extra_slots = 1;
    assert!(matches!(parse(&s.build()), Err(ClassFileError::BadConstantPoolTag { tag: 21, .. })));
    let mut s = Spec::new(vec![0xB1]);
    s.major = 70;
    assert_eq!(parse(&s.build()), Err(ClassFileError::UnsupportedVersion { major: 70, minor: 0 }));
    assert!(instrument(&s.build(), &hook0()).is_err());
    s.major = 44;
    assert!(matches!(parse(&s.build()), Err(ClassFileError::UnsupportedVersion { .. })));
    let mut bad = Spec::new(vec![0xB1]).build();
    bad[0] = 0;
    assert!(matches!(parse(&bad), Err(ClassFileError::BadMagic(_))));
    let mut trailing = Spec::new(vec![0xB1]).build();
    trailing.push(0);
    assert!(matches!(parse(&trailing), Err(ClassFileError::TrailingBytes { .. })));
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    let mut s = Spec::new(vec![0x00, 0xB1]);
    s.attrs = vec![(9, vec![0, 1, 0, 1, 0, 5]), (8, vec![0, 1, 1])];
    let bytes = s.build();
    parse(&bytes).expect("whole class parses");
    for len in 0..bytes.len() {
        assert!(parse(&bytes[..len]).is_err(), "prefix {len}");
        assert!(instrument(&bytes[..len], &hook0()).is_err(), "prefix {len}");
    }
}

#[test]
fn zero_hooks_and_skips_leave_bytes_identical() {
    let bytes = Spec::new(vec![0xB1]).build();
    assert_eq!(instrument(&bytes, &[]).expect("x").bytes, bytes);
    let bad_hooks = [MethodHook::entry(3, 1, false)];
    let out = instrument(&bytes, &bad_hooks).expect("x");
    assert_eq!(out.bytes, bytes);
    assert_eq!(out.skipped.len(), 1);
}

#[test]
fn prologue_bytes_and_offsets() {
    // nop; nop; new #4; dup; ...: only offsets matter for the rewriter.
    let mut s = Spec::new(vec![0x00; 70]);
    s.max_stack = 0;
    s.handlers = vec![[0, 10, 20, 4], [5, 6, 7, 0]];
    let mut lnt = vec![0, 3];
    for (pc, line) in [(0u16, 10u16), (4, 11), (60, 12)] {
        lnt.extend_from_slice(&pc.to_be_bytes());
        lnt.extend_from_slice(&line.to_be_bytes());
    }
    let mut lvt = vec![0, 2];
    lvt.extend_from_slice(&[0, 0, 0, 70, 0, 5, 0, 6, 0, 0]); // start 0, len 70
    lvt.extend_from_slice(&[0, 4, 0, 10, 0, 5, 0, 6, 0, 1]); // start 4, len 10
                                                             // Frames: same_frame delta 60 (-> 251, 68), then same_locals_1_stack_item
                                                             // delta 2 with Uninitialized(3), then full_frame delta 1 with
                                                             // Uninitialized(40) in locals and stack.
    let mut smt = vec![0, 3, 60, 64 + 2, 8, 0, 3];
    smt.extend_from_slice(&[255, 0, 1, 0, 1, 8, 0, 40, 0, 2, 1, 8, 0, 40]);
    let tya = vec![0, 1, 0x47, 0, 1, 0, 3, 0, 0, 0, 10, 0, 0]; // opaque to us
    s.attrs = vec![(9, lnt), (12, lvt), (8, smt), (10, tya), (11, vec![1, 2, 3])];
    let bytes = s.build();
    let before = method_code(&bytes, 0).expect("code").expect("has code");
    assert_eq!(before.frames.as_ref().map(|f| f.len()), Some(3));

    let hooks = [MethodHook::entry(0, 300, true)];
    let out = instrument(&bytes, &hooks).expect("instrument");
    assert_eq!(out.prologue_len, 8);
    let c = method_code(&out.bytes, 0).expect("code").expect("has code");
    assert_eq!(c.max_stack, 1);
    assert_eq!(c.code.len(), 78);
    assert_eq!(&c.code[..3], &[0x11, 0x01, 0x2C]); // sipush 300
    assert_eq!(c.code[3], 0xB8);
    assert_eq!(&c.code[6..8], &[0, 0]);
    assert_eq!(&c.code[8..], &before.code[..]);
    let mref = u16::from_be_bytes([c.code[4], c.code[5]]);
    assert_eq!(mref as usize, pool_count(&out.bytes) as usize - 1, "Methodref appended last");
    assert_eq!(
        c.handlers.iter().map(|h| (h.start_pc, h.end_pc, h.handler_pc)).collect::<Vec<_>>(),
        vec![(8, 18, 28), (13, 14, 15)]
    );
    assert_eq!(c.handlers[0].catch_type.as_deref(), Some("java/lang/Object"));
    assert_eq!(c.handlers[1].catch_type, None);
    assert_eq!(c.lines, vec![(0, 10), (12, 11), (68, 12)]);
    assert_eq!(
        c.local_vars.iter().map(|v| (v.start_pc, v.length, v.index)).collect::<Vec<_>>(),
        vec![(0, 78, 0), (12, 10, 1)]
    );
    let frames = c.frames.expect("frames");
    assert_eq!(frames[0].frame_type, 251);
    assert_eq!(frames[0].offset, 68);
    assert_eq!((frames[1].frame_type, frames[1].offset), (66, 71));
    assert_eq!(frames[1].uninitialized, vec![11]);
    assert_eq!((frames[2].frame_type, frames[2].offset), (255, 73));
    assert_eq!(frames[2].uninitialized, vec![48, 48]);
    assert_eq!(c.attribute_names, vec!["LineNumberTable", "LocalVariableTable", "StackMapTable", "Foo"]);

    // Exercise line_at through exception_handlers.
    let h = exception_handlers(&out.bytes, "m", "()V").expect("ok").expect("found");
    assert_eq!(h.line_at(0), Some(10));
    assert_eq!(h.line_at(7), Some(10));
    assert_eq!(h.line_at(12), Some(11));
    assert_eq!(h.line_at(67), Some(11));
    assert_eq!(h.line_at(70), Some(12));
    assert_eq!(exception_handlers(&out.bytes, "m", "(I)V").expect("ok"), None);

    // Second instrumentation reuses every constant; a large site adds one Integer.
    let again = instrument(&out.bytes, &hooks).expect("again");
    assert_eq!(pool_count(&again.bytes), pool_count(&out.bytes));
    let big = instrument(&out.bytes, &[MethodHook::entry(0, 40000, true)]).expect("big");
    assert_eq!(pool_count(&big.bytes), pool_count(&out.bytes) + 1);
    let c = method_code(&big.bytes, 0).expect("code").expect("has code");
    assert_eq!(c.code[0], 0x13, "ldc_w");
    assert_eq!(c.code.len(), 86);
}

#[test]
fn same_locals_1_stack_item_becomes_extended() {
    let mut s = Spec::new(vec![0x00; 64]);
    s.attrs = vec![(8, vec![0, 2, 64 + 57, 1, 0])];
    let out = instrument(&s.build(), &hook0()).expect("instrument");
    let f = method_code(&out.bytes, 0).expect("ok").expect("code").frames.expect("frames");
    assert_eq!((f[0].frame_type, f[0].offset), (247, 65));
    assert_eq!((f[1].frame_type, f[1].offset), (0, 66));
    // Small deltas stay compact.
    let mut s = Spec::new(vec![0x00; 64]);
    s.attrs = vec![(8, vec![0, 1, 64 + 3, 1])];
    let out = instrument(&s.build(), &hook0()).expect("instrument");
    let f = method_code(&out.bytes, 0).expect("ok").expect("code").frames.expect("frames");
    assert_eq!((f[0].frame_type, f[0].offset), (64 + 11, 11));
}

#[test]
fn bad_stack_map_is_an_error_but_ignored_before_50() {
    let mut s = Spec::new(vec![0xB1]);
    s.attrs = vec![(8, vec![0, 1, 200])];
    assert_eq!(instrument(&s.build(), &hook0()), Err(ClassFileError::BadStackMapFrame { frame_type: 200 }));
    s.attrs = vec![(8, vec![0, 1, 64, 9])];
    assert_eq!(instrument(&s.build(), &hook0()), Err(ClassFileError::BadVerificationType { tag: 9 }));
    // Major 49: the JVM ignores StackMapTable, so it is copied as is.
    s.major = 49;
    s.attrs = vec![(8, vec![0, 1, 200])];
    let out = instrument(&s.build(), &hook0()).expect("instrument");
    let c = method_code(&out.bytes, 0).expect("ok").expect("code");
    assert_eq!(c.code.len(), 9);
    assert!(out.bytes.windows(3).any(|w| w == [0, 1, 200]));
}

#[test]
fn pre_45_3_code_layout() {
    let mut s = Spec::new(vec![0xB1]);
    s.major = 45;
    s.minor = 0;
    let bytes = s.build();
    assert_eq!(parse(&bytes).expect("parse").methods[0].code_length, Some(1));
    let out = instrument(&bytes, &hook0()).expect("instrument");
    let c = method_code(&out.bytes, 0).expect("ok").expect("code");
    assert_eq!((c.max_stack, c.code.len()), (1, 9));
    assert_eq!(c.code[8], 0xB1);
}

#[test]
fn code_length_limit() {
    let fits = Spec::new(vec![0; 65527]).build();
    let out = instrument(&fits, &hook0()).expect("instrument");
    assert!(out.skipped.is_empty());
    assert_eq!(parse(&out.bytes).expect("parse").methods[0].code_length, Some(65535));
    let too_big = Spec::new(vec![0; 65528]).build();
    let out = instrument(&too_big, &hook0()).expect("instrument");
    assert_eq!(out.bytes, too_big);
    assert_eq!(out.skipped.len(), 1);
    assert!(out.skipped[0].1.contains("65535"), "{:?}", out.skipped);
}

#[test]
fn constant_pool_overflow() {
    // 13 base slots (count 13 with index 0) + n extra; 6 new entries needed.
    let with_count = |count: usize| {
        let mut s = Spec::new(vec![0xB1]);
        s.extra_slots = count - 1 - BASE_POOL.len();
        s.extra_pool = (0..s.extra_slots).map(|i| utf8_entry(&format!("u{i}"))).collect();
        s.build()
    };
    let ok = with_count(65529);
    let out = instrument(&ok, &hook0()).expect("fits exactly");
    assert_eq!(pool_count(&out.bytes), 65535);
    parse(&out.bytes).expect("reparse");
    let over = with_count(65530);
    assert!(matches!(instrument(&over, &hook0()), Err(ClassFileError::ConstantPoolOverflow { .. })));
    assert_eq!(instrument(&over, &[]).expect("no hooks").bytes, over);
}

#[test]
fn line_at_picks_greatest_start_not_after_pc() {
    let h = MethodHandlers { handlers: vec![], lines: vec![(10, 3), (0, 1), (5, 2), (10, 4)] };
    assert_eq!(h.line_at(0), Some(1));
    assert_eq!(h.line_at(9), Some(2));
    assert_eq!(h.line_at(10), Some(4));
    let empty = MethodHandlers { handlers: vec![], lines: vec![(4, 1)] };
    assert_eq!(empty.line_at(3), None);
}

// ---------------------------------------------------------------------------
// javac-compiled classes.

pub(crate) fn temp_dir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("faultline-cf-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

fn class_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            class_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "class") {
            out.push(p);
        }
    }
}

const SAMPLE: &str = r#"
package t;
import java.util.*;
public class Sample {
    static int counter = Integer.getInteger("nope", 3);
    private int x;
    public Sample(int x) { this.x = x; }
    public Sample() { this(new StringBuilder(counter > 0 ? "a" : "b").length()); }
    public int handlers(String s) {
        try { return Integer.parseInt(s); }
        catch (NumberFormatException e) { return -1; }
        finally { x++; }
    }
    public static Object newFirst(boolean b) { return new StringBuilder(b ? "a" : "b"); }
    public static int loopAtZero(int n) { while (n > 10) { n -= 3; } return n; }
    public static int sw(int k) { switch (k) { case 1: return 10; case 2: return 20; case 3: return 30; default: return 0; } }
    public static int lsw(int k) { switch (k) { case 1: return 1; case 1000: return 2; case 100000: return 3; default: return 0; } }
    public native int nat();
    public static int generic(List<String> l) { int n = 0; for (String s : l) n += s.length(); return n; }
    __DELTAS__
}
abstract class Abs { abstract void f(); }
"#;

/// Methods whose first frame lands at 6k + c for k = 0..12, so some land in
/// 56..=63 where the compact frame types must switch to extended forms.
fn delta_methods() -> String {
    let mut s = String::new();
    for k in 0..12 {
        let body = "a = a * 3 + 1; ".repeat(k);
        s.push_str(&format!("static int same{k}(int a, boolean b) {{ {body} if (b) a++; return a; }}\n"));
        s.push_str(&format!("static int one{k}(int a, boolean b) {{ {body} return Math.max(a, b ? 1 : 2); }}\n"));
    }
    s
}

fn compile_sample(release: &str) -> Vec<PathBuf> {
    let dir = temp_dir(&format!("unit{release}"));
    let src = dir.join("Sample.java");
    std::fs::write(&src, SAMPLE.replace("__DELTAS__", &delta_methods())).expect("write source");
    let status = Command::new("javac")
        .args(["-g", "--release", release, "-d"])
        .arg(dir.join("out"))
        .arg(&src)
        .status()
        .expect("javac must be on PATH for these tests (JDK 11+)");
    assert!(status.success(), "javac failed");
    let mut files = Vec::new();
    class_files(&dir.join("out"), &mut files);
    files.sort();
    files
}

#[test]
fn javac_classes_round_trip_and_rewrite() {
    let mut conversions = (0, 0); // (same_frame -> 251, same_locals_1 -> 247)
    let mut uninit_seen = 0;
    let mut zero_delta_seen = 0;
    for release in ["8", "11", "17"] {
        let files = compile_sample(release);
        assert_eq!(files.len(), 2, "{files:?}");
        for file in files {
            let bytes = std::fs::read(&file).expect("read class");
            let info = parse(&bytes).expect("parse");
            let expect_major = match release {
                "8" => 52,
                "11" => 55,
                _ => 61,
            };
            assert_eq!(info.major, expect_major);
            assert_eq!(instrument(&bytes, &[]).expect("no hooks").bytes, bytes);

            let hooks: Vec<MethodHook> =
                (0..info.methods.len()).map(|i| MethodHook::entry(i, i as i32, i % 2 == 1)).collect();
            let out = instrument(&bytes, &hooks).expect("instrument");
            let again = parse(&out.bytes).expect("reparse");
            assert_eq!(again.name, info.name);
            assert_eq!(again.methods.len(), info.methods.len());
            for (i, (m, n)) in info.methods.iter().zip(&again.methods).enumerate() {
                assert_eq!((&m.name, &m.descriptor, m.access), (&n.name, &n.descriptor, n.access));
                let skipped = out.skipped.iter().any(|s| s.0 == i);
                let expect_skip = m.code_length.is_none() || m.name == "<clinit>";
                assert_eq!(skipped, expect_skip, "{}{}", m.name, m.descriptor);
                if skipped {
                    assert_eq!(n.code_length, m.code_length);
                    continue;
                }
                assert_eq!(n.code_length, m.code_length.map(|l| l + 8));
                let a = method_code(&bytes, i).expect("ok").expect("code");
                let b = method_code(&out.bytes, i).expect("ok").expect("code");
                assert_eq!(&b.code[8..], &a.code[..]);
                assert_eq!(b.code[0], 0x11);
                assert_eq!(u16::from_be_bytes([b.code[1], b.code[2]]) as usize, i);
                for (x, y) in a.handlers.iter().zip(&b.handlers) {
                    assert_eq!(
                        (x.start_pc + 8, x.end_pc + 8, x.handler_pc + 8, &x.catch_type),
                        (y.start_pc, y.end_pc, y.handler_pc, &y.catch_type)
                    );
                }
                assert_eq!(a.handlers.len(), b.handlers.len());
                let shifted: Vec<_> = a.lines.iter().map(|&(pc, l)| (if pc == 0 { 0 } else { pc + 8 }, l)).collect();
                assert_eq!(b.lines, shifted);
                assert!(!a.lines.is_empty());
                for (x, y) in a.local_vars.iter().zip(&b.local_vars) {
                    if x.start_pc == 0 {
                        assert_eq!((y.start_pc, y.length), (0, x.length + 8));
                    } else {
                        assert_eq!((y.start_pc, y.length), (x.start_pc + 8, x.length));
                    }
                }
                match (&a.frames, &b.frames) {
                    (None, None) => {}
                    (Some(fa), Some(fb)) => {
                        assert_eq!(fa.len(), fb.len());
                        for (j, (x, y)) in fa.iter().zip(fb).enumerate() {
                            assert_eq!(x.offset + 8, y.offset);
                            if j == 0 && x.offset == 0 {
                                zero_delta_seen += 1;
                            }
                            if j == 0 && x.frame_type <= 63 && y.frame_type == 251 {
                                conversions.0 += 1;
                            }
                            if j == 0 && (64..=127).contains(&x.frame_type) && y.frame_type == 247 {
                                conversions.1 += 1;
                            }
                            for (u, v) in x.uninitialized.iter().zip(&y.uninitialized) {
                                assert_eq!(u + 8, *v);
                                assert_eq!(b.code[*v as usize], 0xBB, "Uninitialized points at new");
                                uninit_seen += 1;
                            }
                        }
                    }
                    _ => panic!("frames appeared or vanished"),
                }
            }
            let h = exception_handlers(&out.bytes, "handlers", "(Ljava/lang/String;)I").expect("ok");
            if let Some(h) = h {
                let orig = exception_handlers(&bytes, "handlers", "(Ljava/lang/String;)I").expect("ok").expect("found");
                assert!(h.handlers.iter().any(|x| x.catch_type.as_deref() == Some("java/lang/NumberFormatException")));
                assert!(h.handlers.iter().any(|x| x.catch_type.is_none()), "finally");
                assert_eq!(h.line_at(0), orig.line_at(0));
                for hd in &h.handlers {
                    assert_eq!(h.line_at(hd.handler_pc), orig.line_at(hd.handler_pc - 8));
                }
            }
        }
    }
    assert!(conversions.0 > 0 && conversions.1 > 0, "no frame type conversion exercised: {conversions:?}");
    assert!(uninit_seen > 0, "no Uninitialized frame exercised");
    assert!(zero_delta_seen > 0, "no frame at offset 0 exercised");
}
