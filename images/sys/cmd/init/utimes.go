package main

import (
	"syscall"
	"unsafe"
)

const atSymlinkNoFollow = 0x100

// utimensat sets times without following a symlink, which syscall.UtimesNano cannot do.
func utimensat(path string, ts []syscall.Timespec) error {
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return err
	}
	cwd := atFDCWD
	_, _, errno := syscall.Syscall6(syscall.SYS_UTIMENSAT, uintptr(cwd), uintptr(unsafe.Pointer(p)),
		uintptr(unsafe.Pointer(&ts[0])), atSymlinkNoFollow, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

const atFDCWD = -100
