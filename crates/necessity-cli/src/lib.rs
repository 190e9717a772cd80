//! The `necessity` command's library: reading requests, rendering determinations for a nurse
//! reviewer (text) or a program (JSON), and the embedded packs. The binary (`main.rs`) only
//! parses arguments and maps outcomes to exit codes.

pub mod batch;
pub mod embedded;
pub mod input;
pub mod text;
pub mod wire;
