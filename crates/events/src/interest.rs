//! What the loaded rules can possibly match, so readers skip the rest before building
//! fields.

use crate::event::LogSource;

/// The logsources some loaded rule (detection or the inputs of a correlation) can match.
///
/// A record whose logsource no entry accepts costs the reader almost nothing: the EVTX
/// reader decides from the channel and EventID before rendering the record.
#[derive(Debug, Clone, Default)]
pub struct Interest {
    everything: bool,
    wanted: Vec<LogSource>,
    /// Per entry of `wanted`: the Windows EventIDs its rules require (`None`: any).
    event_ids: Vec<Option<Vec<i64>>>,
}

impl Interest {
    /// Accept every record (used when dumping or recording events).
    pub fn everything() -> Self {
        Interest {
            everything: true,
            wanted: Vec::new(),
            event_ids: Vec::new(),
        }
    }

    /// Accept records that any of these rule logsources matches.
    pub fn from_rule_logsources(wanted: impl IntoIterator<Item = LogSource>) -> Self {
        Interest::from_rules(wanted.into_iter().map(|ls| (ls, None)))
    }

    /// Accept records that any rule matches: its logsource, and when the rule requires
    /// some Windows EventIDs (every way its condition holds needs one of them), only
    /// records with one of those.
    pub fn from_rules(rules: impl IntoIterator<Item = (LogSource, Option<Vec<i64>>)>) -> Self {
        let mut wanted: Vec<LogSource> = Vec::new();
        let mut event_ids: Vec<Option<Vec<i64>>> = Vec::new();
        for (ls, ids) in rules {
            if ls.product.is_none()
                && ls.category.is_none()
                && ls.service.is_none()
                && ids.is_none()
            {
                // A rule with an empty logsource applies to everything.
                return Interest::everything();
            }
            match wanted.iter().position(|w| *w == ls) {
                Some(at) => {
                    event_ids[at] = match (event_ids[at].take(), ids) {
                        (Some(mut a), Some(b)) => {
                            a.extend(b);
                            a.sort_unstable();
                            a.dedup();
                            Some(a)
                        }
                        _ => None,
                    };
                }
                None => {
                    wanted.push(ls);
                    event_ids.push(ids);
                }
            }
        }
        Interest {
            everything: false,
            wanted,
            event_ids,
        }
    }

    /// Whether every record is wanted.
    pub fn is_everything(&self) -> bool {
        self.everything
    }

    /// Whether a record with this logsource can match some rule, by Sigma's logsource
    /// semantics: every dimension the rule sets must equal the record's.
    pub fn wants(&self, record: &LogSource) -> bool {
        self.everything || self.wanted.iter().any(|rule| rule_accepts(rule, record))
    }

    /// [`Interest::wants`], also asking for the record's Windows EventID when it is known:
    /// a Security 4663 record is not wanted when the only Security rules need 5145.
    pub fn wants_event(&self, record: &LogSource, event_id: Option<i64>) -> bool {
        if self.everything {
            return true;
        }
        self.wanted.iter().zip(&self.event_ids).any(|(rule, ids)| {
            rule_accepts(rule, record)
                && match (ids, event_id) {
                    (Some(ids), Some(id)) => ids.binary_search(&id).is_ok(),
                    _ => true,
                }
        })
    }
}

/// Sigma logsource matching: each dimension the rule names must be present and equal
/// (case-insensitively) in the record's logsource.
pub(crate) fn rule_accepts(rule: &LogSource, record: &LogSource) -> bool {
    fn dim(
        rule: &Option<std::borrow::Cow<'static, str>>,
        rec: &Option<std::borrow::Cow<'static, str>>,
    ) -> bool {
        match (rule, rec) {
            (None, _) => true,
            (Some(r), Some(e)) => r.eq_ignore_ascii_case(e),
            (Some(_), None) => false,
        }
    }
    dim(&rule.product, &record.product)
        && dim(&rule.category, &record.category)
        && dim(&rule.service, &record.service)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigma_logsource_semantics() {
        let interest = Interest::from_rule_logsources([
            LogSource::new(None, Some("process_creation"), None),
            LogSource::new(Some("windows"), None, Some("security")),
        ]);
        assert!(interest.wants(&LogSource::new(
            Some("windows"),
            Some("process_creation"),
            Some("sysmon")
        )));
        assert!(interest.wants(&LogSource::new(
            Some("linux"),
            Some("process_creation"),
            None
        )));
        assert!(interest.wants(&LogSource::new(
            Some("windows"),
            Some("logon"),
            Some("security")
        )));
        assert!(!interest.wants(&LogSource::new(
            Some("windows"),
            Some("dns_query"),
            Some("sysmon")
        )));
        assert!(Interest::from_rule_logsources([LogSource::default()]).is_everything());
    }

    #[test]
    fn event_ids_narrow_a_logsource_until_a_rule_needs_any() {
        let security = LogSource::new(Some("windows"), None, Some("security"));
        let interest = Interest::from_rules([
            (security.clone(), Some(vec![5145])),
            (security.clone(), Some(vec![4624])),
        ]);
        assert!(interest.wants_event(&security, Some(5145)));
        assert!(interest.wants_event(&security, Some(4624)));
        assert!(!interest.wants_event(&security, Some(4663)));
        assert!(interest.wants_event(&security, None));
        assert!(interest.wants(&security));
        let interest = Interest::from_rules([
            (security.clone(), Some(vec![5145])),
            (security.clone(), None),
        ]);
        assert!(interest.wants_event(&security, Some(4663)));
    }
}
