package disk

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const mib = 1 << 20

func blankImage(t *testing.T, size int64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "disk.img")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

func probeFile(t *testing.T, p string) Content {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	c, err := Probe(f, st.Size(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func need(t *testing.T, tool string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Skipf("%s not installed", tool)
	}
}

func run(t *testing.T, stdin string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func TestZeroedDiskIsBlank(t *testing.T) {
	c := probeFile(t, blankImage(t, 64*mib))
	if !c.Blank() {
		t.Fatalf("a zeroed disk must be blank, got %s", c.Describe())
	}
}

func TestFilesystemsMadeByRealToolsAreSeen(t *testing.T) {
	cases := []struct {
		tool, want, label string
		args              []string
	}{
		{"mkfs.ext4", "ext4", "DATA", []string{"-q", "-F", "-L", "DATA"}},
		{"mkfs.ext2", "ext2", "", []string{"-q", "-F"}},
		{"mkfs.vfat", "vfat", "CIDATA", []string{"-n", "CIDATA"}},
		{"mkswap", "swap", "", nil},
	}
	for _, c := range cases {
		t.Run(c.tool, func(t *testing.T) {
			need(t, c.tool)
			p := blankImage(t, 64*mib)
			run(t, "", c.tool, append(c.args, p)...)
			got := probeFile(t, p)
			if got.Filesystem != c.want || got.Label != c.label || got.Blank() {
				t.Errorf("got %+v", got)
			}
		})
	}
}

func TestExt4UUIDMatchesBlkid(t *testing.T) {
	need(t, "mkfs.ext4")
	need(t, "blkid")
	p := blankImage(t, 32*mib)
	run(t, "", "mkfs.ext4", "-q", "-F", p)
	want := strings.TrimSpace(run(t, "", "blkid", "-p", "-s", "UUID", "-o", "value", p))
	if got := probeFile(t, p).UUID; got != want {
		t.Errorf("uuid %q, blkid says %q", got, want)
	}
}

func TestISO9660VolumeID(t *testing.T) {
	need(t, "xorriso")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "config"), []byte("{}"), 0o644)
	iso := filepath.Join(t.TempDir(), "data.iso")
	run(t, "", "xorriso", "-as", "mkisofs", "-quiet", "-V", "cidata", "-o", iso, dir)
	got := probeFile(t, iso)
	if got.Filesystem != "iso9660" || got.Label != "cidata" {
		t.Errorf("got %+v", got)
	}
}

func TestPartitionTablesMadeBySfdiskAreNotBlank(t *testing.T) {
	need(t, "sfdisk")
	for _, label := range []string{"dos", "gpt"} {
		t.Run(label, func(t *testing.T) {
			p := blankImage(t, 64*mib)
			run(t, "label: "+label+"\n,,L\n", "sfdisk", "--quiet", p)
			c := probeFile(t, p)
			if c.PartitionTable != label || c.Blank() {
				t.Errorf("got %+v", c)
			}
			f, _ := os.Open(p)
			defer f.Close()
			kind, parts, err := Partitions(f, 64*mib, 512)
			if err != nil || kind != label || len(parts) != 1 || !parts[0].IsLinux() {
				t.Errorf("partitions: %s %+v %v", kind, parts, err)
			}
		})
	}
}

// Only the backup GPT header survives (someone zeroed the start): still not blank.
func TestBackupGPTAloneIsNotBlank(t *testing.T) {
	p := blankImage(t, 64*mib)
	f, _ := os.OpenFile(p, os.O_RDWR, 0)
	if _, err := WriteTable(f, 64*mib, 512, "gpt"); err != nil {
		t.Fatal(err)
	}
	zero := make([]byte, mib)
	f.WriteAt(zero, 0)
	f.Close()
	if c := probeFile(t, p); c.PartitionTable != "gpt" {
		t.Errorf("got %+v", c)
	}
}

func TestOurTablesAreReadBySfdisk(t *testing.T) {
	need(t, "sfdisk")
	for _, kind := range []string{"dos", "gpt"} {
		t.Run(kind, func(t *testing.T) {
			p := blankImage(t, 64*mib)
			f, _ := os.OpenFile(p, os.O_RDWR, 0)
			part, err := WriteTable(f, 64*mib, 512, kind)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if part.StartLBA != 2048 || !part.IsLinux() {
				t.Errorf("partition %+v", part)
			}
			out := run(t, "", "sfdisk", "--json", p)
			if !strings.Contains(out, `"label":"`+kind+`"`) && !strings.Contains(out, `"label": "`+kind+`"`) {
				t.Errorf("sfdisk reads another label:\n%s", out)
			}
			if !strings.Contains(out, `"start":2048`) && !strings.Contains(out, `"start": 2048`) {
				t.Errorf("sfdisk sees another start:\n%s", out)
			}
			if kind == "gpt" {
				verify := exec.Command("sfdisk", "--verify", p)
				if o, err := verify.CombinedOutput(); err != nil || strings.Contains(string(o), "corrupt") {
					t.Errorf("sfdisk --verify: %v\n%s", err, o)
				}
			}
			c := probeFile(t, p)
			if c.PartitionTable != kind {
				t.Errorf("probe %+v", c)
			}
			g, _ := os.Open(p)
			defer g.Close()
			k, parts, err := Partitions(g, 64*mib, 512)
			if err != nil || k != kind || len(parts) != 1 || parts[0] != part {
				t.Errorf("read back %s %+v %v, wrote %+v", k, parts, err, part)
			}
		})
	}
}

func TestGUIDRoundTrip(t *testing.T) {
	if guidString(guidBytes(LinuxGUID)) != LinuxGUID {
		t.Error(guidString(guidBytes(LinuxGUID)))
	}
}

func TestPartitionDevice(t *testing.T) {
	cases := map[string]string{"/dev/sda": "/dev/sda1", "/dev/vdb": "/dev/vdb1", "/dev/nvme0n1": "/dev/nvme0n1p1", "/dev/mmcblk0": "/dev/mmcblk0p1"}
	for in, want := range cases {
		if got := PartitionDevice(in, 1); got != want {
			t.Errorf("%s: %s", in, got)
		}
	}
}

func TestTooSmall(t *testing.T) {
	p := blankImage(t, 512*1024)
	f, _ := os.OpenFile(p, os.O_RDWR, 0)
	defer f.Close()
	if _, err := WriteTable(f, 512*1024, 512, "dos"); err == nil {
		t.Error("want an error for a disk smaller than the 1 MiB alignment")
	}
	if _, err := WriteTable(f, 64*mib, 512, "bsd"); err == nil {
		t.Error("want an error for an unknown table type")
	}
}
