//! Time stamps as every record carries them.

/// Now, as every record is stamped: RFC 3339 in UTC, to the second.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// An RFC 3339 time stamp as a person reads it: the local time with its zone, the date in
/// the current language's order — `2026-12-02 14:38 CET` in English (ISO 8601, unambiguous
/// for every reader), `02.12.2026 14:38 CET` in Russian and German (the `TZ` variable and
/// `/etc/localtime` decide the zone, as for `date`). A stamp that does not parse is shown as
/// it is.
pub fn local_display(rfc3339: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    let Ok(stamp) = time::OffsetDateTime::parse(rfc3339, &Rfc3339) else {
        return rfc3339.to_string();
    };
    let seconds = stamp.unix_timestamp() as libc::time_t;
    // SAFETY: an all-zero `tm` is a valid value to be overwritten.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: localtime_r writes one `tm` into the struct passed; both outlive the call.
    if unsafe { libc::localtime_r(&seconds, &mut tm) }.is_null() {
        return rfc3339.to_string();
    }
    let zone = if tm.tm_zone.is_null() {
        String::new()
    } else {
        // SAFETY: a non-null tm_zone points at a NUL-terminated name owned by the C library,
        // valid until the time zone changes, which nothing here does.
        unsafe { std::ffi::CStr::from_ptr(tm.tm_zone) }
            .to_string_lossy()
            .into_owned()
    };
    let zone = match zone.as_str() {
        // Zones without a name are shown by their offset, as `date` does.
        "" => {
            let offset = tm.tm_gmtoff;
            format!(
                "UTC{}{:02}:{:02}",
                if offset < 0 { '-' } else { '+' },
                offset.abs() / 3600,
                offset.abs() % 3600 / 60
            )
        }
        name => name.to_string(),
    };
    let (year, month, day) = (tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    let date = match crate::base::i18n::language() {
        crate::base::i18n::Language::En => format!("{year:04}-{month:02}-{day:02}"),
        _ => format!("{day:02}.{month:02}.{year:04}"),
    };
    format!("{date} {:02}:{:02} {zone}", tm.tm_hour, tm.tm_min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_time_with_its_zone() {
        // The tests' time zone is the process's: UTC unless TZ says otherwise, so only the
        // shape is fixed; the zone name and the digits come from the C library.
        let shown = local_display("2026-11-23T14:04:05Z");
        assert!(shown.starts_with("2026-11-2"), "{shown}");
        assert!(
            shown.len() > "2026-11-23 14:04 ".len(),
            "a zone follows: {shown}"
        );
        assert_eq!(local_display("garbled"), "garbled");
        crate::base::i18n::set_language(crate::base::i18n::Language::De);
        let shown = local_display("2026-11-23T14:04:05Z");
        assert!(shown.contains(".11.2026 "), "day first in German: {shown}");
    }
}
