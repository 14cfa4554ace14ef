// Package disk recognises what is on a disk (partition tables and filesystem signatures) and writes
// the one-partition tables the format program makes. It works on any io.ReaderAt, so it is tested
// on image files.
package disk

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

// Content is what a disk (or a partition) holds, as far as its first and last sectors tell.
type Content struct {
	// PartitionTable is "dos", "gpt" or "".
	PartitionTable string
	// Filesystem is a type name such as "ext4", "vfat", "iso9660", "swap", "LVM2_member", or "".
	Filesystem string
	Label      string
	UUID       string
	// Boot is true when the first sector ends in 55 AA without a recognised table or filesystem.
	Boot bool
}

// Blank is true when nothing at all was recognised.
func (c Content) Blank() bool {
	return c.PartitionTable == "" && c.Filesystem == "" && !c.Boot
}

// Describe says what was found, for messages.
func (c Content) Describe() string {
	var parts []string
	if c.PartitionTable != "" {
		parts = append(parts, c.PartitionTable+" partition table")
	}
	if c.Filesystem != "" {
		s := c.Filesystem + " filesystem"
		if c.Label != "" {
			s += fmt.Sprintf(" labelled %q", c.Label)
		}
		parts = append(parts, s)
	}
	if c.Boot {
		parts = append(parts, "a boot sector signature")
	}
	if len(parts) == 0 {
		return "nothing recognisable"
	}
	return strings.Join(parts, " and ")
}

type region struct {
	r    io.ReaderAt
	size int64
}

// at reads n bytes at off, or returns nil when they are beyond the end.
func (g region) at(off int64, n int) []byte {
	if off < 0 || off+int64(n) > g.size {
		return nil
	}
	b := make([]byte, n)
	if _, err := g.r.ReadAt(b, off); err != nil && err != io.EOF {
		return nil
	}
	return b
}

func (g region) has(off int64, magic string) bool {
	b := g.at(off, len(magic))
	return b != nil && string(b) == magic
}

// Probe reports the partition table and filesystem signatures on a disk of the given size.
// sectorSize is the logical sector size (512 or 4096); 0 means try both.
func Probe(r io.ReaderAt, size int64, sectorSize int) (Content, error) {
	g := region{r, size}
	if size < 512 {
		return Content{}, fmt.Errorf("disk of %d bytes is too small to probe", size)
	}
	var c Content
	sizes := []int{512, 4096}
	if sectorSize != 0 {
		sizes = []int{sectorSize}
	}
	for _, ss := range sizes {
		if g.has(int64(ss), "EFI PART") || g.has(size-int64(ss), "EFI PART") {
			c.PartitionTable = "gpt"
		}
	}
	fs := probeFilesystem(g)
	c.Filesystem, c.Label, c.UUID = fs.kind, fs.label, fs.uuid
	if c.PartitionTable == "" && c.Filesystem == "" && g.has(510, "\x55\xaa") {
		mbr := g.at(0, 512)
		if hasPartitionEntries(mbr) {
			c.PartitionTable = "dos"
		} else {
			c.Boot = true
		}
	}
	return c, nil
}

func hasPartitionEntries(mbr []byte) bool {
	for i := 0; i < 4; i++ {
		e := mbr[446+16*i : 446+16*i+16]
		if e[4] != 0 {
			return true
		}
	}
	return false
}

type fsInfo struct{ kind, label, uuid string }

func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return strings.TrimRight(string(b), " ")
}

func uuidString(b []byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// probeFilesystem knows the signatures blkid would find on the disks an appliance meets.
func probeFilesystem(g region) fsInfo {
	if sb := g.at(1024, 1024); sb != nil && binary.LittleEndian.Uint16(sb[0x38:]) == 0xEF53 {
		kind := "ext2"
		compat := binary.LittleEndian.Uint32(sb[0x5C:])
		incompat := binary.LittleEndian.Uint32(sb[0x60:])
		if compat&0x4 != 0 {
			kind = "ext3"
		}
		if incompat&(0x40|0x80|0x200) != 0 {
			kind = "ext4"
		}
		return fsInfo{kind, cstr(sb[0x78:0x88]), uuidString(sb[0x68:0x78])}
	}
	if g.has(0, "XFSB") {
		b := g.at(0, 120)
		return fsInfo{"xfs", cstr(b[108:120]), uuidString(b[32:48])}
	}
	if g.has(0x10040, "_BHRfS_M") {
		b := g.at(0x10000, 0x22B)
		return fsInfo{"btrfs", cstr(b[0x12B:0x22B]), uuidString(b[0x20:0x30])}
	}
	if g.has(0x8001, "CD001") {
		b := g.at(0x8000, 2048)
		return fsInfo{"iso9660", cstr(b[40:72]), ""}
	}
	if g.has(0, "hsqs") {
		return fsInfo{kind: "squashfs"}
	}
	if g.has(0, "LUKS\xba\xbe") {
		return fsInfo{kind: "crypto_LUKS"}
	}
	for s := int64(0); s < 4; s++ {
		if g.has(s*512, "LABELONE") {
			return fsInfo{kind: "LVM2_member"}
		}
	}
	for _, page := range []int64{4096, 8192, 16384, 65536} {
		if g.has(page-10, "SWAPSPACE2") || g.has(page-10, "SWAP-SPACE") {
			return fsInfo{kind: "swap"}
		}
	}
	if m := g.at(1024, 4); m != nil {
		switch binary.LittleEndian.Uint32(m) {
		case 0xE0F5E1E2:
			return fsInfo{kind: "erofs"}
		case 0xF2F52010:
			return fsInfo{kind: "f2fs"}
		}
	}
	if g.has(3, "NTFS    ") {
		return fsInfo{kind: "ntfs"}
	}
	if g.has(510, "\x55\xaa") {
		if g.has(82, "FAT32   ") {
			b := g.at(0, 90)
			return fsInfo{"vfat", fatLabel(b[71:82]), fmt.Sprintf("%04X-%04X", binary.LittleEndian.Uint16(b[69:]), binary.LittleEndian.Uint16(b[67:]))}
		}
		if g.has(54, "FAT1") {
			b := g.at(0, 62)
			return fsInfo{"vfat", fatLabel(b[43:54]), fmt.Sprintf("%04X-%04X", binary.LittleEndian.Uint16(b[41:]), binary.LittleEndian.Uint16(b[39:]))}
		}
	}
	return fsInfo{}
}

func fatLabel(b []byte) string {
	l := cstr(b)
	if l == "NO NAME" {
		return ""
	}
	return l
}
