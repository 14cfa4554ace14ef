// Package bundle prepares a LinuxKit-layout bundle for runc in the host's namespaces, as its
// runtime.json asks: mounts, directories and cgroups before `runc create`, namespace binds after.
package bundle

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"kiln.local/sys/internal/runtimecfg"
	"kiln.local/sys/internal/sysx"
)

// Prepared is what Prepare did, so that Release can undo it.
type Prepared struct {
	mounted []string
}

// Prepare does runtime.json's mounts (making each destination, and an overlay's upper and work
// directories, first), then its mkdirs, then its cgroups. On error it undoes its own mounts.
func Prepare(dir string, rt runtimecfg.Runtime) (*Prepared, error) {
	p := &Prepared{}
	for _, m := range rt.Mounts {
		target := runtimecfg.Resolve(dir, m.Destination)
		if err := os.MkdirAll(target, 0o755); err != nil {
			p.Release()
			return nil, fmt.Errorf("create mount point %s: %w", target, err)
		}
		if m.Type == "overlay" {
			for _, d := range runtimecfg.OverlayDirs(m.Options) {
				if err := os.MkdirAll(d, 0o755); err != nil {
					p.Release()
					return nil, fmt.Errorf("create overlay directory %s: %w", d, err)
				}
			}
		}
		if err := sysx.Mount(m.Source, target, m.Type, m.Options); err != nil {
			p.Release()
			return nil, err
		}
		if flags, _ := runtimecfg.MountOptions(m.Options); runtimecfg.CreatesMount(flags) {
			p.mounted = append(p.mounted, target)
		}
	}
	for _, d := range rt.Mkdir {
		d = runtimecfg.Resolve(dir, d)
		if err := os.MkdirAll(d, 0o755); err != nil {
			p.Release()
			return nil, fmt.Errorf("create directory %s: %w", d, err)
		}
	}
	for _, cg := range rt.Cgroups {
		// cgroup v2: a cgroup is a directory. Limits are set by the container's own config.
		path := filepath.Join("/sys/fs/cgroup", cg)
		if err := os.MkdirAll(path, 0o755); err != nil {
			p.Release()
			return nil, fmt.Errorf("create cgroup %s: %w", cg, err)
		}
	}
	if len(rt.Interfaces) > 0 {
		p.Release()
		return nil, errors.New("runtime.interfaces is not supported by kiln's init (create the interface in the container, or use net: host)")
	}
	return p, nil
}

// Release unmounts what Prepare mounted, newest first; a busy mount is detached lazily.
func (p *Prepared) Release() {
	if p == nil {
		return
	}
	for i := len(p.mounted) - 1; i >= 0; i-- {
		if err := syscall.Unmount(p.mounted[i], 0); err != nil {
			_ = syscall.Unmount(p.mounted[i], syscall.MNT_DETACH)
		}
	}
	p.mounted = nil
}

// BindNamespaces bind-mounts /proc/PID/ns/KIND at each path runtime.json's bindNS names, creating
// the file to mount over. Tools such as `ip netns` find a namespace this way after its process ends.
func BindNamespaces(pid int, ns runtimecfg.Namespaces) error {
	for _, b := range ns.Binds() {
		if err := os.MkdirAll(filepath.Dir(b.Path), 0o755); err != nil {
			return fmt.Errorf("bind %s namespace: %w", b.Kind, err)
		}
		f, err := os.OpenFile(b.Path, os.O_CREATE|os.O_RDONLY, 0o644)
		if err != nil {
			return fmt.Errorf("bind %s namespace: %w", b.Kind, err)
		}
		f.Close()
		src := fmt.Sprintf("/proc/%d/ns/%s", pid, b.Kind)
		if err := syscall.Mount(src, b.Path, "", syscall.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s at %s: %w", src, b.Path, err)
		}
	}
	return nil
}
