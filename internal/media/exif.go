package media

import (
	"bytes"
	"encoding/binary"
)

// orientationTag is the EXIF tag that says how the stored pixels must be turned for display.
const orientationTag = 0x0112

// exifOrientation finds the EXIF block of an image file and returns its orientation, 1 to 8;
// 1 (as stored) when there is none or it cannot be read. It never fails: a broken EXIF block
// only means the picture is shown as stored.
func exifOrientation(f Format, data []byte) int {
	var block []byte
	switch f {
	case JPEG:
		block = jpegExif(data)
	case PNG:
		block = pngExif(data)
	case WebP:
		block = webpExif(data)
	}
	return tiffOrientation(block)
}

// jpegExif returns the TIFF data of the first EXIF APP1 segment before the image data.
func jpegExif(b []byte) []byte {
	if len(b) < 4 || b[0] != 0xff || b[1] != 0xd8 {
		return nil
	}

	for i := 2; i+4 <= len(b); {
		if b[i] != 0xff {
			return nil
		}
		marker := b[i+1]
		switch {
		case marker == 0xff: // fill byte
			i++
			continue
		case marker == 0x01 || marker >= 0xd0 && marker <= 0xd8: // no length
			i += 2
			continue
		case marker == 0xda || marker == 0xd9: // image data or end: no metadata follows
			return nil
		}

		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return nil
		}
		seg := b[i+4 : i+2+n]
		if marker == 0xe1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return seg[6:]
		}
		i += 2 + n
	}
	return nil
}

// pngExif returns the data of the eXIf chunk.
func pngExif(b []byte) []byte {
	for i := 8; i+12 <= len(b); {
		n := binary.BigEndian.Uint32(b[i:])
		if uint64(n) > uint64(len(b)-i-12) {
			return nil
		}
		switch string(b[i+4 : i+8]) {
		case "eXIf":
			return b[i+8 : i+8+int(n)]
		case "IEND":
			return nil
		}
		i += 12 + int(n)
	}
	return nil
}

// webpExif returns the data of the EXIF chunk of an extended WebP file.
func webpExif(b []byte) []byte {
	for i := 12; i+8 <= len(b); {
		n := binary.LittleEndian.Uint32(b[i+4:])
		if uint64(n) > uint64(len(b)-i-8) {
			return nil
		}
		if string(b[i:i+4]) == "EXIF" {
			return b[i+8 : i+8+int(n)]
		}
		i += 8 + int(n) + int(n&1)
	}
	return nil
}

// tiffOrientation reads the orientation from the first directory of a TIFF-structured EXIF
// block. Some writers keep the "Exif\0\0" prefix of JPEG in PNG and WebP; it is skipped.
func tiffOrientation(b []byte) int {
	b = bytes.TrimPrefix(b, []byte("Exif\x00\x00"))
	if len(b) < 8 {
		return 1
	}

	var order binary.ByteOrder
	switch string(b[:4]) {
	case "II*\x00":
		order = binary.LittleEndian
	case "MM\x00*":
		order = binary.BigEndian
	default:
		return 1
	}

	off := uint64(order.Uint32(b[4:]))
	if off < 8 || off+2 > uint64(len(b)) {
		return 1
	}
	count := uint64(order.Uint16(b[off:]))
	for e := off + 2; e+12 <= uint64(len(b)) && e < off+2+count*12; e += 12 {
		if order.Uint16(b[e:]) == orientationTag {
			return orientationValue(b[e:e+12], order)
		}
	}
	return 1
}

// orientationValue reads a 12-byte directory entry holding the orientation, a SHORT (or,
// from some writers, a LONG).
func orientationValue(entry []byte, order binary.ByteOrder) int {
	var v uint32
	switch order.Uint16(entry[2:]) {
	case 3:
		v = uint32(order.Uint16(entry[8:]))
	case 4:
		v = order.Uint32(entry[8:])
	default:
		return 1
	}
	if v < 1 || v > 8 {
		return 1
	}
	return int(v)
}
