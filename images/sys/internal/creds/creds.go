// Package creds keeps the MinIO root credentials an appliance generated on its first boot, on the
// data disk next to the data they protect, so every later boot uses the same ones.
package creds

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
)

// Credentials are a MinIO root user and password.
type Credentials struct{ User, Password string }

// Dir and File are where, under the data directory, the credentials are kept. MinIO skips a
// top-level directory whose name is not a valid bucket name, and ".kiln" is not.
const (
	Dir  = ".kiln"
	File = "credentials"
)

// Path is the credentials file of a data directory.
func Path(dataDir string) string { return filepath.Join(dataDir, Dir, File) }

const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

func random(n int) (string, error) {
	var b strings.Builder
	max := big.NewInt(int64(len(alphabet)))
	for i := 0; i < n; i++ {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		b.WriteByte(alphabet[v.Int64()])
	}
	return b.String(), nil
}

// Generate makes fresh random credentials (never MinIO's well-known default).
func Generate() (Credentials, error) {
	u, err := random(12)
	if err != nil {
		return Credentials{}, err
	}
	p, err := random(32)
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{User: "kiln-" + u, Password: p}, nil
}

// Load reads a credentials file.
func Load(path string) (Credentials, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Credentials{}, err
	}
	var c Credentials
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		switch k {
		case "MINIO_ROOT_USER":
			c.User = v
		case "MINIO_ROOT_PASSWORD":
			c.Password = v
		}
	}
	if len(c.User) < 3 || len(c.Password) < 8 {
		return Credentials{}, fmt.Errorf("%s does not hold a user of 3+ and a password of 8+ characters", path)
	}
	return c, nil
}

// save writes the file mode 0600 through a temporary file and a rename, so a crash never leaves
// half a password behind.
func save(path string, c Credentials) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".credentials-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := fmt.Fprintf(tmp, "MINIO_ROOT_USER=%s\nMINIO_ROOT_PASSWORD=%s\n", c.User, c.Password); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// LoadOrCreate returns the data directory's stored credentials, or generates, stores and returns
// new ones (created is then true).
func LoadOrCreate(dataDir string) (c Credentials, created bool, err error) {
	path := Path(dataDir)
	c, err = Load(path)
	if err == nil {
		return c, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return Credentials{}, false, err
	}
	if c, err = Generate(); err != nil {
		return Credentials{}, false, err
	}
	if err = save(path, c); err != nil {
		return Credentials{}, false, fmt.Errorf("store credentials in %s: %w", path, err)
	}
	return c, true, nil
}
