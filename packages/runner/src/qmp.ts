import { EventEmitter } from "node:events";
import { connect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { KilnError } from "@kiln/spec/errors";

/** An asynchronous QMP event, e.g. SHUTDOWN with `{ guest: true, reason: "guest-shutdown" }`. */
export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

/** QEMU answered a command with an error (`class` is QMP's, e.g. CommandNotFound). */
export class QmpError extends KilnError {
  readonly errorClass: string;
  constructor(command: string, errorClass: string, desc: string) {
    super(`QMP ${command}: ${desc} (${errorClass})`);
    this.name = "QmpError";
    this.errorClass = errorClass;
  }
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (e: Error) => void;
}

/**
 * A QMP client over a Unix socket: reads the greeting, negotiates capabilities, then runs commands
 * (matched to replies by id) and emits `event` for each asynchronous event. Once `quit` was sent, QEMU
 * closing the socket, even abruptly, is the expected end and not an error.
 */
export class QmpClient extends EventEmitter<{ event: [QmpEvent]; close: [] }> {
  readonly greeting: Record<string, unknown>;
  readonly #socket: Socket;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #quitting = false;
  #closed = false;
  readonly closed: Promise<void>;

  private constructor(socket: Socket, greeting: Record<string, unknown>, rest: string) {
    super();
    this.#socket = socket;
    this.greeting = greeting;
    let buffer = rest;
    socket.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("utf8");
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line) this.#message(line);
      }
    });
    this.closed = new Promise((resolve) => {
      socket.on("close", () => {
        this.#closed = true;
        for (const [id, p] of this.#pending) {
          this.#pending.delete(id);
          if (p.command === "quit") p.resolve({});
          else p.reject(new KilnError(`QMP ${p.command}: QEMU closed the connection before answering`));
        }
        this.emit("close");
        resolve();
      });
    });
    socket.on("error", () => {}); // "close" follows; after quit, ECONNRESET is the normal end
  }

  /** Connect, read the greeting and leave capabilities-negotiation mode. */
  static async connect(path: string, options: { timeoutMs?: number } = {}): Promise<QmpClient> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const socket = connect(path);
    const { greeting, rest } = await new Promise<{ greeting: Record<string, unknown>; rest: string }>(
      (resolve, reject) => {
        let buffer = "";
        const timer = setTimeout(
          () => fail(new KilnError(`QMP ${path}: no greeting within ${timeoutMs} ms`)),
          timeoutMs,
        );
        const fail = (e: Error) => {
          clearTimeout(timer);
          socket.destroy();
          reject(e);
        };
        const onData = (chunk: Buffer) => {
          buffer += chunk.toString("utf8");
          const nl = buffer.indexOf("\n");
          if (nl < 0) return;
          clearTimeout(timer);
          socket.off("data", onData);
          socket.off("error", fail);
          try {
            const msg = JSON.parse(buffer.slice(0, nl)) as { QMP?: Record<string, unknown> };
            if (!msg.QMP) throw new Error("not a QMP greeting");
            resolve({ greeting: msg.QMP, rest: buffer.slice(nl + 1) });
          } catch (e) {
            fail(
              new KilnError(`QMP ${path}: unexpected greeting ${JSON.stringify(buffer.slice(0, nl))}`, {
                cause: e,
              }),
            );
          }
        };
        socket.on("data", onData);
        socket.once("error", fail);
        socket.once("close", () => fail(new KilnError(`QMP ${path}: closed before the greeting`)));
      },
    );
    socket.removeAllListeners("close");
    const client = new QmpClient(socket, greeting, rest);
    await client.execute("qmp_capabilities");
    return client;
  }

  /** Connect, retrying while the socket is not there yet (QEMU is starting), until `timeoutMs`. */
  static async connectWhenReady(
    path: string,
    options: { timeoutMs?: number; alive?: () => boolean } = {},
  ): Promise<QmpClient> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    for (;;) {
      try {
        return await QmpClient.connect(path, { timeoutMs: Math.max(500, deadline - Date.now()) });
      } catch (e) {
        if (Date.now() > deadline || (options.alive && !options.alive())) throw e;
        await sleep(15);
      }
    }
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  #message(line: string): void {
    let msg: { id?: number; return?: unknown; error?: { class: string; desc: string }; event?: string };
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    if (msg.event !== undefined) {
      this.emit("event", msg as QmpEvent);
      return;
    }
    const p = msg.id === undefined ? undefined : this.#pending.get(msg.id);
    if (!p) return;
    this.#pending.delete(msg.id!);
    if (msg.error) p.reject(new QmpError(p.command, msg.error.class, msg.error.desc));
    else p.resolve(msg.return);
  }

  /** Run a QMP command; resolves with its `return` value. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.#closed) return Promise.reject(new KilnError(`QMP ${command}: the connection is closed`));
    const id = this.#nextId++;
    if (command === "quit") this.#quitting = true;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject });
      this.#socket.write(
        `${JSON.stringify(args ? { execute: command, arguments: args, id } : { execute: command, id })}\n`,
      );
    });
  }

  /** Wait for the next event named `name` (or any of several). */
  waitForEvent(name: string | readonly string[], timeoutMs = 30_000): Promise<QmpEvent> {
    const names = typeof name === "string" ? [name] : name;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => done(new KilnError(`QMP: no ${names.join("/")} event within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onEvent = (e: QmpEvent) => {
        if (names.includes(e.event)) done(undefined, e);
      };
      const onClose = () => done(new KilnError(`QMP: connection closed before ${names.join("/")}`));
      const done = (err?: Error, ev?: QmpEvent) => {
        clearTimeout(timer);
        this.off("event", onEvent);
        this.off("close", onClose);
        if (err) reject(err);
        else resolve(ev!);
      };
      this.on("event", onEvent);
      this.once("close", onClose);
    });
  }

  /** Send `quit` and wait for QEMU to close the connection. */
  async quit(): Promise<void> {
    if (this.#closed) return;
    await this.execute("quit").catch(() => {});
    await this.closed;
  }

  /** Close the connection (QEMU keeps running). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#socket.end();
    const t = setTimeout(() => this.#socket.destroy(), 1000);
    await this.closed;
    clearTimeout(t);
  }

  get quitting(): boolean {
    return this.#quitting;
  }
}
