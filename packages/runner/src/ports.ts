import { connect, createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** A port that is free on `host` right now (for publishing with host port 0). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Does a TCP service answer at host:port? QEMU's user networking accepts every connection to a
 * published port on the guest's behalf and drops it when the guest refuses, so an accepted connection
 * counts only if it stays open for `settleMs` or the service sends something.
 */
export function probeTcp(host: string, port: number, settleMs = 300): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    let timer = setTimeout(() => done(false), 5000);
    socket.once("connect", () => {
      clearTimeout(timer);
      timer = setTimeout(() => done(true), settleMs);
    });
    socket.once("data", () => done(true));
    socket.once("end", () => done(false));
    socket.once("close", () => done(false));
    socket.once("error", () => done(false));
  });
}

/** Retry `probe` until it answers, `giveUp` says stop, or `timeoutMs` passes. */
export async function waitUntil(
  probe: () => Promise<boolean>,
  options: { timeoutMs: number; giveUp?: () => boolean; intervalMs?: number },
): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (options.giveUp?.()) return false;
    if (await probe()) return true;
    if (Date.now() + (options.intervalMs ?? 250) > deadline) return false;
    await sleep(options.intervalMs ?? 250);
  }
}
