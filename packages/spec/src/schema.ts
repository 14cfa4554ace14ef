import { z } from "zod";

// The LinuxKit YAML format, as data. Every object is strict: LinuxKit rejects unknown fields, and so do we.
// Field names, including the dotted `capabilities.add` / `binds.add` forms, are LinuxKit's own.

const stringList = z.array(z.string());
const idValue = z
  .union([z.number().int().min(0), z.string()])
  .describe("A numeric id, or the name of a container in this YAML whose allocated id is used.");

export const idMappingSchema = z
  .object({
    hostID: z.number().int().min(0).optional(),
    containerID: z.number().int().min(0).optional(),
    size: z.number().int().min(0).optional(),
  })
  .strict();

// LinuxKit's schema spells the per-mount id mappings in lowercase (they are decoded by yaml.v3's default names).
export const mountSchema = z
  .object({
    destination: z.string().optional(),
    type: z.string().optional(),
    source: z.string().optional(),
    options: stringList.optional(),
    uidmappings: z.array(idMappingSchema).optional(),
    gidmappings: z.array(idMappingSchema).optional(),
  })
  .strict()
  .describe("An OCI mount. The type is inferred from proc, sysfs, devpts, mqueue and cgroup sources.");

export const deviceSchema = z
  .object({
    path: z.string().describe("Device path, or `all` for a blanket cgroup rule for this type."),
    type: z.enum(["b", "c", "u", "p"]).describe("b (block), c or u (char), p (fifo)."),
    major: z.number().int().min(0).optional(),
    minor: z.number().int().min(0).optional(),
    mode: z
      .string()
      .optional()
      .describe('File mode as an octal string, e.g. "0666". Required unless path is `all`.'),
  })
  .strict();

const deviceRuleSchema = z
  .object({
    allow: z.boolean(),
    type: z.string().optional(),
    major: z.number().int().optional(),
    minor: z.number().int().optional(),
    access: z.string().optional(),
  })
  .strict();

const weightDeviceSchema = z
  .object({
    major: z.number().int(),
    minor: z.number().int(),
    weight: z.number().int().min(0).optional(),
    leafWeight: z.number().int().min(0).optional(),
  })
  .strict();

const throttleDeviceSchema = z
  .object({ major: z.number().int(), minor: z.number().int(), rate: z.number().int().min(0) })
  .strict();

