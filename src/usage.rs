//! Bad usage: what the user typed cannot work. `main` exits 2 for it (1 is for failures).

/// Bad flags, flag values or arguments, with what to type instead.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}
