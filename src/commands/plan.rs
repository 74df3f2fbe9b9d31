//! `burnline plan`: the layout as a table (or, with `--json`, as the
//! object docs/json.md describes). The recipe is read for its layout alone: a ProductSecret is never asked for (see
//! [`recipe::load_layout`]).

use crate::cmdline::PlanArgs;
use burnline_image::error::Result;
use burnline_image::layout;
use burnline_image::recipe::part_type::{gpt_type_name, PartType};
use burnline_image::recipe::size::format_size;
use burnline_image::recipe::{self, Content, CredentialsFormat};
use burnline_io::{say, show};

/// Runs `plan`.
pub fn run(args: &PlanArgs) -> Result<()> {
    let recipe = recipe::load_layout(&args.recipe)?;
    for w in recipe.warning_lines() {
        say!("{w}");
    }
    let layout = layout::plan(&recipe)?;
    let rows: Vec<(&str, u64, u64, u64, String, String)> = layout
        .partitions
        .iter()
        .map(|ext| {
            let part = &recipe.partitions[ext.index];
            (
                ext.name.as_str(),
                ext.start,
                ext.end(),
                ext.size,
                type_name(ext.part_type),
                content(&part.content),
            )
        })
        .collect();
    if args.json {
        let partitions: Vec<_> = rows
            .iter()
            .map(|(name, start, end, size, ty, content)| {
                serde_json::json!({
                    "name": name, "start": start, "end": end, "size": size,
                    "type": ty, "content": content,
                })
            })
            .collect();
        let blobs: Vec<_> = recipe
            .blobs
            .iter()
            .map(|b| {
                serde_json::json!({
                    "offset": b.offset, "end": b.offset + b.len, "size": b.len,
                    "source": b.source,
                })
            })
            .collect();
        let json = serde_json::json!({
            "disk_size": layout.disk_size,
            "table": format!("{:?}", layout.table).to_lowercase(),
            "sector_size": layout.sector_size,
            "partitions": partitions,
            "blobs": blobs,
        });
        show!("{json}");
        return Ok(());
    }
    show!(
        "disk: {} ({} bytes), {:?}, {}-byte sectors",
        format_size(layout.disk_size),
        layout.disk_size,
        layout.table,
        layout.sector_size
    );
    show!(
        "{:<16} {:>12} {:>12} {:>10}  {:<12} content",
        "partition",
        "start",
        "end",
        "size",
        "type"
    );
    for (name, start, end, size, ty, content) in &rows {
        show!(
            "{:<16} {:>12} {:>12} {:>10}  {:<12} {}",
            name,
            start,
            end,
            format_size(*size),
            ty,
            content
        );
    }
    for b in &recipe.blobs {
        show!(
            "{:<16} {:>12} {:>12} {:>10}  {:<12} {}",
            "(blob)",
            b.offset,
            b.offset + b.len,
            format_size(b.len),
            "-",
            b.source.display()
        );
    }
    Ok(())
}

/// A partition type as the table shows it: a GPT type's name, or an MBR
/// type byte in hex.
fn type_name(t: PartType) -> String {
    match t {
        PartType::Gpt(g) => gpt_type_name(&g),
        PartType::Mbr(b) => format!("0x{b:02x}"),
    }
}

/// What a partition holds, in a few words.
fn content(c: &Content) -> String {
    match c {
        Content::Empty => "empty".to_owned(),
        Content::Fat(f) => format!(
            "fat{} {} file(s)",
            match f.bits {
                Some(burnline_fat::spec::FatBits::Fat12) => "12",
                Some(burnline_fat::spec::FatBits::Fat16) => "16",
                Some(burnline_fat::spec::FatBits::Fat32) => "32",
                None => "",
            },
            f.files.len()
        ),
        Content::Image(p) => format!("image {}", p.display()),
        Content::Credentials(c) => match &c.format {
            CredentialsFormat::Record => "credentials (record)".to_owned(),
            CredentialsFormat::Fat { path, .. } => format!("credentials (fat: /{path})"),
        },
    }
}
