import { once } from 'node:events';
import { createWriteStream, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface Flight {
  delay: number;
  distance: number;
  time: number;
}

/** The distance band of a flight: a low-cardinality text column to group and filter on. */
export function distanceBand(distance: number): string {
  if (distance < 500) return 'short';
  if (distance < 1000) return 'medium';
  if (distance < 1500) return 'long';
  return 'very-long';
}

/**
 * Writes vega-datasets' flights-200k repeated until at least `minRows` rows as CSV with the
 * columns `delay,distance,time` (and `band`, from {@link distanceBand}, when asked); returns the
 * row count.
 */
export async function writeFlightsCsv(
  path: string,
  minRows: number,
  options: { band?: boolean } = {},
): Promise<number> {
  const source = fileURLToPath(
    new URL('../node_modules/vega-datasets/data/flights-200k.json', import.meta.url),
  );
  let flights: Flight[] | null = JSON.parse(readFileSync(source, 'utf8')) as Flight[];
  const repeat = Math.ceil(minRows / flights.length);
  const out = createWriteStream(path);
  out.write(options.band ? 'delay,distance,time,band\n' : 'delay,distance,time\n');
  const line = options.band
    ? (f: Flight) => `${f.delay},${f.distance},${f.time},${distanceBand(f.distance)}\n`
    : (f: Flight) => `${f.delay},${f.distance},${f.time}\n`;
  let rows = 0;
  for (let r = 0; r < repeat; r++) {
    for (let i = 0; i < flights.length; i += 10_000) {
      let chunk = '';
      for (const f of flights.slice(i, i + 10_000)) chunk += line(f);
      rows += Math.min(10_000, flights.length - i);
      if (!out.write(chunk)) await once(out, 'drain');
    }
  }
  flights = null;
  out.end();
  await once(out, 'finish');
  return rows;
}
