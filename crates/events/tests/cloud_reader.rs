#![allow(clippy::unwrap_used)]
//! CloudTrail, Azure Activity and GCP audit records.

use std::path::{Path, PathBuf};

use sockhunt_events::{read_path, CollectSink, Format, Locator, LogSource, ReadOptions, Value};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cloud")
        .join(name)
}

fn shared(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/cloud")
        .join(name)
}

fn read(path: &Path) -> (Format, sockhunt_events::ReadStats, CollectSink) {
    let mut sink = CollectSink::default();
    let (format, stats) = read_path(path, &ReadOptions::default(), &mut sink).unwrap();
    (format, stats, sink)
}

#[test]
fn cloudtrail_records_file_is_streamed() {
    let (format, stats, sink) = read(&fixture("cloudtrail_records.json"));
    assert_eq!(format, Format::CloudTrail);
    assert_eq!(stats.events, 4);
    assert!(sink.errors.is_empty());
    let sg = &sink.events[1];
    assert_eq!(
        sg.logsource,
        LogSource::new(Some("aws"), None, Some("cloudtrail"))
    );
    assert_eq!(sg.provenance.locator, Locator::Index(1));
    assert_eq!(sg.host.as_deref(), Some("111122223333"));
    assert_eq!(sg.time.unwrap().to_string(), "2024-04-02T08:00:02Z");
    assert_eq!(
        sg.fields.get_str("eventName").as_deref(),
        Some("DescribeSecurityGroups")
    );
    assert_eq!(
        sg.fields.get_str("userIdentity.arn").as_deref(),
        Some("arn:aws:iam::111122223333:user/recon")
    );
    assert_eq!(
        sg.fields
            .get("requestParameters.securityGroupIdSet.items.groupId"),
        Some(&Value::List(vec!["sg-1".into(), "sg-2".into()]))
    );
    assert_eq!(
        sink.events[2].fields.get_str("errorCode").as_deref(),
        Some("Client.UnauthorizedOperation")
    );
    assert_eq!(
        sink.events[3].fields.get("requestParameters.maxResults"),
        Some(&Value::Int(100))
    );
}

#[test]
fn cloudtrail_lines_with_a_broken_one() {
    let (format, stats, sink) = read(&fixture("cloudtrail.jsonl"));
    assert_eq!(format, Format::CloudTrail);
    assert_eq!(stats.events, 5);
    assert_eq!(sink.errors.len(), 1);
    assert!(
        sink.errors[0].to_string().contains("line 5"),
        "{}",
        sink.errors[0]
    );
    assert_eq!(sink.events[4].provenance.locator, Locator::Line(6));
    assert_eq!(
        sink.events[4].fields.get("requestParameters"),
        Some(&Value::Null)
    );
}

#[test]
fn cloudtrail_pipeline_record_drops_enrichment() {
    let (format, stats, sink) = read(&shared(
        "aws_cloudtrail_DescribeSecurityGroups.panther_test.json",
    ));
    assert_eq!(format, Format::CloudTrail);
    assert_eq!(stats.events, 1);
    let e = &sink.events[0];
    assert_eq!(e.time.unwrap().to_string(), "2021-10-19T01:06:59Z");
    assert_eq!(
        e.fields.get_str("eventSource").as_deref(),
        Some("ec2.amazonaws.com")
    );
    assert_eq!(
        e.fields
            .get_str("userIdentity.sessionContext.sessionIssuer.userName")
            .as_deref(),
        Some("ExampleRole-us-east-2")
    );
    assert!(e.fields.iter().all(|(k, _)| !k.starts_with("p_")));
}

#[test]
fn azure_shapes() {
    let (format, stats, sink) = read(&fixture("azure_records.json"));
    assert_eq!(format, Format::Azure);
    assert_eq!(stats.events, 2);
    let e = &sink.events[0];
    assert_eq!(
        e.logsource,
        LogSource::new(Some("azure"), None, Some("activitylogs"))
    );
    assert_eq!(
        e.host.as_deref(),
        Some("0000AAAA-1111-2222-3333-444455556666")
    );
    assert_eq!(e.time.unwrap().to_string(), "2024-04-02T09:00:00.1234567Z");
    assert_eq!(
        e.fields.get_str("identity.claims.name").as_deref(),
        Some("recon@contoso.example")
    );
    assert_eq!(
        e.fields.get_str("properties.statusCode").as_deref(),
        Some("OK")
    );

    let (format, _, sink) = read(&fixture("azure_rest.json"));
    assert_eq!(format, Format::Azure);
    let e = &sink.events[0];
    assert_eq!(
        e.fields.get_str("operationName").as_deref(),
        Some("Microsoft.Network/networkSecurityGroups/read")
    );
    assert_eq!(
        e.fields.get_str("operationName.localizedValue").as_deref(),
        Some("Get Network Security Group")
    );
    assert_eq!(
        e.fields.get_str("caller").as_deref(),
        Some("recon@contoso.example")
    );
    assert_eq!(e.fields.get_str("status").as_deref(), Some("Succeeded"));

    let (format, _, sink) = read(&shared("azure_activity_nsg_read.panther_test.json"));
    assert_eq!(format, Format::Azure);
    assert_eq!(
        sink.events[0].host.as_deref(),
        Some("12345678-1234-1234-1234-123456789abc")
    );
}

#[test]
fn gcp_shapes() {
    let (format, stats, sink) = read(&fixture("gcp.jsonl"));
    assert_eq!(format, Format::Gcp);
    assert_eq!(stats.events, 2);
    let e = &sink.events[0];
    assert_eq!(
        e.logsource,
        LogSource::new(Some("gcp"), None, Some("gcp.audit"))
    );
    assert_eq!(e.host.as_deref(), Some("example-project"));
    assert_eq!(
        e.fields.get_str("protoPayload.methodName").as_deref(),
        Some("v1.compute.firewalls.list")
    );
    assert_eq!(
        e.fields
            .get_str("protoPayload.authenticationInfo.principalEmail")
            .as_deref(),
        Some("recon@example-project.iam.gserviceaccount.com")
    );
    assert_eq!(
        e.fields.get("protoPayload.authorizationInfo.permission"),
        Some(&Value::List(vec!["compute.firewalls.list".into()]))
    );
    assert_eq!(sink.events[1].host.as_deref(), Some("other-project"));

    let (format, _, sink) = read(&shared("gcp_audit_data_access_compute.panther_test.json"));
    assert_eq!(format, Format::Gcp);
    let e = &sink.events[0];
    assert_eq!(
        e.fields.get_str("protoPayload.serviceName").as_deref(),
        Some("iap.googleapis.com")
    );
    assert_eq!(
        e.time.unwrap().to_string(),
        "2025-05-27T16:46:46.485356507Z"
    );
}
