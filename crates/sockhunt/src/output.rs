//! Output helpers shared by subcommands: an output file written atomically, CSV cells
//! guarded against spreadsheet formula injection, and the borderless table.

use std::borrow::Cow;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use comfy_table::{presets, Attribute, Cell, ContentArrangement, Table};

use crate::escape;

/// Where results go: standard output, or a file that appears complete or not at all.
///
/// A file is written to a temporary file in the same directory and renamed over the
/// destination by [`Output::finish`], so a reader (or a crash) never sees half a file.
/// Callers that stop early (Ctrl-C) still call `finish`: what was written so far is
/// complete records, flushed and renamed into place.
pub(crate) enum Output {
    /// Standard output.
    Stdout(BufWriter<io::Stdout>),
    /// A temporary file waiting to be renamed to `dest`.
    File {
        /// The temporary file.
        tmp: BufWriter<tempfile::NamedTempFile>,
        /// The final path.
        dest: PathBuf,
    },
}

impl Output {
    /// Standard output when `path` is `None` or `-`, else a new temporary file beside
    /// `path`.
    pub(crate) fn create(path: Option<&Path>) -> anyhow::Result<Output> {
        match path {
            None => Ok(Output::Stdout(BufWriter::new(io::stdout()))),
            Some(p) if p.as_os_str() == "-" => Ok(Output::Stdout(BufWriter::new(io::stdout()))),
            Some(p) => {
                let dir = match p.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                let tmp = tempfile::Builder::new()
                    .prefix(".sockhunt-")
                    .suffix(".tmp")
                    .tempfile_in(&dir)
                    .with_context(|| format!("cannot create a file in {}", dir.display()))?;
                Ok(Output::File {
                    tmp: BufWriter::new(tmp),
                    dest: p.to_path_buf(),
                })
            }
        }
    }

    /// Whether this is standard output (and so possibly a terminal).
    pub(crate) fn is_stdout(&self) -> bool {
        matches!(self, Output::Stdout(_))
    }

    /// Flushes, syncs a file to disk and renames it into place.
    pub(crate) fn finish(self) -> anyhow::Result<()> {
        match self {
            Output::Stdout(mut w) => Ok(w.flush()?),
            Output::File { tmp, dest } => {
                let file = tmp
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .with_context(|| format!("cannot write {}", dest.display()))?;
                file.as_file()
                    .sync_all()
                    .with_context(|| format!("cannot write {}", dest.display()))?;
                file.persist(&dest)
                    .map_err(|e| e.error)
                    .with_context(|| format!("cannot write {}", dest.display()))?;
                Ok(())
            }
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::Stdout(w) => w.write(buf),
            Output::File { tmp, .. } => tmp.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Output::Stdout(w) => w.write_all(buf),
            Output::File { tmp, .. } => tmp.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Stdout(w) => w.flush(),
            Output::File { tmp, .. } => tmp.flush(),
        }
    }
}

/// Guards a CSV cell against formula injection: a spreadsheet runs a cell that starts
/// with `=`, `+`, `-`, `@`, a tab or a carriage return as a formula, and log fields are
/// attacker-controlled (`=cmd|' /C calc'!A0` in a command line). Such cells get a
/// leading `'`, which spreadsheets show as text and hide.
pub(crate) fn csv_guard(cell: &str) -> Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// A borderless, aligned table. Cells are escaped for the terminal here, once.
pub(crate) fn new_table(header: &[&str], color: bool) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled);
    if color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    table.set_header(header.iter().map(|h| {
        let cell = Cell::new(h);
        if color {
            cell.add_attribute(Attribute::Bold)
        } else {
            cell
        }
    }));
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    table
}

/// Adds a row of untrusted text, escaped for the terminal.
pub(crate) fn add_row(table: &mut Table, cells: &[&str]) {
    table.add_row(cells.iter().map(|c| Cell::new(escape::terminal(c))));
}

/// Writes a table without trailing spaces.
pub(crate) fn print_table(out: &mut impl Write, table: &Table) -> io::Result<()> {
    for line in table.lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn csv_guard_prefixes_formula_starts() {
        for bad in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(csv_guard(bad), format!("'{bad}"));
        }
        assert_eq!(csv_guard("netstat -ano"), "netstat -ano");
        assert_eq!(csv_guard(""), "");
    }

    #[test]
    fn output_file_appears_only_when_finished() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.jsonl");
        let mut out = Output::create(Some(&dest)).unwrap();
        out.write_all(b"{}\n").unwrap();
        assert!(!dest.exists());
        out.finish().unwrap();
        assert_eq!(fs_err::read_to_string(&dest).unwrap(), "{}\n");
    }
}
