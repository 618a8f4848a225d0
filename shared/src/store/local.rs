//! The local-folder store: the embedded default. Writes go to a temporary file first and are
//! renamed into place, so a reader never sees half an object.

use super::StoreError;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
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

    pub fn uri(&self, key: &str) -> String {
        format!("file://{}", self.root.join(key).display())
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
        move |source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.root.join(key);
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(Self::io(dir))?;
        }
        let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
        tokio::fs::write(&tmp, bytes)
            .await
            .map_err(Self::io(&tmp))?;
        tokio::fs::rename(&tmp, &path)
            .await
            .map_err(Self::io(&path))?;
        Ok(())
    }

    pub async fn get(&self, key: &str, max_bytes: u64) -> Result<Vec<u8>, StoreError> {
        let path = self.root.join(key);
        let meta = match tokio::fs::metadata(&path).await {
            Ok(m) if m.is_file() => m,
            Ok(_) => return Err(StoreError::NotFound(key.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound(key.to_string()));
            }
            Err(e) => return Err(Self::io(&path)(e)),
        };
        if meta.len() > max_bytes {
            return Err(StoreError::TooLarge {
                key: key.to_string(),
                size: meta.len(),
                limit: max_bytes,
            });
        }
        tokio::fs::read(&path).await.map_err(Self::io(&path))
    }

    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        let mut stack = vec![self.root.join(prefix)];
        while let Some(dir) = stack.pop() {
            let mut rd = match tokio::fs::read_dir(&dir).await {
                Ok(rd) => rd,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Self::io(&dir)(e)),
            };
            while let Some(entry) = rd.next_entry().await.map_err(Self::io(&dir))? {
                let p = entry.path();
                if entry.file_type().await.map_err(Self::io(&p))?.is_dir() {
                    stack.push(p);
                } else if let Ok(rel) = p.strip_prefix(&self.root) {
                    let rel = rel.to_string_lossy().to_string();
                    if !rel.contains(".tmp.") {
                        out.push(rel);
                    }
                }
            }
        }
        Ok(out)
    }
}
