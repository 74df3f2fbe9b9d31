//! Installing burnline: `--version` names the commit, the man pages and
//! shell completions generated from clap are accepted by `man` and `bash`,
//! the station unit keeps its `systemd-analyze security` score, and the
//! .deb (scripts/deb.sh, cargo-deb) installs into a fresh Debian 12 root,
//! runs there, passes `systemd-analyze verify` and is removed again.

mod common;

use common::{burnline_bin, emulator_bin, repo_root, s, Test};
use std::fs;
use std::path::{Path, PathBuf};

/// `git ARGS` in the repository: its trimmed stdout.
fn git(args: &[&str]) -> String {
    Test::new()
        .tool("git")
        .arg("-C")
        .arg(repo_root())
        .args(args)
        .run()
        .stdout
        .trim()
        .to_owned()
}

#[test]
fn version_names_the_version_and_the_commit() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"]);
    assert_eq!(commit.len(), 12, "git rev-parse: {commit}");
    Test::new()
        .arg("--version")
        .stdout(format!(
            "burnline {} (commit {commit})\n",
            env!("CARGO_PKG_VERSION")
        ))
        .run();
}

#[test]
fn completions_are_generated_and_bash_accepts_them() {
    let t = Test::new();
    let dir = t.path().join("completions");
    t.burnline()
        .args(["generate", "completions"])
        .arg(&dir)
        .stderr_contains("generate: wrote 3 file(s)")
        .run();
    for name in ["burnline.bash", "_burnline", "burnline.fish"] {
        let text = fs::read_to_string(dir.join(name)).expect(name);
        // Every subcommand, down to the nested ones, completes.
        for word in ["build", "station", "serve", "login-check", "--devices"] {
            assert!(text.contains(word), "{name} lacks {word}");
        }
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &fs::metadata(dir.join(name)).expect(name).permissions(),
        );
        assert_eq!(mode & 0o777, 0o644, "{name}");
    }
    t.tool("bash")
        .arg("-n")
        .arg(dir.join("burnline.bash"))
        .run();
    // Sourced in a shell, it registers the completion function.
    t.tool("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p burnline",
            s(&dir.join("burnline.bash"))
        ))
        .stdout_contains("burnline")
        .run();
}

#[test]
fn man_pages_are_generated_for_every_visible_command_and_man_renders_them() {
    let t = Test::new();
    let dir = t.path().join("man");
    t.burnline().args(["generate", "man"]).arg(&dir).run();
    for page in [
        "burnline",
        "burnline-build",
        "burnline-station-serve",
        "burnline-pool-init",
        "burnline-ledger-verify",
    ] {
        let file = dir.join(format!("{page}.1"));
        assert!(file.is_file(), "{} missing", file.display());
        // `--warnings`: groff's complaints go to stderr, which must stay empty.
        t.tool("man")
            .args(["--warnings", "-l"])
            .arg(&file)
            .env("MANWIDTH", "100")
            .stdout_contains("NAME")
            .stdout_contains(page)
            .stderr("")
            .run();
    }
    // The hidden packaging command documents nothing.
    assert!(!dir.join("burnline-generate.1").exists());
    let main = fs::read_to_string(dir.join("burnline.1")).expect("burnline.1");
    assert!(
        main.contains("login\\-check"),
        "burnline.1 lists the subcommands"
    );
}

#[test]
fn generate_into_an_unwritable_place_is_exit_3_naming_it() {
    let t = Test::new().file("plain", "not a directory");
    let target = t.path().join("plain/man");
    t.burnline()
        .args(["generate", "man"])
        .arg(&target)
        .status(3)
        .stderr_contains(s(&target))
        .run();
}

/// The exposure score the README quotes for the unit.
const README_SCORE: &str = "1.6";

#[test]
fn station_unit_keeps_the_security_score_the_readme_quotes() {
    let unit = repo_root().join("packaging/burnline-station.service");
    let out = Test::new()
        .tool("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(&unit)
        .run()
        .stdout;
    let line = out
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no score in:\n{out}"));
    assert!(
        line.contains(&format!(": {README_SCORE} ")),
        "the score changed (update README and README_SCORE): {line}"
    );
    let readme = fs::read_to_string(repo_root().join("README.md")).expect("README");
    assert!(readme.contains(&format!("exposure level {README_SCORE}")));
    // The descriptor limit stays above the page's connection cap (512).
    let text = fs::read_to_string(&unit).expect("unit");
    let limit: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("LimitNOFILE="))
        .and_then(|v| v.trim().parse().ok())
        .expect("LimitNOFILE=N");
    assert!(limit / 2 > 512, "LimitNOFILE={limit}");
}

#[test]
fn cargo_lock_is_complete_for_a_locked_install() {
    // `cargo install --locked --path .` refuses a Cargo.lock that would
    // need changing; `cargo metadata --locked` checks the same, offline.
    Test::new()
        .program(
            std::env::var_os("CARGO")
                .map(PathBuf::from)
                .unwrap_or_else(|| "cargo".into()),
        )
        .args([
            "metadata",
            "--locked",
            "--offline",
            "--format-version=1",
            "--no-deps",
        ])
        .arg("--manifest-path")
        .arg(repo_root().join("Cargo.toml"))
        .stdout_contains("\"burnline\"")
        .run();
}

/// The target directory of this test binary, and the profile it was built in.
fn target_and_profile() -> (PathBuf, &'static str) {
    let bin = burnline_bin();
    let dir = bin.parent().expect("profile dir");
    let profile = if dir.file_name().is_some_and(|n| n == "release") {
        "release"
    } else {
        "dev"
    };
    (dir.parent().expect("target dir").to_path_buf(), profile)
}

