//go:build linux && !nodynamic

package pngcodec

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// deflateNames are the names libdeflate 1.x goes by: the run-time package's soname first,
// then the development package's link.
var deflateNames = []string{"libdeflate.so.0", "libdeflate.so"}

// libdeflate's whole-buffer decompression functions (libdeflate.h), bound by loadDeflate.
var (
	allocDecompressor func() uintptr
	freeDecompressor  func(d uintptr)
	zlibDecompress    func(d uintptr, in unsafe.Pointer, inSize uintptr, out unsafe.Pointer,
		outSize uintptr, inUsed, outUsed *uintptr) int32
)

var (
	deflateOnce sync.Once
	deflateErr  error
)

// loadDeflate opens libdeflate on first use and binds its functions; it returns why it
// could not.
func loadDeflate() error {
	deflateOnce.Do(func() {
		deflateErr = openLibrary("libdeflate", deflateNames, []symbol{
			{&allocDecompressor, "libdeflate_alloc_decompressor"},
			{&freeDecompressor, "libdeflate_free_decompressor"},
			{&zlibDecompress, "libdeflate_zlib_decompress_ex"},
		})
	})
	return deflateErr
}

// inflate decompresses the zlib stream src into dst with libdeflate. The stream must fill
// dst exactly and end exactly at the end of src, as image/png requires of a file it reads.
//
// A decompressor is not safe for concurrent use; allocating one for each call costs about
// a microsecond, nothing beside a picture's inflation, and needs no pool whose dropped
// entries would have to be freed.
func inflate(dst, src []byte) error {
	d := allocDecompressor()
	if d == 0 {
		return errors.New("png: libdeflate could not allocate a decompressor")
	}
	defer freeDecompressor(d)

	var inUsed, outUsed uintptr
	res := zlibDecompress(d, unsafe.Pointer(unsafe.SliceData(src)), uintptr(len(src)),
		unsafe.Pointer(unsafe.SliceData(dst)), uintptr(len(dst)), &inUsed, &outUsed)
	runtime.KeepAlive(src)
	runtime.KeepAlive(dst)
	switch {
	case res != 0:
		// 1 is BAD_DATA, 3 INSUFFICIENT_SPACE; 2, SHORT_OUTPUT, is only for callers
		// that do not ask for the output's size.
		return fmt.Errorf("png: libdeflate could not inflate the image data (result %d)", res)
	case outUsed != uintptr(len(dst)):
		return fmt.Errorf("png: the image data inflates to %d bytes, want %d", outUsed,
			len(dst))
	case inUsed != uintptr(len(src)):
		return fmt.Errorf("png: %d bytes follow the image data's zlib stream",
			uintptr(len(src))-inUsed)
	}
	return nil
}
