// Published ports and --network-restrict, for real: an httpd in the guest answers on a published port,
// and with restrict=on the guest cannot open a connection to a port the host listens on (10.0.2.2),
// while a guestfwd to the same listener shows the guest's networking itself works.
import { createServer, type Server } from "node:net";
import { type BootFixture, fixtureLines, makeBootFixture } from "@kiln/runner/testing";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startVm } from "./start-vm.js";

let fx: BootFixture;
let listener: Server;
let port = 0;
const received: string[] = [];
beforeAll(async () => {
  fx = await makeBootFixture();
  // Closing after the first data lets the guest's nc finish.
  listener = createServer((s) =>
    s.on("data", (d) => {
      received.push(d.toString());
      s.end();
    }),
  );
  await new Promise<void>((r) => listener.listen(0, "127.0.0.1", r));
  port = (listener.address() as { port: number }).port;
});
afterAll(async () => {
  listener?.close();
  await fx?.[Symbol.asyncDispose]();
});

test("a published port answers from the host; restricted, the guest reaches only what is forwarded", async () => {
  await using vm = await startVm({
    prefix: await fx.prefix("net"),
    append: `kiln.test=net,probe kiln.probe=${port}`,
    mem: 512,
    accel: "tcg",
    restrict: true,
    publish: ["127.0.0.1:0:80"],
    guestForwards: [
      { guestAddress: "10.0.2.100", guestPort: 1234, hostAddress: "127.0.0.1", hostPort: port },
    ],
  });
  expect(vm.command.find((a) => a.startsWith("user,"))).toMatch(
    /restrict=on,hostfwd=tcp:127\.0\.0\.1:\d+-:80/,
  );
  const [published] = vm.ports;
  expect(published).toMatchObject({ hostAddress: "127.0.0.1", guestPort: 80 });
  expect(published!.hostPort).toBeGreaterThan(0);

  const { host, port: hostPort } = await vm.waitForPort(80, { timeoutMs: 240_000 });
  const res = await fetch(`http://${host}:${hostPort}/index.html`);
  expect(await res.text()).toBe("kiln-http-ok\n");

  await vm.waitForConsole(/KILN-FIXTURE: ready/, { timeoutMs: 120_000 });
  const lines = fixtureLines(vm.console);
  expect(lines).toContain("guestfwd tried");
  expect(lines).toContain("direct failed");
  expect(received.join("")).toContain("via-guestfwd");
  expect(received.join("")).not.toContain("direct");
  await expect(vm.waitForPort(81, { timeoutMs: 1000 })).rejects.toThrow(/not published/);
  expect((await vm.stop({ timeoutMs: 60_000 })).reason).toBe("poweroff");
});
