// Command metadata finds the appliance's user data and writes it under /run/config, as LinuxKit's
// metadata package does for its CD-ROM and file providers: `metadata [cdrom] [file=PATH]...`
// (no argument means cdrom). Network providers (clouds) are not implemented.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"kiln.local/sys/internal/disk"
	"kiln.local/sys/internal/sysx"
	"kiln.local/sys/internal/userdata"
)

const configDir = "/run/config"

type provider interface {
	String() string
	// Extract returns the user data, or an error saying why there is none.
	Extract() ([]byte, error)
}

func main() {
	args := os.Args[1:]
	if len(args) == 0 {
		args = []string{"cdrom"}
	}
	var providers []provider
	for _, a := range args {
		switch {
		case a == "cdrom":
			for _, dev := range cdromDevices() {
				providers = append(providers, cdrom(dev))
			}
		case strings.HasPrefix(a, "file="):
			providers = append(providers, file(strings.TrimPrefix(a, "file=")))
		case a == "-v":
		default:
			fmt.Fprintf(os.Stderr, "metadata: provider %q is not supported by kiln's metadata (use cdrom or file=PATH)\n", a)
			os.Exit(1)
		}
	}
	if err := os.MkdirAll(configDir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "metadata: %v\n", err)
		os.Exit(1)
	}
	for _, p := range providers {
		data, err := p.Extract()
		if err != nil {
			fmt.Printf("%s: %v\n", p, err)
			continue
		}
		fmt.Printf("%s: found %d bytes of user data\n", p, len(data))
		if err := os.WriteFile(filepath.Join(configDir, "provider"), []byte(p.String()), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "metadata: %v\n", err)
		}
		problems, err := userdata.Write(configDir, data)
		if err != nil {
			fmt.Fprintf(os.Stderr, "metadata: writing %s: %v\n", configDir, err)
			os.Exit(1)
		}
		for _, pr := range problems {
			fmt.Fprintf(os.Stderr, "metadata: %s\n", pr)
		}
		setHostname()
		return
	}
	fmt.Println("metadata: no user data found")
}

func setHostname() {
	data, err := os.ReadFile(filepath.Join(configDir, "hostname"))
	if err != nil {
		return
	}
	name := strings.TrimSpace(string(data))
	if name == "" {
		return
	}
	if err := syscall.Sethostname([]byte(name)); err != nil {
		fmt.Fprintf(os.Stderr, "metadata: set hostname %q: %v\n", name, err)
		return
	}
	fmt.Printf("metadata: hostname set to %s\n", name)
}

type file string

func (f file) String() string { return string(f) }

func (f file) Extract() ([]byte, error) { return os.ReadFile(string(f)) }

type cdrom string

func (c cdrom) String() string { return "CDROM " + string(c) }

// cdromDevices lists the block devices labelled cidata/CIDATA (the cloud-init NoCloud convention,
// which kiln's runner uses for --data) first, then every /dev/sr*.
func cdromDevices() []string {
	var labelled, srs []string
	entries, _ := os.ReadDir("/sys/class/block")
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "loop") || strings.HasPrefix(name, "ram") {
			continue
		}
		dev := filepath.Join("/dev", name)
		if c, err := probe(dev); err == nil && (c.Label == "cidata" || c.Label == "CIDATA") {
			labelled = append(labelled, dev)
		}
	}
	matches, _ := filepath.Glob("/dev/sr[0-9]*")
	srs = append(srs, matches...)
	sort.Strings(labelled)
	sort.Strings(srs)
	seen := map[string]bool{}
	var out []string
	for _, d := range append(labelled, srs...) {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
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
	return disk.Probe(f, size, sector)
}

func (c cdrom) Extract() ([]byte, error) {
	dev := string(c)
	fstype := "iso9660"
	if content, err := probe(dev); err == nil && content.Filesystem == "vfat" {
		fstype = "vfat"
	}
	mnt, err := os.MkdirTemp("", "cd")
	if err != nil {
		return nil, err
	}
	defer os.Remove(mnt)
	if err := syscall.Mount(dev, mnt, fstype, syscall.MS_RDONLY, ""); err != nil {
		if errors.Is(err, syscall.ENOMEDIUM) {
			return nil, errors.New("no disc in the drive")
		}
		return nil, fmt.Errorf("mount %s: %w", fstype, err)
	}
	defer syscall.Unmount(mnt, 0)
	for _, name := range []string{"user-data", "config"} {
		data, err := os.ReadFile(filepath.Join(mnt, name))
		if err == nil && len(data) > 0 {
			if meta, err := os.ReadFile(filepath.Join(mnt, "meta-data")); err == nil {
				_ = os.WriteFile(filepath.Join(configDir, "meta-data"), meta, 0o644)
			}
			return data, nil
		}
	}
	return nil, errors.New("no user-data or config file on it")
}
