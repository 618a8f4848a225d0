//! ONNX Runtime: loading the library (ort `load-dynamic`; the library comes from the
//! `onnxruntime` PyPI wheel via ops/setup-ort.sh), choosing the device, and opening model
//! sessions with their manifests.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

pub const ORT_VERSION: &str = "1.31.1";

#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    #[error("ONNX Runtime library not found at {0} (run ops/setup-ort.sh, or set ORT_DYLIB_PATH)")]
    LibraryMissing(PathBuf),
    #[error("loading ONNX Runtime from {path}: {message}")]
    Load { path: PathBuf, message: String },
    #[error("ONNX Runtime: {0}")]
    Ort(String),
    #[error("model file {path}: {message}")]
    Model { path: PathBuf, message: String },
    #[error(
        "device 'cuda': the CUDA execution provider could not be registered ({0}). A GPU worker \
         needs the GPU build of ONNX Runtime (`ops/setup-ort.sh --gpu` installs the \
         onnxruntime-gpu wheel's libraries, with libonnxruntime_providers_cuda.so beside \
         libonnxruntime), the CUDA 12 runtime and cuDNN 9 on the library path, and a visible \
         NVIDIA GPU; or run with --device cpu"
    )]
    CudaUnavailable(String),
    #[error("unknown device '{0}' (cpu or cuda)")]
    UnknownDevice(String),
}

impl<T> From<ort::Error<T>> for OnnxError {
    fn from(e: ort::Error<T>) -> Self {
        OnnxError::Ort(e.to_string())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Cpu,
    Cuda,
}

impl Device {
    pub fn parse(s: &str) -> Result<Self, OnnxError> {
        match s {
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda),
            other => Err(OnnxError::UnknownDevice(other.to_string())),
        }
    }
}

/// The library path: explicit, else `ORT_DYLIB_PATH`, else the project-local copy.
pub fn library_path(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(".local/onnxruntime")
        .join(format!("libonnxruntime.so.{ORT_VERSION}"))
}

static ENVIRONMENT: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();

/// Loads ONNX Runtime once per process. Returns a clear error (not a panic) for a missing or
/// incompatible library.
pub fn init_runtime(
    explicit: Option<&Path>,
    device: Device,
) -> Result<&'static ort::environment::Environment, OnnxError> {
    let _ = device; // the device is chosen per session (`ModelSession::open`)
    let path = library_path(explicit);
    let result = ENVIRONMENT.get_or_init(|| {
        if !path.is_file() {
            return Err(format!("missing:{}", path.display()));
        }
        let builder = ort::init_from(&path).map_err(|e| e.to_string())?;
        builder
            .with_name("resonantgen")
            .build()
            .map_err(|e| e.to_string())
    });
    match result {
        Ok(env) => Ok(env),
        Err(m) if m.starts_with("missing:") => Err(OnnxError::LibraryMissing(path)),
        Err(m) => Err(OnnxError::Load {
            path,
            message: m.clone(),
        }),
    }
}

/// The models folder: `RESONANTGEN_MODELS_DIR`, else the repository's `models/`.
pub fn models_dir() -> PathBuf {
    std::env::var_os("RESONANTGEN_MODELS_DIR")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("models")
        })
}

/// An ONNX session plus the manifest written beside it by the training script.
pub struct ModelSession<M> {
    pub session: Mutex<ort::session::Session>,
    pub manifest: M,
    pub sha256: String,
}

#[derive(Deserialize)]
struct Sha {
    sha256: String,
}

impl<M: for<'de> Deserialize<'de>> ModelSession<M> {
    /// Opens `<dir>/<name>.onnx` with `<dir>/manifest.json`. One intra-op thread: the models
    /// are small, and concurrency comes from running jobs side by side.
    pub fn open(
        env: &ort::environment::Environment,
        dir: &Path,
        name: &str,
        device: Device,
    ) -> Result<Self, OnnxError> {
        let model_path = dir.join(format!("{name}.onnx"));
        let manifest_path = dir.join("manifest.json");
        let err = |path: &Path, message: String| OnnxError::Model {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(&manifest_path)
            .map_err(|e| err(&manifest_path, e.to_string()))?;
        let manifest: M =
            serde_json::from_str(&text).map_err(|e| err(&manifest_path, e.to_string()))?;
        let Sha { sha256 } =
            serde_json::from_str(&text).map_err(|e| err(&manifest_path, e.to_string()))?;
        if !model_path.is_file() {
            return Err(err(&model_path, "file not found".into()));
        }
        let mut builder = ort::session::Session::builder(env)?.with_intra_threads(1)?;
        if device == Device::Cuda {
            builder = builder
                .with_execution_providers([ort::ep::CUDA::default().build().error_on_failure()])
                .map_err(|e| OnnxError::CudaUnavailable(e.to_string()))?;
        }
        let session = builder
            .commit_from_file(&model_path)
            .map_err(|e| err(&model_path, e.to_string()))?;
        Ok(ModelSession {
            session: Mutex::new(session),
            manifest,
            sha256,
        })
    }
}
