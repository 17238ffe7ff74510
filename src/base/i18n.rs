//! Every sentence a person reads, in their language: the languages there are, the catalogue
//! lookups behind [`tr!`](crate::tr) and [`trn!`](crate::trn), and numbers, sizes and times
//! written the way each language writes them.
//!
//! The catalogues are the `.po` files in `ui/translations/<code>/LC_MESSAGES/`, the same the
//! windows' Slint code bundles. build.rs compiles each to the `.mo` form and this module reads
//! them with the `gettext` crate, so the plural rule is the catalogue's own `Plural-Forms`.
//! Placeholders are Slint's: `{}` in order, `{0}`, `{1}` by position and `{n}` for the count
//! of a plural, so one catalogue entry can serve a window and the terminal alike.
//!
//! The language is one per process, like a locale: set once from `--lang` or the
//! environment, and again when the Welcome page changes it. Output for administrators'
//! scripts (`--unattended`, pack, verify, inspect) never sets it and stays English.

use std::cell::Cell;
use std::fmt::{self, Display, Write as _};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

include!(concat!(env!("OUT_DIR"), "/languages.rs"));

impl Language {
    pub fn from_code(code: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The language of a POSIX locale value such as `ru_RU.UTF-8`, if we speak it.
    pub fn from_locale(value: &str) -> Option<Language> {
        let code = value.split(['_', '.', '@']).next()?;
        Language::from_code(code)
    }

    /// The language the environment asks for (`LC_ALL`, `LC_MESSAGES`, `LANG`), else English.
    pub fn from_env() -> Language {
        Language::named_by_env().unwrap_or(Language::En)
    }

    /// The language the environment names, when it names one we speak (`C`, `POSIX` and
    /// unset name none).
    pub fn named_by_env() -> Option<Language> {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|var| std::env::var(var).ok())
            .find(|v| !v.is_empty())
            .and_then(|v| Language::from_locale(&v))
    }

    /// The position in [`Language::ALL`]: the order the language menus list them in.
    pub fn index(self) -> usize {
        Language::ALL
            .iter()
            .position(|l| *l == self)
            .unwrap_or_default()
    }

    /// The character between whole and fractional part: `2.5` in English, `2,5` elsewhere
    /// (CLDR's decimal sign for every language we ship).
    fn decimal_sign(self) -> char {
        match self {
            Language::En => '.',
            _ => ',',
        }
    }
}

impl Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The language of this process, as an index into [`Language::ALL`]: what threads that never
/// chose one (an install's worker) answer in.
static CURRENT: AtomicUsize = AtomicUsize::new(0);

// The language the thread chose itself. A process has one user and so one language; but
// tests run many windows on parallel threads of one process, each in a language of its own,
// as Slint keeps its selected translation per thread.
thread_local! {
    static HERE: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Makes `language` the one every later lookup answers in, on this thread and on threads
/// that did not choose one.
pub fn set_language(language: Language) {
    CURRENT.store(language.index(), Ordering::Relaxed);
    HERE.with(|h| h.set(Some(language.index())));
}

/// Runs `f` with lookups answering in `language`, on this thread only: for texts that carry
/// every language at once, such as a menu entry's `Name[ru]=`.
pub fn in_language<T>(language: Language, f: impl FnOnce() -> T) -> T {
    let before = HERE.with(|h| h.replace(Some(language.index())));
    let out = f();
    HERE.with(|h| h.set(before));
    out
}

/// The language lookups answer in now.
pub fn language() -> Language {
    // Unit tests share the process, and a test that chose no language expects English.
    let unchosen = || {
        if cfg!(test) {
            0
        } else {
            CURRENT.load(Ordering::Relaxed)
        }
    };
    let index = HERE.with(Cell::get).unwrap_or_else(unchosen);
    Language::ALL.get(index).copied().unwrap_or(Language::En)
}

/// The catalogue of `language`, parsed on first use; `None` for English, whose text is the
/// msgid itself.
fn catalogue(language: Language) -> Option<&'static gettext::Catalog> {
    static PARSED: OnceLock<Vec<Option<gettext::Catalog>>> = OnceLock::new();
    let parsed = PARSED.get_or_init(|| {
        Language::ALL
            .iter()
            .map(|l| {
                // build.rs wrote these bytes from a catalogue it parsed; a failure here is a
                // build defect, and showing English is the safe answer to it.
                l.catalogue()
                    .and_then(|mo| gettext::Catalog::parse(mo).ok())
            })
            .collect()
    });
    parsed.get(language.index())?.as_ref()
}

