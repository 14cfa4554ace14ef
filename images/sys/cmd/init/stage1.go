package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// copyRootToTmpfs moves the initramfs into a fresh tmpfs mounted at newRoot, then makes that the
// root. runc's pivot_root cannot leave the initramfs root (rootfs), so containers need this.
// Files are deleted from the old root as they are copied, so RAM holds each file about once.
func copyRootToTmpfs(newRoot string) error {
	var rootSt syscall.Stat_t
	if err := syscall.Stat("/", &rootSt); err != nil {
		return err
	}
	if err := os.MkdirAll(newRoot, 0o755); err != nil {
		return err
	}
	if err := syscall.Mount("rootfs", newRoot, "tmpfs", 0, "mode=0755"); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", newRoot, err)
	}
	links := map[[2]uint64]string{}
	err := filepath.Walk("/", func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if path == newRoot {
			return filepath.SkipDir
		}
		st := info.Sys().(*syscall.Stat_t)
		if st.Dev != rootSt.Dev {
			if info.IsDir() {
				// A mount point (such as the devtmpfs ensureConsole may have made): keep the directory.
				if err := os.MkdirAll(filepath.Join(newRoot, path), info.Mode().Perm()); err != nil {
					return err
				}
				return filepath.SkipDir
			}
			return nil
		}
		dest := filepath.Join(newRoot, path)
		if err := copyEntry(path, dest, info, st, links); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Fix directory metadata last: copying into a directory changes its times.
	_ = filepath.Walk(newRoot, func(path string, info os.FileInfo, err error) error {
		if err != nil || !info.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(newRoot, path)
		var st syscall.Stat_t
		if syscall.Lstat(filepath.Join("/", rel), &st) == nil {
			setTimes(path, &st)
		}
		return nil
	})
	removeOldRoot(newRoot, rootSt.Dev)
	if err := os.Chdir(newRoot); err != nil {
		return err
	}
	if err := syscall.Mount(".", "/", "", syscall.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move the new root to /: %w", err)
	}
	if err := syscall.Chroot("."); err != nil {
		return err
	}
	return os.Chdir("/")
}

func copyEntry(path, dest string, info os.FileInfo, st *syscall.Stat_t, links map[[2]uint64]string) error {
	mode := info.Mode()
	switch {
	case mode.IsDir():
		if path != "/" {
			if err := os.Mkdir(dest, mode.Perm()); err != nil && !errors.Is(err, os.ErrExist) {
				return err
			}
		}
	case mode.IsRegular():
		key := [2]uint64{st.Dev, st.Ino}
		if st.Nlink > 1 {
			if first, ok := links[key]; ok {
				err := os.Link(first, dest)
				_ = os.Remove(path)
				return err
			}
			links[key] = dest
		}
		if err := copyFile(path, dest, mode.Perm()); err != nil {
			return err
		}
		_ = os.Remove(path)
	case mode&os.ModeSymlink != 0:
		target, err := os.Readlink(path)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, dest); err != nil {
			return err
		}
	case mode&os.ModeDevice != 0:
		if err := syscall.Mknod(dest, st.Mode, int(st.Rdev)); err != nil {
			return err
		}
	case mode&os.ModeNamedPipe != 0:
		if err := syscall.Mkfifo(dest, st.Mode&0o7777); err != nil {
			return err
		}
	case mode&os.ModeSocket != 0:
		return nil // nothing listens on a socket in an initramfs
	default:
		return fmt.Errorf("unknown file type %v", mode)
	}
	if err := os.Lchown(dest, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	if mode&os.ModeSymlink == 0 {
		// chown clears set-id bits, so the mode goes on after it.
		if err := syscall.Chmod(dest, st.Mode&0o7777); err != nil {
			return err
		}
	}
	setTimes(dest, st)
	return nil
}

func copyFile(src, dest string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func setTimes(path string, st *syscall.Stat_t) {
	ts := []syscall.Timespec{st.Atim, st.Mtim}
	_ = utimensat(path, ts)
}

// removeOldRoot deletes what is left of the initramfs (directories, mostly) to give back its RAM.
func removeOldRoot(newRoot string, dev uint64) {
	entries, err := os.ReadDir("/")
	if err != nil {
		return
	}
	for _, e := range entries {
		p := filepath.Join("/", e.Name())
		if p == filepath.Dir(newRoot) || p == newRoot {
			continue
		}
		var st syscall.Stat_t
		if syscall.Lstat(p, &st) != nil || st.Dev != dev {
			continue
		}
		_ = removeSameDevice(p, dev)
	}
}

func removeSameDevice(p string, dev uint64) error {
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil || st.Dev != dev {
		return err
	}
	if st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
		entries, _ := os.ReadDir(p)
		for _, e := range entries {
			_ = removeSameDevice(filepath.Join(p, e.Name()), dev)
		}
	}
	return os.Remove(p)
}
