// Command minio-start runs MinIO with root credentials that are never MinIO's public default.
// It takes minio's own arguments (`minio-start server /var/exports --console-address :9001`) and
// execs /usr/bin/minio with MINIO_ROOT_USER/MINIO_ROOT_PASSWORD set:
//   - from /run/config/minio/root_user and root_password (metadata user data) when both exist;
//   - else from <datadir>/.kiln/credentials, made with random values on first boot and printed
//     once to the console.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"kiln.local/sys/internal/creds"
)

const (
	minio        = "/usr/bin/minio"
	userFile     = "/run/config/minio/root_user"
	passwordFile = "/run/config/minio/root_password"
	tmpfsMagic   = 0x01021994
)

func main() {
	args := os.Args[1:]
	env := os.Environ()
	switch {
	case os.Getenv("MINIO_ROOT_USER") != "" || os.Getenv("MINIO_ROOT_USER_FILE") != "":
		// The YAML's env: chose the credentials.
	case exists(userFile) && exists(passwordFile):
		env = append(env, "MINIO_ROOT_USER_FILE="+userFile, "MINIO_ROOT_PASSWORD_FILE="+passwordFile)
		fmt.Printf("kiln: MinIO credentials from %s and %s\n", userFile, passwordFile)
	default:
		dir, err := DataDir(args)
		if err != nil {
			fmt.Fprintf(os.Stderr, "kiln: %v\n", err)
			os.Exit(1)
		}
		warnIfEphemeral(dir)
		c, created, err := creds.LoadOrCreate(dir)
		if err != nil {
			fmt.Fprintf(os.Stderr, "kiln: MinIO credentials: %v\n", err)
			os.Exit(1)
		}
		env = append(env, "MINIO_ROOT_USER="+c.User, "MINIO_ROOT_PASSWORD="+c.Password)
		if created {
			fmt.Printf("kiln: MinIO credentials: user=%s password=%s (stored in %s; shown once)\n", c.User, c.Password, creds.Path(dir))
		} else {
			fmt.Printf("kiln: MinIO credentials: user=%s (password in %s)\n", c.User, creds.Path(dir))
		}
	}
	if os.Getenv("MINIO_FS_OSYNC") == "" {
		// An acknowledged PUT must survive a power cut: MinIO syncs an object's data but not the rename that
		// publishes it, and ext4 commits that rename up to 5 s later. The e2e crash test (SIGKILL of QEMU
		// after the acknowledgement) lost the last object every time without this, and never with it.
		env = append(env, "MINIO_FS_OSYNC=on")
	}
	argv := append([]string{minio}, args...)
	err := syscall.Exec(minio, argv, env)
	fmt.Fprintf(os.Stderr, "kiln: exec %s: %v\n", minio, err)
	os.Exit(127)
}

func exists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// Flags of `minio server` that take a value as the next argument.
var valueFlags = map[string]bool{
	"address": true, "listeners": true, "console-address": true, "shutdown-timeout": true,
	"idle-timeout": true, "read-header-timeout": true, "conn-user-timeout": true, "interface": true,
	"dns-cache-ttl": true, "max-idle-conns-per-host": true, "certs-dir": true, "S": true,
	"config-dir": true, "C": true, "config": true, "ftp": true, "sftp": true, "memlimit": true,
	"send-buf-size": true, "recv-buf-size": true, "crossdomain-xml": true, "ilm-expiry-workers": true,
	"conn-read-deadline": true, "conn-write-deadline": true, "conn-client-read-deadline": true,
	"conn-client-write-deadline": true, "client-read-header-timeout": true,
}

// DataDir finds the data directory in `server [flags] DIR [flags]` (or MINIO_VOLUMES): the first
// argument after "server" that is neither a flag nor a flag's value. Only a plain local directory
// can hold the credentials.
func DataDir(args []string) (string, error) {
	i := 0
	for i < len(args) && args[i] != "server" {
		i++
	}
	if i == len(args) {
		return "", fmt.Errorf("minio-start runs `minio server DIR`: no server argument in %q", args)
	}
	var dir string
	for j := i + 1; j < len(args); j++ {
		a := args[j]
		if strings.HasPrefix(a, "-") {
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && valueFlags[name] {
				j++
			}
			continue
		}
		dir = a
		break
	}
	if f := strings.Fields(os.Getenv("MINIO_VOLUMES")); dir == "" && len(f) > 0 {
		dir = f[0]
	}
	if dir == "" {
		return "", fmt.Errorf("no data directory in %q", args)
	}
	if !filepath.IsAbs(dir) || strings.Contains(dir, "...") || strings.Contains(dir, "://") {
		return "", fmt.Errorf("data directory %q is not a plain local path: set MINIO_ROOT_USER and MINIO_ROOT_PASSWORD in the YAML's env, or give /run/config/minio/root_user and root_password", dir)
	}
	return dir, nil
}

func warnIfEphemeral(dir string) {
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) == nil && st.Type == tmpfsMagic {
		fmt.Printf("kiln: warning: %s is in RAM (no data disk mounted there): objects and credentials are lost at shutdown\n", dir)
	}
}
