//! Chains on fixtures: one chain per chain instance with its steps in order; none when
//! the same steps are spread beyond the window, split across users, or out of order.
#![allow(clippy::unwrap_used)]

mod chains_support;

use chains_support::{assert_no_overlap, fixture, whats, Setup};
use sockhunt_detect::correlate::{ChainConfig, ChainStatus};
use sockhunt_detect::Level;

fn of_rule<'a>(
    chains: &'a [sockhunt_detect::correlate::Chain],
    name: &str,
) -> Vec<&'a sockhunt_detect::correlate::Chain> {
    chains
        .iter()
        .filter(|c| c.rule.name.as_deref() == Some(name))
        .collect()
}

#[test]
fn one_session_burst_is_one_chain_with_its_steps() {
    let setup = Setup::new();
    let chains = setup.chains(
        &[fixture("burst_one_session.jsonl")],
        &ChainConfig::default(),
    );
    assert_eq!(chains.len(), 1, "{chains:#?}");
    let chain = &chains[0];
    assert_eq!(chain.rule.name.as_deref(), Some("sockhunt_discovery_burst"));
    assert_eq!(chain.status, ChainStatus::Closed);
    assert_eq!(
        whats(chain),
        [
            "whoami /all",
            "ipconfig /all",
            "netstat -ano",
            "net session",
            "net group \"domain admins\" /domain"
        ]
    );
    assert_eq!(chain.techniques, ["T1033", "T1016", "T1049", "T1069"]);
    assert_eq!(
        chain.group,
        [
            ("sockhunt.host".to_owned(), "ws01".to_owned()),
            ("sockhunt.session".to_owned(), "logon:0x5a1f2".to_owned())
        ]
    );
    assert_eq!(chain.first.to_string(), "2024-05-01T10:00:00Z");
    assert_eq!(chain.last.to_string(), "2024-05-01T10:04:40Z");
    // Provenance of every step: the file and the line.
    assert!(chain
        .steps
        .iter()
        .all(|s| s.source.ends_with("burst_one_session.jsonl")));
    assert_eq!(chain.steps[2].locator, sockhunt_events::Locator::Line(3));
    let json = chain.to_json();
    assert_eq!(json["type"], "chain");
    assert_eq!(json["steps"].as_array().unwrap().len(), 5);
    assert_eq!(json["steps"][2]["rules"][0]["techniques"][0], "T1049");
}

#[test]
fn steps_spread_beyond_the_window_make_no_chain() {
    let setup = Setup::new();
    let chains = setup.chains(
        &[fixture("burst_spread_out.jsonl")],
        &ChainConfig::default(),
    );
    assert!(chains.is_empty(), "{chains:#?}");
    // The same file with a window wide enough is one chain: the window decides.
    let wide = ChainConfig::default().with_window("30m").unwrap();
    let chains = setup.chains(&[fixture("burst_spread_out.jsonl")], &wide);
    assert_eq!(
        of_rule(&chains, "sockhunt_discovery_burst").len(),
        1,
        "{chains:#?}"
    );
}

#[test]
fn steps_split_across_users_make_no_chain() {
    let setup = Setup::new();
    let chains = setup.chains(
        &[fixture("burst_split_users.jsonl")],
        &ChainConfig::default(),
    );
    assert!(chains.is_empty(), "{chains:#?}");
}

#[test]
fn threshold_is_overridable() {
    let setup = Setup::new();
    let config = ChainConfig::from_yaml(
        "test.yml",
        "chains:\n  sockhunt_discovery_burst:\n    threshold: 5\n",
    )
    .unwrap();
    // Four techniques in the session: under a threshold of five, no chain.
    let chains = setup.chains(&[fixture("burst_one_session.jsonl")], &config);
    assert!(chains.is_empty(), "{chains:#?}");
    // A chain name that does not exist is reported, not ignored.
    let typo = ChainConfig::from_yaml(
        "test.yml",
        "chains:\n  sockhunt_discovery_brust:\n    threshold: 5\n",
    )
    .unwrap();
    let tracker = sockhunt_detect::correlate::ChainTracker::new(&setup.rules, &typo);
    assert_eq!(tracker.errors().len(), 1);
    assert!(tracker.errors()[0]
        .to_string()
        .contains("sockhunt_discovery_brust"));
}

