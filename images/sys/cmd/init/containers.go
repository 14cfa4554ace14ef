package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"kiln.local/sys/internal/bundle"
	"kiln.local/sys/internal/logline"
	"kiln.local/sys/internal/runtimecfg"
)

const (
	runcRoot   = "/run/runc"
	pidDir     = "/run/kiln-init"
	runLogBase = "/run/log"
)

var childEnv = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/"}

// runcPath finds runc where the runc image installs it (Debian puts it in /usr/sbin, with a
// /usr/bin link; LinuxKit's image has /usr/bin/runc).
func runcPath() (string, error) {
	for _, p := range []string{"/usr/bin/runc", "/usr/sbin/runc", "/sbin/runc", "/bin/runc"} {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("no runc in /usr/bin, /usr/sbin, /sbin or /bin (add the runc image to init:)")
}

// container is one bundle under runc.
type container struct {
	kind, name, dir string
	prepared        *bundle.Prepared
	pid             int
	exit            <-chan syscall.WaitStatus
	logs            sync.WaitGroup
}

type runner struct {
	// stopping is set when shutdown begins: no onboot container or service starts after it.
	stopping atomic.Bool
	// killed is set once shutdown has signalled everything: exits are then only reported.
	killed atomic.Bool
	reaper *reaper
	runc   string
	devnul *os.File
}

// bundles lists the bundle directories of one section, in order.
func bundles(section string) []string {
	entries, err := os.ReadDir(filepath.Join("/containers", section))
	if err != nil {
		return nil
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join("/containers", section, e.Name()))
		}
	}
	sort.Strings(dirs)
	return dirs
}

// logFiles opens the log files of a container: LinuxKit's /run/log/onboot/onboot.NAME{.out,}.log
// for onboot and onshutdown (linked from /var/log/onboot), /var/log/NAME{.out,}.log for services.
func logFiles(kind, name string) (out, errf *os.File, err error) {
	var base string
	if kind == "service" {
		base = filepath.Join("/var/log", name)
	} else {
		dir := filepath.Join(runLogBase, kind)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, nil, err
		}
		_ = os.Symlink(dir, filepath.Join("/var/log", kind))
		base = filepath.Join(dir, kind+"."+name)
	}
	if out, err = os.OpenFile(base+".out.log", os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err != nil {
		return nil, nil, err
	}
	if errf, err = os.OpenFile(base+".log", os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err != nil {
		out.Close()
		return nil, nil, err
	}
	return out, errf, nil
}

func describeStatus(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		return fmt.Sprintf("was killed by signal %d (%v)", int(ws.Signal()), ws.Signal())
	}
	return fmt.Sprintf("exited %d", ws.ExitStatus())
}

