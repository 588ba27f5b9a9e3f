//! Streaming encryption of export files: AES-256-GCM in the STREAM construction (Hoang,
//! Reyhanitabar, Rogaway and Vizár, "Online Authenticated-Encryption and its Nonce-Reuse
//! Misuse-Resistance", as `aead::stream::StreamBE32`), so neither side ever holds a whole file.
//!
//! **Layout.** A file is a 15-byte header, `MAGIC` (8 bytes, `LETHEX01`) followed by a random
//! 7-byte nonce prefix, then segments. Every segment but the last seals exactly
//! [`SEGMENT`] (64 KiB) bytes of plaintext; the last seals 0 to [`SEGMENT`] bytes. A sealed
//! segment is the ciphertext followed by its 16-byte tag. Segment `i` (from 0) is sealed under the
//! nonce `prefix (7) || i as u32 big-endian (4) || last (1 byte: 1 for the final segment, else 0)`
//! with the associated data `header || context`, where the context names what the file is (the
//! export's id for a package), so a file moved under another name does not open.
//!
//! **What is detected.** A changed byte fails its segment's tag; segments swapped, dropped or
//! duplicated fail (the counter is in the nonce); a file cut at a segment boundary fails (the
//! segment now read last was sealed as not last) and so does a file cut inside one (its tag);
//! bytes appended after the last segment fail (that segment was sealed as last). Every segment
//! is authenticated before any of its plaintext is released.
//!
//! Each file has its own random key ([`generate_key`]); the prefix is random too, so even a
//! reused key would not reuse a nonce in practice.

use std::io::{self, Read, Write};

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::KeyInit;
use aes_gcm::aead::stream::{DecryptorBE32, EncryptorBE32};
use rand::RngCore;
use zeroize::Zeroizing;

/// Plaintext bytes per segment.
pub const SEGMENT: usize = 64 * 1024;
/// Bytes a segment grows by when sealed (the GCM tag).
pub const TAG: usize = 16;
/// The file's first bytes: format and version.
pub const MAGIC: &[u8; 8] = b"LETHEX01";
/// Random nonce prefix bytes.
const PREFIX: usize = 7;
/// Header bytes: magic and nonce prefix.
pub const HEADER: usize = MAGIC.len() + PREFIX;

/// A 256-bit file key, wiped from memory when dropped.
pub type FileKey = Zeroizing<[u8; 32]>;

/// A fresh random key.
pub fn generate_key() -> FileKey {
    let mut key = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(&mut key[..]);
    key
}

/// A file key from stored bytes (`None` unless exactly 32 bytes).
pub fn key_from_bytes(bytes: &[u8]) -> Option<FileKey> {
    let key: [u8; 32] = bytes.try_into().ok()?;
    Some(Zeroizing::new(key))
}

/// A file that does not authenticate: damaged, truncated, extended, reordered, sealed under
/// another key or context, or not such a file at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the encrypted file does not authenticate (damaged, truncated, reordered or another key)")]
pub struct Damaged;

