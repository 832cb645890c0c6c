import type { CodegenConfig } from '@graphql-codegen/cli';

/** Typed documents for clients, from the printed schema and the example operations. */
const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  documents: ['examples/**/*.graphql'],
  generates: {
    'examples/generated/': {
      preset: 'client',
      config: {
        scalars: { DateTime: 'string', JSON: 'unknown', JSONObject: 'Record<string, unknown>' },
      },
    },
  },
};

export default config;
