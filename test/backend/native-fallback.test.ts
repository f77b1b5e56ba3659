/**
 * The project installs and runs without the addon: a missing or broken addon makes the backend
 * module fall back to `wasm` with exactly one warning, and training still works there. With the
 * addon present, `auto` picks `native`. Each case runs in a child process because the backend
 * choice is made once per process.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { DEFAULT_ADDON_PATH, loadAddon } from "../../src/backend/native/addon.js";
import { REQUIRE_NATIVE } from "./harness.js";

const child = fileURLToPath(new URL("./fixtures/backend-child.ts", import.meta.url));

interface ChildReport {
  backend: string;
  choice: string;
  reason: string;
  warnings: string[];
  losses: number[];
}

function runChild(env: Record<string, string | undefined>): ChildReport {
  const out = execFileSync(process.execPath, ["--import", "tsx", child], {
    env: { ...process.env, OMNI_BACKEND: undefined, ...env },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 60_000,
  });
  const line = out.trim().split("\n").filter((l) => l.startsWith("{")).pop();
  assert.ok(line, `child printed no report: ${out}`);
  return JSON.parse(line) as ChildReport;
}

function assertTrains(r: ChildReport): void {
  assert.equal(r.losses.length, 3);
  assert.ok(r.losses.every(Number.isFinite), `losses ${r.losses}`);
  assert.ok(r.losses[2]! < r.losses[0]!, `loss should fall: ${r.losses}`);
}

describe("native backend loading and fallback", () => {
  it("a missing addon is reported with the fix", () => {
    const r = loadAddon("/nonexistent/omni_native.node");
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.reason : "", /addon not built: .*omni_native\.node missing; run npm run build:native/);
  });

  it("missing addon: auto falls back to wasm with one warning, and trains", () => {
    const r = runChild({ OMNI_NATIVE_ADDON: "/nonexistent/omni_native.node" });
    assert.equal(r.backend, "wasm");
    assert.equal(r.warnings.length, 1, `warnings: ${JSON.stringify(r.warnings)}`);
    assert.match(r.warnings[0]!, /native unavailable, falling back: addon not built/);
    assertTrains(r);
  });

  it("broken addon file: falls back to wasm with one warning", () => {
    const dir = mkdtempSync(join(tmpdir(), "omni-native-"));
    const bogus = join(dir, "omni_native.node");
    writeFileSync(bogus, "not a shared object");
    const r = runChild({ OMNI_NATIVE_ADDON: bogus });
    assert.equal(r.backend, "wasm");
    assert.equal(r.warnings.length, 1, `warnings: ${JSON.stringify(r.warnings)}`);
    assert.match(r.warnings[0]!, /failed to load/);
  });

  const built = loadAddon(DEFAULT_ADDON_PATH).ok;
  it(built ? "built addon: auto picks native and trains" : "addon not built here: nothing to pick (OMNI_REQUIRE_NATIVE unset)", () => {
    if (!built) {
      assert.ok(!REQUIRE_NATIVE, "OMNI_REQUIRE_NATIVE=1 but native/build/Release/omni_native.node does not load");
      return;
    }
    const r = runChild({ OMNI_NATIVE_ADDON: undefined, OMNI_THREADS: "1" });
    assert.equal(r.backend, "native");
    assert.deepEqual(r.warnings, []);
    assert.match(r.reason, /native addon \(OpenBLAS .*1 thread/);
    assertTrains(r);
  });
});
