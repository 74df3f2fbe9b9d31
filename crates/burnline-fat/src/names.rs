//! The names of a FAT volume's entries: which long names FAT accepts
//! ([`check_component`]), and the 8.3 short name every entry also carries.
//!
//! A name that fits 8.3 is its own short name ([`Form::Own`]): upper-cased,
//! with the NT case flags when a part (base or extension) is all lower case,
//! so it needs no long-name slots; only a part of mixed case needs them. Any
//! other name gets an alias ([`Form::Alias`]), made the way Windows and fatfs
//! make them: spaces and leading dots dropped, the extension after the last
//! dot, other characters no short name holds replaced by `_`, upper case;
//! then `BASIS~1` to `BASIS~4` from the first six characters, then two
//! characters, four hex digits of a checksum of the name and `~1` to `~9`,
//! with the next checksum when those are taken ([`Basis::pick`]). An alias
//! must differ from every other short name of its directory, so a directory
//! takes the names that are their own short names first and picks the
//! aliases after them.

use std::collections::HashSet;

/// Characters no FAT long name may hold (besides control characters).
const REFUSED: &[char] = &['"', '*', '/', ':', '<', '>', '?', '\\', '|'];

/// An 8.3 name as a directory entry holds it: 8 + 3 bytes, padded with spaces.
pub type ShortName = [u8; 11];

/// NT case flag: the base of the short name is shown in lower case.
pub const LOWER_BASE: u8 = 0x08;
/// NT case flag: the extension of the short name is shown in lower case.
pub const LOWER_EXT: u8 = 0x10;

/// UTF-16 units one long-name slot holds.
pub const LONG_SLOT_UNITS: usize = 13;

/// One path component: 1–255 UTF-16 units, no character FAT refuses, not
/// ending in a dot or a space (Windows drops those).
pub fn check_component(comp: &str) -> Result<(), String> {
    if comp.is_empty() {
        return Err("has an empty path component".into());
    }
    if comp.encode_utf16().count() > 255 {
        return Err("a FAT name holds at most 255 characters".into());
    }
    if let Some(c) = comp.chars().find(|c| REFUSED.contains(c) || c.is_control()) {
        return Err(format!("FAT names cannot hold {c:?}"));
    }
    if comp.ends_with('.') || comp.ends_with(' ') {
        return Err("a FAT name cannot end with `.` or a space".into());
    }
    Ok(())
}

/// The byte a short name holds for `c` (letters upper-cased), if it can
/// hold `c` at all.
fn short_byte(c: char) -> Option<u8> {
    match c {
        'A'..='Z' | '0'..='9' => Some(c as u8),
        'a'..='z' => Some(c.to_ascii_uppercase() as u8),
        '!' | '#' | '$' | '%' | '&' | '\'' | '(' | ')' | '-' | '@' | '^' | '_' | '`' | '{'
        | '}' | '~' => Some(c as u8),
        _ => None,
    }
}

/// The case of one part of a name that fits 8.3.
#[derive(PartialEq)]
enum Case {
    /// No lower-case letter (upper case, or no letters at all).
    Upper,
    /// Letters, all lower case.
    Lower,
    /// Both: only a long name keeps it.
    Mixed,
}

fn case_of(part: &str) -> Case {
    let lower = part.chars().any(|c| c.is_ascii_lowercase());
    let upper = part.chars().any(|c| c.is_ascii_uppercase());
    match (lower, upper) {
        (true, true) => Case::Mixed,
        (true, false) => Case::Lower,
        _ => Case::Upper,
    }
}

/// How an entry's name is kept in 8.3 form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Form {
    /// The name is its own short name.
    Own {
        /// The short name.
        short: ShortName,
        /// NT case flags ([`LOWER_BASE`], [`LOWER_EXT`]).
        case: u8,
        /// The name also needs long-name slots (a part of mixed case).
        long: bool,
    },
    /// The name needs an alias, and long-name slots.
    Alias(Basis),
}

impl Form {
    /// The form of `name`, a component [`check_component`] accepts.
    pub fn of(name: &str) -> Form {
        let (base, ext) = match name.rfind('.') {
            Some(i) => (&name[..i], Some(&name[i + 1..])),
            None => (name, None),
        };
        let fits = name.chars().all(|c| c == '.' || short_byte(c).is_some())
            && (1..=8).contains(&base.len())
            && !base.contains('.')
            && ext.is_none_or(|e| (1..=3).contains(&e.len()));
        if !fits {
            return Form::Alias(Basis::of(name));
        }
        let ext = ext.unwrap_or("");
        let mut short = [b' '; 11];
        for (o, c) in short[..8].iter_mut().zip(base.chars()) {
            *o = short_byte(c).unwrap_or(b'_');
        }
        for (o, c) in short[8..].iter_mut().zip(ext.chars()) {
            *o = short_byte(c).unwrap_or(b'_');
        }
        let (b, e) = (case_of(base), case_of(ext));
        let long = b == Case::Mixed || e == Case::Mixed;
        let case = if long {
            0
        } else {
            (if b == Case::Lower { LOWER_BASE } else { 0 })
                | (if e == Case::Lower { LOWER_EXT } else { 0 })
        };
        Form::Own { short, case, long }
    }

    /// Whether the name needs long-name slots.
    pub fn needs_long(&self) -> bool {
        match self {
            Form::Own { long, .. } => *long,
            Form::Alias(_) => true,
        }
    }
}

/// Long-name slots `name` takes: one per 13 UTF-16 units.
pub fn long_slots(name: &str) -> u64 {
    name.encode_utf16().count().div_ceil(LONG_SLOT_UNITS) as u64
}

