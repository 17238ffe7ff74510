//! Answers: what an administrator presets (an answers file, like setup.ini or an MSI property
//! set) and what flags add on top.
//!
//! The file is parsed strictly: an unknown key, a wrong type or a syntax error is refused with
//! the file, line and column and what was expected. Flags override the file key by key.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::base::error::TomlError;
use crate::consent::rules::{Collection, DecidedBy, KsnAnswer, Method};
use crate::consent::statements::Language;

/// How a packed installer with these answers runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UiMode {
    #[default]
    Wizard,
    Silent,
}

/// The answers file, as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswersFile {
    #[serde(default)]
    pub install: InstallSection,
    #[serde(default)]
    pub license: LicenseSection,
    #[serde(default)]
    pub ksn: KsnSection,
    #[serde(default)]
    pub ui: UiSection,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstallSection {
    pub dir: Option<Spanned<PathBuf>>,
    /// "user" or "system"; absent means the default for whoever runs it.
    pub scope: Option<Scope>,
    /// Menu entries and the icon for the desktop (default true).
    pub menu_entries: Option<bool>,
}

/// Who the product is installed for, as Inno Setup's and MSI's "for me / for all users".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Only for me: in my home folder, entries in my own menu; no administrator needed.
    User,
    /// For all users of this computer: `/opt`, entries in every user's menu; needs root.
    System,
}

impl Scope {
    /// The default for whoever runs ksn-setup: root installs for everyone, a user for themself.
    pub fn for_this_user() -> Scope {
        if rustix::process::geteuid().is_root() {
            Scope::System
        } else {
            Scope::User
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::User => "user",
            Scope::System => "system",
        }
    }

    /// The default install folder of the scope: `/opt/ksn-demo`, or `ksn-demo` in the user's
    /// data folder (`$XDG_DATA_HOME`, else `~/.local/share`).
    pub fn default_dir(self) -> PathBuf {
        match self {
            Scope::System => PathBuf::from("/opt/ksn-demo"),
            Scope::User => data_home()
                .unwrap_or_else(|| PathBuf::from("/tmp"))
                .join("ksn-demo"),
        }
    }

    /// Where the desktop looks for this scope's menu entries and icons, by the XDG base
    /// directory spec: the user's `$XDG_DATA_HOME` (else `~/.local/share`); for all users
    /// `/usr/local/share`, the place for software the system's packages do not own, when
    /// `$XDG_DATA_DIRS` lists it or is unset (the spec's default lists it first), else the
    /// first folder `$XDG_DATA_DIRS` lists, so the entries are where this desktop looks.
    pub fn menu_dir(self) -> Option<PathBuf> {
        match self {
            Scope::User => data_home(),
            Scope::System => {
                let local = PathBuf::from("/usr/local/share");
                let listed: Vec<PathBuf> = std::env::var("XDG_DATA_DIRS")
                    .unwrap_or_default()
                    .split(':')
                    .map(|d| PathBuf::from(d.trim_end_matches('/')))
                    .filter(|d| d.is_absolute())
                    .collect();
                if listed.is_empty() || listed.contains(&local) {
                    Some(local)
                } else {
                    listed.into_iter().next()
                }
            }
        }
    }
}

