//! The comparison as an SVG chart: SRMSE by margin order per pool, and |ΔV| heat maps.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Comparison, MAX_ORDER};
use crate::error::{Error, Result};
use crate::reports::chart::{DrawResult, FONT, PALETTE};
use crate::reports::write_atomic;

const WIDTH: u32 = 1000;
const BARS_HEIGHT: u32 = 420;
const HEAT_HEIGHT: u32 = 380;
const HEAT_COLUMNS: usize = 3;

/// Renders the chart to a string and writes it atomically to `path`.
pub(super) fn write_svg(comparison: &Comparison, path: &Path) -> Result<()> {
    let svg = render(comparison).map_err(|e| Error::Chart(e.to_string()))?;
    write_atomic(path, |w| w.write_all(svg.as_bytes()))
}

fn render(c: &Comparison) -> DrawResult<String> {
    let heat_rows = if c.attributes.len() < 2 { 0 } else { c.pools.len().div_ceil(HEAT_COLUMNS) as u32 };
    let height = BARS_HEIGHT + 40 + heat_rows * HEAT_HEIGHT;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let (bars, heat) = root.split_vertically(BARS_HEIGHT);
        draw_bars(c, &bars)?;
        draw_heat_maps(c, &heat)?;
        root.present()?;
    }
    Ok(svg)
}

/// Grouped bars: one group per margin order (and the joint), one bar per pool.
fn draw_bars(c: &Comparison, area: &DrawingArea<SVGBackend, Shift>) -> DrawResult {
    let mut groups: Vec<String> = Vec::new();
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); c.pools.len()];
    for order in 1..=MAX_ORDER {
        if c.pools.iter().all(|p| p.mean_srmse(order).is_some()) {
            groups.push(format!("{order}-way (mean)"));
            for (v, p) in values.iter_mut().zip(&c.pools) {
                v.push(p.mean_srmse(order).unwrap_or_default());
            }
        }
    }
    groups.push("joint".to_string());
    for (v, p) in values.iter_mut().zip(&c.pools) {
        v.push(p.joint.srmse);
    }
    let top = values.iter().flatten().copied().fold(0.0, f64::max);
    let y_max = if top > 0.0 { top * 1.15 } else { 1.0 };
    let n = groups.len();
    let mut chart = ChartBuilder::on(area)
        .caption("SRMSE by margin order (each pool scaled to the truth's total)", (FONT, 20))
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(65)
        .build_cartesian_2d(0.0..n as f64, 0.0..y_max)?;
    chart.configure_mesh().disable_x_mesh().x_labels(0).y_desc("SRMSE").label_style((FONT, 14)).draw()?;
    let group_style = TextStyle::from((FONT, 14).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    for (g, name) in groups.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(g as f64 + 0.5, 0.0));
        area.draw(&Text::new(name.clone(), (x, y + 8), group_style.clone()))?;
    }
    let width = 0.8 / c.pools.len() as f64;
    for (i, (pool, v)) in c.pools.iter().zip(&values).enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let bars = v.iter().enumerate().map(move |(g, &y)| {
            let x0 = g as f64 + 0.1 + i as f64 * width;
            Rectangle::new([(x0, 0.0), (x0 + width, y)], colour.filled())
        });
        chart
            .draw_series(bars)?
            .label(pool.name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 12, y + 6)], colour.filled()));
    }
    // Values above the bars, where a bar is wide enough to hold one.
    let bar_pixels = chart.backend_coord(&(width, 0.0)).0 - chart.backend_coord(&(0.0, 0.0)).0;
    if bar_pixels >= 30 {
        let value_style = TextStyle::from((FONT, 11).into_font()).pos(Pos::new(HPos::Center, VPos::Bottom));
        for (i, v) in values.iter().enumerate() {
            for (g, &y) in v.iter().enumerate() {
                let (x, top) = chart.backend_coord(&(g as f64 + 0.1 + (i as f64 + 0.5) * width, y));
                area.draw(&Text::new(format!("{y:.3}"), (x, top - 3), value_style.clone()))?;
            }
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, 14))
        .draw()?;
    Ok(())
}

