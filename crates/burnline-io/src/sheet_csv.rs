//! CSV that people open in a spreadsheet (`pool history`, `pool export`,
//! `station report`): the csv crate's writer, with each cell that a
//! spreadsheet would take for a formula prefixed with a single quote, as
//! OWASP's rule against CSV injection says. Such a cell starts with `=`,
//! `+`, `-`, `@`, a tab or a carriage return; it comes from text a person
//! typed, such as a `--reason` of `=HYPERLINK(…)`, and it then shows as the
//! text it is instead of being run.

use std::borrow::Cow;
use std::io::Write;

/// A CSV writer whose every cell is [`cell`].
#[derive(Debug)]
pub struct SheetWriter<W: Write> {
    inner: csv::Writer<W>,
}

impl<W: Write> SheetWriter<W> {
    /// Writes CSV to `w`.
    pub fn from_writer(w: W) -> Self {
        SheetWriter {
            inner: csv::Writer::from_writer(w),
        }
    }

    /// Writes one record, each field made safe by [`cell`].
    pub fn write_record<I, T>(&mut self, record: I) -> csv::Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        self.inner
            .write_record(record.into_iter().map(|f| cell(f.as_ref()).into_owned()))
    }

    /// Flushes what was written.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }

    /// Flushes and gives back the writer.
    pub fn into_inner(self) -> std::io::Result<W> {
        self.inner.into_inner().map_err(|e| e.into_error())
    }
}

/// `text` as a spreadsheet shows it: with a `'` in front when it starts
/// with a character that would make it a formula.
pub fn cell(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_text_and_others_unchanged() {
        let mut w = SheetWriter::from_writer(Vec::new());
        w.write_record([
            "=HYPERLINK(\"http://x\",\"y\")",
            "+1",
            "-2",
            "@SUM(A1)",
            "\tx",
            "gw-1",
            "",
            "a=b",
        ])
        .expect("record");
        let out = String::from_utf8(w.into_inner().expect("flush")).expect("utf-8");
        assert_eq!(
            out,
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",'+1,'-2,'@SUM(A1),'\tx,gw-1,,a=b\n"
        );
    }
}
