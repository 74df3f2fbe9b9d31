//! The layout: where every partition and blob lands on the disk, in bytes.
//! [`plan`] places the partitions (aligned, in order, the last one may fill
//! the disk) and checks that nothing overlaps, is misaligned, or does not fit,
//! and that every input fits the partition it goes into ([`fat_geometry`]
//! for FAT volumes, measured on the tree of files [`fat_tree`] walks, whose
//! names and 8.3 aliases [`fat_names`] gives). [`ids`] derives a device's
//! GUIDs and serials, and [`table`] and [`table_template`] write the
//! partition table. [`elf_arch`] refuses a FAT volume's program built for
//! another architecture than `disk.arch`.

pub mod elf_arch;
pub mod ids;
pub mod table;
pub mod table_template;

use crate::error::{Error, Problem, Result};
use crate::recipe::part_type::PartType;
use crate::recipe::{Content, PartSize, Partition, Recipe, TableKind, GPT_ENTRIES};
use burnline_fat::{geometry, tree};

/// Bytes per GPT partition entry.
pub const GPT_ENTRY_SIZE: u64 = 128;

/// A placed partition.
#[derive(Debug, Clone)]
pub struct Extent {
    /// Index in the recipe.
    pub index: usize,
    /// Name.
    pub name: String,
    /// First byte on the disk.
    pub start: u64,
    /// Length in bytes.
    pub size: u64,
    /// Type.
    pub part_type: PartType,
    /// Bootable flag.
    pub bootable: bool,
}

impl Extent {
    /// One past the last byte.
    pub fn end(&self) -> u64 {
        self.start + self.size
    }
}

/// Where everything goes.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Total bytes.
    pub disk_size: u64,
    /// Sector size.
    pub sector_size: u64,
    /// Table kind.
    pub table: TableKind,
    /// Partitions in order.
    pub partitions: Vec<Extent>,
    /// Byte ranges the partition table itself occupies (start, end).
    pub table_regions: Vec<(u64, u64)>,
}

impl Layout {
    /// The first byte a partition may use and one past the last.
    pub fn usable(&self) -> (u64, u64) {
        let ss = self.sector_size;
        match self.table {
            TableKind::Gpt => {
                let array = GPT_ENTRIES * GPT_ENTRY_SIZE;
                (2 * ss + array, self.disk_size - ss - array)
            }
            TableKind::Mbr => (ss, self.disk_size),
        }
    }
}

fn table_regions(table: TableKind, disk_size: u64, ss: u64) -> Vec<(u64, u64)> {
    match table {
        TableKind::Gpt => {
            let array = GPT_ENTRIES * GPT_ENTRY_SIZE;
            vec![(0, 2 * ss + array), (disk_size - ss - array, disk_size)]
        }
        // The partition table proper: bytes 440..512 of LBA 0 (disk
        // signature, four entries, boot signature). Bytes 0..440 are boot code
        // that a blob may fill.
        TableKind::Mbr => vec![(440, 512)],
    }
}

fn align_up(v: u64, a: u64) -> u64 {
    v.div_ceil(a) * a
}

/// Places the partitions and checks the layout and every input's size.
pub fn plan(recipe: &Recipe) -> Result<Layout> {
    let disk = &recipe.disk;
    let ss = disk.sector_size;
    let mut problems: Vec<Problem> = Vec::new();
    check_disk_size(recipe)?;
    let mut layout = Layout {
        disk_size: disk.size,
        sector_size: ss,
        table: disk.table,
        partitions: Vec::new(),
        table_regions: table_regions(disk.table, disk.size, ss),
    };
    let (first, last) = layout.usable();
    let mut cursor = first;
    let mut prev: Option<&str> = None;
    for (i, part) in recipe.partitions.iter().enumerate() {
        let field = &part.field;
        let start = part_start(recipe, part, cursor, first, prev, &mut problems);
        let size = part_size(recipe, part, start, last, &mut problems);
        if size == 0 || start + size > last {
            problems.push(recipe.problem(
                &format!("{field}.size"),
                format!(
                    "partition `{}` ({start}..{}) does not fit the disk, whose last usable byte is {}",
                    part.name,
                    start + size,
                    last.saturating_sub(1)
                ),
            ));
        }
        if disk.table == TableKind::Mbr
            && (start / ss > u32::MAX as u64 || size / ss > u32::MAX as u64)
        {
            problems.push(recipe.problem(field, "an MBR addresses at most 2^32 sectors"));
        }
        check_content(recipe, &part.content, field, size, &mut problems);
        layout.partitions.push(Extent {
            index: i,
            name: part.name.clone(),
            start,
            size,
            part_type: part.part_type,
            bootable: part.bootable,
        });
        cursor = cursor.max(start + size);
        prev = Some(&part.name);
    }
    check_blobs(recipe, &layout, &mut problems);
    if problems.is_empty() {
        Ok(layout)
    } else {
        Err(Error::Invalid(problems))
    }
}

