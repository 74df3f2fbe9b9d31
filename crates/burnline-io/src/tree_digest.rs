//! BLAKE3 of a device's image as base plus patches, without hashing the
//! whole disk per device. BLAKE3 is a Merkle tree over 1 KiB chunks whose
//! chaining values depend only on a chunk's bytes and its index, so a
//! [`BaseTree`] hashes the base image once and keeps the chaining values of
//! its subtrees down to leaves of `leaf` bytes. A device's digest then
//! rehashes only the leaves its patches touch and the nodes above them; a
//! card's read-back, only the leaves it wrote ([`BaseTree::digest_leaves`]).
//! The tree is split exactly as BLAKE3 splits it
//! ([`blake3::hazmat::left_subtree_len`]), so the result equals
//! `blake3::hash` (and `b3sum`) of the materialized image.

use super::hash::extents_overlapping;
use super::patch::{overlay, Patch};
use blake3::hazmat::{
    left_subtree_len, merge_subtrees_non_root, merge_subtrees_root, ChainingValue, HasherExt, Mode,
};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use zeroize::Zeroizing;

/// The smallest leaf: 16 chunks, enough for BLAKE3's SIMD to get going.
const MIN_LEAF: u64 = 16 * 1024;
/// Leaves double in size until there are at most this many.
const MAX_LEAVES: u64 = 1 << 16;
/// Subtrees larger than this are hashed on two threads.
const PARALLEL_FROM: u64 = 4 << 20;

/// The chaining values of a base image's BLAKE3 tree, down to its leaves.
#[derive(Debug)]
pub struct BaseTree {
    len: u64,
    leaf: u64,
    extents: Vec<(u64, u64)>,
    /// Every node's chaining value in pre-order: a node at `i` whose left
    /// subtree has `k` leaves has its left child at `i + 1` and its right
    /// child at `i + 2k`. The root's slot holds its non-root value (unused:
    /// the root is always finalized as the root).
    nodes: Vec<ChainingValue>,
}

impl BaseTree {
    /// Hashes the first `len` bytes of `base` (`extents` being its data
    /// extents, sorted; the rest reads as zeros and is not read). Subtrees
    /// are hashed in parallel (rayon's pool), as `b3sum` does.
    pub fn build(base: &File, len: u64, extents: &[(u64, u64)]) -> io::Result<Self> {
        let leaf = leaf_len(len);
        let mut tree = BaseTree {
            len,
            leaf,
            extents: extents.to_vec(),
            nodes: Vec::new(),
        };
        if len > leaf {
            let mut nodes = vec![[0u8; 32]; node_count(len, leaf)];
            let mut buf = vec![0u8; leaf as usize];
            tree.build_node(base, 0, len, &mut buf, &mut nodes)?;
            tree.nodes = nodes;
        }
        Ok(tree)
    }

    /// Fills `nodes` (exactly the subtree's nodes, in pre-order) with the
    /// chaining values of the subtree at `start`, `n` bytes long, and
    /// returns its own; `buf` holds a leaf.
    fn build_node(
        &self,
        base: &File,
        start: u64,
        n: u64,
        buf: &mut [u8],
        nodes: &mut [ChainingValue],
    ) -> io::Result<ChainingValue> {
        if n <= self.leaf {
            let bytes = &mut buf[..n as usize];
            self.read_base(base, start, bytes)?;
            let cv = leaf_cv(start, bytes);
            nodes[0] = cv;
            return Ok(cv);
        }
        let left = left_subtree_len(n);
        let (own, children) = nodes.split_at_mut(1);
        let (l_nodes, r_nodes) = children.split_at_mut(node_count(left, self.leaf));
        let (l, r) = if n > PARALLEL_FROM {
            rayon::join(
                || self.build_node(base, start, left, buf, l_nodes),
                || {
                    let mut own_buf = vec![0u8; self.leaf as usize];
                    self.build_node(base, start + left, n - left, &mut own_buf, r_nodes)
                },
            )
        } else {
            (
                self.build_node(base, start, left, buf, l_nodes),
                self.build_node(base, start + left, n - left, buf, r_nodes),
            )
        };
        let cv = merge_subtrees_non_root(&l?, &r?, Mode::Hash);
        own[0] = cv;
        Ok(cv)
    }

