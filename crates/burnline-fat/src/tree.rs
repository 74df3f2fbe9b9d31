//! What a FAT volume will hold, directory by directory: the tree the
//! recipe's `files` make, walked once, in the order the volume is written
//! (each `files` entry in turn, directories in name order, so the volume is
//! the same whatever order the host lists them in). `check` walks it to find
//! every broken rule before anything is written ([`Tree::walk`] collects
//! them, naming the `files` entry and field); the layout measures it
//! ([`Tree::needs`]: clusters, root entries, the fullest directory); and the
//! base's FAT writer lays out exactly this tree.
//!
//! The rules: every path component is one FAT accepts
//! ([`names::check_component`]); two sources never map to one entry (the
//! same path twice, names that differ only in case, a file where a directory
//! must be); sources are regular files (at most 4 GiB - 1 bytes, FAT's
//! limit) or directories, never a device or FIFO that would block the build;
//! and a directory that contains itself (a symbolic link loop) is refused.
//! Two directories given for one destination are merged.

use crate::names;
use crate::spec::FatFile;
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The largest file FAT holds.
pub const MAX_FILE: u64 = u32::MAX as u64;

/// A broken rule: which entry of the volume's `files` list, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    /// Index into the `files` list.
    pub file: usize,
    /// `source` or `dest`: the field the rule is about.
    pub field: &'static str,
    /// The rule, in words.
    pub rule: String,
}

/// Where a file's bytes come from.
#[derive(Debug)]
pub enum Data<'a> {
    /// A host file, and its length when the tree was walked.
    Host {
        /// The file.
        path: PathBuf,
        /// Its length.
        len: u64,
    },
    /// Bytes in memory (the credentials file).
    Bytes(&'a [u8]),
}

impl Data<'_> {
    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        match self {
            Data::Host { len, .. } => *len,
            Data::Bytes(b) => b.len() as u64,
        }
    }
}

/// An entry of a directory.
#[derive(Debug)]
pub enum Kind<'a> {
    /// A subdirectory: its index in [`Tree::dirs`].
    Dir(usize),
    /// A file.
    File(Data<'a>),
}

/// One named entry.
#[derive(Debug)]
pub struct Entry<'a> {
    /// Its (long) name.
    pub name: String,
    /// What it is.
    pub kind: Kind<'a>,
}

/// One directory.
#[derive(Debug, Default)]
pub struct Dir<'a> {
    /// Its path in the volume, `/`-separated, empty for the root.
    pub path: String,
    /// Its parent's index (the root's is 0).
    pub parent: usize,
    /// Its entries, in the order they were added.
    pub entries: Vec<Entry<'a>>,
    /// Upper-cased name → index in `entries`.
    by_name: HashMap<String, usize>,
}

impl Dir<'_> {
    fn child_path(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.path)
        }
    }

    /// Directory entries (32 bytes each) it takes: `.` and `..` (the root
    /// has the volume label instead) and each entry's slots.
    pub fn slots(&self, is_root: bool) -> u64 {
        let own = if is_root { 1 } else { 2 };
        own + self
            .entries
            .iter()
            .map(|e| names::slots(&e.name))
            .sum::<u64>()
    }
}

/// What laying out a tree takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needs {
    /// Data clusters: file contents and directories (with FAT32's root,
    /// which lives in clusters too).
    pub clusters: u64,
    /// Entries of the root directory.
    pub root_entries: u64,
    /// The directory with the most entries, and how many.
    pub fullest: (String, u64),
}

/// A volume's directory tree; `dirs[0]` is the root.
#[derive(Debug)]
pub struct Tree<'a> {
    dirs: Vec<Dir<'a>>,
}

impl Default for Tree<'_> {
    fn default() -> Self {
        Tree {
            dirs: vec![Dir::default()],
        }
    }
}

