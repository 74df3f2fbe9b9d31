//! Device lists encrypted at rest: a CSV encrypted with Debian's `age`
//! (`age -e -r RECIPIENT`, identities from `age-keygen`) is read by `check`,
//! `build` and `flash --recipe` with `--identity FILE` or
//! `BURNLINE_AGE_IDENTITY`, decrypted while streamed: the outputs equal the
//! plain CSV's, nothing but the outputs is written, and line numbers in
//! errors are the plaintext's. A wrong identity, a file for another
//! recipient, a truncated file, an identity others may read: one line,
//! exit 2.

mod common;

use common::fixtures::fixture;
use common::images::sha;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// An X25519 identity made by `age-keygen` (mode 0600), and its recipient.
fn identity(t: &Test, name: &str) -> (PathBuf, String) {
    let path = t.path().join(name);
    t.tool("age-keygen").args(["-o", s(&path)]).run();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let text = std::fs::read_to_string(&path).expect("identity");
    let recipient = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .expect("public key line")
        .to_owned();
    (path, recipient)
}

/// `age -e -r recipient -o out plain`.
fn encrypt(t: &Test, recipient: &str, plain: &Path, out: &Path) {
    t.tool("age")
        .args(["-e", "-r", recipient, "-o", s(out), s(plain)])
        .run();
}

/// Every file under `dir`, recursively, relative names.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("ls") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).expect("inside").display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn an_encrypted_list_builds_what_the_plain_one_builds_and_leaves_no_plaintext() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 3, "");
    let (id, recipient) = identity(&t, "station.key");
    let enc = d.join("devices.csv.age");
    encrypt(&t, &recipient, &c, &enc);
    t.cmd()
        .args(["check", s(&r), "--devices", s(&enc), "--identity", s(&id)])
        .stdout_contains("3 device(s) in")
        .run();
    t.cmd()
        .args(["check", s(&r), "--devices", s(&enc)])
        .env("BURNLINE_AGE_IDENTITY", &id)
        .stdout_contains("3 device(s) in")
        .run();
    t.cmd()
        .args(["build", s(&r), "--devices", s(&c), "--out", "plain"])
        .run();
    // The plain CSV goes away: what is built can only come from the .age.
    let plain_csv = std::fs::read(&c).expect("csv");
    std::fs::remove_file(&c).expect("rm csv");
    let before = files(d);
    t.cmd()
        .args(["build", s(&r), "--devices", s(&enc), "--identity", s(&id)])
        .args(["--out", "enc"])
        .output_lacks("ga7XA6")
        .run();
    for n in common::fixtures::names(3) {
        assert_eq!(
            sha(&d.join("enc").join(&n)),
            sha(&d.join("plain").join(&n)),
            "{n}"
        );
    }
    // Nothing new outside the output directory, and in it only outputs.
    let after: Vec<String> = files(d)
        .into_iter()
        .filter(|f| !f.starts_with("enc/"))
        .collect();
    assert_eq!(after, before);
    let mut outs = files(&d.join("enc"));
    outs.retain(|f| !f.ends_with(".img"));
    assert_eq!(outs, ["SHA256SUMS", "manifest.json"]);
    for f in files(d) {
        let bytes = std::fs::read(d.join(&f)).expect("read");
        assert!(
            !bytes.windows(8).any(|w| w == b"gw-0001,"),
            "{f} holds a plaintext CSV row"
        );
    }
    std::fs::write(&c, plain_csv).expect("restore csv");

    // A station burns straight from the encrypted list.
    let cards: Vec<PathBuf> = (1..=2).map(|i| d.join(format!("card{i}.img"))).collect();
    for card in &cards {
        std::fs::File::create(card)
            .and_then(|f| f.set_len(8 << 20))
            .expect("card");
    }
    t.cmd()
        .args(["flash", "--recipe", s(&r), "--devices", s(&enc)])
        .arg("--ledger")
        .arg(d.join("ledger.jsonl"))
        .args(["--target", s(&cards[0]), "--target", s(&cards[1])])
        .env("BURNLINE_AGE_IDENTITY", &id)
        .run();
    assert_eq!(sha(&cards[0]), sha(&d.join("plain/gw-0001.img")));
    assert_eq!(sha(&cards[1]), sha(&d.join("plain/gw-0002.img")));
}

#[test]
fn line_numbers_are_the_plaintext_s() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 4, "");
    let (id, recipient) = identity(&t, "id.key");
    let mut csv = std::fs::read_to_string(&c).expect("csv");
    csv = csv.replace("gw-0003,", "gw-0001,");
    std::fs::write(&c, &csv).expect("csv");
    let enc = d.join("dup.csv.age");
    encrypt(&t, &recipient, &c, &enc);
    t.cmd()
        .args(["check", s(&r), "--devices", s(&enc), "--identity", s(&id)])
        .status(2)
        .error_line("dup.csv.age:4: DeviceName: `gw-0001` already appears on line 2")
        .output_lacks("ga7XA6")
        .run();
}

