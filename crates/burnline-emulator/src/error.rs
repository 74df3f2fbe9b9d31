//! How the emulator fails to start, and the exit status each kind maps to
//! ([`Error::exit_code`], the emulator's one exit map): 2 for a products
//! file, state file or command line that breaks a rule (and a file that is
//! not there), 3 for an I/O failure (a port in use, a disk that is full).
//! Once it serves, nothing ends it but a signal.

/// Why the emulator did not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A products or state file broke a rule: `where: field: rule`.
    #[error("{location}: {}{rule}", if .field.is_empty() { String::new() } else { format!("{}: ", .field) })]
    Invalid {
        /// The file, and the product or device in it when known.
        location: String,
        /// The field, or empty.
        field: String,
        /// The rule that was broken, in words.
        rule: String,
    },
    /// A command line that cannot be acted on, or a TLS certificate or key
    /// that cannot be used.
    #[error("{0}")]
    Usage(String),
    /// An I/O step that failed.
    #[error(transparent)]
    Io(#[from] burnline_io::Error),
}

impl Error {
    /// A file that broke a rule, at `location` in `field`.
    pub fn invalid(
        location: impl Into<String>,
        field: impl Into<String>,
        rule: impl Into<String>,
    ) -> Self {
        Error::Invalid {
            location: location.into(),
            field: field.into(),
            rule: rule.into(),
        }
    }

    /// The process exit status for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Invalid { .. } | Error::Usage(_) => 2,
            Error::Io(e) if e.source.kind() == std::io::ErrorKind::NotFound => 2,
            Error::Io(_) => 3,
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_and_missing_files_exit_2_other_io_3() {
        assert_eq!(
            Error::invalid("p.yaml", "", "not a products file").exit_code(),
            2
        );
        assert_eq!(
            Error::Usage("--mqtts needs --tls-cert".into()).exit_code(),
            2
        );
        let io = |kind| {
            Error::Io(burnline_io::Error {
                context: "reading p.yaml".into(),
                source: std::io::Error::from(kind),
            })
        };
        assert_eq!(io(std::io::ErrorKind::NotFound).exit_code(), 2);
        assert_eq!(io(std::io::ErrorKind::AddrInUse).exit_code(), 3);
    }

    #[test]
    fn a_problem_is_one_line_naming_the_file_and_the_field() {
        assert_eq!(
            Error::invalid("p.yaml: products[0]", "product_key", "is empty").to_string(),
            "p.yaml: products[0]: product_key: is empty"
        );
        assert_eq!(
            Error::invalid("s.json", "", "not an emulator state file").to_string(),
            "s.json: not an emulator state file"
        );
    }
}
