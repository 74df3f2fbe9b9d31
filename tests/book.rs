//! The book in docs/ (mdbook) and the README's links: `mdbook build` of
//! docs/ succeeds without an error or a warning, every page of docs/ is in
//! its SUMMARY.md, the anchors these tests compute are the ones mdbook
//! gives the headings, and every relative link and `#anchor` in README.md
//! and docs/**/*.md points at a file and a heading that exist. mdbook is
//! the pinned one scripts/test.sh installs into target/tools.

mod common;

use common::markdown::{anchors, links, pages, read_page};
use common::{repo_root, s, Test};
use std::path::{Component, Path, PathBuf};

/// The mdbook scripts/test.sh installs (`cargo install mdbook --root
/// target/tools`, the version pinned there).
fn mdbook() -> PathBuf {
    let bin = repo_root().join("target/tools/bin/mdbook");
    assert!(
        bin.is_file(),
        "{} is missing: scripts/test.sh installs it (cargo install mdbook --locked --version … --root target/tools)",
        bin.display()
    );
    bin
}

/// `path` with `.` and `..` taken out, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[test]
fn the_book_builds_without_an_error_or_a_warning() {
    let t = Test::new();
    let dest = t.path().join("book");
    let o = t
        .cmd()
        .program(mdbook())
        .args([
            "build",
            s(&repo_root().join("docs")),
            "--dest-dir",
            s(&dest),
        ])
        .env("RUST_LOG", "warn")
        .run();
    let log = o.text();
    for word in ["WARN", "ERROR", "warning", "error"] {
        assert!(!log.contains(word), "mdbook said {word}:\n{log}");
    }
    // Every chapter became a page, and mdbook's heading ids are the anchors
    // the link check below computes.
    let summary = read_page("docs/SUMMARY.md");
    let mut chapters = 0;
    for link in links(&summary) {
        let page = format!("docs/{}", link.target);
        let html = dest.join(Path::new(&link.target).with_extension("html"));
        let html = std::fs::read_to_string(&html)
            .unwrap_or_else(|e| panic!("{}: not built: {e}", html.display()));
        if page.starts_with("docs/vendor/") {
            continue;
        }
        chapters += 1;
        for anchor in anchors(&read_page(&page)) {
            assert!(
                html.contains(&format!(" id=\"{anchor}\"")),
                "{page}: mdbook gives no heading the id {anchor}"
            );
        }
    }
    assert!(chapters >= 20, "{chapters} chapters in SUMMARY.md");
}

#[test]
fn every_page_of_docs_is_in_the_summary() {
    let summary = read_page("docs/SUMMARY.md");
    let listed: Vec<String> = links(&summary)
        .into_iter()
        .map(|l| format!("docs/{}", l.target))
        .collect();
    let missing: Vec<String> = pages()
        .into_iter()
        .filter(|p| p != "README.md" && p != "docs/SUMMARY.md" && !listed.contains(p))
        .collect();
    assert!(missing.is_empty(), "not in docs/SUMMARY.md: {missing:?}");
}

#[test]
fn every_relative_link_and_anchor_resolves() {
    let root = repo_root();
    let mut broken = Vec::new();
    let mut checked = 0;
    for page in pages() {
        let text = read_page(&page);
        let dir = Path::new(&page)
            .parent()
            .unwrap_or(Path::new(""))
            .to_owned();
        for link in links(&text) {
            let target = link.target.as_str();
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (file, anchor) = match target.split_once('#') {
                Some((f, a)) => (f, Some(a)),
                None => (target, None),
            };
            let rel = if file.is_empty() {
                PathBuf::from(&page)
            } else {
                normalize(&dir.join(file))
            };
            let at = format!("{page}:{}: {target}", link.line);
            if !root.join(&rel).exists() {
                broken.push(format!("{at}: no such file {}", rel.display()));
                continue;
            }
            if let Some(anchor) = anchor {
                if rel.extension() != Some("md".as_ref()) {
                    broken.push(format!("{at}: an anchor into a file that is not a page"));
                } else if !anchors(&read_page(s(&rel))).iter().any(|a| a == anchor) {
                    broken.push(format!("{at}: {} has no heading #{anchor}", rel.display()));
                }
            }
        }
    }
    assert!(checked > 50, "only {checked} links checked");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn anchors_are_made_as_mdbook_and_github_make_them() {
    let page = "# Device side: `burnline-bootstrap`\n## Quickstart: 一机一密 to online\n\
                ```sh\n# not a heading\n```\n## The logs: ledgers and the resume journal\n\
                ## 概要 {#section_x .section}\n## Exit codes\n## Exit codes\n";
    assert_eq!(
        anchors(page),
        [
            "device-side-burnline-bootstrap",
            "quickstart-一机一密-to-online",
            "the-logs-ledgers-and-the-resume-journal",
            "section_x",
            "exit-codes",
            "exit-codes-1",
        ]
    );
}

#[test]
fn the_readme_is_a_front_door() {
    let readme = read_page("README.md");
    let lines = readme.lines().count();
    assert!(
        lines <= 300,
        "README.md has {lines} lines; the rest goes in docs/"
    );
    // Its first screen says what burnline does and how to install it.
    let first: String = readme.lines().take(25).collect::<Vec<_>>().join("\n");
    assert!(first.contains("burns Alibaba Cloud IoT"), "{first}");
    assert!(first.contains("cargo install --locked --path ."), "{first}");
    // Its sections, in the order a new user needs them.
    let headings: Vec<&str> = common::markdown::prose_lines(&readme)
        .into_iter()
        .map(|(_, l)| l)
        .filter(|l| l.starts_with("## "))
        .collect();
    assert_eq!(
        headings,
        [
            "## Install",
            "## The two commands",
            "## Quickstart: 一机一密 to online",
            "## Quickstart: 一型一密 to online",
            "## The vendor's steps, as commands",
            "## Where each topic lives",
            "## The code",
        ]
    );
    // The two commands, exactly as .ci/run and the tests run them.
    assert!(readme.contains(
        "\ncargo run --release -- build recipes/example.yaml --devices examples/devices.csv --out out/\n"
    ));
    assert!(readme.contains("\nscripts/test.sh\n"));
    assert!(read_page(".ci/run").contains("exec scripts/test.sh"));
}
