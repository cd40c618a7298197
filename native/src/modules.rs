//! Module access for the hook class (JVMTI AddModuleReads / AddModuleOpens): JDK classes
//! in named modules must be able to call it, and pool faults must reach into java.base.

use jni::objects::JObject;
use jni::JNIEnv;

use crate::agent::Agent;
use crate::{guard, hook};

/// Opens `java.lang` and `java.util.concurrent` of java.base to the hook's module: pool
/// faults find an executor from its worker threads, which no public API allows.
pub(crate) fn open_packages_for_pools(agent: &Agent, env: &mut JNIEnv) {
    let Some(java) = agent.java.get() else { return };
    hook::in_local_frame(env, 16, |env| {
        let modules = guard::with(|| -> jni::errors::Result<(JObject, JObject)> {
            let hook_module = env.call_method(java.hook_class(), "getModule", "()Ljava/lang/Module;", &[])?.l()?;
            let object = env.find_class("java/lang/Object")?;
            let base = env.call_method(&object, "getModule", "()Ljava/lang/Module;", &[])?.l()?;
            Ok((base, hook_module))
        });
        let Ok((base, hook_module)) = modules else {
            let _ = env.exception_clear();
            return;
        };
        for package in [c"java.lang", c"java.util.concurrent"] {
            if let Err(e) = agent.jvmti.add_module_opens(base.as_raw(), package, hook_module.as_raw()) {
                tracing::warn!("opening {package:?} to the hook: {e}");
            }
        }
    });
}

/// Lets every named module read the hook's module: JDK classes live in named modules, and
/// a call from them into the boot loader's unnamed module is otherwise illegal.
pub(crate) fn open_modules_to_hook(agent: &Agent, env: &mut JNIEnv) {
    let Some(java) = agent.java.get() else { return };
    hook::in_local_frame(env, 32, |env| {
        let hook_module = guard::with(|| {
            env.call_method(java.hook_class(), "getModule", "()Ljava/lang/Module;", &[]).and_then(|v| v.l())
        });
        let Ok(hook_module) = hook_module else {
            let _ = env.exception_clear();
            return;
        };
        for module in agent.jvmti.all_modules().unwrap_or_default() {
            let _ = agent.jvmti.add_module_reads(module, hook_module.as_raw());
            // SAFETY: a local reference returned by GetAllModules.
            let _ = env.delete_local_ref(unsafe { JObject::from_raw(module) });
        }
    });
}