impl<'a> Tree<'a> {
    /// The directories; `[0]` is the root.
    pub fn dirs(&self) -> &[Dir<'a>] {
        &self.dirs
    }

    /// Walks `files` into a tree, collecting every broken rule. Entries
    /// that break one are left out; the rest is what the volume holds.
    pub fn walk(files: &[FatFile]) -> (Tree<'static>, Vec<FileProblem>) {
        let mut w = Walk {
            tree: Tree::default(),
            file: 0,
            problems: Vec::new(),
            ancestors: Vec::new(),
        };
        for (i, f) in files.iter().enumerate() {
            w.file = i;
            // A source that cannot be read is reported by the recipe loader.
            let Ok(meta) = std::fs::metadata(&f.source) else {
                continue;
            };
            if f.dest.is_empty() && !meta.is_dir() {
                w.problem(
                    "dest",
                    "names no file: give the file's path in the volume".into(),
                );
                continue;
            }
            w.walk(&f.source, &meta, &f.dest);
        }
        (w.tree, w.problems)
    }

    /// Adds a file of `bytes` at `path` (`/`-separated, no leading `/`),
    /// with its parent directories.
    pub fn add_bytes(&mut self, path: &str, bytes: &'a [u8]) -> Result<(), String> {
        let (parent, name) = match path.rsplit_once('/') {
            Some((p, n)) => (Some(p), n),
            None => (None, path),
        };
        let dir = match parent {
            Some(p) => self.make_dirs(p)?,
            None => 0,
        };
        self.add_file(dir, name, Data::Bytes(bytes))
    }

    /// The directory at `path`, made with its parents where missing.
    fn make_dirs(&mut self, path: &str) -> Result<usize, String> {
        let mut dir = 0;
        for comp in path.split('/') {
            names::check_component(comp)
                .map_err(|rule| format!("`{}`: {rule}", path.escape_debug()))?;
            let here = self.dirs[dir].child_path(comp);
            let found = self.dirs[dir].by_name.get(&comp.to_uppercase()).copied();
            dir = match found {
                None => {
                    let child = self.dirs.len();
                    self.dirs.push(Dir {
                        path: here,
                        parent: dir,
                        ..Dir::default()
                    });
                    self.push(dir, comp, Kind::Dir(child));
                    child
                }
                Some(at) => {
                    let e = &self.dirs[dir].entries[at];
                    match e.kind {
                        Kind::Dir(child) if e.name == comp => child,
                        Kind::Dir(_) => return Err(self.one_entry(dir, at, &here)),
                        Kind::File(_) => {
                            return Err(format!("`{here}` is both a file and a directory"))
                        }
                    }
                }
            };
        }
        Ok(dir)
    }

    /// Adds file `name` to directory `dir`.
    fn add_file(&mut self, dir: usize, name: &str, data: Data<'a>) -> Result<(), String> {
        let here = self.dirs[dir].child_path(name);
        names::check_component(name)
            .map_err(|rule| format!("`{}`: {rule}", here.escape_debug()))?;
        if let Some(&at) = self.dirs[dir].by_name.get(&name.to_uppercase()) {
            let e = &self.dirs[dir].entries[at];
            return Err(match e.kind {
                Kind::File(_) if e.name == name => format!("`{here}` is given twice"),
                Kind::Dir(_) if e.name == name => {
                    format!("`{here}` is both a file and a directory")
                }
                _ => self.one_entry(dir, at, &here),
            });
        }
        self.push(dir, name, Kind::File(data));
        Ok(())
    }

    fn one_entry(&self, dir: usize, at: usize, here: &str) -> String {
        let other = self.dirs[dir].child_path(&self.dirs[dir].entries[at].name);
        format!("`{here}` and `{other}` would be one FAT entry (FAT names ignore case)")
    }

    fn push(&mut self, dir: usize, name: &str, kind: Kind<'a>) {
        let d = &mut self.dirs[dir];
        d.by_name.insert(name.to_uppercase(), d.entries.len());
        d.entries.push(Entry {
            name: name.to_owned(),
            kind,
        });
    }

