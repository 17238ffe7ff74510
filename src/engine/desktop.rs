//! Menu entries and the icon: the files an install puts outside its folder, so a desktop
//! user finds the product (freedesktop Desktop Entry and Icon Theme specs).
//!
//! They live below a *menu folder*, the data folder of the install's scope (the user's
//! `$XDG_DATA_HOME`, or `/usr/local/share` for all users; see
//! [`crate::consent::answers::Scope::menu_dir`]), at the fixed paths [`FILES`] names, in the
//! folders [`DIRS`] names. Nothing else below it is ever written: a journal or a receipt read
//! back may name only these paths. The files are made here from the product's name and its
//! install folder, without touching anything; the executor writes them through the journal
//! like every other change, so they are rolled back, recovered, listed in the receipt,
//! restored by repair and removed by uninstall.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::base::i18n::{Language, in_language};
use crate::base::layout;
use crate::tr;

/// The product's own entry: opens its window (the settings window, its status and KSN).
pub const PRODUCT_ENTRY: &str = "applications/ksn-demo-security.desktop";
/// "KSN Demo Security Settings": the settings window on its KSN page.
pub const SETTINGS_ENTRY: &str = "applications/ksn-demo-security-settings.desktop";
/// "Uninstall KSN Demo Security": the setup window on its Uninstall choice.
pub const UNINSTALL_ENTRY: &str = "applications/ksn-demo-security-uninstall.desktop";
/// The icon in the hicolor theme, the theme every desktop falls back to.
pub const ICON_PNG: &str = "icons/hicolor/48x48/apps/ksn-demo-security.png";
pub const ICON_SVG: &str = "icons/hicolor/scalable/apps/ksn-demo-security.svg";
/// The icon's name in the entries.
pub const ICON_NAME: &str = "ksn-demo-security";

/// Every file an install may write below the menu folder, in the order it writes them:
/// the icons before the entries that name them.
pub const FILES: [&str; 5] = [
    ICON_PNG,
    ICON_SVG,
    PRODUCT_ENTRY,
    SETTINGS_ENTRY,
    UNINSTALL_ENTRY,
];
/// Every folder an install may create below the menu folder, outermost first.
pub const DIRS: [&str; 7] = [
    "applications",
    "icons",
    "icons/hicolor",
    "icons/hicolor/48x48",
    "icons/hicolor/48x48/apps",
    "icons/hicolor/scalable",
    "icons/hicolor/scalable/apps",
];

/// The caches `update-desktop-database` and `gtk-update-icon-cache` keep in a folder: the
/// desktop's, rebuilt at will, so removed with a folder ksn-setup made when nothing else is
/// left in it.
pub const CACHES: [&str; 2] = ["mimeinfo.cache", "icon-theme.cache"];

/// The largest menu file read back (to keep it for rollback, or to compare it): ours are a
/// few KiB.
pub const MAX_FILE: u64 = 1 << 20;

const PNG: &[u8] = include_bytes!("../../ui/icons/ksn-demo-48.png");
const SVG: &[u8] = include_bytes!("../../ui/icons/ksn-demo.svg");

/// One file below the menu folder and its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// Whether `path` is one of the menu files ksn-setup writes.
pub fn is_file(path: &str) -> bool {
    FILES.contains(&path)
}

/// Whether `path` is one of the folders below the menu folder ksn-setup creates.
pub fn is_dir(path: &str) -> bool {
    DIRS.contains(&path)
}

/// The menu files for `product` installed in `dir`, in [`FILES`] order. Refused when the
/// folder's name cannot stand in an entry (not UTF-8, or a control character).
pub fn render(product: &str, dir: &Path) -> Result<Vec<MenuFile>, String> {
    let dir_text = dir
        .to_str()
        .filter(|d| !d.chars().any(char::is_control))
        .ok_or_else(|| {
            format!(
                "the folder \"{}\" has a name a menu entry cannot hold (not UTF-8, or a control character)",
                dir.display()
            )
        })?;
    let settings = format!("{dir_text}/{}", layout::SETTINGS_LAUNCHER);
    let program = format!("{dir_text}/{}", layout::PROGRAM);
    // Name and Comment in English, then a localized key for every language there is a
    // catalogue for, each from that catalogue.
    let localized = |key: &str, text: &dyn Fn() -> String| {
        let mut lines = format!("{key}={}\n", string(&in_language(Language::En, text)));
        for language in Language::ALL.into_iter().filter(|l| *l != Language::En) {
            let local = in_language(language, text);
            lines.push_str(&format!("{key}[{}]={}\n", language.code(), string(&local)));
        }
        lines
    };
    let entry = |name: &dyn Fn() -> String,
                 comment: &dyn Fn() -> String,
                 exec: Vec<&str>,
                 try_exec: &str,
                 categories: &str,
                 wm_class: &str| {
        let exec: Vec<String> = exec.iter().map(|a| exec_arg(a)).collect();
        let text = format!(
            "[Desktop Entry]\n\
             Type=Application\n\
             Version=1.4\n\
             {}\
             {}\
             Icon={ICON_NAME}\n\
             TryExec={}\n\
             Exec={}\n\
             Terminal=false\n\
             Categories={categories}\n\
             StartupWMClass={wm_class}\n",
            localized("Name", name),
            localized("Comment", comment),
            string(try_exec),
            string(&exec.join(" ")),
        );
        text.into_bytes()
    };
    let file = |path: &str, bytes: Vec<u8>| MenuFile {
        path: path.to_string(),
        bytes,
    };
    Ok(vec![
        file(ICON_PNG, PNG.to_vec()),
        file(ICON_SVG, SVG.to_vec()),
        file(
            PRODUCT_ENTRY,
            entry(
                &|| product.to_string(),
                &|| tr!("See the protection status and Kaspersky Security Network participation"),
                vec![&settings],
                &settings,
                "System;Security;",
                "ksn-demo-security-settings",
            ),
        ),
        file(
            SETTINGS_ENTRY,
            entry(
                &|| tr!("{} Settings", product),
                &|| tr!("Turn participation in Kaspersky Security Network on or off"),
                vec![&settings, "--page", "ksn"],
                &settings,
                "Settings;Security;",
                "ksn-demo-security-settings",
            ),
        ),
        file(
            UNINSTALL_ENTRY,
            entry(
                &|| tr!("Uninstall {}", product),
                &|| tr!("Remove the product from this computer"),
                vec![&program, "uninstall", "--dir", dir_text, "--wizard"],
                &program,
                "System;",
                "ksn-demo-security-setup",
            ),
        ),
    ])
}

