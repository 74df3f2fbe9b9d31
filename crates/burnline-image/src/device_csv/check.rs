//! Checks the whole device CSV before anything is written: every row on its
//! own, then across rows (duplicate DeviceNames, two devices mapping to one
//! output file). Every broken rule is collected, not just the first.
//!
//! To keep memory flat on large fleets only a 16-byte digest of each name is
//! kept, not the names themselves.

use super::list::DeviceList;
use super::reader::{DeviceReader, Expect};
use crate::error::{Error, Problem, Result};
use crate::file_name;
use crate::recipe::{AuthMode, Recipe, RegisterAt};
use burnline_core::identity::rules;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// What the CSV must provide under this recipe.
pub fn expect(recipe: &Recipe) -> Expect {
    Expect {
        product_key: recipe.auth.product_key.clone(),
        device_secret: matches!(recipe.auth.mode, AuthMode::DeviceSecret),
    }
}

/// Whether devices of this recipe are registered by the station.
pub fn registers_on_host(recipe: &Recipe) -> bool {
    matches!(
        recipe.auth.mode,
        AuthMode::ProductSecret {
            register: RegisterAt::Host,
            ..
        }
    )
}

fn digest(kind: u8, value: &str) -> [u8; 16] {
    let mut h = Sha256::new();
    h.update([kind]);
    h.update(value.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&h.finalize()[..16]);
    out
}

/// Streams the CSV and returns the number of devices, or every problem found.
pub fn check_devices(recipe: &Recipe, csv: &DeviceList) -> Result<u64> {
    let mut reader = DeviceReader::open(csv, expect(recipe))?;
    let at = csv.to_string();
    let mut problems: Vec<Problem> = Vec::new();
    let mut names: HashMap<[u8; 16], u64> = HashMap::new();
    let mut files: HashMap<[u8; 16], u64> = HashMap::new();
    let mut count = 0u64;
    while let Some(row) = reader.next_row() {
        match row {
            Err(mut p) => problems.append(&mut p),
            Ok(row) => {
                count += 1;
                let mut refuse = |rule: String| {
                    problems.push(Problem::new(
                        format!("{at}:{}", row.line),
                        "DeviceName",
                        rule,
                    ))
                };
                // An identity is (ProductKey, DeviceName): the same name in
                // two products is two devices.
                let identity = format!("{}\0{}", row.product_key, row.device_name);
                if let Some(first) = names.insert(digest(0, &identity), row.line) {
                    let name = rules::shown(&row.device_name);
                    refuse(format!("{name} already appears on line {first}"));
                    continue;
                }
                let file =
                    file_name::render(&recipe.output_pattern, &row.device_name, &row.product_key);
                if let Some(rule) = file_name::reserved_clash(&file) {
                    refuse(rule);
                    continue;
                }
                if let Some(first) = files.insert(digest(1, &file), row.line) {
                    let file = rules::shown(&file);
                    refuse(format!(
                        "output file {file} is also the output of line {first}"
                    ));
                }
            }
        }
    }
    if count == 0 && problems.is_empty() {
        problems.push(Problem::new(&at, "", "the CSV lists no devices"));
    }
    if problems.is_empty() {
        if let Some(how) = reader.how_read() {
            eprintln!("burnline: {at}: {how}");
        }
        Ok(count)
    } else {
        Err(Error::Invalid(problems))
    }
}