    /// What laying the tree out takes with clusters of `cluster` bytes; the
    /// root takes clusters only on FAT32 (`root_in_clusters`).
    pub fn needs(&self, cluster: u64, root_in_clusters: bool) -> Needs {
        let mut clusters = 0;
        let mut fullest = (String::new(), 0);
        let mut root_entries = 0;
        for (i, d) in self.dirs.iter().enumerate() {
            let slots = d.slots(i == 0);
            if i == 0 {
                root_entries = slots;
            }
            if i != 0 || root_in_clusters {
                clusters += (slots * 32).div_ceil(cluster);
            }
            if slots > fullest.1 {
                fullest = (d.path.clone(), slots);
            }
            for e in &d.entries {
                if let Kind::File(data) = &e.kind {
                    clusters += data.size().div_ceil(cluster);
                }
            }
        }
        Needs {
            clusters,
            root_entries,
            fullest,
        }
    }
}

/// One walk of the sources.
struct Walk {
    tree: Tree<'static>,
    file: usize,
    problems: Vec<FileProblem>,
    /// (device, inode) of the source directories being walked, to find loops.
    ancestors: Vec<(u64, u64)>,
}

impl Walk {
    fn problem(&mut self, field: &'static str, rule: String) {
        self.problems.push(FileProblem {
            file: self.file,
            field,
            rule,
        });
    }

