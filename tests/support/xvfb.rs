//! An X server of a test's own (Xvfb), as the X11 and polkit tests run the real windows on.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// An X server on a display number it picks itself; killed when dropped.
pub struct Xvfb {
    server: Child,
    pub display: String,
}

impl Xvfb {
    /// Starts one with a screen of `size` pixels, and waits until it accepts clients.
    pub fn start(size: (u32, u32)) -> Xvfb {
        let mut server = Command::new("Xvfb")
            .args(["-displayfd", "1", "-nolisten", "tcp", "-screen", "0"])
            .arg(format!("{}x{}x24", size.0, size.1))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb runs (apt-get install xvfb; .ci/run installs it)");
        // With -displayfd, the server writes its display number once it accepts clients.
        let mut line = String::new();
        BufReader::new(server.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let number = line.trim();
        assert!(!number.is_empty(), "Xvfb gave no display number");
        Xvfb {
            server,
            display: format!(":{number}"),
        }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}
