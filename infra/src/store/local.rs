//! The local-folder store: the embedded default. It keeps every read and write inside its
//! folder even when someone can plant symbolic links there: each path below the root is
//! walked one component at a time from a descriptor of the root, every component opened with
//! `O_NOFOLLOW` relative to the one before (`openat`), so a link anywhere under the root — a
//! stem `uploads/x.wav -> /etc/shadow`, a directory `generations/<id> -> /tmp` — is refused
//! with a reason instead of followed, and nothing can swap a component for a link between a
//! check and the use (there is no separate check). Directories are created the same way.
//! The root itself is resolved once, when the store is opened: it is configuration, not data.
//!
//! Writes go to a temporary file first and are renamed into place (in the same directory
//! descriptor), so a reader never sees half an object.

use super::StoreError;
use rustix::fs::{AtFlags, CWD, Dir, FileType, Mode, OFlags};
use rustix::io::Errno;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

/// Flags for a directory component: never follow a link, never leak into a child process.
fn dir_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

/// Tells apart temporary files of concurrent writes of the same key in one process.
static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// Why a walk below the root stopped.
enum Stop {
    /// A component does not exist (reads only; writes create it).
    Missing,
    Store(StoreError),
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Stop::Store(e)
    }
}

impl LocalStore {
    pub fn new(root: PathBuf) -> Result<Self, StoreError> {
        std::fs::create_dir_all(&root).map_err(|source| StoreError::Io {
            path: root.clone(),
            source,
        })?;
        let root = root.canonicalize().map_err(|source| StoreError::Io {
            path: root.clone(),
            source,
        })?;
        Ok(LocalStore { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn io(&self, rel: &str, e: impl Into<std::io::Error>) -> StoreError {
        StoreError::Io {
            path: self.root.join(rel),
            source: e.into(),
        }
    }

    fn open_root(&self) -> Result<OwnedFd, StoreError> {
        rustix::fs::openat(
            CWD,
            &self.root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| self.io("", e))
    }

    /// Why `name` in `dir` (at `rel` below the root) could not be opened without following
    /// a link: a link or a non-directory in the way is refused, anything else is I/O.
    fn refusal(&self, key: &str, dir: &OwnedFd, name: &str, rel: &str, e: Errno) -> StoreError {
        if e == Errno::LOOP || e == Errno::NOTDIR || e == Errno::MLINK {
            let what = match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => {
                    "is a symbolic link; the local store does not follow links"
                }
                Ok(_) => "is not a directory",
                Err(_) => "could not be opened without following a link",
            };
            return StoreError::Refused {
                key: key.to_string(),
                reason: format!("'{rel}' {what}"),
            };
        }
        self.io(rel, e)
    }

    /// Opens the directories `parts` below the root one by one, never following a link;
    /// with `create`, missing ones are made (also without following a link).
    fn walk(&self, key: &str, parts: &[&str], create: bool) -> Result<OwnedFd, Stop> {
        let mut fd = self.open_root()?;
        let mut rel = String::new();
        for part in parts {
            if !rel.is_empty() {
                rel.push('/');
            }
            rel.push_str(part);
            let next = match rustix::fs::openat(&fd, *part, dir_flags(), Mode::empty()) {
                Ok(next) => next,
                Err(Errno::NOENT) if create => {
                    match rustix::fs::mkdirat(&fd, *part, Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(self.io(&rel, e).into()),
                    }
                    rustix::fs::openat(&fd, *part, dir_flags(), Mode::empty())
                        .map_err(|e| self.refusal(key, &fd, part, &rel, e))?
                }
                Err(Errno::NOENT) => return Err(Stop::Missing),
                Err(e) => return Err(self.refusal(key, &fd, part, &rel, e).into()),
            };
            fd = next;
        }
        Ok(fd)
    }

    /// A key's directories and file name, after the same checks the store applies to
    /// every key (relative, no `.`/`..`/empty segments).
    fn split(key: &str) -> Result<(Vec<&str>, &str), StoreError> {
        resonantgen_core::lock_uri::check_key(key).map_err(|reason| StoreError::InvalidKey {
            key: key.to_string(),
            reason,
        })?;
        let mut parts: Vec<&str> = key.split('/').collect();
        let name = parts.pop().unwrap_or(key);
        Ok((parts, name))
    }

    fn put_blocking(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let (parts, name) = Self::split(key)?;
        let dir = match self.walk(key, &parts, true) {
            Ok(dir) => dir,
            // Unreachable with `create`, but say what it would mean.
            Err(Stop::Missing) => return Err(StoreError::NotFound(key.to_string())),
            Err(Stop::Store(e)) => return Err(e),
        };
        let tmp = format!(
            "{name}.tmp.{}.{}",
            std::process::id(),
            TMP_SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let file = rustix::fs::openat(
            &dir,
            tmp.as_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        )
        .map_err(|e| self.io(key, e))?;
        let written = std::fs::File::from(file).write_all(bytes);
        if let Err(e) = written {
            let _ = rustix::fs::unlinkat(&dir, tmp.as_str(), AtFlags::empty());
            return Err(self.io(key, e));
        }
        // rename(2) replaces a link at `name` itself; it never writes through one.
        if let Err(e) = rustix::fs::renameat(&dir, tmp.as_str(), &dir, name) {
            let _ = rustix::fs::unlinkat(&dir, tmp.as_str(), AtFlags::empty());
            return Err(self.io(key, e));
        }
        Ok(())
    }

    fn get_blocking(&self, key: &str, max_bytes: u64) -> Result<Vec<u8>, StoreError> {
        let (parts, name) = Self::split(key)?;
        let dir = match self.walk(key, &parts, false) {
            Ok(dir) => dir,
            Err(Stop::Missing) => return Err(StoreError::NotFound(key.to_string())),
            Err(Stop::Store(e)) => return Err(e),
        };
        // NONBLOCK: a FIFO planted under the root must not hang the reader in open(2).
        let fd = match rustix::fs::openat(
            &dir,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Err(StoreError::NotFound(key.to_string())),
            Err(e) if e == Errno::LOOP || e == Errno::MLINK => {
                return Err(self.refusal(key, &dir, name, key, e));
            }
            Err(e) => return Err(self.io(key, e)),
        };
        let st = rustix::fs::fstat(&fd).map_err(|e| self.io(key, e))?;
        match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => {}
            FileType::Directory => return Err(StoreError::NotFound(key.to_string())),
            other => {
                return Err(StoreError::Refused {
                    key: key.to_string(),
                    reason: format!("'{key}' is not a regular file ({other:?})"),
                });
            }
        }
        let size = u64::try_from(st.st_size).unwrap_or(0);
        if size > max_bytes {
            return Err(StoreError::TooLarge {
                key: key.to_string(),
                size,
                limit: max_bytes,
            });
        }
        let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        std::fs::File::from(fd)
            .take(max_bytes.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| self.io(key, e))?;
        // It grew between fstat and the read.
        if out.len() as u64 > max_bytes {
            return Err(StoreError::TooLarge {
                key: key.to_string(),
                size: out.len() as u64,
                limit: max_bytes,
            });
        }
        Ok(out)
    }

    fn list_blocking(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let parts: Vec<&str> = prefix.split('/').filter(|p| !p.is_empty()).collect();
        if !parts.is_empty() {
            resonantgen_core::lock_uri::check_key(&parts.join("/")).map_err(|reason| {
                StoreError::InvalidKey {
                    key: prefix.to_string(),
                    reason,
                }
            })?;
        }
        let top = match self.walk(prefix, &parts, false) {
            Ok(dir) => dir,
            Err(Stop::Missing) => return Ok(Vec::new()),
            Err(Stop::Store(e)) => return Err(e),
        };
        let mut out = Vec::new();
        let mut stack = vec![(top, parts.join("/"))];
        while let Some((fd, rel)) = stack.pop() {
            let join = |name: &str| {
                if rel.is_empty() {
                    name.to_string()
                } else {
                    format!("{rel}/{name}")
                }
            };
            let dir = Dir::read_from(&fd).map_err(|e| self.io(&rel, e))?;
            for entry in dir {
                let entry = entry.map_err(|e| self.io(&rel, e))?;
                let Ok(name) = entry.file_name().to_str() else {
                    tracing::warn!(dir = %rel, "skipping a non-UTF-8 name in the local store");
                    continue;
                };
                if name == "." || name == ".." {
                    continue;
                }
                let path = join(name);
                let kind = match entry.file_type() {
                    FileType::Unknown => {
                        match rustix::fs::statat(&fd, name, AtFlags::SYMLINK_NOFOLLOW) {
                            Ok(st) => FileType::from_raw_mode(st.st_mode),
                            Err(Errno::NOENT) => continue,
                            Err(e) => return Err(self.io(&path, e)),
                        }
                    }
                    known => known,
                };
                match kind {
                    FileType::Directory => {
                        let child = rustix::fs::openat(&fd, name, dir_flags(), Mode::empty())
                            .map_err(|e| self.refusal(&path, &fd, name, &path, e))?;
                        stack.push((child, path));
                    }
                    // Half-written objects (`<name>.tmp.<n>`, renamed into place when
                    // complete) are not listed.
                    FileType::RegularFile if !name.contains(".tmp.") => out.push(path),
                    FileType::RegularFile => {}
                    FileType::Symlink => {
                        return Err(StoreError::Refused {
                            key: path.clone(),
                            reason: format!(
                                "'{path}' is a symbolic link; the local store does not follow links"
                            ),
                        });
                    }
                    _ => {}
                }
            }
        }
        Ok(out)
    }

    /// Writes `bytes` under `key` (directories created as needed, links refused).
    pub async fn put(&self, key: &str, bytes: Arc<Vec<u8>>) -> Result<(), StoreError> {
        let (store, key_owned) = (self.clone(), key.to_string());
        blocking(key, move || store.put_blocking(&key_owned, &bytes)).await
    }

    /// Reads the object `key`, refusing objects above `max_bytes` and anything reached
    /// through a link.
    pub async fn get(&self, key: &str, max_bytes: u64) -> Result<Vec<u8>, StoreError> {
        let (store, key_owned) = (self.clone(), key.to_string());
        blocking(key, move || store.get_blocking(&key_owned, max_bytes)).await
    }

    /// Keys of the objects below the folder `prefix` (a link anywhere there is an error).
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let (store, prefix_owned) = (self.clone(), prefix.to_string());
        blocking(prefix, move || store.list_blocking(&prefix_owned)).await
    }
}

/// Runs file-system calls on the blocking pool (as tokio::fs does).
async fn blocking<T: Send + 'static>(
    what: &str,
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Io {
            path: PathBuf::from(what),
            source: std::io::Error::other(e.to_string()),
        })?
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn store() -> (tempfile::TempDir, LocalStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().join("store")).unwrap();
        (dir, store)
    }

    fn refused(e: &StoreError) -> bool {
        matches!(e, StoreError::Refused { .. }) && !e.is_transient()
    }

    #[tokio::test]
    async fn round_trip_and_listing() {
        let (_d, s) = store();
        s.put("generations/x/stems/drums.wav", Arc::new(b"abc".to_vec()))
            .await
            .unwrap();
        s.put("generations/x/mix.wav", Arc::new(b"m".to_vec()))
            .await
            .unwrap();
        assert_eq!(
            s.get("generations/x/stems/drums.wav", 10).await.unwrap(),
            b"abc"
        );
        let mut keys = s.list("generations/x/").await.unwrap();
        keys.sort();
        assert_eq!(
            keys,
            ["generations/x/mix.wav", "generations/x/stems/drums.wav"]
        );
        assert!(s.list("generations/none/").await.unwrap().is_empty());
        assert!(matches!(
            s.get("generations/x/stems/missing.wav", 10).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.get("generations/x/mix.wav", 0).await,
            Err(StoreError::TooLarge { .. })
        ));
        // Overwrite replaces the object.
        s.put("generations/x/mix.wav", Arc::new(b"new".to_vec()))
            .await
            .unwrap();
        assert_eq!(s.get("generations/x/mix.wav", 10).await.unwrap(), b"new");
    }

    #[tokio::test]
    async fn reads_refuse_a_linked_file() {
        let (d, s) = store();
        let secret = d.path().join("secret.wav");
        std::fs::write(&secret, b"outside").unwrap();
        std::fs::create_dir_all(s.root().join("uploads")).unwrap();
        symlink(&secret, s.root().join("uploads/loop.wav")).unwrap();
        let e = s.get("uploads/loop.wav", 1 << 20).await.unwrap_err();
        assert!(refused(&e), "{e}");
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(!e.to_string().contains("outside"));
    }

    #[tokio::test]
    async fn reads_refuse_a_linked_directory() {
        let (d, s) = store();
        let outside = d.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("loop.wav"), b"outside").unwrap();
        symlink(&outside, s.root().join("uploads")).unwrap();
        let e = s.get("uploads/loop.wav", 1 << 20).await.unwrap_err();
        assert!(refused(&e), "{e}");
        assert!(
            e.to_string().contains("'uploads' is a symbolic link"),
            "{e}"
        );
        let e = s.list("uploads/").await.unwrap_err();
        assert!(refused(&e), "{e}");
    }

    #[tokio::test]
    async fn writes_refuse_a_linked_directory_and_leave_the_outside_untouched() {
        let (d, s) = store();
        let outside = d.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::create_dir_all(s.root().join("generations")).unwrap();
        symlink(&outside, s.root().join("generations/01ABC")).unwrap();
        for key in [
            "generations/01ABC/mix.wav",
            "generations/01ABC/stems/bass.wav",
        ] {
            let e = s.put(key, Arc::new(b"x".to_vec())).await.unwrap_err();
            assert!(refused(&e), "{key}: {e}");
            assert!(e.to_string().contains("generations/01ABC"), "{e}");
        }
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn a_write_over_a_linked_file_replaces_the_link_not_its_target() {
        let (d, s) = store();
        let target = d.path().join("target.wav");
        std::fs::write(&target, b"keep").unwrap();
        std::fs::create_dir_all(s.root().join("g")).unwrap();
        symlink(&target, s.root().join("g/mix.wav")).unwrap();
        s.put("g/mix.wav", Arc::new(b"new".to_vec())).await.unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        assert!(
            !std::fs::symlink_metadata(s.root().join("g/mix.wav"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(s.get("g/mix.wav", 10).await.unwrap(), b"new");
    }

    #[tokio::test]
    async fn listing_refuses_links_and_skips_temporary_files() {
        let (d, s) = store();
        s.put("g/a.wav", Arc::new(b"a".to_vec())).await.unwrap();
        std::fs::write(s.root().join("g/b.wav.tmp.1.0"), b"half").unwrap();
        assert_eq!(s.list("g/").await.unwrap(), ["g/a.wav"]);
        symlink(d.path(), s.root().join("g/escape")).unwrap();
        let e = s.list("g/").await.unwrap_err();
        assert!(refused(&e) && e.to_string().contains("g/escape"), "{e}");
    }

    #[tokio::test]
    async fn non_regular_files_and_bad_keys_are_refused() {
        let (_d, s) = store();
        std::fs::create_dir_all(s.root().join("u")).unwrap();
        let fifo = s.root().join("u/pipe.wav");
        rustix::fs::mknodat(CWD, &fifo, FileType::Fifo, Mode::from_raw_mode(0o644), 0).unwrap();
        let e = s.get("u/pipe.wav", 10).await.unwrap_err();
        assert!(refused(&e), "{e}");
        for bad in ["../x.wav", "/etc/passwd", "a//b", "a/./b"] {
            assert!(
                matches!(s.get(bad, 10).await, Err(StoreError::InvalidKey { .. })),
                "{bad}"
            );
            assert!(s.put(bad, Arc::new(vec![])).await.is_err(), "{bad}");
        }
    }
}
