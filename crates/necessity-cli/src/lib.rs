//! The `necessity` command's library: reading requests, rendering determinations for a nurse
//! reviewer (text) or a program (JSON), and the embedded packs. The binary (`main.rs`) only
//! parses arguments and maps outcomes to exit codes.

/// Evaluation allocates many small, short-lived values per request; mimalloc handles that
/// (and two threads doing it) markedly better than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod batch;
pub mod embedded;
pub mod input;
pub mod service;
pub mod text;
pub mod wire;
