// Writes `count` secrets named <prefix>_<i> into the store of <dataDir>, one put at a time.
import { openSecretStore } from "../../src/secrets/index.ts";

const [dataDir, prefix, count] = process.argv.slice(2) as [string, string, string];
const store = openSecretStore({ dataDir });
for (let i = 0; i < Number(count); i++) store.put(`${prefix}_${i}`, `value-${prefix}-${i}`);
