// An HTTP proxy in front of a test registry that misbehaves on purpose, for fault-injection tests.
import { createServer, request, type Server } from "node:http";
import { freePort } from "./registry.js";

export type Fault =
  | { kind: "status"; status: 500 | 429 | 503; times: number; retryAfter?: number }
  | { kind: "drop"; afterBytes: number; times: number }
  | { kind: "truncate"; keepBytes: number; times: number }
  | { kind: "corrupt"; times: number };

export interface FaultProxy {
  host: string;
  /** Requests seen, by path. */
  hits: Map<string, number>;
  stop(): Promise<void>;
}

/** Faults apply to blob GETs only, each one `times` times, then requests pass through untouched. */
export async function startFaultProxy(upstream: string, faults: Fault[]): Promise<FaultProxy> {
  const port = await freePort();
  const hits = new Map<string, number>();
  const remaining = faults.map((f) => ({ ...f }));
  const server: Server = createServer((req, res) => {
    const path = req.url ?? "/";
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const isBlob = /\/blobs\/sha256:/.test(path) && req.method === "GET";
    const fault = isBlob ? remaining.find((f) => f.times > 0) : undefined;
    if (fault) fault.times--;
    if (fault?.kind === "status") {
      res.writeHead(fault.status, fault.retryAfter ? { "retry-after": String(fault.retryAfter) } : {});
      res.end("injected failure");
      return;
    }
    const up = request(
      `http://${upstream}${path}`,
      { method: req.method, headers: { ...req.headers, host: upstream } },
      (upRes) => {
        const headers = { ...upRes.headers };
        if (fault?.kind === "truncate") delete headers["content-length"];
        res.writeHead(upRes.statusCode ?? 502, headers);
        let sent = 0;
        upRes.on("data", (chunk: Buffer) => {
          let out = chunk;
          if (fault?.kind === "corrupt") {
            out = Buffer.from(chunk);
            out[0] = out[0]! ^ 0xff;
          }
          if (fault?.kind === "truncate") {
            const room = fault.keepBytes - sent;
            if (room <= 0) return;
            out = out.subarray(0, room);
          }
          sent += out.length;
          res.write(out);
          if (fault?.kind === "drop" && sent >= fault.afterBytes) {
            res.socket?.destroy();
            upRes.destroy();
          }
        });
        upRes.on("end", () => res.end());
      },
    );
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    host: `127.0.0.1:${port}`,
    hits,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
