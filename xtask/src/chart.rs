//! Horizontal bar charts, side by side, in one SVG file. Horizontal because
//! the variant names are long; SVG because it needs no fonts to draw (the
//! viewer renders the text) and diffs as text.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

pub struct Bar {
    pub label: String,
    pub value: f64,
    /// Drawn as an error bar, e.g. min–max over runs.
    pub range: Option<(f64, f64)>,
}

pub struct Panel {
    pub title: String,
    pub axis: String,
    /// For values that span decades (1 MB to 1.6 GB): ticks at powers of ten.
    pub log_scale: bool,
    pub bars: Vec<Bar>,
    pub format: fn(f64) -> String,
}

const PANEL_WIDTH: u32 = 560;
const BAR_HEIGHT: u32 = 34;
const BAR_COLOR: RGBColor = RGBColor(0x4c, 0x72, 0xb0);

/// Draws the panels side by side into an SVG file at `path`.
pub fn draw(path: &Path, panels: &[Panel]) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let most_bars = panels.iter().map(|p| p.bars.len()).max().unwrap_or(1) as u32;
    let size = (PANEL_WIDTH * panels.len() as u32, 90 + BAR_HEIGHT * most_bars);
    let root = SVGBackend::new(path, size).into_drawing_area();
    let drawn = root
        .fill(&WHITE)
        .map_err(|e| e.to_string())
        .and_then(|()| {
            let areas = root.split_evenly((1, panels.len()));
            areas.iter().zip(panels).try_for_each(|(area, panel)| draw_panel(area, panel))
        })
        .and_then(|()| root.present().map_err(|e| e.to_string()));
    drawn.map_err(|e| format!("drawing {}: {e}", path.display()))
}

fn draw_panel(area: &DrawingArea<SVGBackend, Shift>, panel: &Panel) -> Result<(), String> {
    let scale = Scale::new(panel);
    let count = panel.bars.len() as u32;
    let labels: Vec<String> = panel.bars.iter().map(|b| b.label.clone()).collect();
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 18))
        .margin(12)
        .margin_right(60)
        .x_label_area_size(40)
        .y_label_area_size(170)
        // A segmented 0..n has n + 1 rows: 0..n - 1 has one per bar (but 0..0
        // has none, so a single bar gets a blank row above it).
        .build_cartesian_2d(scale.low..scale.high, (0..count.saturating_sub(1).max(1)).into_segmented())
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(panel.axis.as_str())
        .x_labels(scale.tick_count())
        .x_label_formatter(&|x| scale.tick_label(*x))
        .y_labels(labels.len())
        .y_label_formatter(&|y| match y {
            SegmentValue::CenterOf(row) => {
                count.checked_sub(1 + row).and_then(|i| labels.get(i as usize).cloned()).unwrap_or_default()
            }
            _ => String::new(),
        })
        .draw()
        .map_err(|e| e.to_string())?;

    // Rows count from the bottom: the first bar goes on the top row.
    let bars = || panel.bars.iter().enumerate().map(|(i, bar)| (count - 1 - i as u32, bar));
    chart
        .draw_series(
            Histogram::horizontal(&chart)
                .style(BAR_COLOR.filled())
                .margin(6)
                .baseline(scale.low)
                .data(bars().map(|(i, bar)| (i, scale.position(bar.value)))),
        )
        .map_err(|e| e.to_string())?;

    let whisker = BLACK.stroke_width(1);
    for (i, bar) in bars() {
        let Some((lo, hi)) = bar.range else { continue };
        let row = || SegmentValue::CenterOf(i);
        let (lo, hi) = (scale.position(lo), scale.position(hi));
        chart.draw_series([PathElement::new(vec![(lo, row()), (hi, row())], whisker)]).map_err(|e| e.to_string())?;
        // The caps are drawn in pixels: a segmented axis has no fraction of a row.
        chart
            .draw_series(
                [lo, hi].map(|x| EmptyElement::at((x, row())) + PathElement::new(vec![(0, -5), (0, 5)], whisker)),
            )
            .map_err(|e| e.to_string())?;
    }

    let value_style = ("sans-serif", 13).into_font().color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
    chart
        .draw_series(bars().map(|(i, bar)| {
            let end = bar.range.map_or(bar.value, |(_, hi)| hi.max(bar.value));
            Text::new(
                format!(" {}", (panel.format)(bar.value)),
                (scale.position(end), SegmentValue::CenterOf(i)),
                value_style.clone(),
            )
        }))
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// The x axis: plain values, or their base-10 logarithms (drawn on a linear
/// axis whose ticks are labelled with the powers of ten they stand for).
struct Scale {
    log: bool,
    low: f64,
    high: f64,
}

impl Scale {
    fn new(panel: &Panel) -> Scale {
        let values = panel.bars.iter().flat_map(|b| [Some(b.value), b.range.map(|r| r.1)]).flatten();
        let max = values.fold(0.0_f64, f64::max);
        if panel.log_scale {
            let min = panel.bars.iter().map(|b| b.value).filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min);
            let min = if min.is_finite() { min } else { 1.0 };
            // A decade of room below the smallest bar, so it is still a bar.
            let low = min.log10().floor() - 1.0;
            let high = max.max(min).log10().ceil().max(low + 1.0);
            Scale { log: true, low, high }
        } else {
            Scale { log: false, low: 0.0, high: if max > 0.0 { max * 1.15 } else { 1.0 } }
        }
    }

    fn position(&self, value: f64) -> f64 {
        if self.log { value.max(10f64.powf(self.low)).log10() } else { value }
    }

    fn tick_count(&self) -> usize {
        if self.log { (self.high - self.low) as usize + 1 } else { 6 }
    }

    fn tick_label(&self, x: f64) -> String {
        if !self.log {
            return format!("{x}");
        }
        match 10f64.powf(x) {
            v if v < 1.0 => format!("{v:.1}"),
            v => format!("{v:.0}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, value: f64, range: Option<(f64, f64)>) -> Bar {
        Bar { label: label.into(), value, range }
    }

    #[test]
    fn draws_labelled_panels_side_by_side() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chart.svg");
        let panels = [
            Panel {
                title: "Image size".into(),
                axis: "MB (log scale)".into(),
                log_scale: true,
                bars: vec![bar("simple", 1631.0, None), bar("static", 1.19, None), bar("cache-mount", 78.9, None)],
                format: |v| format!("{v}"),
            },
            Panel {
                title: "Warm rebuild".into(),
                axis: "seconds".into(),
                log_scale: false,
                bars: vec![bar("multi-platform (arm64)", 4.2, Some((3.9, 5.0)))],
                format: |v| format!("{v}"),
            },
        ];
        draw(&path, &panels).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        for text in ["Image size", "Warm rebuild", "simple", "multi-platform (arm64)", "1631", "1000"] {
            assert!(svg.contains(text), "the chart lacks {text:?}");
        }
    }
}
