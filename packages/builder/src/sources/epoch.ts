import { KilnError } from "@kiln/spec";

/** LinuxKit's fixed time stamp, used when SOURCE_DATE_EPOCH is not set. */
export const DEFAULT_EPOCH = new Date("2017-04-18T16:30:00Z");

/** The time stamp of every entry kiln writes into an archive: `SOURCE_DATE_EPOCH`, else LinuxKit's. */
export function outputTime(env: NodeJS.ProcessEnv = process.env): Date {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === "") return DEFAULT_EPOCH;
  if (!/^\d+$/.test(raw)) {
    throw new KilnError(`SOURCE_DATE_EPOCH "${raw}" is not a number of seconds`, {
      hint: "set it to a Unix time, e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct), or unset it",
    });
  }
  return new Date(Number(raw) * 1000);
}