/// One heat map of |ΔV| per pool, all on the same colour scale.
fn draw_heat_maps(c: &Comparison, area: &DrawingArea<SVGBackend, Shift>) -> DrawResult {
    let n = c.attributes.len();
    let v_max = c.pools.iter().filter_map(|p| p.association.max_abs_change).fold(0.0, f64::max);
    let caption = if n < 2 {
        "|ΔV|: a single attribute has no pairs".to_string()
    } else {
        format!("|ΔV| = |Cramér's V in the pool − V in the truth| per attribute pair; white 0 to dark red {v_max:.3}")
    };
    let title = TextStyle::from((FONT, 18).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    area.draw(&Text::new(caption, (WIDTH as i32 / 2, 8), title))?;
    if n < 2 {
        return Ok(());
    }
    let (_, grid) = area.split_vertically(40);
    let rows = c.pools.len().div_ceil(HEAT_COLUMNS);
    let panels = grid.split_evenly((rows, HEAT_COLUMNS));
    let names: Vec<&str> = c.attributes.iter().map(|a| a.name.as_str()).collect();
    for (pool, panel) in c.pools.iter().zip(&panels) {
        let mut matrix = vec![vec![None; n]; n];
        for pair in &pool.association.pairs {
            let i = names.iter().position(|&a| a == pair.attributes[0]);
            let j = names.iter().position(|&a| a == pair.attributes[1]);
            if let (Some(i), Some(j)) = (i, j) {
                matrix[i][j] = Some(pair.change.abs());
                matrix[j][i] = Some(pair.change.abs());
            }
        }
        let mean = pool.association.mean_abs_change.unwrap_or_default();
        draw_heat_map(panel, &format!("{} (mean |ΔV| {mean:.3})", pool.name), &names, &matrix, v_max)?;
    }
    Ok(())
}

/// One pool's panel: a title, row names on the left, column names rotated below.
fn draw_heat_map(
    area: &DrawingArea<SVGBackend, Shift>,
    title: &str,
    names: &[&str],
    matrix: &[Vec<Option<f64>>],
    v_max: f64,
) -> DrawResult {
    let (width, height) = area.dim_in_pixel();
    let (width, height) = (width as i32, height as i32);
    let n = names.len() as i32;
    let (left, top, bottom) = (100, 30, 90);
    let cell = ((width - left - 15) / n).min((height - top - bottom) / n).max(4);
    let title_style = TextStyle::from((FONT, 15).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    area.draw(&Text::new(title.to_string(), (width / 2, 6), title_style))?;
    let label = (FONT, 12).into_font();
    let row_style = TextStyle::from(label.clone()).pos(Pos::new(HPos::Right, VPos::Center));
    let column_style =
        TextStyle::from(label.transform(FontTransform::Rotate90)).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, name) in names.iter().enumerate() {
        let offset = i as i32 * cell + cell / 2;
        area.draw(&Text::new(name.to_string(), (left - 5, top + offset), row_style.clone()))?;
        area.draw(&Text::new(name.to_string(), (left + offset, top + n * cell + 5), column_style.clone()))?;
    }
    for (i, row) in matrix.iter().enumerate() {
        for (j, value) in row.iter().enumerate() {
            let (x0, y0) = (left + j as i32 * cell, top + i as i32 * cell);
            let corners = [(x0, y0), (x0 + cell, y0 + cell)];
            let shade = value.map(|v| if v_max > 0.0 { (v / v_max).clamp(0.0, 1.0) } else { 0.0 });
            let fill = shade.map_or(RGBColor(220, 220, 220), heat_colour);
            area.draw(&Rectangle::new(corners, fill.filled()))?;
            area.draw(&Rectangle::new(corners, RGBColor(160, 160, 160)))?;
            if let (Some(v), Some(t)) = (value, shade) {
                if cell >= 28 {
                    let ink = if t > 0.6 { WHITE } else { BLACK };
                    let style =
                        TextStyle::from((FONT, 10).into_font()).color(&ink).pos(Pos::new(HPos::Center, VPos::Center));
                    area.draw(&Text::new(format!("{v:.2}"), (x0 + cell / 2, y0 + cell / 2), style))?;
                }
            }
        }
    }
    Ok(())
}

/// White at 0 to dark red at 1.
fn heat_colour(t: f64) -> RGBColor {
    let mix = |from: f64, to: f64| (from + (to - from) * t).round() as u8;
    RGBColor(mix(255.0, 165.0), mix(255.0, 15.0), mix(255.0, 21.0))
}
