// `docker`: the appliance tar plus a Dockerfile, ready for `docker build - < NAME.docker`.

import { regularFile } from "../assemble/entries.js";
import type { FlatEntry } from "../flatten/entry.js";
import { applianceEntries, writeTarFile } from "./tar.js";
import type { FormatContext, FormatWriter } from "./types.js";

// LinuxKit's text, byte for byte: the image runs the appliance's init.
const DOCKERFILE = '\nFROM scratch\n\nCOPY . ./\n\nENTRYPOINT ["/bin/rc.init"]\n';

async function* withDockerfile(ctx: FormatContext): AsyncGenerator<FlatEntry> {
  yield* applianceEntries(ctx);
  // Like LinuxKit, the one entry without LINUXKIT.* records.
  yield regularFile("Dockerfile", Buffer.from(DOCKERFILE), ctx.mtime, undefined);
}

export const dockerFormat: FormatWriter = {
  name: "docker",
  summary: "the root filesystem tar with a Dockerfile, for `docker build -` (streamable with -o)",
  outputs: (name) => [`${name}.docker`],
  streamable: true,
  needsKernel: false,
  async write(ctx, targets) {
    await writeTarFile(withDockerfile(ctx), targets[0]!, ctx.signal);
  },
  async stream(ctx, out) {
    await writeTarFile(withDockerfile(ctx), out, ctx.signal);
  },
};
