//! A station on an arm64 board (issue 25 item 5): the `burnline` host tool
//! cross-built for aarch64 and statically linked by
//! `scripts/cross-bootstrap.sh -p burnline aarch64-unknown-linux-gnu` runs
//! under qemu-user (`qemu-aarch64-static`, named explicitly): it builds the
//! example recipe (full images and station output), and flashes a base and
//! a delta onto a file target, with its read-back. Its images are byte for
//! byte the x86-64 host's, and the card equals the full image.

mod common;

use common::images::sha;
use common::*;
use std::path::PathBuf;

/// The static aarch64 `burnline`; a missing one fails loudly.
fn arm_burnline(t: &Test) -> PathBuf {
    let bin = repo_root().join("target/aarch64-unknown-linux-gnu/release/burnline");
    assert!(
        bin.is_file(),
        "{}: not built; run scripts/cross-bootstrap.sh -p burnline aarch64-unknown-linux-gnu (scripts/test.sh does)",
        bin.display()
    );
    let file = t.tool("file").arg(&bin).run();
    assert!(
        file.stdout.contains("ARM aarch64") && file.stdout.contains("statically linked"),
        "{}",
        file.stdout
    );
    bin
}

#[test]
fn the_aarch64_host_tool_builds_the_example_and_flashes_a_base_and_delta() {
    let t = Test::new();
    let bin = arm_burnline(&t);
    let arm = t.tool("qemu-aarch64-static").arg(&bin);
    let recipe = repo_root().join("recipes/example.yaml");
    let devices = repo_root().join("examples/devices.csv");
    let d = t.path();
    arm.clone()
        .args(["check", s(&recipe), "--devices", s(&devices)])
        .stdout_contains("ok: ")
        .run();
    for (out, station) in [("arm-full", false), ("arm-st", true), ("x86-full", false)] {
        let cmd = if out.starts_with("arm") {
            arm.clone()
        } else {
            t.cmd()
        };
        let cmd = cmd.args([
            "build",
            s(&recipe),
            "--devices",
            s(&devices),
            "--out",
            s(&d.join(out)),
        ]);
        if station { cmd.arg("--deltas") } else { cmd }.run();
    }
    // The same images as the x86-64 build, byte for byte.
    let name = "gw-000002.img";
    assert_eq!(
        sha(&d.join("arm-full").join(name)),
        sha(&d.join("x86-full").join(name))
    );
    // Base plus delta onto a file target, read back by flash.
    let card = d.join("card.img");
    arm.clone()
        .args([
            "flash",
            s(&d.join("arm-st/base.img")),
            s(&d.join("arm-st/gw-000002.img.delta")),
        ])
        .args(["--target", s(&card)])
        .run();
    assert_eq!(sha(&card), sha(&d.join("arm-full").join(name)));
    // A corrupted delta is refused, and nothing is written.
    let bad = d.join("bad.delta");
    let mut bytes = std::fs::read(d.join("arm-st/gw-000002.img.delta")).expect("delta");
    bytes[120] ^= 0x40;
    std::fs::write(&bad, bytes).expect("write");
    arm.clone()
        .args(["flash", s(&d.join("arm-st/base.img")), s(&bad)])
        .args(["--target", s(&d.join("card2.img"))])
        .fails()
        .stderr_contains("truncated or corrupted")
        .stderr_contains("nothing was written")
        .absent(d.join("card2.img"))
        .run();
}
