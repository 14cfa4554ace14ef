package runtimecfg

import (
	"os"
	"reflect"
	"syscall"
	"testing"
)

func TestParseOverlayBundle(t *testing.T) {
	data, err := os.ReadFile("testdata/overlay.runtime.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Mounts) != 3 {
		t.Fatalf("want 3 mounts, got %d", len(r.Mounts))
	}
	if r.Mounts[0].Type != "tmpfs" || r.Mounts[0].Destination != "/containers/onboot/000-first/tmp" {
		t.Errorf("first mount: %+v", r.Mounts[0])
	}
	flags, data2 := MountOptions(r.Mounts[1].Options)
	if flags != syscall.MS_REMOUNT|syscall.MS_PRIVATE || data2 != "" {
		t.Errorf("remount,private: flags %#x data %q", flags, data2)
	}
	if CreatesMount(flags) {
		t.Error("a remount must not count as a new mount")
	}
	overlay := r.Mounts[2]
	got := OverlayDirs(overlay.Options)
	want := []string{"/containers/onboot/000-first/tmp/upper", "/containers/onboot/000-first/tmp/work"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("overlay dirs: %v", got)
	}
	flags, d := MountOptions(overlay.Options)
	if flags != 0 || d != "lowerdir=/containers/onboot/000-first/lower,upperdir=/containers/onboot/000-first/tmp/upper,workdir=/containers/onboot/000-first/tmp/work" {
		t.Errorf("overlay options: %#x %q", flags, d)
	}
	if len(r.BindNS.Binds()) != 0 {
		t.Errorf("empty bindNS paths must be skipped: %v", r.BindNS.Binds())
	}
}

func TestParseReadonlyBundle(t *testing.T) {
	data, err := os.ReadFile("testdata/readonly.runtime.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Mounts) != 1 {
		t.Fatalf("want the self-bind only, got %+v", r.Mounts)
	}
	flags, _ := MountOptions(r.Mounts[0].Options)
	if flags != syscall.MS_BIND || !CreatesMount(flags) {
		t.Errorf("bind: %#x", flags)
	}
}

func TestParseFullRuntime(t *testing.T) {
	r, err := Parse([]byte(`{"cgroups":["/a","b"],"mkdir":["/var/x","rel"],
		"interfaces":[{"name":"eth1","peer":"veth1","createInRoot":true}],
		"bindNS":{"net":"/run/netns/x","uts":"/run/uts/x"},"namespace":"ns","extra":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.Cgroups, []string{"/a", "b"}) || r.Namespace != "ns" {
		t.Errorf("%+v", r)
	}
	if r.Interfaces[0] != (Interface{Name: "eth1", Peer: "veth1", CreateInRoot: true}) {
		t.Errorf("%+v", r.Interfaces)
	}
	want := []NamespaceBind{{"net", "/run/netns/x"}, {"uts", "/run/uts/x"}}
	if !reflect.DeepEqual(r.BindNS.Binds(), want) {
		t.Errorf("binds %v", r.BindNS.Binds())
	}
	if Resolve("/containers/onboot/000-a", "rel") != "/containers/onboot/000-a/rootfs/rel" {
		t.Error("relative paths are relative to the bundle rootfs")
	}
	if Resolve("/containers/onboot/000-a", "/var/x") != "/var/x" {
		t.Error("absolute paths stay")
	}
}

func TestParseRejectsBrokenJSON(t *testing.T) {
	if _, err := Parse([]byte(`{"mounts": [`)); err == nil {
		t.Fatal("want an error")
	}
}

func TestMountOptions(t *testing.T) {
	cases := []struct {
		in    []string
		flags uintptr
		data  string
	}{
		{[]string{"rw", "rbind", "rshared"}, syscall.MS_BIND | syscall.MS_REC | syscall.MS_SHARED | syscall.MS_REC, ""},
		{[]string{"ro", "rw"}, 0, ""},
		{[]string{"rw", "ro"}, syscall.MS_RDONLY, ""},
		{[]string{"nosuid", "nodev", "mode=755", "size=10m"}, syscall.MS_NOSUID | syscall.MS_NODEV, "mode=755,size=10m"},
		{[]string{"defaults", ""}, 0, ""},
		{[]string{"noexec", "exec"}, 0, ""},
		{[]string{"bind", "ro"}, syscall.MS_BIND | syscall.MS_RDONLY, ""},
		{nil, 0, ""},
	}
	for _, c := range cases {
		f, d := MountOptions(c.in)
		if f != c.flags || d != c.data {
			t.Errorf("%v: got %#x %q, want %#x %q", c.in, f, d, c.flags, c.data)
		}
	}
}

func TestCreatesMount(t *testing.T) {
	if !CreatesMount(0) {
		t.Error("a plain mount creates a mount")
	}
	if CreatesMount(syscall.MS_SHARED | syscall.MS_REC) {
		t.Error("a propagation change creates nothing")
	}
	if !CreatesMount(syscall.MS_BIND | syscall.MS_REC | syscall.MS_SHARED) {
		t.Error("an rbind with propagation still binds")
	}
}
