//! Finds where a field stands in the recipe's YAML text, so that a rule
//! broken by a value can be reported as `recipe.yaml:LINE:COLUMN: field: rule`.
//!
//! serde does not keep positions, so the text is walked once more with a YAML
//! event parser and every field path (`partitions[1].size`) is mapped to the
//! line and column of its value.

use saphyr_parser::{Event, Parser};
use std::collections::HashMap;

/// Field path → (line, column), both 1-based.
#[derive(Debug, Default)]
pub struct Locator {
    positions: HashMap<String, (usize, usize)>,
}

enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, index: usize },
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
    fn finds_nested_fields() {
        let text = "disk:\n  size: 64MiB\npartitions:\n  - name: a\n    size: 1MiB\n  - name: b\n    size: fill\n";
        let l = Locator::new(text);
        assert_eq!(l.find("disk.size"), Some((2, 9)));
        assert_eq!(l.find("partitions[1].size"), Some((7, 11)));
        assert_eq!(l.find("partitions[1].type"), Some((6, 5)));
    }
}