impl From<Damaged> for io::Error {
    fn from(e: Damaged) -> Self {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

fn associated_data(header: &[u8], context: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header.len() + context.len());
    aad.extend_from_slice(header);
    aad.extend_from_slice(context);
    aad
}

/// The plaintext length of an encrypted file of `file_len` bytes, or `None` if no file of that
/// length can be well formed.
pub fn plaintext_len(file_len: u64) -> Option<u64> {
    let body = file_len.checked_sub(HEADER as u64)?;
    let sealed = (SEGMENT + TAG) as u64;
    // Every segment but the last is full; the last carries at least its tag.
    let segments = body.div_ceil(sealed).max(1);
    let plain = body.checked_sub(segments * TAG as u64)?;
    if body % sealed != 0 && body % sealed < TAG as u64 {
        return None;
    }
    Some(plain)
}

/// Encrypts everything written to it into `inner`, segment by segment. Call
/// [`SegmentWriter::finish`] at the end: without the last segment the file does not open.
pub struct SegmentWriter<W: Write> {
    inner: W,
    encryptor: Option<EncryptorBE32<Aes256Gcm>>,
    aad: Vec<u8>,
    buffer: Vec<u8>,
}

impl<W: Write> SegmentWriter<W> {
    /// Writes the header to `inner` and returns a writer sealing under `key` and `context`.
    pub fn new(mut inner: W, key: &[u8; 32], context: &[u8]) -> io::Result<Self> {
        let mut header = [0u8; HEADER];
        header[..MAGIC.len()].copy_from_slice(MAGIC);
        rand::rngs::OsRng.fill_bytes(&mut header[MAGIC.len()..]);
        inner.write_all(&header)?;
        let cipher = Aes256Gcm::new_from_slice(key).expect("a 32-byte key");
        let encryptor = EncryptorBE32::from_aead(cipher, header[MAGIC.len()..].into());
        Ok(Self {
            inner,
            encryptor: Some(encryptor),
            aad: associated_data(&header, context),
            buffer: Vec::with_capacity(SEGMENT + TAG),
        })
    }

    /// Seals the buffered bytes as a segment that is not the last and writes it.
    fn seal_next(&mut self) -> io::Result<()> {
        let encryptor = self.encryptor.as_mut().ok_or_else(finished)?;
        encryptor
            .encrypt_next_in_place(&self.aad, &mut self.buffer)
            .map_err(|_| io::Error::other("too many segments"))?;
        self.inner.write_all(&self.buffer)?;
        self.buffer.clear();
        Ok(())
    }

    /// Seals the last segment and returns the inner writer (flushed).
    pub fn finish(mut self) -> io::Result<W> {
        let encryptor = self.encryptor.take().ok_or_else(finished)?;
        encryptor.encrypt_last_in_place(&self.aad, &mut self.buffer).map_err(|_| io::Error::other("sealing failed"))?;
        self.inner.write_all(&self.buffer)?;
        self.buffer.clear();
        self.inner.flush()?;
        Ok(self.inner)
    }
}

fn finished() -> io::Error {
    io::Error::other("the encrypted stream is already finished")
}

impl<W: Write> Write for SegmentWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        // A full buffer is sealed only once more data arrives: the last segment may be full.
        if self.buffer.len() == SEGMENT {
            self.seal_next()?;
        }
        let take = data.len().min(SEGMENT - self.buffer.len());
        self.buffer.extend_from_slice(&data[..take]);
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Opens the segments of one file in order. It does no I/O: callers feed it sealed segments
/// (see [`SegmentReader`] for a blocking reader and the API's download stream for an async one).
pub struct SegmentOpener {
    decryptor: Option<DecryptorBE32<Aes256Gcm>>,
    aad: Vec<u8>,
}

impl SegmentOpener {
    /// An opener for the file whose first [`HEADER`] bytes are `header`.
    pub fn new(key: &[u8; 32], header: &[u8], context: &[u8]) -> Result<Self, Damaged> {
        if header.len() != HEADER || &header[..MAGIC.len()] != MAGIC {
            return Err(Damaged);
        }
        let cipher = Aes256Gcm::new_from_slice(key).expect("a 32-byte key");
        let decryptor = DecryptorBE32::from_aead(cipher, header[MAGIC.len()..].into());
        Ok(Self { decryptor: Some(decryptor), aad: associated_data(header, context) })
    }

