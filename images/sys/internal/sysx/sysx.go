// Package sysx holds the few Linux calls the standard syscall package lacks, and mount helpers
// shared by init and the disk programs.
package sysx

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"unsafe"

	"kiln.local/sys/internal/runtimecfg"
)

const (
	prSetChildSubreaper = 36
	// MODULE_INIT_COMPRESSED_FILE: the kernel decompresses .ko.xz/.ko.zst/.ko.gz itself.
	moduleInitCompressedFile = 4
	blkRRPart                = 0x125f
	blkGetSize64             = 0x80081272
	blkSSZGet                = 0x1268
)

// SetSubreaper makes orphaned descendants (such as a container's process once `runc create`
// has exited) our children, so we can wait for them.
func SetSubreaper() error {
	_, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// FinitModule loads a kernel module from an open file.
func FinitModule(f *os.File, compressed bool) error {
	var flags uintptr
	if compressed {
		flags = moduleInitCompressedFile
	}
	params := []byte{0}
	_, _, errno := syscall.Syscall(sysFinitModule, f.Fd(), uintptr(unsafe.Pointer(&params[0])), flags)
	if errno != 0 {
		return errno
	}
	return nil
}

func ioctl(fd uintptr, req uintptr, arg uintptr) error {
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, req, arg)
	if errno != 0 {
		return errno
	}
	return nil
}

// RereadPartitions asks the kernel to re-read a disk's partition table (BLKRRPART).
func RereadPartitions(f *os.File) error { return ioctl(f.Fd(), blkRRPart, 0) }

// BlockSize returns a block device's size in bytes and its logical sector size.
func BlockSize(f *os.File) (size int64, sector int, err error) {
	var sz uint64
	if err = ioctl(f.Fd(), blkGetSize64, uintptr(unsafe.Pointer(&sz))); err != nil {
		return 0, 0, err
	}
	var ss int32
	if err = ioctl(f.Fd(), blkSSZGet, uintptr(unsafe.Pointer(&ss))); err != nil {
		return 0, 0, err
	}
	return int64(sz), int(ss), nil
}

// IsBlockDevice says whether path is a block device node.
func IsBlockDevice(path string) bool {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return false
	}
	return st.Mode&syscall.S_IFMT == syscall.S_IFBLK
}

// Mount does what mount(8) does with fstab-style options: mount(2), then the second calls that
// a bind needs for read-only and a mount needs for a propagation change.
func Mount(source, target, fstype string, options []string) error {
	flags, data := runtimecfg.MountOptions(options)
	prop := flags & (runtimecfg.PropagationFlags | syscall.MS_REC)
	isNew := runtimecfg.CreatesMount(flags)
	first := flags
	if isNew && flags&runtimecfg.PropagationFlags != 0 {
		first &^= runtimecfg.PropagationFlags
		if flags&syscall.MS_BIND == 0 {
			first &^= syscall.MS_REC
		}
	}
	if err := syscall.Mount(source, target, fstype, first, data); err != nil {
		return fmt.Errorf("mount %s on %s (%s): %w", orNone(source), target, describe(fstype, options), err)
	}
	if isNew && flags&syscall.MS_BIND != 0 && flags&syscall.MS_RDONLY != 0 {
		if err := syscall.Mount("", target, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY|(flags&(syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC)), ""); err != nil {
			return fmt.Errorf("make bind %s read-only: %w", target, err)
		}
	}
	if isNew && flags&runtimecfg.PropagationFlags != 0 {
		if err := syscall.Mount("", target, "", prop, ""); err != nil {
			return fmt.Errorf("set propagation of %s: %w", target, err)
		}
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func describe(fstype string, options []string) string {
	parts := []string{}
	if fstype != "" {
		parts = append(parts, "type "+fstype)
	}
	if len(options) > 0 {
		parts = append(parts, strings.Join(options, ","))
	}
	if len(parts) == 0 {
		return "no options"
	}
	return strings.Join(parts, ", ")
}

// MountPoint is one line of /proc/self/mountinfo, reduced to what we use.
type MountPoint struct {
	Major, Minor int
	Target       string
	FSType       string
	Source       string
}

// Mounts lists the current mounts in mount order.
func Mounts() ([]MountPoint, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	return ParseMountinfo(string(data)), nil
}

// ParseMountinfo parses /proc/self/mountinfo text.
func ParseMountinfo(text string) []MountPoint {
	var out []MountPoint
	for _, line := range strings.Split(text, "\n") {
		fields := strings.Fields(line)
		if len(fields) < 10 {
			continue
		}
		var mp MountPoint
		fmt.Sscanf(fields[2], "%d:%d", &mp.Major, &mp.Minor)
		mp.Target = unescapeMount(fields[4])
		for i := 6; i < len(fields); i++ {
			if fields[i] == "-" && i+2 < len(fields) {
				mp.FSType = fields[i+1]
				mp.Source = unescapeMount(fields[i+2])
				break
			}
		}
		out = append(out, mp)
	}
	return out
}

// mountinfo escapes space, tab, newline and backslash as octal.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
