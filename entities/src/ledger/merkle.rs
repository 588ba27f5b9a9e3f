//! RFC 9162 Merkle tree hashing: leaf and node hashes, an append-only frontier that yields the
//! root of the tree in O(log n) memory, and inclusion and consistency proofs with the RFC's
//! verification algorithms (sections 2.1.3.2 and 2.1.4.2).
//!
//! * leaf hash: `SHA-256(0x00 || entry bytes)`
//! * node hash: `SHA-256(0x01 || left || right)`
//! * the root of `n` leaves splits at the largest power of two `k < n`: `H(MTH(D[0:k]), MTH(D[k:n]))`
//! * the root of the empty tree is `SHA-256("")`.

use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// Height of the stored subtree roots ("tiles"): one per 256 leaves, so a proof reads at most a
/// few hundred leaf hashes plus one tile per 256 leaves instead of every leaf.
pub const TILE_HEIGHT: u32 = 8;

/// Leaves per tile.
pub const TILE_LEAVES: u64 = 1 << TILE_HEIGHT;

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The right edge of a growing tree: the roots of its perfect subtrees, largest first. Pushing
/// a leaf is amortised O(1); the root is O(log n). Serialises to `8 + 32·k` bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        self.push_with(leaf, |_, _, _| {});
    }

    /// Appends a leaf hash and reports every perfect subtree it completes as
    /// `(height, index, root)`: the subtree of `2^height` leaves starting at leaf
    /// `index * 2^height`.
    pub fn push_with(&mut self, leaf: Hash, mut completed: impl FnMut(u32, u64, &Hash)) {
        let new_size = self.size + 1;
        let mut node = leaf;
        let mut size = self.size;
        let mut height = 0;
        // Every trailing 1 bit of the old size is a perfect subtree that the new leaf completes.
        while size & 1 == 1 {
            let left = self.nodes.pop().expect("one node per set bit");
            node = node_hash(&left, &node);
            size >>= 1;
            height += 1;
            completed(height, (new_size >> height) - 1, &node);
        }
        self.nodes.push(node);
        self.size = new_size;
    }

    /// The tree's root hash.
    pub fn root(&self) -> Hash {
        fold_pieces(&self.nodes)
    }

    /// Serialises: size (u64 big-endian) then the subtree roots, largest first.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 32 * self.nodes.len());
        out.extend_from_slice(&self.size.to_be_bytes());
        for n in &self.nodes {
            out.extend_from_slice(n);
        }
        out
    }

    /// Parses what [`Frontier::to_bytes`] wrote; `None` if it is inconsistent.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (size, rest) = bytes.split_first_chunk::<8>()?;
        let size = u64::from_be_bytes(*size);
        if rest.len() % 32 != 0 || rest.len() / 32 != size.count_ones() as usize {
            return None;
        }
        let nodes = rest.chunks_exact(32).map(|c| c.try_into().expect("32-byte chunk")).collect();
        Some(Self { size, nodes })
    }
}

/// The root of `leaves` (any count), computed with a [`Frontier`].
pub fn root_of(leaves: &[Hash]) -> Hash {
    let mut f = Frontier::new();
    for l in leaves {
        f.push(*l);
    }
    f.root()
}

fn largest_power_of_two_below(n: u64) -> u64 {
    debug_assert!(n > 1);
    1 << (63 - (n - 1).leading_zeros())
}

/// The inclusion proof (audit path) of leaf `index` in the tree made of `leaves`
/// (RFC 9162 2.1.3.1), nearest sibling first. `None` if `index` is outside the tree.
pub fn inclusion_proof(index: u64, leaves: &[Hash]) -> Option<Vec<Hash>> {
    inclusion_proof_with(index, leaves.len() as u64, &mut |a, b| root_of(&leaves[a as usize..b as usize]))
}

/// As [`inclusion_proof`], for a tree of `size` leaves whose subtree roots `root(start, end)`
/// gives (`MTH(D[start:end])`; only ever asked for subtrees of the RFC's recursion).
pub fn inclusion_proof_with(index: u64, size: u64, root: &mut dyn FnMut(u64, u64) -> Hash) -> Option<Vec<Hash>> {
    if index >= size {
        return None;
    }
    let mut path = Vec::new();
    collect_path(index, 0, size, root, &mut path);
    Some(path)
}

fn collect_path(m: u64, start: u64, end: u64, root: &mut dyn FnMut(u64, u64) -> Hash, out: &mut Vec<Hash>) {
    let n = end - start;
    if n <= 1 {
        return;
    }
    let k = largest_power_of_two_below(n);
    if m < k {
        collect_path(m, start, start + k, root, out);
        out.push(root(start + k, end));
    } else {
        collect_path(m - k, start + k, end, root, out);
        out.push(root(start, start + k));
    }
}

