//! The data directory holds the embedded store and the key that encrypts database passwords:
//! the directory is kept at mode 0700 and every file in it at 0600. Checked at start; looser
//! modes are fixed and reported.

use std::path::Path;

/// Makes `dir` 0700 and each file directly in it 0600 (when `dir` exists), warning about
/// every mode it had to tighten. Does nothing on systems without Unix permissions.
pub(crate) fn secure(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let tighten = |path: &Path, mode: u32| -> std::io::Result<()> {
            let meta = std::fs::symlink_metadata(path)?;
            if meta.file_type().is_symlink() {
                return Ok(());
            }
            let current = meta.permissions().mode() & 0o777;
            if current & !mode != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = format!("{current:o}"),
                    "tightening permissions of the data directory to {mode:o}"
                );
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
            }
            Ok(())
        };
        if !dir.exists() {
            return Ok(());
        }
        tighten(dir, 0o700)?;
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                tighten(&entry.path(), 0o600)?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Creates `dir` with mode 0700 (and its parents as the umask says).
pub(crate) fn create(dir: &Path) -> std::io::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}
