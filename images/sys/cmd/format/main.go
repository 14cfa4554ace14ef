// Command format gives a blank disk one Linux partition with a filesystem, as LinuxKit's format
// package does. It never touches a disk that has a partition table or any filesystem signature
// (unless -force names that disk). Flags: -type ext4 -label L -partition dos|gpt -force -verbose [DEVICE].
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"kiln.local/sys/internal/disk"
	"kiln.local/sys/internal/sysx"
)

var (
	fsType   = flag.String("type", "ext4", "filesystem to create: ext4 (btrfs and xfs if their mkfs is in the image)")
	label    = flag.String("label", "", "filesystem label")
	partType = flag.String("partition", "dos", "partition table: dos or gpt")
	force    = flag.Bool("force", false, "format the named DEVICE even if it holds data (never without a DEVICE)")
	verbose  = flag.Bool("verbose", false, "say what is considered and why")
)

// Disks LinuxKit's format never picks by itself: loop and nbd devices, CD-ROMs, RAM disks and
// names ending in a digit (partitions such as sda1, and sr0).
var ignored = regexp.MustCompile(`^loop|^nbd|^sr|^ram|^[a-z]+[0-9]+$`)

func logf(format string, args ...any) { fmt.Fprintf(os.Stderr, "format: "+format+"\n", args...) }

func fatalf(format string, args ...any) {
	logf(format, args...)
	os.Exit(1)
}

func main() {
	flag.Parse()
	if os.Getenv("PATH") == "" {
		// A container whose YAML sets env: loses the image's PATH (LinuxKit semantics).
		os.Setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
	}
	if flag.NArg() > 1 {
		fatalf("too many arguments: give at most one DEVICE")
	}
	if *partType != "dos" && *partType != "gpt" {
		fatalf("-partition %q: use dos or gpt", *partType)
	}
	if _, err := exec.LookPath(mkfsName(*fsType)); err != nil {
		fatalf("-type %s: %s is not in this image", *fsType, mkfsName(*fsType))
	}
	if flag.NArg() == 1 {
		dev := flag.Arg(0)
		if !sysx.IsBlockDevice(dev) {
			fatalf("%s is not a block device", dev)
		}
		c, err := probe(dev)
		if err != nil {
			fatalf("%s: %v", dev, err)
		}
		if !c.Blank() && !*force {
			logf("%s holds %s: leaving it alone (add -force to erase it)", dev, c.Describe())
			return
		}
		if err := format(dev); err != nil {
			fatalf("%v", err)
		}
		return
	}
	if *force {
		fatalf("-force needs a DEVICE: it never applies to a disk picked automatically")
	}
	for _, dev := range candidates() {
		c, err := probe(dev)
		if err != nil {
			logf("%s: %v", dev, err)
			continue
		}
		if !c.Blank() {
			logf("%s holds %s: skipping it", dev, c.Describe())
			continue
		}
		if err := format(dev); err != nil {
			fatalf("%v", err)
		}
		return
	}
	logf("no blank disk found: nothing to format")
}

func mkfsName(t string) string { return "mkfs." + t }

func candidates() []string {
	entries, _ := os.ReadDir("/dev")
	var out []string
	for _, e := range entries {
		p := filepath.Join("/dev", e.Name())
		if ignored.MatchString(e.Name()) || !sysx.IsBlockDevice(p) {
			if *verbose {
				logf("not considering %s", p)
			}
			continue
		}
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func probe(dev string) (disk.Content, error) {
	f, err := os.Open(dev)
	if err != nil {
		return disk.Content{}, err
	}
	defer f.Close()
	size, sector, err := sysx.BlockSize(f)
	if err != nil {
		return disk.Content{}, err
	}
	if *verbose {
		logf("%s: %d bytes, %d-byte sectors", dev, size, sector)
	}
	return disk.Probe(f, size, sector)
}

func format(dev string) error {
	f, err := os.OpenFile(dev, os.O_RDWR|os.O_EXCL, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", dev, err)
	}
	size, sector, err := sysx.BlockSize(f)
	if err != nil {
		f.Close()
		return err
	}
	if *force {
		// Old signatures inside the new partition's area would confuse mkfs and blkid.
		zero := make([]byte, 1<<20)
		_, _ = f.WriteAt(zero, 0)
		_, _ = f.WriteAt(zero, 1<<20)
		if size > 2<<20 {
			_, _ = f.WriteAt(zero, size-(1<<20))
		}
	}
	logf("creating a %s partition table on %s", *partType, dev)
	part, err := disk.WriteTable(f, size, sector, *partType)
	if err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", dev, err)
	}
	// The old first MiB of the partition may hold an old filesystem's signature.
	_, _ = f.WriteAt(make([]byte, 1<<20), int64(part.StartLBA)*int64(sector))
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := sysx.RereadPartitions(f); err != nil {
		f.Close()
		return fmt.Errorf("re-read the partition table of %s: %w", dev, err)
	}
	f.Close()
	node := disk.PartitionDevice(dev, part.Number)
	if err := waitForDevice(node, 10*time.Second); err != nil {
		return err
	}
	args := []string{"-F"}
	if *fsType == "ext4" {
		args = append(args, "-q")
	} else {
		args = []string{"-f"}
	}
	if *label != "" {
		args = append(args, "-L", *label)
	}
	args = append(args, node)
	logf("making a %s filesystem on %s", *fsType, node)
	cmd := exec.Command(mkfsName(*fsType), args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %v: %w", mkfsName(*fsType), args, err)
	}
	logf("%s is ready", node)
	return nil
}

// waitForDevice waits for the kernel's devtmpfs to show the new partition.
func waitForDevice(node string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for !sysx.IsBlockDevice(node) {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not appear after re-reading the partition table", node)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}
