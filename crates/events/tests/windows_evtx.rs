//! The EVTX reader and Windows normalisation against the real sample logs in
//! `../shared/corpus/evtx`.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sockhunt_events::readers::collect_inputs;
use sockhunt_events::{
    read_path, CollectSink, Event, Format, Interest, Locator, LogSource, ReadOptions, ReadStats,
    Value,
};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/evtx")
}

fn options(interest: Interest) -> ReadOptions {
    ReadOptions {
        interest: Arc::new(interest),
        keep_original: false,
        ..ReadOptions::default()
    }
}

fn read(path: &Path, options: &ReadOptions) -> (CollectSink, ReadStats) {
    let mut sink = CollectSink::default();
    let (format, stats) = read_path(path, options, &mut sink).unwrap();
    assert_eq!(format, Format::Evtx);
    (sink, stats)
}

fn process_creation() -> Interest {
    Interest::from_rule_logsources([LogSource::new(
        Some("windows"),
        Some("process_creation"),
        None,
    )])
}

fn str_field<'a>(event: &'a Event, name: &str) -> &'a str {
    match event.fields.get(name) {
        Some(Value::Str(s)) => s,
        other => panic!("{name}: {other:?} in {:?}", event.fields),
    }
}

#[test]
fn sysmon_netstat_from_a_reverse_shell() {
    let path =
        corpus().join("EVTX-ATTACK-SAMPLES/Lateral Movement/powercat_revShell_sysmon_1_3.evtx");
    let (sink, stats) = read(&path, &options(Interest::everything()));
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);
    assert_eq!(stats.events, stats.records);
    let netstat = sink
        .events
        .iter()
        .find(|e| {
            e.fields
                .get_str("Image")
                .is_some_and(|i| i.ends_with("\\NETSTAT.EXE"))
        })
        .unwrap();
    assert_eq!(
        netstat.logsource.to_string(),
        "windows/process_creation/sysmon"
    );
    assert_eq!(
        str_field(netstat, "CommandLine"),
        "\"C:\\Windows\\system32\\NETSTAT.EXE\"  -na"
    );
    assert_eq!(netstat.fields.get("EventID"), Some(&Value::Int(1)));
    assert_eq!(
        str_field(netstat, "Channel"),
        "Microsoft-Windows-Sysmon/Operational"
    );
    assert_eq!(
        str_field(netstat, "Provider_Name"),
        "Microsoft-Windows-Sysmon"
    );
    assert_eq!(str_field(netstat, "User"), "IEWIN7\\IEUser");
    assert_eq!(str_field(netstat, "LogonId"), "0x13529");
    assert_eq!(netstat.fields.get("ProcessId"), Some(&Value::Int(1284)));
    assert_eq!(
        netstat.fields.get("ParentProcessId"),
        Some(&Value::Int(816))
    );
    assert!(netstat.fields.get("ParentImage").is_some());
    assert_eq!(netstat.host.as_deref(), Some("IEWIN7"));
    assert_eq!(
        netstat.time.unwrap().to_string(),
        "2019-06-20T08:07:42.3318108Z"
    );
    assert_eq!(netstat.provenance.locator, Locator::Record(8112));
    assert!(netstat
        .provenance
        .source
        .ends_with("powercat_revShell_sysmon_1_3.evtx"));
    assert!(netstat.original.is_none());

    // The Sysmon 3 of the same shell is a network connection, not a process creation.
    let connection = sink
        .events
        .iter()
        .find(|e| e.fields.get("EventID") == Some(&Value::Int(3)))
        .unwrap();
    assert_eq!(
        connection.logsource.to_string(),
        "windows/network_connection/sysmon"
    );
    assert!(connection.fields.get("DestinationIp").is_some());
}

#[test]
fn security_4688_net_use_gets_sysmon_names() {
    let path = corpus().join(
        "EVTX-to-MITRE-Attack/TA0007-Discovery/T1135.xxx-Network Share Discovery/ID4688-Network share discovery or connection via commandline.evtx",
    );
    let mut opts = options(process_creation());
    opts.keep_original = true;
    let (sink, _) = read(&path, &opts);
    let net_use = sink
        .events
        .iter()
        .find(|e| e.fields.get_str("CommandLine").as_deref() == Some("net  use"))
        .unwrap();
    assert_eq!(
        net_use.logsource.to_string(),
        "windows/process_creation/security"
    );
    assert_eq!(net_use.provenance.locator, Locator::Record(60400));
    assert_eq!(
        str_field(net_use, "Image"),
        "C:\\Windows\\System32\\net.exe"
    );
    assert_eq!(
        str_field(net_use, "NewProcessName"),
        "C:\\Windows\\System32\\net.exe"
    );
    assert_eq!(net_use.fields.get("ProcessId"), Some(&Value::Int(0xd14)));
    assert_eq!(
        net_use.fields.get("ParentProcessId"),
        Some(&Value::Int(0xb5c))
    );
    assert_eq!(str_field(net_use, "NewProcessId"), "0xd14");
    // The target account is `-`: the user is the subject.
    assert_eq!(str_field(net_use, "User"), "OFFSEC\\admmig");
    assert_eq!(str_field(net_use, "TargetUserName"), "-");
    assert_eq!(str_field(net_use, "LogonId"), "0x1f4c65f");
    assert_eq!(net_use.fields.get("EventID"), Some(&Value::Int(4688)));
    assert_eq!(net_use.host.as_deref(), Some("FS03.offsec.lan"));
    let original = serde_json::to_value(net_use.original.as_ref().unwrap()).unwrap();
    assert_eq!(original["Event"]["System"]["EventRecordID"], 60400);
}