#[test]
fn discovery_then_lateral_movement() {
    let setup = Setup::new();
    let chains = setup.chains(&[fixture("lateral.jsonl")], &ChainConfig::default());
    assert_no_overlap(&chains);
    let lateral = of_rule(&chains, "sockhunt_discovery_then_lateral_movement");
    assert_eq!(lateral.len(), 3, "{chains:#?}");
    // alice: netstat, then psexec to a host nothing named.
    let a = lateral
        .iter()
        .find(|c| c.group[1].1 == "logon:0x5a1f2")
        .unwrap();
    assert_eq!(
        whats(a),
        ["netstat -ano", "PsExec64.exe \\\\SRV9 -s cmd.exe"]
    );
    assert_eq!(a.targets, ["srv9"]);
    assert!(!a.target_named_by_discovery);
    assert_eq!(a.level, Some(Level::High));
    // dave: net use (T1049), then wmic /node to FS01, which `net view \\FS01` named. The
    // net view is no T1049 step, so it is not part of this chain.
    let d = lateral
        .iter()
        .find(|c| c.group[1].1 == "logon:0x8d4e5")
        .unwrap();
    assert_eq!(d.targets, ["fs01"]);
    assert_eq!(whats(d)[0], "net use");
    assert!(d
        .steps
        .last()
        .unwrap()
        .what
        .as_deref()
        .unwrap()
        .contains("/node:FS01"));
    // erin: the connection listing named 10.0.0.7, then wmic reached it: critical.
    let e = lateral
        .iter()
        .find(|c| c.group[1].1 == "logon:0x9e5f6")
        .unwrap();
    assert_eq!(e.targets, ["10.0.0.7"]);
    assert!(e.target_named_by_discovery);
    assert_eq!(e.level, Some(Level::Critical));
    assert_eq!(e.to_json()["target_named_by_discovery"], true);
}

#[test]
fn lateral_movement_out_of_window_or_before_discovery_makes_no_chain() {
    let setup = Setup::new();
    let chains = setup.chains(
        &[fixture("lateral_out_of_window.jsonl")],
        &ChainConfig::default(),
    );
    assert!(chains.is_empty(), "{chains:#?}");
}

#[test]
fn cloud_network_mapping_by_one_identity() {
    let setup = Setup::new();
    let chains = setup.chains(&[fixture("cloud.jsonl")], &ChainConfig::default());
    assert_eq!(chains.len(), 1, "{chains:#?}");
    let c = &chains[0];
    assert_eq!(
        c.rule.name.as_deref(),
        Some("sockhunt_cloud_network_mapping")
    );
    assert_eq!(c.group[1].1, "identity:arn:aws:iam::111122223333:user/bob");
    assert_eq!(
        whats(c),
        [
            "DescribeVpcs",
            "DescribeSubnets",
            "DescribeSecurityGroups",
            "DescribeRouteTables"
        ]
    );
}

#[test]
fn device_reconnaissance_in_one_aaa_session() {
    let setup = Setup::new();
    let chains = setup.chains(&[fixture("device.jsonl")], &ChainConfig::default());
    assert_eq!(chains.len(), 1, "{chains:#?}");
    let c = &chains[0];
    assert_eq!(
        c.rule.name.as_deref(),
        Some("sockhunt_device_reconnaissance")
    );
    assert_eq!(c.group[1].1, "session:771");
    assert_eq!(
        whats(c),
        [
            "show ip route",
            "show cdp neighbors",
            "show ip sockets",
            "show users"
        ]
    );
}

#[test]
fn inputs_in_any_order_give_the_same_single_chain() {
    let setup = Setup::new();
    let whole = setup.chains(
        &[fixture("burst_one_session.jsonl")],
        &ChainConfig::default(),
    );
    for order in [
        [fixture("split_part_a.jsonl"), fixture("split_part_b.jsonl")],
        [fixture("split_part_b.jsonl"), fixture("split_part_a.jsonl")],
    ] {
        let chains = setup.chains(&order, &ChainConfig::default());
        assert_eq!(chains.len(), 1, "{chains:#?}");
        assert_eq!(whats(&chains[0]), whats(&whole[0]));
    }
}

#[test]
fn a_log_read_twice_is_still_one_chain_with_each_step_once() {
    let setup = Setup::new();
    let file = fixture("burst_one_session.jsonl");
    let chains = setup.chains(&[file.clone(), file], &ChainConfig::default());
    assert_eq!(chains.len(), 1, "{chains:#?}");
    assert_eq!(chains[0].steps.len(), 5);
}
