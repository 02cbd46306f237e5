//! The report as one self-contained HTML page: summary cards, inline SVG
//! charts (rates over time, latency over time, percentile curve, latency
//! histogram) and the full table. No script, no external file, no font
//! download: it opens anywhere, also from a CI artifact.
//!
//! Owns presentation only: every number comes from [`Report`], nothing is
//! computed here but chart geometry.

use std::fmt::Write as _;

use crate::{
    report::{Exchange, Report, scenario_name},
    scenario::Scenario,
    stats::Kind,
};

const WIDTH: f64 = 880.0;
const HEIGHT: f64 = 260.0;
/// Left, right, top, bottom margins of a chart's plot area.
const MARGIN: (f64, f64, f64, f64) = (64.0, 16.0, 12.0, 40.0);

fn color(kind: Kind) -> &'static str {
    match kind {
        Kind::Do => "#2563eb",
        Kind::Ra => "#16a34a",
        Kind::Renew => "#9333ea",
        Kind::Release => "#ea580c",
    }
}

const OFFERED: &str = "#0ea5e9";
const TARGET: &str = "#94a3b8";
const DROPS: &str = "#dc2626";

/// One line of a chart.
struct Line {
    name: String,
    color: &'static str,
    dashed: bool,
    /// Drawn wide and pale, under the others: it stays visible where a
    /// line drawn later covers it.
    wide: bool,
    points: Vec<(f64, f64)>,
}

/// How an axis maps values.
#[derive(Clone, Copy)]
enum Scale {
    Linear,
    /// Base-10 logarithm; values ≤ 0 are clamped to the lowest tick.
    Log,
}

/// Where percentiles sit on the percentile plot: -log10(1 - p), so 90 %,
/// 99 %, 99.9 % … are evenly spaced.
fn nines(p: f64) -> f64 {
    -(1.0 - (p / 100.0).min(0.999_99)).log10()
}

/// "Nice" tick values covering `lo..=hi` (about `n` of them).
fn linear_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = (hi - lo).max(1e-9);
    let raw = span / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() * step;
    (0..=n * 2 + 2)
        .map(|i| first + i as f64 * step)
        .take_while(|v| *v <= hi + step * 1e-9)
        .collect()
}

fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 10.0 || a == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn fmt_us(us: f64) -> String {
    if us >= 1e6 {
        format!("{:.2} s", us / 1e6)
    } else if us >= 1e3 {
        format!("{:.1} ms", us / 1e3)
    } else {
        format!("{us:.0} µs")
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Bars under a chart's lines: their colour, legend name and (x, value)
/// points.
struct Bars {
    color: &'static str,
    name: String,
    points: Vec<(f64, f64)>,
}

/// An SVG line chart. `x_ticks` are (value, label) pairs.
struct Chart<'a> {
    title: &'a str,
    x_label: &'a str,
    y_label: &'a str,
    y_scale: Scale,
    x_range: (f64, f64),
    x_ticks: Vec<(f64, String)>,
    lines: Vec<Line>,
    /// Bars drawn under the lines: (x, value) with the colour given.
    bars: Option<Bars>,
}

impl Chart<'_> {
    fn render(&self) -> String {
        let (ml, mr, mt, mb) = MARGIN;
        let (pw, ph) = (WIDTH - ml - mr, HEIGHT - mt - mb);
        let values = self
            .lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.1))
            .chain(self.bars.iter().flat_map(|b| b.points.iter().map(|p| p.1)));
        let (mut lo, mut hi) = (f64::MAX, f64::MIN);
        for v in values {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if lo > hi {
            (lo, hi) = (0.0, 1.0);
        }
        let (y_ticks, ymap): (Vec<f64>, Box<dyn Fn(f64) -> f64>) = match self.y_scale {
            Scale::Linear => {
                let ticks = linear_ticks(0.0, hi.max(1.0) * 1.05, 5);
                let top = *ticks.last().unwrap_or(&1.0);
                (ticks, Box::new(move |v: f64| mt + ph - ph * v / top))
            }
            Scale::Log => {
                let l0 = lo.max(0.1).log10().floor();
                let l1 = hi.max(1.0).log10().ceil().max(l0 + 1.0);
                let ticks = (l0 as i32..=l1 as i32).map(|e| 10f64.powi(e)).collect();
                (
                    ticks,
                    Box::new(move |v: f64| {
                        let l = v.max(10f64.powf(l0)).log10();
                        mt + ph - ph * (l - l0) / (l1 - l0)
                    }),
                )
            }
        };
        let (x0, x1) = self.x_range;
        let xspan = (x1 - x0).max(1e-9);
        let xmap = |v: f64| ml + pw * (v - x0) / xspan;

        let mut s = String::new();
        let _ = write!(
            s,
            r#"<figure><figcaption>{}</figcaption><svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{}">"#,
            esc(self.title),
            esc(self.title)
        );
        for t in &y_ticks {
            let y = ymap(*t);
            let _ = write!(
                s,
                r##"<line x1="{ml}" x2="{}" y1="{y:.1}" y2="{y:.1}" class="grid"/><text x="{}" y="{:.1}" class="yt">{}</text>"##,
                ml + pw,
                ml - 6.0,
                y + 4.0,
                fmt_num(*t)
            );
        }
        for (v, label) in &self.x_ticks {
            let x = xmap(*v);
            let _ = write!(
                s,
                r##"<line x1="{x:.1}" x2="{x:.1}" y1="{mt}" y2="{}" class="grid"/><text x="{x:.1}" y="{}" class="xt">{}</text>"##,
                mt + ph,
                mt + ph + 16.0,
                esc(label)
            );
        }
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" class="xl">{}</text><text transform="translate(14 {}) rotate(-90)" class="yl">{}</text>"#,
            ml + pw / 2.0,
            HEIGHT - 4.0,
            esc(self.x_label),
            mt + ph / 2.0,
            esc(self.y_label)
        );
        if let Some(Bars {
            color: c, points, ..
        }) = &self.bars
        {
            let w = (pw / points.len().max(1) as f64 * 0.6).clamp(1.0, 12.0);
            for (x, v) in points.iter().filter(|b| b.1 > 0.0) {
                let (bx, by) = (xmap(*x) - w / 2.0, ymap(*v));
                let _ = write!(
                    s,
                    r#"<rect x="{bx:.1}" y="{by:.1}" width="{w:.1}" height="{:.1}" fill="{c}" opacity="0.7"/>"#,
                    (mt + ph - by).max(0.5)
                );
            }
        }
        for l in &self.lines {
            let pts: Vec<String> = l
                .points
                .iter()
                .map(|(x, y)| format!("{:.1},{:.1}", xmap(*x), ymap(*y)))
                .collect();
            let dash = if l.dashed {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            };
            let width = if l.wide {
                r#"6" stroke-opacity="0.35"#
            } else {
                "2"
            };
            let _ = write!(
                s,
                r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="{width}"{dash}/>"#,
                pts.join(" "),
                l.color
            );
            if l.points.len() <= 40 {
                for (x, y) in &l.points {
                    let _ = write!(
                        s,
                        r#"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{}"/>"#,
                        xmap(*x),
                        ymap(*y),
                        l.color
                    );
                }
            }
        }
        let _ = write!(
            s,
            r#"<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" class="frame"/></svg>"#
        );
        s.push_str(r#"<div class="legend">"#);
        for l in &self.lines {
            let style = if l.dashed { "dashed" } else { "solid" };
            let _ = write!(
                s,
                r#"<span><i style="border-top:3px {style} {}"></i>{}</span>"#,
                l.color,
                esc(&l.name)
            );
        }
        if let Some(b) = &self.bars {
            let _ = write!(
                s,
                r#"<span><b style="background:{}"></b>{}</span>"#,
                b.color,
                esc(&b.name)
            );
        }
        s.push_str("</div></figure>");
        s
    }
}

/// Whole seconds only: a run's series has one point per second.
fn time_ticks(seconds: f64) -> Vec<(f64, String)> {
    linear_ticks(0.0, seconds.max(1.0), 8)
        .into_iter()
        .filter(|t| t.fract() == 0.0)
        .map(|t| (t, format!("{t:.0}")))
        .collect()
}

