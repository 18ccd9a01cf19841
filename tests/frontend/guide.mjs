// Runs docs/frontend.md as a front-end developer would: its `file:` code blocks
// become a throw-away app (.guide-app/, with the repository's schema.graphql and
// operations/), the code generator runs on the guide's codegen.yml, and the
// guide's Apollo Client and urql set-ups run against live gateways.
// usage: node guide.mjs codegen                    (generate only, print the paths)
//        node guide.mjs APQ_URL ALLOWLIST_URL      (everything; prints one JSON object)
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { generate, loadCodegenConfig } from "@graphql-codegen/cli";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const app = join(here, ".guide-app");

// The app: the guide's files, the schema and the operations, nothing else.
function buildApp() {
  rmSync(app, { recursive: true, force: true });
  mkdirSync(app, { recursive: true });
  const guide = readFileSync(join(root, "docs", "frontend.md"), "utf8");
  const blocks = [...guide.matchAll(/<!-- file: (\S+) -->\n```\w*\n([\s\S]*?)\n```/g)];
  for (const [, name, code] of blocks) {
    mkdirSync(dirname(join(app, name)), { recursive: true });
    writeFileSync(join(app, name), code + "\n");
  }
  cpSync(join(root, "schema.graphql"), join(app, "schema.graphql"));
  cpSync(join(root, "operations"), join(app, "operations"), { recursive: true });
  return blocks.map(([, name]) => name);
}

// The guide's codegen.yml, from the committed SDL or from a running gateway.
async function codegen(schema, save) {
  const previous = process.cwd();
  process.chdir(app);
  try {
    const { config } = await loadCodegenConfig({ configFilePath: "codegen.yml" });
    const outputs = await generate(
      { ...config, cwd: app, silent: true, ...(schema ? { schema } : {}) },
      save
    );
    return Object.fromEntries(outputs.map((o) => [relative(app, o.filename), o.content]));
  } finally {
    process.chdir(previous);
  }
}

function operations() {
  const found = {};
  const walk = (folder) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".graphql")) {
        found[entry.name.slice(0, -8)] = readFileSync(path, "utf8");
      }
    }
  };
  walk(join(root, "operations"));
  return found;
}

// Every request the clients make, as the gateway sees it.
const sent = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init = {}) => {
  const url = new URL(typeof input === "string" ? input : input.url);
  const method = (init.method || "GET").toUpperCase();
  const form = init.body instanceof FormData;
  let body = null;
  if (typeof init.body === "string") body = JSON.parse(init.body);
  if (form) body = JSON.parse(init.body.get("operations"));
  const params = Object.fromEntries(url.searchParams);
  const response = await realFetch(input, init);
  const copy = await response.clone().text();
  sent.push({
    method,
    multipart: form,
    hasQuery: Boolean(body ? body.query : params.query),
    hashed: Boolean((body ? body.extensions : params.extensions) || "")
      && JSON.stringify(body ? body.extensions : params.extensions).includes("sha256Hash"),
    operationName: (body && body.operationName) || params.operationName || null,
    status: response.status,
    codes: (() => {
      try {
        return (JSON.parse(copy).errors || []).map((e) => e.extensions && e.extensions.code);
      } catch {
        return ["<not JSON>"];
      }
    })(),
  });
  return response;
};

function pdf() {
  const bytes = new TextEncoder().encode("%PDF-1.7\n% a passport scan\n%%EOF\n");
  return new File([bytes], "passport.pdf", { type: "application/pdf" });
}

function ids(page) {
  return page.edges.map((edge) => edge.node.id);
}

async function apollo(url, ops, gql) {
  const { createApolloClient } = await import(pathToFileURL(join(app, "src", "apollo.mjs")));
  const client = createApolloClient({ uri: url });
  const doc = (name) => gql(ops[name]);
  const out = {};
  const mark = () => sent.length;
  const since = (start) => sent.slice(start);

  // Paging: two pages through fetchMore, merged by the cache.
  let start = mark();
  const watch = client.watchQuery({ query: doc("ListApplications"), variables: { first: 3 } });
  const first = await watch.refetch();
  const next = await watch.fetchMore({
    variables: { after: first.data.applications.pageInfo.endCursor },
  });
  const cached = client.readQuery({ query: doc("ListApplications"), variables: { first: 3 } });
  out.paging = {
    first: ids(first.data.applications),
    second: ids(next.data.applications),
    cached: ids(cached.applications),
    totalCount: cached.applications.totalCount,
    requests: since(start),
  };
  // The same page again: the hash alone, as GET, and the gateway knows it.
  start = mark();
  await client.query({
    query: doc("ListApplications"),
    variables: { first: 4 },
    fetchPolicy: "network-only",
  });
  await client.query({
    query: doc("ListApplications"),
    variables: { first: 5 },
    fetchPolicy: "network-only",
  });
  out.apqGet = since(start);

  // A detail.
  const id = first.data.applications.edges.find((e) => e.node.provider === "APITURE").node.id;
  const detail = await client.query({ query: doc("ApplicationDetail"), variables: { id } });
  out.detail = detail.data.application;

  // An action with a stale version: a VersionConflict keeps code and message.
  start = mark();
  const stale = await client.mutate({
    mutation: doc("ApproveApplication"),
    variables: { id, ifMatch: '"stale"' },
  });
  const again = await client.mutate({
    mutation: doc("ApproveApplication"),
    variables: { id, ifMatch: '"stale too"' },
  });
  out.action = stale.data.approveApplication;
  out.actionAgain = again.data.approveApplication;
  out.apqPost = since(start);
  // The control: the same link, a cache without the generated possibleTypes.
  const { ApolloClient, InMemoryCache } = await import("@apollo/client");
  const bare = new ApolloClient({ link: client.link, cache: new InMemoryCache() });
  const dropped = await bare.mutate({
    mutation: doc("ApproveApplication"),
    variables: { id, ifMatch: '"stale"' },
  });
  out.actionWithoutPossibleTypes = dropped.data.approveApplication;

  // An upload (multipart, through the same link chain).
  start = mark();
  const variables = JSON.parse(
    readFileSync(join(root, "operations", "documents", "UploadDocument.variables.json"), "utf8")
  );
  const uploaded = await client.mutate({
    mutation: doc("UploadDocument"),
    variables: { ...variables, file: pdf() },
  });
  out.upload = uploaded.data.uploadDocument;
  out.uploadRequests = since(start);
  return out;
}

