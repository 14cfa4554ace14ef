package main

import (
	"os"
	"syscall"
	"time"
)

func boot() {
	start := time.Now()
	if ms := os.Getenv(copyTimeEnv); ms != "" {
		_ = os.Unsetenv(copyTimeEnv)
		say("initramfs moved to a tmpfs in %s ms", ms)
	}
	mountFilesystems()
	rp := newReaper()
	sd := &shutdown{}
	watchSignals(sd.run)
	loadModules()
	watchPowerButton(sd.run)
	setLimits()
	setHostname()
	loopbackUp()
	prepareResolvConf()
	_ = os.Setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
	printIssue()
	mountVolumes()
	_ = os.MkdirAll(pidDir, 0o755)

	runc, err := runcPath()
	if err != nil {
		say("%v: onboot, services and onshutdown will not run", err)
		select {}
	}
	devnull, err := os.OpenFile("/dev/null", os.O_RDWR, 0)
	if err != nil {
		say("open /dev/null: %v", err)
		select {}
	}
	r := &runner{reaper: rp, runc: runc, devnul: devnull}
	svcs := &services{running: map[string]*container{}}
	sd.attach(r, svcs)
	say("system ready in %d ms", time.Since(start).Milliseconds())

	r.runToCompletion("onboot", "onboot", 0)
	if _, err := os.Stat("/usr/bin/containerd"); err == nil {
		say("containerd is installed but not started: kiln's init runs services with runc directly")
	}
	r.startServices(svcs)
	for {
		// PID 1 must never return.
		syscall.Pause()
	}
}
