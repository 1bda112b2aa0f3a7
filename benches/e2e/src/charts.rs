//! SVG charts of the results, drawn with plotters' SVG backend (text is left to the viewer's
//! sans-serif font, so no font files are needed). White background, so they read the same on a
//! light or a dark page. Every client has one colour in every chart: the wsx clients in cool
//! colours (blues, teals, a violet), solid lines, filled marks and bars; the other libraries in
//! warm colours, dashed lines, hollow marks and light bars; io-only, the ceiling, in grey.

use plotters::chart::{ChartContext, MeshStyle};
use plotters::coord::ranged1d::SegmentedCoord;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordi32;
use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::report::{fmt_num, fmt_short, serve_label, size_label, Table};
use crate::{BoxError, SERVE_WORKLOADS, WORKLOADS};

/// One chart: its file name and what it shows (the image's alternative text).
#[derive(Debug, Clone)]
pub struct Chart {
    /// File name, `*.svg`.
    pub file: String,
    /// What it shows.
    pub alt: String,
    /// The SVG document.
    pub svg: String,
}

type Res<T> = Result<T, BoxError>;
type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

const WIDTH: u32 = 960;
/// The legend's column on the right.
const LEGEND_W: u32 = 230;
const FONT: &str = "sans-serif";
const MIB: f64 = 1024.0 * 1024.0;
const CEILING: &str = "io-only";

/// Whether `client` is one of wsx's.
pub fn is_wsx(client: &str) -> bool {
    client.starts_with("wsx")
}

/// The colour of `client`, the same in every chart.
pub fn colour(client: &str) -> RGBColor {
    match client {
        "wsx-tokio" => RGBColor(0x08, 0x30, 0x6b),
        "wsx-tokio-send" => RGBColor(0x6b, 0xae, 0xd6),
        "wsx-blocking" => RGBColor(0x00, 0x69, 0x6b),
        "wsx-async-std" => RGBColor(0x35, 0xb0, 0xa8),
        "wsx-async-std-smol" => RGBColor(0x6a, 0x51, 0xa3),
        "wsx-async-std-local" => RGBColor(0x21, 0x71, 0xb5),
        "tokio-tungstenite" => RGBColor(0xe6, 0x6a, 0x00),
        "fastwebsockets" => RGBColor(0xc0, 0x1f, 0x2f),
        "tokio-websockets" => RGBColor(0xd6, 0x33, 0x8f),
        "yawc" => RGBColor(0x9a, 0x73, 0x2a),
        _ => RGBColor(0x70, 0x70, 0x70),
    }
}

/// An axis label: "0", "2.5", "500 k", "1.5 M".
fn axis_num(v: f64) -> String {
    let (v, unit) = match v.abs() {
        a if a >= 1e6 => (v / 1e6, " M"),
        a if a >= 1e4 => (v / 1e3, " k"),
        _ => (v, ""),
    };
    let digits = format!("{v:.2}");
    format!("{}{unit}", digits.trim_end_matches('0').trim_end_matches('.'))
}

fn text(size: u32) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font()).color(&BLACK)
}

/// Text that starts at its point, centred on it vertically; bold for a legend's group title.
fn left(size: u32, bold: bool) -> TextStyle<'static> {
    let style = if bold { FontStyle::Bold } else { FontStyle::Normal };
    let font = TextStyle::from((FONT, size, style).into_font()).color(&BLACK);
    font.pos(Pos::new(HPos::Left, VPos::Center))
}

/// Every chart the table has numbers for.
pub fn all(t: &Table) -> Res<Vec<Chart>> {
    let flood = "Throughput against message size, no window (flood)";
    let stream = "Throughput against message size, at most 8 MiB in flight (stream)";
    let flood = throughput(t, "flood-", "throughput-flood.svg", flood)?;
    let stream = throughput(t, "stream-", "throughput-stream.svg", stream)?;
    Ok([flood, stream, idle(t)?, latency(t)?, many(t)?, servers(t)?]
        .into_iter()
        .flatten()
        .collect())
}

