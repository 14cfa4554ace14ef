// The cache and registry client the image commands share. Imports @kiln/builder: load it from a command's
// action, never from a declaration.
import { DockerCredentials, defaultCacheDir, hostArch, OciCache, RegistryClient } from "@kiln/builder";
import { mirrorsFrom } from "./registry-options.js";

export interface ImageContext {
  cache: OciCache;
  client: RegistryClient;
  arch: string;
  quiet: boolean;
}

export async function imageContext(options: Record<string, unknown>): Promise<ImageContext> {
  const cache = await OciCache.open((options.cache as string | undefined) ?? defaultCacheDir());
  const client = new RegistryClient({
    insecure: (options.insecureRegistry as string[] | undefined) ?? [],
    mirrors: mirrorsFrom(options.mirror as string[] | undefined),
    credentials: new DockerCredentials(),
  });
  return {
    cache,
    client,
    arch: (options.arch as string | undefined) ?? hostArch(),
    quiet: Boolean(options.quiet),
  };
}
