//! What more than one command family uses: the install folder argument, the language
//! argument, and opening the bundle an install or a repair puts in place.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use crate::base::error::BadInput;
use crate::bundle::contents::{Bundle, PayloadChoice};
use crate::bundle::signing;
use crate::consent::answers;
use crate::consent::statements::Language;

#[derive(Debug, Clone, Args)]
pub(super) struct DirArgs {
    /// The install folder [default: /opt/ksn-demo as root, ~/.local/share/ksn-demo otherwise].
    #[arg(long, value_name = "DIR")]
    pub(super) dir: Option<PathBuf>,
}

/// `--lang CODE`: one of the languages there are catalogues for, so a new catalogue is a
/// new accepted value with no change here.
pub(super) fn parse_language(code: &str) -> Result<Language, String> {
    Language::from_code(&code.to_ascii_lowercase()).ok_or_else(|| {
        let known: Vec<&str> = Language::ALL.iter().map(|l| l.code()).collect();
        format!("expected one of: {}", known.join(", "))
    })
}

pub(super) fn dir_of(args: &DirArgs) -> PathBuf {
    args.dir.clone().unwrap_or_else(answers::default_dir)
}

pub(super) fn payload_choice<'a>(
    payload: Option<&'a std::path::Path>,
    installer: Option<&'a std::path::Path>,
) -> PayloadChoice<'a> {
    match (payload, installer) {
        (Some(dir), _) => PayloadChoice::Folder(dir),
        (None, Some(file)) => PayloadChoice::Installer(file),
        (None, None) => PayloadChoice::Own,
    }
}

/// The bundle an install (or a repair) puts in place, with what ksn-setup adds to every
/// install: the statements, and, from an installer (not a bare payload folder, an image for
/// testing and benchmarks), the maintenance program with its settings launcher.
pub(super) fn bundle_to_install(
    payload: Option<&std::path::Path>,
    installer: Option<&std::path::Path>,
    statements: Option<&std::path::Path>,
    trust: Option<&signing::Trust>,
) -> anyhow::Result<Bundle> {
    let choice = payload_choice(payload, installer);
    let mut bundle = Bundle::open_for_run(choice, statements, trust).map_err(BadInput)?;
    if bundle.packed().is_some() {
        // Trailer, manifest, signature and trust are checked; the data is checked as it
        // streams during the install.
        crate::engine::faults::hit("bundle-checked")?;
    }
    let program = match payload {
        Some(_) => None,
        None => Some(std::env::current_exe().context("cannot find this program's own file")?),
    };
    bundle
        .add_maintenance_files(program.as_deref())
        .map_err(BadInput)?;
    Ok(bundle)
}
