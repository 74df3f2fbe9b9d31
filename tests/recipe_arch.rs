//! `disk.arch` (issue 25 item 6): with it, `check`, `plan` and `build`
//! read the ELF header of every file the recipe puts in a FAT volume and
//! refuse one built for another architecture, naming the file and both
//! architectures (exit 2, nothing written). Without it, nothing is read.
//! The programs are real: the host's own `true` (x86_64), and the
//! bootstraps cross-built for aarch64 and armv7 in `tests/bootstrap_arm.rs`.

mod common;

use common::*;
use std::fs;

/// A recipe whose `bootstrap` FAT volume holds `boot/` at `/`; `arch` is a
/// line under `disk:` or nothing.
fn recipe(arch: &str) -> String {
    format!(
        "disk:\n  size: 16MiB\n  table: gpt\n  seed: 0123456789abcdef0123456789abcdef\n{arch}\
         partitions:\n  - name: bootstrap\n    size: 8MiB\n    fat:\n      files:\n        - source: boot\n          dest: /\n\
         \x20 - name: creds\n    size: 1MiB\n    credentials: {{}}\n  - name: data\n    size: fill\n\
         auth:\n  mode: device-secret\n  product_key: {PK}\n"
    )
}

/// A test dir with `recipe(arch)` as `r.yaml`, a one-device CSV, and
/// `boot/bin/bootstrap` copied from `program`, beside a shell script.
fn with_program(arch: &str, program: &std::path::Path) -> Test {
    let t = Test::new()
        .file("r.yaml", recipe(arch))
        .file("d.csv", format!("DeviceName,DeviceSecret\ngw-0001,{DS1}\n"));
    fs::create_dir_all(t.path().join("boot/bin")).expect("mkdir");
    fs::copy(program, t.path().join("boot/bin/bootstrap")).expect("copy the program");
    fs::write(
        t.path().join("boot/bin/run.sh"),
        "#!/bin/sh\nexec /bin/bootstrap\n",
    )
    .expect("script");
    t
}

/// `check`, `plan` and `build` all refuse with `want` in an error line, and
/// `build` writes nothing.
#[track_caller]
fn refused(t: &Test, want: &str) {
    for args in [
        &["check", "r.yaml", "--devices", "d.csv"][..],
        &["plan", "r.yaml"],
        &["build", "r.yaml", "--devices", "d.csv", "--out", "out"],
    ] {
        t.cmd()
            .args(args)
            .status(2)
            .error_line(want)
            .stderr_lacks("panicked")
            .absent("out")
            .run();
    }
}

fn host_true() -> std::path::PathBuf {
    let p = std::path::PathBuf::from("/usr/bin/true");
    assert!(p.is_file(), "/usr/bin/true is missing (coreutils)");
    p
}

#[test]
fn a_program_for_another_architecture_is_refused_naming_both() {
    let t = with_program("  arch: aarch64\n", &host_true());
    refused(
        &t,
        "r.yaml:10:7: partitions[0].fat.files: `/bin/bootstrap` (from `boot/bin/bootstrap`) is built for x86_64, but disk.arch is aarch64: the device could never run it",
    );
    // The script beside it is no ELF file: nothing is said of it.
    t.cmd()
        .args(["check", "r.yaml", "--devices", "d.csv"])
        .status(2)
        .stderr_lacks("run.sh")
        .run();
}

#[test]
fn a_program_for_the_named_architecture_passes_and_no_arch_reads_nothing() {
    let t = with_program("  arch: x86_64\n", &host_true());
    t.cmd()
        .args(["check", "r.yaml", "--devices", "d.csv"])
        .stdout_contains("ok: r.yaml")
        .run();
    let t = with_program("", &host_true());
    t.cmd()
        .args(["build", "r.yaml", "--devices", "d.csv", "--out", "out"])
        .run();
    assert!(t.path().join("out/gw-0001.img").is_file());
}

#[test]
fn the_cross_built_bootstraps_pass_only_for_their_own_architecture() {
    for (triple, arch, other) in [
        ("aarch64-unknown-linux-gnu", "aarch64", "armv7"),
        ("armv7-unknown-linux-gnueabihf", "armv7", "x86_64"),
    ] {
        let bin = repo_root().join(format!("target/{triple}/release/burnline-bootstrap"));
        assert!(
            bin.is_file(),
            "{}: not built (scripts/cross-bootstrap.sh)",
            bin.display()
        );
        let t = with_program(&format!("  arch: {arch}\n"), &bin);
        t.cmd()
            .args(["check", "r.yaml", "--devices", "d.csv"])
            .stdout_contains("ok: r.yaml")
            .run();
        let t = with_program(&format!("  arch: {other}\n"), &bin);
        t.cmd()
            .args(["check", "r.yaml", "--devices", "d.csv"])
            .status(2)
            .stderr_contains(format!(
                "is built for {arch}, but disk.arch is {other}: the device could never run it"
            ))
            .run();
    }
}

#[test]
fn an_unknown_arch_is_refused_at_its_field() {
    let t = with_program("  arch: mips\n", &host_true());
    refused(
        &t,
        "r.yaml:5:9: disk.arch: must be `aarch64`, `armv7` or `x86_64`, found `mips`",
    );
}
