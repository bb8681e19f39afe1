//! The one place sockhunt parses YAML of its own (rule metadata checks, rule test files).
//!
//! Sigma rules themselves are parsed by rsigma; this loader runs first so a syntax error is
//! reported with the file, line and column where it sits rather than as a bare message.

use std::fmt;

use serde::de::DeserializeOwned;

/// A YAML document that could not be read, with where the problem sits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct YamlError {
    /// The file (or `builtin:rules/...` for the embedded pack).
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// 1-based column, when known.
    pub column: Option<u64>,
    /// What is wrong, without the location.
    pub message: String,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_located(f, &self.file, self.line, self.column, &self.message)
    }
}

/// `source:line:column: message`, dropping the parts that are unknown.
pub(crate) fn write_located(
    f: &mut fmt::Formatter<'_>,
    source: &str,
    line: Option<u64>,
    column: Option<u64>,
    message: &str,
) -> fmt::Result {
    match (line, column) {
        (Some(l), Some(c)) => write!(f, "{source}:{l}:{c}: {message}"),
        (Some(l), None) => write!(f, "{source}:{l}: {message}"),
        _ => write!(f, "{source}: {message}"),
    }
}

impl YamlError {
    /// The error as a miette report pointing at the offending line of `text`, for
    /// terminals that can show it.
    pub fn to_report(&self, text: &str) -> miette::Report {
        let offset = match (self.line, self.column) {
            (Some(l), Some(c)) => byte_offset(text, l, c),
            _ => None,
        };
        let diagnostic = LocatedDiagnostic {
            message: self.message.clone(),
            src: miette::NamedSource::new(self.file.clone(), text.to_owned()),
            at: offset.map(|o| miette::SourceSpan::from((o, 0))),
        };
        miette::Report::new(diagnostic)
    }
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{message}")]
struct LocatedDiagnostic {
    message: String,
    #[source_code]
    src: miette::NamedSource<String>,
    #[label("here")]
    at: Option<miette::SourceSpan>,
}

/// Byte offset of a 1-based line and (character) column.
fn byte_offset(text: &str, line: u64, column: u64) -> Option<usize> {
    let mut start = 0usize;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i as u64 + 1 == line {
            let col = usize::try_from(column.saturating_sub(1)).ok()?;
            let within = l.char_indices().nth(col).map_or(l.len(), |(b, _)| b);
            return Some(start + within);
        }
        start += l.len();
    }
    None
}

/// Parses one YAML document into `T`.
pub fn from_str<T: DeserializeOwned>(source: &str, text: &str) -> Result<T, YamlError> {
    serde_saphyr::from_str::<T>(text).map_err(|e| convert(source, &e))
}

/// Parses every document of a multi-document YAML stream into `T`.
pub fn from_str_multiple<T: DeserializeOwned>(
    source: &str,
    text: &str,
) -> Result<Vec<T>, YamlError> {
    serde_saphyr::from_str_multiple::<T, Vec<T>>(text).map_err(|e| convert(source, &e))
}

fn convert(source: &str, error: &serde_saphyr::Error) -> YamlError {
    let location = error.location();
    let mut message = error.without_snippet().to_string();
    // The library appends " at line L, column C"; we print the location in front.
    if let Some(at) = message.rfind(" at line ") {
        if message[at..].contains(", column ") {
            message.truncate(at);
        }
    }
    YamlError {
        file: source.to_owned(),
        line: location.map(|l| l.line()),
        column: location.map(|l| l.column()),
        message,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn syntax_error_has_line_and_column() {
        let text = "title: x\ndetection:\n  sel:\n    a: [1, 2\n  condition: sel\n";
        let err = from_str_multiple::<serde::de::IgnoredAny>("r.yml", text).unwrap_err();
        assert_eq!(err.line, Some(5));
        assert_eq!(err.column, Some(12));
        assert_eq!(
            err.to_string(),
            "r.yml:5:12: illegal placement of ':' indicator"
        );
        let report = format!("{:?}", err.to_report(text));
        assert!(report.contains("condition"), "{report}");
    }
}
