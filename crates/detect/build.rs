//! Embeds the repository's `rules/` directory (rules and their `*.tests.yml`) in the
//! library, so the binary carries its built-in pack and can run the pack's own tests.
//!
//! A generated list of `include_str!` calls is used rather than a directory-embedding
//! macro because cargo only rebuilds when told which paths matter: the
//! `rerun-if-changed` on the directory makes adding, editing or removing a rule rebuild
//! the crate.

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let rules = manifest.join("..").join("..").join("rules");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", rules.display());

    let mut files = Vec::new();
    if rules.is_dir() {
        walk(&rules, &rules, &mut files)?;
    }
    files.sort();

    let mut out = String::from("/// Every embedded pack file: (path under `rules/`, text).\n");
    out.push_str("pub(crate) static FILES: &[(&str, &str)] = &[\n");
    for (rel, abs) in &files {
        println!("cargo:rerun-if-changed={}", abs.display());
        writeln!(
            out,
            "    ({:?}, include_str!({:?})),",
            rel,
            abs.display().to_string()
        )?;
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR")?).join("builtin_pack.rs");
    std::fs::write(dest, out)?;
    Ok(())
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), Box<dyn Error>> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            walk(root, &path, out)?;
        } else if name.ends_with(".yml") || name.ends_with(".yaml") {
            let rel = path
                .strip_prefix(root)?
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push((rel, path.canonicalize()?));
        }
    }
    Ok(())
}
