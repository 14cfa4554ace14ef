package sysx

import "testing"

func TestParseMountinfo(t *testing.T) {
	text := `22 1 0:21 / / ro,relatime shared:1 - tmpfs rootfs rw
30 22 8:1 / /var/exports rw,relatime shared:12 - ext4 /dev/sda1 rw
31 22 0:40 / /var/with\040space rw - tmpfs tmpfs rw
`
	m := ParseMountinfo(text)
	if len(m) != 3 {
		t.Fatalf("got %d mounts", len(m))
	}
	if m[1] != (MountPoint{Major: 8, Minor: 1, Target: "/var/exports", FSType: "ext4", Source: "/dev/sda1"}) {
		t.Errorf("%+v", m[1])
	}
	if m[2].Target != "/var/with space" {
		t.Errorf("escapes: %q", m[2].Target)
	}
}
