package disk

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"unicode/utf16"
)

// LinuxGUID is the GPT type of a Linux filesystem partition.
const LinuxGUID = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"

// Partition is one entry of a partition table.
type Partition struct {
	Number   int
	StartLBA uint64
	Sectors  uint64
	// Type is the MBR type in two hex digits ("83") or the GPT type GUID in upper case.
	Type string
}

// IsLinux says whether the partition is typed as a Linux filesystem (MBR 83 or the Linux GPT GUID).
func (p Partition) IsLinux() bool { return p.Type == "83" || p.Type == LinuxGUID }

// Partitions reads a disk's partition table. A protective MBR leads to the GPT.
func Partitions(r io.ReaderAt, size int64, sectorSize int) (string, []Partition, error) {
	g := region{r, size}
	mbr := g.at(0, 512)
	if mbr == nil || string(mbr[510:512]) != "\x55\xaa" {
		if g.has(int64(sectorSize), "EFI PART") {
			return readGPT(g, sectorSize)
		}
		return "", nil, errors.New("no partition table")
	}
	var parts []Partition
	for i := 0; i < 4; i++ {
		e := mbr[446+16*i : 446+16*i+16]
		if e[4] == 0 {
			continue
		}
		if e[4] == 0xEE {
			return readGPT(g, sectorSize)
		}
		parts = append(parts, Partition{
			Number:   i + 1,
			StartLBA: uint64(binary.LittleEndian.Uint32(e[8:])),
			Sectors:  uint64(binary.LittleEndian.Uint32(e[12:])),
			Type:     fmt.Sprintf("%02x", e[4]),
		})
	}
	if len(parts) == 0 {
		return "", nil, errors.New("no partition table")
	}
	return "dos", parts, nil
}

func readGPT(g region, ss int) (string, []Partition, error) {
	h := g.at(int64(ss), 92)
	if h == nil || string(h[:8]) != "EFI PART" {
		return "", nil, errors.New("protective MBR without a GPT header")
	}
	entryLBA := binary.LittleEndian.Uint64(h[72:])
	count := binary.LittleEndian.Uint32(h[80:])
	esize := binary.LittleEndian.Uint32(h[84:])
	if esize < 128 || count > 1024 {
		return "", nil, fmt.Errorf("GPT header with %d entries of %d bytes", count, esize)
	}
	entries := g.at(int64(entryLBA)*int64(ss), int(count*esize))
	if entries == nil {
		return "", nil, errors.New("GPT entries beyond the end of the disk")
	}
	var parts []Partition
	for i := uint32(0); i < count; i++ {
		e := entries[i*esize : (i+1)*esize]
		typ := guidString(e[0:16])
		if typ == "00000000-0000-0000-0000-000000000000" {
			continue
		}
		first := binary.LittleEndian.Uint64(e[32:])
		last := binary.LittleEndian.Uint64(e[40:])
		parts = append(parts, Partition{Number: int(i) + 1, StartLBA: first, Sectors: last - first + 1, Type: typ})
	}
	return "gpt", parts, nil
}

// GPT stores the first three GUID fields little-endian.
func guidString(b []byte) string {
	return strings.ToUpper(fmt.Sprintf("%08x-%04x-%04x-%x-%x",
		binary.LittleEndian.Uint32(b[0:]), binary.LittleEndian.Uint16(b[4:]), binary.LittleEndian.Uint16(b[6:]), b[8:10], b[10:16]))
}

func guidBytes(s string) []byte {
	var a, b, c uint64
	var d, e []byte
	s = strings.ReplaceAll(s, "-", "")
	fmt.Sscanf(s[0:8], "%x", &a)
	fmt.Sscanf(s[8:12], "%x", &b)
	fmt.Sscanf(s[12:16], "%x", &c)
	fmt.Sscanf(s[16:20], "%x", &d)
	fmt.Sscanf(s[20:32], "%x", &e)
	out := make([]byte, 16)
	binary.LittleEndian.PutUint32(out[0:], uint32(a))
	binary.LittleEndian.PutUint16(out[4:], uint16(b))
	binary.LittleEndian.PutUint16(out[6:], uint16(c))
	copy(out[8:], d)
	copy(out[10:], e)
	return out
}

func randomGUID() []byte {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[7] = b[7]&0x0f | 0x40 // version 4, in GPT's mixed-endian layout
	b[8] = b[8]&0x3f | 0x80
	return b
}