/// Whether a client belongs to a legend's group.
type Member = fn(&str) -> bool;

/// The legend: one line per client, grouped (wsx, other libraries, ceiling); `sample` draws
/// the entry's mark centred at its point.
fn legend(area: &Area, clients: &[String], sample: impl Fn(&Area, &str, (i32, i32)) -> Res<()>) -> Res<()> {
    let mut y = 20;
    let groups: [(&str, Member); 3] = [
        ("wsx", |c| is_wsx(c)),
        ("other libraries", |c| !is_wsx(c) && c != CEILING),
        ("no WebSocket library", |c| c == CEILING),
    ];
    for (title, member) in groups {
        let members: Vec<&String> = clients.iter().filter(|c| member(c)).collect();
        if members.is_empty() {
            continue;
        }
        area.draw_text(title, &left(15, true), (8, y))?;
        y += 22;
        for c in members {
            sample(area, c, (30, y))?;
            area.draw_text(c, &left(14, false), (58, y))?;
            y += 21;
        }
        y += 10;
    }
    Ok(())
}

/// A client's line: thick for wsx, thinner (and dashed) for the others.
fn line_style(c: &str) -> ShapeStyle {
    colour(c).stroke_width(if is_wsx(c) { 3 } else { 2 })
}

/// Draws `c`'s line through `points`: solid for wsx, dashed for the others.
fn draw_line<CT: CoordTranslate>(
    chart: &mut ChartContext<'_, SVGBackend<'_>, CT>,
    c: &str,
    points: Vec<CT::From>,
) -> Res<()>
where
    CT::From: Clone + 'static,
{
    if is_wsx(c) {
        chart.draw_series(LineSeries::new(points, line_style(c)))?;
    } else {
        chart.draw_series(DashedLineSeries::new(points, 8, 5, line_style(c)))?;
    }
    Ok(())
}

/// A legend's line, as `draw_line` draws it.
fn dash_sample(area: &Area, c: &str, (x, y): (i32, i32)) -> Res<()> {
    let dashes: &[(i32, i32)] = if is_wsx(c) {
        &[(-20, 20)]
    } else {
        &[(-20, -12), (-6, 2), (8, 16)]
    };
    for (from, to) in dashes {
        area.draw(&PathElement::new(vec![(x + from, y), (x + to, y)], line_style(c)))?;
    }
    Ok(())
}

/// A line chart's legend mark: its line and its marker.
fn line_sample(area: &Area, c: &str, at: (i32, i32)) -> Res<()> {
    dash_sample(area, c, at)?;
    area.draw(&marker(c, at))?;
    Ok(())
}

/// A client's marker: filled for wsx, hollow for the others.
fn marker<C>(c: &str, at: C) -> Circle<C, i32> {
    let col = colour(c);
    Circle::new(at, 4, if is_wsx(c) { col.filled() } else { col.stroke_width(2) })
}

/// A bar chart's legend mark: a bar drawn as the chart draws it.
fn bar_sample(area: &Area, c: &str, (x, y): (i32, i32)) -> Res<()> {
    let (fill, edge) = bar_style(c);
    area.draw(&Rectangle::new([(x - 18, y - 7), (x + 18, y + 7)], fill))?;
    area.draw(&Rectangle::new([(x - 18, y - 7), (x + 18, y + 7)], edge))?;
    Ok(())
}

/// A client's bar: solid for wsx, light with an outline for the others.
fn bar_style(c: &str) -> (ShapeStyle, ShapeStyle) {
    match (colour(c), is_wsx(c)) {
        (col, true) => (col.filled(), col.stroke_width(1)),
        (col, false) => (col.mix(0.35).filled(), col.stroke_width(2)),
    }
}

