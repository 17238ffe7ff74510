//! The current KSN decision as a consent receipt in the shape of the Kantara Initiative's
//! Consent Receipt Specification v1.1: who the controller is, for what purpose, how and when
//! consent was collected, and how to withdraw it, plus the exact statement text it was given
//! to (version, language, SHA-256), which the specification leaves to extensions.
//!
//! Pure: the installed record and the product's identity in, a receipt out.

use serde::Serialize;

use super::rules::{Decision, KsnRecord};
use crate::tr;

/// The specification version this receipt follows, as Kantara spells it.
pub const SPEC_VERSION: &str = "KI-CR-v1.1.0";

/// Who controls the data: the product's vendor, as the Privacy Policy names it (section 10).
const CONTROLLER: &str = "Demo Vendor";
const CONTROLLER_CONTACT: &str = "Demo Vendor, privacy office";
const CONTROLLER_EMAIL: &str = "privacy@demo-vendor.example";

/// What the receipt is made from: the installed record and where it lives.
#[derive(Debug)]
pub struct ReceiptSource<'a> {
    pub record: &'a KsnRecord,
    pub product_name: &'a str,
    pub product_version: &'a str,
    /// The SHA-256 of the consent-log line that recorded the decision: the receipt's ID, so
    /// an auditor finds the line in `ksn history`.
    pub log_line_sha256: Option<&'a str>,
    /// The installed Privacy Policy and KSN Statement files, as `file://` addresses.
    pub policy_url: String,
    pub statement_url: String,
    /// The command that withdraws, for this install folder.
    pub withdraw_command: String,
}

