//! The console wizard's pages: what each one says and asks, in the order the window shows
//! them. Each reads its answers through the terminal helpers and hands them to the wizard's
//! state machine, which decides where to go next.

use std::io::{self, BufRead, Write};

use super::wizard::{Reply, Session};
use crate::base::layout;
use crate::base::units::human_bytes;
use crate::consent::rules::Decision;
use crate::consent::statements::{self, Language};
use crate::wizard::machine::{LocationStatus, MaintenanceChoice, Outcome, Wizard};

impl<R: BufRead, W: Write> Session<'_, R, W> {
    pub(super) fn maintenance(&mut self) -> anyhow::Result<()> {
        let product = self.bundle.product.name.clone();
        let version = self
            .wizard
            .maintenance()
            .map(|m| m.installed_version.clone())
            .unwrap_or_default();
        self.term.heading(&format!("{product} is installed"))?;
        self.term.para(&format!(
            "{product} {version} is already installed in {}. What do you want to do?",
            self.wizard.dir()
        ))?;
        self.term
            .say("  [1] Modify: change your Kaspersky Security Network participation")?;
        self.term
            .say("  [2] Repair: restore missing or changed product files")?;
        self.term
            .say("  [3] Uninstall: remove the product from this computer")?;
        loop {
            let answer = match self.ask("Choose 1, 2 or 3:")? {
                Reply::Answer(answer) => answer,
                Reply::Back => continue,
                Reply::Quit => return Ok(()),
            };
            let choice = match answer.as_str() {
                "1" => MaintenanceChoice::Modify,
                "2" => MaintenanceChoice::Repair,
                "3" => MaintenanceChoice::Uninstall,
                _ => {
                    self.term.say("Type 1, 2 or 3.")?;
                    continue;
                }
            };
            self.wizard.set_maintenance_choice(choice);
            if choice == MaintenanceChoice::Uninstall {
                let keep = loop {
                    match self
                        .ask("Keep your settings and the record of your KSN choices? [Y/n]:")?
                    {
                        Reply::Answer(a) if a.is_empty() || a.eq_ignore_ascii_case("y") => {
                            break true;
                        }
                        Reply::Answer(a) if a.eq_ignore_ascii_case("n") => break false,
                        Reply::Answer(_) => self.term.say("Type y or n.")?,
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
            .heading(&format!("Welcome to {} Setup", product.name))?;
        let upgrade = matches!(
            self.wizard.location().map(|c| &c.status),
            Some(LocationStatus::Ok {
                upgrade_from: Some(_),
                ..
            })
        );
        let verb = if upgrade { "update" } else { "install" };
        self.term.para(&format!(
            "Setup will {verb} {} {} on this computer.",
            product.name, product.version
        ))?;
        self.term.para(
            "You will read and accept the End User License Agreement and the Privacy Policy, \
             decide whether to take part in Kaspersky Security Network, and choose where to \
             install. Nothing is changed on this computer until you confirm Install.",
        )?;
        self.term.para(
            "Taking part in Kaspersky Security Network is voluntary. You can change your \
             decision at any time after installation in the product's Settings.",
        )?;
        self.term
            .para("At any prompt, type b to go back or q to cancel, then Enter.")?;
        loop {
            let current = language_name(self.wizard.language);
            let prompt = format!("Language [1] English [2] Русский (Enter keeps {current}):");
            let answer = match self.ask(&prompt)? {
                Reply::Answer(answer) => answer,
                Reply::Back => continue,
                Reply::Quit => return Ok(()),
            };
            let language = match answer.to_lowercase().as_str() {
                "" => self.wizard.language,
                "1" | "en" | "english" => Language::En,
                "2" | "ru" | "русский" => Language::Ru,
                _ => {
                    self.term.say("Type 1 or 2, or press Enter.")?;
                    continue;
                }
            };
            self.wizard.set_language(language);
            return self.next();
        }
    }

    pub(super) fn license(&mut self) -> anyhow::Result<()> {
        self.document(
            statements::EULA,
            "I accept the terms of the End User License Agreement",
            Wizard::accept_eula,
            Wizard::set_accept_eula,
        )
    }

    pub(super) fn privacy(&mut self) -> anyhow::Result<()> {
        self.document(
            statements::PRIVACY_POLICY,
            "I accept the Privacy Policy",
            Wizard::accept_privacy_policy,
            Wizard::set_accept_privacy_policy,
        )
    }

    /// A legal document's page: the text, then the question that accepts it.
    fn document(
        &mut self,
        id: &str,
        question: &str,
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
        self.term
            .para(&format!("Please read the {title}. To continue, accept it."))?;
        match self.show_statement(id)? {
            Reply::Answer(()) => {}
            Reply::Back => return self.back(),
            Reply::Quit => return Ok(()),
        }
        // The default is the box's state: unticked at first, kept when coming Back.
        let default = accepted(&self.wizard);
        let yes = match self.yes_no(question, default)? {
            Reply::Answer(yes) => yes,
            Reply::Back => return self.back(),
            Reply::Quit => return Ok(()),
        };
        accept(&mut self.wizard, yes);
        if self.wizard.can_next() {
            return self.next();
        }
        self.term.para(&format!(
            "Setup cannot continue unless you accept the {title}. You can read it again, go \
             back, or cancel setup."
        ))?;
        loop {
            match self.ask("[r]ead again / [b]ack / [c]ancel:")? {
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
                    _ => self.term.say("Type r, b or c.")?,
                },
            }
        }
    }

    pub(super) fn ksn(&mut self) -> anyhow::Result<()> {
        self.term.heading("Kaspersky Security Network")?;
        if self.reconsent {
            let version = self.bundle.statements.ksn().version.clone();
            self.term.para(&format!(
                "The Kaspersky Security Network Statement has changed since you last agreed \
                 (now version {version}). Please read it and decide again."
            ))?;
        } else {
            self.term.para(
                "Kaspersky Security Network (KSN) is a cloud service that receives statistics \
                 from your computer to detect new threats faster. Read the Statement below.",
            )?;
        }
        match self.show_statement(statements::KSN)? {
            // The pager printed every line, pausing each screenful: shown to its end.
            Reply::Answer(()) => self.wizard.ksn_statement_shown(true),
            Reply::Back => return self.back(),
            Reply::Quit => return Ok(()),
        }
        if self.wizard.ksn_locked() {
            let choice = if self.wizard.ksn_agree() {
                "this computer takes part"
            } else {
                "this computer does not take part"
            };
            self.term
                .say(&format!("Kaspersky Security Network: {choice}."))?;
            self.term.para("Set by your administrator.")?;
            return match self.ask("Press Enter to continue:")? {
                Reply::Answer(_) => self.next(),
                Reply::Back => self.back(),
                Reply::Quit => Ok(()),
            };
        }
        if let Some(now) = self.wizard.maintenance().map(|m| m.ksn_now.clone()) {
            self.term.para(&current_participation(&now))?;
            self.term.para(
                "Participation is voluntary. Answer y to take part, n to stop taking part; \
                 Enter keeps it as it is.",
            )?;
        } else {
            self.term.para(
                "Participation is voluntary: you can install without it, and change your \
                 decision at any time later in Settings.",
            )?;
        }
        // The default is the box as the page opens: unticked on an install, so consent is
        // given by answering yes, never by Enter; participation as it is now in maintenance,
        // so Enter changes nothing.
        let agree = match self.yes_no(
            "I agree to participate in Kaspersky Security Network",
            self.wizard.ksn_agree(),
        )? {
            Reply::Answer(yes) => yes,
            Reply::Back => return self.back(),
            Reply::Quit => return Ok(()),
        };
        self.wizard.set_ksn_agree(agree);
        self.term.say(if agree {
            "You chose to take part in Kaspersky Security Network."
        } else {
            "You chose not to take part in Kaspersky Security Network."
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
            self.term.heading("Ready to remove")?;
            self.term.para(&format!(
                "Setup will remove {product} {} from {dir}: every file it installed, and the \
                 folders left empty. Files you added there are kept.",
                maintenance.installed_version
            ))?;
            self.term.para(if maintenance.keep_records {
                "Your settings and the record of your KSN choices are kept."
            } else {
                "Your settings and the record of your KSN choices are removed too."
            })?;
            (format!("Remove {product} now?"), false)
        } else {
            self.term.heading("Ready to repair")?;
            self.term.para(&format!(
                "Setup will check every file of {product} in {dir} against the record of the \
                 install and restore the ones that are missing or changed, from this installer. \
                 Your settings and the record of your KSN choices are kept."
            ))?;
            (format!("Repair {product} now?"), true)
        };
        match self.yes_no(&question, default)? {
            Reply::Answer(true) => self.next(),
            Reply::Answer(false) | Reply::Back => self.back(),
            Reply::Quit => Ok(()),
        }
    }

    pub(super) fn location(&mut self) -> anyhow::Result<()> {
        self.term.heading("Choose the install location")?;
        let product = self.bundle.product.name.clone();
        self.term.para(&format!(
            "Setup will install {product} into the folder below. Press Enter to keep it, or \
             type another folder (a full path)."
        ))?;
        self.show_location()?;
        loop {
            let prompt = format!("Install folder [{}]:", self.wizard.dir());
            match self.ask(&prompt)? {
                Reply::Back => return self.back(),
                Reply::Quit => return Ok(()),
                Reply::Answer(answer) if answer.is_empty() => {
                    if self.wizard.can_next() {
                        return self.next();
                    }
                    self.term
                        .say("This folder cannot be used. Type another folder.")?;
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
                        self.term.say(&format!(
                            "Type another folder, or press Enter for {previous}."
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
            Some(resolved) => self
                .term
                .say(&format!("Install folder: {} ({resolved})", check.dir))?,
            None => self.term.say(&format!("Install folder: {}", check.dir))?,
        }
        self.term.para(&location_sentence(&check.status))?;
        if check.status.space_is_real() {
            self.term.para(&format!(
                "Space needed: {}. Free on this disk: {}.",
                human_bytes(check.needed),
                human_bytes(check.free)
            ))?;
        }
        Ok(())
    }

    pub(super) fn ready(&mut self) -> anyhow::Result<()> {
        self.term.heading("Ready to install")?;
        self.term
            .para("Setup has everything it needs. Nothing has been changed yet.")?;
        let dir = self.wizard.dir().to_string();
        self.term.say(&format!("  Folder:       {dir}"))?;
        if let Some(check) = self.wizard.location().cloned() {
            self.term.say(&format!(
                "  Disk space:   {} needed, {} free",
                human_bytes(check.needed),
                human_bytes(check.free)
            ))?;
            if let LocationStatus::Ok {
                upgrade_from: Some(version),
                ..
            } = &check.status
            {
                self.term.say(&format!(
                    "  Earlier install: version {version} will be updated; your settings are kept."
                ))?;
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
            (true, true) => "Your administrator has chosen that this computer takes part in KSN.",
            (true, false) => {
                "You agreed to take part in KSN. Statistics will be sent to Kaspersky."
            }
            (false, true) => {
                "Your administrator has chosen that this computer does not take part in KSN."
            }
            (false, false) => "You do not take part in KSN. Nothing will be sent.",
        };
        self.term.say(&format!("  KSN:          {ksn}"))?;
        self.term.say("")?;
        loop {
            match self.yes_no("Install now?", true)? {
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
                self.term.heading("Setup is complete")?;
                let product = self.bundle.product.name.clone();
                self.term.para(&format!(
                    "{product} has been installed in {}.",
                    dir.display()
                ))?;
                self.term.para(&format!(
                    "Kaspersky Security Network: the product {}. {}",
                    crate::consent::rules::describe(&ksn),
                    if ksn.locked {
                        "Your administrator set this choice."
                    } else {
                        "You can change this at any time in Settings."
                    }
                ))?;
                self.term
                    .say(&format!("Config: {}", dir.join(layout::CONFIG).display()))?;
            }
            Some(Outcome::Maintained { done }) => {
                self.term.heading("Done")?;
                let dir = std::path::PathBuf::from(self.wizard.dir());
                self.term
                    .para(&done.summary(&self.bundle.product.name, &dir))?;
            }
            Some(Outcome::Failed {
                message,
                rolled_back,
            }) => {
                self.term.heading("Setup failed")?;
                self.term.para(&format!("What went wrong: {message}"))?;
                // Otherwise the message itself says what is left, or nothing had started.
                if rolled_back {
                    self.term.para(
                        "Every change was undone; the computer is as it was before Setup started.",
                    )?;
                }
            }
            Some(Outcome::Cancelled) => {
                self.term.heading("Setup was cancelled")?;
                self.term.para(
                    "The install was rolled back: every change was undone, and the computer is \
                     as it was before Setup started.",
                )?;
            }
            None => {}
        }
        if logged {
            self.term
                .say(&format!("The setup log is in {}.", self.log_path.display()))?;
        }
        self.next()
    }
}

/// The Location page's sentence for a folder check.
fn location_sentence(status: &LocationStatus) -> String {
    match status {
        LocationStatus::Ok {
            upgrade_from: Some(version),
            ..
        } => format!(
            "An earlier install (version {version}) is here; it will be updated and your \
             settings kept."
        ),
        LocationStatus::Ok {
            upgrade_from: None,
            creates: true,
        } => "The folder does not exist yet; Setup will create it.".into(),
        LocationStatus::Ok {
            upgrade_from: None,
            creates: false,
        } => "The folder can be used.".into(),
        LocationStatus::Empty => "Enter a folder.".into(),
        LocationStatus::NotAbsolute => "Enter a full path that starts with /.".into(),
        LocationStatus::NotADir => "This path is a file, not a folder.".into(),
        LocationStatus::FileInTheWay(file) => {
            format!("{file} is a file, so no folder can be made inside it.")
        }
        LocationStatus::NotAllowed(folder) => format!(
            "You may not look into {folder}. Choose another folder or run Setup as an \
             administrator."
        ),
        LocationStatus::ReadOnly => "This disk is mounted read-only.".into(),
        LocationStatus::VirtualFs => "This is a virtual file system (like /proc or /sys); it \
                                      cannot hold files."
            .into(),
        LocationStatus::NotWritable => "You cannot write to this folder. Choose another one or \
                                        run Setup as an administrator."
            .into(),
        LocationStatus::NoSpace => "There is not enough free space on this disk.".into(),
        LocationStatus::Untrusted { path, why } => format!(
            "Another user controls {path}: {why}. Choose a folder only you (or root) can change."
        ),
        LocationStatus::ForeignNonEmpty => "This folder is not empty and holds no earlier \
                                            install of the product. Choose an empty or a new \
                                            folder."
            .into(),
        LocationStatus::Other(message) => format!("This folder cannot be used: {message}"),
    }
}

fn language_name(language: Language) -> &'static str {
    match language {
        Language::En => "English",
        Language::Ru => "Русский",
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
        format!(
            "Currently: off, until you accept the new Statement (you agreed to version {} \
             before).",
            now.statement_version
        )
    } else if now.participates {
        format!(
            "Currently: you take part (agreed on {when} to KSN Statement {}).",
            now.statement_version
        )
    } else if now.decided_at.is_some() {
        format!("Currently: you do not take part (decided on {when}).")
    } else {
        "Currently: you do not take part (nobody has decided yet).".to_string()
    }
}
