//! Checks an install folder for the wizard's Location page, in the engine's own terms: the
//! same inspection and preflight as the install itself, plus the wizard's rule that a
//! non-empty folder with no earlier install of ours is not offered.

use std::path::Path;

use crate::base::ownership::Untrusted;
use crate::base::paths::expand_home;
use crate::bundle::contents::Bundle;
use crate::consent::answers::Answers;
use crate::engine::plan::{self, Problem};
use crate::engine::target;
use crate::wizard::machine::{LocationCheck, LocationStatus};

/// Checks `dir` (as typed: `~` is the home folder) for installing `bundle` with `answers`.
/// The reason given is the real one, found the way the install itself would find it.
/// `elevated`: the install will run as root (for all users, from a normal user's window),
/// so what only this user may not do (write `/opt`, look into a folder) is no reason; the
/// install as root checks again and its refusal comes back to this page.
pub fn check(dir: &str, bundle: &Bundle, answers: &Answers, elevated: bool) -> LocationCheck {
    let path = expand_home(dir.trim());
    let resolved = (path != Path::new(dir)).then(|| path.display().to_string());
    let done = |status, needed, free| LocationCheck {
        dir: dir.to_string(),
        resolved: resolved.clone(),
        status,
        needed,
        free,
    };
    if dir.trim().is_empty() {
        return done(LocationStatus::Empty, 0, 0);
    }
    if !path.is_absolute() {
        return done(LocationStatus::NotAbsolute, 0, 0);
    }
    let target = match target::inspect(&path, bundle, answers.menu_dir.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            let status = match e.downcast_ref::<Untrusted>() {
                Some(untrusted) => LocationStatus::Untrusted {
                    path: untrusted.path.display().to_string(),
                    why: untrusted.reason.clone(),
                },
                None => LocationStatus::Other(format!("{e:#}")),
            };
            return done(status, 0, 0);
        }
    };
    // The licenses are accepted by the time anyone installs; the check is about the folder.
    let probe = Answers {
        accept_eula: true,
        accept_privacy_policy: true,
        dir: Some(path.clone()),
        ..answers.clone()
    };
    let plan = match plan::plan(bundle, &probe, &target, "1970-01-01T00:00:00Z") {
        Ok(p) => p,
        Err(e) => return done(LocationStatus::Other(e.to_string()), 0, 0),
    };
    let (needed, free) = (plan.space_needed, plan.space_free);
    let upgrade_from = target
        .previous
        .as_ref()
        .map(|p| p.receipt.product_version.clone());
    let problems: Vec<&Problem> = plan
        .problems
        .iter()
        .filter(|p| !(elevated && matches!(p, Problem::NotWritable(_) | Problem::NotAllowed(_))))
        .collect();
    let status = match problems.first().copied() {
        Some(Problem::FileInTheWay(p)) => LocationStatus::FileInTheWay(p.display().to_string()),
        Some(Problem::NotAllowed(p)) => LocationStatus::NotAllowed(p.display().to_string()),
        Some(Problem::NotADir(_)) => LocationStatus::NotADir,
        Some(Problem::VirtualFs(_)) => LocationStatus::VirtualFs,
        Some(Problem::ReadOnly(_)) => LocationStatus::ReadOnly,
        Some(Problem::NotWritable(_)) => LocationStatus::NotWritable,
        _ if upgrade_from.is_none()
            && target.missing_dirs.is_empty()
            && !target.not_a_dir
            && !is_empty_dir(&path) =>
        {
            LocationStatus::ForeignNonEmpty
        }
        None => LocationStatus::Ok {
            upgrade_from,
            creates: !target.missing_dirs.is_empty(),
        },
        Some(Problem::NoSpace { .. }) => LocationStatus::NoSpace,
        Some(Problem::Foreign(_)) => LocationStatus::ForeignNonEmpty,
        Some(other) => LocationStatus::Other(other.in_words()),
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
    let Ok(target) = target::inspect(&expand_home(dir.trim()), bundle, None) else {
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
