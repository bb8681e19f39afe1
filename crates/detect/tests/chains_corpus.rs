//! Chains on the real sample logs in `../shared/corpus/evtx`: each real multi-step
//! discovery session is one chain alert with its steps, and no chains overlap.
#![allow(clippy::unwrap_used)]

mod chains_support;

use std::path::PathBuf;

use chains_support::{assert_no_overlap, corpus, whats, Setup};
use sockhunt_detect::correlate::{Chain, ChainConfig};

fn evtx_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![corpus()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("evtx"))
            {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn corpus_chains() -> Vec<Chain> {
    let setup = Setup::new();
    let files = evtx_files();
    assert!(
        files.len() > 500,
        "corpus not found at {}",
        corpus().display()
    );
    setup.chains(&files, &ChainConfig::default())
}

fn on<'a>(chains: &'a [Chain], host: &str, day: &str) -> Vec<&'a Chain> {
    chains
        .iter()
        .filter(|c| {
            c.group
                .iter()
                .any(|(k, v)| k == "sockhunt.host" && v.starts_with(host))
        })
        .filter(|c| c.first.to_string().starts_with(day))
        .collect()
}

#[test]
fn real_discovery_sessions_are_one_chain_each() {
    let chains = corpus_chains();
    for c in &chains {
        eprintln!(
            "chain {} {} {:?} {}..{} {:?} {:?}",
            c.id,
            c.rule.key(),
            c.group,
            c.first,
            c.last,
            c.techniques,
            whats(c)
        );
    }
    assert_no_overlap(&chains);

    // FS03, 2021-10-19: net group /domain, net view, net use, net share by one logon,
    // recorded in four different files.
    let fs03 = on(&chains, "fs03", "2021-10-19");
    assert_eq!(fs03.len(), 1, "{fs03:#?}");
    let steps = whats(fs03[0]);
    assert!(
        steps.iter().any(|s| s.contains("group /domain")),
        "{steps:?}"
    );
    assert!(
        steps.iter().any(|s| s.trim_end().ends_with("use")),
        "{steps:?}"
    );
    assert!(steps.iter().any(|s| s.contains("share")), "{steps:?}");
    assert!(fs03[0].techniques.iter().any(|t| t == "T1049"));
    let files: std::collections::BTreeSet<_> =
        fs03[0].steps.iter().map(|s| s.source.clone()).collect();
    assert!(files.len() >= 3, "{files:?}");

    // MSEDGEWIN10, 2019-07-19: the Atomic Red Team run's discovery.
    let edge = on(&chains, "msedgewin10", "2019-07-19");
    assert_eq!(edge.len(), 1, "{edge:#?}");
    let steps = whats(edge[0]);
    for want in [
        "dir c:",
        "wmic.exe  process",
        "net  view /domain",
        "arp  -a",
    ] {
        assert!(steps.iter().any(|s| s.contains(want)), "{want}: {steps:?}");
    }
    assert!(edge[0].techniques.iter().any(|t| t == "T1049"));
    // Steps are in time order.
    assert!(edge[0].steps.windows(2).all(|w| w[0].time <= w[1].time));
}

/// Through the hunt path (inputs read in parallel, handed over one by one): the FS03
/// session spread over four files is one chain whatever the order of the inputs.
#[test]
fn hunt_gives_one_chain_whatever_the_input_order() {
    use sockhunt_detect::correlate::HuntChains;
    use sockhunt_detect::hunt::{expand_inputs, HuntOptions};

    let setup = Setup::new();
    let dir = corpus().join("EVTX-to-MITRE-Attack");
    let mut files = vec![
        dir.join("TA0007-Discovery/T1069-Permission Groups Discovery/ID4688-Group discovery via commandline.evtx"),
        dir.join("TA0007-Discovery/T1135.xxx-Network Share Discovery/ID4688-Network share discovery or connection via commandline.evtx"),
        dir.join("TA0008-Lateral Movement/T1021.002-SMB Windows Admin Shares/ID4688-Network share manipulation via commandline.evtx"),
        dir.join("TA0007-Discovery/T1201-Password Policy Discovery/ID4688-Password policy discovery via commandline.evtx"),
    ];
    let mut seen = Vec::new();
    for round in 0..2 {
        if round == 1 {
            files.reverse();
        }
        let (inputs, errors) = expand_inputs(&files);
        assert!(errors.is_empty(), "{errors:?}");
        let mut options = HuntOptions::new(&setup.detector);
        options.threads = 2;
        let mut chains = HuntChains::new(&setup.rules, &ChainConfig::default());
        sockhunt_detect::hunt(&inputs, &setup.detector, &options, &mut |outcome| {
            chains.add(&outcome.hits);
        });
        let (found, stats) = chains.finish();
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(stats.chains, 1);
        seen.push(whats(&found[0]));
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0][0].trim(), "net  group /domain");
}
