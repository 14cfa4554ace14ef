// Package logline copies a container's output to its log file as is and to the console line by
// line, each line prefixed with the container's name.
package logline

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"sync"
)

// Console serialises whole lines from many containers onto one writer.
type Console struct {
	mu sync.Mutex
	w  io.Writer
}

// NewConsole wraps w (normally /dev/console).
func NewConsole(w io.Writer) *Console { return &Console{w: w} }

// Line writes one line, adding the newline.
func (c *Console) Line(prefix string, line []byte) {
	buf := make([]byte, 0, len(prefix)+len(line)+1)
	buf = append(buf, prefix...)
	buf = append(buf, line...)
	buf = append(buf, '\n')
	c.mu.Lock()
	defer c.mu.Unlock()
	_, _ = c.w.Write(buf)
}

// Printf-free message helper: the text must not end with a newline.
func (c *Console) Message(text string) { c.Line("", []byte(text)) }

const maxLine = 16 * 1024

// Copy reads r until EOF, writing everything to file (if not nil) and every line to the console
// as "PREFIXline". A line longer than 16 KiB is split; a last line without a newline is kept.
func Copy(r io.Reader, file io.Writer, console *Console, prefix string) error {
	br := bufio.NewReaderSize(r, maxLine)
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			if file != nil {
				_, _ = file.Write(chunk)
			}
			if console != nil {
				console.Line(prefix, bytes.TrimRight(chunk, "\r\n"))
			}
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return nil
		default:
			return err
		}
	}
}
