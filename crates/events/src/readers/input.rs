//! Opening inputs: directory recursion and transparent decompression.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::FileError;

/// Bytes looked at to recognise a format.
const HEAD_BYTES: usize = 64 * 1024;

/// One opened input: a buffered, decompressed byte stream with its name.
pub struct Input {
    /// Provenance name of every event read from it (the path as given, or `-`).
    pub name: Arc<str>,
    /// The file, when the input is one (EVTX reads uncompressed files by path).
    pub path: Option<PathBuf>,
    /// Whether the bytes are decompressed from `.gz`/`.zst`.
    pub compressed: bool,
    /// The (decompressed) content. The first bytes are peeked by [`Input::head`] but not
    /// consumed.
    pub reader: BufReader<Box<dyn Read + Send>>,
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("name", &self.name)
            .field("compressed", &self.compressed)
            .finish()
    }
}

impl Input {
    /// Opens a file, detecting gzip and zstd by their magic bytes.
    pub fn open(path: &Path) -> Result<Input, FileError> {
        let file = fs_err::File::open(path).map_err(|e| FileError::new(path, e))?;
        let mut input = Input::wrap(path.display().to_string(), Box::new(file))?;
        input.path = Some(path.to_path_buf());
        Ok(input)
    }

    /// Wraps any stream, detecting compression.
    pub fn from_reader(name: &str, reader: Box<dyn Read + Send>) -> Result<Input, FileError> {
        Input::wrap(name.to_owned(), reader)
    }

    fn wrap(name: String, reader: Box<dyn Read + Send>) -> Result<Input, FileError> {
        let mut raw = BufReader::with_capacity(64 * 1024, reader);
        let magic = raw.fill_buf().map_err(|e| FileError::new(&name, e))?;
        let (reader, compressed): (Box<dyn Read + Send>, bool) = if magic.starts_with(&[0x1f, 0x8b])
        {
            (Box::new(flate2::read::MultiGzDecoder::new(raw)), true)
        } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            let decoder = ruzstd::decoding::StreamingDecoder::new(raw)
                .map_err(|e| FileError::new(&name, format!("zstd: {e}")))?;
            (Box::new(decoder), true)
        } else {
            (Box::new(raw), false)
        };
        Ok(Input {
            name: Arc::from(name),
            path: None,
            compressed,
            reader: BufReader::with_capacity(HEAD_BYTES, reader),
        })
    }

    /// The first bytes of the content, without consuming them.
    pub fn head(&mut self) -> Result<&[u8], FileError> {
        // A single fill may return less than is available (decompressors produce output
        // in blocks): the first block is enough to recognise every format we read.
        let name = self.name.clone();
        self.reader
            .fill_buf()
            .map_err(|e| FileError::new(&*name, e))
    }

    /// The input's path for error messages.
    pub fn path_buf(&self) -> PathBuf {
        super::display_path(&self.path, &self.name)
    }

    /// Reads the whole (decompressed) content into memory: for formats whose parser
    /// needs random access (EVTX from a compressed file or a stream).
    pub fn read_all(&mut self) -> Result<Vec<u8>, FileError> {
        let mut buf = Vec::new();
        self.reader
            .read_to_end(&mut buf)
            .map_err(|e| FileError::new(self.path_buf(), e))?;
        Ok(buf)
    }
}

/// Expands the paths given on the command line: files as they are, directories
/// recursively (sorted, so runs are repeatable; hidden entries skipped). Unreadable
/// entries are returned as errors beside the files found.
pub fn collect_inputs(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<FileError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        walk(path, true, &mut files, &mut errors);
    }
    (files, errors)
}

fn walk(path: &Path, top: bool, files: &mut Vec<PathBuf>, errors: &mut Vec<FileError>) {
    let meta = match fs_err::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            errors.push(FileError::new(path, e));
            return;
        }
    };
    if meta.is_file() {
        files.push(path.to_path_buf());
        return;
    }
    if !meta.is_dir() {
        if top {
            // A FIFO or device named explicitly is read as a stream.
            files.push(path.to_path_buf());
        }
        return;
    }
    let entries = match fs_err::read_dir(path) {
        Ok(e) => e,
        Err(e) => {
            errors.push(FileError::new(path, e));
            return;
        }
    };
    let mut children: Vec<PathBuf> = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => {
                if entry.file_name().to_string_lossy().starts_with('.') {
                    continue;
                }
                children.push(entry.path());
            }
            Err(e) => errors.push(FileError::new(path, e)),
        }
    }
    children.sort();
    for child in children {
        walk(&child, false, files, errors);
    }
}