/// The grid and labels every chart shares.
fn mesh<'m, 'a, 'b, 'c, X: Ranged, Y: Ranged>(
    m: &'m mut MeshStyle<'a, 'b, X, Y, SVGBackend<'c>>,
) -> &'m mut MeshStyle<'a, 'b, X, Y, SVGBackend<'c>> {
    m.label_style(text(14))
        .axis_desc_style(text(15))
        .light_line_style(RGBColor(0xf2, 0xf2, 0xf2))
        .bold_line_style(RGBColor(0xcc, 0xcc, 0xcc))
}

/// A chart: white, `WIDTH`×`height`, titled `what`; `draw` gets the plot's area and the
/// legend's, where the legend of `clients` goes.
fn page(
    file: &str,
    what: &str,
    height: u32,
    clients: &[String],
    sample: impl Fn(&Area, &str, (i32, i32)) -> Res<()>,
    draw: impl FnOnce(&Area, &Area) -> Res<()>,
) -> Res<Option<Chart>> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let (plot, side) = root.titled(what, text(22))?.split_horizontally(WIDTH - LEGEND_W);
        draw(&plot, &side)?;
        legend(&side, clients, sample)?;
        root.present()?;
    }
    Ok(Some(Chart {
        file: file.into(),
        alt: what.into(),
        svg,
    }))
}

/// (a) Payload MiB/s against message size, one line per client, log scale: the four sizes
/// span three decades of rate.
fn throughput(t: &Table, prefix: &str, file: &str, what: &str) -> Res<Option<Chart>> {
    let workloads: Vec<&str> = WORKLOADS
        .iter()
        .copied()
        .filter(|w| w.starts_with(prefix) && t.has(w))
        .collect();
    let has = |c: &String| workloads.iter().any(|w| t.value(w, c, "mib_per_s").is_some());
    let clients: Vec<String> = t.all_clients().into_iter().filter(has).collect();
    let values: Vec<f64> = clients
        .iter()
        .flat_map(|c| workloads.iter().filter_map(|w| t.value(w, c, "mib_per_s")))
        .filter(|v| *v > 0.0)
        .collect();
    if values.is_empty() {
        return Ok(None);
    }
    let lo = values.iter().copied().fold(f64::MAX, f64::min) * 0.6;
    let hi = values.iter().copied().fold(0.0, f64::max) * 1.6;
    let n = workloads.len() as i32;
    page(file, what, 600, &clients, line_sample, |plot, _| {
        let mut chart = ChartBuilder::on(plot)
            .margin(14)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d((0..n - 1).into_segmented(), (lo..hi).log_scale())?;
        let size = |v: &SegmentValue<i32>| match v {
            SegmentValue::CenterOf(i) => workloads.get(*i as usize).map_or("", |w| size_label(w)).to_string(),
            _ => String::new(),
        };
        let y_num = |v: &f64| axis_num(*v);
        mesh(
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(workloads.len())
                .x_label_formatter(&size)
                .y_label_formatter(&y_num)
                .x_desc("message size")
                .y_desc("payload MiB/s (log scale)"),
        )
        .draw()?;
        for c in &clients {
            let points: Vec<_> = workloads
                .iter()
                .enumerate()
                .filter_map(|(i, w)| Some((SegmentValue::CenterOf(i as i32), t.value(w, c, "mib_per_s")?)))
                .collect();
            draw_line(&mut chart, c, points.clone())?;
            chart.draw_series(points.into_iter().map(|p| marker(c, p)))?;
        }
        Ok(())
    })
}

/// A chart with one row per client (the first on top) and an x axis of values.
type Rows<'a, 'b, X> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<X, SegmentedCoord<RangedCoordi32>>>;

fn row_chart<'a, 'b, X, R>(area: &'a Area<'b>, names: &[String], show: bool, x: R, x_desc: &str) -> Res<Rows<'a, 'b, X>>
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    R: AsRangedCoord<CoordDescType = X, Value = f64>,
{
    let n = names.len() as i32;
    let mut chart = ChartBuilder::on(area)
        .margin(14)
        .x_label_area_size(50)
        .y_label_area_size(if show { 170 } else { 10 })
        .build_cartesian_2d(x, (0..n - 1).into_segmented())?;
    let name = |v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(i) if show => names[(n - 1 - i) as usize].clone(),
        _ => String::new(),
    };
    let x_num = |v: &f64| axis_num(*v);
    mesh(
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(names.len())
            .y_label_formatter(&name)
            .x_labels(6)
            .x_label_formatter(&x_num)
            .x_desc(x_desc),
    )
    .draw()?;
    Ok(chart)
}

