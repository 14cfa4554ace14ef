#!/usr/bin/env python3
"""Scaffolding for boot tests: boot KERNEL + INITRD under QEMU TCG, stamp every console line with the
time since QEMU started, optionally press the ACPI power button (QMP system_powerdown) once a console
line matches --powerdown-after, and check that each --expect regex appears, in order.
Exit status: 0 when QEMU exited 0 and every expectation was met."""
import argparse, json, os, re, socket, subprocess, sys, tempfile, threading, time

p = argparse.ArgumentParser()
p.add_argument("--kernel", required=True)
p.add_argument("--initrd", required=True)
p.add_argument("--append", default="console=ttyS0 panic=-1")
p.add_argument("--disk", action="append", default=[])
p.add_argument("--cdrom")
p.add_argument("--mem", default="1024")
p.add_argument("--publish", action="append", default=[], help="HOSTPORT:GUESTPORT on 127.0.0.1")
p.add_argument("--powerdown-after")
p.add_argument("--powerdown-delay", type=float, default=1.0)
p.add_argument("--ctrl-alt-del", action="store_true", help="press Ctrl-Alt-Del instead of the power button")
p.add_argument("--expect", action="append", default=[])
p.add_argument("--timeout", type=float, default=300)
p.add_argument("--log")
a = p.parse_args()

qmp_path = os.path.join(tempfile.mkdtemp(), "qmp.sock")
cmd = ["qemu-system-x86_64", "-accel", "tcg", "-machine", "q35", "-m", a.mem, "-nographic", "-no-reboot",
       "-kernel", a.kernel, "-initrd", a.initrd, "-append", a.append,
       "-nic", "user,restrict=on,model=virtio-net-pci" + "".join(
           f",hostfwd=tcp:127.0.0.1:{h}-:{g}" for h, g in (x.split(":") for x in a.publish)),
       "-qmp", f"unix:{qmp_path},server=on,wait=off"]
for i, d in enumerate(a.disk):
    cmd += ["-drive", f"file={d},format=raw,index={i},media=disk"]
if a.cdrom:
    cmd += ["-drive", f"file={a.cdrom},format=raw,media=cdrom,index=2"]

def powerdown():
    s = socket.socket(socket.AF_UNIX)
    s.connect(qmp_path)
    f = s.makefile("rw")
    f.readline()
    press = {"execute": "system_powerdown"}
    if a.ctrl_alt_del:
        keys = [{"type": "qcode", "data": k} for k in ("ctrl", "alt", "delete")]
        press = {"execute": "send-key", "arguments": {"keys": keys}}
    for c in ({"execute": "qmp_capabilities"}, press):
        f.write(json.dumps(c) + "\n"); f.flush(); f.readline()
    s.close()

start = time.monotonic()
proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
timer = threading.Timer(a.timeout, proc.kill); timer.start()
log = open(a.log, "w") if a.log else None
expect = [re.compile(e) for e in a.expect]
met, pressed = [], False
for raw in proc.stdout:
    line = raw.decode(errors="replace").rstrip("\r\n")
    t = time.monotonic() - start
    out = f"[{t:7.2f}s] {line}"
    print(out, flush=True)
    if log: log.write(out + "\n"); log.flush()
    if len(met) < len(expect) and expect[len(met)].search(line):
        met.append(t)
    if a.powerdown_after and not pressed and re.search(a.powerdown_after, line):
        pressed = True
        threading.Timer(a.powerdown_delay, powerdown).start()
code = proc.wait(); timer.cancel()
t = time.monotonic() - start
print(f"== qemu exited {code} after {t:.2f}s; {len(met)}/{len(expect)} expectations met")
for e, tm in zip(a.expect, met):
    print(f"   {tm:7.2f}s  {e}")
for e in a.expect[len(met):]:
    print(f"   MISSING  {e}")
sys.exit(0 if code == 0 and len(met) == len(expect) else 1)
