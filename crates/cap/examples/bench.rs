//! Throughput figures for the codec: `cargo run --release -p tongxin-cap --example bench`.
//! Prints one JSON line per case (parse and write times per message, MB/s). Reads the real
//! samples from `$TONGXIN_SHARED/data/cap-samples` or a `shared/` beside the repository.

use std::path::{Path, PathBuf};
use std::time::Instant;

use tongxin_cap::{parse, parse_with, write, ParseOptions};

fn shared() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("TONGXIN_SHARED") {
        return Some(PathBuf::from(dir));
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().map(|a| a.join("shared")).find(|s| s.join("data").is_dir())
}

fn measure(name: &str, bytes: &[u8], rounds: u32) {
    let opts = ParseOptions { max_bytes: 64 << 20, ..ParseOptions::default() };
    let start = Instant::now();
    let mut alert = None;
    for _ in 0..rounds {
        alert = Some(parse_with(bytes, &opts).expect("valid"));
    }
    let parse_us = start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
    let alert = alert.expect("at least one round");
    let start = Instant::now();
    let mut len = 0;
    for _ in 0..rounds {
        len = write(&alert).len();
    }
    let write_us = start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
    let mb = bytes.len() as f64 / 1e6;
    println!(
        "{{\"case\":\"{name}\",\"bytes\":{},\"written_bytes\":{len},\"parse_us\":{parse_us:.1},\"write_us\":{write_us:.1},\"parse_mb_s\":{:.1}}}",
        bytes.len(),
        mb / (parse_us / 1e6)
    );
}

fn main() {
    if let Some(dir) = shared().map(|s| s.join("data/cap-samples")).filter(|d| d.is_dir()) {
        let mut files: Vec<_> = std::fs::read_dir(&dir).expect("samples").map(|e| e.expect("entry").path()).collect();
        files.sort();
        for f in files.iter().filter(|f| f.extension().is_some_and(|e| e != "md")) {
            let bytes = std::fs::read(f).expect("read");
            measure(&f.file_name().unwrap_or_default().to_string_lossy(), &bytes, 2000);
        }
    } else {
        eprintln!("NOTICE: shared/data/cap-samples not found, real samples skipped");
    }
    let head = "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><identifier>x</identifier>\
        <sender>s</sender><sent>2024-07-01T12:00:00+08:00</sent><status>Actual</status>\
        <msgType>Alert</msgType><scope>Public</scope><info><category>Met</category><event>e</event>\
        <urgency>Expected</urgency><severity>Severe</severity><certainty>Likely</certainty>";
    let big = format!(
        "{head}<resource><resourceDesc>r</resourceDesc><mimeType>image/png</mimeType><derefUri>{}</derefUri>\
         </resource></info></alert>",
        "QUJD".repeat(1_000_000)
    );
    measure("embedded-resource-4MB", big.as_bytes(), 20);
    let ring: Vec<String> = (0..10_000)
        .map(|i| {
            let a = f64::from(i) / 10_000.0 * std::f64::consts::TAU;
            format!("{:.5},{:.5}", 31.3 + 0.1 * a.sin(), 120.6 + 0.1 * a.cos())
        })
        .collect();
    let poly = format!(
        "{head}<area><areaDesc>ring</areaDesc><polygon>{} {}</polygon></area></info></alert>",
        ring.join(" "),
        ring[0]
    );
    measure("polygon-10000-vertices", poly.as_bytes(), 50);

    let mut bomb = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE alert [\n<!ENTITY a0 \"HAHA\">\n");
    let mut i = 1;
    while bomb.len() < 10 << 20 {
        bomb.push_str(&format!("<!ENTITY a{i} \"&a{p};&a{p};&a{p};&a{p};&a{p};&a{p};&a{p};&a{p};\">\n", p = i - 1));
        i += 1;
    }
    bomb.push_str("]><alert/>");
    let start = Instant::now();
    let by_size = parse(bomb.as_bytes()).is_err();
    let size_us = start.elapsed().as_secs_f64() * 1e6;
    let start = Instant::now();
    let roomy = ParseOptions { max_bytes: 64 << 20, ..ParseOptions::default() };
    let by_dtd = parse_with(bomb.as_bytes(), &roomy).unwrap_err().has_rule("xml-dtd");
    let dtd_ms = start.elapsed().as_secs_f64() * 1e3;
    println!(
        "{{\"case\":\"bomb-10MB\",\"refused_by_size\":{by_size},\"size_check_us\":{size_us:.1},\"refused_by_dtd\":{by_dtd},\"dtd_check_ms\":{dtd_ms:.1}}}"
    );
}
