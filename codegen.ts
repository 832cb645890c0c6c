import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents for clients, from the printed schema and the example operations (used by
 * examples/partner-client.ts and its test). The output is committed: `.ci/run` regenerates it and
 * fails when it differs.
 */
const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  documents: ['examples/**/*.graphql'],
  generates: {
    'examples/generated/': {
      preset: 'client',
      // persisted-documents.json: the manifest PESO_TRUSTED_DOCUMENTS reads (sha256 → document).
      presetConfig: { persistedDocuments: { hashAlgorithm: 'sha256' } },
      config: {
        // verbatimModuleSyntax (tsconfig): types must be imported with `import type`.
        useTypeImports: true,
        scalars: { DateTime: 'string', JSON: 'unknown', JSONObject: 'Record<string, unknown>' },
      },
    },
    // The dashboard's operations (the documents /dashboard sends), typed beside the root documents.
    'dashboard/generated/': {
      preset: 'client',
      documents: ['dashboard/**/*.graphql'],
      config: {
        // verbatimModuleSyntax (tsconfig): types must be imported with `import type`.
        useTypeImports: true,
        scalars: { DateTime: 'string', JSON: 'unknown', JSONObject: 'Record<string, unknown>' },
      },
    },
  },
};

export default config;
