//! Finds where a field stands in the recipe's YAML text, so that a rule
//! broken by a value can be reported as `recipe.yaml:LINE:COLUMN: field: rule`.
//!
//! serde does not keep positions, so the text is walked once more with a YAML
//! event parser and every field path (`partitions[1].size`) is mapped to the
//! line and column of its value; [`located`] makes the problem. [`yaml_error`]
//! words a YAML file that does not parse the same way, for the recipe and
//! the station config.

use crate::error::{Error, Problem};
use saphyr_parser::{Event, Parser};
use std::collections::HashMap;
use std::path::Path;

/// The problem `rule` at `field` of the recipe `path`, located at its
/// line and column when `locator` finds the field.
pub(super) fn located(
    path: &Path,
    locator: &Locator,
    field: &str,
    rule: impl Into<String>,
) -> Problem {
    let location = match locator.find(field) {
        Some((line, col)) => format!("{}:{line}:{col}", path.display()),
        None => path.display().to_string(),
    };
    Problem::new(location, field, rule)
}

/// The one-line error for a YAML file (`what`: "recipe", "station
/// config") that serde could not read: `PATH:LINE:COLUMN: not a valid
/// WHAT: why`, serde's own copy of the location dropped, and with it
/// nothing of the file's text (a device CSV given as a recipe would
/// otherwise show its DeviceSecrets here; see
/// `burnline_core::parse_error`).
pub fn yaml_error(path: &Path, what: &str, e: &yaml_serde::Error) -> Error {
    let location = match e.location() {
        Some(l) => format!("{}:{}:{}", path.display(), l.line(), l.column()),
        None => path.display().to_string(),
    };
    let msg = e.to_string();
    let msg = msg
        .rsplit_once(" at line ")
        .map(|(m, _)| m.to_owned())
        .unwrap_or(msg);
    let msg = burnline_core::parse_error::serde_message(&msg);
    Error::invalid(location, "", format!("not a valid {what}: {msg}"))
}

/// Field path → (line, column), both 1-based.
#[derive(Debug, Default)]
pub struct Locator {
    positions: HashMap<String, (usize, usize)>,
}

enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, index: usize },
}

/// How deep a recipe's mappings and sequences may nest. A real recipe needs
/// five or six levels; the YAML crates take time quadratic in depth, so a
/// deeper text is refused before it is parsed.
pub const MAX_DEPTH: usize = 64;

/// Where the text first nests deeper than [`MAX_DEPTH`], as (line, column),
/// 1-based; found by one pass of the event parser that stops right there.
pub fn too_deep(text: &str) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    for item in Parser::new_from_str(text) {
        let (event, span) = match item {
            Ok(ok) => ok,
            // The parser's own bound (a few hundred levels) is deeper still.
            Err(e) if e.info().contains("recursion limit") => {
                return Some((e.marker().line(), e.marker().col() + 1));
            }
            // Other errors are the deserializer's to report, with position.
            Err(_) => break,
        };
        match event {
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some((span.start.line(), span.start.col() + 1));
                }
            }
            Event::MappingEnd | Event::SequenceEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

impl Locator {
    /// Walks `text`; a text that does not parse gives an empty locator (the
    /// YAML error itself is reported by the deserializer, with its position).
    pub fn new(text: &str) -> Self {
        let mut positions = HashMap::new();
        let mut stack: Vec<Frame> = Vec::new();
        for item in Parser::new_from_str(text) {
            let Ok((event, span)) = item else { break };
            let at = (span.start.line(), span.start.col() + 1);
            // The path the current node gets, and whether it is a mapping key.
            let (node_path, is_key) = match stack.last_mut() {
                Some(Frame::Map { path, key }) => match key.take() {
                    None => (path.clone(), true),
                    Some(k) => (join(path, &k), false),
                },
                Some(Frame::Seq { path, index }) => {
                    let p = format!("{path}[{index}]");
                    *index += 1;
                    (p, false)
                }
                None => (String::new(), false),
            };
            match event {
                Event::Scalar(value, ..) => {
                    if is_key {
                        if let Some(Frame::Map { path, key }) = stack.last_mut() {
                            positions.entry(join(path, &value)).or_insert(at);
                            *key = Some(value.into_owned());
                        }
                    } else {
                        positions.insert(node_path, at);
                    }
                }
                Event::MappingStart(..) => {
                    positions.entry(node_path.clone()).or_insert(at);
                    stack.push(Frame::Map {
                        path: node_path,
                        key: None,
                    });
                }
                Event::SequenceStart(..) => {
                    positions.entry(node_path.clone()).or_insert(at);
                    stack.push(Frame::Seq {
                        path: node_path,
                        index: 0,
                    });
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                }
                _ => {}
            }
        }
        Locator { positions }
    }

    /// The position of `path`, or of its nearest parent that was written.
    pub fn find(&self, path: &str) -> Option<(usize, usize)> {
        let mut p = path;
        loop {
            if let Some(pos) = self.positions.get(p) {
                return Some(*pos);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_is_found_at_once() {
        let deep = format!("disk: {}{}", "[".repeat(100), "]".repeat(100));
        let started = std::time::Instant::now();
        assert_eq!(too_deep(&deep), Some((1, 6 + MAX_DEPTH)));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let deeper = format!("disk: {}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(too_deep(&deeper).is_some());
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(
            too_deep("disk: {size: 4MiB}\npartitions: [{name: a}]\n"),
            None
        );
    }

    #[test]
    fn finds_nested_fields() {
        let text = "disk:\n  size: 64MiB\npartitions:\n  - name: a\n    size: 1MiB\n  - name: b\n    size: fill\n";
        let l = Locator::new(text);
        assert_eq!(l.find("disk.size"), Some((2, 9)));
        assert_eq!(l.find("partitions[1].size"), Some((7, 11)));
        assert_eq!(l.find("partitions[1].type"), Some((6, 5)));
    }
}
