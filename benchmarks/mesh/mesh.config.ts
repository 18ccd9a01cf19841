/**
 * GraphQL Mesh over the four provider sandboxes: the peer `make bench` measures our
 * gateway against. `benchmarks/run.py` runs `mesh-compose` with the sandboxes' URLs
 * and the connectFi token in the environment, then serves the supergraph with Hive
 * Gateway.
 *
 * The per-item links are Mesh's own `@resolveTo` in `additionalTypeDefs`:
 * - an Apiture list item's `application` is the full application (GET one by id);
 * - a connectFi application's `documents` are the Mambu attachments of the Mambu
 *   client whose id is the connectFi customer id (the link our gateway makes too).
 *
 * connectFi needs a login token that Mesh cannot fetch and renew by itself, so the
 * benchmark logs in once and hands the token over as a static header.
 */
import { defineConfig } from '@graphql-mesh/compose-cli'
import { loadOpenAPISubgraph } from '@omnigraph/openapi'

const env = (name: string): string => {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is not set (benchmarks/run.py sets it)`)
  return value
}

const basic = Buffer.from(
  `${env('MAMBU_USERNAME')}:${env('MAMBU_PASSWORD')}`,
).toString('base64')

export const composeConfig = defineConfig({
  subgraphs: [
    {
      sourceHandler: loadOpenAPISubgraph('Apiture', {
        source: './openapi/apiture.yaml',
        endpoint: env('APITURE_URL'),
        // The sandbox, like Apiture, takes an API key and a bearer token together.
        operationHeaders: {
          Accept: 'application/hal+json',
          'API-Key': env('APITURE_API_KEY'),
          Authorization: `Bearer ${env('APITURE_ACCESS_TOKEN')}`,
        },
      }),
    },
    {
      sourceHandler: loadOpenAPISubgraph('ConnectFi', {
        source: './openapi/connectfi.yaml',
        endpoint: env('CONNECTFI_URL'),
        operationHeaders: { 'x-connectfi-token': env('CONNECTFI_TOKEN') },
        // connectFi reads by POST; it is still a read.
        selectQueryOrMutationField: [
          { type: 'query', fieldName: 'connectfiApplications' },
        ],
      }),
    },
    {
      sourceHandler: loadOpenAPISubgraph('Auco', {
        source: './openapi/auco.yaml',
        endpoint: env('AUCO_URL'),
        operationHeaders: { Authorization: env('AUCO_PUBLIC_KEY') },
      }),
    },
    {
      sourceHandler: loadOpenAPISubgraph('Mambu', {
        source: './openapi/mambu.yaml',
        endpoint: env('MAMBU_URL'),
        operationHeaders: { Authorization: `Basic ${basic}` },
      }),
    },
  ],
  additionalTypeDefs: /* GraphQL */ `
    extend type ApitureApplicationSummary {
      application: ApitureApplication
        @resolveTo(
          sourceName: "Apiture"
          sourceTypeName: "Query"
          sourceFieldName: "apitureApplication"
          requiredSelectionSet: "{ _id }"
          sourceArgs: { applicationId: "{root._id}" }
        )
    }
    extend type ConnectFiApplication {
      documents: [MambuDocument]
        @resolveTo(
          sourceName: "Mambu"
          sourceTypeName: "Query"
          sourceFieldName: "mambuClientDocuments"
          requiredSelectionSet: "{ customerId }"
          sourceArgs: { clientId: "{root.customerId}" }
        )
    }
  `,
})
