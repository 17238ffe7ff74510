//! What a test needs to check a language: its catalogue, and English where none should be.

/// A language's catalogue, as the program reads it: msgid to translation.
pub fn catalogue(code: &str) -> std::collections::HashMap<String, String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("ui/translations/{code}/LC_MESSAGES/ksn-setup.po"));
    let file = rspolib::pofile(path.to_str().unwrap()).unwrap();
    file.entries
        .iter()
        .filter_map(|e| {
            let text = e
                .msgstr
                .clone()
                .or_else(|| e.msgstr_plural.first().cloned())?;
            Some((e.msgid.clone(), text))
        })
        .collect()
}

/// English words no Russian or German sentence uses: one of them on the terminal is an
/// untranslated sentence.
pub const ENGLISH: &[&str] = &[
    "the", "and", "of", "you", "your", "is", "are", "this", "not", "with", "please", "has", "been",
    "here", "there", "which", "when", "into", "press", "type", "choose", "folder", "cancel",
    "agree", "accept", "read", "back", "more", "yes",
];

/// Every place the terminal shows an English word, with its line. Product names, paths and
/// the language menu are not sentences and are left out.
pub fn english_on(transcript: &str, dir: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in transcript.lines() {
        let line = line
            .replace(dir, "")
            .replace("ksn-setup ksn agree", "")
            .replace("ksn-setup ksn decline", "")
            .replace("Kaspersky Security Network", "")
            .replace("KSN Demo Security", "")
            .replace("Demo Vendor", "")
            .replace("English", "");
        // Paths and command-line options are names, not sentences.
        let line: Vec<&str> = line
            .split_whitespace()
            .filter(|w| !w.contains('/') && !w.starts_with("--"))
            .collect();
        let line = line.join(" ");
        let words: Vec<String> = line
            .split(|c: char| !c.is_alphabetic())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        if let Some(word) = words.iter().find(|w| ENGLISH.contains(&w.as_str())) {
            found.push(format!("{word:?} in {line:?}"));
        }
    }
    found
}