    /// Fills `buf` with the base's bytes at `pos`: zeros, then its data.
    fn read_base(&self, base: &File, pos: u64, buf: &mut [u8]) -> io::Result<()> {
        buf.fill(0);
        let n = buf.len() as u64;
        for &(s, l) in extents_overlapping(&self.extents, pos, n) {
            let a = s.max(pos);
            let b = (s + l).min(pos + n);
            base.read_exact_at(&mut buf[(a - pos) as usize..(b - pos) as usize], a)?;
        }
        Ok(())
    }

    /// The bytes of the image at `pos` (base with `patches` over it) in `buf`.
    fn read_patched(
        &self,
        base: &File,
        patches: &[Patch],
        pos: u64,
        buf: &mut [u8],
    ) -> io::Result<()> {
        self.read_base(base, pos, buf)?;
        overlay(patches, pos, buf);
        Ok(())
    }

    /// The BLAKE3 of the base image (read from `base`, the file this tree
    /// was built from) with `patches` (sorted by offset, not overlapping)
    /// written over it. Bytes of patches past the end of the image are
    /// ignored.
    pub fn digest_patched(&self, base: &File, patches: &[Patch]) -> io::Result<[u8; 32]> {
        let spans = patches.iter().map(|p| (p.offset, p.bytes.len() as u64));
        let touched = self.leaves_of(spans);
        self.digest_leaves(&touched, &mut |start, buf| {
            self.read_patched(base, patches, start, buf)
        })
    }

    /// The indexes of the leaves that `spans` (sorted by offset, not
    /// overlapping) touch, sorted.
    pub fn leaves_of(&self, spans: impl IntoIterator<Item = (u64, u64)>) -> Vec<u64> {
        let mut touched: Vec<u64> = Vec::new();
        for (offset, len) in spans {
            if len == 0 || offset >= self.len {
                continue;
            }
            let last = (offset + len).min(self.len) - 1;
            let (a, b) = (offset / self.leaf, last / self.leaf);
            let from = touched.last().map_or(a, |&t| a.max(t + 1));
            touched.extend(from..=b);
        }
        touched
    }

    /// The BLAKE3 of the image whose leaves `touched` (sorted indexes, as
    /// [`Self::leaves_of`] gives them) are what `fill(start, buf)` puts in
    /// `buf`, every other leaf the base's. Each touched leaf is filled
    /// once, in order (an image of one leaf is always filled).
    pub fn digest_leaves(
        &self,
        touched: &[u64],
        fill: &mut dyn FnMut(u64, &mut [u8]) -> io::Result<()>,
    ) -> io::Result<[u8; 32]> {
        // The leaf buffer may hold a credential record: wiped on drop.
        let mut buf = Zeroizing::new(vec![0u8; self.leaf.min(self.len) as usize]);
        if self.len <= self.leaf {
            fill(0, &mut buf)?;
            return Ok(*blake3::hash(&buf).as_bytes());
        }
        let mut walk = Walk {
            tree: self,
            fill,
            buf: &mut buf,
        };
        let left = left_subtree_len(self.len);
        let split = touched.partition_point(|&i| i * self.leaf < left);
        let k = left / self.leaf;
        let l = walk.node(1, 0, left, &touched[..split])?;
        let r = walk.node(2 * k as usize, left, self.len - left, &touched[split..])?;
        Ok(*merge_subtrees_root(&l, &r, Mode::Hash).as_bytes())
    }
}

