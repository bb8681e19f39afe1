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
}

impl Interest {
    /// Accept every record (used when dumping or recording events).
    pub fn everything() -> Self {
        Interest {
            everything: true,
            wanted: Vec::new(),
        }
    }

    /// Accept records that any of these rule logsources matches.
    pub fn from_rule_logsources(wanted: impl IntoIterator<Item = LogSource>) -> Self {
        let mut list: Vec<LogSource> = Vec::new();
        for ls in wanted {
            if ls.product.is_none() && ls.category.is_none() && ls.service.is_none() {
                // A rule with an empty logsource applies to everything.
                return Interest::everything();
            }
            if !list.contains(&ls) {
                list.push(ls);
            }
        }
        Interest {
            everything: false,
            wanted: list,
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
}
