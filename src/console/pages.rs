//! The console wizard's pages: what each one says and asks, in the order the window shows
//! them. Each reads its answers through the terminal helpers and hands them to the wizard's
//! state machine, which decides where to go next.

use std::io::{self, BufRead, Write};

use super::terminal::yes_or_no;
use super::wizard::{Reply, Session};
use crate::base::i18n;
use crate::base::layout;
use crate::consent::rules::Decision;
use crate::consent::statements::{self, Language};
use crate::tr;
use crate::wizard::machine::{LocationStatus, MaintenanceChoice, Outcome, Wizard};

impl<R: BufRead, W: Write> Session<'_, R, W> {
    pub(super) fn maintenance(&mut self) -> anyhow::Result<()> {
        let product = self.bundle.product.name.clone();
        let version = self
            .wizard
            .maintenance()
            .map(|m| m.installed_version.clone())
            .unwrap_or_default();
        self.term.heading(&tr!("{} is installed", product))?;
        self.term.para(&tr!(
            "{} {} is installed in {}. What do you want to do?",
            product,
            version,
            self.wizard.dir()
        ))?;
        self.term.say(&format!(
            "  [1] {}",
            tr!("Modify: change your Kaspersky Security Network participation")
        ))?;
        self.term.say(&format!(
            "  [2] {}",
            tr!("Repair: restore missing or changed product files")
        ))?;
        self.term.say(&format!(
            "  [3] {}",
            tr!("Uninstall: remove the product from this computer")
        ))?;
        loop {
            let answer = match self.ask(&tr!("Choose 1, 2 or 3:"))? {
                Reply::Answer(answer) => answer,
                Reply::Back => continue,
                Reply::Quit => return Ok(()),
            };
            let choice = match answer.as_str() {
                "1" => MaintenanceChoice::Modify,
                "2" => MaintenanceChoice::Repair,
                "3" => MaintenanceChoice::Uninstall,
                _ => {
                    self.term.say(&tr!("Type 1, 2 or 3."))?;
                    continue;
                }
            };
            self.wizard.set_maintenance_choice(choice);
            if choice == MaintenanceChoice::Uninstall {
                let keep = loop {
                    let question = format!(
                        "{} {}:",
                        tr!("Keep your settings and the record of your KSN choices?"),
                        tr!("[Y/n]")
                    );
                    match self.ask(&question)? {
                        Reply::Answer(a) if a.is_empty() => break true,
                        Reply::Answer(a) if yes_or_no(&a).is_some() => {
                            break yes_or_no(&a) == Some(true);
                        }
                        Reply::Answer(_) => self.term.say(&tr!("Please answer y or n."))?,
                        Reply::Back => break true,
                        Reply::Quit => return Ok(()),
                    }
                };
                self.wizard.set_keep_records(keep);
            }
            return self.next();
        }
    }

    pub(super) fn welcome(&mut self) -> anyhow::Result<()> {
        let product = self.bundle.product.clone();
        self.term
            .heading(&tr!("Welcome to {} Setup", product.name))?;
        let upgrade = matches!(
            self.wizard.location().map(|c| &c.status),
            Some(LocationStatus::Ok {
                upgrade_from: Some(_),
                ..
            })
        );
        self.term.para(&if upgrade {
            tr!(
                "Setup will update {} {} on this computer.",
                product.name,
                product.version
            )
        } else {
            tr!(
                "Setup will install {} {} on this computer.",
                product.name,
                product.version
            )
        })?;
        self.term.para(&tr!(
            "You will read and accept the End User License Agreement and the Privacy Policy, \
             decide whether to take part in Kaspersky Security Network, and choose where to \
             install. Nothing is changed on this computer until you confirm Install."
        ))?;
        self.term.para(&tr!(
            "Taking part in Kaspersky Security Network is voluntary. You can change your \
             decision at any time after installation in the product's Settings."
        ))?;
        self.term.para(&tr!(
            "At any prompt, type b to go back or q to cancel, then Enter."
        ))?;
        loop {
            let current = self.wizard.language.native_name();
            let menu: String = Language::ALL
                .iter()
                .enumerate()
                .map(|(i, l)| format!(" [{}] {}", i + 1, l.native_name()))
                .collect();
            let prompt = tr!("Language{} (Enter keeps {}):", menu, current);
            let answer = match self.ask(&prompt)? {
                Reply::Answer(answer) => answer,
                Reply::Back => continue,
                Reply::Quit => return Ok(()),
            };
            let answer = answer.to_lowercase();
            let chosen = if answer.is_empty() {
                Some(self.wizard.language)
            } else {
                Language::ALL.iter().enumerate().find_map(|(i, l)| {
                    let named = answer == (i + 1).to_string()
                        || answer == l.code()
                        || answer == l.native_name().to_lowercase();
                    named.then_some(*l)
                })
            };
            let Some(language) = chosen else {
                self.term.say(&tr!(
                    "Type a number from 1 to {}, or press Enter.",
                    Language::ALL.len()
                ))?;
                continue;
            };
            self.wizard.set_language(language);
            crate::base::i18n::set_language(language);
            return self.next();
        }
    }

    pub(super) fn license(&mut self) -> anyhow::Result<()> {
        self.document(
            statements::EULA,
            tr!("I accept the terms of the End User License Agreement"),
            Wizard::accept_eula,
            Wizard::set_accept_eula,
        )
    }

    pub(super) fn privacy(&mut self) -> anyhow::Result<()> {
        self.document(
            statements::PRIVACY_POLICY,
            tr!("I accept the Privacy Policy"),
            Wizard::accept_privacy_policy,
            Wizard::set_accept_privacy_policy,
        )
    }

    /// A legal document's page: the text, then the question that accepts it.
    fn document(
        &mut self,
        id: &str,
        question: String,
        accepted: fn(&Wizard) -> bool,
        accept: fn(&mut Wizard, bool),
    ) -> anyhow::Result<()> {
        let title = self
            .bundle
            .statements
            .get(id)
            .title(self.wizard.language)
            .to_string();
        self.term.heading(&title)?;
        self.term.para(&if id == statements::EULA {
            tr!("Please read the License Agreement. To continue, accept it.")
        } else {
            tr!("Please read the Privacy Policy. To continue, accept it.")
        })?;
        match self.show_statement(id)? {
            Reply::Answer(()) => {}
            Reply::Back => return self.back(),
            Reply::Quit => return Ok(()),
        }
        // The default is the box's state: unticked at first, kept when coming Back.
        let default = accepted(&self.wizard);
        let yes = match self.yes_no(&question, default)? {
            Reply::Answer(yes) => yes,
            Reply::Back => return self.back(),
            Reply::Quit => return Ok(()),
        };
        accept(&mut self.wizard, yes);
        if self.wizard.can_next() {
            return self.next();
        }
        self.term.para(&tr!(
            "Setup cannot continue unless you accept the {}. You can read it again, go back, \
             or cancel setup.",
            title
        ))?;
        loop {
            match self.ask(&tr!("[r]ead again / [b]ack / [c]ancel:"))? {
                Reply::Back => return self.back(),
                Reply::Quit => return Ok(()),
                Reply::Answer(answer) => match answer.to_lowercase().as_str() {
                    // The page again, from the top.
                    "r" | "read" => return Ok(()),
                    "c" | "cancel" => {
                        if self.cancel_setup()? {
                            return Ok(());
                        }
                    }
                    _ => self.term.say(&tr!("Type r, b or c."))?,
                },
            }
        }
    }

    pub(super) fn ksn(&mut self) -> anyhow::Result<()> {
        self.term.heading("Kaspersky Security Network")?;
        if self.reconsent {
            let version = self.bundle.statements.ksn().version.clone();
            self.term.para(&tr!(
                "The Kaspersky Security Network Statement has changed since you last agreed \
                 (now version {}). Please read it and decide again.",
                version
            ))?;
        } else {
            self.term.para(&tr!(
                "Kaspersky Security Network (KSN) is a cloud service that receives statistics \
                 from your computer to detect new threats faster. Read the Statement below."
            ))?;
        }
        match self.show_statement(statements::KSN)? {
            // The pager printed every line, pausing each screenful: shown to its end.
            Reply::Answer(()) => self.wizard.ksn_statement_shown(true),
            Reply::Back => return self.back(),
            Reply::Quit => return Ok(()),
        }
        if self.wizard.ksn_locked() {
            self.term.say(&if self.wizard.ksn_agree() {
                tr!("Kaspersky Security Network: this computer takes part.")
            } else {
                tr!("Kaspersky Security Network: this computer does not take part.")
            })?;
            self.term.para(&tr!("Set by your administrator."))?;
            return match self.ask(&tr!("Press Enter to continue:"))? {
                Reply::Answer(_) => self.next(),
                Reply::Back => self.back(),
                Reply::Quit => Ok(()),
            };
        }
        if let Some(now) = self.wizard.maintenance().map(|m| m.ksn_now.clone()) {
            self.term.para(&current_participation(&now))?;
            self.term.para(&tr!(
                "Participation is voluntary. Answer y to take part, n to stop taking part; \
                 Enter keeps it as it is."
            ))?;
        } else {
            self.term.para(&tr!(
                "Participation is voluntary: you can install without it, and change your \
                 decision at any time later in Settings."
            ))?;
        }
        // The default is the box as the page opens: unticked on an install, so consent is
        // given by answering yes, never by Enter; participation as it is now in maintenance,
        // so Enter changes nothing.
        let agree = match self.yes_no(
            &tr!("I agree to participate in Kaspersky Security Network"),
            self.wizard.ksn_agree(),
        )? {
            Reply::Answer(yes) => yes,
            Reply::Back => return self.back(),
            Reply::Quit => return Ok(()),
        };
        self.wizard.set_ksn_agree(agree);
        self.term.say(&if agree {
            tr!("You chose to take part in Kaspersky Security Network.")
        } else {
            tr!("You chose not to take part in Kaspersky Security Network.")
        })?;
        self.next()
    }

    /// Maintenance: what Repair or Uninstall will do, and a question that defaults to doing
    /// nothing for Uninstall.
    pub(super) fn confirm(&mut self) -> anyhow::Result<()> {
        let Some(maintenance) = self.wizard.maintenance().cloned() else {
            return self.back();
        };
        let product = self.bundle.product.name.clone();
        let dir = self.wizard.dir().to_string();
        let (question, default) = if maintenance.choice == MaintenanceChoice::Uninstall {
            self.term.heading(&tr!("Ready to remove"))?;
            self.term.para(&tr!(
                "Press Remove to remove {} {} from this computer, or Back to choose again.",
                product,
                maintenance.installed_version
            ))?;
            self.term.para(&tr!(
                "Setup will remove every file it installed in {}, and then the folders left \
                 empty. Files you added there are kept.",
                dir
            ))?;
            self.term.para(&if maintenance.keep_records {
                tr!("Your settings and the record of your Kaspersky Security Network choices are kept.")
            } else {
                tr!(
                    "Your settings and the record of your Kaspersky Security Network choices \
                     are removed too."
                )
            })?;
            (tr!("Remove {} now?", product), false)
        } else {
            self.term.heading(&tr!("Ready to repair"))?;
            self.term.para(&tr!(
                "Setup will check every installed file in {} against the record of the \
                 install, and restore the ones that are missing or changed from this \
                 installer.",
                dir
            ))?;
            self.term.para(&tr!(
                "Your settings and the record of your Kaspersky Security Network choices are kept."
            ))?;
            (tr!("Repair {} now?", product), true)
        };
        match self.yes_no(&question, default)? {
            Reply::Answer(true) => self.next(),
            Reply::Answer(false) | Reply::Back => self.back(),
            Reply::Quit => Ok(()),
        }
    }

    pub(super) fn location(&mut self) -> anyhow::Result<()> {
        self.term.heading(&tr!("Choose the install location"))?;
        let product = self.bundle.product.name.clone();
        self.term.para(&tr!(
            "Setup will install {} into the folder below. Press Enter to keep it, or type \
             another folder (a full path).",
            product
        ))?;
        self.show_location()?;
        loop {
            let prompt = format!("{} [{}]:", tr!("Install folder"), self.wizard.dir());
            match self.ask(&prompt)? {
                Reply::Back => return self.back(),
                Reply::Quit => return Ok(()),
                Reply::Answer(answer) if answer.is_empty() => {
                    if self.wizard.can_next() {
                        return self.next();
                    }
                    self.term
                        .say(&tr!("This folder cannot be used. Type another folder."))?;
                }
                Reply::Answer(dir) => {
                    let previous = self.wizard.dir().to_string();
                    let previous_ok = self.wizard.can_next();
                    let action = self.wizard.set_dir(&dir);
                    self.perform(action)?;
                    self.show_location()?;
                    if self.wizard.can_next() {
                        return self.next();
                    }
                    // A refused folder does not become the default: Enter still means the
                    // folder that was fine.
                    if previous_ok {
                        let action = self.wizard.set_dir(&previous);
                        self.perform(action)?;
                        self.term.say(&tr!(
                            "Type another folder, or press Enter for {}.",
                            previous
                        ))?;
                    }
                }
            }
        }
    }

    pub(super) fn show_location(&mut self) -> io::Result<()> {
        let Some(check) = self.wizard.location().cloned() else {
            return Ok(());
        };
        match &check.resolved {
            Some(resolved) => self.term.say(&format!(
                "{} {} ({})",
                tr!("Install folder:"),
                check.dir,
                tr!("That is {}.", resolved)
            ))?,
            None => self
                .term
                .say(&format!("{} {}", tr!("Install folder:"), check.dir))?,
        }
        self.term.para(&location_sentence(&check.status))?;
        if check.status.space_is_real() {
            self.term.para(&tr!(
                "Space needed: {}. Free on this disk: {}.",
                i18n::bytes(check.needed),
                i18n::bytes(check.free)
            ))?;
        }
        Ok(())
    }

    pub(super) fn ready(&mut self) -> anyhow::Result<()> {
        self.term.heading(&tr!("Ready to install"))?;
        self.term.para(&tr!(
            "Setup has everything it needs. Nothing has been changed yet."
        ))?;
        let dir = self.wizard.dir().to_string();
        let mut summary = vec![(tr!("Folder"), dir)];
        if let Some(check) = self.wizard.location().cloned() {
            summary.push((
                tr!("Disk space"),
                tr!(
                    "{} needed, {} free",
                    i18n::bytes(check.needed),
                    i18n::bytes(check.free)
                ),
            ));
            if let LocationStatus::Ok {
                upgrade_from: Some(version),
                ..
            } = &check.status
            {
                summary.push((
                    tr!("Earlier install"),
                    tr!(
                        "Version {} will be updated; your settings are kept.",
                        version
                    ),
                ));
            }
        }
        // What the engine will record, as the window's summary shows it.
        let chosen = if self.wizard.answers().ksn == Some(true) {
            Decision::Agreed
        } else {
            Decision::Declined
        };
        let decision = self
            .plan
            .as_ref()
            .map(|p| p.ksn.record.decision)
            .unwrap_or(chosen);
        let ksn = match (decision == Decision::Agreed, self.wizard.ksn_locked()) {
            (true, true) => {
                tr!("Your administrator has decided that this computer will take part in KSN.")
            }
            (true, false) => {
                tr!("You agreed to take part in KSN. Statistics will be sent to Kaspersky.")
            }
            (false, true) => {
                tr!("Your administrator has decided that this computer will not take part in KSN.")
            }
            (false, false) => tr!("You do not take part in KSN. Nothing will be sent."),
        };
        summary.push(("KSN".to_string(), ksn));
        for line in super::labelled_lines(&summary) {
            self.term.say(&line)?;
        }
        self.term.say("")?;
        loop {
            match self.yes_no(&tr!("Install now?"), true)? {
                Reply::Answer(true) => return self.next(),
                Reply::Answer(false) => {
                    if self.cancel_setup()? {
                        return Ok(());
                    }
                }
                Reply::Back => return self.back(),
                Reply::Quit => return Ok(()),
            }
        }
    }

    pub(super) fn finish(&mut self) -> anyhow::Result<()> {
        let logged = self.log.is_some();
        match self.wizard.outcome().cloned() {
            Some(Outcome::Installed { ksn, dir }) => {
                self.term.heading(&tr!("Setup is complete"))?;
                let product = self.bundle.product.name.clone();
                self.term
                    .para(&tr!("{} has been installed in {}.", product, dir.display()))?;
                self.term.para(&format!(
                    "{} {}",
                    crate::consent::rules::in_words(&ksn),
                    if ksn.locked {
                        tr!("Your administrator set this choice.")
                    } else {
                        tr!("You can change this at any time in Settings.")
                    }
                ))?;
                self.term
                    .say(&tr!("Config: {}", dir.join(layout::CONFIG).display()))?;
            }
            Some(Outcome::Maintained { done }) => {
                self.term.heading(&tr!("Done"))?;
                let dir = std::path::PathBuf::from(self.wizard.dir());
                self.term
                    .para(&done.summary(&self.bundle.product.name, &dir))?;
            }
            Some(Outcome::Failed {
                failure,
                rolled_back,
                ..
            }) => {
                self.term.heading(&tr!("Setup failed"))?;
                self.term
                    .para(&tr!("What went wrong: {}", failure.in_words()))?;
                // Otherwise the failure itself says what is left, or nothing had started.
                if rolled_back {
                    self.term.para(&tr!(
                        "Every change was undone; the computer is as it was before Setup started."
                    ))?;
                }
            }
            Some(Outcome::Cancelled) => {
                self.term.heading(&tr!("Setup was cancelled"))?;
                self.term.para(&tr!(
                    "The install was rolled back: every change was undone, and the computer is \
                     as it was before Setup started."
                ))?;
            }
            None => {}
        }
        if logged {
            self.term
                .say(&tr!("The setup log is in {}.", self.log_path.display()))?;
        }
        self.next()
    }
}

