//! Delta sets (`build --deltas`, `output.mode: deltas`; `--station` and
//! `mode: station` are their old names): base plus deltas, the
//! format programmer stations take: the device-independent base image
//! written once ([`base_file`]: `base.img`), and per device only the bytes
//! that differ from it ([`device`]), as a delta file ([`format`]). `flash`
//! writes the base, then the delta. (The programmer station itself, which
//! flashes cards, is the `burnline-flash` crate.)

pub mod base_file;
pub mod device;
pub mod format;
