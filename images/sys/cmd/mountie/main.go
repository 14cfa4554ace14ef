// Command mountie mounts a disk partition under /var, as LinuxKit's mount package does:
// mountie [-label L | -uuid U | -device D] MOUNTPOINT. Without a selector it takes the first Linux
// partition (MBR type 83 or the GPT Linux filesystem type) that is not mounted yet.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"

	"kiln.local/sys/internal/disk"
	"kiln.local/sys/internal/sysx"
)

var (
	device  = flag.String("device", "", "the partition to mount")
	labelF  = flag.String("label", "", "mount the partition whose filesystem has this label")
	uuidF   = flag.String("uuid", "", "mount the partition whose filesystem has this UUID")
	ignored = regexp.MustCompile(`^loop|^nbd|^sr|^ram|^[a-z]+[0-9]+$`)
)

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "mountie: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	flag.Parse()
	var mountpoint string
	switch flag.NArg() {
	case 1:
		mountpoint = flag.Arg(0)
	case 2: // LinuxKit's older form: mountie DEVICE MOUNTPOINT
		*device, mountpoint = flag.Arg(0), flag.Arg(1)
	default:
		fatalf("usage: mountie [-label L|-uuid U|-device D] MOUNTPOINT")
	}
	mountpoint = filepath.Clean(mountpoint)
	if !strings.HasPrefix(mountpoint, "/var/") {
		fatalf("%s is not under /var: only mounts under /var reach the host and the other containers", mountpoint)
	}
	dev, err := pick()
	if err != nil {
		fatalf("%v", err)
	}
	if err := os.MkdirAll(mountpoint, 0o755); err != nil {
		fatalf("create %s: %v", mountpoint, err)
	}
	fstype, err := fsType(dev)
	if err != nil {
		fatalf("%s: %v", dev, err)
	}
	if err := syscall.Mount(dev, mountpoint, fstype, 0, ""); err != nil {
		fatalf("mount %s (%s) on %s: %v", dev, fstype, mountpoint, err)
	}
	fmt.Fprintf(os.Stderr, "mountie: mounted %s (%s) on %s\n", dev, fstype, mountpoint)
}

func pick() (string, error) {
	switch {
	case *device != "":
		if !sysx.IsBlockDevice(*device) {
			return "", fmt.Errorf("%s is not a block device", *device)
		}
		return *device, nil
	case *labelF != "" || *uuidF != "":
		return findByFilesystem(*labelF, *uuidF)
	default:
		return firstUnmountedLinuxPartition()
	}
}

func openProbe(dev string) (disk.Content, error) {
	f, err := os.Open(dev)
	if err != nil {
		return disk.Content{}, err
	}
	defer f.Close()
	size, sector, err := sysx.BlockSize(f)
	if err != nil {
		return disk.Content{}, err
	}
	return disk.Probe(f, size, sector)
}

func fsType(dev string) (string, error) {
	c, err := openProbe(dev)
	if err != nil {
		return "", err
	}
	switch c.Filesystem {
	case "":
		return "", errors.New("no filesystem found on it")
	case "ext2", "ext3":
		return "ext4", nil // the ext4 driver mounts them all
	case "swap", "LVM2_member", "crypto_LUKS":
		return "", fmt.Errorf("it holds %s, which cannot be mounted", c.Filesystem)
	default:
		return c.Filesystem, nil
	}
}

func findByFilesystem(label, uuid string) (string, error) {
	entries, _ := os.ReadDir("/sys/class/block")
	for _, e := range entries {
		dev := filepath.Join("/dev", e.Name())
		if !sysx.IsBlockDevice(dev) {
			continue
		}
		c, err := openProbe(dev)
		if err != nil || c.Filesystem == "" {
			continue
		}
		if (label != "" && c.Label == label) || (uuid != "" && strings.EqualFold(c.UUID, uuid)) {
			return dev, nil
		}
	}
	if label != "" {
		return "", fmt.Errorf("no filesystem labelled %q", label)
	}
	return "", fmt.Errorf("no filesystem with UUID %s", uuid)
}

func mountedDevices() map[[2]int]bool {
	mounts, _ := sysx.Mounts()
	out := map[[2]int]bool{}
	for _, m := range mounts {
		out[[2]int{m.Major, m.Minor}] = true
	}
	return out
}

func devNumber(dev string) ([2]int, bool) {
	var st syscall.Stat_t
	if syscall.Stat(dev, &st) != nil {
		return [2]int{}, false
	}
	rdev := uint64(st.Rdev)
	major := int((rdev>>8)&0xfff | (rdev>>32)&^0xfff)
	minor := int(rdev&0xff | (rdev>>12)&^0xff)
	return [2]int{major, minor}, true
}

func firstUnmountedLinuxPartition() (string, error) {
	entries, _ := os.ReadDir("/dev")
	var disks []string
	for _, e := range entries {
		p := filepath.Join("/dev", e.Name())
		if !ignored.MatchString(e.Name()) && sysx.IsBlockDevice(p) {
			disks = append(disks, p)
		}
	}
	sort.Strings(disks)
	mounted := mountedDevices()
	for _, d := range disks {
		f, err := os.Open(d)
		if err != nil {
			continue
		}
		size, sector, err := sysx.BlockSize(f)
		if err != nil {
			f.Close()
			continue
		}
		_, parts, err := disk.Partitions(f, size, sector)
		f.Close()
		if err != nil {
			continue
		}
		for _, p := range parts {
			if !p.IsLinux() {
				continue
			}
			node := disk.PartitionDevice(d, p.Number)
			if num, ok := devNumber(node); ok && mounted[num] {
				fmt.Fprintf(os.Stderr, "mountie: %s is already mounted, skipping it\n", node)
				continue
			}
			if !sysx.IsBlockDevice(node) {
				continue
			}
			return node, nil
		}
	}
	return "", errors.New("no unmounted Linux partition found (is there a disk, and did format run?)")
}
