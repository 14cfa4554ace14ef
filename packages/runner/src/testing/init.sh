#!/bin/busybox sh
# /init of kiln's boot-test fixture. kiln.test=a,b,... on the kernel command line picks what it does;
# every line it prints for the tests starts with KILN-FIXTURE.
/bin/busybox mkdir -p /proc /sys /dev /tmp /mnt /www /usr/bin /sbin
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r m; do insmod "/$m" 2>/dev/null; done < /etc/modules.load

arg() {
  for w in $(cat /proc/cmdline); do
    case "$w" in "$1"=*) echo "${w#*=}" ;; esac
  done
}
say() { echo "KILN-FIXTURE: $*"; }
wait_for() {
  i=0
  while [ ! -e "$1" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
}

say booted
acpi=on
for t in $(arg kiln.test | tr , ' '); do
  case "$t" in
  disk-write)
    wait_for /dev/vda
    printf 'kiln-disk-%s\n' "$(arg kiln.token)" | dd of=/dev/vda bs=512 count=1 conv=sync 2>/dev/null
    sync
    say "disk written"
    ;;
  disk-read)
    wait_for /dev/vda
    say "disk says $(dd if=/dev/vda bs=512 count=1 2>/dev/null | head -n 1)"
    ;;
  data)
    wait_for /dev/sr0
    if mount -t iso9660 -o ro /dev/sr0 /mnt; then
      say "data label $(dd if=/dev/sr0 bs=1 skip=32808 count=32 2>/dev/null | tr -d ' ')"
      say "data files $(ls /mnt | tr '\n' ' ')"
      say "data begin"
      cat /mnt/config
      echo
      say "data end"
    else
      say "data not mounted"
    fi
    ;;
  net)
    ip link set lo up
    ip link set eth0 up
    ip addr add 10.0.2.15/24 dev eth0
    ip route add default via 10.0.2.2
    echo kiln-http-ok > /www/index.html
    httpd -p 80 -h /www
    say "httpd up"
    ;;
  probe)
    # With restrict=on only the guestfwd address may answer; the host's own ports must not.
    port=$(arg kiln.probe)
    # The host sees whether this arrives; a guestfwd does not pass the host's close back, so nc may linger.
    echo via-guestfwd | timeout 10 nc -w 5 10.0.2.100 1234
    say "guestfwd tried"
    if echo direct | timeout 20 nc -w 5 10.0.2.2 "$port"; then say "direct ok"; else say "direct failed"; fi
    ;;
  hang) acpi=off ;;
  panic)
    say panicking
    exit 1
    ;;
  poweroff)
    say "powering off"
    poweroff -f
    ;;
  esac
done

if [ "$acpi" = on ]; then
  # QEMU's system_powerdown presses the ACPI power button; acpid runs PWRF/00000080, which powers off.
  wait_for /dev/input/event0
  acpid -d -c /etc/acpi &
  # A button press before acpid holds the event devices open is lost: say ready only after it does.
  i=0
  while ! ls -l /proc/$!/fd 2>/dev/null | grep -q /dev/input/event && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
fi
say ready
while true; do sleep 3600; done
