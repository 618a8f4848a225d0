//! Flags that `submit` and `batch` share: the length, output format and priority of what
//! they enqueue (for a batch, the defaults of lines that set none), declared once so the two
//! commands cannot drift apart.

use clap::Args;

#[derive(Args, Debug, Clone, Default)]
pub struct OutputFlags {
    /// Length in seconds (default: from the prompt, else 30; for a batch, lines that set
    /// none).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Sample rate in Hz: 44100 or 48000.
    #[arg(long)]
    pub sample_rate: Option<u32>,
    /// Bit depth: 16 or 24.
    #[arg(long)]
    pub bit_depth: Option<u16>,
    /// Integrated loudness of the mix in LUFS (default -14).
    #[arg(long, allow_hyphen_values = true)]
    pub loudness: Option<f64>,
    /// Queue priority, 0..1000 (higher first).
    #[arg(long)]
    pub priority: Option<i32>,
}
