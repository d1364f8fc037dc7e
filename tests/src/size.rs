//! What a page downloads for the browser SDK: the inline snippet, the
//! bundled loader (`sdk/cairn.js`) and the wasm, raw and compressed as a
//! server would send them (gzip -9, brotli quality 11). Used by the size gate
//! (`tests/sdk_size.rs`) and by `cargo xtask bench`.

use std::io::Write as _;
use std::path::Path;

use crate::Result;

/// The test command fails above this many gzipped bytes for the whole SDK.
pub const GZIP_BUDGET: usize = 30 * 1024;
/// What we aim for (reported by the benchmarks).
pub const GZIP_TARGET: usize = 20 * 1024;

/// The page that carries the snippet, and the SDK's build output, relative
/// to the checkout.
pub const SNIPPET_PAGE: &str = "www-demo/public/index.html";
pub const SDK_DIR: &str = "www-demo/public/sdk";
/// The SDK's files as the page requests them (under `/sdk/`).
pub const SDK_FILES: [&str; 2] = ["cairn.js", "cairn_sdk_bg.wasm"];

/// Byte counts of one payload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sizes {
    pub raw: usize,
    pub gzip: usize,
    pub brotli: usize,
}

impl Sizes {
    /// Compresses `bytes` with gzip -9 and brotli quality 11 (window 22, the
    /// encoder's default) and counts.
    pub fn of(bytes: &[u8]) -> Sizes {
        Sizes { raw: bytes.len(), gzip: gzip(bytes), brotli: brotli(bytes) }
    }

    fn add(self, o: Sizes) -> Sizes {
        Sizes { raw: self.raw + o.raw, gzip: self.gzip + o.gzip, brotli: self.brotli + o.brotli }
    }
}

/// The gzip stream (header and trailer included) as `gzip -9` would write it.
pub fn gzip(bytes: &[u8]) -> usize {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(bytes);
    enc.finish().map_or(0, |v| v.len())
}

/// The brotli stream at quality 11 (`brotli -q 11`, what servers use for static assets).
pub fn brotli(bytes: &[u8]) -> usize {
    let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 22, ..Default::default() };
    let mut out = Vec::new();
    match brotli::BrotliCompress(&mut &bytes[..], &mut out, &params) {
        Ok(_) => out.len(),
        Err(_) => 0,
    }
}

/// One named payload and its bytes.
pub struct Payload {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// The snippet: the `!function(w,d){...}` line of the inline `<script>` in
/// the page's `<head>` (the site's own `cairn.load(...)` and `cairn.page()`
/// calls after it are not counted).
pub fn snippet(page: &str) -> Result<String> {
    let head = page.split("</head>").next().unwrap_or_default();
    head.split("<script>")
        .skip(1)
        .filter_map(|s| s.split("</script>").next())
        .flat_map(str::lines)
        .map(str::trim)
        .find(|l| l.starts_with("!function("))
        .map(str::to_owned)
        .ok_or_else(|| "no inline <script> in <head> with a `!function(...)` snippet line".to_owned())
}

/// What a page downloads for Cairn's SDK, read from the checkout: the
/// snippet from the demo page and the SDK files from the build output.
pub fn cairn_payloads(root: &Path) -> Result<Vec<Payload>> {
    let page_path = root.join(SNIPPET_PAGE);
    let page = std::fs::read_to_string(&page_path)
        .map_err(|e| format!("cannot read the snippet's page {}: {e}", page_path.display()))?;
    let snippet = snippet(&page).map_err(|e| format!("{}: {e}", page_path.display()))?;
    let mut out = vec![Payload { name: "snippet (inline)".into(), bytes: snippet.into_bytes() }];
    for file in SDK_FILES {
        let path = root.join(SDK_DIR).join(file);
        let bytes = std::fs::read(&path).map_err(|e| {
            format!("cannot read {} ({e}): the SDK is not built; run `cargo xtask build` first", path.display())
        })?;
        out.push(Payload { name: format!("sdk/{file}"), bytes });
    }
    Ok(out)
}

/// Sizes per payload and in total.
pub struct Report {
    pub parts: Vec<(String, Sizes)>,
    pub total: Sizes,
}

impl Report {
    pub fn of(payloads: &[Payload]) -> Report {
        let parts: Vec<(String, Sizes)> = payloads.iter().map(|p| (p.name.clone(), Sizes::of(&p.bytes))).collect();
        let total = parts.iter().fold(Sizes::default(), |acc, (_, s)| acc.add(*s));
        Report { parts, total }
    }

    /// A plain-text table, for test output.
    pub fn table(&self) -> String {
        let mut s = format!("{:<22} {:>9} {:>9} {:>9}\n", "bytes", "raw", "gzip -9", "brotli 11");
        for (name, z) in self.parts.iter().chain([&("total".to_owned(), self.total)]) {
            s.push_str(&format!("{name:<22} {:>9} {:>9} {:>9}\n", z.raw, z.gzip, z.brotli));
        }
        s
    }
}

/// `12345` as `12.1 KB` (KiB, as the budget is written).
pub fn kb(bytes: usize) -> String {
    format!("{:.1} KB", bytes as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_snippet_line_in_the_head() {
        let page = "<html><head>\n<script>\n  !function(w,d){var c=1}(window,document);\n  cairn.load(\"k\");\n</script>\n\
                    </head><body><script>!function(){}()</script></body></html>";
        assert_eq!(snippet(page).as_deref(), Ok("!function(w,d){var c=1}(window,document);"));
        assert!(snippet("<head><script src=x></script></head>").is_err());
    }

    #[test]
    fn without_a_build_says_how_to_make_one() {
        let root = crate::scratch_dir("size").expect("scratch dir");
        let page = root.join(SNIPPET_PAGE);
        std::fs::create_dir_all(page.parent().expect("a parent")).expect("folders");
        std::fs::write(&page, "<head><script>\n!function(w,d){}(window,document);\n</script></head>").expect("page");
        let err = cairn_payloads(&root).err().unwrap_or_default();
        let _ = std::fs::remove_dir_all(&root);
        assert!(err.contains("cairn_sdk") || err.contains("cairn.js"), "{err}");
        assert!(err.contains("run `cargo xtask build` first"), "{err}");
    }

    #[test]
    fn compresses_repetitive_bytes() {
        let bytes = "cairn ".repeat(1000).into_bytes();
        let s = Sizes::of(&bytes);
        assert_eq!(s.raw, 6000);
        assert!(s.gzip > 18 && s.gzip < 100, "{s:?}");
        assert!(s.brotli > 0 && s.brotli < s.gzip, "{s:?}");
    }
}