    /// Authenticates and decrypts the next sealed segment in place; `last` says whether it is
    /// the file's final one. After the last segment (or a failure) nothing more opens.
    pub fn open(&mut self, segment: &mut Vec<u8>, last: bool) -> Result<(), Damaged> {
        let Some(decryptor) = self.decryptor.as_mut() else { return Err(Damaged) };
        if segment.len() < TAG || segment.len() > SEGMENT + TAG || (!last && segment.len() != SEGMENT + TAG) {
            self.decryptor = None;
            return Err(Damaged);
        }
        let result = if last {
            let decryptor = self.decryptor.take().ok_or(Damaged)?;
            decryptor.decrypt_last_in_place(&self.aad, segment)
        } else {
            decryptor.decrypt_next_in_place(&self.aad, segment)
        };
        result.map_err(|_| {
            self.decryptor = None;
            Damaged
        })
    }
}

/// Decrypts a file written by [`SegmentWriter`] as it is read. A read that reaches a segment
/// that does not authenticate fails with [`io::ErrorKind::InvalidData`]; the end of the
/// plaintext is reported only after the last segment authenticated.
pub struct SegmentReader<R: Read> {
    inner: R,
    opener: SegmentOpener,
    /// Plaintext of the current segment, from `position`.
    plain: Vec<u8>,
    position: usize,
    /// One byte read past the current segment (it told us the segment was not the last).
    carry: Option<u8>,
    done: bool,
}

impl<R: Read> SegmentReader<R> {
    /// Reads the header from `inner` and returns a reader opening under `key` and `context`.
    pub fn new(mut inner: R, key: &[u8; 32], context: &[u8]) -> io::Result<Self> {
        let mut header = [0u8; HEADER];
        inner
            .read_exact(&mut header)
            .map_err(|e| if e.kind() == io::ErrorKind::UnexpectedEof { io::Error::from(Damaged) } else { e })?;
        let opener = SegmentOpener::new(key, &header, context)?;
        Ok(Self { inner, opener, plain: Vec::with_capacity(SEGMENT + TAG + 1), position: 0, carry: None, done: false })
    }

