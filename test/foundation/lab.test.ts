/** `npm run lab`: a Jupyter server with the tslab kernel, checked through its REST and websocket API. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import WebSocket from "ws";
import { startLab } from "../../scripts/notebooks/lab.js";

/**
 * Runs `code` on a kernel through the Jupyter messaging protocol and returns what it printed or returned.
 * As Jupyter's own clients do, it first asks for kernel_info until the kernel answers: a request sent
 * while the kernel is still starting can be lost.
 */
function execute(wsUrl: string, code: string, timeoutMs: number): Promise<string> {
  const seen: string[] = [];
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl);
    const session = randomUUID();
    const infoId = randomUUID();
    const execId = randomUUID();
    const message = (msgId: string, msgType: string, content: object) => JSON.stringify({
      header: { msg_id: msgId, username: "test", session, msg_type: msgType, version: "5.3", date: new Date().toISOString() },
      parent_header: {}, metadata: {}, channel: "shell", content,
    });
    let infoTimer: NodeJS.Timeout | undefined;
    const finish = (err: Error | undefined, value?: string) => {
      clearTimeout(timer);
      clearInterval(infoTimer);
      ws.close();
      if (err) reject(err);
      else resolve(value!);
    };
    const timer = setTimeout(() => finish(new Error(`no reply to ${JSON.stringify(code)} within ${timeoutMs} ms; messages seen: ${seen.join(", ") || "none"}`)), timeoutMs);
    ws.on("open", () => {
      const ask = () => ws.send(message(infoId, "kernel_info_request", {}));
      ask();
      infoTimer = setInterval(ask, 1000);
    });
    // tslab shows an expression's value on stdout (other kernels send execute_result): take either.
    let result: string | undefined;
    let replied = false;
    let idle = false;
    let sent = false;
    ws.on("message", (raw) => {
      const msg = JSON.parse(raw.toString());
      seen.push(`${msg.channel ?? "?"}:${msg.msg_type}${msg.msg_type === "status" ? `(${msg.content?.execution_state})` : ""}`);
      if (msg.msg_type === "kernel_info_reply" && msg.parent_header?.msg_id === infoId && !sent) {
        sent = true;
        clearInterval(infoTimer);
        ws.send(message(execId, "execute_request", { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true }));
        return;
      }
      if (msg.parent_header?.msg_id !== execId) return;
      if (msg.msg_type === "execute_result") result = String(msg.content.data["text/plain"]);
      if (msg.msg_type === "stream" && msg.content.name === "stdout") result = (result ?? "") + msg.content.text;
      // The reply (shell) and the idle status (iopub) travel on different channels, so either can
      // come first: the output is complete once both have arrived.
      if (msg.msg_type === "execute_reply") {
        if (msg.content.status !== "ok") return finish(new Error(`${msg.content.ename}: ${msg.content.evalue}`));
        replied = true;
      }
      if (msg.msg_type === "status" && msg.content.execution_state === "idle") idle = true;
      if (replied && idle) finish(undefined, (result ?? "").trim());
    });
    ws.on("error", (e) => finish(e));
  });
}

test("the lab server lists the tslab kernel, starts one, and it computes 1 + 1", async () => {
  const lab = await startLab({ startTimeoutS: 90 });
  try {
    assert.match(lab.url, new RegExp(`^http://127\\.0\\.0\\.1:${lab.port}/tree\\?token=[0-9a-f]{32}$`));
    const auth = { headers: { Authorization: `token ${lab.token}` } };
    const specs = await (await fetch(`${lab.baseUrl}/api/kernelspecs`, auth)).json() as { kernelspecs: Record<string, unknown> };
    assert.ok("tslab" in specs.kernelspecs, `kernels: ${Object.keys(specs.kernelspecs).join(", ")}`);
    const res = await fetch(`${lab.baseUrl}/api/kernels`, { method: "POST", ...auth, headers: { ...auth.headers, "Content-Type": "application/json" }, body: JSON.stringify({ name: "tslab" }) });
    assert.equal(res.status, 201);
    const kernel = await res.json() as { id: string; name: string };
    assert.equal(kernel.name, "tslab");
    // Like Jupyter's own front ends, reconnect and ask again if a connection gets no answer
    // (evaluating 1 + 1 twice is harmless).
    const wsUrl = `ws://127.0.0.1:${lab.port}/api/kernels/${kernel.id}/channels?token=${lab.token}`;
    const failures: string[] = [];
    let value: string | undefined;
    for (let attempt = 0; attempt < 3 && value === undefined; attempt++) {
      try {
        value = await execute(wsUrl, "1 + 1", 60_000);
      } catch (e) {
        failures.push(`attempt ${attempt + 1}: ${(e as Error).message}`);
      }
    }
    assert.ok(value !== undefined, `${failures.join("\n")}\n--- server log ---\n${lab.log()}`);
    assert.equal(value, "2");
    const del = await fetch(`${lab.baseUrl}/api/kernels/${kernel.id}`, { method: "DELETE", ...auth });
    assert.equal(del.status, 204);
    // Without the token the server refuses.
    assert.equal((await fetch(`${lab.baseUrl}/api/kernels`)).status, 403);
  } finally {
    await lab.stop();
  }
});
