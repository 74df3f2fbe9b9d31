//! Every command and recipe the README and the book show is run: each
//! fenced block tagged `sh`, `bash`, `console` or `yaml` in README.md and
//! docs/**/*.md (the vendor's verbatim page aside) is claimed, or this test
//! fails naming its file and line. A block is claimed
//!
//! - by name: a `<!-- run by FILE -->` comment right above it names a test
//!   (or .ci/run) that reads and runs it; FILE must exist and mention the
//!   page by its path;
//! - or here: a command block runs with `bash -euo pipefail` in a fresh
//!   temp dir holding copies of the repository's `recipes/` and
//!   `examples/`, with the debug binaries first on PATH and `REPO` the
//!   repository (a `console` block: its `$ ` lines); a recipe (`disk:`) is
//!   checked with `burnline check` against the example CSV of its mode,
//!   with a small stand-in file for each `source`/`image` it names that is
//!   not there; a recipe fragment (`auth:`, `output:` alone) is checked the
//!   same once put into `recipes/example.yaml`; a station config
//!   (`slots:`) is loaded as `station serve` loads it; an emulator products
//!   file (`products:`) must start an emulator.
//!
//! Blocks that show output only are tagged `text`.

mod common;

use common::markdown::{blocks, pages, Block};
use common::{bootstrap_bin, burnline_bin, repo_root, s, Test};
use std::time::Duration;

/// The tags of blocks that must be run.
const RUN: [&str; 4] = ["sh", "bash", "console", "yaml"];

/// How a block is run, or why it is not.
#[derive(Debug, PartialEq)]
enum Claim {
    /// Read and run by the named file.
    Named(String),
    /// A command block run here.
    Script,
    /// A recipe, or a fragment of one, checked here.
    Recipe,
    /// A station config loaded here.
    Station,
    /// An emulator products file started here.
    Products,
}

/// The block's claim, or the line that says why it has none.
fn claim(b: &Block) -> Result<Claim, String> {
    let at = format!("{}:{}: a ```{} block", b.page, b.line, b.tag);
    if let Some(file) = &b.claimed_by {
        let text = std::fs::read_to_string(repo_root().join(file))
            .map_err(|e| format!("{at} is claimed by {file}, which cannot be read: {e}"))?;
        if !text.contains(&b.page) {
            return Err(format!(
                "{at} is claimed by {file}, which never mentions {}",
                b.page
            ));
        }
        return Ok(Claim::Named(file.clone()));
    }
    match b.tag.as_str() {
        "sh" | "bash" | "console" => Ok(Claim::Script),
        "yaml" => {
            let value: yaml_serde::Value = yaml_serde::from_str(&b.text)
                .map_err(|e| format!("{at} is not valid YAML: {e}"))?;
            let has = |k: &str| value.get(k).is_some();
            if has("disk") || has("auth") || has("output") {
                Ok(Claim::Recipe)
            } else if has("slots") {
                Ok(Claim::Station)
            } else if has("products") {
                Ok(Claim::Products)
            } else {
                Err(format!(
                    "{at} is neither a recipe, a station config nor a products file, and no test claims it (<!-- run by FILE -->)"
                ))
            }
        }
        _ => Err(format!("{at} is not one this test runs")),
    }
}

/// A temp dir with copies of the repository's recipes/ and examples/.
fn workspace() -> Test {
    let t = Test::new();
    for dir in ["recipes", "examples"] {
        t.tool("cp")
            .args(["-r", s(&repo_root().join(dir)), "."])
            .run();
    }
    t
}

