//! The built-in pack embedded in the library loads without errors, and its rule tests are
//! embedded beside it.
#![allow(clippy::unwrap_used)]

use sockhunt_detect::{pack, Detector, RuleSet};

#[test]
fn builtin_pack_loads_cleanly() {
    let set = RuleSet::builtin();
    for e in set.errors() {
        eprintln!("{e}");
    }
    assert!(set.errors().is_empty());
    let rule_files = pack::rule_files().count();
    assert_eq!(set.files_read(), rule_files);
    assert_eq!(set.len(), rule_files, "one rule per file");
    for rule in set.rules() {
        assert!(rule.meta.source.starts_with(pack::SOURCE_PREFIX));
        assert!(rule.meta.id.is_some(), "{} has no id", rule.meta.source);
    }
    let detector = Detector::new(&set);
    assert_eq!(detector.rules().len(), set.rules().len());
}

#[test]
fn test_files_are_embedded_and_not_loaded_as_rules() {
    for test in pack::test_files() {
        assert!(test.path.ends_with(".tests.yml"));
        assert!(pack::get(&test.source_name()).is_some());
    }
    assert!(pack::rule_files().all(|f| !f.is_test()));
}