/// Row `i` of `n` (row 0 on top): its middle, and its top and bottom edges.
fn row(n: usize, i: usize) -> (SegmentValue<i32>, SegmentValue<i32>, SegmentValue<i32>) {
    let y = (n - 1 - i) as i32;
    let next = if i == 0 {
        SegmentValue::Last
    } else {
        SegmentValue::Exact(y + 1)
    };
    (SegmentValue::CenterOf(y), SegmentValue::Exact(y), next)
}

/// One bar of a horizontal bar chart.
struct Bar {
    client: String,
    value: f64,
    range: Option<(f64, f64)>,
}

/// Horizontal bars with the runs' min–max as a whisker. A value more than three times the
/// next is drawn cut at the scale's end and labelled as such, so that it does not flatten the
/// others.
fn hbars(area: &Area, bars: &[Bar], x_desc: &str, names: bool, label: &dyn Fn(f64) -> String) -> Res<()> {
    let mut sorted: Vec<f64> = bars.iter().map(|b| b.value).collect();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let cap = match sorted.as_slice() {
        [first, second, ..] if *first > 3.0 * second => second * 1.6,
        _ => bars
            .iter()
            .map(|b| b.range.map_or(b.value, |r| r.1))
            .fold(0.0, f64::max),
    };
    let clients: Vec<String> = bars.iter().map(|b| b.client.clone()).collect();
    let mut chart = row_chart(area, &clients, names, 0.0..cap.max(1e-9) * 1.3, x_desc)?;
    for (i, b) in bars.iter().enumerate() {
        let (mid, bottom, top) = row(bars.len(), i);
        let cut = b.value > cap;
        let (fill, edge) = bar_style(&b.client);
        for style in [fill, edge] {
            let mut r = Rectangle::new([(0.0, bottom.clone()), (b.value.min(cap), top.clone())], style);
            r.set_margin(5, 5, 0, 0);
            chart.draw_series([r])?;
        }
        let mut right = b.value.min(cap);
        if let (Some((lo, hi)), false) = (b.range, cut) {
            let line = PathElement::new(vec![(lo, mid.clone()), (hi, mid.clone())], BLACK);
            chart.draw_series([line])?;
            for x in [lo, hi] {
                chart.draw_series([
                    EmptyElement::at((x, mid.clone())) + PathElement::new(vec![(0, -5), (0, 5)], BLACK)
                ])?;
            }
            right = right.max(hi);
        }
        let words = if cut {
            format!("{} (off scale)", label(b.value))
        } else {
            label(b.value)
        };
        chart.draw_series([EmptyElement::at((right, mid)) + Text::new(words, (6, 0), left(13, false))])?;
    }
    Ok(())
}

/// The bars of `key` on `workload`, scaled by `scale`.
fn bars(t: &Table, workload: &str, key: &str, scale: f64) -> Vec<Bar> {
    let bar = |client: String| {
        let cell = t.cell(workload, &client)?;
        let value = cell.get(key)? / scale;
        let range = cell.range(key).map(|(lo, hi)| (lo / scale, hi / scale));
        Some(Bar { client, value, range })
    };
    t.clients(workload).into_iter().filter_map(bar).collect()
}

fn rows_height(rows: usize) -> u32 {
    (150 + rows * 34).max(380) as u32
}

