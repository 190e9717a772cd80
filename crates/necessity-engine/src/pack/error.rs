//! Pack problems, each pointing at a file, line and column, with the offending line shown.

use std::fmt;

/// A problem that stops a pack from loading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackError {
    pub file: String,
    pub line: u64,
    pub column: u64,
    pub message: String,
    /// A suggestion ("did you mean `gen_sev_pain_min`?").
    pub help: Option<String>,
    /// The source line the error points into.
    pub snippet: Option<String>,
}

/// A problem that does not stop the pack from loading.
pub type PackWarning = PackError;

impl fmt::Display for PackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)?;
        if let Some(snippet) = &self.snippet {
            let width = self.line.to_string().len();
            write!(f, "\n{:width$} |\n{} | {}", "", self.line, snippet)?;
            let caret_pad = usize::try_from(self.column.saturating_sub(1)).unwrap_or(0);
            write!(f, "\n{:width$} | {:caret_pad$}^", "", "")?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

/// Every problem found while loading a pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackErrors(pub Vec<PackError>);

impl fmt::Display for PackErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n\n")?;
            }
            write!(f, "error: {e}")?;
        }
        let n = self.0.len();
        write!(f, "\n\n{n} error{} in the pack", if n == 1 { "" } else { "s" })
    }
}

impl std::error::Error for PackErrors {}
