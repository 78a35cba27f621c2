//! Template directories as deterministic ustar archives, keyed by their sha256.

use std::path::{Path, PathBuf};

use sha2::Digest;

/// A packed template directory.
#[derive(Debug, Clone)]
pub struct TemplateArchive {
    /// The ustar archive.
    pub bytes: Vec<u8>,
    /// sha256 of the archive (hex).
    pub sha256: String,
    /// Whether a `.tf` or `.tf.json` file sits at the top level.
    pub has_terraform: bool,
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let path = e?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with('.') {
            // .terraform, .git, editor files: not part of the template.
            continue;
        }
        if path.is_dir() {
            walk(root, &path, out)?;
        } else if path.is_file() {
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().to_string())
                .collect::<Vec<_>>()
                .join("/");
            out.push((rel, path));
        }
    }
    Ok(())
}

/// Packs `dir` as a ustar archive: sorted paths, fixed mtime, owner and group 0, mode 0644 or
/// 0755, hidden files skipped. The same contents always give the same bytes and digest.
pub fn archive_dir(dir: &Path) -> Result<TemplateArchive, String> {
    if !dir.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    let mut files = vec![];
    walk(dir, dir, &mut files).map_err(|e| format!("read {}: {e}", dir.display()))?;
    files.sort();
    let mut tar = tar::Builder::new(Vec::new());
    let mut has_terraform = false;
    for (rel, path) in &files {
        let data = std::fs::read(path).map_err(|e| format!("read {}: {e}", path.display()))?;
        if !rel.contains('/') && (rel.ends_with(".tf") || rel.ends_with(".tf.json")) {
            has_terraform = true;
        }
        let executable = {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::metadata(path)
                    .map(|m| m.permissions().mode() & 0o111 != 0)
                    .unwrap_or(false)
            }
            #[cfg(not(unix))]
            {
                false
            }
        };
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(if executable { 0o755 } else { 0o644 });
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, rel, &data[..])
            .map_err(|e| format!("archive {rel}: {e}"))?;
    }
    let bytes = tar.into_inner().map_err(|e| format!("archive: {e}"))?;
    let sha256 = hex::encode(sha2::Sha256::digest(&bytes));
    Ok(TemplateArchive {
        bytes,
        sha256,
        has_terraform,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archives_are_deterministic_and_content_keyed() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("main.tf"), "resource \"null\" \"x\" {}\n").unwrap();
        std::fs::create_dir(d.path().join(".terraform")).unwrap();
        std::fs::write(d.path().join(".terraform/junk"), "x").unwrap();
        let a = archive_dir(d.path()).unwrap();
        let b = archive_dir(d.path()).unwrap();
        assert_eq!(a.sha256, b.sha256);
        assert!(a.has_terraform);
        std::fs::write(d.path().join("main.tf"), "# changed\n").unwrap();
        assert_ne!(archive_dir(d.path()).unwrap().sha256, a.sha256);
        let empty = tempfile::tempdir().unwrap();
        std::fs::write(empty.path().join("README.md"), "x").unwrap();
        assert!(!archive_dir(empty.path()).unwrap().has_terraform);
    }
}
