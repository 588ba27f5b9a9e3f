//! Charts drawn on the server as inline SVG (no script, no external file, no inline style:
//! presentation attributes only, which the console's Content-Security-Policy allows). Each
//! chart is an image with a title and a description for screen readers; the pages put the
//! same figures in a table next to it.

use std::fmt::Write;

use lethe_entities::reports::Year;
use time::Duration;

/// Colours of the series, in order (Okabe–Ito: told apart with the common colour-vision
/// deficiencies).
const PALETTE: [&str; 6] = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00"];
const INK: &str = "#1f2328";
const GRID: &str = "#d0d7de";
const DEADLINE: &str = "#b42318";

const WIDTH: f64 = 720.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 12.0;

/// One series of a bar chart: its name and a value per week.
pub struct Series<'a> {
    /// Its name, in the legend.
    pub label: &'a str,
    /// One value per week of the year.
    pub values: &'a [i64],
}

/// One row of a range chart: days to complete under one law.
pub struct Range {
    /// The row's name.
    pub label: String,
    /// The median, drawn as a bar.
    pub median: f64,
    /// The 90th percentile, drawn as a line from the bar's end.
    pub p90: f64,
    /// The deadline, drawn as a dashed mark.
    pub deadline: f64,
}

/// Escapes text for SVG.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The smallest "nice" grid step at or above `value`: 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a
/// power of ten, a whole number, at least 1; four steps span the largest value with round
/// labels.
fn nice(value: f64) -> f64 {
    if value <= 1.0 {
        return 1.0;
    }
    let power = 10f64.powf(value.log10().floor());
    [1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .iter()
        .map(|m| m * power)
        .filter(|step| step.fract() == 0.0)
        .find(|step| *step >= value)
        .unwrap_or(10.0 * power)
}

/// Opens an SVG image `height` high with title and description.
fn open(id: &str, height: f64, title: &str, description: &str) -> String {
    format!(
        "<svg class=\"chart\" id=\"{id}\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" \
         aria-labelledby=\"{id}-title {id}-desc\" xmlns=\"http://www.w3.org/2000/svg\" font-family=\"system-ui, \
         sans-serif\" font-size=\"12\"><title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>",
        esc(title),
        esc(description)
    )
}

/// Horizontal grid lines and their labels from 0 to `max` over a plot from `top` to `bottom`.
fn grid(out: &mut String, max: f64, top: f64, bottom: f64) {
    for i in 0..=4 {
        let value = max * f64::from(i) / 4.0;
        let y = bottom - (bottom - top) * f64::from(i) / 4.0;
        let _ = write!(
            out,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"{GRID}\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"{INK}\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            value.round()
        );
    }
}

/// A legend of `labels` in a row at `y`.
fn legend(out: &mut String, labels: &[&str], y: f64) {
    let mut x = LEFT;
    for (i, label) in labels.iter().enumerate() {
        let _ = write!(
            out,
            "<rect x=\"{x}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{}\" y=\"{y}\" fill=\"{INK}\">{}</text>",
            y - 10.0,
            PALETTE[i % PALETTE.len()],
            x + 16.0,
            esc(label)
        );
        x += 28.0 + 7.0 * label.chars().count() as f64;
    }
}

/// The first day of week `week` of `year`, as "Jan 8".
pub fn week_start(year: Year, week: usize) -> String {
    let day = year.start() + Duration::days(7 * week as i64);
    let month = day.month().to_string();
    format!("{} {}", &month[..3], day.day())
}

/// Stacked bars, one per week of `year`, one colour per series.
pub fn weekly_bars(id: &str, title: &str, year: Year, series: &[Series]) -> String {
    let (top, bottom, height) = (if series.len() > 1 { 30.0 } else { 12.0 }, 208.0, 236.0);
    let weeks = year.weeks();
    let totals: Vec<i64> =
        (0..weeks).map(|w| series.iter().map(|s| s.values.get(w).copied().unwrap_or(0)).sum()).collect();
    let sum: i64 = totals.iter().sum();
    let max = 4.0 * nice(totals.iter().copied().max().unwrap_or(0) as f64 / 4.0);
    let description = format!(
        "{sum} in {} weeks of {}; the busiest week had {}.",
        weeks,
        year.number(),
        totals.iter().max().unwrap_or(&0)
    );
    let mut out = open(id, height, title, &description);
    grid(&mut out, max, top, bottom);
    if series.len() > 1 {
        legend(&mut out, &series.iter().map(|s| s.label).collect::<Vec<_>>(), 16.0);
    }
    let step = (WIDTH - LEFT - RIGHT) / weeks as f64;
    let scale = (bottom - top) / max;
    for week in 0..weeks {
        let x = LEFT + step * week as f64 + step * 0.1;
        let mut y = bottom;
        for (i, s) in series.iter().enumerate() {
            let value = s.values.get(week).copied().unwrap_or(0);
            if value == 0 {
                continue;
            }
            let h = value as f64 * scale;
            y -= h;
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{}\"><title>{}: {} {value}</title></rect>",
                step * 0.8,
                PALETTE[i % PALETTE.len()],
                week_start(year, week),
                esc(s.label)
            );
        }
        if week % 4 == 0 && week + 3 < weeks {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"{INK}\">{}</text>",
                x + step * 0.4,
                bottom + 18.0,
                week_start(year, week)
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// Horizontal ranges, one row each: the median as a bar, the 90th percentile as a line from
/// it, the deadline as a dashed mark; in days.
pub fn ranges(id: &str, title: &str, rows: &[Range]) -> String {
    let row_height = 34.0;
    let (top, height) = (26.0, 26.0 + row_height * rows.len() as f64 + 26.0);
    let max = 4.0 * nice(rows.iter().map(|r| r.p90.max(r.deadline)).fold(0.0, f64::max) * 1.05 / 4.0);
    let description = rows
        .iter()
        .map(|r| {
            format!(
                "{}: median {} days, 90th percentile {} days, deadline {} days",
                r.label, r.median, r.p90, r.deadline
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let mut out = open(id, height, title, &description);
    let left = LEFT + 48.0;
    let scale = (WIDTH - left - RIGHT) / max;
    legend(&mut out, &["median", "90th percentile"], 14.0);
    let _ = write!(
        out,
        "<line x1=\"{}\" x2=\"{}\" y1=\"4\" y2=\"16\" stroke=\"{DEADLINE}\" stroke-width=\"2\" stroke-dasharray=\"3 2\"/>\
         <text x=\"{}\" y=\"14\" fill=\"{INK}\">deadline</text>",
        LEFT + 250.0,
        LEFT + 250.0,
        LEFT + 256.0
    );
    for (i, r) in rows.iter().enumerate() {
        let y = top + row_height * i as f64;
        let (median, p90, deadline) = (left + r.median * scale, left + r.p90 * scale, left + r.deadline * scale);
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"{INK}\">{}</text>\
             <rect x=\"{left}\" y=\"{:.1}\" width=\"{:.1}\" height=\"14\" fill=\"{}\"/>\
             <line x1=\"{median:.1}\" x2=\"{p90:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{}\" stroke-width=\"3\"/>\
             <line x1=\"{p90:.1}\" x2=\"{p90:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{}\" stroke-width=\"3\"/>\
             <line x1=\"{deadline:.1}\" x2=\"{deadline:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{DEADLINE}\" stroke-width=\"2\" stroke-dasharray=\"3 2\"/>",
            left - 6.0,
            y + 16.0,
            esc(&r.label),
            y + 5.0,
            (median - left).max(1.0),
            PALETTE[0],
            y + 12.0,
            y + 12.0,
            PALETTE[1],
            y + 5.0,
            y + 19.0,
            PALETTE[1],
            y + 1.0,
            y + 23.0,
        );
    }
    let axis = top + row_height * rows.len() as f64 + 4.0;
    for i in 0..=4 {
        let value = max * f64::from(i) / 4.0;
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"{INK}\">{} d</text>",
            left + value * scale,
            axis + 14.0,
            value.round()
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_steps_are_round_and_whole() {
        assert_eq!(nice(0.0), 1.0);
        assert_eq!(nice(0.3), 1.0, "a step is at least 1: counts are whole");
        assert_eq!(nice(2.5), 3.0, "whole steps below 10");
        assert_eq!(nice(7.0), 8.0);
        assert_eq!(nice(11.8), 15.0);
        assert_eq!(nice(450.0), 500.0);
    }

    #[test]
    fn a_bar_per_week_with_a_value_and_its_figure_in_the_title() {
        let year = Year::new(2025).unwrap();
        let (mut a, mut b) = (vec![0; year.weeks()], vec![0; year.weeks()]);
        a[0] = 3;
        b[0] = 1;
        b[10] = 2;
        let svg = weekly_bars(
            "c",
            "Requests <per> week",
            year,
            &[Series { label: "access", values: &a }, Series { label: "erasure", values: &b }],
        );
        assert_eq!(svg.matches("<rect x=").count(), 3 + 2, "three bars and two legend swatches");
        assert!(svg.contains("<title>Jan 1: access 3</title>"), "{svg}");
        assert!(svg.contains("<title>Mar 12: erasure 2</title>"), "{svg}");
        assert!(svg.contains("Requests &lt;per&gt; week"), "titles are escaped");
        assert!(svg.contains("6 in 53 weeks of 2025; the busiest week had 4."));
        assert!(!svg.contains("style="), "no inline style");
    }

    #[test]
    fn a_range_row_per_law_with_its_deadline() {
        let svg = ranges("d", "Days", &[Range { label: "CCPA".into(), median: 10.0, p90: 30.0, deadline: 45.0 }]);
        assert!(svg.contains(">CCPA</text>"));
        assert!(svg.contains("CCPA: median 10 days, 90th percentile 30 days, deadline 45 days"));
        assert_eq!(svg.matches("stroke-dasharray").count(), 2, "the deadline mark and its legend");
    }
}
