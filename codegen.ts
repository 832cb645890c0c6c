import type { CodegenConfig } from '@graphql-codegen/cli';

/** Options every client output shares. */
const client = {
  preset: 'client',
  config: {
    // verbatimModuleSyntax (tsconfig): types must be imported with `import type`.
    useTypeImports: true,
    scalars: { DateTime: 'string', JSON: 'unknown', JSONObject: 'Record<string, unknown>' },
  },
} as const;

/**
 * Typed documents for clients, from the printed schema: the example operations (used by
 * examples/partner-client.ts and its test) and the dashboard's, each output with its own
 * documents only. The outputs are committed: `.ci/run` regenerates them and fails when they
 * differ.
 */
const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  generates: {
    'examples/generated/': {
      ...client,
      documents: ['examples/**/*.graphql'],
      // persisted-documents.json: the manifest PESO_TRUSTED_DOCUMENTS reads (sha256 → document).
      presetConfig: { persistedDocuments: { hashAlgorithm: 'sha256' } },
    },
    'dashboard/generated/': { ...client, documents: ['dashboard/**/*.graphql'] },
  },
};

export default config;
