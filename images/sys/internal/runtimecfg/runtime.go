// Package runtimecfg reads the runtime.json that kiln (and LinuxKit) write next to each bundle's
// config.json: the work init does in the host's namespaces before and after `runc create`.
package runtimecfg

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Mount is one entry of runtime.json's mounts, in OCI mount form.
type Mount struct {
	Destination string   `json:"destination"`
	Type        string   `json:"type,omitempty"`
	Source      string   `json:"source,omitempty"`
	Options     []string `json:"options,omitempty"`
}

// Interface asks init to create or move a network interface into the container's namespace.
type Interface struct {
	Name         string `json:"name,omitempty"`
	Add          string `json:"add,omitempty"`
	Peer         string `json:"peer,omitempty"`
	CreateInRoot bool   `json:"createInRoot"`
}

// Namespaces names the paths where the new container's namespaces are bind-mounted.
type Namespaces struct {
	Cgroup string `json:"cgroup,omitempty"`
	Ipc    string `json:"ipc,omitempty"`
	Mnt    string `json:"mnt,omitempty"`
	Net    string `json:"net,omitempty"`
	Pid    string `json:"pid,omitempty"`
	User   string `json:"user,omitempty"`
	Uts    string `json:"uts,omitempty"`
}

// Runtime is the whole of runtime.json.
type Runtime struct {
	Cgroups    []string    `json:"cgroups,omitempty"`
	Mounts     []Mount     `json:"mounts,omitempty"`
	Mkdir      []string    `json:"mkdir,omitempty"`
	Interfaces []Interface `json:"interfaces,omitempty"`
	BindNS     Namespaces  `json:"bindNS"`
	Namespace  string      `json:"namespace,omitempty"`
}

// Parse decodes runtime.json bytes. Unknown keys are ignored, as LinuxKit's init does.
func Parse(data []byte) (Runtime, error) {
	var r Runtime
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("runtime.json: %w", err)
	}
	return r, nil
}

// Load reads DIR/runtime.json; a bundle without one needs no preparation.
func Load(dir string) (Runtime, error) {
	data, err := os.ReadFile(filepath.Join(dir, "runtime.json"))
	if os.IsNotExist(err) {
		return Runtime{}, nil
	}
	if err != nil {
		return Runtime{}, err
	}
	return Parse(data)
}

// NamespaceBind is one namespace file to bind and where.
type NamespaceBind struct{ Kind, Path string }

// Binds lists the requested namespace binds in a fixed order, skipping empty paths.
func (n Namespaces) Binds() []NamespaceBind {
	all := []NamespaceBind{
		{"cgroup", n.Cgroup}, {"ipc", n.Ipc}, {"mnt", n.Mnt}, {"net", n.Net},
		{"pid", n.Pid}, {"user", n.User}, {"uts", n.Uts},
	}
	out := all[:0]
	for _, b := range all {
		if b.Path != "" {
			out = append(out, b)
		}
	}
	return out
}

type flagEffect struct {
	clear bool
	flag  uintptr
}

// The fstab words mount(8) turns into mount(2) flags; anything else is filesystem data.
var mountFlags = map[string]flagEffect{
	"async":         {true, syscall.MS_SYNCHRONOUS},
	"atime":         {true, syscall.MS_NOATIME},
	"bind":          {false, syscall.MS_BIND},
	"defaults":      {false, 0},
	"dev":           {true, syscall.MS_NODEV},
	"diratime":      {true, syscall.MS_NODIRATIME},
	"dirsync":       {false, syscall.MS_DIRSYNC},
	"exec":          {true, syscall.MS_NOEXEC},
	"mand":          {false, syscall.MS_MANDLOCK},
	"noatime":       {false, syscall.MS_NOATIME},
	"nodev":         {false, syscall.MS_NODEV},
	"nodiratime":    {false, syscall.MS_NODIRATIME},
	"noexec":        {false, syscall.MS_NOEXEC},
	"nomand":        {true, syscall.MS_MANDLOCK},
	"norelatime":    {true, syscall.MS_RELATIME},
	"nostrictatime": {true, syscall.MS_STRICTATIME},
	"nosuid":        {false, syscall.MS_NOSUID},
	"private":       {false, syscall.MS_PRIVATE},
	"rbind":         {false, syscall.MS_BIND | syscall.MS_REC},
	"relatime":      {false, syscall.MS_RELATIME},
	"remount":       {false, syscall.MS_REMOUNT},
	"ro":            {false, syscall.MS_RDONLY},
	"rw":            {true, syscall.MS_RDONLY},
	"shared":        {false, syscall.MS_SHARED},
	"slave":         {false, syscall.MS_SLAVE},
	"strictatime":   {false, syscall.MS_STRICTATIME},
	"suid":          {true, syscall.MS_NOSUID},
	"sync":          {false, syscall.MS_SYNCHRONOUS},
	"unbindable":    {false, syscall.MS_UNBINDABLE},
	"rprivate":      {false, syscall.MS_PRIVATE | syscall.MS_REC},
	"rshared":       {false, syscall.MS_SHARED | syscall.MS_REC},
	"rslave":        {false, syscall.MS_SLAVE | syscall.MS_REC},
	"runbindable":   {false, syscall.MS_UNBINDABLE | syscall.MS_REC},
}

// MountOptions turns fstab-style options into mount(2) flags and the data string, in order:
// a later word wins over an earlier one ("ro,rw" is read-write).
func MountOptions(options []string) (uintptr, string) {
	var flags uintptr
	var data []string
	for _, o := range options {
		if f, ok := mountFlags[o]; ok && f.flag != 0 {
			if f.clear {
				flags &^= f.flag
			} else {
				flags |= f.flag
			}
			continue
		}
		if _, ok := mountFlags[o]; ok || o == "" {
			continue
		}
		data = append(data, o)
	}
	return flags, strings.Join(data, ",")
}

// PropagationFlags are the flags that change a mount's propagation rather than mounting anything.
const PropagationFlags = syscall.MS_SHARED | syscall.MS_PRIVATE | syscall.MS_SLAVE | syscall.MS_UNBINDABLE

// CreatesMount says whether mount(2) with these flags attaches a new mount (one to undo later),
// rather than changing an existing mount's flags or propagation.
func CreatesMount(flags uintptr) bool {
	if flags&syscall.MS_REMOUNT != 0 {
		return false
	}
	if flags&syscall.MS_BIND != 0 {
		return true
	}
	return flags&PropagationFlags == 0
}

// OverlayDirs returns the upperdir and workdir an overlay mount's options name, which must exist first.
func OverlayDirs(options []string) []string {
	var dirs []string
	for _, o := range options {
		k, v, ok := strings.Cut(o, "=")
		if ok && (k == "upperdir" || k == "workdir") {
			dirs = append(dirs, v)
		}
	}
	return dirs
}

// Resolve makes a runtime.json path absolute: relative paths are relative to the bundle's rootfs.
func Resolve(bundle, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(bundle, "rootfs", p)
}
