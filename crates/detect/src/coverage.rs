//! What the loaded rules cover: an ATT&CK Navigator layer of their techniques, and the
//! procedure matrix (procedures of T1049 against the telemetry shapes they appear in,
//! each cell evaluated through the real readers and rules).
//!
//! The matrix is data-driven: `rules/.procedures.yml` lists the telemetry shapes and, for
//! each procedure, the record it leaves in each shape, written as the source writes it.
//! A cell is "detected" when some event read from that record fires a loaded rule tagged
//! with the technique, so the matrix can only say what the code really does.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sockhunt_events::{read_stream, CollectSink, Format, ReadOptions};

use crate::engine::Detector;
use crate::loader::{Level, RuleMeta};

/// The ATT&CK Navigator layer of a set of rules: one entry per technique tagged, scored
/// by the number of rules, with the rule titles in the comment.
pub fn navigator_layer<'a>(
    name: &str,
    rules: impl IntoIterator<Item = &'a RuleMeta>,
) -> serde_json::Value {
    let mut by_technique: BTreeMap<String, Vec<&RuleMeta>> = BTreeMap::new();
    for rule in rules {
        for technique in rule.attack_techniques() {
            by_technique.entry(technique).or_default().push(rule);
        }
    }
    let max = by_technique.values().map(Vec::len).max().unwrap_or(1);
    let techniques: Vec<serde_json::Value> = by_technique
        .iter()
        .map(|(technique, rules)| {
            let mut titles: Vec<String> = rules
                .iter()
                .map(|r| {
                    format!(
                        "{} ({})",
                        r.title,
                        r.level.map_or("no level", |l| l.as_str())
                    )
                })
                .collect();
            titles.sort();
            titles.dedup();
            serde_json::json!({
                "techniqueID": technique,
                "score": rules.len(),
                "color": "",
                "comment": titles.join("; "),
                "enabled": true,
                "showSubtechniques": technique.contains('.'),
                "metadata": [{"name": "rules", "value": rules.len().to_string()}],
            })
        })
        .collect();
    serde_json::json!({
        "name": name,
        "versions": {"attack": "16", "navigator": "5.1.0", "layer": "4.5"},
        "domain": "enterprise-attack",
        "description": "Techniques covered by the loaded sockhunt rules; score = number of rules.",
        "sorting": 3,
        "hideDisabled": false,
        "techniques": techniques,
        "gradient": {"colors": ["#d6eaf8", "#1f618d"], "minValue": 0, "maxValue": max},
        "legendItems": [],
        "showTacticRowBackground": false,
        "selectTechniquesAcrossTactics": true,
        "selectSubtechniquesWithParent": false,
    })
}

/// One telemetry shape, a column of the matrix.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shape {
    /// Short key used by procedures (`sysmon`, `security-4688`...).
    pub id: String,
    /// Column heading.
    pub name: String,
    /// The reader format of its records (`win-json`, `auditd`...).
    pub format: String,
}

/// One procedure, a row of the matrix.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Procedure {
    /// Stable key.
    pub id: String,
    /// What the adversary does.
    pub name: String,
    /// Where the procedure comes from (an Atomic Red Team test, an ATT&CK procedure
    /// example).
    pub source: String,
    /// A benign look-alike: the matrix shows what fires on it instead of counting it as
    /// coverage (anything at medium or above is a false positive to fix).
    #[serde(default)]
    pub benign: bool,
    /// The record it leaves, per shape id; shapes it does not appear in are absent.
    pub records: BTreeMap<String, String>,
}

/// The contents of a procedures file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureFile {
    /// The technique the matrix is about (`T1049`).
    pub technique: String,
    /// The columns.
    pub shapes: Vec<Shape>,
    /// The rows.
    pub procedures: Vec<Procedure>,
}

/// The procedures of the built-in pack, `rules/.procedures.yml`. The leading dot keeps the
/// rule loader, which reads every other YAML file under `rules/` as Sigma, away from it.
pub const BUILTIN_PROCEDURES: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../rules/.procedures.yml"
));

/// Name of the built-in procedures file in messages.
pub const BUILTIN_PROCEDURES_NAME: &str = "builtin:rules/.procedures.yml";

/// Parses a procedures file.
pub fn parse_procedures(source: &str, text: &str) -> Result<ProcedureFile, String> {
    let file: ProcedureFile = crate::yaml::from_str(source, text)
        .map_err(|e| format!("not a valid procedures file: {e}"))?;
    for procedure in &file.procedures {
        for shape in procedure.records.keys() {
            if !file.shapes.iter().any(|s| &s.id == shape) {
                return Err(format!(
                    "{source}: procedure `{}` has a record for unknown shape `{shape}`",
                    procedure.id
                ));
            }
        }
    }
    for shape in &file.shapes {
        shape
            .format
            .parse::<Format>()
            .map_err(|e| format!("{source}: shape `{}`: {e}", shape.id))?;
    }
    Ok(file)
}

