//! One device's outputs, as the run's output options ask: a delta over the
//! base (base+delta output), or a full image with its bmap and compression,
//! or as an Android sparse image; everything under temp names for
//! [`super::settle`] to put in place.

use crate::delta::device as device_delta;
use crate::device::job::{DeviceBuilder, Job};
use crate::device::staged::Staged;
use crate::error::Result;
use crate::output::artifacts;
use crate::output::device::write_image;
use crate::output::sparse;
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
        OutputMode::BaseDelta => device_delta::build(builder, job, base_sha, spec),
        OutputMode::Full if spec.format == ImageFormat::AndroidSparse => {
            sparse::stage_full(builder, job, spec)
        }
        OutputMode::Full => {
            let b = write_image(builder, job)?;
            artifacts::finish(b, job, builder.base, spec)
        }
    }
}
