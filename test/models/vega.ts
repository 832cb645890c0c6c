import type { TrainingData } from '../../src/models/types';
import { vegaFile } from '../datasets/sources';

function load(name: string): Array<Record<string, unknown>> {
  return JSON.parse(Buffer.from(vegaFile(name)).toString('utf8'));
}

/** penguins.json: predict Species from island, beak, flipper, body mass and sex. */
export function penguins(): TrainingData {
  return {
    features: [
      { name: 'Island', type: 'CATEGORY' },
      { name: 'Beak Length (mm)', type: 'FLOAT' },
      { name: 'Beak Depth (mm)', type: 'FLOAT' },
      { name: 'Flipper Length (mm)', type: 'FLOAT' },
      { name: 'Body Mass (g)', type: 'FLOAT' },
      { name: 'Sex', type: 'CATEGORY' },
    ],
    target: { name: 'Species', type: 'CATEGORY' },
    rows: load('penguins.json'),
  };
}

/** cars.json: predict Miles_per_Gallon from every other column except Name. */
export function cars(): TrainingData {
  return {
    features: [
      { name: 'Cylinders', type: 'INTEGER' },
      { name: 'Displacement', type: 'FLOAT' },
      { name: 'Horsepower', type: 'FLOAT' },
      { name: 'Weight_in_lbs', type: 'FLOAT' },
      { name: 'Acceleration', type: 'FLOAT' },
      { name: 'Year', type: 'DATE' },
      { name: 'Origin', type: 'CATEGORY' },
    ],
    target: { name: 'Miles_per_Gallon', type: 'FLOAT' },
    rows: load('cars.json'),
  };
}
