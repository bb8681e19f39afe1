//! Which Windows EventIDs a rule can possibly match, read from its detection.
//!
//! A rule for `service: security` would otherwise make every Security record worth
//! rendering. When every way the rule's condition can be satisfied requires `EventID` to be
//! one of a few values, the readers can skip every other record before rendering it.
//! The derivation is conservative: anything it cannot prove (negations, keywords,
//! modifiers, wildcards) leaves the rule unconstrained.

use std::collections::BTreeSet;

use rsigma_parser::value::SigmaValue;
use rsigma_parser::{ConditionExpr, Detection, Quantifier, SelectorPattern, SigmaRule};

type Ids = Option<BTreeSet<i64>>;

/// The EventIDs some match of `rule` requires, or `None` when any record could match.
pub(crate) fn required_event_ids(rule: &SigmaRule) -> Option<Vec<i64>> {
    let detections = &rule.detection;
    if detections.conditions.is_empty() {
        return None;
    }
    // Several conditions: the rule matches when any does.
    let mut all = BTreeSet::new();
    for condition in &detections.conditions {
        all.extend(condition_ids(condition, rule)?);
    }
    Some(all.into_iter().collect())
}

fn condition_ids(expr: &ConditionExpr, rule: &SigmaRule) -> Ids {
    match expr {
        ConditionExpr::Identifier(name) => detection_ids(rule.detection.named.get(name)?),
        ConditionExpr::And(parts) => intersect(parts.iter().map(|p| condition_ids(p, rule))),
        ConditionExpr::Or(parts) => union(parts.iter().map(|p| condition_ids(p, rule))),
        ConditionExpr::Not(_) => None,
        ConditionExpr::Selector {
            quantifier,
            pattern,
        } => {
            let names: Vec<&String> = rule
                .detection
                .named
                .keys()
                .filter(|name| match pattern {
                    SelectorPattern::Them => !name.starts_with('_'),
                    SelectorPattern::Pattern(p) => glob(p, name),
                })
                .collect();
            if names.is_empty() {
                return None;
            }
            let ids = names
                .iter()
                .map(|n| detection_ids(&rule.detection.named[*n]));
            match quantifier {
                Quantifier::All => intersect(ids),
                Quantifier::Any | Quantifier::Count(_) => union(ids),
            }
        }
    }
}

fn detection_ids(detection: &Detection) -> Ids {
    match detection {
        Detection::AllOf(items) => {
            let mut out: Ids = None;
            for item in items {
                if item.field.name.as_deref() != Some("EventID") || !item.field.modifiers.is_empty()
                {
                    continue;
                }
                let mut values = BTreeSet::new();
                for value in &item.values {
                    values.insert(match value {
                        SigmaValue::Integer(n) => *n,
                        SigmaValue::String(s) => s.as_plain()?.trim().parse().ok()?,
                        _ => return None,
                    });
                }
                out = Some(match out {
                    Some(prev) => prev.intersection(&values).copied().collect(),
                    None => values,
                });
            }
            out
        }
        Detection::AnyOf(parts) => union(parts.iter().map(detection_ids)),
        _ => None,
    }
}

/// Every part must hold: the constraint of any constrained part applies.
fn intersect(parts: impl Iterator<Item = Ids>) -> Ids {
    let mut out: Ids = None;
    for ids in parts.flatten() {
        out = Some(match out {
            Some(prev) => prev.intersection(&ids).copied().collect(),
            None => ids,
        });
    }
    out
}

/// Any part may hold: constrained only when every part is.
fn union(parts: impl Iterator<Item = Ids>) -> Ids {
    let mut out = BTreeSet::new();
    let mut any = false;
    for ids in parts {
        out.extend(ids?);
        any = true;
    }
    any.then_some(out)
}

/// Sigma's selector patterns: `*` matches any run of characters.
fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            name.starts_with(head) && {
                let rest = &name[head.len()..];
                (0..=rest.len()).any(|i| rest.is_char_boundary(i) && glob(tail, &rest[i..]))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(yaml: &str) -> Option<Vec<i64>> {
        let collection = rsigma_parser::parse_sigma_yaml(yaml).unwrap();
        required_event_ids(&collection.rules[0])
    }

    const HEAD: &str = "title: t\nlogsource: {product: windows, service: security}\ndetection:\n";

    #[test]
    fn a_selection_on_event_id_constrains_the_rule() {
        let y = format!("{HEAD}  sel: {{EventID: 5145, ShareName: '\\\\*\\IPC$'}}\n  filter: {{SubjectUserName|endswith: '$'}}\n  condition: sel and not filter\n");
        assert_eq!(ids(&y), Some(vec![5145]));
        let y = format!("{HEAD}  a: {{EventID: [4624, '4625']}}\n  b: {{EventID: 4688}}\n  condition: 1 of a or b\n");
        assert_eq!(ids(&y), Some(vec![4624, 4625, 4688]));
        let y = format!(
            "{HEAD}  sel_1: {{EventID: 1}}\n  sel_2: {{EventID: 3}}\n  condition: all of sel_*\n"
        );
        assert_eq!(ids(&y), Some(vec![]));
    }

    #[test]
    fn anything_unproven_leaves_the_rule_unconstrained() {
        assert_eq!(
            ids(&format!(
                "{HEAD}  sel: {{CommandLine|contains: netstat}}\n  condition: sel\n"
            )),
            None
        );
        assert_eq!(
            ids(&format!(
                "{HEAD}  a: {{EventID: 1}}\n  b: {{Image: x}}\n  condition: a or b\n"
            )),
            None
        );
        assert_eq!(
            ids(&format!("{HEAD}  a: {{EventID: 1}}\n  condition: not a\n")),
            None
        );
        assert_eq!(
            ids(&format!("{HEAD}  a: {{EventID|gt: 1}}\n  condition: a\n")),
            None
        );
        assert_eq!(
            ids(&format!("{HEAD}  a: {{EventID: '46*'}}\n  condition: a\n")),
            None
        );
    }
}