/// `msgid` in the current language.
pub fn gettext(msgid: &'static str) -> &'static str {
    match catalogue(language()) {
        Some(c) => c.gettext(msgid),
        None => msgid,
    }
}

/// The plural form for `n` of `one`/`many` in the current language.
pub fn ngettext(one: &'static str, many: &'static str, n: u64) -> &'static str {
    match catalogue(language()) {
        Some(c) => c.ngettext(one, many, n),
        None if n == 1 => one,
        None => many,
    }
}

/// Fills Slint-style placeholders: `{}` takes the next argument, `{0}`… the argument at
/// that position, `{n}` the plural count, `{{` and `}}` are braces. A placeholder with no
/// argument is left as it is, so a catalogue mistake shows rather than panics.
pub fn fill(template: &str, args: &[&dyn Display], n: Option<u64>) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut next = 0;
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if rest.starts_with("{{") || rest.starts_with("}}") {
            out.push_str(&rest[..1]);
            rest = &rest[2..];
            continue;
        }
        let Some(end) = rest.find('}').filter(|_| rest.starts_with('{')) else {
            out.push_str(&rest[..1]);
            rest = &rest[1..];
            continue;
        };
        let inside = &rest[1..end];
        let written = match inside {
            "" => {
                next += 1;
                args.get(next - 1).map(|a| write!(out, "{a}"))
            }
            "n" => n.map(|n| out.push_str(&integer(n))).map(Ok),
            _ => inside
                .parse::<usize>()
                .ok()
                .and_then(|at| args.get(at))
                .map(|a| write!(out, "{a}")),
        };
        if written.is_none() {
            out.push_str(&rest[..=end]);
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// A whole number as the current language writes it: `12,345` in English, `12 345` (a
/// no-break space) in Russian, `12.345` in German. Four digits stay ungrouped, as CLDR
/// writes them in Russian and German and as most people write years and counts.
pub fn integer(n: u64) -> String {
    let digits = n.to_string();
    let separator = match language() {
        Language::En => ",",
        Language::Ru => "\u{a0}",
        _ => ".",
    };
    if digits.len() <= 4 {
        return digits;
    }
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push_str(separator);
        }
        out.push(d);
    }
    out
}

/// `value` with one decimal in the current language: `2.5`, `2,5`.
pub fn decimal(value: f64) -> String {
    format!("{value:.1}").replace('.', &language().decimal_sign().to_string())
}

/// Bytes for people, in the current language: `1.4 MB`, `1,4 МБ`. Decimal units, as disks
/// and GNOME's file manager count.
pub fn bytes(n: u64) -> String {
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < 4 {
        value /= 1000.0;
        unit += 1;
    }
    let number = if unit == 0 {
        integer(n)
    } else {
        decimal(value)
    };
    match unit {
        0 => crate::tr!("{} B", number),
        1 => crate::tr!("{} KB", number),
        2 => crate::tr!("{} MB", number),
        3 => crate::tr!("{} GB", number),
        _ => crate::tr!("{} TB", number),
    }
}

/// A duration for people, rounded up so it never promises less: `5 seconds`, `2 minutes`.
pub fn duration(seconds: u64) -> String {
    if seconds < 60 {
        crate::trn!("{n} second", "{n} seconds", seconds.max(1))
    } else {
        let minutes = seconds.div_ceil(60);
        crate::trn!("{n} minute", "{n} minutes", minutes)
    }
}