/// One cell of the matrix.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Cell {
    /// The procedure does not appear in this telemetry.
    NotApplicable,
    /// Some rule tagged with the technique fired.
    Detected {
        /// The highest level among the rules that fired.
        level: Option<Level>,
        /// Titles of the rules that fired.
        rules: Vec<String>,
    },
    /// The record was read, but no rule tagged with the technique fired.
    Missed,
    /// The record could not be read, or produced no event.
    Error {
        /// Why.
        message: String,
    },
}

/// One row of the evaluated matrix.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The procedure.
    pub procedure: Procedure,
    /// One cell per shape, in the file's shape order.
    pub cells: Vec<Cell>,
}

/// The evaluated matrix.
#[derive(Debug, Clone, Serialize)]
pub struct Matrix {
    /// The technique.
    pub technique: String,
    /// The columns.
    pub shapes: Vec<Shape>,
    /// The rows.
    pub rows: Vec<Row>,
}

impl Matrix {
    /// (cells detected, cells applicable).
    pub fn totals(&self) -> (usize, usize) {
        let cells = self
            .rows
            .iter()
            .filter(|r| !r.procedure.benign)
            .flat_map(|r| r.cells.iter());
        let mut detected = 0;
        let mut applicable = 0;
        for cell in cells {
            match cell {
                Cell::NotApplicable => {}
                Cell::Detected { .. } => {
                    detected += 1;
                    applicable += 1;
                }
                Cell::Missed | Cell::Error { .. } => applicable += 1,
            }
        }
        (detected, applicable)
    }
}

/// Evaluates every record of every procedure through its reader and the detector.
pub fn evaluate(file: &ProcedureFile, detector: &Detector) -> Matrix {
    let tag = format!("attack.{}", file.technique.to_ascii_lowercase());
    let rows = file
        .procedures
        .iter()
        .map(|procedure| {
            let cells = file
                .shapes
                .iter()
                .map(|shape| match procedure.records.get(&shape.id) {
                    None => Cell::NotApplicable,
                    Some(record) => evaluate_record(shape, record, detector, &tag),
                })
                .collect();
            Row {
                procedure: procedure.clone(),
                cells,
            }
        })
        .collect();
    Matrix {
        technique: file.technique.clone(),
        shapes: file.shapes.clone(),
        rows,
    }
}

fn evaluate_record(shape: &Shape, record: &str, detector: &Detector, tag: &str) -> Cell {
    let format: Format = match shape.format.parse() {
        Ok(f) => f,
        Err(message) => return Cell::Error { message },
    };
    let options = ReadOptions {
        format: Some(format),
        keep_original: false,
        ..ReadOptions::default()
    };
    let mut sink = CollectSink::default();
    let reader = Box::new(Cursor::new(record.as_bytes().to_vec()));
    if let Err(e) = read_stream("procedures", reader, &options, &mut sink) {
        return Cell::Error { message: e.message };
    }
    if let Some(error) = sink.errors.first() {
        return Cell::Error {
            message: error.message.clone(),
        };
    }
    if sink.events.is_empty() {
        return Cell::Error {
            message: "the record produced no event".into(),
        };
    }
    let mut level: Option<Level> = None;
    let mut rules: Vec<String> = Vec::new();
    for event in &sink.events {
        for detection in detector.detect(event) {
            let meta: &Arc<RuleMeta> = &detection.rule;
            if !meta.tags.iter().any(|t| t.eq_ignore_ascii_case(tag)) {
                continue;
            }
            level = level.max(meta.level);
            if !rules.contains(&meta.title) {
                rules.push(meta.title.clone());
            }
        }
    }
    if rules.is_empty() {
        Cell::Missed
    } else {
        Cell::Detected { level, rules }
    }
}

