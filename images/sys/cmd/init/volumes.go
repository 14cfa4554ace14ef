package main

import (
	"os"
	"path/filepath"
	"syscall"
)

// mountVolumes makes each /containers/volumes/NAME/merged usable: an overlay of the volume's image
// (lower) and a tmpfs (tmp) when it is read-write, a read-only bind of lower when it has no tmp.
func mountVolumes() {
	vols, err := os.ReadDir("/containers/volumes")
	if err != nil {
		return
	}
	for _, v := range vols {
		dir := filepath.Join("/containers/volumes", v.Name())
		lower, tmp, merged := filepath.Join(dir, "lower"), filepath.Join(dir, "tmp"), filepath.Join(dir, "merged")
		if _, err := os.Stat(lower); err != nil {
			say("volume %s: no lower directory: %v", v.Name(), err)
			continue
		}
		if _, err := os.Stat(tmp); err != nil {
			if err := syscall.Mount(lower, merged, "", syscall.MS_BIND, ""); err != nil {
				say("volume %s: bind %s: %v", v.Name(), lower, err)
				continue
			}
			if err := syscall.Mount("", merged, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
				say("volume %s: make read-only: %v", v.Name(), err)
			}
			continue
		}
		if err := syscall.Mount("tmpfs", tmp, "tmpfs", syscall.MS_RELATIME, "mode=0755"); err != nil {
			say("volume %s: tmpfs on %s: %v", v.Name(), tmp, err)
			continue
		}
		upper, work := filepath.Join(tmp, "upper"), filepath.Join(tmp, "work")
		_ = os.Mkdir(upper, 0o755)
		_ = os.Mkdir(work, 0o755)
		data := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
		if err := syscall.Mount("overlay", merged, "overlay", syscall.MS_RELATIME, data); err != nil {
			say("volume %s: overlay on %s: %v", v.Name(), merged, err)
		}
	}
}
