package main

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"kiln.local/sys/internal/kmod"
)

func loadModules() {
	var uts syscall.Utsname
	if err := syscall.Uname(&uts); err != nil {
		say("uname failed: %v", err)
		return
	}
	release := utsString(uts.Release[:])
	dir := filepath.Join("/lib/modules", release)
	if _, err := os.Stat(filepath.Join(dir, "modules.dep")); err != nil {
		return // a kernel with everything built in, or no modules shipped
	}
	start := time.Now()
	n, failed, err := kmod.LoadAll(dir)
	if err != nil {
		say("loading modules from %s failed: %v", dir, err)
		return
	}
	for _, f := range failed {
		say("module %s failed to load: %v", f.Module, f.Err)
	}
	settleBlockDevices()
	say("loaded %d kernel modules in %d ms", n, time.Since(start).Milliseconds())
}

func utsString(b []int8) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}

func blockDevices() string {
	entries, _ := os.ReadDir("/sys/class/block")
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}

// settleBlockDevices waits (up to 3 s) until disks stop appearing, so that the format and mount
// onboot containers see every disk. Probing finishes inside module init for most drivers; this
// catches the ones that probe asynchronously.
func settleBlockDevices() {
	deadline := time.Now().Add(3 * time.Second)
	last, stable := blockDevices(), 0
	for time.Now().Before(deadline) && stable < 3 {
		time.Sleep(50 * time.Millisecond)
		now := blockDevices()
		if now == last {
			stable++
		} else {
			last, stable = now, 0
		}
	}
}

func setLimits() {
	for _, l := range []struct {
		res int
		val uint64
	}{{syscall.RLIMIT_NOFILE, 1048576}, {rlimitNproc, ^uint64(0)}} {
		lim := syscall.Rlimit{Cur: l.val, Max: l.val}
		if err := syscall.Setrlimit(l.res, &lim); err != nil {
			say("setting rlimit %d failed: %v", l.res, err)
		}
	}
}

const rlimitNproc = 6

func setHostname() {
	if data, err := os.ReadFile("/etc/hostname"); err == nil {
		if name := strings.TrimSpace(string(data)); name != "" {
			if err := syscall.Sethostname([]byte(name)); err != nil {
				say("setting hostname %q failed: %v", name, err)
			}
			return
		}
	}
	current, _ := os.Hostname()
	if current != "" && current != "(none)" {
		return
	}
	mac, err := os.ReadFile("/sys/class/net/eth0/address")
	if err != nil {
		return
	}
	name := "linuxkit-" + strings.ReplaceAll(strings.TrimSpace(string(mac)), ":", "")
	if err := syscall.Sethostname([]byte(name)); err != nil {
		say("setting hostname %q failed: %v", name, err)
	}
}

type ifreqFlags struct {
	name  [16]byte
	flags uint16
	_     [22]byte
}

// loopbackUp brings lo up; the kernel gives it 127.0.0.1/8 and ::1 itself.
func loopbackUp() {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		say("loopback: %v", err)
		return
	}
	defer syscall.Close(fd)
	var req ifreqFlags
	copy(req.name[:], "lo")
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&req))); e != 0 {
		say("loopback: %v", e)
		return
	}
	req.flags |= syscall.IFF_UP
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&req))); e != 0 {
		say("loopback: %v", e)
	}
}

// prepareResolvConf creates the file /etc/resolv.conf points at (/run/resolvconf/resolv.conf in a
// kiln or LinuxKit build), so that dhcpcd can write it and containers can bind it.
func prepareResolvConf() {
	target, err := os.Readlink("/etc/resolv.conf")
	if err != nil {
		return
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join("/etc", target)
	}
	_ = os.MkdirAll(filepath.Dir(target), 0o755)
	if f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
		f.Close()
	}
}

func printIssue() {
	data, err := os.ReadFile("/etc/issue")
	if err != nil || len(bytes.TrimSpace(data)) == 0 {
		return
	}
	for _, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		console.Line("", []byte(line))
	}
}