/// (b) Memory per idle connection.
fn idle(t: &Table) -> Res<Option<Chart>> {
    let rows = bars(t, "idle", "bytes_per_conn", 1.0);
    let Some(conns) = t.clients("idle").iter().find_map(|c| t.value("idle", c, "conns")) else {
        return Ok(None);
    };
    let what = format!("Memory per idle connection ({conns:.0} connections from one process)");
    let clients: Vec<String> = rows.iter().map(|b| b.client.clone()).collect();
    let (height, desc) = (
        rows_height(rows.len()),
        "RSS growth per connection (bytes; whiskers: min–max of the runs)",
    );
    page("idle-memory.svg", &what, height, &clients, bar_sample, |plot, _| {
        hbars(plot, &rows, desc, true, &|v| format!("{} B", fmt_num(Some(v))))
    })
}

/// The round-trip percentiles the results may have, and their labels.
const PERCENTILES: [(&str, &str); 4] = [
    ("p50_us", "p50"),
    ("p90_us", "p90"),
    ("p99_us", "p99"),
    ("p999_us", "p99.9"),
];

/// A percentile's mark at `at`, in `col`.
fn percentile_mark<DB: DrawingBackend, C: Clone + 'static>(
    label: &str,
    at: C,
    col: RGBColor,
) -> DynElement<'static, DB, C> {
    match label {
        "p50" => Circle::new(at, 5, col.filled()).into_dyn(),
        "p90" => TriangleMarker::new(at, 5, col.stroke_width(2)).into_dyn(),
        "p99" => Cross::new(at, 5, col.stroke_width(2)).into_dyn(),
        _ => Circle::new(at, 5, col.stroke_width(2)).into_dyn(),
    }
}

