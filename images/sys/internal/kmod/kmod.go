// Package kmod loads the kernel modules an appliance's kernel image ships, in dependency order,
// from modules.dep alone (no modprobe, no module tools in the image).
package kmod

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"kiln.local/sys/internal/sysx"
)

// LoadOrder returns every module modules.dep lists, each after the modules it depends on,
// otherwise in file order. Paths are as written in modules.dep (relative to the modules dir).
func LoadOrder(modulesDep io.Reader) ([]string, error) {
	deps := map[string][]string{}
	var order []string
	sc := bufio.NewScanner(modulesDep)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		mod, rest, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("modules.dep: malformed line %q", line)
		}
		mod = strings.TrimSpace(mod)
		if _, seen := deps[mod]; !seen {
			order = append(order, mod)
		}
		deps[mod] = strings.Fields(rest)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	var out []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(m string)
	visit = func(m string) {
		if state[m] != 0 {
			return // done, or a cycle (which depmod would have refused): load as listed
		}
		state[m] = 1
		for _, d := range deps[m] {
			visit(d)
		}
		state[m] = 2
		out = append(out, m)
	}
	for _, m := range order {
		visit(m)
	}
	return out, nil
}

// Failure is one module that did not load.
type Failure struct {
	Module string
	Err    error
}

// LoadAll loads every module under dir (/lib/modules/VERSION) in dependency order. A module that
// is already loaded or built in counts as loaded; one for absent hardware (ENODEV) is skipped. It returns how many it loaded and what failed.
func LoadAll(dir string) (int, []Failure, error) {
	f, err := os.Open(filepath.Join(dir, "modules.dep"))
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	mods, err := LoadOrder(f)
	if err != nil {
		return 0, nil, err
	}
	loaded := 0
	var failed []Failure
	for _, m := range mods {
		path := m
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, m)
		}
		err := loadOne(path)
		switch {
		case err == nil:
			loaded++
		case errors.Is(err, syscall.EEXIST):
		case errors.Is(err, syscall.ENODEV):
			// The module is for hardware this machine lacks (crc32c-intel without SSE4.2).
		default:
			failed = append(failed, Failure{Module: strings.TrimSuffix(filepath.Base(m), ".ko"), Err: err})
		}
	}
	return loaded, failed, nil
}

func loadOne(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	compressed := strings.HasSuffix(path, ".xz") || strings.HasSuffix(path, ".zst") || strings.HasSuffix(path, ".gz")
	return sysx.FinitModule(f, compressed)
}
