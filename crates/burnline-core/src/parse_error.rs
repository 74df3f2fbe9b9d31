//! A parser's complaint, worded without any of the input it complains
//! about. serde's messages quote what they found (`invalid type: string
//! "…"`, ``unknown field `…` ``), and a file given in the wrong place (the
//! device CSV as a recipe or a station config, a server's answer that is not
//! the expected JSON) holds secrets right there. What is kept: the kind of
//! thing found (a string, a map), the program's own words for what it
//! expected, the field path, and the position.

/// serde's messages that end with what was expected; what they found
/// stands between the prefix and that ending.
const FOUND_THEN_EXPECTED: [&str; 5] = [
    "invalid type: ",
    "invalid value: ",
    "invalid length ",
    "unknown field ",
    "unknown variant ",
];

/// `msg` (a serde message, as serde_json or yaml_serde render it, without
/// its position) with every piece of the input taken out: a quoted value,
/// an unknown key or variant. `invalid type: string "…", expected struct
/// X` becomes `invalid type: string, expected struct X`, ``unknown field
/// `…`, expected one of `a`, `b` `` becomes ``unknown field, expected one
/// of `a`, `b` ``; any other message is cut where its first quote begins.
pub fn serde_message(msg: &str) -> String {
    // serde names a missing or repeated field by the program's own name.
    let own = ["missing field `", "duplicate field `"];
    if own
        .iter()
        .any(|o| msg.find(o).is_some_and(|i| is_field_path(&msg[..i])))
    {
        return msg.to_owned();
    }
    let start = FOUND_THEN_EXPECTED
        .iter()
        .filter_map(|p| msg.find(p).map(|i| (i, p.len())))
        .filter(|(i, _)| is_field_path(&msg[..*i]))
        .min();
    let Some((i, len)) = start else {
        return cut_at_quote(msg).to_owned();
    };
    let (head, rest) = msg.split_at(i + len);
    // The program's own ending is the last one: a value holding the same
    // words comes before it.
    let tail = [", expected ", ", there are no "]
        .iter()
        .filter_map(|t| rest.rfind(t))
        .max();
    let (found, tail) = match tail {
        Some(t) => rest.split_at(t),
        None => (rest, ""),
    };
    let kind = cut_at_quote(found).trim_end();
    let head = if kind.is_empty() {
        head.trim_end()
    } else {
        head
    };
    // serde quotes the program's names in backquotes (`one of `a`, `b``),
    // never in double quotes.
    let tail = tail.split('"').next().unwrap_or_default();
    format!("{head}{kind}{tail}")
}

/// Whether `prefix` is empty or a field path and `: ` (yaml_serde names
/// the field: `partitions[0].fat: `), made of the program's field names.
fn is_field_path(prefix: &str) -> bool {
    prefix.is_empty()
        || prefix.strip_suffix(": ").is_some_and(|p| {
            p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.[]-".contains(c))
        })
}

/// `text` up to its first `"` or `` ` `` (all of it when it has none),
/// without a dangling `: ` or `(`.
fn cut_at_quote(text: &str) -> &str {
    match text.find(['"', '`']) {
        Some(i) => text[..i].trim_end_matches([' ', ':', '(', ',']),
        None => text,
    }
}

/// A serde_json error without the input: what was wrong (see
/// [`serde_message`]) and where, as `… (line L, column C)`.
pub fn json(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    let msg = match msg.rsplit_once(" at line ") {
        Some((m, _)) if e.line() > 0 => m.to_owned(),
        _ => msg,
    };
    format!(
        "{} (line {}, column {})",
        serde_message(&msg),
        e.line(),
        e.column()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "ga7XA6KdlEeiPXQPpRbAjOZXwG8yd001";

    #[test]
    fn no_shape_of_serde_message_keeps_the_input() {
        for (msg, want) in [
            (
                format!(
                    "invalid type: string \"DeviceName,x {SECRET}\", expected struct RawRecipe"
                ),
                "invalid type: string, expected struct RawRecipe".to_owned(),
            ),
            (
                format!(
                    "partitions[0].fat: unknown field `{SECRET}`, expected one of `type`, `label`"
                ),
                "partitions[0].fat: unknown field, expected one of `type`, `label`".to_owned(),
            ),
            (
                format!("unknown variant `{SECRET}, expected x`, there are no variants"),
                "unknown variant, there are no variants".to_owned(),
            ),
            (
                format!("invalid value: string \"{SECRET}, expected a\", expected a boolean"),
                "invalid value: string, expected a boolean".to_owned(),
            ),
            (
                format!(
                    "auth.mode: invalid type: integer `{}`, expected a string",
                    7
                ),
                "auth.mode: invalid type: integer, expected a string".to_owned(),
            ),
            (
                "partitions[0]: missing field `size`".to_owned(),
                "partitions[0]: missing field `size`".to_owned(),
            ),
            (
                format!("something new `{SECRET}`"),
                "something new".to_owned(),
            ),
            (
                "did not find expected key".to_owned(),
                "did not find expected key".to_owned(),
            ),
        ] {
            let got = serde_message(&msg);
            assert_eq!(got, want, "from {msg}");
            assert!(!got.contains(SECRET));
        }
    }

    #[test]
    fn a_json_error_names_its_position_not_its_input() {
        let e = serde_json::from_str::<u32>(&format!("\n \"{SECRET}\""))
            .expect_err("a string is not a number");
        let got = json(&e);
        assert!(!got.contains(SECRET), "{got}");
        assert!(
            got.starts_with("invalid type: string, expected u32 (line 2, column"),
            "{got}"
        );
    }
}