/// The Location page's sentence for a folder check: the window's words, so one catalogue
/// entry serves both.
fn location_sentence(status: &LocationStatus) -> String {
    match status {
        LocationStatus::Ok {
            upgrade_from: Some(version),
            ..
        } => tr!(
            "An earlier install (version {}) is here; it will be updated and your settings kept.",
            version
        ),
        LocationStatus::Ok {
            upgrade_from: None,
            creates: true,
        } => tr!("✓ This folder does not exist yet; Setup will create it."),
        LocationStatus::Ok {
            upgrade_from: None,
            creates: false,
        } => tr!("✓ The folder can be used."),
        LocationStatus::Empty => tr!("Enter a folder."),
        LocationStatus::NotAbsolute => {
            tr!("Enter a full path that starts with / (or ~ for your home folder).")
        }
        LocationStatus::NotADir => tr!("This path is a file, not a folder."),
        LocationStatus::FileInTheWay(file) => {
            tr!("{} is a file, so no folder can be made inside it.", file)
        }
        LocationStatus::NotAllowed(folder) => tr!(
            "You may not look into {}. Choose another folder, or run Setup as an administrator.",
            folder
        ),
        LocationStatus::ReadOnly => {
            tr!("This disk is mounted read-only: nothing can be installed on it.")
        }
        LocationStatus::VirtualFs => {
            tr!("This is a virtual file system (like /proc or /sys): it cannot hold files.")
        }
        LocationStatus::NotWritable => tr!(
            "You cannot write to this folder. Choose another one, or run Setup as an \
             administrator."
        ),
        LocationStatus::NoSpace => tr!("There is not enough free space on this disk."),
        LocationStatus::Untrusted { path, why } => {
            crate::wizard::failure::untrusted_in_words(path, why)
        }
        LocationStatus::ForeignNonEmpty => tr!(
            "This folder is not empty and holds no earlier install of the product. Choose an \
             empty or a new folder."
        ),
        LocationStatus::Other(message) => tr!("This folder cannot be used: {}", message),
    }
}

/// What Modify shows before it asks: participation as it is now.
fn current_participation(now: &crate::wizard::machine::KsnNow) -> String {
    let when = now
        .decided_at
        .as_deref()
        .map(crate::base::time::local_display)
        .unwrap_or_default();
    if now.needs_consent {
        tr!(
            "Currently: off, until you accept the new Statement (you agreed to version {} \
             before).",
            now.statement_version
        )
    } else if now.participates {
        tr!(
            "Currently: you take part (agreed on {} to KSN Statement {}).",
            when,
            now.statement_version
        )
    } else if now.decided_at.is_some() {
        tr!("Currently: you do not take part (decided on {}).", when)
    } else {
        tr!("Currently: you do not take part (nobody has decided yet).")
    }
}
