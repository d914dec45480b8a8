// Fails when src/api/schema.d.ts is not what openapi-typescript makes of src/api/openapi.json
// (regenerate with `npm run types:gen`). The JSON itself is checked against the hub by
// scripts/dump_dashboard_openapi.py --check.
import { readFileSync } from "node:fs";
import openapiTS, { astToString } from "openapi-typescript";

const spec = new URL("../src/api/openapi.json", import.meta.url);
const out = new URL("../src/api/schema.d.ts", import.meta.url);
const fresh = astToString(await openapiTS(JSON.parse(readFileSync(spec, "utf8"))));
const norm = (s) => s.replace(/^\/\*\*[\s\S]*?\*\/\s*/, "").trim();
if (norm(readFileSync(out, "utf8")) !== norm(fresh)) {
  console.error("src/api/schema.d.ts is stale: run `npm run types:gen` in dashboard/");
  process.exit(1);
}
console.log("generated API types are fresh");