// WriteTable writes a new partition table ("dos" or "gpt") with one Linux partition from 1 MiB
// to the end of the disk, and returns that partition.
func WriteTable(w io.WriterAt, size int64, sectorSize int, kind string) (Partition, error) {
	ss := uint64(sectorSize)
	total := uint64(size) / ss
	start := (1 << 20) / ss
	if total < start+16 {
		return Partition{}, fmt.Errorf("disk of %d bytes is too small for a partition", size)
	}
	switch kind {
	case "dos":
		count := total - start
		if count > 0xFFFFFFFF {
			return Partition{}, fmt.Errorf("disk of %d bytes is too big for a dos partition table (use -partition gpt)", size)
		}
		mbr := make([]byte, 512)
		_, _ = rand.Read(mbr[440:444])
		putMBREntry(mbr[446:462], 0x83, start, count)
		mbr[510], mbr[511] = 0x55, 0xaa
		if _, err := w.WriteAt(mbr, 0); err != nil {
			return Partition{}, err
		}
		return Partition{Number: 1, StartLBA: start, Sectors: count, Type: "83"}, nil
	case "gpt":
		return writeGPT(w, total, ss, start)
	default:
		return Partition{}, fmt.Errorf("unsupported partition table type %q (use dos or gpt)", kind)
	}
}

func putMBREntry(e []byte, typ byte, start, count uint64) {
	// CHS fields say "beyond CHS": every reader since the 1990s uses the LBA fields.
	copy(e[1:4], []byte{0xFE, 0xFF, 0xFF})
	e[4] = typ
	copy(e[5:8], []byte{0xFE, 0xFF, 0xFF})
	binary.LittleEndian.PutUint32(e[8:], uint32(start))
	binary.LittleEndian.PutUint32(e[12:], uint32(count))
}

func writeGPT(w io.WriterAt, total, ss, start uint64) (Partition, error) {
	const entries, esize = 128, 128
	arraySectors := (entries*esize + ss - 1) / ss
	last := total - 1
	firstUsable := 2 + arraySectors
	lastUsable := last - 1 - arraySectors
	end := lastUsable - (lastUsable+1)%((1<<20)/ss) // end on a MiB boundary, as partitioners do
	if end <= start {
		end = lastUsable
	}

	array := make([]byte, entries*esize)
	copy(array[0:16], guidBytes(LinuxGUID))
	copy(array[16:32], randomGUID())
	binary.LittleEndian.PutUint64(array[32:], start)
	binary.LittleEndian.PutUint64(array[40:], end)
	for i, r := range utf16.Encode([]rune("data")) {
		binary.LittleEndian.PutUint16(array[56+2*i:], r)
	}
	arrayCRC := crc32.ChecksumIEEE(array)
	diskGUID := randomGUID()

	header := func(my, alt, entryLBA uint64) []byte {
		h := make([]byte, ss)
		copy(h, "EFI PART")
		binary.LittleEndian.PutUint32(h[8:], 0x00010000)
		binary.LittleEndian.PutUint32(h[12:], 92)
		binary.LittleEndian.PutUint64(h[24:], my)
		binary.LittleEndian.PutUint64(h[32:], alt)
		binary.LittleEndian.PutUint64(h[40:], firstUsable)
		binary.LittleEndian.PutUint64(h[48:], lastUsable)
		copy(h[56:72], diskGUID)
		binary.LittleEndian.PutUint64(h[72:], entryLBA)
		binary.LittleEndian.PutUint32(h[80:], entries)
		binary.LittleEndian.PutUint32(h[84:], esize)
		binary.LittleEndian.PutUint32(h[88:], arrayCRC)
		binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h[:92]))
		return h
	}

	mbr := make([]byte, 512)
	count := total - 1
	if count > 0xFFFFFFFF {
		count = 0xFFFFFFFF
	}
	putMBREntry(mbr[446:462], 0xEE, 1, count)
	copy(mbr[447:450], []byte{0x00, 0x02, 0x00})
	mbr[510], mbr[511] = 0x55, 0xaa

	// Backup first, primary last: a crash in between leaves a disk that is still not "ours".
	writes := []struct {
		off  uint64
		data []byte
	}{
		{(last - arraySectors) * ss, array},
		{last * ss, header(last, 1, last-arraySectors)},
		{2 * ss, array},
		{1 * ss, header(1, last, 2)},
		{0, mbr},
	}
	for _, wr := range writes {
		if _, err := w.WriteAt(wr.data, int64(wr.off)); err != nil {
			return Partition{}, err
		}
	}
	return Partition{Number: 1, StartLBA: start, Sectors: end - start + 1, Type: LinuxGUID}, nil
}

// PartitionDevice names partition n of a disk device as the kernel does: /dev/sda1, /dev/nvme0n1p1.
func PartitionDevice(disk string, n int) string {
	if c := disk[len(disk)-1]; c >= '0' && c <= '9' {
		return fmt.Sprintf("%sp%d", disk, n)
	}
	return fmt.Sprintf("%s%d", disk, n)
}
