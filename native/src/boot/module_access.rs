//! Java module access for the hook classes (JVMTI AddModuleReads / AddModuleOpens): JDK
//! classes in named modules must be able to call the hook, and pool faults must reach into
//! java.base.

use jni::objects::JObject;
use jni::JNIEnv;

use super::HookClasses;
use crate::ffi::jni::in_local_frame;
use crate::ffi::jvmti::Jvmti;
use crate::guard;

/// Opens `java.lang` and `java.util.concurrent` of java.base to the hook's module: pool
/// faults find an executor from its worker threads, which no public API allows.
pub fn open_packages_for_pools(jvmti: &Jvmti, hooks: &HookClasses, env: &mut JNIEnv) {
    with_base_and_hook(hooks, env, |base, hook_module| {
        for package in [c"java.lang", c"java.util.concurrent"] {
            if let Err(e) = jvmti.add_module_opens(base, package, hook_module) {
                tracing::warn!("opening {package:?} to the hook: {e}");
            }
        }
    });
}

/// Exports java.base's `sun.nio.ch` and `jdk.internal.ref` to the hook's module: a direct
/// memory fault frees its buffers at once through their cleaners (on JDK 24 and later, where
/// `Unsafe.invokeCleaner` warns on the application's stderr), not at a later collection.
pub fn export_packages_for_direct_buffers(jvmti: &Jvmti, hooks: &HookClasses, env: &mut JNIEnv) {
    with_base_and_hook(hooks, env, |base, hook_module| {
        for package in [c"sun.nio.ch", c"jdk.internal.ref"] {
            if let Err(e) = jvmti.add_module_exports(base, package, hook_module) {
                tracing::warn!("exporting {package:?} to the hook: {e}");
            }
        }
    });
}

/// Runs `f` with java.base's module and the hook's module; nothing when either cannot be read.
fn with_base_and_hook(hooks: &HookClasses, env: &mut JNIEnv, f: impl FnOnce(&JObject, &JObject)) {
    in_local_frame(env, 16, |env| {
        let modules = guard::with(|| -> jni::errors::Result<(JObject, JObject)> {
            let hook_module = env.call_method(hooks.hook_class(), "getModule", "()Ljava/lang/Module;", &[])?.l()?;
            let object = env.find_class("java/lang/Object")?;
            let base = env.call_method(&object, "getModule", "()Ljava/lang/Module;", &[])?.l()?;
            Ok((base, hook_module))
        });
        let Ok((base, hook_module)) = modules else {
            let _ = env.exception_clear();
            return;
        };
        f(&base, &hook_module);
    });
}

/// Lets every named module read the hook's module: JDK classes live in named modules, and
/// a call from them into the boot loader's unnamed module is otherwise illegal.
pub fn open_modules_to_hook(jvmti: &Jvmti, hooks: &HookClasses, env: &mut JNIEnv) {
    in_local_frame(env, 32, |env| {
        let hook_module = guard::with(|| {
            env.call_method(hooks.hook_class(), "getModule", "()Ljava/lang/Module;", &[]).and_then(|v| v.l())
        });
        let Ok(hook_module) = hook_module else {
            let _ = env.exception_clear();
            return;
        };
        for module in jvmti.all_modules(env).unwrap_or_default() {
            let _ = jvmti.add_module_reads(&module, &hook_module);
        }
    });
}
