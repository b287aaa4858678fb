//! Files only their owner can read: backups are whole databases, so local regions' folders are
//! created `0700` and their files `0600`, whatever the process's umask.

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode of the folders xbak creates.
pub const DIR_MODE: u32 = 0o700;
/// Mode of the files xbak creates.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` and its missing parents, each `0700`; an existing folder is left as it is.
pub fn create_dir_all(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
}

/// Options that create a file `0600`.
pub fn open_options() -> std::fs::OpenOptions {
    let mut o = std::fs::OpenOptions::new();
    o.mode(FILE_MODE);
    o
}

/// Creates `path` as a new, empty file (`0600`, open for reading and writing), with its missing
/// parent folders (`0700`); fails if it exists.
pub fn create_new_file(path: &Path) -> std::io::Result<std::fs::File> {
    if let Some(dir) = path.parent() {
        create_dir_all(dir)?;
    }
    open_options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
}

/// Takes group and other permissions away from an existing `dir`; `true` when it had any.
pub fn tighten_dir(dir: &Path) -> std::io::Result<bool> {
    let mode = std::fs::metadata(dir)?.permissions().mode();
    if mode & 0o077 == 0 {
        return Ok(false);
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & !0o077 & 0o7777))?;
    Ok(true)
}