#[test]
fn a_wrong_identity_another_recipient_or_a_truncated_file_is_one_line_and_exit_2() {
    let t = Test::new();
    let d = t.path();
    // Enough rows for age's 64 KiB chunks to be several.
    let (r, c) = fixture(d, 1, "");
    let mut csv = String::from("DeviceName,DeviceSecret,ProductKey\n");
    for i in 1..=2000 {
        csv.push_str(&format!(
            "gw-{i:05},ga7XA6KdlEeiPXQPpRbAjOZXwG8{i:05},a1X2bEnP82z\n"
        ));
    }
    std::fs::write(&c, csv).expect("csv");
    let (id, recipient) = identity(&t, "mine.key");
    let (other, _) = identity(&t, "other.key");
    let enc = d.join("devices.csv.age");
    encrypt(&t, &recipient, &c, &enc);
    let check = |devices: &Path| t.cmd().args(["check", s(&r), "--devices", s(devices)]);
    check(&enc)
        .args(["--identity", s(&other)])
        .status(2)
        .error_line("devices.csv.age: encrypted for another recipient: no identity in")
        .stderr_lines(2)
        .run();
    check(&enc)
        .env_remove("BURNLINE_AGE_IDENTITY")
        .status(2)
        .error_line("devices.csv.age: the device list is encrypted (age); give --identity FILE")
        .stderr_lines(2)
        .run();
    std::fs::write(d.join("junk.key"), "AGE-SECRET-KEY-1NOTAKEY\n").expect("junk");
    std::fs::set_permissions(d.join("junk.key"), std::fs::Permissions::from_mode(0o600))
        .expect("chmod");
    check(&enc)
        .args(["--identity", "junk.key"])
        .status(2)
        .error_line("junk.key: --identity: not an age identity file")
        .stderr_lines(2)
        .run();
    std::fs::set_permissions(&id, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    check(&enc)
        .args(["--identity", s(&id)])
        .status(2)
        .error_line("--identity: the age identity is readable by its group or others (mode 640)")
        .stderr_lines(2)
        .run();
    std::fs::set_permissions(&id, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let bytes = std::fs::read(&enc).expect("age file");
    // The payload: after the header's `--- MAC` line, a 16-byte nonce, then
    // chunks of 64 KiB + a 16-byte tag, the last marked as last.
    let header_end = bytes
        .windows(4)
        .position(|w| w == b"\n---")
        .and_then(|i| {
            bytes[i + 1..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|j| i + j + 2)
        })
        .expect("header end");
    let first_chunk_end = header_end + 16 + 65536 + 16;
    assert!(bytes.len() > first_chunk_end + 1000, "the CSV spans chunks");
    // Cut in the header, in the middle of a chunk, and right after the
    // first chunk (whole chunks, but the last one is missing: age marks the
    // last chunk, so this shows too).
    for (name, len) in [
        ("head.age", 60),
        ("body.age", first_chunk_end + 999),
        ("chunk.age", first_chunk_end),
    ] {
        let cut = d.join(name);
        std::fs::write(&cut, &bytes[..len]).expect("cut");
        let want = if name == "head.age" {
            format!("{name}: not a readable age file")
        } else {
            "the encrypted device list is truncated or damaged".to_owned()
        };
        check(&cut)
            .args(["--identity", s(&id)])
            .status(2)
            .error_line(want)
            .stderr_lines(2)
            .output_lacks("ga7XA6")
            .run();
        // build refuses it before writing anything.
        t.cmd()
            .args(["build", s(&r), "--devices", s(&cut), "--identity", s(&id)])
            .args(["--out", "never"])
            .status(2)
            .absent("never")
            .run();
    }
    std::fs::write(d.join("fake.csv.age"), "DeviceName\ngw-1\n").expect("fake");
    check(&d.join("fake.csv.age"))
        .status(2)
        .error_line("fake.csv.age: named .age but not an age file")
        .run();
    check(&enc).args(["--identity", s(&id)]).run();
}

#[test]
fn a_killed_build_resumes_from_the_same_list_encrypted_again() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 3, "");
    let (id, recipient) = identity(&t, "id.key");
    let enc = d.join("devices.csv.age");
    encrypt(&t, &recipient, &c, &enc);
    let build = t
        .cmd()
        .args(["build", s(&r), "--devices", s(&enc), "--identity", s(&id)])
        .args(["--out", "out"]);
    build
        .clone()
        .env("FAILPOINTS", "build-after-journal=return")
        .signal(6)
        .absent("out/manifest.json")
        .run();
    // age encrypts with a fresh key every time: other bytes, same CSV. The
    // run is fingerprinted by the plaintext, so it resumes.
    let before = std::fs::read(&enc).expect("age");
    std::fs::remove_file(&enc).expect("rm");
    encrypt(&t, &recipient, &c, &enc);
    assert_ne!(std::fs::read(&enc).expect("age"), before);
    build.clone().stderr_contains("built 0 image(s)").run();
    t.tool("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(d.join("out"))
        .run();
}
