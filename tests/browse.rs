//! The Location page's Browse… button and the desktop's folder chooser, spoken to as the XDG
//! desktop portal is: `org.freedesktop.portal.FileChooser.OpenFile` on the session bus, the
//! answer a `Response` signal on the request object. The bus is a real `dbus-daemon` of the
//! test's own; the portal on it is a stand-in that answers as a desktop's does once the user
//! has chosen (or closed the dialog), since the desktop's dialog itself needs a person.
//!
//! One test, in a binary of its own: it points the process's session bus address at the
//! private bus, which no other test may see.

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use i_slint_backend_testing::ElementHandle;
use ksn_setup::bundle::contents::Bundle;
use ksn_setup::consent::answers::{Answers, Overrides};
use ksn_setup::consent::statements::Language;
use ksn_setup::gui::setup_window::{self, GuiOptions};
use ksn_setup::gui::{LocationState, PageId, SetupWindow, WizardAdapter};
use ksn_setup::wizard::machine::Wizard;
use slint::ComponentHandle;
use slint::platform::Key;
use zbus::zvariant::{OwnedObjectPath, Value};

/// A private session bus: `dbus-daemon --session` on an address of its own.
struct Bus {
    daemon: Child,
    address: String,
}

impl Bus {
    fn start() -> Bus {
        let mut daemon = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon runs (apt-get install dbus-daemon)");
        let mut address = String::new();
        BufReader::new(daemon.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let address = address.trim().to_string();
        assert!(!address.is_empty(), "dbus-daemon gave no address");
        Bus { daemon, address }
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// What the stand-in portal answers, as the desktop's does: the chosen folder's URI (code
/// 0) or the dialog closed (code 1).
#[derive(Clone)]
enum Answer {
    Chose(&'static str),
    Closed,
}

/// What Setup asked for: the dialog's title and whether it asked for a folder.
#[derive(Debug, Clone, PartialEq)]
struct Asked {
    title: String,
    directory: bool,
}

struct Portal {
    answer: Answer,
    asked: Arc<Mutex<Vec<Asked>>>,
}

#[zbus::interface(name = "org.freedesktop.portal.FileChooser")]
impl Portal {
    async fn open_file(
        &self,
        #[zbus(header)] header: zbus::message::Header<'_>,
        #[zbus(connection)] connection: &zbus::Connection,
        _parent_window: &str,
        title: &str,
        options: HashMap<&str, Value<'_>>,
    ) -> zbus::fdo::Result<OwnedObjectPath> {
        let sender = header.sender().expect("a caller on a bus has a name");
        let token = match options.get("handle_token") {
            Some(Value::Str(token)) => token.to_string(),
            _ => return Err(zbus::fdo::Error::InvalidArgs("no handle_token".into())),
        };
        self.asked.lock().unwrap().push(Asked {
            title: title.to_string(),
            directory: matches!(options.get("directory"), Some(Value::Bool(true))),
        });
        // The request object's path, as the portal documents it.
        let path = format!(
            "/org/freedesktop/portal/desktop/request/{}/{token}",
            sender.trim_start_matches(':').replace('.', "_")
        );
        let (code, results): (u32, HashMap<&str, Value<'_>>) = match &self.answer {
            Answer::Chose(uri) => (0, HashMap::from([("uris", Value::from(vec![*uri]))])),
            Answer::Closed => (1, HashMap::new()),
        };
        connection
            .emit_signal(
                Some(sender.clone()),
                path.as_str(),
                "org.freedesktop.portal.Request",
                "Response",
                &(code, results),
            )
            .await?;
        Ok(OwnedObjectPath::try_from(path).unwrap())
    }
}

/// Serves a portal on `bus` that answers `answer`; the connection lives as long as it is held.
fn portal(bus: &Bus, answer: Answer) -> (zbus::blocking::Connection, Arc<Mutex<Vec<Asked>>>) {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let connection = zbus::blocking::connection::Builder::address(bus.address.as_str())
        .unwrap()
        .name("org.freedesktop.portal.Desktop")
        .unwrap()
        .serve_at(
            "/org/freedesktop/portal/desktop",
            Portal {
                answer,
                asked: asked.clone(),
            },
        )
        .unwrap()
        .build()
        .unwrap();
    (connection, asked)
}

/// Points this process's session bus at `address` (the folder chooser reads it each time).
fn use_session_bus(address: &str) {
    // SAFETY: this test binary has one test, and nothing else of it reads the environment
    // while this runs.
    unsafe { std::env::set_var("DBUS_SESSION_BUS_ADDRESS", address) };
}

struct Wizardry {
    window: SetupWindow,
    _controller: std::rc::Rc<setup_window::Controller>,
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

fn on_the_location_page() -> Wizardry {
    support::headless::init();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ksn-demo");
    let answers = Answers::merge(
        None,
        &Overrides {
            language: Some(Language::En),
            accept_eula: true,
            accept_privacy_policy: true,
            ..Default::default()
        },
    );
    let wizard = Wizard::new(&answers, dir.clone());
    let options = GuiOptions {
        log: tmp.path().join("setup.log"),
        save_answers: None,
        ..Default::default()
    };
    let (window, controller) =
        setup_window::build(Bundle::open(None, None).unwrap(), wizard, options).unwrap();
    window.show().unwrap();
    let ui = window.global::<WizardAdapter>();
    while ui.get_page() != PageId::Location {
        assert!(ui.get_can_next(), "stuck on {:?}", ui.get_page());
        support::headless::press(window.window(), Key::Return);
    }
    Wizardry {
        window,
        _controller: controller,
        _tmp: tmp,
        dir,
    }
}

impl Wizardry {
    fn ui(&self) -> WizardAdapter<'_> {
        self.window.global::<WizardAdapter>()
    }

    /// Presses Browse… and waits until the chooser's answer (or its failure) is taken in.
    fn browse(&self, until: impl Fn(&Wizardry) -> bool) {
        let browse: Vec<_> =
            ElementHandle::find_by_accessible_label(&self.window, "Browse…").collect();
        assert_eq!(browse.len(), 1, "one Browse… button on the Location page");
        browse[0].invoke_accessible_default_action();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !until(self) {
            assert!(
                Instant::now() < deadline,
                "no answer from the folder chooser"
            );
            std::thread::sleep(Duration::from_millis(10));
            i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(60));
        }
    }
}

#[test]
fn browse_takes_the_desktops_folder_and_says_when_there_is_no_chooser() {
    let s = on_the_location_page();
    let typed = s.dir.display().to_string();
    assert_eq!(s.ui().get_dir(), typed.as_str());

    // No session bus at all (a bare X server, ssh -X): the page says so, the field stays.
    use_session_bus(&format!(
        "unix:path={}",
        s.dir.with_file_name("no-bus-here").display()
    ));
    s.browse(|s| !s.ui().get_browse_error().is_empty());
    assert!(
        s.ui().get_browse_error().contains("session bus"),
        "{}",
        s.ui().get_browse_error()
    );
    assert_eq!(s.ui().get_dir(), typed.as_str(), "the typed folder stays");

    // A bus with no portal on it: the same, in other words.
    let bus = Bus::start();
    use_session_bus(&bus.address);
    s.ui().set_browse_error("".into());
    s.browse(|s| !s.ui().get_browse_error().is_empty());
    assert_eq!(s.ui().get_dir(), typed.as_str());

    // A portal: the folder the user chose goes into the field (URI decoded), and is checked.
    let (_portal, asked) = portal(&bus, Answer::Chose("file:///srv/My%20Apps/ksn-demo"));
    s.browse(|s| s.ui().get_dir() != typed.as_str());
    assert_eq!(s.ui().get_dir(), "/srv/My Apps/ksn-demo");
    assert_eq!(
        s.ui().get_browse_error(),
        "",
        "a success clears the earlier failure"
    );
    assert_eq!(
        asked.lock().unwrap().as_slice(),
        [Asked {
            title: "Choose the install folder".into(),
            directory: true,
        }]
    );
    // Checked like a typed folder.
    assert!(!Path::new("/srv/My Apps").exists());
    assert_eq!(s.ui().get_location_state(), LocationState::New);
    assert!(s.ui().get_can_next());
    drop(_portal);

    // The user closed the dialog: nothing changes, and nothing is reported as wrong.
    let (_portal, asked) = portal(&bus, Answer::Closed);
    s.browse(|_| !asked.lock().unwrap().is_empty());
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(10));
        i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(60));
    }
    assert_eq!(s.ui().get_dir(), "/srv/My Apps/ksn-demo");
    assert_eq!(s.ui().get_browse_error(), "");
}
