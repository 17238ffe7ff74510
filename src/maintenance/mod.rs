//! After install: an installed product as the maintenance commands see it (`installed`),
//! changing KSN participation (`ksn_change`), repair (`repair`) and uninstall (`uninstall`),
//! with what each does to the menu entries outside the folder (`menu`), what installing the
//! same version again changes (`reinstall`), as pure work the engine runs as one
//! transaction, and the tasks the command line, the settings window and the wizards run
//! (`task`).
//!
//! May use: `engine`, `bundle`, `consent` and `base`. Must never use the wizard or a front
//! end: the same task runs from a window, a terminal or a script.

pub mod installed;
pub mod ksn_change;
pub mod menu;
pub mod reinstall;
pub mod repair;
pub mod task;
pub mod uninstall;
