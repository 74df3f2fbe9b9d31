//! The paths a FAT volume's files will have, checked before anything is
//! written. fatfs opens an existing entry when asked to create one, so two
//! sources that map to one entry (the same `dest`, names that differ only in
//! case, or a long name against the short alias FAT gives another) would
//! silently keep one file; and a name FAT refuses would fail the build after
//! the base is half made. [`check`] walks the sources as the base builder
//! will (directories in name order) and reports the first such file of each
//! entry. Sources must be regular files or directories: a device or FIFO
//! would block the build forever.

use crate::recipe::FatFile;
use std::collections::HashMap;
use std::path::Path;

/// Characters no FAT long name may hold (besides control characters).
const REFUSED: &[char] = &['"', '*', '/', ':', '<', '>', '?', '\\', '|'];

/// Characters a short (8.3) name may not hold beyond [`REFUSED`].
const NOT_SHORT: &[char] = &['+', ',', ';', '=', '[', ']', ' ', '.'];

/// A broken rule: which entry of the volume's `files` list, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameProblem {
    /// Index into the `files` list.
    pub file: usize,
    /// `source` or `dest`: the field the rule is about.
    pub field: &'static str,
    /// The rule, in words.
    pub rule: String,
}

/// What one directory of the volume holds so far: upper-cased names and
/// short aliases, each with the volume path that took it.
#[derive(Default)]
struct Dir {
    names: HashMap<String, String>,
}

/// Checks every path the volume will hold.
pub fn check(files: &[FatFile]) -> Vec<NameProblem> {
    let mut dirs: HashMap<String, Dir> = HashMap::new();
    let mut problems = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let mut ctx = Walk {
            file: i,
            dirs: &mut dirs,
            problems: &mut problems,
        };
        if f.dest.is_empty() && !f.source.is_dir() {
            ctx.problem(
                "dest",
                "names no file: give the file's path in the volume".into(),
            );
            continue;
        }
        ctx.walk(&f.source, &f.dest);
    }
    problems
}

struct Walk<'a> {
    file: usize,
    dirs: &'a mut HashMap<String, Dir>,
    problems: &'a mut Vec<NameProblem>,
}

impl Walk<'_> {
    fn problem(&mut self, field: &'static str, rule: String) {
        self.problems.push(NameProblem {
            file: self.file,
            field,
            rule,
        });
    }

    fn walk(&mut self, source: &Path, dest: &str) {
        let meta = match std::fs::metadata(source) {
            Ok(m) => m,
            // A missing source is reported by the recipe loader.
            Err(_) => return,
        };
        if !meta.is_dir() && !meta.is_file() {
            self.problem(
                "source",
                format!(
                    "`{}` is neither a regular file nor a directory",
                    source.display()
                ),
            );
            return;
        }
        if !dest.is_empty() && !self.enter(dest, meta.is_dir()) {
            return;
        }
        if meta.is_dir() {
            let mut entries: Vec<_> = match std::fs::read_dir(source) {
                Ok(rd) => rd.filter_map(|e| e.ok()).collect(),
                Err(_) => return,
            };
            entries.sort_by_key(|e| e.file_name());
            for e in entries {
                let Some(name) = e.file_name().to_str().map(str::to_owned) else {
                    self.problem(
                        "source",
                        format!("{}: file name is not UTF-8", e.path().display()),
                    );
                    continue;
                };
                let child = if dest.is_empty() {
                    name
                } else {
                    format!("{dest}/{name}")
                };
                self.walk(&e.path(), &child);
            }
        }
    }

    /// Records `path` (and its parent directories); false when it breaks a
    /// rule, reported here.
    fn enter(&mut self, path: &str, is_dir: bool) -> bool {
        let comps: Vec<&str> = path.split('/').collect();
        let mut parent = String::new();
        for (k, comp) in comps.iter().enumerate() {
            if let Err(rule) = check_component(comp) {
                self.problem("dest", format!("`{}`: {rule}", path.escape_debug()));
                return false;
            }
            let here = if parent.is_empty() {
                (*comp).to_owned()
            } else {
                format!("{parent}/{comp}")
            };
            let last = k + 1 == comps.len();
            let dir = self.dirs.entry(parent.to_uppercase()).or_default();
            let upper = comp.to_uppercase();
            let keys = [Some(upper.clone()), short_alias(comp)];
            for key in keys.into_iter().flatten() {
                match dir.names.get(&key) {
                    // The same directory reached again (a parent of two
                    // files) is fine; anything else is one entry for two.
                    Some(other) if other == &here && !last => {}
                    Some(other) if other == &here && is_dir => {}
                    Some(other) => {
                        let rule = if other == &here {
                            format!("`{here}` is given twice")
                        } else {
                            format!(
                                "`{here}` and `{other}` would be one FAT entry (FAT names ignore case, and a long name has a short alias)"
                            )
                        };
                        self.problem("dest", rule);
                        return false;
                    }
                    None => {
                        dir.names.insert(key, here.clone());
                    }
                }
            }
            parent = here;
        }
        true
    }
}