/// One device's pass down the tree.
struct Walk<'a> {
    tree: &'a BaseTree,
    fill: &'a mut dyn FnMut(u64, &mut [u8]) -> io::Result<()>,
    buf: &'a mut [u8],
}

impl Walk<'_> {
    /// The chaining value of the non-root node `at` (`n` bytes at `start`),
    /// `touched` being the sorted indexes of the patched leaves under it.
    fn node(
        &mut self,
        at: usize,
        start: u64,
        n: u64,
        touched: &[u64],
    ) -> io::Result<ChainingValue> {
        let leaf = self.tree.leaf;
        if touched.is_empty() {
            return Ok(self.tree.nodes[at]);
        }
        if n <= leaf {
            let bytes = &mut self.buf[..n as usize];
            (self.fill)(start, bytes)?;
            return Ok(leaf_cv(start, bytes));
        }
        let left = left_subtree_len(n);
        let split = touched.partition_point(|&i| i * leaf < start + left);
        let k = (left / leaf) as usize;
        let l = self.node(at + 1, start, left, &touched[..split])?;
        let r = self.node(at + 2 * k, start + left, n - left, &touched[split..])?;
        Ok(merge_subtrees_non_root(&l, &r, Mode::Hash))
    }
}

/// The number of nodes of the tree over `n` bytes with leaves of `leaf`:
/// every inner node has two children.
fn node_count(n: u64, leaf: u64) -> usize {
    (2 * n.div_ceil(leaf) - 1) as usize
}

/// The leaf size for an image of `len` bytes: [`MIN_LEAF`], doubled until
/// there are at most [`MAX_LEAVES`] leaves.
fn leaf_len(len: u64) -> u64 {
    let mut leaf = MIN_LEAF;
    while len.div_ceil(leaf) > MAX_LEAVES {
        leaf *= 2;
    }
    leaf
}