/// `msgid` in the current language, its placeholders filled with the arguments:
/// `tr!("Installing {}", product)`. The msgid must be a literal, so the catalogue check
/// (tests/translations.rs) finds it.
#[macro_export]
macro_rules! tr {
    ($msgid:literal) => {
        $crate::base::i18n::fill($crate::base::i18n::gettext($msgid), &[], None)
    };
    ($msgid:literal, $($arg:expr),+ $(,)?) => {
        $crate::base::i18n::fill(
            $crate::base::i18n::gettext($msgid),
            &[$(&$arg as &dyn ::std::fmt::Display),+],
            None,
        )
    };
}

/// The plural form for the count `n` in the current language, `{n}` filled with the count
/// and the other placeholders with the arguments: `trn!("{n} file", "{n} files", count)`.
#[macro_export]
macro_rules! trn {
    ($one:literal, $many:literal, $n:expr) => {{
        let n: u64 = $n;
        $crate::base::i18n::fill($crate::base::i18n::ngettext($one, $many, n), &[], Some(n))
    }};
    ($one:literal, $many:literal, $n:expr, $($arg:expr),+ $(,)?) => {{
        let n: u64 = $n;
        $crate::base::i18n::fill(
            $crate::base::i18n::ngettext($one, $many, n),
            &[$(&$arg as &dyn ::std::fmt::Display),+],
            Some(n),
        )
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_fill_in_order_by_position_and_count() {
        assert_eq!(fill("{} in {}", &[&"a", &"b"], None), "a in b");
        assert_eq!(fill("{1} before {0}", &[&"a", &"b"], None), "b before a");
        assert_eq!(
            fill("{n} files in {}", &[&"/opt"], Some(3)),
            "3 files in /opt"
        );
        assert_eq!(fill("{{literal}} {}", &[&1], None), "{literal} 1");
        // A placeholder without an argument stays visible instead of panicking.
        assert_eq!(fill("{} and {}", &[&"a"], None), "a and {}");
        assert_eq!(fill("odd } and {", &[], None), "odd } and {");
    }

    #[test]
    fn english_is_the_msgid_and_numbers_follow_the_language() {
        set_language(Language::En);
        assert_eq!(tr!("{} MB", "2.5"), "2.5 MB");
        assert_eq!(bytes(2_500_000), "2.5 MB");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(integer(1_234_567), "1,234,567");
        assert_eq!(duration(1), "1 second");
        assert_eq!(duration(61), "2 minutes");

        set_language(Language::Ru);
        assert_eq!(bytes(2_500_000), "2,5 МБ");
        assert_eq!(integer(1_234_567), "1\u{a0}234\u{a0}567");
        assert_eq!(duration(1), "1 секунда");
        assert_eq!(duration(5), "5 секунд");
        assert_eq!(duration(130), "3 минуты");
        set_language(Language::En);
    }

    #[test]
    fn the_catalogues_plural_rules_pick_the_forms_their_languages_use() {
        // The plural rule is the catalogue's own Plural-Forms expression; this checks the
        // gettext crate reads each the way GNU gettext does (its parser needs the ternary's
        // conditions in parentheses, as the catalogues write them).
        set_language(Language::Ru);
        for n in 0..300u64 {
            let form = if n % 10 == 1 && n % 100 != 11 {
                "секунда"
            } else if (2..=4).contains(&(n % 10)) && !(12..=14).contains(&(n % 100)) {
                "секунды"
            } else {
                "секунд"
            };
            assert_eq!(
                crate::trn!("{n} second", "{n} seconds", n),
                format!("{} {form}", integer(n)),
                "n = {n}"
            );
        }
        set_language(Language::De);
        assert_eq!(crate::trn!("{n} second", "{n} seconds", 1), "1 Sekunde");
        assert_eq!(crate::trn!("{n} second", "{n} seconds", 0), "0 Sekunden");
        assert_eq!(crate::trn!("{n} second", "{n} seconds", 21), "21 Sekunden");
        set_language(Language::En);
    }
}