    /// Reads and opens the next segment into `plain`.
    fn next_segment(&mut self) -> io::Result<()> {
        let buffer = &mut self.plain;
        buffer.clear();
        buffer.extend(self.carry.take());
        // Read one byte beyond a full segment to learn whether this one is the last.
        let want = SEGMENT + TAG + 1;
        while buffer.len() < want {
            let start = buffer.len();
            buffer.resize(want, 0);
            let n = loop {
                match self.inner.read(&mut buffer[start..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            buffer.truncate(start + n);
            if n == 0 {
                break;
            }
        }
        let last = buffer.len() < want;
        if !last {
            self.carry = buffer.pop();
        }
        self.opener.open(buffer, last)?;
        self.position = 0;
        self.done = last;
        Ok(())
    }
}

impl<R: Read> Read for SegmentReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.position == self.plain.len() {
            if self.done || out.is_empty() {
                return Ok(0);
            }
            self.next_segment()?;
        }
        let n = out.len().min(self.plain.len() - self.position);
        out[..n].copy_from_slice(&self.plain[self.position..self.position + n]);
        self.position += n;
        Ok(n)
    }
}

/// The associated data a package file is sealed with: the organization and the export.
pub fn file_context(export: &lethe_entities::entity::export::Model) -> Vec<u8> {
    let mut ctx = Vec::with_capacity(48);
    ctx.extend_from_slice(b"lethe-export-file\0");
    ctx.extend_from_slice(export.organization_id.as_bytes());
    ctx.extend_from_slice(export.id.as_bytes());
    ctx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal(data: &[u8], key: &[u8; 32], context: &[u8]) -> Vec<u8> {
        let mut writer = SegmentWriter::new(Vec::new(), key, context).unwrap();
        // Uneven writes, to cross segment boundaries mid-write.
        for chunk in data.chunks(7_777) {
            writer.write_all(chunk).unwrap();
        }
        writer.finish().unwrap()
    }

    fn open(file: &[u8], key: &[u8; 32], context: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        SegmentReader::new(file, key, context)?.read_to_end(&mut out)?;
        Ok(out)
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    fn damaged(result: io::Result<Vec<u8>>) -> bool {
        matches!(result, Err(e) if e.kind() == io::ErrorKind::InvalidData)
    }

    #[test]
    fn round_trips_at_every_boundary() {
        let key = generate_key();
        for len in [0, 1, TAG, SEGMENT - 1, SEGMENT, SEGMENT + 1, 2 * SEGMENT, 3 * SEGMENT + 17] {
            let plain = data(len);
            let file = seal(&plain, &key, b"ctx");
            assert_eq!(plaintext_len(file.len() as u64), Some(len as u64), "length of {len}");
            assert_eq!(open(&file, &key, b"ctx").unwrap(), plain, "round trip of {len}");
            if len > 64 {
                assert!(!file.windows(64).any(|w| w == &plain[..64]), "no plaintext in the file");
            }
        }
    }

    #[test]
    fn a_changed_byte_anywhere_is_detected() {
        let key = generate_key();
        let file = seal(&data(2 * SEGMENT + 100), &key, b"ctx");
        for at in [0, 9, HEADER, HEADER + SEGMENT, HEADER + SEGMENT + TAG + 5, file.len() - 1] {
            let mut tampered = file.clone();
            tampered[at] ^= 0x01;
            assert!(damaged(open(&tampered, &key, b"ctx")), "byte {at}");
        }
    }

    #[test]
    fn truncation_and_extension_are_detected() {
        let key = generate_key();
        let file = seal(&data(3 * SEGMENT), &key, b"ctx");
        let sealed = SEGMENT + TAG;
        for len in [0, HEADER - 1, HEADER, HEADER + 10, HEADER + sealed, HEADER + 2 * sealed, file.len() - 1] {
            assert!(damaged(open(&file[..len], &key, b"ctx")), "cut at {len}");
        }
        let mut longer = file.clone();
        longer.extend_from_slice(&[0; TAG]);
        assert!(damaged(open(&longer, &key, b"ctx")), "extended");
        // Exactly full segments: dropping the (full) last one leaves a file whose final segment
        // was sealed as not last.
        let full = seal(&data(2 * SEGMENT), &key, b"ctx");
        assert!(damaged(open(&full[..HEADER + sealed], &key, b"ctx")));
        assert_eq!(open(&full, &key, b"ctx").unwrap().len(), 2 * SEGMENT);
    }

    #[test]
    fn reordered_or_duplicated_segments_are_detected() {
        let key = generate_key();
        let file = seal(&data(3 * SEGMENT + 5), &key, b"ctx");
        let sealed = SEGMENT + TAG;
        let segment = |i: usize| &file[HEADER + i * sealed..(HEADER + (i + 1) * sealed).min(file.len())];
        let mut swapped = file[..HEADER].to_vec();
        for i in [1, 0, 2, 3] {
            swapped.extend_from_slice(segment(i));
        }
        assert!(damaged(open(&swapped, &key, b"ctx")), "swapped");
        let mut duplicated = file[..HEADER].to_vec();
        for i in [0, 0, 1, 2, 3] {
            duplicated.extend_from_slice(segment(i));
        }
        assert!(damaged(open(&duplicated, &key, b"ctx")), "duplicated");
        let mut dropped = file[..HEADER].to_vec();
        for i in [0, 2, 3] {
            dropped.extend_from_slice(segment(i));
        }
        assert!(damaged(open(&dropped, &key, b"ctx")), "dropped");
    }

    #[test]
    fn another_key_or_context_does_not_open() {
        let key = generate_key();
        let file = seal(&data(1000), &key, b"export-a");
        assert!(damaged(open(&file, &generate_key(), b"export-a")));
        assert!(damaged(open(&file, &key, b"export-b")));
        assert_ne!(seal(b"same", &key, b"c"), seal(b"same", &key, b"c"), "fresh nonce prefix per file");
    }

    #[test]
    fn lengths_that_cannot_be_files_are_refused() {
        assert_eq!(plaintext_len(0), None);
        assert_eq!(plaintext_len((HEADER + TAG - 1) as u64), None);
        assert_eq!(plaintext_len((HEADER + TAG) as u64), Some(0));
        assert_eq!(plaintext_len((HEADER + SEGMENT + TAG + 3) as u64), None);
    }
}
