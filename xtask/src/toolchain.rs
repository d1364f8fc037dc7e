//! Choosing how to compile for wasm32-unknown-unknown.
//!
//! A developer laptop usually has rustup's `wasm32-unknown-unknown` target.
//! Where rustup cannot fetch it (no access to its download host), Debian's
//! `rustc-web` compiler plus its std sources build std for wasm32 from source
//! (`-Z build-std`, allowed on stable cargo through `RUSTC_BOOTSTRAP=1`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Workspace;
use crate::cmd;

pub const TARGET: &str = "wasm32-unknown-unknown";
pub const DEBIAN_PACKAGES: &[&str] = &["rustc-web", "cargo-web", "rust-web-src", "lld-19"];
const DEBIAN_RUSTC: &str = "/usr/bin/rustc";
const DEBIAN_RUSTDOC: &str = "/usr/bin/rustdoc";
const DEBIAN_WASM_LD: &str = "/usr/lib/llvm-19/bin/wasm-ld";
const DEBIAN_STD_SRC: &str = "/usr/lib/rustlib/src/rust/library";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wasm {
    /// The default rustc has a prebuilt wasm32 std (rustup target or distro).
    Installed,
    /// Debian's rustc-web, with std built from source.
    DebianBuildStd,
}

impl Wasm {
    pub fn detect() -> Option<Wasm> {
        if default_rustc_has_wasm_std() {
            Some(Wasm::Installed)
        } else if [DEBIAN_RUSTC, DEBIAN_WASM_LD, DEBIAN_STD_SRC].iter().all(|p| Path::new(p).exists()) {
            Some(Wasm::DebianBuildStd)
        } else {
            None
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Wasm::Installed => "the default toolchain's wasm32-unknown-unknown target",
            Wasm::DebianBuildStd => "Debian rustc-web with std built from source (build-std)",
        }
    }

    /// One target directory per toolchain, so switching never forces a rebuild.
    pub fn target_dir(self, ws: &Workspace) -> PathBuf {
        ws.path(match self {
            Wasm::Installed => "target/wasm",
            Wasm::DebianBuildStd => "target/wasm-debian",
        })
    }

    /// Sets what a cargo invocation needs to compile for wasm32.
    pub fn configure(self, cmd: &mut Command, ws: &Workspace) {
        cmd.env("CARGO_TARGET_DIR", self.target_dir(ws));
        if self == Wasm::DebianBuildStd {
            cmd.env("RUSTC", DEBIAN_RUSTC)
                .env("RUSTDOC", DEBIAN_RUSTDOC)
                .env("RUSTC_BOOTSTRAP", "1")
                .env("CARGO_UNSTABLE_BUILD_STD", "std,panic_abort")
                .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER", DEBIAN_WASM_LD);
        }
    }
}

fn default_rustc_has_wasm_std() -> bool {
    let Some(sysroot) = cmd::output(Command::new("rustc").args(["--print", "sysroot"])) else {
        return false;
    };
    let lib = Path::new(sysroot.trim()).join("lib/rustlib").join(TARGET).join("lib");
    std::fs::read_dir(lib)
        .map(|entries| entries.flatten().any(|e| e.file_name().to_string_lossy().starts_with("libcore-")))
        .unwrap_or(false)
}