/// Directory entries (32 bytes each) `name` takes: its short entry and, if
/// it needs them, its long-name slots.
pub fn slots(name: &str) -> u64 {
    1 + if Form::of(name).needs_long() {
        long_slots(name)
    } else {
        0
    }
}

/// What an alias is made from: the cleaned name's first characters, its
/// extension, and a checksum of the whole name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Basis {
    base: Vec<u8>,
    ext: Vec<u8>,
    checksum: u16,
}

impl Basis {
    fn of(name: &str) -> Basis {
        let spaceless: String = name.chars().filter(|c| *c != ' ').collect();
        let trimmed = spaceless.trim_start_matches('.');
        let (base, ext) = match trimmed.rfind('.') {
            Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
            None => (trimmed, ""),
        };
        let clean = |s: &str, n: usize| -> Vec<u8> {
            s.chars()
                .filter(|c| *c != '.')
                .map(|c| short_byte(c).unwrap_or(b'_'))
                .take(n)
                .collect()
        };
        // fatfs's BSD checksum, over UTF-16 units.
        let checksum = name
            .encode_utf16()
            .fold(0u16, |sum, u| sum.rotate_right(1).wrapping_add(u));
        Basis {
            base: clean(base, 6),
            ext: clean(ext, 3),
            checksum,
        }
    }

    fn build(&self, stem: &[u8], n: u8) -> ShortName {
        let mut s = [b' '; 11];
        s[..stem.len()].copy_from_slice(stem);
        s[stem.len()] = b'~';
        s[stem.len() + 1] = b'0' + n;
        s[8..8 + self.ext.len()].copy_from_slice(&self.ext);
        s
    }

    /// The first alias not in `taken`; `None` only when every one of the
    /// 589,828 aliases this basis can make is taken (a directory holds at
    /// most 65,536 entries).
    pub fn pick(&self, taken: &HashSet<ShortName>) -> Option<ShortName> {
        let long = &self.base[..self.base.len().min(6)];
        for n in 1..=4 {
            let s = self.build(long, n);
            if !taken.contains(&s) {
                return Some(s);
            }
        }
        let short = &self.base[..self.base.len().min(2)];
        let mut stem = short.to_vec();
        stem.extend_from_slice(&[0; 4]);
        for k in 0..=u16::MAX {
            let sum = self.checksum.wrapping_add(k);
            for (j, o) in stem[short.len()..].iter_mut().enumerate() {
                *o = b"0123456789ABCDEF"[usize::from(sum >> (12 - 4 * j) & 0xF)];
            }
            for n in 1..=9 {
                let s = self.build(&stem, n);
                if !taken.contains(&s) {
                    return Some(s);
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own(name: &str) -> (String, u8, bool) {
        match Form::of(name) {
            Form::Own { short, case, long } => {
                (String::from_utf8_lossy(&short).into_owned(), case, long)
            }
            Form::Alias(_) => panic!("{name} needs an alias"),
        }
    }

    fn alias(name: &str, taken: &HashSet<ShortName>) -> String {
        match Form::of(name) {
            Form::Alias(b) => {
                String::from_utf8_lossy(&b.pick(taken).expect("an alias")).into_owned()
            }
            Form::Own { .. } => panic!("{name} is its own short name"),
        }
    }

    #[test]
    fn names_that_fit_are_their_own_short_names() {
        assert_eq!(own("README.TXT"), ("README  TXT".into(), 0, false));
        assert_eq!(
            own("readme.txt"),
            ("README  TXT".into(), LOWER_BASE | LOWER_EXT, false)
        );
        assert_eq!(own("Makefile"), ("MAKEFILE   ".into(), 0, true));
        assert_eq!(own("boot.BIN"), ("BOOT    BIN".into(), LOWER_BASE, false));
        assert_eq!(own("f0001"), ("F0001      ".into(), LOWER_BASE, false));
        assert_eq!(own("A~1.T"), ("A~1     T  ".into(), 0, false));
        assert!(!Form::of("x.txt").needs_long());
        assert_eq!(slots("x.txt"), 1);
        assert_eq!(slots("Makefile"), 2);
    }

    #[test]
    fn other_names_get_aliases_like_windows() {
        let none = HashSet::new();
        assert_eq!(alias("longfilename.txt", &none), "LONGFI~1TXT");
        assert_eq!(alias(".bashrc", &none), "BASHRC~1   ");
        assert_eq!(alias("a b+c.tar.gz", &none), "AB_CTA~1GZ ");
        assert_eq!(alias("über.json", &none), "_BER~1  JSO");
        assert_eq!(alias("x.html", &none), "X~1     HTM");
        // 27 UTF-16 units: three slots and the short entry.
        assert_eq!(slots("a-name-of-twenty-seven-char"), 4);
    }

    #[test]
    fn taken_aliases_are_skipped_and_the_checksum_form_follows() {
        let mut taken = HashSet::new();
        let mut seen = Vec::new();
        for i in 0..2000 {
            let name = format!("longfilename{i:04}.txt");
            let s = alias(&name, &taken);
            assert!(taken.insert(*<&ShortName>::try_from(s.as_bytes()).expect("11 bytes")));
            seen.push(s);
        }
        assert_eq!(
            &seen[..4],
            ["LONGFI~1TXT", "LONGFI~2TXT", "LONGFI~3TXT", "LONGFI~4TXT"]
        );
        assert!(
            seen[4].starts_with("LO") && seen[4][6..8] == *"~1",
            "{}",
            seen[4]
        );
        assert!(seen[4][2..6].chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn components_fat_refuses() {
        let long = "n".repeat(256);
        for bad in ["", "a?b", "x\u{1}y", long.as_str(), "trailing.", "space "] {
            assert!(check_component(bad).is_err(), "{bad:?}");
        }
        assert!(check_component(&"n".repeat(255)).is_ok());
    }
}
