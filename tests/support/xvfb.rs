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
    ///
    /// One at a time in a test program: two servers starting side by side over a stale lock
    /// file (`/tmp/.X0-lock` of a server that died) can both take the same display, and the
    /// windows of one test then vanish with the other test's server.
    pub fn start(size: (u32, u32)) -> Xvfb {
        static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one_at_a_time = STARTING.lock().unwrap_or_else(|e| e.into_inner());
        let mut server = Command::new("Xvfb")
            // -noreset: by default an X server resets when its last client leaves, and
            // refuses connections while it does. The readiness check below is such a last
            // client, so a window opened right after it could fail with "Failed to open
            // connection to X server".
            .args([
                "-displayfd",
                "1",
                "-nolisten",
                "tcp",
                "-noreset",
                "-screen",
                "0",
            ])
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
        let xvfb = Xvfb {
            server,
            display: format!(":{number}"),
        };
        xvfb.wait_until_it_answers();
        xvfb
    }

    /// Waits until a client can connect: a window opened at once once failed with "Failed
    /// to open connection to X server" although the server had given its number.
    fn wait_until_it_answers(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let answered = Command::new("xwininfo")
                .args(["-root", "-display", &self.display])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("xwininfo runs (apt-get install x11-utils; .ci/run installs it)")
                .success();
            if answered {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "Xvfb on {} does not accept clients",
                self.display
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

impl Drop for Xvfb {
    /// SIGTERM, so the server removes its lock file and socket (a SIGKILLed one leaves them
    /// for the next server to race over), then waits for it.
    fn drop(&mut self) {
        // SAFETY: kill has no memory preconditions; the pid is our own child's.
        unsafe { libc::kill(self.server.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.server.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}
