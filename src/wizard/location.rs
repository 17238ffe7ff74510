//! Checks an install folder for the wizard's Location page, in the engine's own terms: the
//! same inspection and preflight as the install itself, plus the wizard's rule that a
//! non-empty folder with no earlier install of ours is not offered.

use std::path::Path;

use crate::bundle::contents::Bundle;
use crate::consent::answers::Answers;
use crate::engine::plan::{self, Problem};
use crate::engine::target;
use crate::wizard::machine::{LocationCheck, LocationStatus};

/// Checks `dir` for installing `bundle` with `answers`.
pub fn check(dir: &str, bundle: &Bundle, answers: &Answers) -> LocationCheck {
    let done = |status, needed, free| LocationCheck {
        dir: dir.to_string(),
        status,
        needed,
        free,
    };
    if dir.trim().is_empty() {
        return done(LocationStatus::Empty, 0, 0);
    }
    let path = Path::new(dir);
    if !path.is_absolute() {
        return done(LocationStatus::NotAbsolute, 0, 0);
    }
    let target = match target::inspect(path, bundle) {
        Ok(t) => t,
        Err(e) => return done(LocationStatus::Other(format!("{e:#}")), 0, 0),
    };
    // The licenses are accepted by the time anyone installs; the check is about the folder.
    let probe = Answers {
        accept_eula: true,
        accept_privacy_policy: true,
        ..answers.clone()
    };
    let plan = match plan::plan(bundle, &probe, &target, "1970-01-01T00:00:00Z") {
        Ok(p) => p,
        Err(e) => return done(LocationStatus::Other(e.to_string()), 0, target.free_bytes),
    };
    let (needed, free) = (plan.space_needed, plan.space_free);
    let upgrade_from = target
        .previous
        .as_ref()
        .map(|p| p.receipt.product_version.clone());
    if upgrade_from.is_none()
        && target.missing_dirs.is_empty()
        && !target.not_a_dir
        && !is_empty_dir(path)
    {
        return done(LocationStatus::ForeignNonEmpty, needed, free);
    }
    let status = match plan.problems.first() {
        None => LocationStatus::Ok { upgrade_from },
        Some(Problem::NotADir(_)) => LocationStatus::NotADir,
        Some(Problem::NotWritable(_)) => LocationStatus::NotWritable,
        Some(Problem::NoSpace { .. }) => LocationStatus::NoSpace,
        Some(Problem::Foreign(_)) => LocationStatus::ForeignNonEmpty,
        Some(other) => LocationStatus::Other(other.to_string()),
    };
    done(status, needed, free)
}

fn is_empty_dir(path: &Path) -> bool {
    std::fs::read_dir(path)
        .map(|mut d| d.next().is_none())
        .unwrap_or(false)
}

/// Whether `dir` holds an agreement to a KSN Statement version that needs new consent, so the
/// KSN page says the Statement changed and asks again.
pub fn needs_reconsent(bundle: &Bundle, dir: &str) -> bool {
    let Ok(target) = target::inspect(Path::new(dir), bundle) else {
        return false;
    };
    let earlier = target
        .previous
        .as_ref()
        .and_then(|p| p.config.as_ref())
        .and_then(|c| c.ksn.as_ref());
    earlier.is_some_and(|ksn| {
        ksn.decision == crate::consent::rules::Decision::Agreed
            && !bundle
                .statements
                .ksn()
                .consent_still_valid(&ksn.statement_sha256)
    })
}