fn data_home() -> Option<PathBuf> {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .filter(|h| h.is_absolute())
                .map(|h| h.join(".local/share"))
        })
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenseSection {
    pub accept_eula: Option<bool>,
    pub accept_privacy_policy: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KsnSection {
    /// true / false; absent means undecided.
    pub participate: Option<bool>,
    pub locked: Option<Spanned<bool>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiSection {
    pub language: Option<Language>,
    pub mode: Option<Spanned<UiMode>>,
}

impl AnswersFile {
    /// Reads and checks an answers file.
    pub fn load(path: &Path) -> anyhow::Result<AnswersFile> {
        let bytes = std::fs::read(path).map_err(|e| {
            crate::base::error::BadInput(anyhow::anyhow!(
                "cannot read answers file \"{}\": {e}",
                path.display()
            ))
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            TomlError::at(
                path,
                "",
                0,
                format!(
                    "answers file is not UTF-8 text (byte {})",
                    e.utf8_error().valid_up_to()
                ),
            )
        })?;
        Ok(AnswersFile::parse(path, &text)?)
    }

    pub fn parse(path: &Path, text: &str) -> Result<AnswersFile, TomlError> {
        let file: AnswersFile =
            toml::from_str(text).map_err(|e| TomlError::from_de(path, text, &e))?;
        if let Some(dir) = &file.install.dir
            && !dir.get_ref().is_absolute()
        {
            return Err(TomlError::at(
                path,
                text,
                dir.span().start,
                format!(
                    "install.dir must be an absolute path, found \"{}\"",
                    dir.get_ref().display()
                ),
            ));
        }
        if let Some(locked) = &file.ksn.locked
            && *locked.get_ref()
            && file.ksn.participate.is_none()
        {
            return Err(TomlError::at(
                path,
                text,
                locked.span().start,
                "ksn.locked = true needs ksn.participate = true or false: only a decided choice can be locked"
                    .into(),
            ));
        }
        Ok(file)
    }

    /// A silent installer asks nothing, so its answers must accept both licenses themselves.
    pub fn check_silent(&self, path: &Path, text: &str) -> Result<(), TomlError> {
        let Some(mode) = &self.ui.mode else {
            return Ok(());
        };
        if *mode.get_ref() != UiMode::Silent {
            return Ok(());
        }
        let mut missing = Vec::new();
        if self.license.accept_eula != Some(true) {
            missing.push("license.accept_eula = true");
        }
        if self.license.accept_privacy_policy != Some(true) {
            missing.push("license.accept_privacy_policy = true");
        }
        if missing.is_empty() {
            return Ok(());
        }
        Err(TomlError::at(
            path,
            text,
            mode.span().start,
            format!(
                "ui.mode = \"silent\" installs without asking, so the answers must accept the licenses: add {}",
                missing.join(" and ")
            ),
        ))
    }
}

/// Answers from the command line; each set field overrides the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub dir: Option<PathBuf>,
    pub accept_eula: bool,
    pub accept_privacy_policy: bool,
    pub ksn: Option<bool>,
    pub language: Option<Language>,
    pub scope: Option<Scope>,
    /// `--no-menu-entries`: `Some(false)`.
    pub menu_entries: Option<bool>,
}

/// The answers an install runs with, after merging.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answers {
    pub dir: Option<PathBuf>,
    pub accept_eula: bool,
    pub accept_privacy_policy: bool,
    /// Who accepted the licenses.
    pub decided_by: DecidedBy,
    pub ksn: Option<bool>,
    /// Who gave the KSN answer: an administrator's preset, or the user in the wizard.
    pub ksn_decided_by: DecidedBy,
    /// How the KSN answer was given: by flag, in an answers file, in a wizard.
    #[serde(default = "command_line")]
    pub ksn_method: Method,
    /// For a wizard: whether the KSN Statement was shown to its end.
    #[serde(default)]
    pub ksn_read_to_end: Option<bool>,
    pub ksn_locked: bool,
    pub language: Option<Language>,
    pub mode: UiMode,
    /// For whom: decides the default folder and where the menu entries go.
    pub scope: Scope,
    /// Whether the install adds menu entries and the icon for the desktop.
    pub menu_entries: bool,
    /// The data folder the menu entries and the icon go to (`applications/`, `icons/`
    /// below it), resolved by the front end from the scope and its environment
    /// ([`Scope::menu_dir`]); `None`: no entries. Carried as resolved, so an install run for
    /// the user by root (pkexec) puts them where the user's desktop looks.
    #[serde(default)]
    pub menu_dir: Option<PathBuf>,
}

impl Answers {
    /// Merges a file (if any) and flags. Everything here came from an administrator: a file
    /// or flags prepared before the run.
    pub fn merge(file: Option<&AnswersFile>, flags: &Overrides) -> Answers {
        let default = AnswersFile::default();
        let file = file.unwrap_or(&default);
        Answers {
            dir: flags
                .dir
                .clone()
                .or_else(|| file.install.dir.as_ref().map(|d| d.get_ref().clone())),
            accept_eula: flags.accept_eula || file.license.accept_eula.unwrap_or(false),
            accept_privacy_policy: flags.accept_privacy_policy
                || file.license.accept_privacy_policy.unwrap_or(false),
            decided_by: DecidedBy::Administrator,
            ksn: flags.ksn.or(file.ksn.participate),
            ksn_decided_by: DecidedBy::Administrator,
            ksn_method: if flags.ksn.is_none() && file.ksn.participate.is_some() {
                Method::AnswersFile
            } else {
                Method::CommandLine
            },
            ksn_read_to_end: None,
            ksn_locked: file.ksn.locked.as_ref().is_some_and(|l| *l.get_ref()),
            language: flags.language.or(file.ui.language),
            mode: file
                .ui
                .mode
                .as_ref()
                .map(|m| *m.get_ref())
                .unwrap_or_default(),
            scope: flags
                .scope
                .or(file.install.scope)
                .unwrap_or_else(Scope::for_this_user),
            menu_entries: flags
                .menu_entries
                .or(file.install.menu_entries)
                .unwrap_or(true),
            menu_dir: None,
        }
    }

