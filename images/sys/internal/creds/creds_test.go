package creds

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFirstBootCreatesAndLaterBootsReuse(t *testing.T) {
	data := t.TempDir()
	c1, created, err := LoadOrCreate(data)
	if err != nil || !created {
		t.Fatal(err, created)
	}
	if c1.User == "minioadmin" || c1.Password == "minioadmin" || len(c1.Password) < 30 || !strings.HasPrefix(c1.User, "kiln-") {
		t.Errorf("weak credentials %+v", c1)
	}
	st, err := os.Stat(Path(data))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v %v", st.Mode(), err)
	}
	dst, _ := os.Stat(filepath.Join(data, Dir))
	if dst.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v", dst.Mode())
	}
	c2, created, err := LoadOrCreate(data)
	if err != nil || created || c2 != c1 {
		t.Errorf("second boot: %+v %v %v", c2, created, err)
	}
	entries, _ := os.ReadDir(filepath.Join(data, Dir))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestTwoDisksGetDifferentCredentials(t *testing.T) {
	a, _, _ := LoadOrCreate(t.TempDir())
	b, _, _ := LoadOrCreate(t.TempDir())
	if a == b {
		t.Error("credentials must be random")
	}
}

func TestDamagedFileIsAnErrorNotANewPassword(t *testing.T) {
	data := t.TempDir()
	os.MkdirAll(filepath.Join(data, Dir), 0o700)
	os.WriteFile(Path(data), []byte("MINIO_ROOT_USER=x\n"), 0o600)
	if _, _, err := LoadOrCreate(data); err == nil {
		t.Fatal("a damaged credentials file must not be replaced silently")
	}
	if b, _ := os.ReadFile(Path(data)); string(b) != "MINIO_ROOT_USER=x\n" {
		t.Error("the damaged file must be left for the user to look at")
	}
}
