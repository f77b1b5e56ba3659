/** `npm run env`: measures the environment and rewrites the generated section of environment.md. */
import "../src/util/cli.js";
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { collectEnvironment, environmentSection, replaceEnvironmentSection } from "../src/env/report.js";
import { writeFileAtomicSync } from "../src/util/atomic.js";
import { repoRoot } from "../src/util/paths.js";

const path = join(repoRoot(), "environment.md");
const facts = await collectEnvironment();
const section = environmentSection(facts);
const before = existsSync(path) ? readFileSync(path, "utf8") : "# Environment\n";
writeFileAtomicSync(path, replaceEnvironmentSection(before, section));
console.log(section);
console.error(`[env] wrote ${path}`);
