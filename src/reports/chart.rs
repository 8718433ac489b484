//! Shared SVG charting: the palette, and interval (forest) charts of estimates with CIs.
//!
//! ```
//! use populace::reports::chart::{interval_svg, Interval, IntervalPanel};
//!
//! let panel = IntervalPanel {
//!     title: "pseudo-R² against the baseline".into(),
//!     axis: "pseudo-R²".into(),
//!     rows: vec!["all items".into()],
//!     series: vec!["profile".into()],
//!     points: vec![Interval { row: 0, series: 0, estimate: 0.05, low: 0.03, high: 0.07 }],
//!     reference: Some(0.0),
//! };
//! let svg = interval_svg(&[panel]).unwrap();
//! assert!(svg.starts_with("<svg"));
//! ```

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::{Error, Result};
use crate::reports::write_atomic;

/// The font family of every chart.
pub const FONT: &str = "sans-serif";

/// Series colours (Tableau 10).
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(78, 121, 167),
    RGBColor(242, 142, 43),
    RGBColor(225, 87, 89),
    RGBColor(118, 183, 178),
    RGBColor(89, 161, 79),
    RGBColor(237, 201, 72),
    RGBColor(176, 122, 161),
    RGBColor(255, 157, 167),
    RGBColor(156, 117, 95),
    RGBColor(186, 176, 172),
];

/// The error type of plotters' drawing calls.
pub(crate) type DrawResult<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// One estimate with its interval, at a row and in a series of an [`IntervalPanel`].
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    /// Index into [`IntervalPanel::rows`].
    pub row: usize,
    /// Index into [`IntervalPanel::series`].
    pub series: usize,
    /// The point estimate.
    pub estimate: f64,
    /// Lower end of the interval.
    pub low: f64,
    /// Upper end of the interval.
    pub high: f64,
}

/// A forest chart: one line per row, one dot with a whisker per series in it.
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalPanel {
    /// Title above the panel.
    pub title: String,
    /// Label of the value axis.
    pub axis: String,
    /// Row labels, top to bottom.
    pub rows: Vec<String>,
    /// Series names (the legend), coloured from [`PALETTE`].
    pub series: Vec<String>,
    /// The estimates; non-finite ones are left out.
    pub points: Vec<Interval>,
    /// A vertical reference line (e.g. 0: no gain).
    pub reference: Option<f64>,
}

const WIDTH: u32 = 1000;
const ROW_HEIGHT: u32 = 22;
const LEGEND_WIDTH: u32 = 170;
const PANEL_CHROME: u32 = 120;

/// Renders panels stacked vertically into one SVG document.
pub fn interval_svg(panels: &[IntervalPanel]) -> Result<String> {
    render(panels).map_err(|e| Error::Chart(e.to_string()))
}

/// Renders panels and writes them atomically to `path`.
pub fn write_interval_svg(panels: &[IntervalPanel], path: &Path) -> Result<()> {
    let svg = interval_svg(panels)?;
    write_atomic(path, |w| w.write_all(svg.as_bytes()))
}

fn panel_height(p: &IntervalPanel) -> u32 {
    PANEL_CHROME + ROW_HEIGHT * p.rows.len().max(1) as u32 * (p.series.len() as u32 + 1).clamp(2, 5)
}

fn render(panels: &[IntervalPanel]) -> DrawResult<String> {
    let height = panels.iter().map(panel_height).sum::<u32>().max(100);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut rest = root.clone();
        for p in panels {
            let (area, below) = rest.split_vertically(panel_height(p));
            draw_panel(p, &area)?;
            rest = below;
        }
        root.present()?;
    }
    Ok(svg)
}

