//! The installed product's config, `etc/product.toml`: the product's contract.
//!
//! ksn-setup owns the tables `[product]`, `[installer]`, `[license]` and `[ksn]`; everything
//! else (the user's `[settings]`, keys a newer product added) belongs to the user and is kept
//! byte for byte, comments included, when an upgrade rewrites the file. Rendering is pure: the
//! executor writes the text it returns, atomically.

use std::path::Path;

use serde::{Deserialize, Serialize};
use toml_edit::{DocumentMut, Item, Table};

use crate::base::error::TomlError;
use crate::consent::rules::{DecidedBy, KsnRecord};
use crate::consent::statements::Language;

/// Config format this ksn-setup writes.
pub const FORMAT: i64 = 1;

const HEADER: &str = "\
# KSN Demo Security configuration.
# ksn-setup manages [product], [installer], [license] and [ksn]; change KSN participation with
# the product's Settings or `ksn-setup ksn agree|decline`, not by editing this file.
# [settings] is yours: upgrades keep what you set here.
";

/// The `[license]` table: which texts were accepted, by whom and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseRecord {
    pub eula_accepted: bool,
    pub eula_version: String,
    pub eula_sha256: String,
    pub privacy_policy_accepted: bool,
    pub privacy_policy_version: String,
    pub privacy_policy_sha256: String,
    pub language: Language,
    pub accepted_by: DecidedBy,
    pub accepted_at: String,
}

/// What an earlier config holds that an upgrade needs.
#[derive(Debug, Clone)]
pub struct ExistingConfig {
    pub text: String,
    pub ksn: Option<KsnRecord>,
    /// The licence acceptance recorded, when the `[license]` table reads as one.
    pub license: Option<LicenseRecord>,
}

impl ExistingConfig {
    /// Parses an existing config; a broken file is an error with its line and column, so an
    /// upgrade never overwrites a config it cannot read.
    pub fn parse(path: &Path, text: String) -> Result<ExistingConfig, TomlError> {
        let doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            TomlError::at(path, &text, offset, e.message().trim_end().to_string())
        })?;
        let ksn = doc
            .get("ksn")
            .and_then(Item::as_table)
            .and_then(|t| toml::from_str::<KsnRecord>(&t.to_string()).ok());
        let license = doc
            .get("license")
            .and_then(Item::as_table)
            .and_then(|t| toml::from_str::<LicenseRecord>(&t.to_string()).ok());
        Ok(ExistingConfig { text, ksn, license })
    }
}

/// Everything the installer writes into the config.
#[derive(Debug, Clone)]
pub struct ConfigValues<'a> {
    pub product_name: &'a str,
    pub product_version: &'a str,
    pub installed_at: &'a str,
    pub license: &'a LicenseRecord,
    pub ksn: &'a KsnRecord,
    pub default_settings: &'a toml::Table,
}

/// Renders the config: the earlier text with our tables replaced, or a fresh file.
pub fn render(previous: Option<&ExistingConfig>, values: &ConfigValues<'_>) -> String {
    let mut doc: DocumentMut = match previous {
        Some(prev) => prev.text.parse().unwrap_or_default(),
        None => {
            let mut doc = DocumentMut::new();
            doc.decor_mut().set_prefix(HEADER);
            doc
        }
    };
    doc.insert("format", toml_edit::value(FORMAT));

    let mut product = Table::new();
    product.insert("name", toml_edit::value(values.product_name));
    product.insert("version", toml_edit::value(values.product_version));
    doc.insert("product", Item::Table(product));

    let mut installer = Table::new();
    installer.insert("version", toml_edit::value(crate::INSTALLER_VERSION));
    installer.insert("installed_at", toml_edit::value(values.installed_at));
    doc.insert("installer", Item::Table(installer));

    doc.insert("license", Item::Table(to_table(values.license)));
    doc.insert("ksn", Item::Table(to_table(values.ksn)));

    // User settings: keep theirs, add defaults a new version introduces.
    let settings = doc
        .entry("settings")
        .or_insert_with(|| Item::Table(Table::new()));
    if let Some(settings) = settings.as_table_mut() {
        for (key, value) in values.default_settings {
            if !settings.contains_key(key) {
                let text = toml::to_string(&toml::Table::from_iter([(key.clone(), value.clone())]))
                    .unwrap_or_default();
                if let Ok(parsed) = text.parse::<DocumentMut>()
                    && let Some(item) = parsed.get(key)
                {
                    settings.insert(key, item.clone());
                }
            }
        }
    }
    doc.to_string()
}

