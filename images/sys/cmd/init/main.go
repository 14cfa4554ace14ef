// Command init is kiln's PID 1: it turns an initramfs (or ISO/disk) root into a running appliance,
// runs the onboot containers in order, starts the services with runc, and on power-off runs the
// onshutdown containers and brings everything down cleanly. See images/init/README.md.
package main

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"kiln.local/sys/internal/logline"
)

// stage2Flag marks the re-exec after the root was copied to a tmpfs.
const stage2Flag = "--kiln-stage2"

const (
	ramfsMagic = 0x858458f6
	tmpfsMagic = 0x01021994
)

var console = logline.NewConsole(os.Stdout)

// say writes one "kiln-init: ..." line to the console.
func say(format string, args ...any) {
	console.Message("kiln-init: " + fmt.Sprintf(format, args...))
}

func main() {
	ensureConsole()
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "kiln-init: this is the appliance's init (PID 1); it does nothing elsewhere")
		os.Exit(2)
	}
	stage2 := len(os.Args) > 1 && os.Args[1] == stage2Flag
	if !stage2 && rootIsRAM() {
		start := time.Now()
		if err := copyRootToTmpfs("/mnt/kiln-root"); err != nil {
			say("copying the initramfs to a tmpfs failed: %v; runc needs a pivotable root, containers will fail", err)
		} else {
			reexec(time.Since(start))
		}
	}
	boot()
}

func rootIsRAM() bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs("/", &st); err != nil {
		return false
	}
	return st.Type == ramfsMagic || st.Type == tmpfsMagic
}

// copyTimeEnv carries how long the copy took into the re-executed init, for its boot report.
const copyTimeEnv = "KILN_INIT_COPY_MS"

func reexec(took time.Duration) {
	for _, self := range []string{"/init", "/sbin/init"} {
		if _, err := os.Stat(self); err == nil {
			args := append([]string{self, stage2Flag}, os.Args[1:]...)
			env := append(os.Environ(), fmt.Sprintf("%s=%d", copyTimeEnv, took.Milliseconds()))
			err = syscall.Exec(self, args, env)
			say("exec %s after copying the root failed: %v", self, err)
		}
	}
}

// ensureConsole gives us stdin/stdout/stderr on /dev/console when the kernel could not (an
// initramfs without /dev/console): every message of init goes there.
func ensureConsole() {
	var st syscall.Stat_t
	if syscall.Fstat(1, &st) == nil {
		return
	}
	_ = os.MkdirAll("/dev", 0o755)
	_ = syscall.Mount("devtmpfs", "/dev", "devtmpfs", syscall.MS_NOSUID, "mode=0755")
	fd, err := syscall.Open("/dev/console", syscall.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return
	}
	for i := 0; i < 3; i++ {
		_ = syscall.Dup2(fd, i)
	}
	if fd > 2 {
		syscall.Close(fd)
	}
}