fn rate_chart(r: &Report) -> String {
    let end = r.series.len() as f64;
    // Each second is plotted at its middle.
    let at = |t: u64| t as f64 + 0.5;
    let mut lines = Vec::new();
    if r.run.rate > 0.0 {
        lines.push(Line {
            name: "target".into(),
            color: TARGET,
            dashed: true,
            wide: false,
            points: r.series.iter().map(|s| (at(s.t), s.target_rate)).collect(),
        });
    }
    lines.push(Line {
        name: "offered (sequences started)".into(),
        color: OFFERED,
        dashed: false,
        wide: true,
        points: r
            .series
            .iter()
            .map(|s| (at(s.t), s.offered as f64))
            .collect(),
    });
    for e in &r.exchanges {
        if e.kind == Kind::Release {
            continue; // nothing answers a RELEASE
        }
        lines.push(Line {
            name: format!("{} answered", e.name),
            color: color(e.kind),
            dashed: false,
            wide: false,
            points: r
                .series
                .iter()
                .map(|s| {
                    (
                        at(s.t),
                        s.kinds
                            .iter()
                            .find(|k| k.kind == e.kind)
                            .map_or(0.0, |k| k.answered as f64),
                    )
                })
                .collect(),
        });
    }
    let drops = r
        .series
        .iter()
        .map(|s| (at(s.t), s.kinds.iter().map(|k| k.drops).sum::<u64>() as f64))
        .collect();
    Chart {
        title: "Rate over time: offered vs answered (per second)",
        x_label: "seconds since start",
        y_label: "per second",
        y_scale: Scale::Linear,
        x_range: (0.0, end.max(1.0)),
        x_ticks: time_ticks(end),
        lines,
        bars: Some(Bars {
            color: DROPS,
            name: "drops".into(),
            points: drops,
        }),
    }
    .render()
}

/// A storm's story: how many clients are online, second by second.
fn bound_chart(r: &Report) -> String {
    let end = r.series.len() as f64;
    Chart {
        title: "Clients holding a lease",
        x_label: "seconds since start",
        y_label: "clients",
        y_scale: Scale::Linear,
        x_range: (0.0, end.max(1.0)),
        x_ticks: time_ticks(end),
        lines: vec![Line {
            name: "clients bound".into(),
            color: color(Kind::Ra),
            dashed: false,
            wide: false,
            points: r
                .series
                .iter()
                .map(|s| (s.t as f64 + 1.0, s.bound as f64))
                .collect(),
        }],
        bars: None,
    }
    .render()
}

fn latency_time_chart(r: &Report) -> String {
    let end = r.series.len() as f64;
    let mut lines = Vec::new();
    for e in r.exchanges.iter().filter(|e| e.latency_us.samples > 0) {
        for (q, dashed) in [("p50", false), ("p99", true)] {
            let points = r
                .series
                .iter()
                .filter_map(|s| {
                    let k = s.kinds.iter().find(|k| k.kind == e.kind)?;
                    let v = if q == "p50" { k.p50_us } else { k.p99_us };
                    (v > 0.0).then_some((s.t as f64 + 0.5, v))
                })
                .collect();
            lines.push(Line {
                name: format!("{} {q}", e.name),
                color: color(e.kind),
                dashed,
                wide: false,
                points,
            });
        }
    }
    Chart {
        title: "Latency over time (per second, log scale)",
        x_label: "seconds since start",
        y_label: "µs",
        y_scale: Scale::Log,
        x_range: (0.0, end.max(1.0)),
        x_ticks: time_ticks(end),
        lines,
        bars: None,
    }
    .render()
}

fn percentile_chart(r: &Report) -> String {
    let top = nines(99.999);
    let lines = r
        .exchanges
        .iter()
        .filter(|e| !e.percentiles.is_empty())
        .map(|e| Line {
            name: e.name.to_string(),
            color: color(e.kind),
            dashed: false,
            wide: false,
            points: e
                .percentiles
                .iter()
                .filter(|p| p[0] <= 99.999)
                .map(|p| (nines(p[0]), p[1]))
                .collect(),
        })
        .collect();
    let x_ticks = [0.0, 90.0, 99.0, 99.9, 99.99, 99.999]
        .iter()
        .map(|&p| (nines(p), format!("{p}%")))
        .collect();
    Chart {
        title: "Latency by percentile (whole run, log scale)",
        x_label: "percentile",
        y_label: "µs",
        y_scale: Scale::Log,
        // Room on the right for the last label.
        x_range: (0.0, top * 1.04),
        x_ticks,
        lines,
        bars: None,
    }
    .render()
}

