//! [`Checked`]: clap's value parser, in both programs, for a type whose
//! `FromStr` applies a rule (a ProductKey, a DeviceName, an MQTT server, an
//! OpenAPI endpoint).
//! A refused value is one line naming the flag and the rule broken; the
//! value is quoted only when it is not shaped like a secret (clap's own
//! message always quotes it, and a swapped argument may be a secret).

use crate::identity::rules::shown;
use std::marker::PhantomData;
use std::str::FromStr;

/// Parses a value with `T::from_str`; see the module doc.
#[derive(Debug)]
pub struct Checked<T>(PhantomData<fn() -> T>);

impl<T> Checked<T> {
    /// The parser of `T`.
    pub const fn new() -> Self {
        Checked(PhantomData)
    }
}

impl<T> Default for Checked<T> {
    fn default() -> Self {
        Checked::new()
    }
}

impl<T> Clone for Checked<T> {
    fn clone(&self) -> Self {
        Checked::new()
    }
}

/// How a message names the argument: `--flag`, or a positional's value name.
fn arg_name(arg: Option<&clap::Arg>) -> String {
    match arg {
        Some(a) => match (a.get_long(), a.get_value_names()) {
            (Some(long), _) => format!("--{long}"),
            (None, Some([name, ..])) => name.to_string(),
            (None, _) => a.get_id().to_string(),
        },
        None => "a value".to_owned(),
    }
}

impl<T> clap::builder::TypedValueParser for Checked<T>
where
    T: FromStr + Clone + Send + Sync + 'static,
    T::Err: std::fmt::Display,
{
    type Value = T;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let refuse = |rule: String| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("{}{rule}\n", arg_name(arg)),
            )
        };
        let text = value
            .to_str()
            .ok_or_else(|| refuse(": not UTF-8".to_owned()))?;
        text.parse()
            .map_err(|e: T::Err| refuse(format!(" {}: {e}", shown(text))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::names::ProductKey;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[arg(long, value_parser = Checked::<ProductKey>::new())]
        product_key: ProductKey,
        #[arg(value_name = "ProductKey", value_parser = Checked::<ProductKey>::new())]
        pk: Option<ProductKey>,
    }

    fn refusal(args: &[&str]) -> String {
        let e = Cli::try_parse_from(args).expect_err("refused");
        assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation);
        e.render().to_string()
    }

    #[test]
    fn a_refusal_names_the_flag_and_the_rule_on_one_line() {
        let ok = Cli::try_parse_from(["t", "--product-key", "a1X2bEnP82z"]).expect("valid");
        assert_eq!(ok.product_key.as_str(), "a1X2bEnP82z");
        assert_eq!(
            refusal(&["t", "--product-key", "short"]),
            "error: --product-key `short`: must be 11 characters, found 5\n"
        );
        assert_eq!(
            refusal(&["t", "--product-key", "a1X2bEnP82z", "a-b"]),
            "error: ProductKey `a-b`: must be 11 characters, found 3\n"
        );
    }

    #[test]
    fn a_value_shaped_like_a_secret_is_not_quoted() {
        let ds = "ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe";
        let e = refusal(&["t", "--product-key", ds]);
        assert!(!e.contains(ds), "{e}");
        assert!(
            e.contains("--product-key (a value shaped like a secret"),
            "{e}"
        );
    }
}
