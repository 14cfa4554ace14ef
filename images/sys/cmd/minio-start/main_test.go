package main

import "testing"

func TestDataDir(t *testing.T) {
	ok := map[string][]string{
		"/var/exports": {"server", "/var/exports", "--console-address", ":9001"},
		"/data":        {"server", "--address", ":9000", "--console-address=:9001", "/data"},
		"/d":           {"--json", "server", "--certs-dir", "/certs", "--quiet", "/d"},
	}
	for want, args := range ok {
		got, err := DataDir(args)
		if err != nil || got != want {
			t.Errorf("%q: got %q, %v", args, got, err)
		}
	}
	t.Setenv("MINIO_VOLUMES", "")
	bad := [][]string{
		{"gateway", "nas"},
		{"server", "http://node{1...4}/data"},
		{"server", "/mnt/data{1...4}"},
		{"server", "relative"},
		{"server", "--console-address", ":9001"},
	}
	for _, args := range bad {
		if dir, err := DataDir(args); err == nil {
			t.Errorf("%q: want an error, got %q", args, dir)
		}
	}
	t.Setenv("MINIO_VOLUMES", "/from/env")
	if got, err := DataDir([]string{"server"}); err != nil || got != "/from/env" {
		t.Errorf("MINIO_VOLUMES: %q %v", got, err)
	}
}