/// The non-root chaining value of the leaf `bytes` at offset `start`.
fn leaf_cv(start: u64, bytes: &[u8]) -> ChainingValue {
    blake3::Hasher::new()
        .set_input_offset(start)
        .update(bytes)
        .finalize_non_root()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Deterministic bytes (xorshift64*), so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next() as u8).collect()
        }
    }

    /// A sparse base file of `len` bytes with data at `extents`, and its bytes.
    fn base_file(len: u64, extents: &[(u64, u64)], rng: &mut Rng) -> (File, Vec<u8>) {
        let mut f = tempfile::tempfile().expect("tempfile");
        let mut image = vec![0u8; len as usize];
        for &(s, l) in extents {
            let data = rng.bytes(l as usize);
            f.write_all_at(&data, s).expect("write");
            image[s as usize..(s + l) as usize].copy_from_slice(&data);
        }
        f.set_len(len).expect("set_len");
        f.flush().expect("flush");
        (f, image)
    }

    fn patch(offset: u64, bytes: Vec<u8>) -> Patch {
        Patch {
            offset,
            bytes: Zeroizing::new(bytes),
        }
    }

    /// Checks the tree's digests against `blake3::hash` of the materialized
    /// image, with no patches and with each set in `patch_sets`.
    fn check(len: u64, extents: &[(u64, u64)], patch_sets: &[Vec<Patch>], rng: &mut Rng) {
        let (f, image) = base_file(len, extents, rng);
        let tree = BaseTree::build(&f, len, extents).expect("build");
        assert_eq!(
            tree.digest_patched(&f, &[]).expect("digest"),
            *blake3::hash(&image).as_bytes(),
            "len {len}, no patches"
        );
        for patches in patch_sets {
            let mut want = image.clone();
            for p in patches {
                want[p.offset as usize..p.offset as usize + p.bytes.len()]
                    .copy_from_slice(&p.bytes);
            }
            assert_eq!(
                tree.digest_patched(&f, patches).expect("digest"),
                *blake3::hash(&want).as_bytes(),
                "len {len}, patches at {:?}",
                patches
                    .iter()
                    .map(|p| (p.offset, p.bytes.len()))
                    .collect::<Vec<_>>()
            );
        }
    }

    /// Random sorted, non-overlapping patches inside `len` bytes.
    fn random_patches(len: u64, count: usize, rng: &mut Rng) -> Vec<Patch> {
        let mut out: Vec<Patch> = Vec::new();
        let mut pos = 0u64;
        for _ in 0..count {
            if pos >= len {
                break;
            }
            let start = pos + rng.below((len - pos).min(3 * MIN_LEAF));
            let n = 1 + rng.below((len - start).min(40_000));
            out.push(patch(start, rng.bytes(n as usize)));
            pos = start + n;
        }
        out
    }

    /// Patches at the very start, across leaf boundaries and at the very end.
    fn edge_patches(len: u64, rng: &mut Rng) -> Vec<Vec<Patch>> {
        let mut sets = vec![
            vec![patch(0, rng.bytes(1))],
            vec![patch(len - 1, rng.bytes(1))],
            vec![
                patch(0, rng.bytes(512.min(len as usize))),
                patch(len - len.min(300), rng.bytes(len.min(300) as usize)),
            ],
        ];
        if len > MIN_LEAF + 100 {
            sets.push(vec![patch(MIN_LEAF - 50, rng.bytes(100))]);
        }
        if len > 3 * MIN_LEAF {
            sets.push(vec![patch(MIN_LEAF / 2, rng.bytes(2 * MIN_LEAF as usize))]);
        }
        for _ in 0..4 {
            sets.push(random_patches(len, 6, rng));
        }
        sets.retain(|s| {
            s.windows(2)
                .all(|w| w[0].offset + w[0].bytes.len() as u64 <= w[1].offset)
        });
        sets
    }

    #[test]
    fn small_and_odd_sizes_match_blake3() {
        let mut rng = Rng(0x5eed_b1a4e3);
        for len in [
            1u64,
            1023,
            1024,
            1025,
            2048,
            2049,
            MIN_LEAF - 1,
            MIN_LEAF,
            MIN_LEAF + 1,
            MIN_LEAF + 1024,
            2 * MIN_LEAF,
            3 * MIN_LEAF + 7,
            (1 << 20) + 512,
            3 << 20,
            (5 << 20) - 1024,
        ] {
            let sets = edge_patches(len, &mut rng);
            check(len, &[(0, len)], &sets, &mut rng);
        }
    }

    #[test]
    fn sparse_bases_match_blake3() {
        let mut rng = Rng(0xdead_beef);
        let len = (7 << 20) + 3 * 1024;
        let extents = [
            (0, 4096),
            (MIN_LEAF * 3 + 100, 70_000),
            (2 << 20, 1 << 20),
            (len - 5000, 5000),
        ];
        let sets = edge_patches(len, &mut rng);
        check(len, &extents, &sets, &mut rng);
        // All holes.
        check(len, &[], &edge_patches(len, &mut rng), &mut rng);
    }

    #[test]
    fn a_64_mib_image_matches_blake3() {
        let mut rng = Rng(64);
        let len = 64 << 20;
        let extents = [
            (0, 1 << 20),
            (17 << 20, 16 << 20),
            ((64 << 20) - 65536, 65536),
        ];
        let sets = edge_patches(len, &mut rng);
        check(len, &extents, &sets, &mut rng);
    }

    #[test]
    fn huge_images_grow_the_leaf() {
        assert_eq!(leaf_len(1), MIN_LEAF);
        assert_eq!(leaf_len(64 << 20), MIN_LEAF);
        assert_eq!(leaf_len(1 << 30), MIN_LEAF);
        assert_eq!(leaf_len((1 << 30) + 1), 2 * MIN_LEAF);
        assert_eq!(leaf_len(8 << 30), 128 * 1024);
        assert_eq!(leaf_len(1 << 40), 16 << 20);
    }
}