/// A Kantara v1.1 consent receipt; field names as the specification spells them.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsentReceipt {
    pub version: &'static str,
    pub jurisdiction: &'static str,
    /// Seconds since 1970 (UTC), as the specification asks.
    pub consent_timestamp: i64,
    pub collection_method: String,
    #[serde(rename = "consentReceiptID")]
    pub consent_receipt_id: String,
    pub language: String,
    /// KSN statistics carry no name: the principal is not identified.
    pub pii_principal_id: &'static str,
    pub pii_controllers: Vec<Controller>,
    pub policy_url: String,
    pub services: Vec<Service>,
    pub sensitive: bool,
    pub spi_cat: Vec<String>,
    /// Extensions: the decision itself and the exact text it was given to.
    #[serde(rename = "x-ksn-setup")]
    pub extension: Extension,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Controller {
    pub pii_controller: &'static str,
    pub on_behalf: bool,
    pub contact: &'static str,
    pub email: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Service {
    pub service: &'static str,
    pub purposes: Vec<Purpose>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Purpose {
    pub purpose: String,
    pub purpose_category: Vec<&'static str>,
    pub consent_type: &'static str,
    pub pii_category: Vec<String>,
    pub primary_purpose: bool,
    pub termination: String,
    pub third_party_disclosure: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Extension {
    pub product: String,
    pub decision: &'static str,
    pub participate: bool,
    pub decided_by: Option<&'static str>,
    pub decided_at: String,
    pub locked: bool,
    pub interface_language: Option<String>,
    pub statement_read_to_end: Option<bool>,
    pub statement_id: String,
    pub statement_version: String,
    pub statement_language: String,
    pub statement_sha256: String,
    pub statement_url: String,
    pub how_to_withdraw: String,
}

/// Why there is no receipt to give.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoReceipt {
    #[error("no KSN decision has been recorded yet, so there is no consent receipt")]
    Undecided,
    #[error("the recorded decision time \"{0}\" is not an RFC 3339 time")]
    BadTime(String),
}

/// The receipt of the decision `source.record` holds; a declined decision gets one too, so
/// a withdrawal can be shown as plainly as an agreement.
pub fn consent_receipt(source: &ReceiptSource) -> Result<ConsentReceipt, NoReceipt> {
    let record = source.record;
    let decided_at = match (&record.decided_at, record.decision) {
        (Some(at), Decision::Agreed | Decision::Declined) => at.clone(),
        _ => return Err(NoReceipt::Undecided),
    };
    let consent_timestamp =
        time::OffsetDateTime::parse(&decided_at, &time::format_description::well_known::Rfc3339)
            .map_err(|_| NoReceipt::BadTime(decided_at.clone()))?
            .unix_timestamp();
    let collection_method = match record.method {
        Some(method) => method.as_str().to_string(),
        // Records written before ksn-setup kept the method say so rather than guess.
        None => "not recorded".to_string(),
    };
    // The words are in the current language, which only a person's terminal sets: the
    // JSON receipt for scripts and auditors' tools stays English.
    let how_to_withdraw = tr!(
        "Settings → Security settings → Kaspersky Security Network, or: {}",
        source.withdraw_command
    );
    Ok(ConsentReceipt {
        version: SPEC_VERSION,
        jurisdiction: "EU (GDPR)",
        consent_timestamp,
        collection_method,
        consent_receipt_id: match source.log_line_sha256 {
            Some(sha) => format!("sha256:{sha}"),
            None => format!("sha256:{}", record.statement_sha256),
        },
        language: record.statement_language.code().to_string(),
        pii_principal_id: "not identified (KSN statistics carry an anonymous installation ID only)",
        pii_controllers: vec![Controller {
            pii_controller: CONTROLLER,
            on_behalf: false,
            contact: CONTROLLER_CONTACT,
            email: CONTROLLER_EMAIL,
        }],
        policy_url: source.policy_url.clone(),
        services: vec![Service {
            service: "Kaspersky Security Network",
            purposes: vec![Purpose {
                purpose: tr!(
                    "Detect new threats faster, reduce false alarms and answer reputation \
                     lookups for files and web addresses"
                ),
                purpose_category: vec!["security", "improve product"],
                consent_type: "EXPLICIT",
                pii_category: vec![
                    tr!("file checksums and metadata"),
                    tr!("checked web addresses and verdicts"),
                    tr!("detected threats and actions taken"),
                    tr!("product version and settings"),
                    tr!("operating system name and version"),
                    tr!("anonymous installation ID"),
                ],
                primary_purpose: true,
                termination: tr!("until withdrawn; withdraw at any time: {}", how_to_withdraw),
                third_party_disclosure: false,
            }],
        }],
        sensitive: false,
        spi_cat: Vec::new(),
        extension: Extension {
            product: format!("{} {}", source.product_name, source.product_version),
            decision: record.decision.as_str(),
            participate: record.participate,
            decided_by: record.decided_by.map(|b| b.as_str()),
            decided_at,
            locked: record.locked,
            interface_language: record.interface_language.map(|l| l.code().to_string()),
            statement_read_to_end: record.statement_read_to_end,
            statement_id: record.statement_id.clone(),
            statement_version: record.statement_version.clone(),
            statement_language: record.statement_language.code().to_string(),
            statement_sha256: record.statement_sha256.clone(),
            statement_url: source.statement_url.clone(),
            how_to_withdraw,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::rules::{DecidedBy, Method};
    use crate::consent::statements::Language;

    fn record(decision: Decision) -> KsnRecord {
        KsnRecord {
            participate: decision == Decision::Agreed,
            decision,
            decided_by: Some(DecidedBy::User),
            decided_at: Some("2026-12-02T10:00:00Z".into()),
            locked: false,
            statement_id: "ksn".into(),
            statement_version: "1.1".into(),
            statement_language: Language::Ru,
            statement_sha256: "ab".repeat(32),
            method: Some(Method::Terminal),
            interface_language: Some(Language::Ru),
            statement_read_to_end: None,
        }
    }

    fn source(record: &KsnRecord) -> ReceiptSource<'_> {
        ReceiptSource {
            record,
            product_name: "KSN Demo Security",
            product_version: "1.0.0",
            log_line_sha256: Some("cd"),
            policy_url: "file:///opt/p".into(),
            statement_url: "file:///opt/s".into(),
            withdraw_command: "ksn-setup ksn decline --dir /opt/ksn-demo".into(),
        }
    }

    #[test]
    fn an_agreement_gives_a_kantara_receipt_naming_method_time_text_and_withdrawal() {
        let record = record(Decision::Agreed);
        let receipt = consent_receipt(&source(&record)).unwrap();
        let json = serde_json::to_value(&receipt).unwrap();
        assert_eq!(json["version"], "KI-CR-v1.1.0");
        assert_eq!(json["consentTimestamp"], 1_796_205_600);
        assert_eq!(json["collectionMethod"], "terminal");
        assert_eq!(json["consentReceiptID"], "sha256:cd");
        assert_eq!(json["language"], "ru");
        assert_eq!(json["piiControllers"][0]["piiController"], "Demo Vendor");
        assert_eq!(
            json["services"][0]["purposes"][0]["consentType"],
            "EXPLICIT"
        );
        assert_eq!(json["x-ksn-setup"]["statementSha256"], "ab".repeat(32));
        assert!(
            json["x-ksn-setup"]["howToWithdraw"]
                .as_str()
                .unwrap()
                .contains("ksn decline --dir /opt/ksn-demo")
        );
    }

    #[test]
    fn a_withdrawal_has_a_receipt_and_no_decision_has_none() {
        let declined = record(Decision::Declined);
        let receipt = consent_receipt(&source(&declined)).unwrap();
        assert_eq!(receipt.extension.decision, "declined");
        assert!(!receipt.extension.participate);
        let mut undecided = record(Decision::Undecided);
        undecided.decided_at = None;
        assert_eq!(
            consent_receipt(&source(&undecided)).unwrap_err(),
            NoReceipt::Undecided
        );
    }
}
