// Saving what the dashboard shows: tables as CSV, charts as PNG (the chart's canvas) or SVG
// (drawn again from the chart's data). Everything is built in the page from data it already
// has: nothing is fetched for an export.

function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function fileName(title, extension) {
  const base = String(title)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  return `${base || 'peso'}.${extension}`;
}

/**
 * One CSV cell (RFC 4180): quoted when it holds a delimiter, quote or line break. Text starting
 * with =, +, - or @ that is not a number is prefixed with ' so a spreadsheet does not run it
 * as a formula.
 */
export function csvCell(value) {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text) && Number.isNaN(Number(text)))
    text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A table as CSV text: a header row of `columns`, then each row's values in that order. */
export function toCsv(columns, rows) {
  const lines = [columns.map(csvCell).join(',')];
  for (const row of rows) lines.push(row.map(csvCell).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

export function saveCsv(title, columns, rows) {
  download(new Blob([toCsv(columns, rows)], { type: 'text/csv' }), fileName(title, 'csv'));
}

export function savePng(title, canvas) {
  canvas.toBlob((blob) => blob && download(blob, fileName(title, 'png')), 'image/png');
}

export function saveSvg(title, svgText) {
  download(new Blob([svgText], { type: 'image/svg+xml' }), fileName(title, 'svg'));
}

const escapeXml = (s) =>
  String(s).replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c],
  );

/**
 * A chart as SVG from its data: `xs`, and `series` of `{ label, color, values, bars }` (values
 * aligned with xs, null for gaps). Axes show the ranges; the legend names the series.
 */
export function chartSvg({ title, xs, series, xLabel = (x) => x }) {
  const width = 720;
  const height = 360;
  const pad = { left: 60, right: 20, top: 36, bottom: 56 };
  const values = series.flatMap((s) => s.values).filter((v) => typeof v === 'number');
  const numericX = xs.every((x) => typeof x === 'number');
  const xMin = numericX ? Math.min(...xs) : 0;
  const xMax = numericX ? Math.max(...xs) : Math.max(xs.length - 1, 1);
  const anyBars = series.some((s) => s.bars);
  const yMin = Math.min(anyBars ? 0 : Number.POSITIVE_INFINITY, ...values);
  const yMax = Math.max(...values, yMin + 1e-9);
  const sx = (x, i) =>
    pad.left + ((numericX ? x - xMin : i) / (xMax - xMin || 1)) * (width - pad.left - pad.right);
  const sy = (y) =>
    height - pad.bottom - ((y - yMin) / (yMax - yMin)) * (height - pad.top - pad.bottom);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${pad.left}" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    `<line x1="${pad.left}" y1="${height - pad.bottom}" x2="${width - pad.right}" y2="${height - pad.bottom}" stroke="#444"/>`,
    `<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${height - pad.bottom}" stroke="#444"/>`,
    `<text x="${pad.left - 6}" y="${sy(yMax) + 4}" text-anchor="end">${escapeXml(fmt(yMax))}</text>`,
    `<text x="${pad.left - 6}" y="${sy(yMin) + 4}" text-anchor="end">${escapeXml(fmt(yMin))}</text>`,
  ];
  if (xs.length > 0) {
    parts.push(
      `<text x="${pad.left}" y="${height - pad.bottom + 16}">${escapeXml(xLabel(xs[0]))}</text>`,
      `<text x="${width - pad.right}" y="${height - pad.bottom + 16}" text-anchor="end">${escapeXml(xLabel(xs.at(-1)))}</text>`,
    );
  }
  const slot = (width - pad.left - pad.right) / Math.max(xs.length, 1);
  const barSeries = series.filter((s) => s.bars);
  series.forEach((s, k) => {
    if (s.bars) {
      const w = (slot * 0.8) / barSeries.length;
      const j = barSeries.indexOf(s);
      s.values.forEach((v, i) => {
        if (typeof v !== 'number') return;
        const x = pad.left + i * slot + slot * 0.1 + j * w;
        parts.push(
          `<rect x="${x.toFixed(2)}" y="${sy(Math.max(v, 0)).toFixed(2)}" width="${w.toFixed(2)}" height="${Math.abs(sy(v) - sy(0)).toFixed(2)}" fill="${s.color}"/>`,
        );
      });
    } else if (s.dots) {
      s.values.forEach((v, i) => {
        if (typeof v !== 'number') return;
        parts.push(
          `<circle cx="${sx(xs[i], i).toFixed(2)}" cy="${sy(v).toFixed(2)}" r="4" fill="${s.color}"/>`,
        );
      });
    } else {
      let d = '';
      s.values.forEach((v, i) => {
        if (typeof v !== 'number') return;
        d += `${d ? 'L' : 'M'}${sx(xs[i], i).toFixed(2)},${sy(v).toFixed(2)}`;
      });
      if (d) parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.5"/>`);
    }
    parts.push(
      `<rect x="${pad.left + k * 140}" y="${height - 22}" width="10" height="10" fill="${s.color}"/>`,
      `<text x="${pad.left + k * 140 + 14}" y="${height - 13}">${escapeXml(s.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export function fmt(value) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return value ?? '';
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? value.toExponential(3) : value.toFixed(4);
}
