// Package userdata writes what a metadata provider found into /run/config, as LinuxKit's metadata
// program does: the raw bytes as "userdata", and a JSON tree of directories and files expanded.
package userdata

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Entry is a file (Content set) or a directory (Entries set) of the JSON form
// {"dir": {"entries": {"file": {"perm": "0600", "content": "..."}}}}.
type Entry struct {
	Perm    string           `json:"perm,omitempty"`
	Content *string          `json:"content,omitempty"`
	Entries map[string]Entry `json:"entries,omitempty"`
}

// Write stores data as base/userdata and, when it is a JSON object of entries, expands it under
// base. It returns the problems met in the tree; none of them stops the others.
func Write(base string, data []byte) ([]string, error) {
	if err := os.MkdirAll(base, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(base, "userdata"), data, 0o644); err != nil {
		return nil, err
	}
	var root map[string]Entry
	if err := json.Unmarshal(data, &root); err != nil {
		return nil, nil // not JSON: the raw copy is all there is to write
	}
	var problems []string
	for _, name := range sortedKeys(root) {
		problems = append(problems, expand(base, name, root[name])...)
	}
	return problems, nil
}

func sortedKeys(m map[string]Entry) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// safeName refuses names that would leave the directory they are written in.
func safeName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsRune(name, '/') && !strings.ContainsRune(name, 0)
}

func expand(dir, name string, e Entry) []string {
	target := filepath.Join(dir, name)
	if !safeName(name) {
		return []string{fmt.Sprintf("%q: not a plain file name, skipped", filepath.Join(dir, name))}
	}
	switch {
	case e.Content != nil && e.Entries == nil:
		mode, err := parseMode(e.Perm, 0o644)
		if err != nil {
			return []string{fmt.Sprintf("%s: %v", target, err)}
		}
		if err := os.WriteFile(target, []byte(*e.Content), mode); err != nil {
			return []string{err.Error()}
		}
		if err := os.Chmod(target, mode); err != nil { // WriteFile's mode is masked by the umask
			return []string{err.Error()}
		}
		return nil
	case e.Content == nil && e.Entries != nil:
		mode, err := parseMode(e.Perm, 0o755)
		if err != nil {
			return []string{fmt.Sprintf("%s: %v", target, err)}
		}
		if err := os.MkdirAll(target, mode); err != nil {
			return []string{err.Error()}
		}
		_ = os.Chmod(target, mode)
		var problems []string
		for _, child := range sortedKeys(e.Entries) {
			problems = append(problems, expand(target, child, e.Entries[child])...)
		}
		return problems
	default:
		return []string{fmt.Sprintf("%s: needs exactly one of content or entries", target)}
	}
}

func parseMode(perm string, def os.FileMode) (os.FileMode, error) {
	if perm == "" {
		return def, nil
	}
	v, err := strconv.ParseUint(perm, 8, 32)
	if err != nil || v > 0o7777 {
		return 0, fmt.Errorf("perm %q is not an octal mode", perm)
	}
	return os.FileMode(v), nil
}
