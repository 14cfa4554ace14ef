import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { QmpClient, QmpError, type QmpEvent } from "./qmp.js";

const dir = mkdtempSync(join(tmpdir(), "kiln-qmp-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/**
 * A QMP server that behaves as QEMU's does: greeting, capabilities negotiation mode, replies carrying the
 * command's id, asynchronous events, and an abrupt close after quit. Writes are split and merged at odd
 * places so the client's line framing is tested too.
 */
function fakeQmp(
  path = join(dir, `qmp${n++}.sock`),
): Promise<{ path: string; server: Server; received: string[]; sockets: Socket[] }> {
  const received: string[] = [];
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    let negotiated = false;
    let buffer = "";
    // Writes stay in order, but each is cut in two, the halves sent 5 ms apart.
    let queue = Promise.resolve();
    const send = (...msgs: object[]) => {
      const text = msgs.map((m) => `${JSON.stringify(m)}\r\n`).join("");
      const cut = Math.floor(text.length / 2);
      queue = queue.then(async () => {
        s.write(text.slice(0, cut));
        await new Promise((r) => setTimeout(r, 5));
        s.write(text.slice(cut));
      });
    };
    const ts = { seconds: 1, microseconds: 2 };
    send({ QMP: { version: { qemu: { major: 7, minor: 2, micro: 0 } }, capabilities: ["oob"] } });
    s.on("data", (d) => {
      buffer += d.toString();
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        const msg = JSON.parse(buffer.slice(0, nl)) as { execute: string; id?: number; arguments?: unknown };
        buffer = buffer.slice(nl + 1);
        received.push(msg.execute);
        const id = msg.id === undefined ? {} : { id: msg.id };
        if (!negotiated && msg.execute !== "qmp_capabilities") {
          send({
            error: {
              class: "CommandNotFound",
              desc: "Expecting capabilities negotiation with 'qmp_capabilities'",
            },
            ...id,
          });
        } else if (msg.execute === "qmp_capabilities") {
          negotiated = true;
          send({ return: {}, ...id });
        } else if (msg.execute === "query-status") {
          send({ return: { status: "running", running: true, singlestep: false }, ...id });
        } else if (msg.execute === "system_powerdown") {
          send({ return: {}, ...id }, { event: "POWERDOWN", timestamp: ts });
        } else if (msg.execute === "echo") {
          send({ return: msg.arguments ?? {}, ...id });
        } else if (msg.execute === "quit") {
          send(
            { return: {}, ...id },
            { event: "SHUTDOWN", data: { guest: false, reason: "host-qmp-quit" }, timestamp: ts },
          );
          setTimeout(() => s.destroy(), 20);
        } else {
          send({
            error: { class: "CommandNotFound", desc: `The command ${msg.execute} has not been found` },
            ...id,
          });
        }
      }
    });
  });
  return new Promise((resolve) => server.listen(path, () => resolve({ path, server, received, sockets })));
}

describe("QmpClient against a fake QMP server", () => {
  test("negotiates capabilities first, then runs commands matched by id", async () => {
    const { path, server, received } = await fakeQmp();
    const qmp = await QmpClient.connect(path);
    expect(qmp.greeting).toMatchObject({ version: { qemu: { major: 7 } } });
    expect(received).toEqual(["qmp_capabilities"]);
    const [status, echo] = await Promise.all([
      qmp.execute<{ status: string }>("query-status"),
      qmp.execute("echo", { a: 1 }),
    ]);
    expect(status.status).toBe("running");
    expect(echo).toEqual({ a: 1 });
    await qmp.close();
    server.close();
  });

  test("an error reply rejects with the QMP error class", async () => {
    const { path, server } = await fakeQmp();
    const qmp = await QmpClient.connect(path);
    const e = await qmp.execute("no-such-command").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(QmpError);
    expect((e as QmpError).errorClass).toBe("CommandNotFound");
    expect((e as QmpError).message).toContain("no-such-command has not been found");
    await qmp.close();
    server.close();
  });

  test("events are emitted and can be waited for", async () => {
    const { path, server } = await fakeQmp();
    const qmp = await QmpClient.connect(path);
    const seen: QmpEvent[] = [];
    qmp.on("event", (e) => seen.push(e));
    const powerdown = qmp.waitForEvent("POWERDOWN", 2000);
    await qmp.execute("system_powerdown");
    expect((await powerdown).event).toBe("POWERDOWN");
    expect(seen.map((e) => e.event)).toEqual(["POWERDOWN"]);
    await expect(qmp.waitForEvent("NEVER", 50)).rejects.toThrow(/no NEVER event within 50 ms/);
    await qmp.close();
    server.close();
  });

  test("quit: the reply, the SHUTDOWN event, then an abrupt close that is not an error", async () => {
    const { path, server } = await fakeQmp();
    const qmp = await QmpClient.connect(path);
    const shutdown = qmp.waitForEvent("SHUTDOWN");
    await qmp.quit();
    expect((await shutdown).data).toEqual({ guest: false, reason: "host-qmp-quit" });
    expect(qmp.isClosed).toBe(true);
    await expect(qmp.execute("query-status")).rejects.toThrow(/connection is closed/);
    server.close();
  });

  test("a command pending when the server goes away is rejected", async () => {
    const { path, server, sockets } = await fakeQmp();
    const qmp = await QmpClient.connect(path);
    const hang = qmp.execute("echo-never"); // answered with an error normally; the close wins
    sockets[0]!.destroy();
    await expect(hang).rejects.toThrow();
    server.close();
  });

  test("something that is not QMP is refused", async () => {
    const path = join(dir, "not-qmp.sock");
    const server = createServer((s) => s.end("SSH-2.0-OpenSSH\r\n"));
    await new Promise<void>((r) => server.listen(path, r));
    await expect(QmpClient.connect(path)).rejects.toThrow(/unexpected greeting/);
    server.close();
  });

  test("connectWhenReady waits for the socket to appear", async () => {
    const path = join(dir, "late.sock");
    const pending = QmpClient.connectWhenReady(path, { timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 150));
    const { server } = await fakeQmp(path);
    const qmp = await pending;
    expect(await qmp.execute<{ status: string }>("query-status")).toMatchObject({ status: "running" });
    await qmp.close();
    server.close();
  });
});

describe("QmpClient against QEMU itself", () => {
  test("query-status, an unknown command, quit", async () => {
    const path = join(dir, "real.sock");
    const qemu = spawn(
      "qemu-system-x86_64",
      [
        "-machine",
        "none",
        "-S",
        "-display",
        "none",
        "-nodefaults",
        "-qmp",
        `unix:${path},server=on,wait=off`,
      ],
      { stdio: "ignore" },
    );
    const exited = new Promise<number | null>((r) => qemu.once("exit", r));
    const qmp = await QmpClient.connectWhenReady(path, { timeoutMs: 10_000 });
    expect(await qmp.execute("query-status")).toMatchObject({ status: "prelaunch", running: false });
    await expect(qmp.execute("no-such-command")).rejects.toMatchObject({ errorClass: "CommandNotFound" });
    const shutdown = qmp.waitForEvent("SHUTDOWN");
    await qmp.quit();
    expect((await shutdown).data).toMatchObject({ reason: "host-qmp-quit" });
    expect(await exited).toBe(0);
  });
});