// The keys LinuxKit's schema allows, no more: a YAML kiln accepts is one LinuxKit accepts.
export const resourcesSchema = z
  .object({
    devices: z.array(deviceRuleSchema).optional(),
    memory: z
      .object({
        limit: z.number().int().optional(),
        reservation: z.number().int().optional(),
        swap: z.number().int().optional(),
        kernel: z.number().int().optional(),
        kernelTCP: z.number().int().optional(),
        swappiness: z.number().int().min(0).optional(),
        disableOOMKiller: z.boolean().optional(),
      })
      .strict()
      .optional(),
    cpu: z
      .object({
        shares: z.number().int().min(0).optional(),
        quota: z.number().int().optional(),
        period: z.number().int().min(0).optional(),
        realtimeRuntime: z.number().int().optional(),
        realtimePeriod: z.number().int().min(0).optional(),
        cpus: z.string().optional(),
        mems: z.string().optional(),
      })
      .strict()
      .optional(),
    pids: z.object({ limit: z.number().int().optional() }).strict().optional(),
    blockio: z
      .object({
        weight: z.number().int().min(0).optional(),
        leafWeight: z.number().int().min(0).optional(),
        weightDevice: z.array(weightDeviceSchema).optional(),
        throttleReadBpsDevice: z.array(throttleDeviceSchema).optional(),
        throttleWriteBpsDevice: z.array(throttleDeviceSchema).optional(),
        throttleReadIOPSDevice: z.array(throttleDeviceSchema).optional(),
        throttleWriteIOPSDevice: z.array(throttleDeviceSchema).optional(),
      })
      .strict()
      .optional(),
    hugepageLimits: z
      .array(
        z
          .object({ pageSize: z.union([z.string(), z.number().int()]), limit: z.number().int().min(0) })
          .strict(),
      )
      .optional(),
    network: z
      .object({
        classID: z.number().int().min(0).optional(),
        priorities: z
          .array(z.object({ name: z.string(), priority: z.number().int().min(0) }).strict())
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .describe("OCI LinuxResources for the container's cgroup.");

export const interfaceSchema = z
  .object({
    name: z.string().optional(),
    add: z.string().optional().describe("Link type to create, e.g. veth or wireguard."),
    peer: z.string().optional().describe("Peer name; implies a veth pair."),
    createInRoot: z.boolean().optional(),
  })
  .strict();

export const runtimeSchema = z
  .object({
    cgroups: stringList.optional().describe("cgroups to create before the container starts."),
    mounts: z
      .array(mountSchema)
      .optional()
      .describe("Mounts made in the root mount namespace before create."),
    mkdir: stringList.optional().describe("Directories to create after the mounts."),
    interfaces: z.array(interfaceSchema).optional(),
    bindNS: z
      .object({
        cgroup: z.string().optional(),
        ipc: z.string().optional(),
        mnt: z.string().optional(),
        net: z.string().optional(),
        pid: z.string().optional(),
        user: z.string().optional(),
        uts: z.string().optional(),
      })
      .strict()
      .optional()
      .describe("Bind-mount the container's namespace files to these paths."),
    namespace: z
      .string()
      .optional()
      .describe("containerd namespace for a service (default services.linuxkit)."),
  })
  .strict()
  .describe("LinuxKit's runtime.json: set-up done by init outside the OCI spec.");

/** Fields shared by YAML containers and the `org.mobyproject.config` label. */
export const imageConfigShape = {
  capabilities: stringList
    .optional()
    .describe("Capabilities; `all` or `none` allowed. Replaces the label's."),
  "capabilities.add": stringList.optional().describe("Capabilities added to the label's."),
  ambient: stringList.optional().describe("Ambient capabilities; `all` or `none` allowed."),
  mounts: z.array(mountSchema).optional(),
  binds: stringList.optional().describe("Bind mounts `src:dst[:opts]`. Replaces the label's."),
  "binds.add": stringList.optional().describe("Bind mounts added to the label's."),
  tmpfs: stringList.optional().describe("tmpfs mounts `/dst[:opts]`."),
  command: stringList.optional().describe("Replaces the image's Entrypoint and Cmd together."),
  env: stringList.optional().describe("Replaces the whole image environment, PATH included."),
  cwd: z.string().optional(),
  net: z.string().optional().describe("host (default), new/none, or a namespace path."),
  pid: z.string().optional().describe("new (default), host, or a namespace path."),
  ipc: z.string().optional().describe("host (default), new, or a namespace path."),
  uts: z.string().optional().describe("host (default), new, or a namespace path."),
  userns: z.string().optional().describe("host (default), new, or a namespace path. Experimental."),
  hostname: z.string().optional(),
  readonly: z.boolean().optional(),
  maskedPaths: stringList.optional(),
  readonlyPaths: stringList.optional(),
  uid: idValue.optional(),
  gid: idValue.optional(),
  additionalGids: z.array(idValue).optional(),
  noNewPrivileges: z.boolean().optional(),
  oomScoreAdj: z.number().int().min(-1000).max(1000).optional(),
  rootfsPropagation: z.string().optional().describe("shared, slave or private."),
  cgroupsPath: z.string().optional(),
  resources: resourcesSchema.optional(),
  sysctl: z.record(z.string(), z.string()).optional(),
  rlimits: stringList.optional().describe("`name,soft,hard`, e.g. `nofile,1024,4096`; `unlimited` allowed."),
  uidMappings: z.array(idMappingSchema).optional(),
  gidMappings: z.array(idMappingSchema).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  runtime: runtimeSchema.optional(),
  devices: z.array(deviceSchema).optional(),
} as const;

export const imageSchema = z
  .object({
    name: z.string().min(1).describe("Container name: bundle directory, containerd id, and uid/gid name."),
    image: z.string().min(1).describe("OCI image reference."),
    ...imageConfigShape,
  })
  .strict();

/** The `org.mobyproject.config` label: the same fields without name and image. */
export const labelSchema = z.object(imageConfigShape).strict();

export const kernelSchema = z
  .object({
    image: z.string().min(1).describe("Kernel image reference."),
    cmdline: z.string().optional().describe("Kernel command line, written verbatim to boot/cmdline."),
    binary: z.string().optional().describe("Kernel file in the image (default `kernel`)."),
    tar: z
      .string()
      .optional()
      .describe("Modules tarball in the image (default `kernel.tar`; `none` for none)."),
    ucode: z.string().optional().describe("CPU microcode cpio in the image, prepended to the initrd."),
  })
  .strict();

export const fileSchema = z
  .object({
    path: z.string().min(1),
    directory: z.boolean().optional(),
    symlink: z.string().optional(),
    contents: z.string().optional(),
    source: z
      .string()
      .optional()
      .describe("A host file read at build time; `~/` expands to the home directory."),
    metadata: z.enum(["yaml", "json"]).optional().describe("Write the resolved config in this format."),
    optional: z.boolean().optional().describe("Skip the entry when `source` cannot be read."),
    mode: z.string().optional().describe("Octal mode string (default 0600, 0700 for directories)."),
    uid: idValue.optional(),
    gid: idValue.optional(),
  })
  .strict();

export const volumeSchema = z
  .object({
    name: z.string().min(1),
    image: z.string().optional(),
    readonly: z.boolean().optional(),
    format: z.enum(["filesystem", "oci"]).optional(),
    platforms: stringList.optional(),
  })
  .strict();

export const trustSchema = z.object({ image: stringList.optional(), org: stringList.optional() }).strict();

/** The 2017 moby-tool `outputs:` key, accepted for old YAMLs such as the seed post's minio.yml. */
export const legacyOutputSchema = z
  .object({
    format: z.string(),
    project: z.string().optional(),
    bucket: z.string().optional(),
    family: z.string().optional(),
    public: z.boolean().optional(),
    replace: z.boolean().optional(),
    keys: z.string().optional(),
  })
  .strict();

export const configSchema = z
  .object({
    kernel: kernelSchema.optional(),
    init: stringList.optional().describe("Images unpacked into / in order."),
    onboot: z.array(imageSchema).optional().describe("Containers run in order at boot, each to completion."),
    onshutdown: z.array(imageSchema).optional().describe("Containers run in order at clean shutdown."),
    services: z.array(imageSchema).optional().describe("Long-running containers."),
    files: z.array(fileSchema).optional(),
    volumes: z.array(volumeSchema).optional(),
    trust: trustSchema
      .optional()
      .describe("Accepted for compatibility and ignored (LinuxKit removed it in 2021)."),
    outputs: z
      .array(legacyOutputSchema)
      .optional()
      .describe("Deprecated 2017 form; use `kiln build --format`."),
  })
  .strict()
  .describe("A LinuxKit appliance definition, as read by kiln.");

export type ImageConfigFields = z.infer<typeof labelSchema>;
export type ImageEntry = z.infer<typeof imageSchema>;
export type KernelEntry = z.infer<typeof kernelSchema>;
export type FileEntry = z.infer<typeof fileSchema>;
export type VolumeEntry = z.infer<typeof volumeSchema>;
export type MountEntry = z.infer<typeof mountSchema>;
export type DeviceEntry = z.infer<typeof deviceSchema>;
export type RuntimeEntry = z.infer<typeof runtimeSchema>;
export type ResourcesEntry = z.infer<typeof resourcesSchema>;
export type RawConfig = z.infer<typeof configSchema>;
