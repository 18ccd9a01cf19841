// The graphql-http server audits against a running gateway.
// usage: node audit.mjs http://127.0.0.1:PORT/graphql
// Prints one JSON object: the totals and every audit that did not pass.
import { serverAudits } from "graphql-http";

const url = process.argv[2];
if (!url) {
  console.error("usage: node audit.mjs URL");
  process.exit(2);
}

// The gateway refuses GET and multipart operations that carry no preflight header
// (CSRF protection); a client that follows it sends one, and so does this one.
const preflightFetch = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set("GraphQL-Preflight", "1");
  return fetch(input, { ...init, headers });
};

const results = await Promise.all(
  serverAudits({ url, fetchFn: preflightFetch }).map(async (audit) => {
    const result = await audit.fn();
    let body;
    if (result.status !== "ok") {
      body = await result.response.text().catch(() => "");
    }
    return {
      id: result.id,
      name: result.name,
      status: result.status,
      reason: result.reason,
      body,
    };
  })
);

const totals = { ok: 0, warn: 0, error: 0 };
for (const result of results) totals[result.status] += 1;
const failures = results.filter((result) => result.status !== "ok");
console.log(JSON.stringify({ totals, failures }, null, 2));