/// The consistency proof between the first `first` leaves and all of `leaves`
/// (RFC 9162 2.1.4.1). `None` unless `0 < first <= leaves.len()`.
pub fn consistency_proof(first: u64, leaves: &[Hash]) -> Option<Vec<Hash>> {
    consistency_proof_with(first, leaves.len() as u64, &mut |a, b| root_of(&leaves[a as usize..b as usize]))
}

/// As [`consistency_proof`], with subtree roots from `root` (see [`inclusion_proof_with`]).
pub fn consistency_proof_with(first: u64, size: u64, root: &mut dyn FnMut(u64, u64) -> Hash) -> Option<Vec<Hash>> {
    if first == 0 || first > size {
        return None;
    }
    let mut out = Vec::new();
    subproof(first, 0, size, true, root, &mut out);
    Some(out)
}

fn subproof(m: u64, start: u64, end: u64, complete: bool, root: &mut dyn FnMut(u64, u64) -> Hash, out: &mut Vec<Hash>) {
    let n = end - start;
    if m == n {
        if !complete {
            out.push(root(start, end));
        }
        return;
    }
    let k = largest_power_of_two_below(n);
    if m <= k {
        subproof(m, start, start + k, complete, root, out);
        out.push(root(start + k, end));
    } else {
        subproof(m - k, start + k, end, false, root, out);
        out.push(root(start, start + k));
    }
}

/// The perfect subtrees whose roots make up `MTH(D[start:end])` for a subtree of the RFC's
/// recursion, largest (leftmost) first: one per set bit of `end - start`. Its root is their
/// right fold with [`node_hash`] (see [`fold_pieces`]).
pub fn perfect_pieces(start: u64, end: u64) -> Vec<(u64, u64)> {
    let mut pieces = Vec::new();
    let mut at = start;
    let n = end - start;
    for bit in (0..64).rev() {
        let size = 1u64 << bit;
        if n & size != 0 {
            pieces.push((at, at + size));
            at += size;
        }
    }
    pieces
}

/// The root of a range from the roots of its [`perfect_pieces`], in the same order.
pub fn fold_pieces(roots: &[Hash]) -> Hash {
    let mut iter = roots.iter().rev();
    match iter.next() {
        None => empty_root(),
        Some(last) => iter.fold(*last, |acc, left| node_hash(left, &acc)),
    }
}

/// Checks an inclusion proof (RFC 9162 2.1.3.2): that `leaf` is leaf `index` of the tree of
/// `size` leaves whose root is `root`.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && r == *root
}