    fn walk(&mut self, source: &Path, meta: &std::fs::Metadata, dest: &str) {
        if meta.is_file() {
            if meta.len() > MAX_FILE {
                self.problem(
                    "source",
                    format!(
                        "`{}` is {} bytes, and a FAT file holds at most {MAX_FILE}",
                        source.display(),
                        meta.len()
                    ),
                );
                return;
            }
            let (dir, name) = match dest.rsplit_once('/') {
                Some((parent, name)) => match self.tree.make_dirs(parent) {
                    Ok(dir) => (dir, name),
                    Err(rule) => return self.problem("dest", rule),
                },
                None => (0, dest),
            };
            let data = Data::Host {
                path: source.to_path_buf(),
                len: meta.len(),
            };
            if let Err(rule) = self.tree.add_file(dir, name, data) {
                self.problem("dest", rule);
            }
            return;
        }
        if !meta.is_dir() {
            return self.problem(
                "source",
                format!(
                    "`{}` is neither a regular file nor a directory",
                    source.display()
                ),
            );
        }
        let id = (meta.dev(), meta.ino());
        if self.ancestors.contains(&id) {
            return self.problem(
                "source",
                format!(
                    "`{}` contains itself (a symbolic link loop)",
                    source.display()
                ),
            );
        }
        if !dest.is_empty() {
            if let Err(rule) = self.tree.make_dirs(dest) {
                return self.problem("dest", rule);
            }
        }
        let mut entries: Vec<_> = match std::fs::read_dir(source).and_then(|rd| rd.collect()) {
            Ok(v) => v,
            Err(e) => {
                return self.problem("source", format!("cannot read `{}`: {e}", source.display()))
            }
        };
        entries.sort_by_key(|e: &std::fs::DirEntry| e.file_name());
        self.ancestors.push(id);
        for e in entries {
            let path = e.path();
            let Some(name) = e.file_name().to_str().map(str::to_owned) else {
                self.problem(
                    "source",
                    format!("{}: file name is not UTF-8", path.display()),
                );
                continue;
            };
            let meta = match std::fs::metadata(&path) {
                Ok(m) => m,
                Err(err) => {
                    self.problem("source", format!("cannot read `{}`: {err}", path.display()));
                    continue;
                }
            };
            let child = if dest.is_empty() {
                name
            } else {
                format!("{dest}/{name}")
            };
            self.walk(&path, &meta, &child);
        }
        self.ancestors.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            ("a/b.txt", "A/B.TXT"),
            ("a", "a/b"),
            ("a/b", "a"),
        ] {
            let files = [file(p, "one", a), file(p, "two", b)];
            let (_, got) = Tree::walk(&files);
            assert_eq!(got.len(), 1, "{a} {b}: {got:?}");
            assert_eq!(got[0].file, 1);
            assert_eq!(got[0].field, "dest");
        }
        // Different names, the same directory, names whose aliases start
        // alike, and a name that looks like another's alias: all fine.
        for (a, b) in [
            ("a/x.txt", "a/y.txt"),
            ("file_0001.txt", "file_0002.txt"),
            ("longfilename.txt", "LONGFI~1.TXT"),
        ] {
            let files = [file(p, "one", a), file(p, "two", b)];
            let (tree, got) = Tree::walk(&files);
            assert!(got.is_empty(), "{a} {b}: {got:?}");
            let names = tree.dirs().iter().map(|d| d.entries.len()).sum::<usize>();
            assert_eq!(names, if a.starts_with("a/") { 3 } else { 2 });
        }
    }

    #[test]
    fn names_fat_refuses_and_sources_that_block() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path();
        let long = "n".repeat(300);
        for dest in ["", "a?b", "x\u{1}y", long.as_str(), "dir/", "trailing."] {
            let files = [file(p, "one", dest)];
            assert_eq!(Tree::walk(&files).1.len(), 1, "{dest:?}");
        }
        let zero = [FatFile {
            source: PathBuf::from("/dev/zero"),
            dest: "zero".into(),
        }];
        let (_, got) = Tree::walk(&zero);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].field, "source");
    }

    #[test]
    fn a_symbolic_link_loop_is_refused() {
        let d = tempfile::tempdir().expect("tempdir");
        let src = d.path().join("src");
        std::fs::create_dir_all(src.join("sub")).expect("mkdir");
        std::fs::write(src.join("sub/f"), "x").expect("write");
        std::os::unix::fs::symlink("..", src.join("sub/up")).expect("symlink");
        let files = [FatFile {
            source: src,
            dest: "d".into(),
        }];
        let (tree, got) = Tree::walk(&files);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].rule.contains("symbolic link loop"), "{got:?}");
        // d, d/sub, d/sub/f.
        assert_eq!(tree.dirs().len(), 3);
    }

    #[test]
    fn the_walk_is_in_name_order_and_merges_directories() {
        let d = tempfile::tempdir().expect("tempdir");
        let src = d.path().join("src");
        std::fs::create_dir_all(src.join("b")).expect("mkdir");
        for f in ["c", "a", "b/z"] {
            std::fs::write(src.join(f), f).expect("write");
        }
        let files = [
            FatFile {
                source: src.clone(),
                dest: String::new(),
            },
            FatFile {
                source: src.join("c"),
                dest: "b/Copy.txt".into(),
            },
        ];
        let (tree, got) = Tree::walk(&files);
        assert!(got.is_empty(), "{got:?}");
        let names = |i: usize| -> Vec<&str> {
            tree.dirs()[i]
                .entries
                .iter()
                .map(|e| e.name.as_str())
                .collect()
        };
        assert_eq!(names(0), ["a", "b", "c"]);
        assert_eq!(names(1), ["z", "Copy.txt"]);
        assert_eq!(tree.dirs()[1].path, "b");
        // Root: label, a, b, c; b: `.`, `..`, z, Copy.txt (mixed case: a
        // long-name slot besides its short entry).
        let n = tree.needs(512, false);
        assert_eq!(n.root_entries, 4);
        assert_eq!(n.fullest, ("b".into(), 5));
        // Three one-byte files, one for b/Copy.txt, one cluster for b.
        assert_eq!(n.clusters, 5);
        assert_eq!(tree.needs(512, true).clusters, 6);
    }
}
