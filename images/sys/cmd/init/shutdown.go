package main

import (
	"encoding/binary"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"kiln.local/sys/internal/sysx"
)

type action int

const (
	powerOff action = iota
	reboot
	halt
)

var actionNames = map[action]string{powerOff: "powering off", reboot: "rebooting", halt: "halting"}

// watchSignals turns the signals busybox's poweroff (USR2), halt (USR1) and reboot (TERM) send to
// PID 1, and Ctrl-Alt-Del (INT, once reboot(CAD_OFF) asks the kernel for it), into shutdowns.
func watchSignals(shut func(action)) {
	_ = syscall.Reboot(syscall.LINUX_REBOOT_CMD_CAD_OFF)
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGTERM, syscall.SIGINT, syscall.SIGPWR)
	go func() {
		for s := range ch {
			switch s {
			case syscall.SIGUSR1:
				go shut(halt)
			case syscall.SIGTERM, syscall.SIGINT:
				go shut(reboot)
			default:
				go shut(powerOff)
			}
		}
	}()
}

const (
	evKey    = 1
	keyPower = 116
)

// watchPowerButton powers off when an input device that has KEY_POWER (the ACPI power button,
// which QEMU presses for system_powerdown) reports a press. It needs the button and evdev drivers.
func watchPowerButton(shut func(action)) {
	paths, _ := filepath.Glob("/sys/class/input/event*")
	found := 0
	for _, p := range paths {
		caps, err := os.ReadFile(filepath.Join(p, "device/capabilities/key"))
		if err != nil || !hasBit(strings.Fields(string(caps)), keyPower) {
			continue
		}
		f, err := os.Open(filepath.Join("/dev/input", filepath.Base(p)))
		if err != nil {
			say("power button %s: %v", filepath.Base(p), err)
			continue
		}
		found++
		go func() {
			buf := make([]byte, 24) // struct input_event on 64-bit: timeval, type, code, value
			for {
				if _, err := f.Read(buf); err != nil {
					return
				}
				typ := binary.LittleEndian.Uint16(buf[16:])
				code := binary.LittleEndian.Uint16(buf[18:])
				value := int32(binary.LittleEndian.Uint32(buf[20:]))
				if typ == evKey && code == keyPower && value == 1 {
					say("power button pressed")
					go shut(powerOff)
				}
			}
		}()
	}
	if found == 0 {
		say("no power button found (the kernel image needs the button and evdev modules): ACPI shutdown will not work")
	}
}

// hasBit reads a sysfs capability bitmap: hex words, most significant first.
func hasBit(words []string, bit int) bool {
	const wordBits = 64
	idx := len(words) - 1 - bit/wordBits
	if idx < 0 {
		return false
	}
	v, err := strconv.ParseUint(words[idx], 16, 64)
	return err == nil && v&(1<<(bit%wordBits)) != 0
}

type shutdown struct {
	once   sync.Once
	mu     sync.Mutex
	runner *runner
	svcs   *services
}

func (s *shutdown) attach(r *runner, svcs *services) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runner, s.svcs = r, svcs
}

// run brings the appliance down: onshutdown containers, then every process gets SIGTERM and up
// to 5 s, then SIGKILL; then sync, unmount everything, and power off or reboot.
func (s *shutdown) run(a action) {
	s.once.Do(func() {
		s.mu.Lock()
		r, svcs := s.runner, s.svcs
		s.mu.Unlock()
		if r != nil {
			r.stopping.Store(true)
			r.runToCompletion("onshutdown", "onshutdown", 30*time.Second)
			r.killed.Store(true)
		}
		_ = syscall.Kill(-1, syscall.SIGTERM)
		if !waitForNoProcesses(5 * time.Second) {
			_ = syscall.Kill(-1, syscall.SIGKILL)
			waitForNoProcesses(2 * time.Second)
		}
		if svcs != nil {
			// Let each service's exit be reported before the power goes.
			done := make(chan struct{})
			go func() { svcs.done.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(time.Second):
			}
		}
		syscall.Sync()
		unmountAll()
		syscall.Sync()
		say("%s", actionNames[a])
		var cmd int
		switch a {
		case reboot:
			cmd = syscall.LINUX_REBOOT_CMD_RESTART
		case halt:
			cmd = syscall.LINUX_REBOOT_CMD_HALT
		default:
			cmd = syscall.LINUX_REBOOT_CMD_POWER_OFF
		}
		if err := syscall.Reboot(cmd); err != nil {
			say("reboot(2) failed: %v", err)
		}
	})
	select {}
}

// waitForNoProcesses waits until no user process but us is left (kernel threads do not count).
func waitForNoProcesses(limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for {
		if !otherProcesses() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func otherProcesses() bool {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == 1 {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the parenthesised name: state, ppid. Kernel threads are kthreadd (2) and its children.
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 || pid == 2 || f[1] == "2" || f[0] == "Z" {
			continue
		}
		return true
	}
	return false
}

// unmountAll unmounts everything it can, newest first, in several passes (a mount can be busy
// until the one on top of it is gone); what stays busy is remounted read-only so disks are clean.
func unmountAll() {
	for pass := 0; pass < 4; pass++ {
		mounts, err := sysx.Mounts()
		if err != nil {
			return
		}
		progress := false
		for i := len(mounts) - 1; i >= 0; i-- {
			m := mounts[i]
			if m.Target == "/" || m.Target == "/dev" || m.Target == "/proc" || m.Target == "/sys" {
				continue
			}
			if syscall.Unmount(m.Target, 0) == nil {
				progress = true
			}
		}
		if !progress {
			break
		}
	}
	mounts, _ := sysx.Mounts()
	for _, m := range mounts {
		switch m.FSType {
		case "ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", "f2fs":
			if err := syscall.Mount("", m.Target, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
				say("%s (%s) is still in use and could not be made read-only: %v", m.Target, m.Source, err)
			}
		}
	}
}
