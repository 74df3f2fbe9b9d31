//! One device's outputs, as the run's output options ask: a delta over the
//! base (base+delta output), or a full image with its bmap and compression,
//! or as an Android sparse image; everything under temp names for
//! [`super::settle`] to put in place. The writers get the job's names and
//! patches and return what they wrote; its manifest entry is completed here
//! from the job's skeleton.

use crate::delta::device as device_delta;
use crate::error::Result;
use crate::job::device_job::{DeviceBuilder, Job};
use crate::manifest::files::Sum;
use crate::output::artifacts;
use crate::output::device::{image_sum, write_image};
use crate::output::sparse;
use crate::output::staged::Staged;
use crate::recipe::output_spec::{ImageFormat, OutputMode, OutputSpec};

/// Writes `job`'s outputs under temp names. `base_sha` is the SHA-256 of
/// `base.img`, which deltas name.
pub fn stage(
    builder: &DeviceBuilder<'_>,
    job: &Job<'_>,
    spec: &OutputSpec,
    base_sha: &[u8; 32],
) -> Result<Staged> {
    match spec.mode {
        OutputMode::Deltas => delta(builder, job, base_sha, spec),
        OutputMode::Full if spec.format == ImageFormat::AndroidSparse => {
            sparse_image(builder, job, spec)
        }
        OutputMode::Full => full_image(builder, job, spec),
    }
}

/// A full raw image, then its bmap and compression.
fn full_image(builder: &DeviceBuilder<'_>, job: &Job<'_>, spec: &OutputSpec) -> Result<Staged> {
    let base = builder.base;
    let file = &job.outputs.image;
    let b = write_image(
        base,
        builder.reflink,
        &job.patches,
        builder.out_dir.join(file),
    )?;
    let sum = match image_sum(base, builder.tree.as_ref(), &job.patches, &b.temp) {
        Ok(sum) => sum,
        Err(e) => {
            let _ = std::fs::remove_file(&b.temp);
            return Err(e);
        }
    };
    let entry = job.entry.entry(file.clone(), base.len, sum);
    artifacts::finish(entry, b, &job.patches, &job.outputs.bmap, base, spec)
}

/// The full image as `NAME.simg`. The manifest lists the sparse file, with
/// the raw image's checksum and size beside it.
fn sparse_image(builder: &DeviceBuilder<'_>, job: &Job<'_>, spec: &OutputSpec) -> Result<Staged> {
    let base = builder.base;
    let name = &job.outputs.simg;
    let dest = builder.out_dir.join(name);
    let raw = image_sum(base, builder.tree.as_ref(), &job.patches, &dest)?;
    let data: Vec<(u64, u64)> = base
        .extents
        .iter()
        .copied()
        .chain(job.patches.iter().map(|p| (p.offset, p.bytes.len() as u64)))
        .collect();
    let w = sparse::write(
        &dest,
        base,
        &job.patches,
        &data,
        spec.sparse_block_size,
        spec.digest,
    )?;
    let mut entry = job
        .entry
        .entry(name.clone(), w.size, Sum::new(spec.digest, &w.digest));
    entry.artifacts.set_image_sum(raw);
    entry.artifacts.image_size = Some(base.len);
    Ok(Staged {
        entry,
        renames: vec![(w.temp, dest)],
        fresh: true,
    })
}

/// The device's delta over the base.
fn delta(
    builder: &DeviceBuilder<'_>,
    job: &Job<'_>,
    base_sha: &[u8; 32],
    spec: &OutputSpec,
) -> Result<Staged> {
    let base = builder.base;
    let w = device_delta::write(
        base,
        builder.tree.as_ref(),
        &job.patches,
        &job.outputs,
        &builder.out_dir,
        base_sha,
        spec,
    )?;
    let mut entry = job.entry.entry(w.file, w.size, w.sum);
    if let Some(sum) = w.image_sum {
        entry.artifacts.set_image_sum(sum);
    }
    entry.artifacts.image_size = Some(base.len);
    Ok(Staged {
        entry,
        renames: vec![(w.temp, w.dest)],
        fresh: true,
    })
}
