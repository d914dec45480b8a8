// Fails when src/api/generated.ts is not what openapi-typescript makes of src/api/openapi.json
// (regenerate with `make schemas`, i.e. scripts/gen-dashboard-types.sh). The JSON itself is
// checked against the hub by scripts/dump_dashboard_openapi.py --check.
import { readFileSync } from "node:fs";
import openapiTS, { astToString } from "openapi-typescript";

const spec = new URL("../src/api/openapi.json", import.meta.url);
const out = new URL("../src/api/generated.ts", import.meta.url);
const fresh = astToString(await openapiTS(JSON.parse(readFileSync(spec, "utf8"))));
const norm = (s) => s.replace(/^\/\*\*[\s\S]*?\*\/\s*/, "").trim();
if (norm(readFileSync(out, "utf8")) !== norm(fresh)) {
  console.error("src/api/generated.ts is stale: run `make schemas` (scripts/gen-dashboard-types.sh)");
  process.exit(1);
}
console.log("generated API types are fresh");
