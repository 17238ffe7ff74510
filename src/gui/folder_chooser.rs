//! The desktop's folder chooser, through the XDG desktop portal (`org.freedesktop.portal.
//! FileChooser`), as GNOME, KDE and the other desktops provide it: the same dialog every
//! application of the desktop shows, talked to over D-Bus with zbus, which the window's
//! accessibility support already links.
//!
//! The request's answer arrives as a `Response` signal on a request object whose path is
//! known in advance (from the connection's name and our `handle_token`), so the test listens
//! for it before asking and cannot miss it. Where no portal answers (no session bus, no
//! portal service, a bare X server), the error says so and the caller keeps the typed folder.

use std::collections::HashMap;
use std::path::PathBuf;

use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

/// The chooser's answer: the folder, `None` when the user closed the dialog, or why no
/// chooser could be shown.
pub type Chosen = Result<Option<PathBuf>, String>;

/// Asks the desktop for a folder, in a dialog over `parent` (the portal's window identifier,
/// `x11:XID`, or empty when there is none to give).
pub fn choose_folder(title: &str, parent: &str) -> Chosen {
    let connection = zbus::blocking::Connection::session()
        .map_err(|e| format!("there is no desktop session bus ({e})"))?;
    // A token of its own for each request: the request object's path is made from it.
    static REQUESTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let serial = REQUESTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let token = format!("ksn_setup_{}_{serial}", std::process::id());
    let sender = connection
        .unique_name()
        .ok_or("the session bus gave no name")?
        .trim_start_matches(':')
        .replace('.', "_");
    let request = format!("/org/freedesktop/portal/desktop/request/{sender}/{token}");
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface("org.freedesktop.portal.Request")
        .and_then(|b| b.member("Response"))
        .and_then(|b| b.path(request.as_str()))
        .map_err(|e| e.to_string())?
        .build();
    let mut responses = zbus::blocking::MessageIterator::for_match_rule(rule, &connection, Some(4))
        .map_err(|e| format!("the desktop portal cannot be asked ({e})"))?;
    let chooser = zbus::blocking::Proxy::new(
        &connection,
        "org.freedesktop.portal.Desktop",
        "/org/freedesktop/portal/desktop",
        "org.freedesktop.portal.FileChooser",
    )
    .map_err(|e| format!("the desktop portal cannot be asked ({e})"))?;
    let mut options: HashMap<&str, Value<'_>> = HashMap::new();
    options.insert("handle_token", Value::from(token.as_str()));
    options.insert("directory", Value::from(true));
    options.insert("modal", Value::from(true));
    let _handle: OwnedObjectPath = chooser
        .call("OpenFile", &(parent, title, options))
        .map_err(|e| format!("no folder chooser answered ({e})"))?;
    let message = responses
        .next()
        .ok_or("the folder chooser went away without an answer")?
        .map_err(|e| e.to_string())?;
    let (code, results): (u32, HashMap<String, OwnedValue>) = message
        .body()
        .deserialize()
        .map_err(|e| format!("the folder chooser's answer cannot be read ({e})"))?;
    // 0: chosen; 1: the user closed it; 2: it ended some other way.
    if code != 0 {
        return Ok(None);
    }
    let uris: Vec<String> = results
        .get("uris")
        .and_then(|v| Vec::<String>::try_from(v.try_clone().ok()?).ok())
        .unwrap_or_default();
    Ok(uris.first().and_then(|uri| path_of_uri(uri)))
}

/// The portal's identifier of a window (`x11:` and its XID in hex), so the desktop shows its
/// dialog over it, modal. Wayland windows need an exported handle (xdg-foreign) and go
/// without, as do windows of other backends.
pub fn parent_of(window: &slint::Window) -> String {
    use slint::winit_030::WinitWindowAccessor as _;
    use slint::winit_030::winit::raw_window_handle::{HasWindowHandle as _, RawWindowHandle};
    window
        .with_winit_window(|w| match w.window_handle().map(|h| h.as_raw()) {
            Ok(RawWindowHandle::Xlib(x)) => format!("x11:{:x}", x.window),
            Ok(RawWindowHandle::Xcb(x)) => format!("x11:{:x}", x.window.get()),
            _ => String::new(),
        })
        .unwrap_or_default()
}

/// The local path of a `file://` URI, percent-decoded.
fn path_of_uri(uri: &str) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    let encoded = uri.strip_prefix("file://")?;
    let mut bytes = Vec::with_capacity(encoded.len());
    let mut iter = encoded.bytes();
    while let Some(b) = iter.next() {
        if b == b'%' {
            let hex = [iter.next()?, iter.next()?];
            bytes.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            bytes.push(b);
        }
    }
    Some(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_uris_become_paths() {
        assert_eq!(
            path_of_uri("file:///opt/My%20Apps/ksn"),
            Some(PathBuf::from("/opt/My Apps/ksn"))
        );
        assert_eq!(path_of_uri("https://example.com/x"), None);
    }
}