fn histogram_chart(e: &Exchange) -> String {
    let (ml, mr, mt, mb) = MARGIN;
    let (w, h) = (WIDTH / 2.0 - 8.0, HEIGHT * 0.8);
    // Extra room on the right for the last decade's label.
    let (pw, ph) = (w - ml - mr - 16.0, h - mt - mb);
    let bars: Vec<_> = e.histogram.iter().collect();
    let max = bars.iter().map(|b| b.count).max().unwrap_or(1).max(1) as f64;
    let lo = bars
        .first()
        .map_or(1.0, |b| b.le_us.max(0.001))
        .log10()
        .floor();
    let hi = bars
        .last()
        .map_or(10.0, |b| b.le_us.max(0.01))
        .log10()
        .ceil()
        .max(lo + 1.0);
    let xmap = |us: f64| ml + pw * (us.max(1e-3).log10() - lo) / (hi - lo);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<figure class="half"><figcaption>{} latency histogram</figcaption><svg viewBox="0 0 {w} {h}" role="img" aria-label="{} latency histogram">"#,
        e.name, e.name
    );
    for d in lo as i32..=hi as i32 {
        let v = 10f64.powi(d);
        let x = xmap(v);
        let _ = write!(
            s,
            r#"<line x1="{x:.1}" x2="{x:.1}" y1="{mt}" y2="{}" class="grid"/><text x="{x:.1}" y="{}" class="xt">{}</text>"#,
            mt + ph,
            mt + ph + 16.0,
            fmt_us(v)
        );
    }
    let mut prev = bars.first().map_or(0.0, |b| b.le_us / 2f64.powf(0.25));
    for b in &bars {
        let (x0, x1) = (xmap(prev), xmap(b.le_us));
        prev = b.le_us;
        if b.count == 0 {
            continue;
        }
        let bh = ph * b.count as f64 / max;
        let _ = write!(
            s,
            r#"<rect x="{x0:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="{}"><title>≤ {}: {}</title></rect>"#,
            mt + ph - bh,
            (x1 - x0 - 0.5).max(0.8),
            color(e.kind),
            fmt_us(b.le_us),
            b.count
        );
    }
    for (i, (q, v)) in [("p50", e.latency_us.p50), ("p99", e.latency_us.p99)]
        .into_iter()
        .enumerate()
    {
        let x = xmap(v);
        // The p99 label sits lower, so close percentiles stay legible.
        let label_y = mt + 12.0 + 14.0 * i as f64;
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" x2="{x:.1}" y1="{mt}" y2="{}" stroke="#111" stroke-dasharray="3 3"/><text x="{:.1}" y="{}" class="mark">{q} {}</text>"##,
            mt + ph,
            x + 3.0,
            label_y,
            fmt_us(v)
        );
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" class="xl">latency (log scale)</text><text transform="translate(14 {}) rotate(-90)" class="yl">answers</text><text x="{}" y="{}" class="yt">{}</text><rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" class="frame"/></svg></figure>"#,
        ml + pw / 2.0,
        h - 4.0,
        mt + ph / 2.0,
        ml - 6.0,
        mt + 4.0,
        fmt_num(max)
    );
    s
}

