/** scripts/setup.sh without root and with Debian packages missing: it prints the exact install line and stops. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../../src/util/paths.js";

test("setup without root prints the sudo apt-get line for the missing packages and exits non-zero", () => {
  const bin = mkdtempSync(join(tmpdir(), "fakebin-"));
  chmodSync(bin, 0o755);
  // A dpkg-query that knows no package, and an `id` that says we are not root.
  writeFileSync(join(bin, "dpkg-query"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
  writeFileSync(join(bin, "id"), "#!/bin/sh\necho 1000\n", { mode: 0o755 });
  const r = spawnSync("bash", [join(repoRoot(), "scripts", "setup.sh")], {
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    encoding: "utf8",
  });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /missing Debian packages: jupyter-nbconvert /);
  assert.match(r.stderr, /sudo apt-get update && sudo apt-get install -y jupyter-nbconvert python3-nbclient jupyter-client jupyter-notebook chromium/);
});