/// Checks a consistency proof (RFC 9162 2.1.4.2): that the tree of `second` leaves with root
/// `second_root` extends the tree of `first` leaves with root `first_root`.
pub fn verify_consistency(first: u64, second: u64, proof: &[Hash], first_root: &Hash, second_root: &Hash) -> bool {
    if first == 0 || first > second {
        return false;
    }
    if first == second {
        return proof.is_empty() && first_root == second_root;
    }
    let mut proof: Vec<Hash> = proof.to_vec();
    if first.is_power_of_two() {
        proof.insert(0, *first_root);
    }
    let Some((head, rest)) = proof.split_first() else { return false };
    let (mut fnode, mut snode) = (first - 1, second - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (*head, *head);
    for c in rest {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && fr == *first_root && sr == *second_root
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An independent reference: the RFC's recursive definition of MTH, computed directly.
    fn reference_root(d: &[Hash]) -> Hash {
        match d.len() {
            0 => empty_root(),
            1 => d[0],
            n => {
                let k = largest_power_of_two_below(n as u64) as usize;
                node_hash(&reference_root(&d[..k]), &reference_root(&d[k..]))
            }
        }
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&(i as u64).to_be_bytes())).collect()
    }

    #[test]
    fn frontier_root_matches_the_recursive_definition_for_every_size() {
        let all = leaves(300);
        let mut f = Frontier::new();
        assert_eq!(f.root(), reference_root(&[]));
        for (i, l) in all.iter().enumerate() {
            f.push(*l);
            assert_eq!(f.root(), reference_root(&all[..=i]), "size {}", i + 1);
            assert_eq!(Frontier::from_bytes(&f.to_bytes()).as_ref(), Some(&f));
        }
    }

    #[test]
    fn pushing_reports_each_completed_subtree_with_its_root() {
        let all = leaves(64);
        let mut f = Frontier::new();
        let mut reported = Vec::new();
        for l in &all {
            f.push_with(*l, |h, i, root| reported.push((h, i, *root)));
        }
        assert_eq!(reported.len(), 63, "every internal node of a 64-leaf tree, once");
        for (h, i, root) in reported {
            let width = 1usize << h;
            let start = i as usize * width;
            assert_eq!(root, reference_root(&all[start..start + width]), "height {h} index {i}");
        }
    }

    #[test]
    fn frontier_rejects_inconsistent_bytes() {
        let mut f = Frontier::new();
        for l in leaves(5) {
            f.push(l);
        }
        let mut bytes = f.to_bytes();
        bytes.truncate(bytes.len() - 32);
        assert_eq!(Frontier::from_bytes(&bytes), None);
        assert_eq!(Frontier::from_bytes(&[1, 2]), None);
    }

    #[test]
    fn every_inclusion_proof_verifies_and_no_other_leaf_or_index_does() {
        let all = leaves(70);
        for size in 1..=all.len() {
            let d = &all[..size];
            let root = reference_root(d);
            for index in 0..size {
                let proof = inclusion_proof(index as u64, d).expect("in range");
                assert!(verify_inclusion(&d[index], index as u64, size as u64, &proof, &root));
                let other = (index + 1) % size;
                if other != index {
                    assert!(!verify_inclusion(&d[other], index as u64, size as u64, &proof, &root));
                    assert!(!verify_inclusion(&d[index], other as u64, size as u64, &proof, &root));
                }
                if let Some(first) = proof.first() {
                    let mut bad = proof.clone();
                    bad[0][0] ^= 1;
                    assert!(!verify_inclusion(&d[index], index as u64, size as u64, &bad, &root));
                    assert_ne!(first, &[0u8; 32]);
                    let mut longer = proof.clone();
                    longer.push(root);
                    assert!(!verify_inclusion(&d[index], index as u64, size as u64, &longer, &root));
                    assert!(!verify_inclusion(&d[index], index as u64, size as u64, &proof[1..], &root));
                }
            }
        }
        assert_eq!(inclusion_proof(3, &all[..3]), None);
    }

    #[test]
    fn every_consistency_proof_verifies_and_tampering_fails() {
        let all = leaves(40);
        for second in 1..=all.len() {
            let r2 = reference_root(&all[..second]);
            for first in 1..=second {
                let r1 = reference_root(&all[..first]);
                let proof = consistency_proof(first as u64, &all[..second]).expect("in range");
                assert!(verify_consistency(first as u64, second as u64, &proof, &r1, &r2), "{first}->{second}");
                if first < second {
                    let mut bad_root = r1;
                    bad_root[5] ^= 1;
                    assert!(!verify_consistency(first as u64, second as u64, &proof, &bad_root, &r2));
                    for i in 0..proof.len() {
                        let mut bad = proof.clone();
                        bad[i][31] ^= 0x80;
                        assert!(!verify_consistency(first as u64, second as u64, &bad, &r1, &r2));
                    }
                }
            }
        }
        assert_eq!(consistency_proof(0, &all), None);
        assert_eq!(consistency_proof(41, &all), None);
    }

    #[test]
    fn a_range_root_is_the_fold_of_its_perfect_pieces() {
        let all = leaves(300);
        for (start, end) in [(0usize, 300usize), (256, 300), (0, 1), (128, 131), (64, 128)] {
            let pieces = perfect_pieces(start as u64, end as u64);
            for (a, b) in &pieces {
                assert!((b - a).is_power_of_two() && a % (b - a) == 0, "aligned perfect piece {a}..{b}");
            }
            let roots: Vec<Hash> = pieces.iter().map(|&(a, b)| root_of(&all[a as usize..b as usize])).collect();
            assert_eq!(fold_pieces(&roots), reference_root(&all[start..end]), "{start}..{end}");
        }
    }

    #[test]
    fn known_answer_for_rfc_6962_test_vector_shape() {
        // Two leaves: root = H(0x01 || H(0x00||a) || H(0x00||b)), computed by hand with sha2.
        let a = leaf_hash(b"a");
        let b = leaf_hash(b"b");
        let mut h = Sha256::new();
        h.update([1u8]);
        h.update(a);
        h.update(b);
        let expected: Hash = h.finalize().into();
        assert_eq!(root_of(&[a, b]), expected);
        // The RFC's empty-tree hash.
        assert_eq!(
            empty_root(),
            [
                0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27,
                0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55
            ]
        );
    }
}