/// A Debian 12 root with systemd, as a tarball: the boot test's cached
/// mmdebstrap rootfs if there is one, else one made here once and cached.
fn debian_rootfs(target: &Path) -> PathBuf {
    let boot_cache = target.join("boot-test/cache");
    if let Ok(entries) = fs::read_dir(&boot_cache) {
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let n = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                n.starts_with("rootfs-") && n.ends_with(".tar.zst")
            })
            .collect();
        found.sort();
        if let Some(p) = found.pop() {
            return p;
        }
    }
    let cache = target.join("install-test");
    fs::create_dir_all(&cache).expect("cache dir");
    let tarball = cache.join("rootfs-bookworm.tar.zst");
    if !tarball.is_file() {
        // mmdebstrap picks the format by the extension: keep `.tar.zst`.
        let tmp = cache.join("rootfs.tmp.tar.zst");
        Test::new()
            .tool("mmdebstrap")
            .args([
                "--variant=essential",
                "--include=systemd,systemd-sysv",
                "--quiet",
                "bookworm",
            ])
            .arg(&tmp)
            .run();
        fs::rename(&tmp, &tarball).expect("rename rootfs");
    }
    tarball
}

#[test]
fn deb_installs_runs_and_is_removed_in_a_fresh_debian_12_root() {
    let (target, profile) = target_and_profile();
    // The .deb ships burnline-emulator from beside burnline: built there.
    assert!(emulator_bin().starts_with(&target));
    let t = Test::new();
    let out = t.path().join("deb");
    // scripts/deb.sh: man pages and completions, then cargo deb --no-build.
    t.tool(s(&repo_root().join("scripts/deb.sh")))
        .arg(&out)
        .env("CARGO_TARGET_DIR", &target)
        .env("PROFILE", profile)
        .run();
    let deb = fs::read_dir(&out)
        .expect("deb dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .expect("a .deb");
    let contents = t.tool("dpkg-deb").arg("--contents").arg(&deb).run().stdout;
    for path in [
        "./usr/bin/burnline",
        "./usr/bin/burnline-bootstrap",
        "./usr/bin/burnline-emulator",
        "./usr/share/man/man1/burnline.1",
        "./usr/share/man/man1/burnline-station-serve.1",
        "./usr/share/bash-completion/completions/burnline",
        "./usr/share/zsh/vendor-completions/_burnline",
        "./usr/share/fish/vendor_completions.d/burnline.fish",
        "./usr/lib/systemd/system/burnline-station.service",
        "./usr/lib/sysusers.d/burnline.conf",
        "./etc/burnline/station.yaml",
    ] {
        assert!(
            contents.contains(path),
            "{path} not in the .deb:\n{contents}"
        );
    }
    let conffiles = t
        .tool("dpkg-deb")
        .args(["-I"])
        .arg(&deb)
        .arg("conffiles")
        .run()
        .stdout;
    assert!(
        conffiles.contains("/etc/burnline/station.yaml"),
        "{conffiles}"
    );

    // A fresh Debian 12 root (no man or doc exclusions, so the pages land).
    let root = t.path().join("root");
    fs::create_dir(&root).expect("root");
    t.tool("tar")
        .args(["--zstd", "-xf"])
        .arg(debian_rootfs(&target))
        .arg("-C")
        .arg(&root)
        .run();
    let _ = fs::remove_file(root.join("etc/dpkg/dpkg.cfg.d/99mmdebstrap"));
    fs::copy(&deb, root.join("tmp/burnline.deb")).expect("copy the .deb");
    let chroot = |args: &[&str]| t.tool("chroot").arg(&root).args(args);
    chroot(&["dpkg", "-i", "/tmp/burnline.deb"]).run();
    chroot(&["burnline", "--version"])
        .stdout_contains(format!("burnline {} (commit ", env!("CARGO_PKG_VERSION")))
        .run();
    chroot(&["burnline-bootstrap", "--version"])
        .stdout_contains("burnline-bootstrap")
        .run();
    // The emulator is its own binary, beside burnline (`burnline emulator`
    // finds it through /proc/self/exe, which this chroot has not mounted:
    // tests/binary_contents.rs runs the launcher).
    chroot(&["burnline-emulator", "--version"])
        .stdout_contains("burnline-emulator")
        .run();
    chroot(&["getent", "passwd", "burnline"])
        .stdout_contains("/var/lib/burnline")
        .run();
    // The root has no man-db: the Documentation= page is checked as a file.
    chroot(&[
        "systemd-analyze",
        "verify",
        "--man=no",
        "/usr/lib/systemd/system/burnline-station.service",
    ])
    .stderr("")
    .run();
    let man1 = root.join("usr/share/man/man1");
    assert!(
        ["burnline-station-serve.1", "burnline-station-serve.1.gz"]
            .iter()
            .any(|p| man1.join(p).is_file()),
        "the unit's man page is not in {}",
        man1.display()
    );
    chroot(&["dpkg", "-r", "burnline"]).run();
    assert!(!root.join("usr/bin/burnline").exists(), "removed");
    assert!(
        root.join("etc/burnline/station.yaml").is_file(),
        "a conffile stays until purge"
    );
    chroot(&["dpkg", "-P", "burnline"]).run();
    assert!(!root.join("etc/burnline/station.yaml").exists(), "purged");
}
