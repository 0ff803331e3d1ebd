//! Making identity-provider data safe to print: user and team names come from whoever
//! administers the IdP, so control characters (which could move the cursor or recolor the
//! terminal) are shown escaped, and long names are cut to the column they get.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Bidirectional overrides and isolates: printed raw they reorder what follows on the line,
/// which can make one name look like another.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every control character escaped: C0 controls in caret notation (`^@`, `^[`,
/// `^J`), DEL as `^?`, C1 controls and bidi overrides as `\u{..}`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0'..='\u{1f}' => {
                out.push('^');
                out.push(char::from(b'@' + c as u8));
            }
            '\u{7f}' => out.push_str("^?"),
            c if ('\u{80}'..='\u{9f}').contains(&c) || is_bidi_control(c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// `s` escaped and cut to at most `width` terminal columns, ending in `…` when cut.
pub fn clip(s: &str, width: usize) -> String {
    let escaped = escape(s);
    if escaped.width() <= width {
        return escaped;
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in escaped.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        let rows = [
            ("ann", "ann"),
            ("a\0b", "a^@b"),
            ("line\nbreak", "line^Jbreak"),
            ("\u{1b}[31mred", "^[[31mred"),
            ("tab\there", "tab^Ihere"),
            ("del\u{7f}", "del^?"),
            ("c1\u{9b}31m", "c1\\u{9b}31m"),
            ("evil\u{202e}gpj.exe", "evil\\u{202e}gpj.exe"),
            ("Zoë 山田", "Zoë 山田"),
        ];
        for (input, want) in rows {
            assert_eq!(escape(input), want, "{input:?}");
        }
    }

    #[test]
    fn clip_counts_columns_and_marks_the_cut() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("exactly10!", 10), "exactly10!");
        assert_eq!(clip("much-too-long-name", 8), "much-to…");
        // Wide characters take two columns each.
        assert_eq!(clip("山田太郎さん", 5), "山田…");
        assert_eq!(clip("a\nb", 2), "a…");
        assert_eq!(clip("anything", 0), "");
        assert_eq!(clip("ab", 1), "…");
    }
}
