//! Matching and rewriting: which loaded classes an armed fault reaches (`loaded`), what the
//! class file hook does with a class being loaded or retransformed (`class_hook`), the
//! instrumented methods and the faults bound to each (`sites`), the classes never touched
//! (`never`), and where an injected exception will be caught (`catch_handlers`). The data
//! all of them work on is the armed fault (`armed`). The rewriter itself is `crate::classfile`.

pub mod armed;
pub mod catch_handlers;
pub mod class_hook;
pub mod loaded;
pub mod never;
pub mod sites;
