//! The built-in rule pack: the repository's `rules/` directory embedded at build time,
//! rules and their `*.tests.yml` test files alike, so `sockhunt rules test` can run the
//! pack's own tests from the binary alone.

use std::path::Path;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/builtin_pack.rs"));
}

/// How embedded files are named in errors and alerts: `builtin:rules/<area>/<name>.yml`.
pub const SOURCE_PREFIX: &str = "builtin:rules/";

/// One embedded file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackFile {
    /// Path under `rules/`, with `/` separators (`windows/netstat.yml`).
    pub path: &'static str,
    /// The file's text.
    pub text: &'static str,
}

impl PackFile {
    /// The name used as the rule's source: `builtin:rules/<path>`.
    pub fn source_name(&self) -> String {
        format!("{SOURCE_PREFIX}{}", self.path)
    }

    /// Whether this is a rule test file (`*.tests.yml`).
    pub fn is_test(&self) -> bool {
        crate::loader::is_test_file(Path::new(self.path))
    }
}

/// Every embedded file, sorted by path.
pub fn files() -> impl Iterator<Item = PackFile> {
    embedded::FILES
        .iter()
        .map(|&(path, text)| PackFile { path, text })
}

/// The embedded rule files (test files left out).
pub fn rule_files() -> impl Iterator<Item = PackFile> {
    files().filter(|f| !f.is_test())
}

/// The embedded rule test files.
pub fn test_files() -> impl Iterator<Item = PackFile> {
    files().filter(PackFile::is_test)
}

/// An embedded file by its path under `rules/` (a `builtin:rules/` prefix is accepted).
pub fn get(path: &str) -> Option<PackFile> {
    let path = path.strip_prefix(SOURCE_PREFIX).unwrap_or(path);
    files().find(|f| f.path == path)
}
