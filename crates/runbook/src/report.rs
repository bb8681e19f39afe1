//! The matrix a run produces: one row per procedure, in table, JSON, JUnit or Markdown.

use std::fmt::Write;

use serde::Serialize;

use crate::expect::{Fired, Verdict};

/// How a procedure ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every expectation held (detected, or quiet as it should be).
    Passed,
    /// An expectation failed.
    Failed,
    /// Not run: its prerequisites failed, its platform is not this one, or it needs a
    /// download.
    Skipped,
    /// It could not be run (the command did not start, the replay did not read).
    Error,
    /// `--execute` was not given: what would run is listed, nothing was run.
    DryRun,
}

impl Outcome {
    fn word(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "FAILED",
            Outcome::Skipped => "skipped",
            Outcome::Error => "ERROR",
            Outcome::DryRun => "dry-run",
        }
    }
}

/// One procedure's row.
#[derive(Debug, Clone, Serialize)]
pub struct ProcedureResult {
    /// Procedure id.
    pub id: String,
    /// Procedure name.
    pub name: String,
    /// The runbook (or atomics file) it came from.
    pub source: String,
    /// `executed`, `replay` or `atomic`.
    pub mode: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Rules that fired for it.
    pub fired: Vec<Fired>,
    /// The judgement (missed and unexpected).
    pub verdict: Verdict,
    /// Why it was skipped or errored, or what would run in a dry run.
    pub note: Option<String>,
    /// The smallest alert latency in milliseconds (live runs).
    pub latency_ms: Option<u64>,
    /// Wall time of the procedure in milliseconds.
    pub duration_ms: u64,
}

/// Output formats of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// Aligned text.
    Table,
    /// One JSON document.
    Json,
    /// JUnit XML, for CI systems.
    Junit,
    /// A Markdown table.
    Markdown,
}

/// A whole run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The rows, in run order.
    pub results: Vec<ProcedureResult>,
    /// Runbooks that could not be loaded (file and reason).
    pub load_errors: Vec<String>,
}

