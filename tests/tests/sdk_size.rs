//! The size gate: what a page downloads for the browser SDK (snippet, loader
//! and wasm) must stay within 30 KB gzipped. Reads the build output, so it
//! needs `cargo xtask build` first (`cargo xtask test` builds before testing).

use cairn_tests::size::{self, GZIP_BUDGET, Report};

#[test]
fn sdk_download_stays_within_30_kb_gzipped() {
    let payloads = match size::cairn_payloads(&cairn_tests::workspace_root()) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    let report = Report::of(&payloads);
    println!("browser SDK download size:\n{}", report.table());
    assert!(
        report.total.gzip <= GZIP_BUDGET,
        "the browser SDK is {} bytes gzipped ({}), over the {} budget:\n{}",
        report.total.gzip,
        size::kb(report.total.gzip),
        size::kb(GZIP_BUDGET),
        report.table()
    );
}
