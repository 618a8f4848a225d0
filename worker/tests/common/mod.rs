//! What the worker's integration tests share: one registry of the real ONNX models, loaded once.

use resonantgen_worker::generators::Registry;
use resonantgen_worker::onnx::{self, Device};
use std::sync::OnceLock;

pub fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| {
        let env =
            onnx::init_runtime(None, Device::Cpu).expect("ONNX Runtime (run ops/setup-ort.sh)");
        Registry::load(env, &onnx::models_dir(), Device::Cpu).expect("generator models")
    })
}
