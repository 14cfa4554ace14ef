package main

import (
	"strings"
	"syscall"
	"testing"
)

// The ACPI power button's /sys/class/input/eventN/device/capabilities/key under QEMU.
func TestHasBitFindsKeyPower(t *testing.T) {
	if !hasBit(strings.Fields("10000000000000 0"), keyPower) {
		t.Error("the power button reports KEY_POWER")
	}
	// Bits 1-2 of word 1 (keys 65, 66) and everything in word 0: still not bit 116.
	if hasBit(strings.Fields("6 ffffffffffffffff"), keyPower) {
		t.Error("this bitmap has no KEY_POWER")
	}
	if hasBit(nil, keyPower) || hasBit([]string{"zz", "0"}, keyPower) {
		t.Error("empty or broken bitmaps have no bits")
	}
}

func TestExitCode(t *testing.T) {
	if exitCode(syscall.WaitStatus(3<<8)) != 3 {
		t.Error("exit status 3")
	}
	if exitCode(syscall.WaitStatus(syscall.SIGKILL)) != 137 {
		t.Error("killed by SIGKILL is 137")
	}
	if describeStatus(syscall.WaitStatus(syscall.SIGTERM)) != "was killed by signal 15 (terminated)" {
		t.Error(describeStatus(syscall.WaitStatus(syscall.SIGTERM)))
	}
}