/// Refuses a disk too small for its partition table and one aligned
/// partition.
fn check_disk_size(recipe: &Recipe) -> Result<()> {
    let disk = &recipe.disk;
    let ss = disk.sector_size;
    let min_disk = match disk.table {
        TableKind::Gpt => 2 * (2 * ss + GPT_ENTRIES * GPT_ENTRY_SIZE) + disk.alignment,
        TableKind::Mbr => ss + disk.alignment,
    };
    if disk.size < min_disk {
        return Err(Error::Invalid(vec![recipe.problem(
            "disk.size",
            format!(
                "is too small for a {:?} table and one aligned partition",
                disk.table
            ),
        )]));
    }
    Ok(())
}

/// Where `part` starts: its `offset` (aligned, after the partition `prev`
/// that ends at `cursor`, or the table that ends at `first`), else the
/// next aligned byte after `cursor`.
fn part_start(
    recipe: &Recipe,
    part: &Partition,
    cursor: u64,
    first: u64,
    prev: Option<&str>,
    problems: &mut Vec<Problem>,
) -> u64 {
    let (disk, field) = (&recipe.disk, &part.field);
    let Some(off) = part.offset else {
        return align_up(cursor, disk.alignment);
    };
    if off % disk.alignment != 0 {
        problems.push(recipe.problem(
            &format!("{field}.offset"),
            format!(
                "{off} is not aligned to disk.alignment ({})",
                disk.alignment
            ),
        ));
    }
    if off < cursor {
        let what = match prev {
            Some(name) => format!("overlaps partition `{name}`, which ends at byte {cursor}"),
            None => format!("overlaps the partition table, which ends at byte {first}"),
        };
        problems.push(recipe.problem(&format!("{field}.offset"), what));
    }
    off
}

/// `part`'s length from `start`: its size in bytes (a multiple of the
/// sector size), or for `fill` up to `last`, the end of the usable space.
fn part_size(
    recipe: &Recipe,
    part: &Partition,
    start: u64,
    last: u64,
    problems: &mut Vec<Problem>,
) -> u64 {
    let (disk, ss) = (&recipe.disk, recipe.disk.sector_size);
    match part.size {
        PartSize::Bytes(b) => {
            if b % ss != 0 {
                problems.push(recipe.problem(
                    &format!("{}.size", part.field),
                    format!("must be a multiple of the sector size ({ss})"),
                ));
            }
            b
        }
        PartSize::Fill => {
            // End on an alignment boundary when the disk leaves room for
            // it (partitioning tools warn otherwise), else on a sector.
            let aligned = last / disk.alignment * disk.alignment;
            let end = if aligned > start {
                aligned
            } else {
                last / ss * ss
            };
            end.saturating_sub(start)
        }
    }
}

/// Every blob stays on the disk and off the partition table, the placed
/// partitions and the other blobs.
fn check_blobs(recipe: &Recipe, layout: &Layout, problems: &mut Vec<Problem>) {
    for blob in &recipe.blobs {
        let end = blob.offset + blob.len;
        if end > recipe.disk.size {
            problems.push(recipe.problem(
                &format!("{}.offset", blob.field),
                "the blob runs past the end of the disk",
            ));
        }
        for (s, e) in &layout.table_regions {
            if blob.offset < *e && *s < end {
                problems.push(recipe.problem(
                    &format!("{}.offset", blob.field),
                    format!(
                        "the blob ({}..{end}) overlaps the partition table ({s}..{e})",
                        blob.offset
                    ),
                ));
            }
        }
        for ext in &layout.partitions {
            if blob.offset < ext.end() && ext.start < end {
                problems.push(recipe.problem(
                    &format!("{}.offset", blob.field),
                    format!(
                        "the blob ({}..{end}) overlaps partition `{}` ({}..{})",
                        blob.offset,
                        ext.name,
                        ext.start,
                        ext.end()
                    ),
                ));
            }
        }
    }
    for (i, a) in recipe.blobs.iter().enumerate() {
        for b in &recipe.blobs[i + 1..] {
            if a.offset < b.offset + b.len && b.offset < a.offset + a.len {
                problems.push(recipe.problem(
                    &format!("{}.offset", b.field),
                    format!("the blob overlaps {}", a.field),
                ));
            }
        }
    }
}

