import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dashboardRoute } from '../src/http/dashboard';
import { createLogger } from '../src/log';
import { historySeries, MAX_SERIES_POINTS } from '../src/models/downsample';
import { chromiumAvailable, launchBrowser } from '../test/helpers/browser';

const POINTS = Number(process.env.BENCH_CHART_POINTS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 50);
const EPOCHS = Number(process.env.BENCH_EPOCHS ?? 100_000);

function median(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * The dashboard's two costs. In headless chromium: one full redraw of a uPlot line chart of
 * POINTS points (what each live event costs a long run's chart) against the baseline of the same
 * polyline stroked on a bare canvas of the same size. In Node: `TrainingRun.series` of an
 * EPOCHS-epoch history (downsampled to 1,000 points a series) against serializing the whole
 * history, with the bytes each sends.
 */
export async function benchDashboard(): Promise<void> {
  const history = Array.from({ length: EPOCHS }, (_, i) => ({
    step: i + 1,
    loss: 1 / (1 + i) + Math.random() * 0.01,
    valLoss: 1 / (1 + i) + Math.random() * 0.02,
    metrics: { accuracy: 1 - 1 / (2 + i) },
  }));
  const timeIt = (fn: () => unknown) => {
    for (let i = 0; i < 3; i++) fn();
    const samples: number[] = [];
    for (let i = 0; i < 15; i++) {
      const t = performance.now();
      fn();
      samples.push(performance.now() - t);
    }
    return median(samples);
  };
  const seriesMs = timeIt(() => JSON.stringify(historySeries(history, MAX_SERIES_POINTS)));
  const fullMs = timeIt(() => JSON.stringify(history));
  const seriesBytes = JSON.stringify(historySeries(history, MAX_SERIES_POINTS)).length;
  const fullBytes = JSON.stringify(history).length;
  console.log(
    `series(max: 1000) of ${EPOCHS} epochs: ${seriesMs.toFixed(1)} ms, ${(seriesBytes / 1024).toFixed(0)} KiB; ` +
      `whole history (baseline): ${fullMs.toFixed(1)} ms, ${(fullBytes / 1024).toFixed(0)} KiB`,
  );

  if (!chromiumAvailable) {
    console.log('chart redraw: skipped (no /usr/bin/chromium)');
    return;
  }
  const route = dashboardRoute({ log: createLogger('silent') });
  const http = createServer((req, res) => void route(req, res));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const browser = await launchBrowser();
  try {
    const page = await browser.page();
    await page.goto(`${url}/dashboard/vendor/uPlot.min.css`);
    // Sent as text: tsx's helpers (__name) do not exist in the page.
    const result = (await page.evaluate(`(async ({ points, rounds }) => {
      const { default: uPlot } = await import('/dashboard/vendor/uPlot.esm.js');
      const xs = Array.from({ length: points }, (_, i) => i + 1);
      const ys = xs.map((x) => 1 / x + Math.sin(x) * 0.01);
      const host = document.createElement('div');
      document.body.append(host);
      const plot = new uPlot(
        { width: 600, height: 220, scales: { x: { time: false } }, series: [{}, { stroke: 'blue' }] },
        [xs, ys],
        host,
      );
      const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
      const chart = [];
      for (let r = 0; r < rounds; r++) {
        const t = performance.now();
        plot.setData([xs, ys]);
        // uPlot draws in a microtask after setData: this continuation runs after it.
        await Promise.resolve();
        plot.ctx.getImageData(0, 0, 1, 1);
        chart.push(performance.now() - t);
      }
      const canvas = document.createElement('canvas');
      canvas.width = plot.ctx.canvas.width;
      canvas.height = plot.ctx.canvas.height;
      const ctx = canvas.getContext('2d');
      const min = Math.min(...ys);
      const max = Math.max(...ys);
      const bare = [];
      for (let r = 0; r < rounds; r++) {
        const t = performance.now();
        ctx.clearRect(0, 0, canvas.width, canvas.height);
        ctx.beginPath();
        for (let i = 0; i < points; i++) {
          const x = (i / (points - 1)) * canvas.width;
          const y = canvas.height - ((ys[i] - min) / (max - min)) * canvas.height;
          if (i === 0) ctx.moveTo(x, y);
          else ctx.lineTo(x, y);
        }
        ctx.strokeStyle = 'blue';
        ctx.stroke();
        ctx.getImageData(0, 0, 1, 1);
        bare.push(performance.now() - t);
      }
      return { chart: median(chart), bare: median(bare) };
    })(${JSON.stringify({ points: POINTS, rounds: ROUNDS })})`)) as { chart: number; bare: number };
    console.log(
      `chart redraw of ${POINTS} points (median of ${ROUNDS}): uPlot ${result.chart.toFixed(2)} ms, ` +
        `bare canvas polyline (baseline) ${result.bare.toFixed(2)} ms, ratio ${(result.chart / result.bare).toFixed(2)}`,
    );
  } finally {
    await browser.close();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  }
}
