//! How measurements are shown: one table printed to the terminal and written
//! into HOWTO.md as Markdown, the units docker uses, and a line that says
//! when, with what and on what the numbers were taken.

use std::path::Path;
use std::time::Duration;

use howto_harness::Docker;
use howto_harness::inspect::BaseImages;

/// A table of text and figures: a column of figures (`78.9`, `7/9`,
/// `1.2–1.5`, `0.42×`) is right-aligned, any other column left-aligned.
pub struct Table {
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// Columns padded to their widest cell, a dashed line under the headers,
    /// for the terminal.
    pub fn to_text(&self) -> String {
        use comfy_table::{CellAlignment, ContentLineStyle, LineStyle, TableStyle};
        let mut table = comfy_table::Table::new();
        // Two spaces between columns and none around the table: a cell's
        // right padding and the blank junction.
        table.load_style(
            TableStyle::new()
                .header_lines(ContentLineStyle::none().junction(' '))
                .header_separator(LineStyle::none().fill('-').junction(' '))
                .content_lines(ContentLineStyle::none().junction(' ')),
        );
        table.set_header(self.headers.clone());
        table.add_rows(self.rows.clone());
        for (i, column) in table.column_iter_mut().enumerate() {
            column.set_padding((0, 1));
            if self.is_figures(i) {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
        table.trim_fmt() + "\n"
    }

    /// A GitHub-flavoured Markdown table, figures right-aligned. Written by
    /// hand: comfy-table's Markdown preset pads cells and has no `---:`
    /// alignment row, and HOWTO.md's generated tables must not change.
    pub fn to_markdown(&self) -> String {
        let row = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
        let mut text = row(self.headers.iter().map(|h| h.to_string()).collect());
        text += &row((0..self.headers.len())
            .map(|i| if self.is_figures(i) { "---:".to_string() } else { "---".to_string() })
            .collect());
        for cells in &self.rows {
            text += &row(cells.iter().map(|c| c.replace('|', "\\|")).collect());
        }
        text
    }

    fn is_figures(&self, column: usize) -> bool {
        let figure =
            |cell: &String| !cell.is_empty() && cell.chars().all(|c| c.is_ascii_digit() || ".–/×-".contains(c));
        !self.rows.is_empty() && self.rows.iter().filter_map(|r| r.get(column)).all(figure)
    }
}

/// Megabytes as docker counts them (1 MB = 1,000,000 bytes).
pub fn megabytes(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// Three significant figures or so, like `docker images`: 1.19, 78.9, 1631.
pub fn format_mb(mb: f64) -> String {
    match mb {
        m if m < 10.0 => format!("{m:.2}"),
        m if m < 1000.0 => format!("{m:.1}"),
        m => format!("{m:.0}"),
    }
}

pub fn seconds(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

pub fn format_seconds(seconds: f64) -> String {
    format!("{seconds:.1}")
}

/// `Measured 2026-11-29 05:10 UTC with Docker Engine …, client …; base
/// images: …; machine: …`, for the line's place in `document` (its link to
/// the offline-mirror appendix is relative to it).
pub fn provenance(docker: &Docker, engine_version: &str, base_images: BaseImages, document: &Path) -> String {
    provenance_line(&utc_now(), engine_version, &docker.describe(), base_images, &machine(), mirror_link(document))
}

/// The offline-mirror appendix, as `document` links it: from within docs/,
/// or from the repository's root.
fn mirror_link(document: &Path) -> &'static str {
    if document.parent().is_some_and(|dir| dir.ends_with("docs")) {
        "offline-mirror.md"
    } else {
        "docs/offline-mirror.md"
    }
}

fn provenance_line(
    when: &str,
    engine_version: &str,
    client: &str,
    base_images: BaseImages,
    machine: &str,
    mirror: &str,
) -> String {
    // Sizes and times on stand-ins differ from those on the official images;
    // the appendix says how.
    let see = match base_images {
        BaseImages::Official => String::new(),
        BaseImages::StandIns | BaseImages::Mixed => format!(" (see [docs/offline-mirror.md]({mirror}))"),
    };
    format!(
        "Measured {when} with Docker Engine {engine_version}, client {client}; base images: {}{see}; \
         machine: {machine}.",
        base_images.describe()
    )
}

/// `2 cores, 23.4 GiB memory, Intel(R) Xeon(R) …`: what the build times
/// depend on most.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| meminfo_kib(&info))
        .map_or("unknown memory".to_string(), |kib| format!("{:.1} GiB memory", kib as f64 / (1024.0 * 1024.0)));
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| cpu_model(&info))
        .unwrap_or_else(|| "unknown CPU".to_string());
    format!("{cores} cores, {memory}, {cpu}")
}

fn meminfo_kib(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn cpu_model(cpuinfo: &str) -> Option<String> {
    // x86 says `model name`; some arm64 kernels only give `Model` or nothing.
    cpuinfo
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(key, _)| matches!(key.trim(), "model name" | "Model"))
        .map(|(_, value)| value.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The current time in UTC, to the minute: `2026-11-29 05:10 UTC`.
pub fn utc_now() -> String {
    utc_timestamp(jiff::Timestamp::now())
}

fn utc_timestamp(time: jiff::Timestamp) -> String {
    time.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// Median of a non-empty sample (the mean of the middle two for an even count).
pub fn median(sample: &[f64]) -> f64 {
    let mut sorted = sample.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) { (sorted[middle - 1] + sorted[middle]) / 2.0 } else { sorted[middle] }
}

pub fn min_max(sample: &[f64]) -> (f64, f64) {
    sample.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(*x), hi.max(*x)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        let at = |secs| utc_timestamp(jiff::Timestamp::from_second(secs).unwrap());
        assert_eq!(at(0), "1970-01-01 00:00 UTC");
        assert_eq!(at(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(at(1_796_000_000), "2026-11-30 00:53 UTC");
    }

    #[test]
    fn provenance_names_the_engine_and_the_base_images() {
        let line = |base| {
            provenance_line(
                "2026-11-29 21:07 UTC",
                "20.10.24+dfsg1",
                "/usr/bin/docker (BuildKit via DOCKER_BUILDKIT=1)",
                base,
                "2 cores",
                "docs/offline-mirror.md",
            )
        };
        assert_eq!(
            line(BaseImages::StandIns),
            "Measured 2026-11-29 21:07 UTC with Docker Engine 20.10.24+dfsg1, client /usr/bin/docker \
             (BuildKit via DOCKER_BUILDKIT=1); base images: local stand-ins, not the official ones \
             (see [docs/offline-mirror.md](docs/offline-mirror.md)); machine: 2 cores."
        );
        assert!(line(BaseImages::Official).contains("; base images: the official ones; machine:"));
        assert!(line(BaseImages::Mixed).contains("some official, some local stand-ins (see ["));
    }

    #[test]
    fn the_mirror_appendix_is_linked_from_where_the_line_is() {
        assert_eq!(mirror_link(Path::new("/repo/HOWTO.md")), "docs/offline-mirror.md");
        assert_eq!(mirror_link(Path::new("/tmp/H.md")), "docs/offline-mirror.md");
        assert_eq!(mirror_link(Path::new("/repo/docs/reproducible.md")), "offline-mirror.md");
    }

    #[test]
    fn sizes_read_like_docker_images() {
        assert_eq!(format_mb(megabytes(1_190_000)), "1.19");
        assert_eq!(format_mb(megabytes(78_900_000)), "78.9");
        assert_eq!(format_mb(megabytes(1_630_512_000)), "1631");
    }

    #[test]
    fn medians_and_ranges() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(min_max(&[3.0, 1.0, 2.0]), (1.0, 3.0));
    }

    #[test]
    fn machine_facts_come_from_proc() {
        assert_eq!(meminfo_kib("MemTotal:       24576000 kB\nMemFree: 1 kB\n"), Some(24_576_000));
        let cpuinfo = "processor\t: 0\nmodel name\t: AMD  EPYC 7B13\nflags\t: fpu\n";
        assert_eq!(cpu_model(cpuinfo).as_deref(), Some("AMD EPYC 7B13"));
    }

    #[test]
    fn only_columns_of_figures_are_right_aligned() {
        let table = Table {
            headers: vec!["variant", "hits", "output"],
            rows: vec![vec!["static".into(), "6/11".into(), "Hello, world!".into()]],
        };
        assert!(table.to_markdown().contains("| --- | ---: | --- |"));
        assert!(table.to_text().starts_with("variant  hits  output\n"));
    }

    #[test]
    fn tables_align_for_the_terminal_and_escape_for_markdown() {
        let table = Table {
            headers: vec!["variant", "size (MB)"],
            rows: vec![vec!["static".into(), "1.19".into()], vec!["a|b".into(), "78.9".into()]],
        };
        assert_eq!(
            table.to_text(),
            "variant  size (MB)\n-------- ----------\nstatic        1.19\na|b           78.9\n"
        );
        assert_eq!(
            table.to_markdown(),
            "| variant | size (MB) |\n| --- | ---: |\n| static | 1.19 |\n| a\\|b | 78.9 |\n"
        );
    }
}