fn check_content(
    recipe: &Recipe,
    content: &Content,
    field: &str,
    size: u64,
    problems: &mut Vec<Problem>,
) {
    match content {
        Content::Image(path) => {
            if let Ok(m) = std::fs::metadata(path) {
                if !m.is_file() {
                    problems.push(recipe.problem(
                        &format!("{field}.image"),
                        format!("`{}` is not a regular file", path.display()),
                    ));
                } else if m.len() > size {
                    problems.push(recipe.problem(
                        &format!("{field}.image"),
                        format!(
                            "`{}` is {} bytes, larger than its partition ({size} bytes)",
                            path.display(),
                            m.len()
                        ),
                    ));
                }
            }
        }
        Content::Fat(spec) => {
            let (tree, broken) = tree::Tree::walk(&spec.files);
            for np in broken {
                problems.push(recipe.problem(
                    &format!("{field}.fat.files[{}].{}", np.file, np.field),
                    np.rule,
                ));
            }
            if let Some(arch) = recipe.disk.arch {
                for rule in elf_arch::check(&tree, arch) {
                    problems.push(recipe.problem(&format!("{field}.fat.files"), rule));
                }
            }
            match geometry::choose(size, recipe.disk.sector_size, spec.bits) {
                Err(rule) => problems.push(recipe.problem(&format!("{field}.fat"), rule)),
                Ok(g) => {
                    for rule in geometry::check_fits(&g, &tree) {
                        problems.push(recipe.problem(&format!("{field}.fat.files"), rule));
                    }
                }
            }
        }
        Content::Credentials(c) => {
            if let crate::recipe::CredentialsFormat::Fat { path, .. } = &c.format {
                if let Err(rule) = geometry::choose(size, recipe.disk.sector_size, None) {
                    problems.push(recipe.problem(&format!("{field}.credentials"), rule));
                }
                if let Err(rule) = tree::Tree::default().add_bytes(path, &[]) {
                    problems.push(recipe.problem(&format!("{field}.credentials.path"), rule));
                }
            } else if size < 2 * burnline_core::credentials::record::MIN_SLOT {
                problems.push(recipe.problem(
                    &format!("{field}.size"),
                    format!(
                        "a credential record partition needs at least {} bytes",
                        2 * burnline_core::credentials::record::MIN_SLOT
                    ),
                ));
            } else if let Some(rule) = record_room(recipe, c.keep_product_secret, size) {
                problems.push(recipe.problem(&format!("{field}.size"), rule));
            }
        }
        Content::Empty => {}
    }
}

/// Whether the two slots of a credential record partition of `size` bytes
/// hold the largest record a device of `recipe` can need, once registration
/// has added its DeviceSecret (the platform issues it once: a record that
/// cannot hold it loses it); the rule broken if not.
fn record_room(recipe: &Recipe, keep_product_secret: bool, size: u64) -> Option<String> {
    use burnline_core::credentials::capacity::{largest_slot_of_any, Shape};
    let (device_secret, product_secret) = match &recipe.auth.mode {
        crate::recipe::AuthMode::DeviceSecret => (true, false),
        crate::recipe::AuthMode::ProductSecret { register, .. } => (
            *register == crate::recipe::RegisterAt::Host,
            *register == crate::recipe::RegisterAt::Device || keep_product_secret,
        ),
    };
    let largest = largest_slot_of_any(&Shape {
        device_secret,
        product_secret,
        region: recipe.auth.region.as_deref(),
        endpoint: recipe.auth.endpoint.as_deref(),
        keep_product_secret,
        register_via: recipe.auth.register_via.as_deref(),
    });
    let room = burnline_core::credentials::record::room(size / 2);
    (room < largest).then(|| {
        if room < size / 2 {
            format!(
                "a device's credential record can need {largest} bytes once registered (32-character DeviceName \
                 and secrets, the recipe's region and endpoint), more than the {room} a record may take: shorten \
                 the endpoint or the region"
            )
        } else {
            format!(
                "a device's credential record can need {largest} bytes per slot once registered (32-character \
                 DeviceName and secrets, the recipe's region and endpoint), so its two slots need at least {} \
                 bytes, but the partition has {size}",
                largest.saturating_mul(2)
            )
        }
    })
}
