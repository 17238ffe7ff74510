//! The console wizard's pages: what each one says and asks, in the order the window shows
//! them. Each reads its answers through the terminal helpers and hands them to the wizard's
//! state machine, which decides where to go next.

use std::io::{self, BufRead, Write};

use super::wizard::{Reply, Session};
use crate::base::layout;
use crate::base::units::human_bytes;
use crate::consent::rules::Decision;
use crate::consent::statements::{self, Language};
use crate::wizard::machine::{LocationStatus, MaintenanceChoice, Outcome};

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
                upgrade_from: Some(_)
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
        self.term.heading("License Agreement and Privacy Policy")?;
        self.term
            .para("Please read both documents. To continue, accept both.")?;
        for id in [statements::EULA, statements::PRIVACY_POLICY] {
            match self.show_statement(id)? {
                Reply::Answer(()) => {}
                Reply::Back => return self.back(),
                Reply::Quit => return Ok(()),
            }
        }
        // The defaults are the boxes' state: unticked at first, kept when coming Back.
        let default = self.wizard.accept_eula();
        let eula = match self.yes_no(
            "I accept the terms of the End User License Agreement",
            default,
        )? {
            Reply::Answer(yes) => yes,
            Reply::Back => return self.back(),
            Reply::Quit => return Ok(()),
        };
        self.wizard.set_accept_eula(eula);
        let default = self.wizard.accept_privacy_policy();
        let privacy = match self.yes_no("I accept the Privacy Policy", default)? {
            Reply::Answer(yes) => yes,
            Reply::Back => return self.back(),
            Reply::Quit => return Ok(()),
        };
        self.wizard.set_accept_privacy_policy(privacy);
        if self.wizard.can_next() {
            return self.next();
        }
        self.term.para(
            "Setup cannot continue unless you accept both the End User License Agreement and \
             the Privacy Policy. You can read them again, go back, or cancel setup.",
        )?;
        loop {
            match self.ask("[r]ead again / [b]ack / [c]ancel:")? {
                Reply::Back => return self.back(),
                Reply::Quit => return Ok(()),
                Reply::Answer(answer) => match answer.to_lowercase().as_str() {
                    // The page again, from the top, with both questions.
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
            Reply::Answer(()) => {}
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
        self.term.para(
            "Participation is voluntary: you can install without it, and change your decision \
             at any time later in Settings.",
        )?;
        // No is the default: consent is given by answering yes on this page, never by Enter.
        let agree = match self.yes_no(
            "I agree to participate in Kaspersky Security Network",
            false,
        )? {
            Reply::Answer(yes) => yes,
            Reply::Back => return self.back(),
            Reply::Quit => return Ok(()),
        };
        self.wizard.set_ksn_agree(agree);
        self.term.say(if agree {
            "You agreed to take part in Kaspersky Security Network."
        } else {
            "You do not take part in Kaspersky Security Network."
        })?;
        self.next()
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
                    let action = self.wizard.set_dir(&dir);
                    self.perform(action)?;
                    self.show_location()?;
                    if self.wizard.can_next() {
                        return self.next();
                    }
                }
            }
        }
    }

    pub(super) fn show_location(&mut self) -> io::Result<()> {
        let Some(check) = self.wizard.location().cloned() else {
            return Ok(());
        };
        self.term.say(&format!("Install folder: {}", check.dir))?;
        self.term.para(&location_sentence(&check.status))?;
        if check.needed > 0 || check.free > 0 {
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
            Some(Outcome::Maintained { summary }) => {
                self.term.heading("Done")?;
                self.term.para(&summary)?;
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
        } => format!(
            "An earlier install (version {version}) is here; it will be updated and your \
             settings kept."
        ),
        LocationStatus::Ok { upgrade_from: None } => "The folder can be used.".into(),
        LocationStatus::Empty => "Enter a folder.".into(),
        LocationStatus::NotAbsolute => "Enter a full path that starts with /.".into(),
        LocationStatus::NotADir => "This path is a file, not a folder.".into(),
        LocationStatus::NotWritable => "You cannot write to this folder. Choose another one or \
                                        run Setup as an administrator."
            .into(),
        LocationStatus::NoSpace => "There is not enough free space on this disk.".into(),
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