/// One path component: 1–255 UTF-16 units, no character FAT refuses, not
/// ending in a dot or a space (Windows drops those).
fn check_component(comp: &str) -> Result<(), String> {
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

/// The first short alias FAT gives a long name (`BASIS~1.EXT`), or the name
/// itself upper-cased when it is a valid 8.3 name (no alias then).
fn short_alias(name: &str) -> Option<String> {
    let upper = name.to_uppercase();
    let (base, ext) = match upper.rsplit_once('.') {
        Some((b, e)) if !b.is_empty() => (b.to_owned(), e.to_owned()),
        _ => (upper.clone(), String::new()),
    };
    let is_short_char = |c: char| c.is_ascii() && !NOT_SHORT.contains(&c) && !c.is_control();
    let fits = !base.is_empty()
        && base.len() <= 8
        && ext.len() <= 3
        && base.chars().all(is_short_char)
        && ext.chars().all(is_short_char)
        && upper == name.to_ascii_uppercase()
        && name.chars().all(|c| !c.is_ascii_lowercase());
    if fits {
        return None;
    }
    let clean = |s: &str, n: usize| -> String {
        s.chars()
            .filter(|c| *c != ' ' && *c != '.')
            .map(|c| if is_short_char(c) { c } else { '_' })
            .take(n)
            .collect()
    };
    let basis = clean(&base, 6);
    let ext = clean(&ext, 3);
    if ext.is_empty() {
        Some(format!("{basis}~1"))
    } else {
        Some(format!("{basis}~1.{ext}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn file(dir: &Path, name: &str, dest: &str) -> FatFile {
        let source = dir.join(name);
        std::fs::write(&source, name).expect("write");
        FatFile {
            source,
            dest: dest.into(),
        }
    }

    #[test]
    fn one_entry_for_two_sources_is_refused() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path();
        for (a, b) in [
            ("x.txt", "x.txt"),
            ("readme.txt", "README.TXT"),
            ("longfilename.txt", "LONGFI~1.TXT"),
            ("a/b.txt", "A/B.TXT"),
        ] {
            let files = [file(p, "one", a), file(p, "two", b)];
            let got = check(&files);
            assert_eq!(got.len(), 1, "{a} {b}: {got:?}");
            assert_eq!(got[0].file, 1);
        }
        let files = [file(p, "one", "a/x.txt"), file(p, "two", "a/y.txt")];
        assert!(check(&files).is_empty());
    }

    #[test]
    fn names_fat_refuses_and_sources_that_block() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path();
        let long = "n".repeat(300);
        for dest in ["", "a?b", "x\u{1}y", long.as_str(), "dir/", "trailing."] {
            let files = [file(p, "one", dest)];
            assert_eq!(check(&files).len(), 1, "{dest:?}");
        }
        let zero = [FatFile {
            source: PathBuf::from("/dev/zero"),
            dest: "zero".into(),
        }];
        let got = check(&zero);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].field, "source");
    }
}
