// Charts: uPlot for lines and bars (canvas: saved as PNG, or drawn again as SVG from the same
// data), SVG for the heatmap. Each chart has its save buttons and exposes how many points it
// draws (data-points) so a test can see it advance.

import htm from 'htm';
import { h } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { chartSvg, fmt, savePng, saveSvg } from './export.js';

const html = htm.bind(h);

export const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04'];

function SaveButtons({ png, svg }) {
  return html`<span class="save">
    ${png && html`<button type="button" class="link" onClick=${png} title="Save as PNG">PNG</button>`}
    ${svg && html`<button type="button" class="link" onClick=${svg} title="Save as SVG">SVG</button>`}
  </span>`;
}

function useUplot(ref, makeOptions, data, deps) {
  const plot = useRef(null);
  useEffect(() => {
    const width = Math.max(ref.current.clientWidth || 0, 320);
    plot.current = new uPlot(makeOptions(width), data, ref.current);
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, deps);
  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);
  return plot;
}

/**
 * A line chart: `xs` and `series` of `{ label, values }` (aligned with xs, null for gaps).
 * `time`: xs are Unix seconds.
 */
export function LineChart({ title, xs, series, time = false, height = 220, testid }) {
  const ref = useRef(null);
  const data = [xs, ...series.map((s) => s.values)];
  const labels = series.map((s) => s.label).join('|');
  const plot = useUplot(
    ref,
    (width) => ({
      width,
      height,
      scales: { x: { time } },
      series: [
        { label: time ? 'time' : 'step' },
        ...series.map((s, i) => ({
          label: s.label,
          stroke: s.color ?? COLORS[i % COLORS.length],
          // Marks (anomalies, changepoints): points only, no line between them.
          ...(s.dots
            ? {
                paths: () => null,
                points: { show: true, size: 9, fill: s.color ?? COLORS[i % COLORS.length] },
              }
            : {}),
          width: s.thin ? 1 : 2,
          dash: s.thin ? [4, 4] : undefined,
          spanGaps: true,
          value: (_u, v) => fmt(v),
        })),
      ],
    }),
    data,
    [labels, time],
  );
  const points = xs.length;
  return html`<figure class="chart" data-testid=${testid} data-points=${points}>
    <figcaption>
      <span>${title}</span>
      <${SaveButtons}
        png=${() => plot.current && savePng(title, plot.current.ctx.canvas)}
        svg=${() =>
          saveSvg(
            title,
            chartSvg({
              title,
              xs,
              series: series.map((s, i) => ({ ...s, color: s.color ?? COLORS[i % COLORS.length] })),
              xLabel: time ? (x) => new Date(x * 1000).toISOString().slice(0, 10) : String,
            }),
          )}
      />
    </figcaption>
    <div ref=${ref}></div>
  </figure>`;
}

/** Grouped bars: one bar per label and series (`series` of `{ label, values }`). */
export function BarChart({ title, labels, series, height = 200, testid }) {
  const ref = useRef(null);
  const xs = labels.map((_, i) => i);
  const data = [xs, ...series.map((s) => s.values)];
  const n = series.length;
  // Labels that would not fit side by side are slanted.
  const crowded = labels.length > 8 || labels.join('').length > 40;
  const key = `${labels.join('|')}#${series.map((s) => s.label).join('|')}`;
  const plot = useUplot(
    ref,
    (width) => ({
      width,
      height,
      scales: {
        x: { time: false, range: [-0.5, Math.max(labels.length - 0.5, 0.5)] },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.05 : 1] },
      },
      axes: [
        {
          values: (_u, splits) =>
            splits.map((i) => (Number.isInteger(i) ? String(labels[i] ?? '') : '')),
          rotate: crowded ? -40 : 0,
          size: crowded ? 80 : 40,
        },
        {},
      ],
      series: [
        { label: 'bin', value: (_u, i) => (i === null ? '' : String(labels[i] ?? '')) },
        ...series.map((s, i) => ({
          label: s.label,
          stroke: s.color ?? COLORS[i % COLORS.length],
          fill: `${s.color ?? COLORS[i % COLORS.length]}99`,
          paths: uPlot.paths.bars({ size: [0.8 / n, 80], align: n === 1 ? 0 : i === 0 ? -1 : 1 }),
          points: { show: false },
        })),
      ],
    }),
    data,
    [key],
  );
  return html`<figure class="chart" data-testid=${testid} data-points=${labels.length}>
    <figcaption>
      <span>${title}</span>
      <${SaveButtons}
        png=${() => plot.current && savePng(title, plot.current.ctx.canvas)}
        svg=${() =>
          saveSvg(
            title,
            chartSvg({
              title,
              xs: labels,
              series: series.map((s, i) => ({
                ...s,
                bars: true,
                color: s.color ?? COLORS[i % COLORS.length],
              })),
            }),
          )}
      />
    </figcaption>
    <div ref=${ref}></div>
  </figure>`;
}

/** Blue (−1) through white (0) to red (+1). */
function heat(value) {
  if (typeof value !== 'number') return '#eee';
  const t = Math.max(-1, Math.min(1, value));
  const c = (a, b) => Math.round(a + (b - a) * Math.abs(t));
  return t < 0
    ? `rgb(${c(255, 37)},${c(255, 99)},${c(255, 235)})`
    : `rgb(${c(255, 220)},${c(255, 38)},${c(255, 38)})`;
}

/** A matrix (correlations) as an SVG heatmap, saved as SVG or as PNG drawn from the SVG. */
export function Heatmap({ title, labels, matrix, testid }) {
  const ref = useRef(null);
  const cell = 44;
  const left = 120;
  const top = 110;
  const size = labels.length * cell;
  const svgText = () => new XMLSerializer().serializeToString(ref.current);
  const png = () => {
    const image = new Image();
    const url = URL.createObjectURL(new Blob([svgText()], { type: 'image/svg+xml' }));
    image.onload = () => {
      const canvas = document.createElement('canvas');
      canvas.width = left + size + 10;
      canvas.height = top + size + 10;
      const ctx = canvas.getContext('2d');
      ctx.fillStyle = '#fff';
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(image, 0, 0);
      URL.revokeObjectURL(url);
      savePng(title, canvas);
    };
    image.src = url;
  };
  return html`<figure class="chart" data-testid=${testid} data-points=${labels.length * labels.length}>
    <figcaption><span>${title}</span><${SaveButtons} png=${png} svg=${() => saveSvg(title, svgText())} /></figcaption>
    <svg ref=${ref} xmlns="http://www.w3.org/2000/svg" width=${left + size + 10} height=${top + size + 10}
      font-family="sans-serif" font-size="11">
      <rect width="100%" height="100%" fill="#fff" />
      ${labels.map(
        (label, i) => html`
          <text x=${left - 6} y=${top + i * cell + cell / 2 + 4} text-anchor="end">${label}</text>
          <text transform=${`translate(${left + i * cell + cell / 2 + 4},${top - 6}) rotate(-60)`}>${label}</text>`,
      )}
      ${matrix.map((row, i) =>
        row.map(
          (value, j) => html`<g>
            <rect x=${left + j * cell} y=${top + i * cell} width=${cell - 1} height=${cell - 1} fill=${heat(value)} />
            <text x=${left + j * cell + cell / 2} y=${top + i * cell + cell / 2 + 4} text-anchor="middle">
              ${typeof value === 'number' ? value.toFixed(2) : '–'}
            </text>
          </g>`,
        ),
      )}
    </svg>
  </figure>`;
}
