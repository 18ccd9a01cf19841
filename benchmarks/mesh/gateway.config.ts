/**
 * Hive Gateway as production would run it for the benchmark: callers authenticated
 * with the same HS256 bearer tokens our gateway checks (GATEWAY_AUTH_JWT_SECRET),
 * introspection off. `benchmarks/run.py` passes the secret in JWT_SECRET.
 */
import {
  createInlineSigningKeyProvider,
  defineConfig,
  extractFromHeader,
} from '@graphql-hive/gateway'

const secret = process.env.JWT_SECRET
if (!secret) throw new Error('JWT_SECRET is not set (benchmarks/run.py sets it)')

export const gatewayConfig = defineConfig({
  jwt: {
    signingKeyProviders: [createInlineSigningKeyProvider(secret)],
    tokenLookupLocations: [
      extractFromHeader({ name: 'authorization', prefix: 'Bearer' }),
    ],
    tokenVerification: { algorithms: ['HS256'] },
    reject: { missingToken: true, invalidToken: true },
  },
  disableIntrospection: true,
})
