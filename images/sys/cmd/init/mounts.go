package main

import (
	"os"
	"syscall"
)

const (
	nodev    = syscall.MS_NODEV
	noexec   = syscall.MS_NOEXEC
	nosuid   = syscall.MS_NOSUID
	relatime = syscall.MS_RELATIME
)

type fsMount struct {
	source, target, fstype string
	flags                  uintptr
	data                   string
	optional               bool
}

// The filesystems every appliance gets, in order (LinuxKit's rc.init set, cgroup v2 only).
var earlyMounts = []fsMount{
	{"proc", "/proc", "proc", nodev | nosuid | noexec | relatime, "", false},
	{"dev", "/dev", "devtmpfs", nosuid | noexec | relatime, "size=10m,mode=755", false},
	{"sysfs", "/sys", "sysfs", noexec | nosuid | nodev, "", false},
	{"tmpfs", "/run", "tmpfs", nodev | nosuid | noexec | relatime, "size=10%,mode=755", false},
	{"tmpfs", "/tmp", "tmpfs", nodev | nosuid | noexec | relatime, "size=10%,mode=1777", false},
	// /var is RAM until a disk is mounted under it (format + mount onboot containers).
	{"tmpfs", "/var", "tmpfs", nodev | nosuid | noexec | relatime, "size=50%,mode=755", false},
}

var devMounts = []fsMount{
	{"mqueue", "/dev/mqueue", "mqueue", noexec | nosuid | nodev, "", false},
	{"shm", "/dev/shm", "tmpfs", noexec | nosuid | nodev, "mode=1777", false},
	{"devpts", "/dev/pts", "devpts", noexec | nosuid, "gid=5,mode=0620,ptmxmode=0666", false},
}

var sysMounts = []fsMount{
	{"cgroup2", "/sys/fs/cgroup", "cgroup2", noexec | nosuid | nodev, "", false},
	{"securityfs", "/sys/kernel/security", "securityfs", noexec | nosuid | nodev, "", true},
	{"debugfs", "/sys/kernel/debug", "debugfs", noexec | nosuid | nodev, "", true},
	{"configfs", "/sys/kernel/config", "configfs", noexec | nosuid | nodev, "", true},
	{"fusectl", "/sys/fs/fuse/connections", "fusectl", noexec | nosuid | nodev, "", true},
	{"pstore", "/sys/fs/pstore", "pstore", noexec | nosuid | nodev, "", true},
	{"bpffs", "/sys/fs/bpf", "bpf", nodev, "", true},
	{"efivarfs", "/sys/firmware/efi/efivars", "efivarfs", noexec | nosuid | nodev, "", true},
}

func (m fsMount) do() {
	if err := syscall.Mount(m.source, m.target, m.fstype, m.flags, m.data); err != nil && !m.optional {
		say("mount %s on %s failed: %v", m.fstype, m.target, err)
	}
}

func mountFilesystems() {
	// Mount points must exist before the root goes read-only; on a read-only ISO root they already do.
	for _, d := range []string{"/proc", "/sys", "/dev", "/run", "/tmp", "/var", "/mnt"} {
		_ = os.Mkdir(d, 0o755)
	}
	for _, m := range earlyMounts {
		m.do()
	}
	for _, d := range []string{"/var/cache", "/var/lib", "/var/local", "/var/lock", "/var/log", "/var/opt", "/var/spool"} {
		_ = os.Mkdir(d, 0o755)
	}
	_ = os.Mkdir("/var/empty", 0o555)
	_ = os.Mkdir("/var/tmp", 0o1777)
	_ = syscall.Chmod("/var/tmp", 0o1777)
	_ = os.Symlink("/run", "/var/run")

	for _, n := range []struct {
		path         string
		mode         uint32
		major, minor uint32
	}{{"/dev/console", 0o600, 5, 1}, {"/dev/tty1", 0o620, 4, 1}, {"/dev/tty", 0o666, 5, 0}, {"/dev/null", 0o666, 1, 3}, {"/dev/kmsg", 0o660, 1, 11}} {
		_ = syscall.Mknod(n.path, syscall.S_IFCHR|n.mode, int(n.major<<8|n.minor))
	}
	for link, target := range map[string]string{
		"/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0", "/dev/stdout": "/proc/self/fd/1",
		"/dev/stderr": "/proc/self/fd/2", "/dev/kcore": "/proc/kcore",
	} {
		_ = os.Symlink(target, link)
	}
	for _, d := range []string{"/dev/mqueue", "/dev/shm"} {
		_ = os.Mkdir(d, 0o1777)
	}
	_ = os.Mkdir("/dev/pts", 0o755)
	for _, m := range devMounts {
		m.do()
	}
	for _, m := range sysMounts {
		m.do()
	}
	_ = syscall.Mount("binfmt_misc", "/proc/sys/fs/binfmt_misc", "binfmt_misc", noexec|nosuid|nodev, "")

	// A read-only root, as LinuxKit has: the bundles' overlays write to their own tmpfs.
	if err := syscall.Mount("", "/", "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		say("remounting / read-only failed: %v", err)
	}
	// Shared, so mounts made inside containers (mount's /var binds) reach the host and the services.
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_SHARED, ""); err != nil {
		say("making / shared failed: %v", err)
	}
}