impl Report {
    /// Counts of (passed, failed, skipped, errors).
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let n = |o: Outcome| self.results.iter().filter(|r| r.outcome == o).count();
        (
            n(Outcome::Passed),
            n(Outcome::Failed),
            n(Outcome::Skipped),
            n(Outcome::Error) + self.load_errors.len(),
        )
    }

    /// Whether any expectation failed or anything errored.
    pub fn failed(&self) -> bool {
        let (_, failed, _, errors) = self.counts();
        failed > 0 || errors > 0
    }

    /// Renders the report. `escape` makes untrusted text safe for the destination (the
    /// CLI passes its terminal escaper for tables).
    pub fn render(&self, format: ReportFormat, escape: &dyn Fn(&str) -> String) -> String {
        match format {
            ReportFormat::Table => self.table(escape),
            ReportFormat::Json => serde_json::to_string_pretty(self).unwrap_or_default() + "\n",
            ReportFormat::Junit => self.junit(),
            ReportFormat::Markdown => self.markdown(),
        }
    }

    fn rules_of(r: &ProcedureResult) -> String {
        let mut titles: Vec<&str> = r.fired.iter().map(|f| f.title.as_str()).collect();
        titles.sort_unstable();
        titles.dedup();
        titles.join("; ")
    }

    fn table(&self, escape: &dyn Fn(&str) -> String) -> String {
        let header = [
            "PROCEDURE",
            "MODE",
            "RESULT",
            "LATENCY",
            "DETECTED BY",
            "MISSED",
            "UNEXPECTED / NOTE",
        ];
        let rows: Vec<[String; 7]> = self
            .results
            .iter()
            .map(|r| {
                let note = if r.verdict.unexpected.is_empty() {
                    r.note.clone().unwrap_or_default()
                } else {
                    r.verdict.unexpected.join("; ")
                };
                [
                    escape(&r.id),
                    r.mode.clone(),
                    r.outcome.word().to_owned(),
                    r.latency_ms
                        .map(|l| format!("{l} ms"))
                        .unwrap_or_else(|| "-".into()),
                    escape(&Self::rules_of(r)),
                    escape(&r.verdict.missed.join("; ")),
                    escape(&note),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count()).min(60);
            }
        }
        let mut out = String::new();
        let line = |out: &mut String, cells: &[String]| {
            for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
                let cell: String = cell.chars().take(w).collect();
                if i + 1 == cells.len() {
                    let _ = write!(out, "{cell}");
                } else {
                    let _ = write!(out, "{cell:<w$}  ");
                }
            }
            out.push('\n');
        };
        line(&mut out, &header.map(String::from));
        for row in &rows {
            line(&mut out, row);
        }
        let (p, f, s, e) = self.counts();
        let _ = writeln!(out, "\n{p} passed, {f} failed, {s} skipped, {e} errors");
        for err in &self.load_errors {
            let _ = writeln!(out, "error: {}", escape(err));
        }
        out
    }

    fn markdown(&self) -> String {
        let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
        let mut out = String::from("| Procedure | Mode | Result | Latency | Detected by | Missed | Unexpected |\n|---|---|---|---|---|---|---|\n");
        for r in &self.results {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                cell(&r.name),
                r.mode,
                r.outcome.word(),
                r.latency_ms
                    .map(|l| format!("{l} ms"))
                    .unwrap_or_else(|| "-".into()),
                cell(&Self::rules_of(r)),
                cell(&r.verdict.missed.join("; ")),
                cell(&r.verdict.unexpected.join("; ")),
            );
        }
        let (p, f, s, e) = self.counts();
        let _ = writeln!(out, "\n{p} passed, {f} failed, {s} skipped, {e} errors");
        out
    }

    fn junit(&self) -> String {
        let (_, f, s, e) = self.counts();
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuites><testsuite name=\"sockhunt-runbooks\" tests=\"{}\" failures=\"{f}\" errors=\"{e}\" skipped=\"{s}\">",
            self.results.len()
        );
        for r in &self.results {
            let time = r.duration_ms as f64 / 1000.0;
            let _ = write!(
                out,
                "  <testcase classname=\"{}\" name=\"{}\" time=\"{time:.3}\">",
                xml(&r.source),
                xml(&r.id)
            );
            match r.outcome {
                Outcome::Failed => {
                    let msg = format!(
                        "missed: {}; unexpected: {}",
                        r.verdict.missed.join(", "),
                        r.verdict.unexpected.join(", ")
                    );
                    let _ = write!(out, "<failure message=\"{}\"/>", xml(&msg));
                }
                Outcome::Error => {
                    let _ = write!(
                        out,
                        "<error message=\"{}\"/>",
                        xml(r.note.as_deref().unwrap_or(""))
                    );
                }
                Outcome::Skipped | Outcome::DryRun => {
                    let _ = write!(
                        out,
                        "<skipped message=\"{}\"/>",
                        xml(r.note.as_deref().unwrap_or(""))
                    );
                }
                Outcome::Passed => {
                    let _ = write!(out, "<system-out>{}</system-out>", xml(&Self::rules_of(r)));
                }
            }
            out.push_str("</testcase>\n");
        }
        for err in &self.load_errors {
            let _ = writeln!(
                out,
                "  <testcase classname=\"load\" name=\"{}\"><error message=\"{}\"/></testcase>",
                xml(err),
                xml(err)
            );
        }
        out.push_str("</testsuite></testsuites>\n");
        out
    }
}

/// Escapes text for XML attributes and content; control characters XML cannot carry
/// are replaced.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junit_escapes_attacker_text() {
        let report = Report {
            results: vec![ProcedureResult {
                id: "a<b>\"&".into(),
                name: "x".into(),
                source: "rb.yml".into(),
                mode: "replay".into(),
                outcome: Outcome::Failed,
                fired: vec![],
                verdict: Verdict {
                    passed: false,
                    missed: vec!["tag attack.t1049".into()],
                    unexpected: vec![],
                },
                note: None,
                latency_ms: None,
                duration_ms: 5,
            }],
            load_errors: vec![],
        };
        let xml = report.render(ReportFormat::Junit, &|s| s.to_owned());
        assert!(xml.contains("name=\"a&lt;b&gt;&quot;&amp;\""), "{xml}");
        assert!(xml.contains("failures=\"1\""));
        assert!(report.failed());
    }
}
