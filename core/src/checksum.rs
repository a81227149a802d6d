//! A pack file's size and sha256 against the manifest's listing: over bytes in memory,
//! or as a file is read ([`ChecksumReader`]), so that a graph in a pack folder goes from
//! the file straight into its tensors, never whole in memory (on a float32 graph of
//! 100 MB, the allocation and copy of that buffer cost more than the hashing), each
//! chunk hashed while it is still in the cache.

use std::io::{self, Read};
use std::path::Path;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::manifest::FileEntry;

/// Bytes read (and then hashed) at a time: hashed while they are still in the L2 cache.
const CHUNK: usize = 256 * 1024;

/// Check `bytes`, the whole of the file `entry` lists.
pub(crate) fn check_bytes(entry: &FileEntry, bytes: &[u8]) -> Result<()> {
    check_size(entry, bytes.len() as u64)?;
    check_digest(entry, &Sha256::digest(bytes))
}

/// Check a file's size before reading it, so that a truncated or extended file is named
/// as such rather than by its checksum.
pub(crate) fn check_size(entry: &FileEntry, bytes: u64) -> Result<()> {
    if bytes != entry.bytes {
        return Err(Error::pack(
            &entry.path,
            format!("is {bytes} bytes, the manifest says {}", entry.bytes),
        ));
    }
    Ok(())
}

fn check_digest(entry: &FileEntry, digest: &[u8]) -> Result<()> {
    let actual: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    if !actual.eq_ignore_ascii_case(&entry.sha256) {
        return Err(Error::ChecksumMismatch {
            file: entry.path.clone(),
            expected: entry.sha256.clone(),
            actual,
        });
    }
    Ok(())
}

/// Hashes every byte read through it. Whoever reads the file through it must call
/// [`ChecksumReader::finish`] before using anything made from those bytes.
pub(crate) struct ChecksumReader<R> {
    inner: R,
    hasher: Sha256,
    read: u64,
    hashing: Duration,
}

impl<R: Read> ChecksumReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        ChecksumReader {
            inner,
            hasher: Sha256::new(),
            read: 0,
            hashing: Duration::ZERO,
        }
    }

    /// Read what is left (a reader may stop before the end, as a tar reader does at its end
    /// marker), then check the size and sha256 of everything read against `entry`. Returns
    /// the time spent hashing.
    pub(crate) fn finish(mut self, entry: &FileEntry, path: &Path) -> Result<Duration> {
        io::copy(&mut self, &mut io::sink()).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        check_size(entry, self.read)?;
        check_digest(entry, &self.hasher.finalize())?;
        Ok(self.hashing)
    }
}

impl<R: Read> Read for ChecksumReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let len = buf.len().min(CHUNK);
        let n = self.inner.read(&mut buf[..len])?;
        let start = Instant::now();
        self.hasher.update(&buf[..n]);
        self.hashing += start.elapsed();
        self.read += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(bytes: &[u8]) -> FileEntry {
        FileEntry {
            path: "graph.nnef.tar".into(),
            sha256: format!("{:x}", Sha256::digest(bytes)),
            bytes: bytes.len() as u64,
        }
    }

    /// Bytes of several chunks, none alike.
    fn bytes() -> Vec<u8> {
        (0..3 * CHUNK + 1234)
            .map(|i| (i * 7 + i / 251) as u8)
            .collect()
    }

    #[test]
    fn a_file_read_in_any_pieces_and_left_unfinished_passes() {
        let bytes = bytes();
        let listing = entry(&bytes);
        check_bytes(&listing, &bytes).unwrap();
        let mut reader = ChecksumReader::new(io::BufReader::new(bytes.as_slice()));
        // Small reads, one larger than a chunk, then stop early: `finish` reads the rest.
        let mut small = [0u8; 512];
        reader.read_exact(&mut small).unwrap();
        let mut large = vec![0u8; CHUNK + 999];
        reader.read_exact(&mut large).unwrap();
        assert_eq!(&large[..], &bytes[512..512 + CHUNK + 999]);
        reader.finish(&listing, Path::new("graph")).unwrap();
    }

    #[test]
    fn a_changed_byte_is_a_checksum_mismatch_and_a_changed_length_a_size_error() {
        let bytes = bytes();
        let listing = entry(&bytes);
        let mut flipped = bytes.clone();
        flipped[2 * CHUNK + 5] ^= 1;
        for damaged in [&flipped[..], &bytes[..bytes.len() - 1]] {
            let streamed = ChecksumReader::new(damaged).finish(&listing, Path::new("graph"));
            let whole = check_bytes(&listing, damaged);
            for err in [streamed.unwrap_err(), whole.unwrap_err()] {
                match (&err, damaged.len() == bytes.len()) {
                    (Error::ChecksumMismatch { file, .. }, true) => {
                        assert_eq!(file, "graph.nnef.tar")
                    }
                    (Error::InvalidPack { problem, .. }, false) => {
                        assert!(problem.contains("bytes"), "{problem}")
                    }
                    _ => panic!("unexpected error: {err}"),
                }
            }
        }
    }
}