const STYLE: &str = r#"
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#0f172a;background:#f8fafc;margin:0}
main{max-width:920px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.sub{color:#475569;margin:0 0 16px}
.ok,.bad{padding:10px 14px;border-radius:8px;margin:12px 0}
.ok{background:#dcfce7;color:#14532d}.bad{background:#fee2e2;color:#7f1d1d}
.bad ul{margin:4px 0 0 18px;padding:0}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border:1px solid #e2e8f0;border-radius:10px;padding:12px 16px;min-width:190px;flex:1}
.card h3{margin:0 0 6px;font-size:14px;display:flex;align-items:center;gap:8px}
.card h3 i{width:10px;height:10px;border-radius:50%;display:inline-block}
.big{font-size:26px;font-weight:650}.small{color:#475569;font-size:13px}
figure{background:#fff;border:1px solid #e2e8f0;border-radius:10px;margin:12px 0;padding:10px 12px}
figure.half{display:inline-block;width:calc(50% - 34px);vertical-align:top;margin-right:8px}
figcaption{font-weight:600;margin-bottom:4px}svg{width:100%;height:auto;display:block}
.grid{stroke:#e2e8f0}.frame{fill:none;stroke:#cbd5e1}
.xt,.yt,.xl,.yl,.mark{font-size:11px;fill:#475569}.xt,.xl{text-anchor:middle}.yt{text-anchor:end}.yl{text-anchor:middle}
.mark{fill:#111}
.legend{display:flex;flex-wrap:wrap;gap:14px;font-size:13px;color:#334155;margin-top:4px}
.legend i{display:inline-block;width:22px;margin-right:6px;vertical-align:middle}
.legend b{display:inline-block;width:10px;height:10px;margin-right:6px;vertical-align:middle}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;background:#fff;font-size:12px}
th,td{padding:4px 6px;border-bottom:1px solid #e2e8f0;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#f1f5f9}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;font-size:13px}dt{color:#475569}dd{margin:0}
"#;

/// The report as a complete HTML document.
pub fn render(r: &Report) -> String {
    let mut h = String::new();
    let run = &r.run;
    let title = format!(
        "xdhcp-loadgen — {} of {} clients on {}",
        scenario_name(run.scenario),
        run.clients,
        run.interface
    );
    let _ = write!(
        h,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{}</title><style>{STYLE}</style></head><body><main><h1>{}</h1>"#,
        esc(&title),
        esc(&title)
    );
    let rate = if run.rate > 0.0 {
        format!("target {} sequences/s", fmt_num(run.rate))
    } else {
        "unpaced".into()
    };
    let _ = write!(
        h,
        r#"<p class="sub">{rate}{}, {:.1} s, {} sequences started{}</p>"#,
        if run.ramp_s > 0.0 {
            format!(" after a {} s ramp", run.ramp_s)
        } else {
            String::new()
        },
        r.elapsed_s,
        r.offered,
        if run.relays > 0 {
            format!(", through {} relays", run.relays)
        } else {
            String::new()
        }
    );
    if r.problems.is_empty() {
        h.push_str(r#"<div class="ok">✔ No problems: every exchange was answered in time, no address went to two clients.</div>"#);
    } else {
        h.push_str(r#"<div class="bad"><strong>Problems</strong><ul>"#);
        for p in &r.problems {
            let _ = write!(h, "<li>{}</li>", esc(p));
        }
        h.push_str("</ul></div>");
    }

    h.push_str(r#"<div class="cards">"#);
    for e in &r.exchanges {
        let c = &e.counters;
        let headline = if e.kind == Kind::Release {
            format!(
                r#"<div class="big">{}</div><div class="small">sent</div>"#,
                c.sent
            )
        } else {
            format!(
                r#"<div class="big">{}/s</div><div class="small">{} answered of {} sent · {:.2} % dropped</div><div class="small">p50 {} · p99 {} · p99.9 {} · max {}</div>"#,
                fmt_num(e.answered_per_s),
                c.answered,
                c.sent,
                e.drop_pct,
                fmt_us(e.latency_us.p50),
                fmt_us(e.latency_us.p99),
                fmt_us(e.latency_us.p99_9),
                fmt_us(e.latency_us.max)
            )
        };
        let _ = write!(
            h,
            r#"<div class="card"><h3><i style="background:{}"></i>{}</h3>{headline}</div>"#,
            color(e.kind),
            e.name
        );
    }
    if let Some(s) = &r.storm {
        let _ = write!(
            h,
            r#"<div class="card"><h3>storm</h3><div class="big">{} / {}</div><div class="small">clients bound · {} gave up</div><div class="small">bind time p50 {} · p99 {}</div></div>"#,
            s.bound,
            s.clients,
            s.gave_up,
            fmt_us(s.bind_time_us.p50),
            fmt_us(s.bind_time_us.p99)
        );
    }
    h.push_str("</div>");

    h.push_str("<h2>Throughput</h2>");
    h.push_str(&rate_chart(r));
    if r.storm.is_some() {
        h.push_str(&bound_chart(r));
    }
    h.push_str("<h2>Latency</h2>");
    h.push_str(&percentile_chart(r));
    for e in r.exchanges.iter().filter(|e| !e.histogram.is_empty()) {
        h.push_str(&histogram_chart(e));
    }
    h.push_str(&latency_time_chart(r));

    h.push_str("<h2>All numbers</h2><div class=\"scroll\"><table><tr><th>exchange</th><th>sent</th><th>answered</th><th>drops</th><th>drop %</th><th>NAKs</th><th>late / dup. / unexp.</th><th>answers/s</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>");
    for e in &r.exchanges {
        let c = &e.counters;
        let l = &e.latency_us;
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{}</td><td>{} / {} / {}</td><td>{:.0}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td></tr>",
            e.name,
            c.sent,
            if c.retransmits > 0 {
                format!(" ({} retransmitted)", c.retransmits)
            } else {
                String::new()
            },
            c.answered,
            c.drops,
            e.drop_pct,
            c.naks,
            c.late,
            c.duplicate_replies,
            c.unexpected,
            e.answered_per_s,
            l.p50,
            l.p90,
            l.p99,
            l.p99_9,
            l.max
        );
    }
    h.push_str("</table></div><p class=\"small\">Latencies in µs, from the moment a message is handed to the kernel to the kernel's receive timestamp of its answer (with AF_XDP, which has no such timestamp: to the moment the loadgen read it).</p>");

    let _ = write!(
        h,
        "<h2>Run</h2><dl><dt>scenario</dt><dd>{}</dd><dt>interface</dt><dd>{}</dd><dt>clients</dt><dd>{} (seed {})</dd><dt>rate</dt><dd>{}</dd><dt>count / duration</dt><dd>{} / {}</dd><dt>answer timeout</dt><dd>{}</dd><dt>clients holding a lease</dt><dd>{}</dd><dt>duplicate addresses</dt><dd>{}</dd><dt>unknown xids / foreign replies</dt><dd>{} / {}</dd><dt>frames sent / received</dt><dd>{} / {} ({})</dd><dt>loadgen losses</dt><dd>{} ring drops, {} failed sends</dd><dt>ARP replies sent</dt><dd>{}</dd><dt>loadgen behind its schedule (max)</dt><dd>{:.0} ms</dd></dl>",
        scenario_name(run.scenario),
        esc(&run.interface),
        run.clients,
        run.seed,
        rate,
        run.count.map_or("—".into(), |c| c.to_string()),
        run.duration_s.map_or("—".into(), |d| format!("{d} s")),
        if run.scenario == Scenario::Storm {
            format!(
                "RFC 2131 back-off (4 s, 8 s, … ± 1 s), {} retries",
                run.retries
            )
        } else {
            format!("{} ms", run.timeout_ms)
        },
        r.clients_bound,
        r.duplicate_addresses,
        r.unknown_xid,
        r.foreign,
        r.io.frames_sent,
        r.io.frames_received,
        esc(&r.io.transport),
        r.io.rx_ring_drops,
        r.io.tx_failed,
        r.io.arp_replies,
        r.max_lag_s() * 1e3
    );
    h.push_str("</main></body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        report::{Outcome, RunInfo},
        stats::{Gauges, Stats},
    };

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(
            linear_ticks(0.0, 10.0, 5),
            vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        );
        let t = linear_ticks(0.0, 73_000.0, 5);
        assert_eq!(t[1], 20_000.0);
        assert!(*t.last().unwrap() <= 73_000.0);
        assert!(nines(99.0) > nines(90.0) && (nines(99.9) - 3.0).abs() < 1e-9);
    }

    #[test]
    fn the_page_is_self_contained_and_shows_every_exchange() {
        let mut s = Stats::new(0);
        let gauges = Gauges {
            target_rate: 1000.0,
            ..Gauges::default()
        };
        for i in 0..2_000u64 {
            s.tick(i * 1_000_000, gauges);
            s.started();
            s.sent(Kind::Do, false, i * 1_000_000);
            s.answered(Kind::Do, 30_000 + i * 7, false);
            s.sent(Kind::Ra, false, i * 1_000_000);
            s.answered(Kind::Ra, 40_000 + i * 5, false);
        }
        s.tick(3_000_000_000, gauges);
        let run = RunInfo {
            scenario: Scenario::Dora,
            interface: "lg<0>".into(),
            clients: 2000,
            rate: 1000.0,
            ramp_s: 0.0,
            count: None,
            duration_s: None,
            timeout_ms: 1000.0,
            retries: 4,
            relays: 0,
            seed: 1,
        };
        let page = render(&Report::new(run, &s, Outcome::default()));
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(
            !page.contains("<script") && !page.contains("http"),
            "no external resources"
        );
        assert_eq!(
            page.matches("<svg").count(),
            5,
            "rate, percentiles, 2 histograms, latency over time"
        );
        assert!(page.contains("DO latency histogram") && page.contains("RA latency histogram"));
        assert!(page.contains("lg&lt;0&gt;"), "names are escaped");
        assert!(page.contains("No problems"));
    }
}
