//! Conformance with the SigmaHQ rule repository: every rule loads or is reported with a
//! reason. The counts are exact, so a change in the loader or in rsigma that loses (or
//! gains) a rule shows up here.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sockhunt_detect::{Detector, RuleSet};

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/sigma");
    dir.is_dir().then_some(dir)
}

fn load_all(root: &Path) -> RuleSet {
    let mut set = RuleSet::new();
    let mut dirs: Vec<PathBuf> = fs_err::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("rules")
        })
        .collect();
    dirs.sort();
    for dir in dirs {
        set.add_path(&dir);
    }
    set
}

#[test]
fn every_sigmahq_rule_loads_or_is_reported() {
    let Some(root) = corpus() else {
        eprintln!("../shared/corpus/sigma is absent: skipped");
        return;
    };
    let set = load_all(&root);
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for e in set.errors() {
        *reasons.entry(e.reason).or_default() += 1;
        eprintln!("{e}");
    }
    eprintln!(
        "files {}, rules {}, correlations {}, filters {}, errors {}, warnings {}, reasons {:?}",
        set.files_read(),
        set.rules().len(),
        set.correlations().len(),
        set.filters().len(),
        set.errors().len(),
        set.warnings().len(),
        reasons
    );
    // Measured on SigmaHQ at 8eaafff1f: every one of the 3,780 rule files loads and
    // compiles. A rule that stops loading must show up here with its reason.
    assert_eq!(set.files_read(), 3780);
    assert_eq!(set.rules().len(), 3780);
    assert_eq!(set.correlations().len(), 0);
    assert_eq!(set.errors().len(), 0, "reasons: {reasons:?}");
    // Every file is accounted for: loaded, or reported.
    assert_eq!(set.files_read(), set.len() + set.errors().len());
    let detector = Detector::new(&set);
    assert_eq!(detector.rules().len(), set.rules().len());
}