// start prepares a bundle and runs `runc create` and `runc start` on it. The container's output
// goes to its log files and, line by line with a "[name] " prefix, to the console.
func (r *runner) start(kind, dir string) (*container, error) {
	c := &container{kind: kind, name: filepath.Base(dir), dir: dir}
	rt, err := runtimecfg.Load(dir)
	if err != nil {
		return nil, err
	}
	if c.prepared, err = bundle.Prepare(dir, rt); err != nil {
		return nil, err
	}
	fail := func(err error) (*container, error) {
		c.prepared.Release()
		return nil, err
	}
	outLog, errLog, err := logFiles(kind, c.name)
	if err != nil {
		return fail(fmt.Errorf("open log files: %w", err))
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return fail(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return fail(err)
	}
	prefix := "[" + c.name + "] "
	c.logs.Add(2)
	go func() {
		defer c.logs.Done()
		defer outLog.Close()
		_ = logline.Copy(outR, outLog, console, prefix)
		outR.Close()
	}()
	go func() {
		defer c.logs.Done()
		defer errLog.Close()
		_ = logline.Copy(errR, errLog, console, prefix)
		errR.Close()
	}()
	// Our copies of the write ends go once runc is done with them: the container keeps its own,
	// so the copiers see EOF when the container (and anything it left behind) closes them.
	defer outW.Close()
	defer errW.Close()

	files := []uintptr{r.devnul.Fd(), outW.Fd(), errW.Fd()}
	pidFile := filepath.Join(pidDir, kind+"."+c.name+".pid")
	_ = os.Remove(pidFile)
	ws, err := r.reaper.run([]string{r.runc, "--root", runcRoot, "create", "--bundle", dir, "--pid-file", pidFile, c.name}, childEnv, files)
	if err != nil {
		return fail(fmt.Errorf("run %s: %w", r.runc, err))
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		return fail(fmt.Errorf("runc create %s", describeStatus(ws)))
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		r.delete(c.name)
		return fail(fmt.Errorf("runc create left no pid file: %w", err))
	}
	c.pid, err = strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		r.delete(c.name)
		return fail(fmt.Errorf("runc create wrote a bad pid file: %q", data))
	}
	c.exit = r.reaper.watchAlive(c.pid)
	if err := bundle.BindNamespaces(c.pid, rt.BindNS); err != nil {
		r.delete(c.name)
		return fail(err)
	}
	ws, err = r.reaper.run([]string{r.runc, "--root", runcRoot, "start", c.name}, childEnv, files)
	if err == nil && (!ws.Exited() || ws.ExitStatus() != 0) {
		err = fmt.Errorf("runc start %s", describeStatus(ws))
	}
	if err != nil {
		r.delete(c.name)
		return fail(err)
	}
	return c, nil
}

// finish waits for the container's output to drain (briefly: a daemon it left behind in the
// host's pid namespace may hold the pipe), deletes it from runc and undoes its mounts.
func (r *runner) finish(c *container) {
	drained := make(chan struct{})
	go func() { c.logs.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(2 * time.Second):
	}
	r.delete(c.name)
	c.prepared.Release()
}

func (r *runner) delete(name string) {
	_, _ = r.reaper.run([]string{r.runc, "--root", runcRoot, "delete", "--force", name}, childEnv,
		[]uintptr{r.devnul.Fd(), r.devnul.Fd(), r.devnul.Fd()})
}

// runToCompletion runs every bundle of a section in order, each to its end. A failure is reported
// and the next one still runs. timeout bounds each container (0: none).
func (r *runner) runToCompletion(section, kind string, timeout time.Duration) {
	for _, dir := range bundles(section) {
		if kind == "onboot" && r.stopping.Load() {
			return
		}
		name := filepath.Base(dir)
		c, err := r.start(kind, dir)
		if err != nil {
			say("%s %s: failed to start: %v", kind, name, err)
			continue
		}
		say("%s %s: started", kind, name)
		var ws syscall.WaitStatus
		if timeout > 0 {
			select {
			case ws = <-c.exit:
			case <-time.After(timeout):
				say("%s %s: still running after %v, killing it", kind, name, timeout)
				_ = syscall.Kill(c.pid, syscall.SIGKILL)
				ws = <-c.exit
			}
		} else {
			ws = <-c.exit
		}
		r.finish(c)
		say("%s %s: exited %d", kind, name, exitCode(ws))
	}
}

// services are the running service containers, for shutdown.
type services struct {
	mu      sync.Mutex
	running map[string]*container
	done    sync.WaitGroup
}

func (r *runner) startServices(s *services) {
	for _, dir := range bundles("services") {
		if r.stopping.Load() {
			return
		}
		name := filepath.Base(dir)
		c, err := r.start("service", dir)
		if err != nil {
			say("service %s: failed to start: %v", name, err)
			continue
		}
		say("service %s: started", name)
		s.mu.Lock()
		s.running[name] = c
		s.mu.Unlock()
		s.done.Add(1)
		go func() {
			defer s.done.Done()
			ws := <-c.exit
			s.mu.Lock()
			delete(s.running, name)
			s.mu.Unlock()
			if !r.killed.Load() {
				r.finish(c)
			}
			say("service %s: exited %d", name, exitCode(ws))
		}()
	}
}
