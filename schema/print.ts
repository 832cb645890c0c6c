import { writeFileSync } from 'node:fs';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { schema } from './index';

const file = new URL('./schema.graphql', import.meta.url);
writeFileSync(file, `${printSchema(lexicographicSortSchema(schema))}\n`);
console.log(`wrote ${file.pathname}`);
