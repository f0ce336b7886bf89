//go:build linux && !nodynamic

package pngcodec

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"image"
	"os"
	"runtime"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// libNames are the names libpng 1.6 goes by: the run-time package's soname first, then the
// development package's link.
var libNames = []string{"libpng16.so.16", "libpng16.so"}

// pngImage is libpng's png_image, the one structure of the simplified API (png.h,
// "SIMPLIFIED API"): 104 bytes on 64-bit Linux, checked by TestImageLayout.
type pngImage struct {
	_               uintptr // opaque: libpng's own state, freed by png_image_free
	version         uint32
	width           uint32
	height          uint32
	format          uint32
	flags           uint32
	colormapEntries uint32
	warningOrError  uint32
	message         [64]byte
}

// Constants of png.h.
const (
	pngImageVersion = 1
	formatAlpha     = 0x01 // PNG_FORMAT_FLAG_ALPHA
	formatColour    = 0x02 // PNG_FORMAT_FLAG_COLOR
	formatGray      = 0
	formatRGBA      = formatColour | formatAlpha
)

// The simplified API's functions, bound by load.
var (
	beginRead  func(img *pngImage, memory unsafe.Pointer, size uintptr) int32
	finishRead func(img *pngImage, background unsafe.Pointer, buffer unsafe.Pointer,
		rowStride int32, colormap unsafe.Pointer) int32
	imageFree func(img *pngImage)
)

var (
	loadOnce sync.Once
	loadErr  error
)

// load opens libpng on first use and binds its functions; it returns why it could not.
func load() error {
	loadOnce.Do(func() {
		loadErr = openLibrary("libpng", libNames, []symbol{
			{&beginRead, "png_image_begin_read_from_memory"},
			{&finishRead, "png_image_finish_read"},
			{&imageFree, "png_image_free"},
		})
	})
	return loadErr
}

// symbol is a C function for openLibrary to bind to the Go function fn points to.
type symbol struct {
	fn   any
	name string
}

// openLibrary opens the first of names the system has and binds syms; what names the
// library in errors.
func openLibrary(what string, names []string, syms []symbol) (err error) {
	// purego panics on what it cannot bind; a missing library is only slower.
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("bind %s: %v", what, v)
		}
	}()
	if !dynamicBinary() {
		return fmt.Errorf("a statically linked program cannot load %s", what)
	}
	lib, err := dlopen(names)
	if err != nil {
		return fmt.Errorf("load %s: %w", what, err)
	}

	for _, s := range syms {
		addr, err := purego.Dlsym(lib, s.name)
		if err != nil {
			return fmt.Errorf("%s has no %s: %w", what, s.name, err)
		}
		purego.RegisterFunc(s.fn, addr)
	}
	return nil
}

// dlopen opens the first of names the system has.
func dlopen(names []string) (uintptr, error) {
	var errs []error
	for _, name := range names {
		lib, err := purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_LOCAL)
		if err == nil {
			return lib, nil
		}
		errs = append(errs, err)
	}
	return 0, errors.Join(errs...)
}

// dynamicBinary reports whether this program was linked with the dynamic loader, which
// dlopen needs: a static program has no PT_INTERP program header.
func dynamicBinary() bool {
	exe, err := os.Executable()
	if err != nil {
		return false
	}
	f, err := elf.Open(exe)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return true
		}
	}
	return false
}

// failure turns libpng's message into an error.
func failure(what string, img *pngImage) error {
	msg := img.message[:]
	if i := bytes.IndexByte(msg, 0); i >= 0 {
		msg = msg[:i]
	}
	if len(msg) == 0 {
		return fmt.Errorf("png: %s failed", what)
	}
	return fmt.Errorf("png: %s: %s", what, msg)
}

// decodeLib decodes a simple file (see header.simple) with libpng: gray files to
// image.Gray, opaque ones to image.RGBA and others to image.NRGBA, the types image/png
// returns. libpng keeps pointers to img and data between the two calls; both live on
// the heap (they pass through purego's reflection), which Go's collector never moves.
func decodeLib(data []byte, h header) (image.Image, error) {
	img := &pngImage{version: pngImageVersion}
	defer imageFree(img)
	if beginRead(img, unsafe.Pointer(unsafe.SliceData(data)), uintptr(len(data))) == 0 {
		return nil, failure("read header", img)
	}
	if img.width != h.width || img.height != h.height {
		return nil, fmt.Errorf("png: libpng read %dx%d, the header says %dx%d",
			img.width, img.height, h.width, h.height)
	}

	alpha := img.format&formatAlpha != 0
	colour := img.format&formatColour != 0
	r := image.Rect(0, 0, int(h.width), int(h.height))
	var out image.Image
	var pix []byte
	var stride int
	switch {
	case !colour && !alpha:
		m := image.NewGray(r)
		out, pix, stride = m, m.Pix, m.Stride
		img.format = formatGray
	case alpha:
		m := image.NewNRGBA(r)
		out, pix, stride = m, m.Pix, m.Stride
		img.format = formatRGBA
	default:
		m := image.NewRGBA(r)
		out, pix, stride = m, m.Pix, m.Stride
		img.format = formatRGBA // opaque: alpha is 255 everywhere
	}

	ok := finishRead(img, nil, unsafe.Pointer(unsafe.SliceData(pix)), int32(stride), nil)
	runtime.KeepAlive(data)
	if ok == 0 {
		return nil, failure("read pixels", img)
	}
	return out, nil
}
