import { describe, expect, it } from 'vitest';
import type { ColumnType } from '../../db/schema/datasets';
import { createConverter } from '../../src/datasets/copy';
import { createInferrer } from '../../src/datasets/infer';
import { type FileFormat, parseFile } from '../../src/datasets/parse';
import { createPiiDetector } from '../../src/datasets/pii';
import { chunked, vegaFile } from './sources';

/** The whole ingestion core over a real file: parse, infer, detect PII, convert every row. */
async function ingest(name: string, format: FileFormat) {
  const file = await parseFile(chunked(vegaFile(name), 16 * 1024), { format });
  const inferrer = createInferrer(file.columns);
  const detector = createPiiDetector(file.columns);
  const batches = [];
  for await (const batch of file.rows) {
    inferrer.observe(batch);
    detector.observe(batch);
    batches.push(batch);
  }
  const columns = inferrer.finish();
  const converter = createConverter(columns);
  const copyLines = batches.reduce(
    (n, batch) => n + converter.convertBatch(batch).split('\n').length - 1,
    0,
  );
  const types = Object.fromEntries(columns.map((c) => [c.name, c.type]));
  const pii = detector.finish(columns).map((verdict) => verdict.kind);
  return { rows: file.stats().rows, columns, types, pii, copyLines };
}

describe('vega-datasets demo files', () => {
  it('penguins.json: 344 rows, categorical species, numeric measurements, no PII', async () => {
    const { rows, types, pii, copyLines, columns } = await ingest('penguins.json', 'JSON');
    expect(rows).toBe(344);
    expect(copyLines).toBe(344);
    expect(types).toEqual<Record<string, ColumnType>>({
      Species: 'CATEGORY',
      Island: 'CATEGORY',
      'Beak Length (mm)': 'FLOAT',
      'Beak Depth (mm)': 'FLOAT',
      'Flipper Length (mm)': 'INTEGER',
      'Body Mass (g)': 'INTEGER',
      Sex: 'CATEGORY',
    });
    expect(columns.find((c) => c.name === 'Species')?.distinctEstimate).toBe(3);
    expect(columns.find((c) => c.name === 'Body Mass (g)')?.nullable).toBe(true);
    expect(pii.every((kind) => kind === null)).toBe(true);
  });

  it('cars.json: 406 rows, Year as DATE, Origin as CATEGORY, no PII in car names', async () => {
    const { rows, types, pii, copyLines } = await ingest('cars.json', 'JSON');
    expect(rows).toBe(406);
    expect(copyLines).toBe(406);
    expect(types).toMatchObject({
      Name: 'STRING',
      Miles_per_Gallon: 'FLOAT',
      Cylinders: 'INTEGER',
      Horsepower: 'INTEGER',
      Year: 'DATE',
      Origin: 'CATEGORY',
    });
    expect(pii.every((kind) => kind === null)).toBe(true);
  });

  it('seattle-weather.csv: 1461 rows, date DATE, precipitation FLOAT, weather CATEGORY', async () => {
    const { rows, types, pii, columns } = await ingest('seattle-weather.csv', 'CSV');
    expect(rows).toBe(1461);
    expect(types).toEqual<Record<string, ColumnType>>({
      date: 'DATE',
      precipitation: 'FLOAT',
      temp_max: 'FLOAT',
      temp_min: 'FLOAT',
      wind: 'FLOAT',
      weather: 'CATEGORY',
    });
    expect(columns.find((c) => c.name === 'date')?.distinctEstimate).toBe(1461);
    expect(columns.find((c) => c.name === 'weather')?.distinctEstimate).toBe(5);
    expect(pii.every((kind) => kind === null)).toBe(true);
  });

  it('stocks.csv: 560 rows, symbol CATEGORY, "Jan 1 2000" dates as DATE, price FLOAT', async () => {
    const { rows, types, pii } = await ingest('stocks.csv', 'CSV');
    expect(rows).toBe(560);
    expect(types).toEqual<Record<string, ColumnType>>({
      symbol: 'CATEGORY',
      date: 'DATE',
      price: 'FLOAT',
    });
    expect(pii.every((kind) => kind === null)).toBe(true);
  });

  it('flights-200k.json: every object streamed, numeric columns, no PII', async () => {
    const expected = (
      JSON.parse(new TextDecoder().decode(vegaFile('flights-200k.json'))) as unknown[]
    ).length;
    const { rows, types, pii, copyLines } = await ingest('flights-200k.json', 'JSON');
    expect(rows).toBe(expected);
    expect(copyLines).toBe(expected);
    expect(types).toEqual<Record<string, ColumnType>>({
      delay: 'INTEGER',
      distance: 'INTEGER',
      time: 'FLOAT',
    });
    expect(pii).toEqual([null, null, null]);
  });
});
