// A stacked bar chart in SVG: one bar per day, one colour per group.
// Colours are the legend's classes (sw0..sw7), so no inline style is
// needed (the page's Content-Security-Policy allows none).
const COLORS = ['#0073bb', '#ec7211', '#1d8102', '#8d6605', '#7d3fc7', '#d13212', '#44b9d6', '#687078'];
const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  for (const c of children) el.append(c);
  return el;
}

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

// days: ['2026-12-01', ...]; series: [{ name, values: [n per day] }] (at
// most eight, the rest summed by the caller); format(n) labels the axis.
export function stackedBars(days, series, format) {
  const W = 900;
  const H = 260;
  const left = 64;
  const bottom = 28;
  const top = 10;
  const plotW = W - left - 10;
  const plotH = H - top - bottom;
  const totals = days.map((_, i) => series.reduce((s, x) => s + (x.values[i] || 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img' });
  for (let k = 0; k <= 4; k++) {
    const y = top + plotH - (plotH * k) / 4;
    chart.append(svg('line', { x1: left, x2: W - 10, y1: y, y2: y, stroke: '#eaeded' }),
      svg('text', { x: left - 6, y: y + 4, 'text-anchor': 'end' }, format((max * k) / 4)));
  }
  const slot = plotW / Math.max(1, days.length);
  const bar = Math.max(2, Math.min(36, slot * 0.7));
  days.forEach((day, i) => {
    let y = top + plotH;
    const x = left + slot * i + (slot - bar) / 2;
    series.forEach((s, j) => {
      const v = s.values[i] || 0;
      if (v <= 0) return;
      const hgt = (plotH * v) / max;
      y -= hgt;
      chart.append(svg('rect', { x, y, width: bar, height: Math.max(hgt, 0.5), fill: COLORS[j % COLORS.length] },
        svg('title', {}, `${day} · ${s.name}: ${format(v)}`)));
    });
    const every = Math.ceil(days.length / 10);
    if (i % every === 0) {
      chart.append(svg('text', { x: left + slot * i + slot / 2, y: H - 8, 'text-anchor': 'middle' }, day.slice(5)));
    }
  });
  chart.append(svg('line', { x1: left, x2: W - 10, y1: top + plotH, y2: top + plotH, stroke: '#aab7b8' }));
  return chart;
}

export const swatchClass = (j) => `sw${j % COLORS.length}`;
