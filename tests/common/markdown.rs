//! The README and the book (docs/) as the doc tests read them: the fenced
//! blocks of a page (with their line, tag and the `<!-- run by FILE -->`
//! claim above them), its headings' anchors as mdbook and GitHub make them,
//! and its links. Only the subset of Markdown these pages use: fences of
//! three backticks, ATX headings, inline `[text](target)` links.

use super::repo_root;
use std::path::{Path, PathBuf};

/// One fenced block of a page.
#[derive(Debug, Clone)]
pub struct Block {
    /// The page, relative to the repository root.
    pub page: String,
    /// The line of its opening fence (1-based).
    pub line: usize,
    /// The fence's tag (`sh`, `yaml`, `text`, …; empty when untagged).
    pub tag: String,
    /// Its text, with the fence's indentation taken off.
    pub text: String,
    /// The file a `<!-- run by FILE -->` comment right above it names.
    pub claimed_by: Option<String>,
    /// The heading it sits under (its text, `#`s and all).
    pub heading: String,
}

/// The page at `rel` (relative to the repository root).
pub fn read_page(rel: &str) -> String {
    std::fs::read_to_string(repo_root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every fenced block of the page at `rel`, in order.
pub fn blocks(rel: &str) -> Vec<Block> {
    let text = read_page(rel);
    let mut out = Vec::new();
    let mut heading = String::new();
    let mut open: Option<(Block, usize)> = None;
    let mut last_nonblank = String::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some((block, indent)) = open.as_mut() {
            if trimmed.trim_end() == "```" {
                out.push(open.take().expect("open").0);
            } else {
                let cut = line.len() - line.trim_start().len();
                block.text.push_str(&line[cut.min(*indent)..]);
                block.text.push('\n');
            }
            continue;
        }
        if let Some(info) = trimmed.strip_prefix("```") {
            let claimed_by = last_nonblank
                .trim()
                .strip_prefix("<!-- run by ")
                .and_then(|r| r.strip_suffix("-->"))
                .map(|f| f.trim().to_owned());
            let block = Block {
                page: rel.to_owned(),
                line: i + 1,
                tag: info.split_whitespace().next().unwrap_or("").to_owned(),
                text: String::new(),
                claimed_by,
                heading: heading.clone(),
            };
            open = Some((block, line.len() - trimmed.len()));
            continue;
        }
        if line.starts_with('#') {
            heading = line.to_owned();
        }
        if !line.trim().is_empty() {
            last_nonblank = line.to_owned();
        }
    }
    assert!(open.is_none(), "{rel}: a fence is never closed");
    out
}

/// The blocks under the heading `heading` (the whole line, `## …`), up to
/// the next heading of its level or above.
pub fn section_blocks(rel: &str, heading: &str) -> Vec<Block> {
    let all = blocks(rel);
    assert!(
        all.iter().any(|b| b.heading == heading) || read_page(rel).contains(heading),
        "{rel} has no section {heading}"
    );
    all.into_iter().filter(|b| b.heading == heading).collect()
}

/// The lines of a page that are not inside a fenced block, with their
/// line numbers (1-based).
pub fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut inside = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            inside = !inside;
            continue;
        }
        if !inside {
            out.push((i + 1, line));
        }
    }
    out
}

/// A heading's text as it reads: inline code marks and link targets gone.
fn heading_text(raw: &str) -> String {
    let mut text = String::new();
    let mut rest = raw;
    while let Some(open) = rest.find('[') {
        text.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match (after.find("]("), after.find(')')) {
            (Some(close), Some(end)) if close < end => {
                text.push_str(&after[..close]);
                rest = &after[end + 1..];
            }
            _ => {
                text.push('[');
                rest = after;
            }
        }
    }
    text.push_str(rest);
    text.replace('`', "")
}

/// The anchors a page's headings get, as mdbook (and GitHub) make them:
/// lower case, letters, digits, `-` and `_` kept, white space a `-`,
/// everything else dropped; a repeated one gets `-1`, `-2`, …; an explicit
/// `{#id}` wins.
pub fn anchors(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (_, line) in prose_lines(text) {
        let Some(rest) = line.strip_prefix('#') else {
            continue;
        };
        let rest = rest.trim_start_matches('#');
        if !rest.starts_with(' ') {
            continue;
        }
        let mut title = rest.trim();
        if let Some(open) = title.rfind("{#") {
            if title.ends_with('}') {
                let id = title[open + 2..title.len() - 1]
                    .split_whitespace()
                    .next()
                    .unwrap_or("");
                out.push(id.to_owned());
                continue;
            }
            title = title[..open].trim();
        }
        let base: String = heading_text(title)
            .chars()
            .filter_map(|c| {
                if c.is_alphanumeric() || c == '_' || c == '-' {
                    Some(c.to_lowercase().collect::<String>())
                } else if c.is_whitespace() {
                    Some("-".into())
                } else {
                    None
                }
            })
            .collect();
        let mut id = base.clone();
        let mut n = 0;
        while out.contains(&id) {
            n += 1;
            id = format!("{base}-{n}");
        }
        out.push(id);
    }
    out
}

/// A link of a page: its line and target.
#[derive(Debug)]
pub struct Link {
    /// Its line (1-based).
    pub line: usize,
    /// The target as written: `page.md#anchor`, `#anchor`, `https://…`.
    pub target: String,
}

/// The inline links (`[text](target)`, images too) of a page, outside
/// fenced blocks and inline code.
pub fn links(text: &str) -> Vec<Link> {
    let mut out = Vec::new();
    for (line, content) in prose_lines(text) {
        // Inline code is not a link.
        let prose: String = content
            .split('`')
            .enumerate()
            .map(|(i, part)| if i % 2 == 0 { part } else { "" })
            .collect();
        let mut rest = prose.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            let target = after[..end].split_whitespace().next().unwrap_or("");
            out.push(Link {
                line,
                target: target.to_owned(),
            });
            rest = &after[end..];
        }
    }
    out
}

/// Every Markdown page of the README and the book, relative to the root:
/// README.md and docs/**/*.md, except the vendor's page kept verbatim
/// (docs/vendor/), whose links point into the vendor's site.
pub fn pages() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                if path.file_name() != Some("vendor".as_ref()) {
                    walk(&path, out);
                }
            } else if path.extension() == Some("md".as_ref()) {
                out.push(path);
            }
        }
    }
    let root = repo_root();
    let mut found = Vec::new();
    walk(&root.join("docs"), &mut found);
    let mut pages: Vec<String> = found
        .iter()
        .map(|p| {
            p.strip_prefix(root)
                .expect("under the root")
                .display()
                .to_string()
        })
        .collect();
    pages.sort();
    pages.insert(0, "README.md".into());
    pages
}