async function urql(url, ops) {
  const { createUrqlClient } = await import(pathToFileURL(join(app, "src", "urql.mjs")));
  const { gql } = await import("@urql/core");
  const client = createUrqlClient({ url });
  const out = {};
  let start = sent.length;
  const page = await client.query(gql(ops.ListApplications), { first: 3 }).toPromise();
  if (page.error) throw page.error;
  const after = page.data.applications.pageInfo.endCursor;
  const second = await client.query(gql(ops.ListApplications), { first: 3, after }).toPromise();
  out.paging = {
    first: ids(page.data.applications),
    second: ids(second.data.applications),
    requests: sent.slice(start),
  };
  const id = page.data.applications.edges.find((e) => e.node.provider === "APITURE").node.id;
  const detail = await client.query(gql(ops.ApplicationDetail), { id }).toPromise();
  out.detail = detail.data.application;
  start = sent.length;
  const stale = await client
    .mutation(gql(ops.ApproveApplication), { id, ifMatch: '"stale"' })
    .toPromise();
  out.action = stale.data.approveApplication;
  out.actionRequests = sent.slice(start);
  start = sent.length;
  const uploaded = await client
    .mutation(gql(ops.UploadDocument), {
      file: pdf(),
      input: { owner: { kind: "MAMBU_CLIENT", id: "1" }, name: "passport" },
    })
    .toPromise();
  if (uploaded.error) throw uploaded.error;
  out.upload = uploaded.data.uploadDocument;
  out.uploadRequests = sent.slice(start);
  return out;
}

// Allowlist mode: the repository's operations run as the clients send them
// (with __typename added), anything else is refused.
async function allowlist(url, ops, gql) {
  const { createApolloClient } = await import(pathToFileURL(join(app, "src", "apollo.mjs")));
  const { createUrqlClient } = await import(pathToFileURL(join(app, "src", "urql.mjs")));
  const urqlCore = await import("@urql/core");
  const out = {};
  let start = sent.length;
  const urqlClient = createUrqlClient({ url });
  const page = await urqlClient.query(urqlCore.gql(ops.ListApplications), { first: 2 }).toPromise();
  out.urqlListed = page.error ? String(page.error) : ids(page.data.applications);
  out.urqlRequests = sent.slice(start);
  start = sent.length;
  const apolloClient = createApolloClient({ uri: url });
  const listed = await apolloClient.query({
    query: gql(ops.ListApplications),
    variables: { first: 2 },
  });
  await apolloClient.query({
    query: gql(ops.ListApplications),
    variables: { first: 3 },
    fetchPolicy: "network-only",
  });
  out.apolloListed = ids(listed.data.applications);
  out.apolloRequests = sent.slice(start);
  try {
    await apolloClient.query({ query: gql("query NotListed { providers { name } }") });
    out.apolloUnlisted = "ran";
  } catch (error) {
    out.apolloUnlisted = (error.errors || []).map((e) => e.extensions.code);
  }
  return out;
}

function lineDifference(a, b) {
  const left = a.split("\n");
  const right = (b || "").split("\n");
  return [
    ...left.filter((line) => !right.includes(line)).map((line) => `- ${line}`),
    ...right.filter((line) => !left.includes(line)).map((line) => `+ ${line}`),
  ];
}

const [first, allowlistUrl] = process.argv.slice(2);
try {
  const files = buildApp();
  if (first === "codegen") {
    const outputs = await codegen(null, true);
    console.log(`generated from schema.graphql, as docs/frontend.md's codegen.yml says:`);
    for (const name of Object.keys(outputs)) console.log(`  ${relative(root, join(app, name))}`);
  } else {
    const milliseconds = {};
    const timed = async (name, work) => {
      const started = Date.now();
      const value = await work();
      milliseconds[name] = Date.now() - started;
      return value;
    };
    const fromFile = await timed("codegenFromFile", () => codegen(null, true));
    const fromUrl = await timed("codegenFromUrl", () => codegen(first, false));
    const { gql } = await import("@apollo/client");
    const ops = operations();
    const result = {
      files,
      codegen: {
        outputs: Object.keys(fromFile),
        // Lines either output has and the other lacks.
        differences: Object.keys(fromFile).flatMap((k) => lineDifference(fromFile[k], fromUrl[k])),
        possibleTypes: JSON.parse(fromFile["src/generated/possible-types.json"]).possibleTypes,
        typesBytes: fromFile["src/generated/graphql.ts"].length,
      },
      apollo: await timed("apollo", () => apollo(first, ops, gql)),
      urql: await timed("urql", () => urql(first, ops)),
      allowlist: await timed("allowlist", () => allowlist(allowlistUrl, ops, gql)),
      milliseconds,
    };
    console.log(JSON.stringify(result));
  }
} catch (error) {
  console.log(JSON.stringify({ error: String((error && error.stack) || error), sent }));
  process.exitCode = 1;
}
// Keep-alive sockets and the generator's loaders would hold the process open.
process.exit(process.exitCode ?? 0);