/// (c) Round-trip latency: each client's percentiles on one line, p50 to the highest.
fn latency(t: &Table) -> Res<Option<Chart>> {
    let percentiles = |c: &String| -> Vec<(&str, f64)> {
        let value = |(key, label): &(&str, &'static str)| Some((*label, t.value("rtt", c, key)?));
        PERCENTILES.iter().filter_map(value).collect()
    };
    let rows: Vec<(String, Vec<(&str, f64)>)> = t
        .clients("rtt")
        .into_iter()
        .map(|c| (c.clone(), percentiles(&c)))
        .collect();
    let rows: Vec<_> = rows.into_iter().filter(|r| !r.1.is_empty()).collect();
    let has = |l: &&str| rows.iter().any(|(_, p)| p.iter().any(|(k, _)| k == l));
    let shown: Vec<&str> = PERCENTILES.iter().map(|p| p.1).filter(has).collect();
    if rows.is_empty() {
        return Ok(None);
    }
    let what = format!(
        "Round-trip latency, 16-byte messages one at a time ({})",
        shown.join(", ")
    );
    let values = || rows.iter().flat_map(|(_, p)| p.iter().map(|v| v.1));
    let (lo, hi) = (values().fold(f64::MAX, f64::min), values().fold(0.0, f64::max));
    let clients: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let height = rows_height(rows.len());
    page("rtt-latency.svg", &what, height, &clients, dash_sample, |plot, side| {
        let desc = "round-trip time (µs; median over the runs of each percentile)";
        // A log scale when the tail is far from the median, so that both stay readable.
        if hi > 5.0 * lo {
            let desc = desc.replace("µs;", "µs, log scale;");
            percentile_rows(
                &mut row_chart(plot, &clients, true, (lo * 0.7..hi * 5.0).log_scale(), &desc)?,
                &rows,
            )?;
        } else {
            percentile_rows(&mut row_chart(plot, &clients, true, 0.0..hi * 1.35, desc)?, &rows)?;
        }
        // The marks' key, below the legend of the clients.
        let mut y = 40 + 21 * clients.len() as i32 + 3 * 32;
        side.draw_text("marks (µs, left to right)", &left(15, true), (8, y))?;
        for label in shown {
            y += 22;
            side.draw(&percentile_mark(label, (30, y), BLACK))?;
            side.draw_text(label, &left(14, false), (58, y))?;
        }
        Ok(())
    })
}

/// Each client's percentiles on its row: a line from the lowest to the highest, a mark each.
fn percentile_rows<X: Ranged<ValueType = f64>>(
    chart: &mut Rows<'_, '_, X>,
    rows: &[(String, Vec<(&str, f64)>)],
) -> Res<()> {
    for (i, (c, p)) in rows.iter().enumerate() {
        let (y, _, _) = row(rows.len(), i);
        let (lo, hi) = (p[0].1, p[p.len() - 1].1);
        draw_line(chart, c, vec![(lo, y.clone()), (hi, y.clone())])?;
        let mark = |(label, v): &(&str, f64)| percentile_mark(label, (*v, y.clone()), colour(c));
        chart.draw_series(p.iter().map(mark))?;
        let words = p.iter().map(|(_, v)| fmt_num(Some(*v))).collect::<Vec<_>>().join(" / ");
        chart.draw_series([EmptyElement::at((hi, y)) + Text::new(words, (10, 0), left(13, false))])?;
    }
    Ok(())
}

/// (d) Many busy connections: the aggregate rate and the peak RSS, side by side.
fn many(t: &Table) -> Res<Option<Chart>> {
    const W: &str = "many-1k";
    let rates = bars(t, W, "msgs_per_s", 1.0);
    let clients: Vec<String> = rates.iter().map(|b| b.client.clone()).collect();
    // Both panels list the same clients in the same rows.
    let rss: Vec<Bar> = bars(t, W, "peak_rss", MIB)
        .into_iter()
        .filter(|b| clients.contains(&b.client))
        .collect();
    if rates.is_empty() {
        return Ok(None);
    }
    let what = format!(
        "Busy connections from one process, each streaming {} messages of 1 KiB",
        crate::MANY_MSGS
    );
    let height = rows_height(rates.len());
    page(
        "many-connections.svg",
        &what,
        height,
        &clients,
        bar_sample,
        |plot, _| {
            let (left_area, right_area) = plot.split_horizontally((WIDTH - LEGEND_W) * 56 / 100);
            let rate = |v: f64| fmt_short(v).0 + fmt_short(v).1;
            hbars(&left_area, &rates, "messages/s, all connections together", true, &rate)?;
            let mib = |v: f64| format!("{v:.1}");
            if rss.len() == rates.len() {
                hbars(&right_area, &rss, "peak RSS of the client process (MiB)", false, &mib)?;
            }
            Ok(())
        },
    )
}

/// (e) The servers under the load client: one panel per server workload, the echo rate of
/// each server.
fn servers(t: &Table) -> Res<Option<Chart>> {
    let panels: Vec<(String, Vec<Bar>)> = SERVE_WORKLOADS
        .iter()
        .filter(|w| t.has(w))
        .map(|w| {
            let conns = t.clients(w).iter().find_map(|c| t.value(w, c, "conns"));
            (serve_label(w, conns), bars(t, w, "msgs_per_s", 1.0))
        })
        .filter(|(_, bars)| !bars.is_empty())
        .collect();
    if panels.is_empty() {
        return Ok(None);
    }
    let mut servers: Vec<String> = Vec::new();
    for bar in panels.iter().flat_map(|(_, bars)| bars) {
        if !servers.contains(&bar.client) {
            servers.push(bar.client.clone());
        }
    }
    let what = "Servers: echoes per second (connections × message size, one message in flight on each)";
    let panel_height = 110 + 34 * servers.len() as u32;
    let height = 60 + panel_height * panels.len() as u32;
    page("servers.svg", what, height, &servers, bar_sample, |plot, _| {
        let rate = |v: f64| fmt_short(v).0 + fmt_short(v).1;
        for ((title, bars), area) in panels.iter().zip(plot.split_evenly((panels.len(), 1))) {
            let area = area.titled(title, text(16))?;
            hbars(&area, bars, "messages/s, all connections together", true, &rate)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn axis_labels() {
        let labels: Vec<String> = [0.0, 2.5, 10.0, 20_000.0, 500_000.0, 1.5e6].map(super::axis_num).into();
        assert_eq!(labels, ["0", "2.5", "10", "20 k", "500 k", "1.5 M"]);
    }
}
