//! Judging a procedure's expectations against the alerts it caused.

use serde::Serialize;

use crate::model::Expect;

/// One rule that fired for a procedure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fired {
    /// Rule id.
    pub id: String,
    /// Rule title.
    pub title: String,
    /// Rule level (`informational`, `low`, `medium`, `high`, `critical`).
    pub level: String,
    /// Rule tags.
    pub tags: Vec<String>,
    /// Milliseconds from the procedure's start to the alert, when executed live.
    pub latency_ms: Option<u64>,
}

/// The judgement of one procedure.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Verdict {
    /// Whether every expectation held.
    pub passed: bool,
    /// Expected rules or tags that did not fire.
    pub missed: Vec<String>,
    /// Rules that fired but must not have (`not_rules`, or anything loud on a quiet
    /// procedure).
    pub unexpected: Vec<String>,
}

fn is_loud(level: &str) -> bool {
    matches!(
        level.to_ascii_lowercase().as_str(),
        "medium" | "high" | "critical"
    )
}

/// Judges what fired against what was expected.
pub fn judge(expect: &Expect, fired: &[Fired]) -> Verdict {
    let mut verdict = Verdict::default();
    for id in &expect.rules {
        if !fired.iter().any(|f| f.id.eq_ignore_ascii_case(id)) {
            verdict.missed.push(format!("rule {id}"));
        }
    }
    for tag in &expect.tags {
        if !fired
            .iter()
            .any(|f| f.tags.iter().any(|t| t.eq_ignore_ascii_case(tag)))
        {
            verdict.missed.push(format!("tag {tag}"));
        }
    }
    for f in fired {
        let forbidden = expect
            .not_rules
            .iter()
            .any(|id| f.id.eq_ignore_ascii_case(id));
        let loud_on_quiet = expect.quiet
            && (is_loud(&f.level)
                || f.tags
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case("attack.t1049")));
        if (forbidden || loud_on_quiet) && !verdict.unexpected.contains(&f.title) {
            verdict
                .unexpected
                .push(format!("{} ({})", f.title, f.level));
        }
    }
    verdict.passed = verdict.missed.is_empty() && verdict.unexpected.is_empty();
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fired(id: &str, level: &str, tags: &[&str]) -> Fired {
        Fired {
            id: id.into(),
            title: format!("rule {id}"),
            level: level.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            latency_ms: None,
        }
    }

    #[test]
    fn tags_and_rules_must_fire() {
        let expect = Expect {
            rules: vec!["a".into()],
            tags: vec!["attack.t1049".into()],
            ..Expect::default()
        };
        assert!(judge(&expect, &[fired("a", "low", &["attack.t1049"])]).passed);
        let v = judge(&expect, &[fired("b", "low", &["attack.t1049"])]);
        assert_eq!(v.missed, vec!["rule a"]);
    }

    #[test]
    fn quiet_procedures_fail_on_loud_or_t1049_alerts() {
        let expect = Expect {
            quiet: true,
            ..Expect::default()
        };
        assert!(judge(&expect, &[]).passed);
        assert!(judge(&expect, &[fired("x", "informational", &["attack.t1033"])]).passed);
        assert!(!judge(&expect, &[fired("x", "medium", &[])]).passed);
        assert!(!judge(&expect, &[fired("x", "low", &["attack.t1049"])]).passed);
    }
}