#[test]
fn powershell_module_and_script_block() {
    let dir = corpus().join("EVTX-to-MITRE-Attack/TA0002-Execution/T1059.001-PowerShell");
    let (sink, _) = read(
        &dir.join("ID4103-4104-Payload download via PowerShell.evtx"),
        &options(Interest::everything()),
    );
    let script = sink
        .events
        .iter()
        .find(|e| {
            e.fields
                .get_str("ScriptBlockText")
                .is_some_and(|t| t.contains("downloadString"))
        })
        .unwrap();
    assert_eq!(script.logsource.to_string(), "windows/ps_script/powershell");
    assert_eq!(script.fields.get("MessageNumber"), Some(&Value::Int(1)));
    assert_eq!(script.fields.get("MessageTotal"), Some(&Value::Int(1)));
    assert!(script.fields.get("ScriptBlockId").is_some());
    let module = sink
        .events
        .iter()
        .find(|e| e.fields.get("EventID") == Some(&Value::Int(4103)))
        .unwrap();
    assert_eq!(module.logsource.to_string(), "windows/ps_module/powershell");
    assert!(str_field(module, "Payload").contains("downloadString"));
    assert!(str_field(module, "ContextInfo").contains("Host Application"));
    assert_eq!(
        str_field(module, "HostApplication"),
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
    );
    assert_eq!(str_field(module, "CommandType"), "Script");
    // `Command Name = ` is empty: absent.
    assert!(module.fields.get("CommandName").is_none());

    // Windows PowerShell 800 and 4103 with string-typed EventIDs.
    let (sink, _) = read(
        &dir.join("ID800-4103-Interactive PipeShell over named pipe (server and client).evtx"),
        &options(Interest::everything()),
    );
    let classic = sink
        .events
        .iter()
        .find(|e| e.fields.get("EventID") == Some(&Value::Int(800)))
        .unwrap();
    assert_eq!(
        classic.logsource.to_string(),
        "windows/ps_classic_script/powershell-classic"
    );
    assert!(matches!(classic.fields.get("Data"), Some(Value::List(_))));
    assert!(classic.fields.get("HostApplication").is_some());
    assert_eq!(
        sink.events
            .iter()
            .filter(|e| e.logsource.category.as_deref() == Some("ps_module"))
            .count(),
        12
    );
}

#[test]
fn powershell_classic_400_host_application() {
    let (files, _) = collect_inputs(&[corpus()]);
    let interest = Interest::from_rule_logsources([LogSource::new(
        Some("windows"),
        Some("ps_classic_start"),
        None,
    )]);
    let opts = options(interest);
    let mut starts = Vec::new();
    for file in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "evtx"))
    {
        let (sink, _) = read(file, &opts);
        starts.extend(sink.events);
    }
    assert!(!starts.is_empty());
    for start in &starts {
        assert_eq!(start.fields.get("EventID"), Some(&Value::Int(400)));
        assert!(start.fields.get("Data").is_some());
    }
    let fs02 = starts
        .iter()
        .find(|e| e.provenance.locator == Locator::Record(9445))
        .unwrap();
    assert_eq!(
        str_field(fs02, "HostApplication"),
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
    );
    assert_eq!(str_field(fs02, "EngineVersion"), "4.0");
    assert_eq!(str_field(fs02, "NewEngineState"), "Available");
}