fn draw_panel(p: &IntervalPanel, area: &DrawingArea<SVGBackend, Shift>) -> DrawResult {
    let finite: Vec<&Interval> =
        p.points.iter().filter(|i| i.estimate.is_finite() && i.low.is_finite() && i.high.is_finite()).collect();
    let mut lo = finite.iter().map(|i| i.low.min(i.estimate)).fold(f64::INFINITY, f64::min);
    let mut hi = finite.iter().map(|i| i.high.max(i.estimate)).fold(f64::NEG_INFINITY, f64::max);
    if let Some(r) = p.reference {
        lo = lo.min(r);
        hi = hi.max(r);
    }
    if !lo.is_finite() || !hi.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(1e-6);
    let rows = p.rows.len().max(1) as f64;
    let label_width = p.rows.iter().map(|r| r.chars().count()).max().unwrap_or(0).clamp(6, 30) as u32 * 8 + 10;
    let (panel, legend) = area.split_horizontally(WIDTH - LEGEND_WIDTH);
    let mut chart = ChartBuilder::on(&panel)
        .caption(&p.title, (FONT, 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(label_width)
        .build_cartesian_2d((lo - pad)..(hi + pad), 0.0..rows)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .light_line_style(WHITE)
        .x_desc(p.axis.as_str())
        .label_style((FONT, 13))
        .draw()?;
    // Text is placed in the panel's own pixels; the chart's backend coordinates are absolute.
    let (x0, y0) = panel.get_base_pixel();
    let label_style = TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
    for (r, name) in p.rows.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(lo - pad, rows - r as f64 - 0.5));
        panel.draw(&Text::new(name.clone(), (x - x0 - 8, y - y0), label_style.clone()))?;
    }
    let grey = RGBColor(200, 200, 200);
    for r in 1..p.rows.len() {
        chart.draw_series(std::iter::once(PathElement::new([(lo - pad, r as f64), (hi + pad, r as f64)], grey)))?;
    }
    if let Some(r) = p.reference {
        chart.draw_series(std::iter::once(PathElement::new([(r, 0.0), (r, rows)], RGBColor(90, 90, 90))))?;
    }
    let k = p.series.len().max(1) as f64;
    let offset = |s: usize| 0.5 + 0.7 * (0.5 - (s as f64 + 0.5) / k);
    let legend_style = TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (s, name) in p.series.iter().enumerate() {
        let colour = PALETTE[s % PALETTE.len()];
        let at = |i: &Interval| rows - i.row as f64 - 1.0 + offset(s);
        let mine: Vec<&&Interval> = finite.iter().filter(|i| i.series == s).collect();
        chart.draw_series(
            mine.iter().map(|i| PathElement::new([(i.low, at(i)), (i.high, at(i))], colour.stroke_width(2))),
        )?;
        chart.draw_series(mine.iter().map(|i| Circle::new((i.estimate, at(i)), 4, colour.filled())))?;
        let y = 50 + 20 * s as i32;
        legend.draw(&Circle::new((12, y), 5, colour.filled()))?;
        legend.draw(&Text::new(name.clone(), (24, y), legend_style.clone()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel(points: Vec<Interval>) -> IntervalPanel {
        IntervalPanel {
            title: "t".into(),
            axis: "x".into(),
            rows: vec!["a".into(), "b".into()],
            series: vec!["one".into(), "two".into()],
            points,
            reference: Some(0.0),
        }
    }

    #[test]
    fn draws_every_finite_point_and_skips_the_rest() {
        let points = vec![
            Interval { row: 0, series: 0, estimate: 0.1, low: 0.0, high: 0.2 },
            Interval { row: 1, series: 1, estimate: -0.1, low: -0.3, high: 0.05 },
            Interval { row: 1, series: 0, estimate: f64::NAN, low: 0.0, high: 1.0 },
        ];
        let svg = interval_svg(&[panel(points)]).unwrap();
        // Two estimates plus one legend dot per series.
        assert_eq!(svg.matches("<circle").count(), 4, "{svg}");
        assert!(svg.contains("\none\n") && svg.contains("\ntwo\n") && svg.contains("\na\n"));
    }

    #[test]
    fn an_empty_panel_still_renders() {
        let svg = interval_svg(&[panel(Vec::new())]).unwrap();
        assert!(svg.ends_with("</svg>\n") || svg.ends_with("</svg>"));
    }
}
