package main

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// reaper is the only caller of wait4. As PID 1 we inherit every orphan, including each container's
// process once `runc create` exits, so exit statuses are handed out here by pid. Children are
// started and reaped under one lock, so a child cannot be reaped before its waiter is registered.
type reaper struct {
	mu      sync.Mutex
	waiters map[int]chan syscall.WaitStatus
	// orphans holds statuses nobody was waiting for yet, for watchAlive; bounded.
	orphans map[int]syscall.WaitStatus
}

func newReaper() *reaper {
	r := &reaper{waiters: map[int]chan syscall.WaitStatus{}, orphans: map[int]syscall.WaitStatus{}}
	ch := make(chan os.Signal, 16)
	signal.Notify(ch, syscall.SIGCHLD)
	go func() {
		for range ch {
			r.reap()
		}
	}()
	return r
}

func (r *reaper) reap() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
		if ch, ok := r.waiters[pid]; ok {
			delete(r.waiters, pid)
			ch <- ws
			continue
		}
		if len(r.orphans) >= 256 {
			for k := range r.orphans {
				delete(r.orphans, k)
				break
			}
		}
		r.orphans[pid] = ws
	}
}

// start runs a program and returns its pid and a channel that receives its exit status.
func (r *reaper) start(argv []string, env []string, files []uintptr) (int, <-chan syscall.WaitStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pid, err := syscall.ForkExec(argv[0], argv, &syscall.ProcAttr{Dir: "/", Env: env, Files: files})
	if err != nil {
		return 0, nil, err
	}
	ch := make(chan syscall.WaitStatus, 1)
	r.waiters[pid] = ch
	return pid, ch, nil
}

// run starts a program and waits for it.
func (r *reaper) run(argv []string, env []string, files []uintptr) (syscall.WaitStatus, error) {
	_, ch, err := r.start(argv, env, files)
	if err != nil {
		return 0, err
	}
	return <-ch, nil
}

// watchAlive returns a channel for the exit status of a process that we know was alive a moment
// ago but did not start ourselves (a container's process). A status kept for an earlier process
// with the same pid is dropped, unless this one is already gone.
func (r *reaper) watchAlive(pid int) <-chan syscall.WaitStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	ch := make(chan syscall.WaitStatus, 1)
	if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
		// Reaped already (only reap does that, under this lock): its status is in orphans.
		ws, ok := r.orphans[pid]
		delete(r.orphans, pid)
		if !ok {
			ws = syscall.WaitStatus(0xff << 8)
		}
		ch <- ws
		return ch
	}
	delete(r.orphans, pid)
	r.waiters[pid] = ch
	return ch
}

// exitCode turns a wait status into a shell-style code: the exit status, or 128+signal.
func exitCode(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
