export {
  ACCEL_CHOICES,
  type Accel,
  type AccelDecision,
  type AccelRequest,
  decideAccel,
  type GuestArch,
  type HostFacts,
  probeHostFacts,
} from "./accel.js";
export {
  type Boot,
  type BootKind,
  type DetectBootOptions,
  detectBoot,
  type FirmwareRequest,
} from "./boot.js";
export { type DiskFormat, type DiskInterface, type DiskSpec, parseDiskSpec } from "./disk-spec.js";
export { type PreparedDisk, prepareDisks } from "./disks.js";
export { type IsoBoot, readIsoBoot } from "./el-torito.js";
export { FileTail } from "./file-tail.js";
export { FIRMWARE_CANDIDATES, findUefiFirmware, type UefiFirmware } from "./firmware.js";
export { detectImageFormat } from "./image-format.js";
export {
  checkVmName,
  defaultVmName,
  findVm,
  listVms,
  type ManagedVm,
  registerVm,
  vmsDir,
} from "./managed.js";
export { type StopResult, stopManagedVm } from "./managed-stop.js";
export { createMetadataIso, METADATA_FILE, METADATA_VOLUME_ID } from "./metadata-cd.js";
export { type NetworkMode, parseNetworking } from "./networking.js";
export { type DiskBoot, readDiskBoot, readRawDiskBoot } from "./partition-table.js";
export { freePort, probeTcp } from "./ports.js";
export { type PortSpec, type Protocol, parsePublish } from "./publish.js";
export { buildQemuArgs, type GuestForward, type QemuPlan } from "./qemu-args.js";
export { QmpClient, QmpError, type QmpEvent } from "./qmp.js";
export { escapeCommand, shellQuote } from "./shell-quote.js";
export { formatSize, type ParsedSize, parseSize } from "./size.js";
export { type StartVmOptions, startVm } from "./start-vm.js";
export { isVmProcess, type StatePaths, statePaths, type VmInfo } from "./state-dir.js";
export { type ExitReason, type PublishedPort, Vm, type VmExit, type VmTimings } from "./vm.js";
export { VmError, type VmErrorDetails } from "./vm-error.js";
