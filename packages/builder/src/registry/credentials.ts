import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { KilnError } from "@kiln/spec";
import { loadExeca } from "../load-execa.js";

export interface Credential {
  username: string;
  password: string;
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/** The keys Docker uses for Docker Hub in config.json, old and new. */
const HUB_KEYS = ["https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io"];

function keysFor(host: string): string[] {
  const keys = host === "docker.io" || host === "registry-1.docker.io" ? [...HUB_KEYS] : [host];
  return keys.flatMap((k) => [k, `https://${k}`, `http://${k}`]);
}

/**
 * Credentials the way the Docker CLI finds them: `$DOCKER_CONFIG/config.json` (default ~/.docker),
 * a per-registry `credHelpers` entry, then `auths`, then the global `credsStore`.
 */
export class DockerCredentials {
  private loaded: Promise<DockerConfig> | undefined;
  constructor(private readonly configDir = process.env.DOCKER_CONFIG || join(homedir(), ".docker")) {}

  /** Read on first use: commands that never meet an auth challenge never touch the file. */
  private config(): Promise<DockerConfig> {
    this.loaded ??= readFile(join(this.configDir, "config.json"), "utf8")
      .then((t) => JSON.parse(t) as DockerConfig)
      .catch((e: NodeJS.ErrnoException) => {
        if (e.code === "ENOENT") return {};
        throw new KilnError(`cannot read ${join(this.configDir, "config.json")}: ${e.message}`, {
          hint: "fix or remove the Docker config file",
        });
      });
    return this.loaded;
  }

  async get(host: string): Promise<Credential | undefined> {
    const config = await this.config();
    const keys = keysFor(host);
    const helper = keys.map((k) => config.credHelpers?.[k]).find(Boolean);
    if (helper) return this.fromHelper(helper, host);
    for (const k of keys) {
      const entry = config.auths?.[k];
      if (!entry) continue;
      if (entry.username && entry.password) return { username: entry.username, password: entry.password };
      if (entry.auth) {
        const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
        const colon = decoded.indexOf(":");
        if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
      }
    }
    if (config.credsStore) return this.fromHelper(config.credsStore, host);
    return undefined;
  }

  private async fromHelper(helper: string, host: string): Promise<Credential | undefined> {
    const program = `docker-credential-${helper}`;
    const serverUrl = host === "docker.io" ? HUB_KEYS[0]! : host;
    let out: string;
    try {
      const { execa } = await loadExeca();
      const r = await execa(program, ["get"], { input: serverUrl, timeout: 30_000 });
      out = r.stdout;
    } catch (e) {
      const err = e as { stdout?: string; code?: string; message: string };
      // Helpers answer "credentials not found" on stdout with a non-zero exit: that is "no credentials".
      if (/credentials not found/i.test(err.stdout ?? "")) return undefined;
      if (err.code === "ENOENT") {
        throw new KilnError(`the Docker credential helper ${program} is not installed`, {
          hint: `install it, or remove "${helper}" from credsStore/credHelpers in ${join(this.configDir, "config.json")}`,
        });
      }
      throw new KilnError(`${program} failed for ${host}: ${err.message.split("\n")[0]}`);
    }
    const parsed = JSON.parse(out) as { Username?: string; Secret?: string };
    if (!parsed.Secret) return undefined;
    return { username: parsed.Username ?? "", password: parsed.Secret };
  }
}