/// One argument of an `Exec` line: quoted when it holds a character the spec reserves,
/// with `"`, `` ` ``, `$` and `\` escaped inside the quotes, and `%` doubled (a field code
/// otherwise).
fn exec_arg(arg: &str) -> String {
    const RESERVED: &str = " \t\n\"'\\><~|&;$*?#()`";
    let arg = arg.replace('%', "%%");
    if !arg.is_empty() && !arg.chars().any(|c| RESERVED.contains(c)) {
        return arg;
    }
    let mut quoted = String::from("\"");
    for c in arg.chars() {
        if matches!(c, '"' | '`' | '$' | '\\') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// A value of type string: `\` escaped (the spec applies this before the `Exec` quoting,
/// so a backslash in a quoted argument ends up as four).
fn string(value: &str) -> String {
    value.replace('\\', "\\\\")
}

/// Tells the desktop the menu and the icons changed, as packages do after installing
/// entries: `update-desktop-database` and `gtk-update-icon-cache`, when present. Their
/// caches are the desktop's, not the product's; failing to refresh them never fails an
/// install (the desktop also rescans on its own).
pub fn refresh_caches(menu_dir: &Path) -> Vec<String> {
    let mut notices = Vec::new();
    let run = |program: &str, args: &[&std::ffi::OsStr]| -> Option<String> {
        let found = std::env::var_os("PATH")
            .map(|paths| {
                std::env::split_paths(&paths)
                    .chain(["/usr/bin".into(), "/usr/sbin".into(), "/bin".into()])
                    .map(|d| d.join(program))
                    .find(|p| p.is_file())
            })
            .unwrap_or(None)?;
        match std::process::Command::new(&found)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
        {
            Ok(status) if status.success() => None,
            Ok(status) => Some(format!("{program} ended with {status}")),
            Err(e) => Some(format!("{program} could not run: {e}")),
        }
    };
    let applications = menu_dir.join("applications");
    if applications.is_dir()
        && let Some(notice) = run("update-desktop-database", &[applications.as_os_str()])
    {
        notices.push(notice);
    }
    let hicolor = menu_dir.join("icons/hicolor");
    // -t: a hicolor folder of one user's data folder has no index.theme of its own.
    if hicolor.is_dir()
        && let Some(notice) = run(
            "gtk-update-icon-cache",
            &[
                "-q".as_ref(),
                "-t".as_ref(),
                "-f".as_ref(),
                hicolor.as_os_str(),
            ],
        )
    {
        notices.push(notice);
    }
    notices
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_arguments_are_quoted_as_the_spec_says() {
        assert_eq!(exec_arg("/opt/ksn-demo/bin/x"), "/opt/ksn-demo/bin/x");
        assert_eq!(exec_arg("/home/a b/x"), "\"/home/a b/x\"");
        assert_eq!(exec_arg("/a$b\"c`d\\e"), "\"/a\\$b\\\"c\\`d\\\\e\"");
        assert_eq!(exec_arg("/100%"), "/100%%");
        // The string escape comes on top: a backslash in a quoted argument is four.
        assert_eq!(string(&exec_arg("a\\b")), "\"a\\\\\\\\b\"");
    }

    #[test]
    fn every_file_is_one_ksn_setup_may_write_and_names_its_folder() {
        let files = render("KSN Demo Security", Path::new("/home/a b/ksn")).unwrap();
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, FILES);
        for file in &files {
            let (parent, _) = file.path.rsplit_once('/').unwrap();
            assert!(is_dir(parent), "{parent}");
        }
        let settings = String::from_utf8(files[3].bytes.clone()).unwrap();
        assert!(
            settings.contains("Exec=\"/home/a b/ksn/bin/ksn-settings\" --page ksn\n"),
            "{settings}"
        );
        assert!(
            settings.contains("TryExec=/home/a b/ksn/bin/ksn-settings\n"),
            "{settings}"
        );
        assert!(render("P", Path::new("/opt/a\nb")).is_err());
    }
}
