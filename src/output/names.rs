//! The file names of one device's outputs, all derived from its image's
//! name (`x.img`): its bmap, its delta and their Android sparse forms.
//! Computed once when the device's job is made (`crate::device::job`);
//! writers are handed the names and never derive them.

/// The name without a trailing `.img`.
fn stem(image_name: &str) -> &str {
    image_name.strip_suffix(".img").unwrap_or(image_name)
}

/// A full image's sparse name: `x.img` → `x.simg` (other names get
/// `.simg` added).
pub fn simg_name(image_name: &str) -> String {
    format!("{}.simg", stem(image_name))
}

/// A delta's sparse name: `x.img` → `x.delta.simg`.
pub fn delta_simg_name(image_name: &str) -> String {
    format!("{}.delta.simg", stem(image_name))
}

/// The bmap's file name for an image file name (`x.img` → `x.img.bmap`).
pub fn bmap_name(image_name: &str) -> String {
    format!("{image_name}.bmap")
}

/// The delta's file name for a device's image name (`x.img` → `x.img.delta`).
pub fn delta_name(image_name: &str) -> String {
    format!("{image_name}.delta")
}

/// Every file name one device's outputs may take, whatever the run's
/// output options (compressed forms add their extension to `image`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputNames {
    /// The full image (`x.img`).
    pub image: String,
    /// Its bmap (`x.img.bmap`).
    pub bmap: String,
    /// Its delta over the base (`x.img.delta`).
    pub delta: String,
    /// Its full image as Android sparse (`x.simg`).
    pub simg: String,
    /// Its delta as Android sparse (`x.delta.simg`).
    pub delta_simg: String,
}

impl OutputNames {
    /// The names derived from the image's name.
    pub fn of(image: String) -> Self {
        OutputNames {
            bmap: bmap_name(&image),
            delta: delta_name(&image),
            simg: simg_name(&image),
            delta_simg: delta_simg_name(&image),
            image,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_an_image() {
        assert_eq!(simg_name("gw-1.img"), "gw-1.simg");
        assert_eq!(simg_name("gw-1.bin"), "gw-1.bin.simg");
        assert_eq!(delta_simg_name("gw-1.img"), "gw-1.delta.simg");
        let n = OutputNames::of("gw-1.img".into());
        assert_eq!(
            [n.image, n.bmap, n.delta, n.simg, n.delta_simg],
            [
                "gw-1.img",
                "gw-1.img.bmap",
                "gw-1.img.delta",
                "gw-1.simg",
                "gw-1.delta.simg"
            ]
        );
    }
}
