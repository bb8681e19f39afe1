//! Escaping of untrusted text before it reaches a terminal.
//!
//! Command lines, process names, file names and log fields come from attackers. Control
//! characters could move the cursor, rewrite earlier lines or change the terminal's title,
//! and Unicode bidirectional overrides can make `evil.exe` read as something else. Every
//! string shown on a terminal passes through [`terminal`].

use std::borrow::Cow;
use std::fmt::Write;

/// Escapes control characters, bidirectional controls and other invisible format
/// characters as `\xNN` or `\u{NNNN}`. Printable text, including non-ASCII letters and
/// backslashes, is left alone: Windows paths and `DOMAIN\user` must stay readable, and a
/// literal `\x1b` typed by an attacker is harmless text.
pub(crate) fn terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            let code = u32::from(c);
            if code < 0x80 {
                let _ = write!(out, "\\x{code:02x}");
            } else {
                let _ = write!(out, "\\u{{{code:04x}}}");
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control() || is_invisible_format(c)
}

/// Bidirectional controls (U+202A..U+202E, U+2066..U+2069, U+200E/U+200F, U+061C) and
/// zero-width characters that change how text reads without being seen.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{061c}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{feff}'
    )
}

#[cfg(test)]
mod tests {
    use super::terminal;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(
            terminal("netstat -ano"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(terminal("café"), "café");
    }

    #[test]
    fn control_and_bidi_characters_are_escaped() {
        assert_eq!(terminal("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(terminal("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(terminal("tab\there\n"), "tab\\x09here\\x0a");
        assert_eq!(terminal("C:\\Windows"), "C:\\Windows");
    }
}
