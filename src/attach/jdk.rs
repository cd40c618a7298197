//! Which JDK a JVM runs: from `<java.home>/release`, else from the version string compiled
//! into its `libjvm.so`. Read through `/proc/PID/root` so that containers work.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};

use super::proc::{libjvm_path, ProcessInfo};

/// The JDK version of a running JVM (`17.0.15`, `1.8.0_392`), or `None` when it is not a JVM
/// or neither the release file nor the library tells.
pub fn jdk_version(info: &ProcessInfo) -> Option<String> {
    let libjvm = libjvm_path(info.pid).ok()??;
    jdk_version_of(info, &libjvm)
}

/// The JDK version of the JVM whose `libjvm.so` is at `libjvm` (as the process sees it).
pub fn jdk_version_of(info: &ProcessInfo, libjvm: &Path) -> Option<String> {
    release_version(info, libjvm).or_else(|| libjvm_version(&info.host_path(libjvm)).ok().flatten())
}

/// The major version: `17.0.15` → 17, `1.8.0_392` → 8, `25-ea` → 25.
pub fn major(version: &str) -> Option<u32> {
    let mut parts = version.split(|c: char| !c.is_ascii_digit());
    let first: u32 = parts.next()?.parse().ok()?;
    if first == 1 {
        parts.next()?.parse().ok()
    } else {
        Some(first)
    }
}

/// `JAVA_VERSION` of the release file in java.home: two directories above `libjvm.so` on
/// JDK 9+ (`lib/server/`), three or four on JDK 8 (`jre/lib/amd64/server/`).
fn release_version(info: &ProcessInfo, libjvm: &Path) -> Option<String> {
    libjvm.ancestors().skip(2).take(4).find_map(|home| {
        let text = fs::read_to_string(info.host_path(&home.join("release"))).ok()?;
        parse_release(&text)
    })
}

/// `JAVA_VERSION="17.0.15"` from the text of a release file.
pub fn parse_release(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let value = line.trim().strip_prefix("JAVA_VERSION=")?;
        let value = value.trim().trim_matches('"');
        (!value.is_empty()).then(|| value.to_string())
    })
}

/// The version compiled into libjvm.so's read-only data: HotSpot's banner
/// `OpenJDK 64-Bit Server VM (17.0.15+6-Debian-1deb12u1) for linux-amd64 JRE (17.0.15+6-...)`.
pub fn libjvm_version(host_path: &Path) -> Result<Option<String>> {
    let bytes = fs::read(host_path).with_context(|| format!("reading {}", host_path.display()))?;
    let elf = goblin::elf::Elf::parse(&bytes).with_context(|| format!("parsing {} as ELF", host_path.display()))?;
    let rodata = elf
        .section_headers
        .iter()
        .find(|section| elf.shdr_strtab.get_at(section.sh_name) == Some(".rodata"))
        .and_then(|section| bytes.get(section.file_range()?));
    // A stripped library may lack section headers: scan it whole then.
    Ok(version_in_strings(rodata.unwrap_or(&bytes)))
}

/// Finds the JRE version among the NUL-separated strings of `data`.
pub fn version_in_strings(data: &[u8]) -> Option<String> {
    let strings = || data.split(|b| *b == 0).filter_map(|s| std::str::from_utf8(s).ok());
    let from_banner = strings().find_map(|s| {
        let rest = &s[s.find(" JRE (")? + " JRE (".len()..];
        Some(&rest[..rest.find(')')?])
    });
    // Without the banner, a lone full version string: `25.0.3+9-LTS`.
    let version = from_banner.or_else(|| strings().find(|s| is_full_version(s)))?;
    let short = version.split(['+', '-']).next().filter(|v| major(v).is_some())?;
    Some(short.to_string())
}

/// `17.0.15+6-Debian-1deb12u1`, `25+36`, `1.8.0_392-b08`: a Java version (6 or later) first,
/// a build number after. libjvm.so holds look-alike fragments such as `5+3-`.
fn is_full_version(s: &str) -> bool {
    let Some((version, build)) = s.split_once('+').or_else(|| s.split_once("-b")) else {
        return false;
    };
    version.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '_')
        && major(version).is_some_and(|m| (6..100).contains(&m))
        && build.starts_with(|c: char| c.is_ascii_digit())
        && !s.ends_with('-')
        && s.len() < 80
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_file_gives_java_version() {
        let text =
            "IMPLEMENTOR=\"Debian\"\nJAVA_RUNTIME_VERSION=\"17.0.15+6-Debian-1deb12u1\"\nJAVA_VERSION=\"17.0.15\"\n";
        assert_eq!(parse_release(text).as_deref(), Some("17.0.15"));
        assert_eq!(parse_release("IMPLEMENTOR=\"x\"\n"), None);
    }

    #[test]
    fn major_of_modern_and_legacy_versions() {
        assert_eq!(major("17.0.15"), Some(17));
        assert_eq!(major("25"), Some(25));
        assert_eq!(major("21-ea"), Some(21));
        assert_eq!(major("1.8.0_392"), Some(8));
        assert_eq!(major("x"), None);
    }

    #[test]
    fn banner_in_strings_gives_the_short_version() {
        let data = b"junk\0OpenJDK 64-Bit Server VM (17.0.15+6-Debian-1deb12u1) for linux-amd64 JRE (17.0.15+6-Debian-1deb12u1), built on May\0more\0";
        assert_eq!(version_in_strings(data).as_deref(), Some("17.0.15"));
    }

    #[test]
    fn lone_full_version_string_is_found_without_banner() {
        assert_eq!(
            version_in_strings(&[b"5+3-\0abc\0".as_slice(), b"25.0.3+9-LTS\0"].concat()).as_deref(),
            Some("25.0.3")
        );
        assert_eq!(version_in_strings(b"1.8.0_392-b08\0").as_deref(), Some("1.8.0_392"));
        assert_eq!(version_in_strings(b"5+3-\0hello\0"), None);
    }

    /// The installed JDKs carry the versions their release files state.
    #[test]
    fn installed_libjvm_versions_match_release_files() {
        for home in ["/usr/lib/jvm/java-17-openjdk-amd64", "/usr/lib/jvm/temurin-25-jdk-amd64"] {
            let home = Path::new(home);
            let Ok(release) = fs::read_to_string(home.join("release")) else {
                continue;
            };
            let from_lib = libjvm_version(&home.join("lib/server/libjvm.so")).expect("reads libjvm.so");
            assert_eq!(from_lib, parse_release(&release), "{}", home.display());
        }
    }
}