    /// The install folder: the answers' own, else the scope's default.
    pub fn install_dir(&self) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| self.scope.default_dir())
    }

    /// Resolves where the menu entries go from the scope and this process's environment
    /// (the command line's last step before planning; tests and library callers set
    /// `menu_dir` themselves).
    pub fn with_menu_dir_from_env(mut self) -> Answers {
        self.menu_dir = self.menu_entries.then(|| self.scope.menu_dir()).flatten();
        self
    }

    /// The KSN answer in this run, if any.
    pub fn ksn_answer(&self) -> Option<KsnAnswer> {
        self.ksn.map(|participate| KsnAnswer {
            participate,
            by: self.ksn_decided_by,
            locked: self.ksn_locked,
            how: Collection {
                method: self.ksn_method,
                interface_language: self.language(),
                read_to_end: self.ksn_read_to_end,
            },
        })
    }

    /// The language to show texts in: the answers, else the environment.
    pub fn language(&self) -> Language {
        self.language.unwrap_or_else(Language::from_env)
    }
}

fn command_line() -> Method {
    Method::CommandLine
}

/// The default install folder: `/opt/ksn-demo` for root, `~/.local/share/ksn-demo` otherwise.
pub fn default_dir() -> PathBuf {
    Scope::for_this_user().default_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<AnswersFile, TomlError> {
        AnswersFile::parse(Path::new("corp.toml"), text)
    }

    #[test]
    fn full_file_parses() {
        let f = parse(
            "[install]\ndir = \"/opt/x\"\n[license]\naccept_eula = true\naccept_privacy_policy = true\n\
             [ksn]\nparticipate = false\nlocked = true\n[ui]\nlanguage = \"ru\"\nmode = \"silent\"\n",
        )
        .unwrap();
        let a = Answers::merge(Some(&f), &Overrides::default());
        assert_eq!(a.ksn, Some(false));
        assert!(a.ksn_locked);
        assert_eq!(a.language, Some(Language::Ru));
        assert_eq!(a.mode, UiMode::Silent);
        assert_eq!(a.dir, Some(PathBuf::from("/opt/x")));
    }

    #[test]
    fn unknown_key_is_located_and_names_what_is_expected() {
        let err = parse("[ksn]\nparticipat = true\n").unwrap_err();
        assert_eq!((err.line, err.column), (2, 1));
        assert!(err.message.contains("participate"), "{}", err.message);
    }

    #[test]
    fn wrong_type_is_located() {
        let err = parse("[ksn]\nparticipate = \"yes\"\n").unwrap_err();
        assert_eq!((err.line, err.column), (2, 15));
        assert!(err.message.contains("bool"), "{}", err.message);
    }

    #[test]
    fn relative_dir_is_refused() {
        let err = parse("[install]\ndir = \"opt/x\"\n").unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn flags_override_the_file() {
        let f = parse("[ksn]\nparticipate = true\n[ui]\nlanguage = \"ru\"\n").unwrap();
        let flags = Overrides {
            ksn: Some(false),
            language: Some(Language::En),
            ..Default::default()
        };
        let a = Answers::merge(Some(&f), &flags);
        assert_eq!(a.ksn, Some(false));
        assert_eq!(a.language, Some(Language::En));
        // How the KSN answer was given: the flag that overrode the file.
        assert_eq!(a.ksn_method, Method::CommandLine);
        let from_file = Answers::merge(Some(&f), &Overrides::default());
        assert_eq!(from_file.ksn_method, Method::AnswersFile);
    }
}