/// PATH with the debug binaries first.
fn path_with_binaries() -> String {
    let bin = burnline_bin();
    let dir = bin.parent().expect("the binaries' directory");
    assert!(bootstrap_bin().starts_with(dir));
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Runs `script` with bash in `t`'s directory; the failure, if any.
fn bash(t: &Test, script: &str) -> Result<(), String> {
    let script = format!("trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n{script}");
    let o = t
        .tool("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .env("PATH", path_with_binaries())
        .env("REPO", repo_root())
        .any_status()
        .run_within(Duration::from_secs(180));
    match o.code() {
        Some(0) => Ok(()),
        code => Err(format!("exit {code:?}\n{}", o.text())),
    }
}

/// The commands of a block: a `console` block's `$ ` lines, else all.
fn commands(b: &Block) -> String {
    if b.tag == "console" {
        b.text
            .lines()
            .filter_map(|l| l.strip_prefix("$ "))
            .map(|l| format!("{l}\n"))
            .collect()
    } else {
        b.text.clone()
    }
}

/// Every `source:` and `image:` path a recipe names.
fn inputs(value: &yaml_serde::Value, out: &mut Vec<(String, String)>) {
    match value {
        yaml_serde::Value::Mapping(m) => {
            for (k, v) in m {
                match (k.as_str(), v.as_str()) {
                    (Some(key @ ("source" | "image")), Some(path)) => {
                        out.push((key.to_owned(), path.to_owned()))
                    }
                    _ => inputs(v, out),
                }
            }
        }
        yaml_serde::Value::Sequence(items) => items.iter().for_each(|v| inputs(v, out)),
        _ => {}
    }
}

/// Checks a recipe block (or a fragment put into the example recipe) with
/// `burnline check` against the example CSV of its mode.
fn check_recipe(b: &Block) -> Result<(), String> {
    let t = workspace();
    let mut value: yaml_serde::Value = yaml_serde::from_str(&b.text).map_err(|e| e.to_string())?;
    if value.get("disk").is_none() {
        let base = std::fs::read_to_string(repo_root().join("recipes/example.yaml"))
            .expect("recipes/example.yaml");
        let mut full: yaml_serde::Value = yaml_serde::from_str(&base).expect("example recipe");
        if let (Some(full), Some(part)) = (full.as_mapping_mut(), value.as_mapping()) {
            for (k, v) in part {
                full.insert(k.clone(), v.clone());
            }
        }
        value = full;
    }
    let recipes = t.path().join("recipes");
    let mut named = Vec::new();
    inputs(&value, &mut named);
    for (key, rel) in named {
        let p = recipes.join(&rel);
        if p.exists() {
            continue;
        }
        std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
        let stub = if key == "image" {
            vec![0u8; 4096]
        } else {
            b"a stand-in\n".to_vec()
        };
        std::fs::write(&p, stub).expect("stand-in");
    }
    let recipe = recipes.join("from-the-docs.yaml");
    std::fs::write(&recipe, yaml_serde::to_string(&value).expect("yaml")).expect("write");
    let product_secret = value
        .get("auth")
        .and_then(|a| a.get("mode"))
        .and_then(|m| m.as_str())
        == Some("product-secret");
    let csv = if product_secret {
        "examples/devices-template.csv"
    } else {
        "examples/devices.csv"
    };
    let secret = std::fs::read_to_string(repo_root().join("examples/product-secret.txt"))
        .expect("examples/product-secret.txt");
    let o = t
        .burnline()
        .args(["check", s(&recipe), "--devices", csv])
        .env("PRODUCT_SECRET", secret.trim())
        .any_status()
        .run_within(Duration::from_secs(60));
    match o.code() {
        Some(0) => Ok(()),
        code => Err(format!("burnline check: exit {code:?}\n{}", o.text())),
    }
}

/// Loads a station config block as `station serve` does.
fn load_station(b: &Block) -> Result<(), String> {
    let t = workspace();
    let config = t.path().join("station.yaml");
    std::fs::write(&config, &b.text).expect("write");
    burnline_station::config::StationConfig::load(&config)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Starts the emulator on a products file block, until it listens.
fn start_emulator(b: &Block) -> Result<(), String> {
    let t = workspace();
    let products = t.path().join("products.yaml");
    std::fs::write(&products, &b.text).expect("write");
    bash(
        &t,
        "chmod 600 products.yaml\n\
         burnline-emulator --listen 127.0.0.1:0 --mqtt 127.0.0.1:0 --products products.yaml > log 2>&1 &\n\
         for _ in $(seq 100); do grep -q mqtt:// log && break; kill -0 $! || break; sleep 0.1; done\n\
         cat log; grep -q mqtt:// log\n",
    )
}

/// Runs (or checks the claim of) one block.
fn run(b: &Block) -> Result<(), String> {
    let at = format!("{}:{}", b.page, b.line);
    match claim(b)? {
        Claim::Named(_) => Ok(()),
        Claim::Script => bash(&workspace(), &commands(b)),
        Claim::Recipe => check_recipe(b),
        Claim::Station => load_station(b),
        Claim::Products => start_emulator(b),
    }
    .map_err(|e| format!("{at}: a ```{} block fails: {e}", b.tag))
}

#[test]
fn every_command_and_recipe_of_the_readme_and_the_book_is_run() {
    let mut failures = Vec::new();
    let mut run_here = 0;
    for page in pages() {
        for b in blocks(&page) {
            if !RUN.contains(&b.tag.as_str()) {
                continue;
            }
            if b.claimed_by.is_none() {
                run_here += 1;
            }
            if let Err(e) = run(&b) {
                failures.push(e);
            }
        }
    }
    assert!(run_here >= 10, "only {run_here} blocks were run here");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_block_says_what_it_is() {
    // An untagged block could hide a command from the test above: output is
    // ```text, other languages are named (```json, ```c).
    let untagged: Vec<String> = pages()
        .iter()
        .flat_map(|p| blocks(p))
        .filter(|b| b.tag.is_empty())
        .map(|b| format!("{}:{}", b.page, b.line))
        .collect();
    assert!(untagged.is_empty(), "untagged blocks: {untagged:?}");
}

#[test]
fn a_block_nobody_runs_is_named_by_its_file_and_line() {
    let block = |tag: &str, text: &str, claimed_by: Option<&str>| Block {
        page: "docs/recipe.md".into(),
        line: 7,
        tag: tag.into(),
        text: text.into(),
        claimed_by: claimed_by.map(Into::into),
        heading: "# The recipe".into(),
    };
    assert_eq!(
        claim(&block("yaml", "colour: blue\n", None)),
        Err("docs/recipe.md:7: a ```yaml block is neither a recipe, a station config nor a products file, and no test claims it (<!-- run by FILE -->)".into())
    );
    let missing = claim(&block("sh", "true\n", Some("tests/no_such_test.rs")));
    assert!(
        missing
            .as_ref()
            .is_err_and(|e| e.starts_with("docs/recipe.md:7: a ```sh block is claimed by tests/no_such_test.rs, which cannot be read")),
        "{missing:?}"
    );
    assert_eq!(
        claim(&block("sh", "true\n", Some("tests/recipes.rs"))),
        Err("docs/recipe.md:7: a ```sh block is claimed by tests/recipes.rs, which never mentions docs/recipe.md".into())
    );
    // A command that fails is reported with its place.
    let failed = run(&block(
        "sh",
        "burnline check no-such-recipe.yaml --devices examples/devices.csv\n",
        None,
    ));
    assert!(
        failed
            .as_ref()
            .is_err_and(|e| e.starts_with("docs/recipe.md:7: a ```sh block fails:")),
        "{failed:?}"
    );
    // A recipe that breaks a rule fails the check: the GPT with a blob at
    // 8 KiB the reference recipe once showed.
    let yaml = blocks("docs/recipe.md")
        .into_iter()
        .find(|b| b.tag == "yaml")
        .expect("the reference recipe");
    let mut bad = yaml.clone();
    bad.text = bad.text.replace("offset: 32KiB", "offset: 8KiB");
    assert_ne!(
        bad.text, yaml.text,
        "the reference recipe has its blob at 32 KiB"
    );
    assert!(run(&bad).is_err(), "a blob at 8 KiB beside a GPT passed");
    assert!(run(&yaml).is_ok(), "the reference recipe fails its check");
}
