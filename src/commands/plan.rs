//! `burnline plan`: the layout as a table. The recipe is read for its
//! layout alone: a ProductSecret is never asked for (see
//! [`recipe::load_layout`]).

use crate::cmdline::PlanArgs;
use crate::error::Result;
use crate::layout;
use crate::output::console::{say, show};
use crate::recipe::part_type::{gpt_type_name, PartType};
use crate::recipe::size::format_size;
use crate::recipe::{self, Content, CredentialsFormat};

/// Runs `plan`.
pub fn run(args: &PlanArgs) -> Result<()> {
    let recipe = recipe::load_layout(&args.recipe)?;
    for w in recipe.warning_lines() {
        say!("{w}");
    }
    let layout = layout::plan(&recipe)?;
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
    for ext in &layout.partitions {
        let part = &recipe.partitions[ext.index];
        let ty = match ext.part_type {
            PartType::Gpt(g) => gpt_type_name(&g),
            PartType::Mbr(b) => format!("0x{b:02x}"),
        };
        let content = match &part.content {
            Content::Empty => "empty".to_owned(),
            Content::Fat(f) => format!(
                "fat{} {} file(s)",
                match f.bits {
                    Some(crate::recipe::FatBits::Fat12) => "12",
                    Some(crate::recipe::FatBits::Fat16) => "16",
                    Some(crate::recipe::FatBits::Fat32) => "32",
                    None => "",
                },
                f.files.len()
            ),
            Content::Image(p) => format!("image {}", p.display()),
            Content::Credentials(c) => match &c.format {
                CredentialsFormat::Record => "credentials (record)".to_owned(),
                CredentialsFormat::Fat { path, .. } => format!("credentials (fat: /{path})"),
            },
        };
        show!(
            "{:<16} {:>12} {:>12} {:>10}  {:<12} {}",
            ext.name,
            ext.start,
            ext.end(),
            format_size(ext.size),
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