/// The matrix as a Markdown document.
pub fn render_markdown(matrix: &Matrix) -> String {
    let mut out = String::new();
    let (detected, applicable) = matrix.totals();
    out.push_str(&format!(
        "# {} coverage: procedures against telemetry\n\n\
         Generated by `sockhunt rules report --output docs/coverage.md` from \
         `rules/.procedures.yml`: every record there is read by sockhunt's reader for its \
         format and run through the loaded rules. A cell names the highest level of the rules \
         tagged `attack.{}` that fired; `missed` means the record was read and no such rule \
         fired; `-` means the procedure does not appear in that telemetry.\n\n\
         Detected in **{detected} of {applicable}** applicable cells.\n\n",
        matrix.technique,
        matrix.technique.to_ascii_lowercase()
    ));
    let attacks: Vec<&Row> = matrix.rows.iter().filter(|r| !r.procedure.benign).collect();
    let benign: Vec<&Row> = matrix.rows.iter().filter(|r| r.procedure.benign).collect();
    render_table(&mut out, &matrix.shapes, &attacks, false);
    if !benign.is_empty() {
        let loud = benign
            .iter()
            .flat_map(|r| r.cells.iter())
            .filter(|c| matches!(c, Cell::Detected { level: Some(l), .. } if *l >= Level::Medium))
            .count();
        out.push_str(&format!(
            "\n## Benign look-alikes\n\nWhat fires on administration that resembles the \
             technique: `quiet` means no rule tagged with it fired. Cells at medium or above: \
             **{loud}**.\n\n"
        ));
        render_table(&mut out, &matrix.shapes, &benign, true);
    }
    out.push_str("\n## Rules that fired, per procedure\n\n");
    for row in &matrix.rows {
        let mut lines = Vec::new();
        for (shape, cell) in matrix.shapes.iter().zip(&row.cells) {
            match cell {
                Cell::Detected { rules, .. } => {
                    lines.push(format!("{}: {}", shape.name, rules.join("; ")))
                }
                Cell::Error { message } => lines.push(format!("{}: error: {message}", shape.name)),
                Cell::Missed if row.procedure.benign => {
                    lines.push(format!("{}: quiet", shape.name))
                }
                Cell::Missed => lines.push(format!("{}: missed", shape.name)),
                Cell::NotApplicable => {}
            }
        }
        out.push_str(&format!("- **{}**\n", md(&row.procedure.name)));
        for line in lines {
            out.push_str(&format!("  - {}\n", md(&line)));
        }
    }
    out
}

fn render_table(out: &mut String, all_shapes: &[Shape], rows: &[&Row], benign: bool) {
    // Only the columns some row uses, so each table stays readable.
    let used: Vec<usize> = (0..all_shapes.len())
        .filter(|&i| {
            rows.iter()
                .any(|r| !matches!(r.cells.get(i), Some(Cell::NotApplicable) | None))
        })
        .collect();
    out.push_str("| Procedure | Source |");
    for &i in &used {
        out.push_str(&format!(" {} |", md(&all_shapes[i].name)));
    }
    out.push_str("\n|---|---|");
    for _ in &used {
        out.push_str("---|");
    }
    out.push('\n');
    for row in rows {
        out.push_str(&format!(
            "| {} | {} |",
            md(&row.procedure.name),
            md(&row.procedure.source)
        ));
        for &i in &used {
            let text = match &row.cells[i] {
                Cell::NotApplicable => "-".to_owned(),
                Cell::Detected { level, .. } => {
                    let name = level.map_or("detected", |l| l.as_str());
                    if benign && level.is_some_and(|l| l >= Level::Medium) {
                        format!("**{name}**")
                    } else {
                        name.to_owned()
                    }
                }
                Cell::Missed if benign => "quiet".to_owned(),
                Cell::Missed => "**missed**".to_owned(),
                Cell::Error { .. } => "**error**".to_owned(),
            };
            out.push_str(&format!(" {text} |"));
        }
        out.push('\n');
    }
}

/// Escapes text for a Markdown table cell.
fn md(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::loader::RuleSet;

    #[test]
    fn layer_counts_rules_per_technique() {
        let mut set = RuleSet::new();
        set.add_yaml(
            "a.yml",
            "title: A\nid: a\ntags: [attack.discovery, attack.t1049]\nlogsource: {category: process_creation}\ndetection:\n  sel: {CommandLine|contains: netstat}\n  condition: sel\nlevel: low\n",
        );
        set.add_yaml(
            "b.yml",
            "title: B\nid: b\ntags: [attack.t1049, attack.t1033]\nlogsource: {category: process_creation}\ndetection:\n  sel: {CommandLine|contains: quser}\n  condition: sel\nlevel: medium\n",
        );
        let metas: Vec<RuleMeta> = set.rules().iter().map(|r| (*r.meta).clone()).collect();
        let layer = navigator_layer("t", metas.iter());
        let techniques = layer["techniques"].as_array().unwrap();
        assert_eq!(techniques.len(), 2);
        let t1049 = techniques
            .iter()
            .find(|t| t["techniqueID"] == "T1049")
            .unwrap();
        assert_eq!(t1049["score"], 2);
    }

    #[test]
    fn unknown_shape_is_an_error() {
        let text = "technique: T1049\nshapes: [{id: a, name: A, format: generic}]\nprocedures:\n  - {id: p, name: P, source: s, records: {b: x}}\n";
        let err = parse_procedures("p.yml", text).unwrap_err();
        assert!(err.contains("unknown shape `b`"), "{err}");
    }
}
