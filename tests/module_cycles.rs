//! Imports run one way between files: a scan of every `.rs` file of `src/`
//! and `crates/*/src` for the module paths it names (`use` lines, with their
//! `{…}` groups, and `crate::…`, `super::…`, `self::…` paths in code) finds
//! the file each path lands in, and fails on any cycle among files that is
//! not in [`ALLOWED`], printing one such cycle. Paths into another of the
//! workspace's crates (`burnline_image::…`) are followed into it, and the
//! same graph taken module by module (each crate's top-level modules) has no
//! cycle at all: no module imports a module that imports it back, directly
//! or through others. Comments and `#[cfg(test)]` modules are not imports
//! and are skipped. Also: the output writers (`burnline-image`'s `output/`
//! and `delta/`, but `output/names.rs`, the names the job computes once)
//! import nothing from `job/` or `file_name.rs`, and every
//! `file.rs::function` that docs/device-walk.md names is a function of that
//! file (in whichever crate holds it).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

/// File-level cycles that still exist, each named; a cycle among files is
/// allowed only if all its files are in one entry. Remove an entry when its
/// cycle is gone.
const ALLOWED: &[(&str, &[&str])] = &[];

/// One source file: its path from the repository root, and its module path
/// inside its crate (`src/a/b.rs` and `src/a/b/mod.rs` are `a::b`).
struct SourceFile {
    rel: String,
    module: Vec<String>,
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for e in entries {
        let path = e.expect("directory entry").path();
        if path.is_dir() {
            rs_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// Every crate's `src` directory with its files.
fn crates(root: &Path) -> Vec<Vec<SourceFile>> {
    let mut srcs = vec![root.join("src")];
    let mut members: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .expect("crates/")
        .map(|e| e.expect("entry").path().join("src"))
        .filter(|p| p.is_dir())
        .collect();
    members.sort();
    srcs.extend(members);
    srcs.iter()
        .map(|src| {
            let mut files = Vec::new();
            rs_files(src, &mut files);
            files.sort();
            files
                .into_iter()
                .map(|f| {
                    let inner = f.strip_prefix(src).expect("under src");
                    let mut module: Vec<String> = inner
                        .with_extension("")
                        .iter()
                        .map(|c| c.to_string_lossy().into_owned())
                        .collect();
                    if matches!(
                        module.last().map(String::as_str),
                        Some("mod" | "lib" | "main")
                    ) {
                        module.pop();
                    }
                    SourceFile {
                        rel: f
                            .strip_prefix(root)
                            .expect("under root")
                            .to_string_lossy()
                            .into_owned(),
                        module,
                    }
                })
                .collect()
        })
        .collect()
}

/// The code of a file without comments, string literals' contents or its
/// `#[cfg(test)]` module.
fn code_of(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if text[i..].starts_with("#[cfg(test)]") && text[i + 12..].trim_start().starts_with("mod ")
        {
            break;
        }
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'"' => {
                // A raw string's `#`s were copied already; its content is
                // skipped like any other string's.
                let raw = i > 0 && matches!(b[i - 1], b'r' | b'#');
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' && !raw { 2 } else { 1 };
                }
                i += 1;
                out.push_str("\"\"");
            }
            b'\'' if b.get(i + 2) == Some(&b'\'') || b.get(i + 1) == Some(&b'\\') => {
                // A char literal ('"', '\\', '\''); lifetimes pass through.
                i += 1;
                while i < b.len() && b[i] != b'\'' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            c => {
                out.push(c as char);
                i += 1;
            }
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Expands a use tree such as `a::{b, c::{d, e}}` into its paths.
fn expand(tree: &str) -> Vec<Vec<String>> {
    let segs = |path: &str| -> Vec<String> {
        path.split("::")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        // `a::b as c` names `a::b`.
        return vec![segs(tree.split_whitespace().next().unwrap_or(""))];
    };
    let prefix = segs(&tree[..open]);
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    let mut out = Vec::new();
    for p in parts.into_iter().filter(|p| !p.is_empty()) {
        for tail in expand(p) {
            let mut path = prefix.clone();
            path.extend(tail.into_iter().filter(|s| s != "self"));
            out.push(path);
        }
    }
    if out.is_empty() {
        out.push(prefix);
    }
    out
}

/// Every module path `code` names: its `use` trees and the `crate::`,
/// `super::` and `self::` paths elsewhere.
fn paths_in(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    let mut body = String::new();
    // `use` statements, up to their `;`.
    while let Some(at) = rest.find("use ") {
        let before_ok = rest[..at].chars().next_back().is_none_or(|c| !is_ident(c));
        body.push_str(&rest[..at]);
        if !before_ok {
            body.push_str("use ");
            rest = &rest[at + 4..];
            continue;
        }
        let after = &rest[at + 4..];
        let end = after.find(';').unwrap_or(after.len());
        out.extend(expand(&after[..end]));
        rest = &after[end.min(after.len())..];
    }
    body.push_str(rest);
    // `crate::`, `super::` and `self::` paths in code.
    let chars: Vec<char> = body.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if (i == 0 || !is_ident(chars[i - 1])) && is_ident(chars[i]) {
            let mut segs = Vec::new();
            let mut j = i;
            loop {
                let s = j;
                while j < chars.len() && is_ident(chars[j]) {
                    j += 1;
                }
                segs.push(chars[s..j].iter().collect::<String>());
                if chars.get(j) == Some(&':')
                    && chars.get(j + 1) == Some(&':')
                    && chars.get(j + 2).is_some_and(|&c| is_ident(c))
                {
                    j += 2;
                } else {
                    break;
                }
            }
            if segs.len() > 1
                && (matches!(segs[0].as_str(), "crate" | "super" | "self")
                    || segs[0].starts_with("burnline_"))
            {
                out.push(segs);
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// Every `pub use` tree of `code`, expanded.
fn pub_uses(code: &str) -> Vec<Vec<String>> {
    code.match_indices("pub use ")
        .flat_map(|(at, _)| {
            let after = &code[at + 8..];
            expand(&after[..after.find(';').unwrap_or(after.len())])
        })
        .collect()
}

/// Whether `code` defines an item called `name`.
fn defines(code: &str, name: &str) -> bool {
    [
        "fn", "struct", "enum", "const", "static", "type", "trait", "mod",
    ]
    .iter()
    .any(|kw| {
        code.match_indices(&format!("{kw} {name}")).any(|(at, m)| {
            code[at + m.len()..]
                .chars()
                .next()
                .is_none_or(|c| !is_ident(c))
        })
    })
}

/// One crate's files, by module path, with their code.
struct Crate<'a> {
    by_module: BTreeMap<&'a [String], usize>,
    files: &'a [SourceFile],
    code: Vec<String>,
}

impl Crate<'_> {
    /// `path` as named in file `f`, made absolute (from the crate root);
    /// `None` for a path into another crate.
    fn absolute(&self, f: usize, path: &[String]) -> Option<Vec<String>> {
        let module = &self.files[f].module;
        let first = path.first()?;
        let mut abs: Vec<String> = match first.as_str() {
            "crate" => Vec::new(),
            "self" | "super" => module.clone(),
            _ => {
                // A child module named without `self::` (2018 paths).
                let mut child = module.clone();
                child.push(first.clone());
                if !self.by_module.contains_key(child.as_slice()) {
                    return None;
                }
                module.clone()
            }
        };
        let mut leading = true;
        for s in path.iter().skip_while(|s| *s == "crate" || *s == "self") {
            // `super::x` from `a/b.rs` is `a::x`: the first `super` pops `b`.
            if s == "super" && leading {
                abs.pop();
            } else {
                leading = false;
                abs.push(s.clone());
            }
        }
        Some(abs)
    }

    /// The file an absolute path lands in, following `pub use` re-exports
    /// (`recipe::TableKind` is in `recipe/types.rs`, which `recipe/mod.rs`
    /// re-exports).
    fn file_of(&self, abs: &[String], depth: usize) -> Option<usize> {
        let (k, f) = (1..=abs.len())
            .rev()
            .find_map(|k| Some((k, *self.by_module.get(&abs[..k])?)))?;
        let Some(name) = abs.get(k).filter(|_| depth < 8) else {
            return Some(f);
        };
        let code = &self.code[f];
        for used in pub_uses(code) {
            let glob = used.last().is_some_and(|s| s == "*");
            let named = used.last() == Some(name);
            if !(named || glob && !defines(code, name)) {
                continue;
            }
            let Some(mut target) = self.absolute(f, &used) else {
                continue;
            };
            if glob {
                target.pop();
                target.push(name.clone());
            }
            target.extend(abs[k + 1..].iter().cloned());
            if let Some(t) = self.file_of(&target, depth + 1) {
                return Some(t);
            }
        }
        Some(f)
    }
}

/// The crate name of a `src` directory: `burnline` for the root package's,
/// `burnline_x` for `crates/burnline-x/src`.
fn crate_name(files: &[SourceFile]) -> String {
    files
        .first()
        .map_or_else(String::new, |f| match f.rel.strip_prefix("crates/") {
            Some(rest) => rest.split('/').next().unwrap_or("").replace('-', "_"),
            None => "burnline".to_owned(),
        })
}

/// The file-level import graph of the whole workspace: file → the files it
/// names, in its own crate (`crate::`, `super::`, `self::`, a child module)
/// or in another of the workspace's crates (`burnline_x::…`).
fn graph(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let all = crates(root);
    let built: Vec<(String, Crate)> = all
        .iter()
        .map(|files| {
            let c = Crate {
                by_module: files
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| !f.rel.ends_with("/main.rs"))
                    .map(|(i, f)| (f.module.as_slice(), i))
                    .collect(),
                files,
                code: files
                    .iter()
                    .map(|f| code_of(&std::fs::read_to_string(root.join(&f.rel)).expect("source")))
                    .collect(),
            };
            (crate_name(files), c)
        })
        .collect();
    let mut g = BTreeMap::new();
    for (name, c) in &built {
        for (i, f) in c.files.iter().enumerate() {
            let mut to = BTreeSet::new();
            for path in paths_in(&c.code[i]) {
                let foreign = path
                    .first()
                    .filter(|p| *p != name && p.starts_with("burnline"));
                let target = match foreign {
                    Some(other) => built.iter().find(|(n, _)| n == other).and_then(|(_, o)| {
                        o.file_of(&path[1..], 0).map(|t| o.files[t].rel.clone())
                    }),
                    None => c
                        .absolute(i, &path)
                        .and_then(|abs| c.file_of(&abs, 0))
                        .filter(|&t| t != i)
                        .map(|t| c.files[t].rel.clone()),
                };
                to.extend(target);
            }
            g.insert(f.rel.clone(), to);
        }
    }
    g
}

/// The module-level graph: each crate's top-level modules (`burnline_image::
/// build`), and each crate's root, with the imports of their files.
fn module_graph(g: &BTreeMap<String, BTreeSet<String>>) -> BTreeMap<String, BTreeSet<String>> {
    let module_of = |rel: &str| -> String {
        let (krate, inner) = match rel.strip_prefix("crates/") {
            Some(rest) => {
                let (k, inner) = rest.split_once("/src/").unwrap_or((rest, ""));
                (k.replace('-', "_"), inner.to_owned())
            }
            None => (
                "burnline".to_owned(),
                rel.strip_prefix("src/").unwrap_or(rel).to_owned(),
            ),
        };
        let top = inner
            .split('/')
            .next()
            .unwrap_or("")
            .trim_end_matches(".rs");
        format!("{krate}::{top}")
    };
    let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, to) in g {
        let a = module_of(from);
        let entry = m.entry(a.clone()).or_default();
        for t in to {
            let b = module_of(t);
            if b != a {
                entry.insert(b);
            }
        }
    }
    for targets in m.clone().values() {
        for t in targets {
            m.entry(t.clone()).or_default();
        }
    }
    m
}

/// The strongly connected components with more than one file (Tarjan).
fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    struct T<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let n = t.index.len();
        t.index.insert(v, n);
        t.low.insert(v, n);
        t.stack.push(v);
        t.on.insert(v);
        for w in &t.g[v] {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let l = t.low[w].min(t.low[v]);
                t.low.insert(v, l);
            } else if t.on.contains(w) {
                let l = t.index[w].min(t.low[v]);
                t.low.insert(v, l);
            }
        }
        if t.low[v] == t.index[v] {
            let mut scc = BTreeSet::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                scc.insert(w.to_owned());
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                t.out.push(scc);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

/// One cycle through the first file of `scc`, as `a -> b -> a`.
fn one_cycle(g: &BTreeMap<String, BTreeSet<String>>, scc: &BTreeSet<String>) -> String {
    let start = scc.iter().next().expect("non-empty");
    let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = VecDeque::from([start.as_str()]);
    while let Some(v) = queue.pop_front() {
        for w in g[v].iter().filter(|w| scc.contains(*w)) {
            if w == start {
                let mut path = vec![start.as_str(), v];
                let mut at = v;
                while at != start {
                    at = prev[at];
                    path.push(at);
                }
                path.reverse();
                return path.join(" -> ");
            }
            if !prev.contains_key(w.as_str()) {
                prev.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    unreachable!("a strongly connected component has a cycle")
}

#[test]
fn no_new_file_level_import_cycle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let g = graph(root);
    assert!(
        g["crates/burnline-image/src/build/stage.rs"]
            .contains("crates/burnline-image/src/output/device.rs"),
        "the scan finds `use crate::output::device::…`"
    );
    assert!(
        g["src/commands/build.rs"].contains("crates/burnline-image/src/build/run.rs"),
        "the scan follows `burnline_image::build::run::…` into its crate"
    );
    let found = cycles(&g);
    for scc in &found {
        eprintln!("cycle among {} files: {}", scc.len(), one_cycle(&g, scc));
    }
    let new: Vec<String> = found
        .iter()
        .filter(|scc| {
            !ALLOWED
                .iter()
                .any(|(_, files)| scc.iter().all(|f| files.contains(&f.as_str())))
        })
        .map(|scc| {
            format!(
                "{} (files: {})",
                one_cycle(&g, scc),
                scc.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
    for (name, files) in ALLOWED {
        if !found
            .iter()
            .any(|scc| files.iter().all(|f| scc.contains(*f)))
        {
            eprintln!("allowed cycle `{name}` is gone: take it out of ALLOWED");
        }
    }
    assert!(
        new.is_empty(),
        "new import cycles among files:\n{}",
        new.join("\n")
    );
}

/// Module-level cycles that still exist (none): a cycle among top-level
/// modules is allowed only if all of them are in one entry.
const ALLOWED_MODULES: &[(&str, &[&str])] = &[];

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let m = module_graph(&graph(Path::new(env!("CARGO_MANIFEST_DIR"))));
    assert!(
        m["burnline::commands"].contains("burnline_image::build"),
        "the module graph keeps cross-crate edges: {:?}",
        m["burnline::commands"]
    );
    let new: Vec<String> = cycles(&m)
        .iter()
        .filter(|scc| {
            !ALLOWED_MODULES
                .iter()
                .any(|(_, mods)| scc.iter().all(|x| mods.contains(&x.as_str())))
        })
        .map(|scc| one_cycle(&m, scc))
        .collect();
    assert!(
        new.is_empty(),
        "modules that import each other, directly or through others:\n{}",
        new.join("\n")
    );
}

#[test]
fn the_scan_reads_use_trees_and_skips_comments() {
    assert_eq!(
        expand("crate::io::{atomic, hash::{self, DigestKind}}"),
        [
            vec!["crate", "io", "atomic"],
            vec!["crate", "io", "hash"],
            vec!["crate", "io", "hash", "DigestKind"],
        ]
    );
    let code = code_of("// crate::a::b\nlet s = \"crate::c::d\"; crate::e::f();\n#[cfg(test)]\nmod tests { use crate::g; }");
    assert_eq!(paths_in(&code), [vec!["crate", "e", "f"]]);
}

#[test]
fn the_device_walk_names_functions_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let page = std::fs::read_to_string(root.join("docs/device-walk.md")).expect("the page");
    let named: Vec<&str> = page
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.contains(".rs::"))
        .collect();
    assert!(named.len() >= 20, "the walk names only {named:?}");
    let missing: Vec<&str> = named
        .iter()
        .copied()
        .filter(|name| {
            let (file, function) = name.split_once("::").expect("file::function");
            // `build/run.rs` is in whichever crate's `src/` holds it.
            let code = crates(root)
                .iter()
                .flatten()
                .find(|f| f.rel.ends_with(&format!("src/{file}")))
                .and_then(|f| std::fs::read_to_string(root.join(&f.rel)).ok())
                .unwrap_or_default();
            !code
                .match_indices(&format!("fn {function}"))
                .any(|(at, m)| matches!(code[at + m.len()..].chars().next(), Some('(' | '<')))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "docs/device-walk.md names functions that are not in their file: {missing:?}"
    );
}

#[test]
fn output_writers_never_call_back_into_device_or_identity() {
    let g = graph(Path::new(env!("CARGO_MANIFEST_DIR")));
    let back: Vec<String> = g
        .iter()
        .filter(|(from, _)| {
            // `output/names.rs` is not a writer: it is the naming the job
            // does once, with `file_name.rs`'s sparse names.
            (from.starts_with("crates/burnline-image/src/output/")
                || from.starts_with("crates/burnline-image/src/delta/"))
                && *from != "crates/burnline-image/src/output/names.rs"
        })
        .flat_map(|(from, to)| {
            to.iter()
                .filter(|t| {
                    t.starts_with("crates/burnline-image/src/job/")
                        || *t == "crates/burnline-image/src/file_name.rs"
                })
                .map(move |t| format!("{from} -> {t}"))
        })
        .collect();
    assert!(
        g.keys()
            .any(|f| f.starts_with("crates/burnline-image/src/output/")),
        "the writers are where this test looks"
    );
    assert!(back.is_empty(), "writers calling back: {back:?}");
}
