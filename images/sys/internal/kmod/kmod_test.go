package kmod

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestLoadOrderPutsDependenciesFirst(t *testing.T) {
	dep := `kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko
kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko
kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_ring.ko:
kernel/lib/crc16.ko:
kernel/fs/mbcache.ko:
kernel/fs/jbd2/jbd2.ko:
`
	got, err := LoadOrder(strings.NewReader(dep))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio.ko", "kernel/drivers/block/virtio_blk.ko",
		"kernel/lib/crc16.ko", "kernel/fs/mbcache.ko", "kernel/fs/jbd2/jbd2.ko", "kernel/fs/ext4/ext4.ko",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v", got)
	}
}

func TestLoadOrderSurvivesCycles(t *testing.T) {
	got, err := LoadOrder(strings.NewReader("a.ko: b.ko\nb.ko: a.ko\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Errorf("got %v", got)
	}
}

func TestLoadOrderRejectsGarbage(t *testing.T) {
	if _, err := LoadOrder(strings.NewReader("no colon here\n")); err == nil {
		t.Fatal("want an error")
	}
}

// The test kernel's real modules.dep (scripts/test-kernel.sh), when present: every module comes
// after all of its dependencies.
func TestLoadOrderOnDebianModulesDep(t *testing.T) {
	dirs, _ := os.ReadDir("/tmp/kiln-test-kernel/lib/modules")
	if len(dirs) == 0 {
		t.Skip("no test kernel at /tmp/kiln-test-kernel")
	}
	path := "/tmp/kiln-test-kernel/lib/modules/" + dirs[0].Name() + "/modules.dep"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := LoadOrder(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, m := range got {
		pos[m] = i
	}
	for _, line := range strings.Split(string(data), "\n") {
		mod, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		for _, d := range strings.Fields(rest) {
			if pos[d] > pos[mod] {
				t.Errorf("%s loads before its dependency %s", mod, d)
			}
		}
	}
}
