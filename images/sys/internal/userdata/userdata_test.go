package userdata

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func TestExpandsNestedJSON(t *testing.T) {
	base := t.TempDir()
	data := `{"minio":{"entries":{"root_user":{"content":"admin"},"root_password":{"perm":"0600","content":"s3cret"},
		"certs":{"perm":"0700","entries":{"public.crt":{"content":"PEM"}}}}},
		"hostname":{"content":"appliance"}}`
	problems, err := Write(base, []byte(data))
	if err != nil || len(problems) != 0 {
		t.Fatal(err, problems)
	}
	if read(t, filepath.Join(base, "userdata")) != data {
		t.Error("raw userdata must be kept")
	}
	if read(t, filepath.Join(base, "minio/root_user")) != "admin" || mode(t, filepath.Join(base, "minio/root_user")) != 0o644 {
		t.Error("root_user")
	}
	if mode(t, filepath.Join(base, "minio/root_password")) != 0o600 {
		t.Error("perm must be honoured")
	}
	if mode(t, filepath.Join(base, "minio/certs")) != 0o700 || read(t, filepath.Join(base, "minio/certs/public.crt")) != "PEM" {
		t.Error("nested directory")
	}
	if mode(t, filepath.Join(base, "minio")) != 0o755 {
		t.Error("default directory mode")
	}
	if read(t, filepath.Join(base, "hostname")) != "appliance" {
		t.Error("top-level file")
	}
}

func TestPlainTextIsOnlyStoredRaw(t *testing.T) {
	base := t.TempDir()
	if _, err := Write(base, []byte("#cloud-config\nhostname: x\n")); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(base)
	if len(entries) != 1 || entries[0].Name() != "userdata" {
		t.Errorf("got %v", entries)
	}
}

func TestBadEntriesAreReportedAndSkipped(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(filepath.Dir(base), "escaped")
	data := `{"..":{"content":"x"},"a":{"perm":"9z","content":"x"},"b":{},"c/d":{"content":"x"},"ok":{"content":"fine"}}`
	problems, err := Write(base, []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 4 {
		t.Errorf("want 4 problems, got %q", problems)
	}
	if read(t, filepath.Join(base, "ok")) != "fine" {
		t.Error("good entries are still written")
	}
	if _, err := os.Stat(outside); err == nil {
		t.Error("a name must not escape the config directory")
	}
	if !strings.Contains(strings.Join(problems, "\n"), "octal") {
		t.Errorf("problems should say what is wrong: %q", problems)
	}
}
