// The subset of the OCI runtime-spec (v1.2.1) that LinuxKit writes, with members declared in the
// Go structs' order: goMarshalIndent keeps insertion order, so building these objects in this
// order is what makes config.json byte-identical to LinuxKit's.

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
  uidMappings?: OciIdMapping[];
  gidMappings?: OciIdMapping[];
}

export interface OciIdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface OciRlimit {
  type: string;
  hard: bigint;
  soft: bigint;
}

export interface OciCapabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export interface OciProcess {
  user: { uid: number; gid: number; additionalGids?: number[] };
  args?: string[];
  env?: string[];
  cwd: string;
  capabilities: OciCapabilities;
  rlimits?: OciRlimit[];
  noNewPrivileges?: true;
  oomScoreAdj?: number;
}

export interface OciNamespace {
  type: "network" | "ipc" | "uts" | "pid" | "user" | "mount";
  path?: string;
}

export interface OciDevice {
  path: string;
  type: string;
  major: number;
  minor: number;
  fileMode: number;
}

export interface OciDeviceRule {
  allow: boolean;
  type?: string;
  major?: number;
  minor?: number;
  access?: string;
}

export interface OciResources {
  devices?: OciDeviceRule[];
  memory?: Record<string, number | boolean>;
  cpu?: Record<string, number | string>;
  pids?: { limit: number };
  blockIO?: Record<string, unknown>;
  hugepageLimits?: Array<{ pageSize: string; limit: number }>;
  network?: { classID?: number; priorities?: Array<{ name: string; priority: number }> };
}

export interface OciLinux {
  uidMappings?: OciIdMapping[];
  gidMappings?: OciIdMapping[];
  sysctl?: Record<string, string>;
  resources: OciResources;
  cgroupsPath?: string;
  namespaces: OciNamespace[];
  devices?: OciDevice[];
  rootfsPropagation?: string;
  maskedPaths?: string[];
  readonlyPaths?: string[];
}

export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly?: true };
  hostname?: string;
  mounts: OciMount[];
  annotations?: Record<string, string>;
  linux: OciLinux;
}

/** LinuxKit's runtime.json: what its init does around `runc create`, outside the OCI spec. */
export interface LinuxkitRuntime {
  cgroups: string[];
  mounts: OciMount[];
  mkdir: string[];
  interfaces: Array<{ name?: string; add?: string; peer?: string; createInRoot: boolean }>;
  bindNS: { cgroup: string; ipc: string; mnt: string; net: string; pid: string; user: string; uts: string };
  namespace: string;
}

export const OCI_VERSION = "1.2.1";