/// The config with only its `[ksn]` table replaced: a KSN change after install touches
/// nothing else (the user's settings and comments stay as they are).
pub fn replace_ksn(text: &str, ksn: &KsnRecord) -> Result<String, toml_edit::TomlError> {
    let mut doc: DocumentMut = text.parse()?;
    let mut table = to_table(ksn);
    if let Some(old) = doc.get("ksn").and_then(Item::as_table) {
        // Keep the table's place and comments.
        table.decor_mut().clone_from(old.decor());
        table.set_position(old.position().unwrap_or_default());
    }
    doc.insert("ksn", Item::Table(table));
    Ok(doc.to_string())
}

/// A serialisable record as a TOML table.
fn to_table<T: Serialize>(value: &T) -> Table {
    let text = toml::to_string(value).expect("records serialise to TOML");
    let doc: DocumentMut = text.parse().expect("toml output parses");
    doc.as_table().clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::rules::Decision;

    fn values<'a>(
        ksn: &'a KsnRecord,
        license: &'a LicenseRecord,
        defaults: &'a toml::Table,
    ) -> ConfigValues<'a> {
        ConfigValues {
            product_name: "KSN Demo Security",
            product_version: "1.0.0",
            installed_at: "2026-11-23T08:00:00Z",
            license,
            ksn,
            default_settings: defaults,
        }
    }

    fn records() -> (KsnRecord, LicenseRecord) {
        let ksn = KsnRecord {
            participate: false,
            decision: Decision::Declined,
            decided_by: Some(DecidedBy::Administrator),
            decided_at: Some("2026-11-23T08:00:00Z".into()),
            locked: false,
            statement_id: "ksn".into(),
            statement_version: "1.1".into(),
            statement_language: Language::En,
            statement_sha256: "ab".into(),
            method: Some(crate::consent::rules::Method::AnswersFile),
            interface_language: Some(Language::En),
            statement_read_to_end: None,
        };
        let license = LicenseRecord {
            eula_accepted: true,
            eula_version: "1.0".into(),
            eula_sha256: "cd".into(),
            privacy_policy_accepted: true,
            privacy_policy_version: "1.0".into(),
            privacy_policy_sha256: "ef".into(),
            language: Language::En,
            accepted_by: DecidedBy::Administrator,
            accepted_at: "2026-11-23T08:00:00Z".into(),
        };
        (ksn, license)
    }

    #[test]
    fn fresh_config_has_every_table() {
        let (ksn, license) = records();
        let defaults: toml::Table = "scheduled_scan = \"weekly\"".parse().unwrap();
        let text = render(None, &values(&ksn, &license, &defaults));
        let parsed: toml::Table = text.parse().unwrap();
        assert_eq!(parsed["ksn"]["decision"].as_str(), Some("declined"));
        assert_eq!(parsed["ksn"]["participate"].as_bool(), Some(false));
        assert_eq!(parsed["license"]["eula_accepted"].as_bool(), Some(true));
        assert_eq!(
            parsed["settings"]["scheduled_scan"].as_str(),
            Some("weekly")
        );
        assert_eq!(
            parsed["installer"]["version"].as_str(),
            Some(crate::INSTALLER_VERSION)
        );
    }

    #[test]
    fn upgrade_keeps_user_settings_comments_and_unknown_keys() {
        let (ksn, license) = records();
        let old = "format = 1\n[ksn]\ndecision = \"undecided\"\n\n[settings]\n# mine\nscheduled_scan = \"daily\"\n\n[future]\nx = 1\n";
        let prev = ExistingConfig::parse(Path::new("p"), old.into()).unwrap();
        let defaults: toml::Table = "scheduled_scan = \"weekly\"\nnew_key = true"
            .parse()
            .unwrap();
        let text = render(Some(&prev), &values(&ksn, &license, &defaults));
        assert!(
            text.contains("# mine\nscheduled_scan = \"daily\""),
            "{text}"
        );
        let parsed: toml::Table = text.parse().unwrap();
        assert_eq!(parsed["future"]["x"].as_integer(), Some(1));
        assert_eq!(parsed["settings"]["new_key"].as_bool(), Some(true));
        assert_eq!(parsed["ksn"]["decision"].as_str(), Some("declined"));
    }

    #[test]
    fn broken_config_is_located() {
        let err = ExistingConfig::parse(Path::new("etc/product.toml"), "a = 1\nb = \n".into())
            .unwrap_err();
        assert_eq!(err.line, 2);
    }
}
