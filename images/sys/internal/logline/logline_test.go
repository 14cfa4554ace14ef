package logline

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

func TestCopyPrefixesLinesAndKeepsTheFileRaw(t *testing.T) {
	var console, file bytes.Buffer
	c := NewConsole(&console)
	in := "kiln: MinIO credentials: user=a password=b\r\nsecond\nno newline at end"
	if err := Copy(strings.NewReader(in), &file, c, "[minio] "); err != nil {
		t.Fatal(err)
	}
	if file.String() != in {
		t.Errorf("file: %q", file.String())
	}
	want := "[minio] kiln: MinIO credentials: user=a password=b\n[minio] second\n[minio] no newline at end\n"
	if console.String() != want {
		t.Errorf("console: %q", console.String())
	}
}

func TestCopySplitsHugeLines(t *testing.T) {
	var console bytes.Buffer
	long := strings.Repeat("x", maxLine*2+10)
	if err := Copy(strings.NewReader(long+"\n"), nil, NewConsole(&console), "> "); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(console.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 console lines, got %d", len(lines))
	}
	total := 0
	for _, l := range lines {
		total += len(strings.TrimPrefix(l, "> "))
	}
	if total != len(long) {
		t.Errorf("lost bytes: %d of %d", total, len(long))
	}
}

func TestConcurrentWritersNeverInterleaveWithinALine(t *testing.T) {
	var console bytes.Buffer
	c := NewConsole(&console)
	var wg sync.WaitGroup
	for _, p := range []string{"[a] ", "[b] "} {
		wg.Add(1)
		go func(p string) {
			defer wg.Done()
			_ = Copy(strings.NewReader(strings.Repeat(p+"payload\n", 500)), nil, c, p)
		}(p)
	}
	wg.Wait()
	for _, l := range strings.Split(strings.TrimSuffix(console.String(), "\n"), "\n") {
		if l != "[a] [a] payload" && l != "[b] [b] payload" {
			t.Fatalf("interleaved line %q", l)
		}
	}
}