/// Every record of the corpus is read, and the pre-filter keeps exactly the records a
/// full read calls process creations while skipping the rest unrendered.
#[test]
fn whole_corpus_counts_and_prefilter_agree() {
    let (files, errors) = collect_inputs(&[corpus()]);
    assert!(errors.is_empty());
    let files: Vec<_> = files
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "evtx"))
        .collect();
    assert_eq!(files.len(), 593);
    let everything = options(Interest::everything());
    let filtered = options(process_creation());
    let mut all = ReadStats::default();
    let mut pre = ReadStats::default();
    for file in &files {
        let (full, stats) = read(file, &everything);
        all.add(&stats);
        let (some, stats) = read(file, &filtered);
        pre.add(&stats);
        let expected: Vec<_> = full
            .events
            .iter()
            .filter(|e| e.logsource.category.as_deref() == Some("process_creation"))
            .map(|e| e.provenance.locator)
            .collect();
        let got: Vec<_> = some.events.iter().map(|e| e.provenance.locator).collect();
        assert_eq!(got, expected, "{}", file.display());
    }
    assert_eq!(all.records, 24_661);
    assert_eq!(all.events, 24_661);
    assert_eq!(all.errors, 0);
    assert_eq!(all.skipped, 0);
    assert_eq!(pre.records, 24_661);
    assert_eq!(pre.events, 1_521 + 1_366);
    assert_eq!(pre.skipped, 24_661 - 1_521 - 1_366);
}

#[test]
fn gzip_compressed_evtx_reads_the_same() {
    let path =
        corpus().join("EVTX-ATTACK-SAMPLES/Lateral Movement/powercat_revShell_sysmon_1_3.evtx");
    let (plain, plain_stats) = read(&path, &options(Interest::everything()));
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("sample.evtx.gz");
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    encoder.write_all(&std::fs::read(&path).unwrap()).unwrap();
    encoder.finish().unwrap();
    let (packed, packed_stats) = read(&gz, &options(Interest::everything()));
    assert_eq!(plain_stats, packed_stats);
    assert_eq!(plain.events.len(), packed.events.len());
    assert_eq!(plain.events[0].fields, packed.events[0].fields);
}

#[test]
fn threads_inside_a_file_keep_the_order() {
    let path = corpus()
        .join("EVTX-ATTACK-SAMPLES/AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx");
    let (one, _) = read(&path, &options(Interest::everything()));
    let mut opts = options(Interest::everything());
    opts.evtx_threads = 2;
    let (two, _) = read(&path, &opts);
    let ids = |s: &CollectSink| {
        s.events
            .iter()
            .map(|e| e.provenance.locator)
            .collect::<Vec<_>>()
    };
    assert!(one.events.len() > 100);
    assert_eq!(ids(&one), ids(&two));
}

/// Damage in the middle of a record: the parser's complaint names the file and the
/// record, and the records around it are still read.
#[test]
fn corrupted_record_is_reported_and_the_rest_goes_on() {
    let path = corpus()
        .join("EVTX-ATTACK-SAMPLES/AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx");
    let (clean, clean_stats) = read(&path, &options(Interest::everything()));
    let mut bytes = std::fs::read(&path).unwrap();
    // The first chunk starts at 4096, its records at 4096 + 512. Damage the BinXML of a
    // record in the middle of the first chunk (its header stays intact).
    let record_magic = [0x2a, 0x2a, 0, 0];
    let starts: Vec<usize> = (4096 + 512..4096 + 65536 - 4)
        .filter(|&i| bytes[i..i + 4] == record_magic)
        .collect();
    let victim = starts[starts.len() / 2];
    for b in &mut bytes[victim + 24..victim + 24 + 64] {
        *b = 0xff;
    }
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.evtx");
    std::fs::write(&broken, &bytes).unwrap();
    let (sink, stats) = read(&broken, &options(Interest::everything()));
    assert!(stats.errors >= 1, "{stats:?}");
    let error = &sink.errors[0];
    assert!(error.at.source.ends_with("broken.evtx"));
    let text = error.to_string();
    assert!(text.contains("broken.evtx"), "{text}");
    assert!(
        matches!(error.at.locator, Locator::Record(_)) || text.contains("chunk"),
        "{text}"
    );
    // Everything else is read.
    assert_eq!(stats.events + stats.errors, clean_stats.events);
    assert!(stats.events >= clean.events.len() as u64 - 2);

    // With the pre-filter the damaged record is not readable either: it is rendered (or
    // reported), never silently folded away, and the count still adds up.
    let (filtered, filtered_stats) = read(&broken, &options(process_creation()));
    assert_eq!(filtered_stats.records, stats.records);
    assert!(filtered_stats.errors >= 1, "{filtered_stats:?}");
    assert!(filtered
        .events
        .iter()
        .all(|e| e.logsource.category.as_deref() == Some("process_creation")));
}

/// A truncated file: the chunks that are whole are read.
#[test]
fn truncated_file_keeps_whole_chunks() {
    let path = corpus()
        .join("EVTX-ATTACK-SAMPLES/AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx");
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 4096 + 2 * 65536);
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.evtx");
    std::fs::write(&cut, &bytes[..4096 + 65536 + 30_000]).unwrap();
    let (sink, stats) = read(&cut, &options(Interest::everything()));
    assert!(stats.events > 0);
    assert_eq!(stats.events as usize, sink.events.len());
}
