//! Compiles the hook classes (`java-agent/boot/`) with the JDK's `javac` and embeds them into
//! the agent library, which defines them in the bootstrap class loader at start. (The jars
//! shipped beside the agent are built by `jars/`.)

use std::env;
use std::path::PathBuf;

use faultline_javac::{embed_classes, Jdk};

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("native/ sits in the workspace root").to_path_buf();
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let boot = root.join("java-agent/boot");
    println!("cargo:rerun-if-changed={}", boot.display());
    println!("cargo:rerun-if-env-changed=JAVA_HOME");

    let boot_out = out_dir.join("boot-classes");
    Jdk::find().compile(&boot, &boot_out, &[]);
    embed_classes(&boot_out, &out_dir.join("boot_classes.rs"));
}
