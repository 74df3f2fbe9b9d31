//! `burnline ledger verify FILE [--pubkey KEY]` and `burnline ledger sign
//! FILE --sign KEY`: the hash chain of a ledger (or of any of burnline's
//! append logs) and its signed head, by `burnline_image::log_audit`.

use crate::cmdline::{LedgerCommand, LedgerSignArgs, LedgerVerifyArgs};
use burnline_image::error::{Error, Result};
use burnline_image::log_audit::{self, head_path, Audit};
use burnline_image::signing::verify::VerifyingKey;
use burnline_io::{say, show};

/// Runs `ledger …`.
pub fn run(cmd: &LedgerCommand) -> Result<()> {
    match cmd {
        LedgerCommand::Verify(a) => verify(a),
        LedgerCommand::Sign(a) => sign(a),
    }
}

/// Says what the chain covers, and warns about a torn last line.
fn describe(file: &std::path::Path, a: &Audit) {
    if let Some(line) = a.torn {
        say!(
            "warning: {}:{line}: torn last line (a run was stopped while writing it); it is not \
             counted, and burnline cuts it when it next opens the log",
            file.display()
        );
    }
    let chained = a.lines - a.unchained;
    if a.unchained > 0 {
        show!(
            "note: {}: lines 1..{} are unchained (written before burnline chained its logs): the \
             chain does not cover them, a signed head does",
            file.display(),
            a.unchained
        );
    }
    show!(
        "ok: {}: {} line(s), {chained} chained, the hash chain is intact",
        file.display(),
        a.lines
    );
}

fn verify(args: &LedgerVerifyArgs) -> Result<()> {
    let key = args.pubkey.as_deref().map(VerifyingKey::load).transpose()?;
    let v = log_audit::verify(&args.file, key.as_ref())?;
    describe(&args.file, &v.audit);
    if let Some(h) = &v.head {
        show!(
            "ok: {}: signed head: lines 1..{} are as signed",
            head_path(&args.file).display(),
            h.lines
        );
        let after = v.audit.lines - h.lines;
        if after > 0 {
            show!(
                "note: {}: {after} line(s) appended after the signed head (lines {}..{}), chained \
                 but not covered by the signature",
                args.file.display(),
                h.lines + 1,
                v.audit.lines
            );
        }
    }
    Ok(())
}

fn sign(args: &LedgerSignArgs) -> Result<()> {
    let Some(key) = args.sign.load()? else {
        return Err(Error::Usage("ledger sign: --sign KEY is required".into()));
    };
    let a = log_audit::sign(&args.file, &key)?;
    describe(&args.file, &a);
    show!(
        "signed: {} ({} line(s)) and its signature {}.minisig",
        head_path(&args.file).display(),
        a.lines,
        head_path(&args.file).display()
    );
    Ok(())
}
